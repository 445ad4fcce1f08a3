//! E-book conversion: TXT, EPUB, MOBI and AZW3 in; Kindle-ready EPUB 3 or
//! UTF-8 text out. Pure library code; the only threads are the EPUB writer's
//! compression workers for a large book (epub_write.rs). Memory follows the
//! size of a few sections (TXT), one document (EPUB) or the book's text (MOBI),
//! never several copies of the whole book.

mod book;
mod chapters;
mod encoding;
mod entities;
mod epub_read;
mod epub_write;
mod error;
mod html;
mod html_clean;
mod html_text;
mod kindle_fix;
mod lines;
mod meta;
mod mobi;
mod palmdoc;
mod txt;
mod txt_write;
pub(crate) mod xhtml;
mod zip_safe;
mod zip_write;

use std::fmt;
use std::fs::File;
use std::path::Path;

use crate::fsutil::AtomicFile;
use book::BookSink;
use epub_read::EpubBook;
use epub_write::EpubWriter;
use mobi::MobiBook;
use txt::TxtBook;
use txt_write::TxtWriter;

pub use crate::book_format::Format;
pub(crate) use epub_read::decode_xml;
pub use error::EbookError;
pub use meta::BookMeta;

/// What the fuzz targets (`fuzz/`, built by cargo-fuzz, which sets
/// `cfg(fuzzing)`) drive: the EPUB, MOBI/AZW3 and TXT readers on a file of
/// the fuzzer's bytes, PalmDOC decompression and the TXT chapter cutter,
/// checked against the properties conversion relies on. Not in a normal build.
#[cfg(fuzzing)]
pub mod fuzzing {
    use std::path::PathBuf;

    use super::book::{Body, BookSink, Section};
    use super::chapters::SectionCutter;
    use super::lines::take_lines;
    use super::{palmdoc, EbookError, EpubBook, MobiBook, TxtBook};

    /// Sections kept; images only counted.
    #[derive(Default)]
    struct Collect {
        sections: Vec<Section>,
    }

    impl BookSink for Collect {
        fn section(&mut self, section: Section) -> Result<(), EbookError> {
            self.sections.push(section);
            Ok(())
        }
    }

    /// One file per process and extension, rewritten for each input.
    fn write_temp(bytes: &[u8], ext: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("zatan-fuzz-{}.{ext}", std::process::id()));
        std::fs::write(&path, bytes).expect("the temp dir is writable");
        path
    }

    /// The text of sections, without the whitespace lines are trimmed of.
    fn visible(sections: &[Section]) -> String {
        let mut out = String::new();
        for section in sections {
            if let Body::Text { heading, paragraphs } = &section.body {
                heading.iter().chain(paragraphs).for_each(|p| out.push_str(p));
            }
        }
        strip_blank(&out)
    }

    fn strip_blank(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace() && *c != '\u{feff}').collect()
    }

    /// PalmDOC of any bytes: an error or text, never more than five bytes of
    /// text per input byte (a two-byte back-reference gives at most ten).
    pub fn palmdoc(bytes: &[u8]) {
        let mut out = Vec::new();
        let _ = palmdoc::decompress(bytes, &mut out);
        assert!(out.len() <= 5 * bytes.len(), "{} bytes from {}", out.len(), bytes.len());
        assert!(out.capacity() <= 10 * bytes.len() + 64, "capacity {}", out.capacity());
        let _ = palmdoc::strip_trailing_entries(bytes, u16::from_be_bytes([0, 7]));
    }

    /// A MOBI/AZW3 file of `bytes`: open, metadata and every section.
    pub fn mobi(bytes: &[u8]) {
        palmdoc(bytes);
        let path = write_temp(bytes, "mobi");
        let Ok(book) = MobiBook::open(&path) else { return };
        let _ = book.meta();
        let _ = book.pump(&mut Collect::default());
    }

    /// An EPUB file of `bytes`: open, metadata, cover, contents, every section.
    pub fn epub(bytes: &[u8]) {
        let path = write_temp(bytes, "epub");
        let Ok(mut book) = EpubBook::open(&path) else { return };
        let _ = book.content_paths();
        let _ = book.cover_path();
        let _ = book.meta();
        let _ = book.pump(&mut Collect::default());
    }

    /// Chapter cutting of `text` keeps every visible character, in order;
    /// a TXT file of `bytes` pumps all of its decoded text.
    pub fn txt(bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let mut sink = Collect::default();
        let mut cutter = SectionCutter::new(&mut sink);
        take_lines(&text, true, |line| cutter.push_line(line)).expect("collecting never fails");
        cutter.finish().expect("collecting never fails");
        assert_eq!(visible(&sink.sections), strip_blank(&text), "the chapter split lost text");

        let path = write_temp(bytes, "txt");
        let Ok(book) = TxtBook::open(&path) else { return };
        let mut sink = Collect::default();
        book.pump(&mut sink).expect("a TXT file that opens pumps");
        let encoding = encoding_rs::Encoding::for_label(book.encoding_name().as_bytes())
            .expect("zatan names a real encoding");
        let (decoded, _, _) = encoding.decode(bytes);
        assert_eq!(visible(&sink.sections), strip_blank(&decoded), "the TXT reader lost text");
    }
}

