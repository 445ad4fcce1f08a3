//! What flows from a book reader to a book writer: sections in reading order,
//! plus the images they refer to.

use super::error::EbookError;

/// One reading-order document of a book.
pub struct Section {
    /// What the table of contents calls it; `None` for text before the first
    /// heading and for the continuation of a chapter too long for one file.
    pub toc_title: Option<String>,
    pub body: Body,
}

pub enum Body {
    /// Plain text: a heading (if any) and paragraphs, unescaped.
    Text { heading: Option<String>, paragraphs: Vec<String> },
    /// Well-formed XHTML body content (what goes between `<body>` and `</body>`).
    Xhtml(String),
}

/// An image a section refers to as `images/{name}`.
pub struct Image {
    pub name: String,
    pub media_type: &'static str,
    pub data: Vec<u8>,
    pub is_cover: bool,
}

/// Where a reader puts what it reads.
pub trait BookSink {
    fn section(&mut self, section: Section) -> Result<(), EbookError>;

    /// Formats without images ignore them.
    fn image(&mut self, _image: Image) -> Result<(), EbookError> {
        Ok(())
    }
}

/// The media type of an image, judged by its first bytes.
pub fn image_media_type(data: &[u8]) -> Option<&'static str> {
    crate::sniff::image_type(data)
}

pub fn image_extension(media_type: &str) -> &'static str {
    match media_type {
        "image/png" => "png",
        "image/gif" => "gif",
        _ => "jpg",
    }
}
