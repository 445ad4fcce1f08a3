//! Book formats, told apart by file extension.

use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Epub,
    Mobi,
    Azw3,
}

impl Format {
    /// The format named by the extension of `path`, case-insensitively; `None` for anything else.
    pub fn from_path(path: &Path) -> Option<Format> {
        Format::from_name(path.extension()?.to_str()?)
    }

    /// The format an extension or a config name (`epub`, `TXT`...) stands for.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "txt" => Some(Format::Txt),
            "epub" => Some(Format::Epub),
            "mobi" | "prc" => Some(Format::Mobi),
            "azw3" | "azw" => Some(Format::Azw3),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Epub => "epub",
            Format::Mobi => "mobi",
            Format::Azw3 => "azw3",
        }
    }

    /// The MIME type a file of this format is served as.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Txt => "text/plain; charset=utf-8",
            Format::Epub => "application/epub+zip",
            Format::Mobi => "application/x-mobipocket-ebook",
            // calibre's type for KF8; readers that know only MOBI open it too.
            Format::Azw3 => "application/x-mobi8-ebook",
        }
    }

    /// Whether zatan can write this format.
    pub fn is_writable(self) -> bool {
        matches!(self, Format::Txt | Format::Epub)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_decides_case_insensitively() {
        assert_eq!(Format::from_path(Path::new("a/《书》.TXT")), Some(Format::Txt));
        assert_eq!(Format::from_path(Path::new("b.Epub")), Some(Format::Epub));
        assert_eq!(Format::from_path(Path::new("c.mobi")), Some(Format::Mobi));
        assert_eq!(Format::from_path(Path::new("d.AZW3")), Some(Format::Azw3));
        assert_eq!(Format::from_path(Path::new("e.pdf")), None);
        assert_eq!(Format::from_path(Path::new("noext")), None);
        assert!(!Format::Mobi.is_writable());
    }
}
