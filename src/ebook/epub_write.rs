//! Writing an EPUB 3 (with an NCX for older readers) one section at a time:
//! sections go into the zip as they arrive; the cover page, navigation and the
//! package document, which need the whole list, are written at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::book::{Body, BookSink, Image, Section};
use super::error::EbookError;
use super::meta::BookMeta;
use super::xhtml::{self, XML_DECLARATION};
use crate::clock::utc_timestamp;
use crate::xml::{escape, escape_into};

const DIR: &str = "OEBPS/";
const STYLESHEETS: &[&str] = &["style.css"];

const CONTAINER_XML: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n\
<rootfiles>\n<rootfile full-path=\"OEBPS/content.opf\" media-type=\"application/oebps-package+xml\"/>\n</rootfiles>\n\
</container>\n";

const STYLE_CSS: &str = "body { margin: 0 5pt; line-height: 1.5; }\n\
h1 { font-size: 1.4em; text-align: center; margin: 1em 0; }\n\
p { margin: 0.3em 0; }\n\
.zh p, .ja p { text-indent: 2em; }\n\
.titlepage { text-align: center; margin-top: 30%; }\n\
.titlepage h1 { font-size: 2em; }\n\
.titlepage .author { text-indent: 0; margin-top: 2em; }\n\
.cover { text-align: center; }\n\
.cover img { max-width: 100%; max-height: 100%; }\n\
img { max-width: 100%; }\n";

/// One spine document: its file name and its table-of-contents title.
struct Doc {
    file: String,
    toc_title: Option<String>,
}

struct ManifestImage {
    name: String,
    media_type: &'static str,
    is_cover: bool,
}

pub struct EpubWriter {
    zip: ZipWriter<BufWriter<File>>,
    path: PathBuf,
    title: String,
    lang: String,
    docs: Vec<Doc>,
    images: Vec<ManifestImage>,
    digest: Sha256,
}

/// What finishing an EPUB tells the caller.
pub struct Written {
    pub file: File,
    pub chapters: usize,
    pub images: usize,
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

impl EpubWriter {
    /// Start an EPUB in `file`; `path` names it in errors. Title and language are
    /// fixed now because every section carries them.
    pub fn create(file: File, path: &Path, meta: &BookMeta) -> Result<EpubWriter, EbookError> {
        let mut writer = EpubWriter {
            zip: ZipWriter::new(BufWriter::with_capacity(64 * 1024, file)),
            path: path.to_path_buf(),
            title: meta.title.clone(),
            lang: meta.lang.clone(),
            docs: Vec::new(),
            images: Vec::new(),
            digest: Sha256::new(),
        };
        // The mimetype entry must come first and be stored uncompressed.
        writer.put(
            "mimetype",
            b"application/epub+zip",
            SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
        )?;
        writer.put("META-INF/container.xml", CONTAINER_XML.as_bytes(), deflated())?;
        Ok(writer)
    }

    fn put(
        &mut self,
        name: &str,
        data: &[u8],
        options: SimpleFileOptions,
    ) -> Result<(), EbookError> {
        self.zip
            .start_file(name, options)
            .map_err(|e| EbookError::malformed(&self.path, format!("cannot write {name}: {e}")))?;
        self.zip.write_all(data).map_err(|e| EbookError::io(&self.path, e))
    }

    fn put_text(&mut self, name: &str, text: &str) -> Result<(), EbookError> {
        self.put(&format!("{DIR}{name}"), text.as_bytes(), deflated())
    }

    /// Write the cover page, navigation and package document and close the archive.
    pub fn finish(mut self, meta: &BookMeta) -> Result<Written, EbookError> {
        if self.docs.iter().all(|d| d.toc_title.is_none()) {
            for (i, doc) in self.docs.iter_mut().enumerate() {
                doc.toc_title = Some(part_label(&self.lang, i + 1));
            }
        }
        if self.docs.is_empty() {
            return Err(EbookError::Empty { path: self.path.clone() });
        }
        self.digest.update(meta.title.as_bytes());
        self.digest.update(meta.author.as_deref().unwrap_or("").as_bytes());
        let uid = uuid_from(&std::mem::take(&mut self.digest).finalize());
        let cover = self.cover_page(meta);
        self.put_text("cover.xhtml", &cover)?;
        self.put_text("style.css", STYLE_CSS)?;
        let nav = self.nav();
        self.put_text("nav.xhtml", &nav)?;
        let ncx = self.ncx(&uid);
        self.put_text("toc.ncx", &ncx)?;
        let opf = self.opf(meta, &uid);
        self.put_text("content.opf", &opf)?;
        let chapters = self.docs.iter().filter(|d| d.toc_title.is_some()).count();
        let images = self.images.len();
        let path = self.path.clone();
        let buffered = self
            .zip
            .finish()
            .map_err(|e| EbookError::malformed(&path, format!("cannot finish the archive: {e}")))?;
        let file = buffered.into_inner().map_err(|e| EbookError::io(&path, e.into_error()))?;
        Ok(Written { file, chapters, images })
    }