/// Metadata the user gives; each one set replaces what zatan would guess.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    pub title: Option<String>,
    pub author: Option<String>,
    pub lang: Option<String>,
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertReport {
    pub title: String,
    pub author: Option<String>,
    pub lang: String,
    /// Entries in the table of contents (chapters found, or numbered parts).
    pub chapters: usize,
    pub images: usize,
    pub output_bytes: u64,
    pub input_format: Format,
    pub output_format: Format,
    /// The encoding a TXT input was decoded from.
    pub encoding: Option<&'static str>,
    /// What the Kindle fix changed in an EPUB input.
    pub repairs: Vec<String>,
}

impl fmt::Display for ConvertReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}: 《{}》", self.input_format, self.output_format, self.title)?;
        if let Some(author) = &self.author {
            write!(f, " by {author}")?;
        }
        write!(f, ", {} chapters", self.chapters)?;
        if self.images > 0 {
            write!(f, ", {} images", self.images)?;
        }
        write!(f, ", language {}", self.lang)?;
        if let Some(encoding) = self.encoding {
            write!(f, ", decoded from {encoding}")?;
        }
        if !self.repairs.is_empty() {
            write!(f, ", repaired: {}", self.repairs.join("; "))?;
        }
        write!(f, ", {} bytes written", self.output_bytes)
    }
}

/// Convert by extension: in `.txt .epub .mobi .azw3`, out `.epub .txt`. The
/// result is written beside `output` and renamed into place, so nothing
/// half-written is ever left at `output`.
pub fn convert(
    input: &Path,
    output: &Path,
    opts: &ConvertOptions,
) -> Result<ConvertReport, EbookError> {
    let input_format = input_format(input)?;
    let output_format = Format::from_path(output).filter(|f| f.is_writable()).ok_or_else(|| {
        EbookError::UnsupportedFormat { path: output.to_path_buf(), output: true }
    })?;
    convert_to(input, input_format, output, output_format, opts)
}

/// Any supported book → an EPUB fit to mail to a Kindle, whatever `out` is named.
pub fn to_kindle_epub(input: &Path, out: &Path) -> Result<ConvertReport, EbookError> {
    convert_to(input, input_format(input)?, out, Format::Epub, &ConvertOptions::default())
}

/// Title, author and language of a book, without converting it.
pub fn read_metadata(path: &Path) -> Result<BookMeta, EbookError> {
    match input_format(path)? {
        Format::Txt => Ok(TxtBook::open(path)?.meta().clone()),
        Format::Epub => EpubBook::open(path)?.meta(),
        Format::Mobi | Format::Azw3 => Ok(MobiBook::open(path)?.meta().clone()),
    }
}

