//! Reading an EPUB: container → package (OPF) → metadata, manifest, spine, and
//! the chapter titles from the nav document or the NCX. Content documents are
//! read one at a time, in spine order.

use std::collections::HashMap;
use std::path::Path;

use encoding_rs::{Encoding, UTF_8};

use super::book::{Body, BookSink, Section};
use super::error::EbookError;
use super::html::{local_name, Token, Tokenizer};
use super::html_text;
use super::meta::{self, BookMeta};
use super::zip_safe::{SafeZip, LIMITS};

pub const CONTAINER: &str = "META-INF/container.xml";
const XHTML_TYPE: &str = "application/xhtml+xml";
/// How much text the language guess reads when the package names no language.
const LANG_SAMPLE_BYTES: usize = 64 * 1024;

pub struct ManifestItem {
    /// Full path inside the archive.
    pub path: String,
    pub media_type: String,
    pub properties: String,
}

pub struct EpubBook {
    pub zip: SafeZip,
    pub opf_path: String,
    /// The package document, decoded.
    pub opf: String,
    /// Whether META-INF/container.xml is missing or names no usable package.
    pub container_broken: bool,
    /// Metadata as the package states it (`lang` empty when it names none).
    pub stated: BookMeta,
    pub manifest: HashMap<String, ManifestItem>,
    /// Manifest ids in reading order.
    pub spine: Vec<String>,
    /// Archive path of a content document → its title in the table of contents.
    pub toc: HashMap<String, String>,
}

impl EpubBook {
    pub fn open(path: &Path) -> Result<EpubBook, EbookError> {
        let mut zip = SafeZip::open(path, LIMITS)?;
        let (opf_path, container_broken) = locate_opf(&mut zip)?;
        let (opf, _) = decode_xml(&zip.read(&opf_path)?);
        let doc = parse_xml(&opf).map_err(|e| {
            EbookError::malformed(path, format!("{opf_path} is not well-formed XML: {e}"))
        })?;
        let base = parent_dir(&opf_path);
        let dc = |name: &str| {
            doc.descendants()
                .find(|n| {
                    n.is_element()
                        && n.tag_name().name() == name
                        && n.tag_name().namespace() == Some(DC_NS)
                })
                .and_then(|n| n.text())
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|t| !t.is_empty())
        };
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let stated = BookMeta {
            title: dc("title").unwrap_or(stem),
            author: dc("creator"),
            lang: dc("language").unwrap_or_default(),
        };
        let mut manifest = HashMap::new();
        let mut spine = Vec::new();
        let mut ncx_id = None;
        for node in doc.descendants().filter(|n| n.is_element()) {
            match node.tag_name().name() {
                "item" => {
                    if let (Some(id), Some(href)) = (node.attribute("id"), node.attribute("href")) {
                        manifest.insert(
                            id.to_string(),
                            ManifestItem {
                                path: resolve(base, href),
                                media_type: node.attribute("media-type").unwrap_or("").to_string(),
                                properties: node.attribute("properties").unwrap_or("").to_string(),
                            },
                        );
                    }
                }
                "spine" => ncx_id = node.attribute("toc").map(str::to_string),
                "itemref" => spine.extend(node.attribute("idref").map(str::to_string)),
                _ => {}
            }
        }
        drop(doc);
        let mut book = EpubBook {
            zip,
            opf_path,
            opf,
            container_broken,
            stated,
            manifest,
            spine,
            toc: HashMap::new(),
        };
        book.toc = book.read_toc(ncx_id.as_deref());
        Ok(book)
    }

    /// Spine documents that are XHTML, as archive paths.
    pub fn content_paths(&self) -> Vec<String> {
        self.spine
            .iter()
            .filter_map(|id| self.manifest.get(id))
            .filter(|item| {
                item.media_type == XHTML_TYPE
                    || item.path.ends_with(".xhtml")
                    || item.path.ends_with(".html")
            })
            .map(|item| item.path.clone())
            .filter(|path| self.zip.contains(path))
            .collect()
    }

    /// Titles from the EPUB 3 nav document, else from the NCX. A broken table of
    /// contents only costs the titles, never the book.
    fn read_toc(&mut self, ncx_id: Option<&str>) -> HashMap<String, String> {
        let nav = self
            .manifest
            .values()
            .find(|i| i.properties.split_whitespace().any(|p| p == "nav"))
            .map(|i| i.path.clone());
        let ncx = ncx_id
            .and_then(|id| self.manifest.get(id))
            .or_else(|| self.manifest.values().find(|i| i.media_type == "application/x-dtbncx+xml"))
            .map(|i| i.path.clone());
        let mut toc = HashMap::new();
        if let Some(nav) = nav {
            if let Ok(bytes) = self.zip.read(&nav) {
                for (href, title) in nav_entries(&decode_xml(&bytes).0) {
                    toc.entry(resolve(parent_dir(&nav), &href)).or_insert(title);
                }
            }
        }
        if toc.is_empty() {
            if let Some(ncx) = ncx {
                if let Ok(bytes) = self.zip.read(&ncx) {
                    for (src, title) in ncx_entries(&decode_xml(&bytes).0) {
                        toc.entry(resolve(parent_dir(&ncx), &src)).or_insert(title);
                    }
                }
            }
        }
        toc
    }

    /// The stated metadata, the language guessed from the first documents' text
    /// when the package names none.
    pub fn meta(&mut self) -> Result<BookMeta, EbookError> {
        if !self.stated.lang.is_empty() {
            return Ok(self.stated.clone());
        }
        let mut sample = String::new();
        for path in self.content_paths() {
            if sample.len() >= LANG_SAMPLE_BYTES {
                break;
            }
            let (text, _) = decode_xml(&self.zip.read(&path)?);
            sample.extend(html_text::paragraphs(&text));
        }
        Ok(BookMeta { lang: meta::detect_lang(&sample).to_string(), ..self.stated.clone() })
    }

    /// The cover image's archive path: the EPUB 3 `cover-image` item, else
    /// the item an EPUB 2 `<meta name="cover" content="ID"/>` names.
    pub fn cover_path(&self) -> Option<String> {
        let by_property = self
            .manifest
            .values()
            .find(|i| i.properties.split_whitespace().any(|p| p == "cover-image"));
        let by_meta = || {
            let doc = parse_xml(&self.opf).ok()?;
            let id = doc
                .descendants()
                .find(|n| {
                    n.is_element()
                        && n.tag_name().name() == "meta"
                        && n.attribute("name") == Some("cover")
                })?
                .attribute("content")?
                .to_string();
            self.manifest.get(&id)
        };
        by_property.or_else(by_meta).map(|i| i.path.clone()).filter(|p| self.zip.contains(p))
    }

    /// Every spine document in order, each as one section.
    pub fn pump(&mut self, sink: &mut dyn BookSink) -> Result<(), EbookError> {
        for path in self.content_paths() {
            let (text, _) = decode_xml(&self.zip.read(&path)?);
            sink.section(Section {
                toc_title: self.toc.get(&path).cloned(),
                body: Body::Xhtml(text),
            })?;
        }
        Ok(())
    }
}