    fn cover_page(&self, meta: &BookMeta) -> String {
        let mut body = String::new();
        match self.images.iter().find(|i| i.is_cover) {
            Some(image) => {
                body.push_str("<div class=\"cover\"><img src=\"images/");
                escape_into(&mut body, &image.name);
                body.push_str("\" alt=\"");
                escape_into(&mut body, &meta.title);
                body.push_str("\"/></div>\n");
            }
            None => {
                body.push_str("<div class=\"titlepage\">\n<h1>");
                escape_into(&mut body, &meta.title);
                body.push_str("</h1>\n");
                if let Some(author) = &meta.author {
                    body.push_str("<p class=\"author\">");
                    escape_into(&mut body, author);
                    body.push_str("</p>\n");
                }
                body.push_str("</div>\n");
            }
        }
        xhtml::document(&self.lang, &meta.title, STYLESHEETS, &body)
    }

    fn toc_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.docs.iter().filter_map(|d| Some((d.file.as_str(), d.toc_title.as_deref()?)))
    }

    fn nav(&self) -> String {
        let mut body = String::from("<nav epub:type=\"toc\" id=\"toc\">\n<h1>");
        body.push_str(if self.lang.starts_with("zh") { "目录" } else { "Contents" });
        body.push_str("</h1>\n<ol>\n");
        for (file, title) in self.toc_entries() {
            body.push_str("<li><a href=\"");
            escape_into(&mut body, file);
            body.push_str("\">");
            escape_into(&mut body, title);
            body.push_str("</a></li>\n");
        }
        body.push_str("</ol>\n</nav>\n");
        xhtml::document(&self.lang, &self.title, STYLESHEETS, &body)
    }

    fn ncx(&self, uid: &str) -> String {
        let mut out = String::from(XML_DECLARATION);
        out.push_str("<ncx xmlns=\"http://www.daisy.org/z3986/2005/ncx/\" version=\"2005-1\">\n<head>\n<meta name=\"dtb:uid\" content=\"");
        escape_into(&mut out, uid);
        out.push_str("\"/>\n<meta name=\"dtb:depth\" content=\"1\"/>\n<meta name=\"dtb:totalPageCount\" content=\"0\"/>\n<meta name=\"dtb:maxPageNumber\" content=\"0\"/>\n</head>\n<docTitle><text>");
        escape_into(&mut out, &self.title);
        out.push_str("</text></docTitle>\n<navMap>\n");
        for (i, (file, title)) in self.toc_entries().enumerate() {
            out.push_str(&format!(
                "<navPoint id=\"np{n}\" playOrder=\"{n}\"><navLabel><text>",
                n = i + 1
            ));
            escape_into(&mut out, title);
            out.push_str("</text></navLabel><content src=\"");
            escape_into(&mut out, file);
            out.push_str("\"/></navPoint>\n");
        }
        out.push_str("</navMap>\n</ncx>\n");
        out
    }