/// The cover image of an EPUB and its MIME type (JPEG, PNG or GIF by
/// content); None when it has none, or none of those.
pub fn read_cover(path: &Path) -> Result<Option<(Vec<u8>, &'static str)>, EbookError> {
    let mut book = EpubBook::open(path)?;
    let Some(cover) = book.cover_path() else { return Ok(None) };
    let bytes = book.zip.read(&cover)?;
    Ok(crate::sniff::image_type(&bytes).map(|kind| (bytes, kind)))
}

fn input_format(input: &Path) -> Result<Format, EbookError> {
    Format::from_path(input)
        .ok_or_else(|| EbookError::UnsupportedFormat { path: input.to_path_buf(), output: false })
}

fn apply(opts: &ConvertOptions, mut meta: BookMeta) -> BookMeta {
    if let Some(title) = opts.title.as_ref().filter(|t| !t.trim().is_empty()) {
        meta.title = title.trim().to_string();
    }
    if let Some(author) = opts.author.as_ref().filter(|a| !a.trim().is_empty()) {
        meta.author = Some(author.trim().to_string());
    }
    if let Some(lang) = opts.lang.as_ref().filter(|l| !l.trim().is_empty()) {
        meta.lang = lang.trim().to_string();
    }
    meta
}

fn convert_to(
    input: &Path,
    input_format: Format,
    output: &Path,
    output_format: Format,
    opts: &ConvertOptions,
) -> Result<ConvertReport, EbookError> {
    let (pending, file) = AtomicFile::create(output).map_err(|e| EbookError::io(output, e))?;
    let (mut report, file) = match input_format {
        Format::Txt => {
            let book = TxtBook::open(input)?;
            let meta = apply(opts, book.meta().clone());
            let (mut report, file) =
                write_book(file, output, output_format, &meta, |sink| book.pump(sink))?;
            report.encoding = Some(book.encoding_name());
            (report, file)
        }
        Format::Epub => {
            let mut book = EpubBook::open(input)?;
            let meta = apply(opts, book.meta()?);
            if output_format == Format::Epub {
                let (file, repairs) = kindle_fix::fix(&mut book, file, output, &meta)?;
                let chapters =
                    book.content_paths().iter().filter(|p| book.toc.contains_key(*p)).count();
                (ConvertReport { chapters, repairs, ..report(&meta, output_format) }, file)
            } else {
                write_book(file, output, output_format, &meta, |sink| book.pump(sink))?
            }
        }
        Format::Mobi | Format::Azw3 => {
            let book = MobiBook::open(input)?;
            let meta = apply(opts, book.meta().clone());
            write_book(file, output, output_format, &meta, |sink| book.pump(sink))?
        }
    };
    report.input_format = input_format;
    report.output_bytes = pending.commit(file).map_err(|e| EbookError::io(output, e))?;
    Ok(report)
}

/// A report on writing `meta` as `format`, counts still zero.
fn report(meta: &BookMeta, format: Format) -> ConvertReport {
    ConvertReport {
        title: meta.title.clone(),
        author: meta.author.clone(),
        lang: meta.lang.clone(),
        chapters: 0,
        images: 0,
        output_bytes: 0,
        input_format: format,
        output_format: format,
        encoding: None,
        repairs: Vec::new(),
    }
}

/// Run `pump` into a writer for `format` and finish it.
fn write_book(
    file: File,
    path: &Path,
    format: Format,
    meta: &BookMeta,
    pump: impl FnOnce(&mut dyn BookSink) -> Result<(), EbookError>,
) -> Result<(ConvertReport, File), EbookError> {
    if format == Format::Epub {
        let mut writer = EpubWriter::create(file, path, meta)?;
        pump(&mut writer)?;
        let written = writer.finish(meta)?;
        Ok((
            ConvertReport {
                chapters: written.chapters,
                images: written.images,
                ..report(meta, format)
            },
            written.file,
        ))
    } else {
        let mut writer = TxtWriter::create(file, path);
        pump(&mut writer)?;
        let (file, chapters) = writer.finish()?;
        Ok((ConvertReport { chapters, ..report(meta, format) }, file))
    }
}