pub const DC_NS: &str = "http://purl.org/dc/elements/1.1/";

pub fn parse_xml(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
}

/// The package path named by the container, or failing that the only `.opf` in
/// the archive (the flag says the container needs rewriting).
fn locate_opf(zip: &mut SafeZip) -> Result<(String, bool), EbookError> {
    let path = zip.path().to_path_buf();
    let named = if zip.contains(CONTAINER) {
        let (container, _) = decode_xml(&zip.read(CONTAINER)?);
        parse_xml(&container).ok().and_then(|doc| {
            doc.descendants()
                .find(|n| n.has_tag_name("rootfile"))
                .and_then(|n| n.attribute("full-path"))
                .map(str::to_string)
        })
    } else {
        None
    };
    if let Some(opf) = &named {
        if zip.contains(opf) {
            return Ok((opf.clone(), false));
        }
    }
    let found: Vec<&String> =
        zip.names().iter().filter(|n| n.to_ascii_lowercase().ends_with(".opf")).collect();
    match (found.as_slice(), named) {
        ([only], _) => Ok(((*only).clone(), true)),
        (_, Some(opf)) => Err(EbookError::MissingOpf {
            path,
            detail: format!("{CONTAINER} names {opf}, which is not in the archive"),
        }),
        ([], None) => Err(EbookError::MissingOpf {
            path,
            detail: format!("no {CONTAINER} and no .opf file in the archive"),
        }),
        (_, None) => Err(EbookError::MissingOpf {
            path,
            detail: format!("no usable {CONTAINER} and several .opf files to choose from"),
        }),
    }
}

/// Decode an XML file by its byte-order mark or declared encoding (UTF-8 when
/// neither says). The second value is the encoding when it was not UTF-8.
pub fn decode_xml(bytes: &[u8]) -> (String, Option<&'static Encoding>) {
    let encoding = Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or_else(|| declared_encoding(bytes))
        .unwrap_or(UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    let other = (encoding != UTF_8).then_some(encoding);
    (text.into_owned(), other)
}

fn declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(200)];
    let head = std::str::from_utf8(head)
        .unwrap_or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""));
    let decl = &head[..head.find("?>")?];
    let at = decl.find("encoding")?;
    let value = decl[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let label = &value[1..1 + value[1..].find(quote)?];
    Encoding::for_label(label.as_bytes())
}

