//! Reading a zip archive we did not make: refuse entry names that climb out of
//! the archive, and cap the entry count and the bytes inflated (declared and
//! actual, since a zip bomb can lie about its sizes).

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Component, Path, PathBuf};

use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use super::epub_write::EntryWriter;
use super::error::EbookError;
use super::zip_write::{DosTime, EntryInfo, Method};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    /// Total uncompressed bytes over all entries.
    pub max_total: u64,
    /// Uncompressed bytes of the one entry read into memory at a time.
    pub max_entry: u64,
}

pub const LIMITS: Limits = Limits { max_entries: 10_000, max_total: 1 << 30, max_entry: 128 << 20 };

pub struct SafeZip {
    archive: ZipArchive<BufReader<File>>,
    path: PathBuf,
    limits: Limits,
    names: Vec<String>,
    inflated: u64,
}

impl SafeZip {
    pub fn open(path: &Path, limits: Limits) -> Result<SafeZip, EbookError> {
        let file = File::open(path).map_err(|e| EbookError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let mut magic = [0u8; 4];
        let starts_like_zip = reader.read_exact(&mut magic).is_ok() && magic == *b"PK\x03\x04";
        reader.rewind().map_err(|e| EbookError::io(path, e))?;
        let mut archive = ZipArchive::new(reader).map_err(|e| match e {
            ZipError::Io(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
                EbookError::io(path, e)
            }
            _ if starts_like_zip => {
                EbookError::malformed(path, format!("damaged zip archive ({e})"))
            }
            _ => EbookError::NotZip { path: path.to_path_buf() },
        })?;
        let too_large =
            |detail: String| EbookError::ZipTooLarge { path: path.to_path_buf(), detail };
        if archive.len() > limits.max_entries {
            return Err(too_large(format!(
                "{} entries (at most {} allowed)",
                archive.len(),
                limits.max_entries
            )));
        }
        let mut names = Vec::with_capacity(archive.len());
        let mut declared = 0u64;
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).map_err(|e| {
                EbookError::malformed(path, format!("unreadable zip entry {i}: {e}"))
            })?;
            let name = entry.name().to_string();
            if !is_safe_name(&name) || entry.enclosed_name().is_none() {
                return Err(EbookError::UnsafeEntry { path: path.to_path_buf(), entry: name });
            }
            declared = declared.saturating_add(entry.size());
            names.push(name);
        }
        if declared > limits.max_total {
            return Err(too_large(format!(
                "entries would inflate to {declared} bytes (at most {} allowed)",
                limits.max_total
            )));
        }
        Ok(SafeZip { archive, path: path.to_path_buf(), limits, names, inflated: 0 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Entry names in archive order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The whole uncompressed content of entry `name`.
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>, EbookError> {
        let path = self.path.clone();
        let index = self.names.iter().position(|n| n == name).ok_or_else(|| {
            EbookError::malformed(&path, format!("{name} is missing from the archive"))
        })?;
        let unreadable = |e: &dyn std::fmt::Display| {
            EbookError::malformed(&path, format!("cannot read {name}: {e}"))
        };
        let mut entry = self.archive.by_index(index).map_err(|e| unreadable(&e))?;
        let declared = entry.size();
        let too_large = |detail: String| EbookError::ZipTooLarge { path: path.clone(), detail };
        if declared > self.limits.max_entry {
            return Err(too_large(format!(
                "{name} would inflate to {declared} bytes (at most {} allowed)",
                self.limits.max_entry
            )));
        }
        let mut data = Vec::with_capacity(declared.min(16 << 20) as usize);
        (&mut entry).take(declared + 1).read_to_end(&mut data).map_err(|e| unreadable(&e))?;
        if data.len() as u64 > declared {
            return Err(too_large(format!(
                "{name} inflates past its declared size of {declared} bytes"
            )));
        }
        self.inflated += data.len() as u64;
        if self.inflated > self.limits.max_total {
            return Err(too_large(format!(
                "entries inflate past {} bytes in total",
                self.limits.max_total
            )));
        }
        Ok(data)
    }

    /// Copy entry `name` into `out` as it is, still compressed.
    pub fn copy_raw(&mut self, name: &str, out: &mut EntryWriter) -> Result<(), EbookError> {
        let path = self.path.clone();
        let fail = |e: &dyn std::fmt::Display| {
            EbookError::malformed(&path, format!("cannot copy {name}: {e}"))
        };
        let index = self
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| fail(&"missing from the archive"))?;
        let mut entry = self.archive.by_index_raw(index).map_err(|e| fail(&e))?;
        let method = match entry.compression() {
            CompressionMethod::Stored => Method::Stored,
            CompressionMethod::Deflated => Method::Deflated,
            #[allow(deprecated)] // the number is what is copied
            other => Method::Other(other.to_u16()),
        };
        let modified = entry
            .last_modified()
            .map_or(DosTime::EPOCH, |t| DosTime { time: t.timepart(), date: t.datepart() });
        let info = EntryInfo {
            method,
            modified,
            crc32: entry.crc32(),
            size: entry.size(),
            packed_size: entry.compressed_size(),
        };
        out.copy(name, info, &mut entry)
    }
}

/// No absolute paths, drive letters, backslashes or `..` anywhere.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains(['\\', '\0'])
        && !name.contains(':')
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::temp_dir::TempDir;
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    use zip::ZipWriter;

