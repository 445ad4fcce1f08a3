//! File-system helpers the features share: listing a directory the way every
//! service that owns one does, names safe for a file system, writing a file
//! so that no one ever sees half of it, and I/O errors worded for the owner.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The regular, non-hidden files of a directory, by name, for the reconcile
/// at start and after a rescan.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if !name.starts_with('.') && entry.file_type()?.is_file() {
            files.push((name, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// `text` with the characters file systems and mail clients choke on replaced.
pub fn safe_name(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c })
        .collect()
}

/// A file written under a hidden name beside its target and renamed into
/// place once whole: a watcher, a reader or a restart never sees half a file,
/// and a failed write (a full disk) leaves nothing behind when this is dropped.
pub struct AtomicFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// A fresh hidden file in `target`'s directory, to write the content into.
    pub fn create(target: &Path) -> io::Result<(AtomicFile, File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = target.with_file_name(format!(
            ".{name}.{}.{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        Ok((AtomicFile { temp, target: target.to_path_buf(), committed: false }, file))
    }

    /// Flush to disk and move into place; the size written.
    pub fn commit(mut self, file: File) -> io::Result<u64> {
        file.sync_all()?;
        let size = file.metadata()?.len();
        drop(file);
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(size)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Copy `from` to `to` through an [`AtomicFile`]; the size copied.
pub fn copy_atomically(from: &Path, to: &Path) -> io::Result<u64> {
    let mut source = File::open(from)?;
    let (pending, mut file) = AtomicFile::create(to)?;
    io::copy(&mut source, &mut file)?;
    pending.commit(file)
}

/// No space left on the file system (ENOSPC), or the user's quota used up (EDQUOT).
pub fn is_disk_full(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
}

/// An I/O error as the owner should read it: a full disk is called one.
pub fn describe_io(error: &io::Error) -> String {
    if is_disk_full(error) {
        format!("disk full ({error}); free space and try again")
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_dropped_atomic_file_leaves_nothing_and_a_commit_renames() {
        let tmp = crate::temp_dir::TempDir::new("atomic-file");
        let dir = tmp.path();
        let target = dir.join("book.epub");
        {
            let (_pending, mut file) = AtomicFile::create(&target).unwrap();
            file.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
        let (pending, mut file) = AtomicFile::create(&target).unwrap();
        file.write_all(b"whole").unwrap();
        assert_eq!(pending.commit(file).unwrap(), 5);
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        let copy = dir.join("copy.epub");
        assert_eq!(copy_atomically(&target, &copy).unwrap(), 5);
        assert_eq!(std::fs::read(&copy).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 2, "no temp file left");
    }

    #[test]
    fn a_full_disk_is_called_one() {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        for errno in [ENOSPC, EDQUOT] {
            let text = describe_io(&io::Error::from_raw_os_error(errno));
            assert!(text.starts_with("disk full ("), "{text}");
        }
        let other = io::Error::from_raw_os_error(2);
        assert_eq!(describe_io(&other), other.to_string());
    }
}
