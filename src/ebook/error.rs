//! What can go wrong in a conversion, worded for the person who gave us the file.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum EbookError {
    /// Reading or writing a file failed.
    Io { path: PathBuf, source: io::Error },
    /// The extension names no format we read (or write, when `output` is true).
    UnsupportedFormat { path: PathBuf, output: bool },
    /// An EPUB that is not a zip archive at all.
    NotZip { path: PathBuf },
    /// An EPUB whose container names no package (OPF) file we can find.
    MissingOpf { path: PathBuf, detail: String },
    /// An archive that would inflate past our limits (a zip bomb or close to one).
    ZipTooLarge { path: PathBuf, detail: String },
    /// An archive entry whose name climbs out of the archive (`../x`, `/etc/x`).
    UnsafeEntry { path: PathBuf, entry: String },
    /// A MOBI/AZW3 cut short: its record table points past the end of the file.
    TruncatedMobi { path: PathBuf, detail: String },
    /// A MOBI/AZW3 whose text is locked by DRM.
    Drm { path: PathBuf },
    /// A "text" file that is really binary data.
    NotText { path: PathBuf, detail: String },
    /// The book has no text to convert.
    Empty { path: PathBuf },
    /// Anything else wrong inside the book: bad XML, an unreadable record, an unsupported compression.
    Malformed { path: PathBuf, detail: String },
}

impl EbookError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        EbookError::Io { path: path.to_path_buf(), source }
    }

    /// The disk filled up while reading or writing: worth trying again once
    /// there is room, unlike anything wrong with the book.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, EbookError::Io { source, .. } if crate::fsutil::is_disk_full(source))
    }

    pub(crate) fn malformed(path: &Path, detail: impl Into<String>) -> Self {
        EbookError::Malformed { path: path.to_path_buf(), detail: detail.into() }
    }
}

impl fmt::Display for EbookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EbookError::Io { path, source } => {
                write!(f, "{}: {}", path.display(), crate::fsutil::describe_io(source))
            }
            EbookError::UnsupportedFormat { path, output: false } => write!(
                f,
                "{} is not a format zatan reads (give a .txt, .epub, .mobi or .azw3 file)",
                path.display()
            ),
            EbookError::UnsupportedFormat { path, output: true } => {
                write!(
                    f,
                    "{} is not a format zatan writes (name the output .epub or .txt)",
                    path.display()
                )
            }
            EbookError::NotZip { path } => {
                write!(f, "{} is not a zip archive (an EPUB must be one)", path.display())
            }
            EbookError::MissingOpf { path, detail } => {
                write!(f, "{} has no OPF package file: {detail}", path.display())
            }
            EbookError::ZipTooLarge { path, detail } => {
                write!(f, "{} is refused as a possible zip bomb: {detail}", path.display())
            }
            EbookError::UnsafeEntry { path, entry } => {
                write!(
                    f,
                    "{} contains the unsafe entry name {entry:?} (it points outside the archive)",
                    path.display()
                )
            }
            EbookError::TruncatedMobi { path, detail } => {
                write!(f, "{} is a truncated MOBI/AZW3 file: {detail}", path.display())
            }
            EbookError::Drm { path } => {
                write!(
                    f,
                    "{} is DRM-protected; zatan only converts books without DRM",
                    path.display()
                )
            }
            EbookError::NotText { path, detail } => {
                write!(f, "{} does not look like a text file: {detail}", path.display())
            }
            EbookError::Empty { path } => {
                write!(f, "{} contains no text to convert", path.display())
            }
            EbookError::Malformed { path, detail } => write!(f, "{}: {detail}", path.display()),
        }
    }
}

impl std::error::Error for EbookError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EbookError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