    /// Write a zip of `entries` to `label.zip` in `dir`.
    pub(crate) fn zip_file(dir: &TempDir, label: &str, entries: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.path().join(format!("{label}.zip"));
        let mut zip = ZipWriter::new(File::create(&path).unwrap());
        for (name, data) in entries {
            zip.start_file(
                *name,
                SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
            )
            .unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    #[test]
    fn names_that_climb_out_are_refused() {
        for bad in ["../evil.xhtml", "a/../../b", "/etc/passwd", "a\\..\\b", "C:/x", "a/../b"] {
            assert!(!is_safe_name(bad), "{bad}");
        }
        assert!(is_safe_name("OEBPS/Text/ch 1.xhtml") && is_safe_name("./mimetype"));
        let dir = TempDir::new("zip-climb");
        let entries: &[(&str, &[u8])] =
            &[("mimetype", b"application/epub+zip"), ("../evil.txt", b"x")];
        let path = zip_file(&dir, "climb", entries);
        let err = SafeZip::open(&path, LIMITS).err().unwrap();
        assert!(
            matches!(err, EbookError::UnsafeEntry { ref entry, .. } if entry == "../evil.txt"),
            "{err}"
        );
    }

    #[test]
    fn bombs_are_refused_by_count_declared_size_and_actual_size() {
        let zeros = vec![0u8; 4 << 20];
        let dir = TempDir::new("zip-bomb");
        let path = zip_file(&dir, "bomb", &[("a", &zeros), ("b", &zeros)]);
        assert!(std::fs::metadata(&path).unwrap().len() < 100_000);
        let small = Limits { max_entries: 10, max_total: 6 << 20, max_entry: 8 << 20 };
        assert!(matches!(SafeZip::open(&path, small), Err(EbookError::ZipTooLarge { .. })));
        let few = Limits { max_entries: 1, ..LIMITS };
        assert!(matches!(SafeZip::open(&path, few), Err(EbookError::ZipTooLarge { .. })));
        let one_entry = Limits { max_entry: 1 << 20, ..LIMITS };
        let mut zip = SafeZip::open(&path, one_entry).unwrap();
        assert!(matches!(zip.read("a"), Err(EbookError::ZipTooLarge { .. })));
        let mut zip = SafeZip::open(&path, LIMITS).unwrap();
        assert_eq!(zip.read("b").unwrap().len(), 4 << 20);
    }

    #[test]
    fn not_a_zip_is_named_as_such() {
        let dir = TempDir::new("not-zip");
        let path = dir.path().join("notzip.epub");
        std::fs::write(&path, "just some text, not a zip").unwrap();
        let err = SafeZip::open(&path, LIMITS).err().unwrap();
        assert!(err.to_string().ends_with("is not a zip archive (an EPUB must be one)"), "{err}");
    }
}