fn parent_dir(path: &str) -> &str {
    path.rfind('/').map_or("", |at| &path[..=at])
}

/// The archive path `href` points at from a document in `base_dir`, without fragment.
pub fn resolve(base_dir: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or("");
    let href = percent_decode(href);
    let mut parts: Vec<&str> = if href.starts_with('/') {
        Vec::new()
    } else {
        base_dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in href.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `(href, title)` of each link in the nav document's `toc` nav.
fn nav_entries(html: &str) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let mut nav_depth = 0usize;
    let mut in_toc = false;
    let mut link: Option<(String, String)> = None;
    for token in Tokenizer::new(html) {
        match token {
            Token::Start(tag) if local_name(&tag.name) == "nav" && !tag.self_closing => {
                nav_depth += 1;
                if nav_depth == 1 {
                    in_toc = tag.attrs.iter().any(|(n, v)| {
                        local_name(n) == "type" && v.split_whitespace().any(|t| t == "toc")
                    });
                }
            }
            Token::End(name) if local_name(&name) == "nav" => {
                nav_depth = nav_depth.saturating_sub(1)
            }
            Token::Start(tag) if in_toc && nav_depth > 0 && local_name(&tag.name) == "a" => {
                link = tag.attr("href").map(|h| (h.to_string(), String::new()));
            }
            Token::End(name) if local_name(&name) == "a" => {
                if let Some((href, title)) = link.take() {
                    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !title.is_empty() {
                        entries.push((href, title));
                    }
                }
            }
            Token::Text(text) => {
                if let Some((_, title)) = link.as_mut() {
                    title.push_str(&text);
                }
            }
            _ => {}
        }
    }
    entries
}

/// `(src, label)` of each navPoint of an NCX, in document order.
fn ncx_entries(xml: &str) -> Vec<(String, String)> {
    let Ok(doc) = parse_xml(xml) else { return Vec::new() };
    doc.descendants()
        .filter(|n| n.has_tag_name((NCX_NS, "navPoint")))
        .filter_map(|point| {
            let child =
                |name| point.children().find(|c| c.is_element() && c.tag_name().name() == name);
            let src = child("content")?.attribute("src")?.to_string();
            let label = child("navLabel")?
                .descendants()
                .find(|n| n.has_tag_name((NCX_NS, "text")))?
                .text()?
                .trim()
                .to_string();
            (!label.is_empty()).then_some((src, label))
        })
        .collect()
}

const NCX_NS: &str = "http://www.daisy.org/z3986/2005/ncx/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_resolve_against_the_document_directory() {
        assert_eq!(resolve("OEBPS/", "Text/ch%201.xhtml#p3"), "OEBPS/Text/ch 1.xhtml");
        assert_eq!(resolve("OEBPS/Text/", "../Images/a.jpg"), "OEBPS/Images/a.jpg");
        assert_eq!(resolve("", "./c.xhtml"), "c.xhtml");
    }

    #[test]
    fn declared_encodings_are_honoured() {
        let (gbk, _, _) =
            encoding_rs::GBK.encode("<?xml version=\"1.0\" encoding=\"GBK\"?><p>中文</p>");
        let (text, other) = decode_xml(&gbk);
        assert!(text.contains("中文"));
        assert_eq!(other, Some(encoding_rs::GBK));
        assert_eq!(decode_xml("<?xml version='1.0' encoding='utf-8'?><a/>".as_bytes()).1, None);
    }

    #[test]
    fn nav_and_ncx_titles() {
        let nav = "<html><body><nav epub:type=\"landmarks\"><a href=\"x.xhtml\">Cover</a></nav>\
                   <nav epub:type=\"toc\"><ol><li><a href=\"c1.xhtml#s\">第一章 <b>起</b></a><ol><li><a href=\"c2.xhtml\">Two</a></li></ol></li></ol></nav></body></html>";
        assert_eq!(
            nav_entries(nav),
            [
                ("c1.xhtml#s".to_string(), "第一章 起".to_string()),
                ("c2.xhtml".into(), "Two".into())
            ]
        );
        let ncx = "<ncx xmlns=\"http://www.daisy.org/z3986/2005/ncx/\"><navMap><navPoint id=\"a\"><navLabel><text>One</text></navLabel>\
                   <content src=\"t/c1.xhtml\"/></navPoint></navMap></ncx>";
        assert_eq!(ncx_entries(ncx), [("t/c1.xhtml".to_string(), "One".to_string())]);
    }
}