    fn opf(&self, meta: &BookMeta, uid: &str) -> String {
        let lang = escape(&meta.lang);
        let mut out = String::from(XML_DECLARATION);
        out.push_str(&format!(
            "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" unique-identifier=\"bookid\" xml:lang=\"{lang}\">\n\
             <metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<dc:identifier id=\"bookid\">{uid}</dc:identifier>\n<dc:title>{}</dc:title>\n",
            escape(&meta.title)
        ));
        if let Some(author) = &meta.author {
            out.push_str(&format!("<dc:creator>{}</dc:creator>\n", escape(author)));
        }
        out.push_str(&format!(
            "<dc:language>{lang}</dc:language>\n<meta property=\"dcterms:modified\">{}</meta>\n",
            utc_timestamp(SystemTime::now())
        ));
        if self.images.iter().any(|i| i.is_cover) {
            out.push_str("<meta name=\"cover\" content=\"cover-image\"/>\n");
        }
        out.push_str("</metadata>\n<manifest>\n\
            <item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" properties=\"nav\"/>\n\
            <item id=\"ncx\" href=\"toc.ncx\" media-type=\"application/x-dtbncx+xml\"/>\n\
            <item id=\"css\" href=\"style.css\" media-type=\"text/css\"/>\n\
            <item id=\"titlepage\" href=\"cover.xhtml\" media-type=\"application/xhtml+xml\"/>\n");
        for (i, doc) in self.docs.iter().enumerate() {
            out.push_str(&format!(
                "<item id=\"d{}\" href=\"{}\" media-type=\"application/xhtml+xml\"/>\n",
                i + 1,
                escape(&doc.file)
            ));
        }
        for (i, image) in self.images.iter().enumerate() {
            let (id, properties) = if image.is_cover {
                ("cover-image".to_string(), " properties=\"cover-image\"")
            } else {
                (format!("img{}", i + 1), "")
            };
            out.push_str(&format!(
                "<item id=\"{id}\" href=\"images/{}\" media-type=\"{}\"{properties}/>\n",
                escape(&image.name),
                image.media_type
            ));
        }
        out.push_str("</manifest>\n<spine toc=\"ncx\">\n<itemref idref=\"titlepage\"/>\n");
        for i in 0..self.docs.len() {
            out.push_str(&format!("<itemref idref=\"d{}\"/>\n", i + 1));
        }
        out.push_str(
            "</spine>\n<guide>\n<reference type=\"cover\" title=\"Cover\" href=\"cover.xhtml\"/>\n",
        );
        if let Some((file, _)) = self.toc_entries().next() {
            out.push_str(&format!(
                "<reference type=\"text\" title=\"Start\" href=\"{}\"/>\n",
                escape(file)
            ));
        }
        out.push_str("</guide>\n</package>\n");
        out
    }
}

impl BookSink for EpubWriter {
    fn section(&mut self, section: Section) -> Result<(), EbookError> {
        let file = format!("c{:04}.xhtml", self.docs.len() + 1);
        let (title, body) = match section.body {
            Body::Text { heading, paragraphs } => {
                let mut body = String::with_capacity(
                    paragraphs.iter().map(|p| p.len() + 8).sum::<usize>() + 64,
                );
                // The primary language subtag picks the paragraph style (indented for zh, ja).
                let primary = self.lang.split('-').next().unwrap_or("");
                body.push_str(&format!("<div class=\"{}\">\n", escape(primary)));
                if let Some(heading) = &heading {
                    body.push_str("<h1>");
                    escape_into(&mut body, heading);
                    body.push_str("</h1>\n");
                }
                for paragraph in &paragraphs {
                    body.push_str("<p>");
                    escape_into(&mut body, paragraph);
                    body.push_str("</p>\n");
                }
                body.push_str("</div>\n");
                (heading, body)
            }
            Body::Xhtml(body) => (section.toc_title.clone(), body),
        };
        let doc = xhtml::document(
            &self.lang,
            title.as_deref().unwrap_or(&self.title),
            STYLESHEETS,
            &body,
        );
        self.digest.update(doc.as_bytes());
        self.put_text(&file, &doc)?;
        self.docs.push(Doc { file, toc_title: section.toc_title });
        Ok(())
    }

    fn image(&mut self, image: Image) -> Result<(), EbookError> {
        self.put(
            &format!("{DIR}images/{}", image.name),
            &image.data,
            SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
        )?;
        self.images.push(ManifestImage {
            name: image.name,
            media_type: image.media_type,
            is_cover: image.is_cover,
        });
        Ok(())
    }
}

/// The table-of-contents name of the n-th section of a book without headings.
fn part_label(lang: &str, n: usize) -> String {
    if lang.starts_with("zh") {
        format!("第{n}部分")
    } else {
        format!("Part {n}")
    }
}

/// A name-based (version 5 style) UUID URN from a digest of the content, so the
/// same book always gets the same identifier.
fn uuid_from(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0F) | 0x50;
    b[8] = (b[8] & 0x3F) | 0x80;
    let hex = crate::digest::hex(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_and_uuids_have_the_required_shape() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_709_210_096)),
            "2024-02-29T12:34:56Z"
        );
        let uuid = uuid_from(&[0xAB; 32]);
        assert_eq!(uuid, "urn:uuid:abababab-abab-5bab-abab-abababababab");
    }
}
