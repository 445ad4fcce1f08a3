//! File-system helpers the features share: listing a directory the way every
//! service that owns one does, and names safe for a file system.

use std::path::{Path, PathBuf};

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
