//! Writing the output beside its final name and renaming it into place, so that a
//! failed or interrupted conversion never leaves a half-written book at OUT.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::EbookError;

pub struct PendingOutput {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PendingOutput {
    /// Create a fresh temporary file in OUT's directory.
    pub fn create(target: &Path) -> Result<(PendingOutput, File), EbookError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = target.with_file_name(format!(
            ".{name}.{}.{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| EbookError::io(target, e))?;
        Ok((PendingOutput { temp, target: target.to_path_buf(), committed: false }, file))
    }

    /// Flush to disk and move into place; returns the size written.
    pub fn commit(mut self, file: File) -> Result<u64, EbookError> {
        let fail = |e| EbookError::io(&self.target, e);
        file.sync_all().map_err(fail)?;
        let size = file.metadata().map_err(fail)?.len();
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(fail)?;
        self.committed = true;
        Ok(size)
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn dropped_output_leaves_nothing_and_commit_renames() {
        let tmp = crate::temp_dir::TempDir::new("output");
        let dir = tmp.path();
        let target = dir.join("book.epub");
        {
            let (_pending, mut file) = PendingOutput::create(&target).unwrap();
            file.write_all(b"half").unwrap();
        }
        assert_eq!(fs::read_dir(dir).unwrap().count(), 0);
        let (pending, mut file) = PendingOutput::create(&target).unwrap();
        file.write_all(b"whole").unwrap();
        assert_eq!(pending.commit(file).unwrap(), 5);
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        assert_eq!(fs::read_dir(dir).unwrap().count(), 1);
    }
}
