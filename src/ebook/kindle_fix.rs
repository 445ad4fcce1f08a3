//! The "Kindle fix": copy an EPUB, repairing what Amazon's Send to Kindle
//! rejects (E999) — content documents without `<?xml … encoding="utf-8"?>`,
//! in another encoding, with HTML-only entities or broken markup; a package
//! without `dc:language`; a wrong mimetype or container. Everything else is
//! copied byte for byte, still compressed.

use std::collections::HashSet;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use super::entities;
use super::epub_read::{decode_xml, parse_xml, EpubBook, CONTAINER, DC_NS};
use super::epub_write::{EntryWriter, PARALLEL_FROM};
use super::error::EbookError;
use super::html::{local_name, Token, Tokenizer};
use super::html_clean::{self, KeepLinks};
use super::meta::BookMeta;
use super::xhtml::{self, XML_DECLARATION};
use super::zip_write::Method;
use crate::xml::escape;

const MIMETYPE: &[u8] = b"application/epub+zip";
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Copy `book` into `file` with repairs; `meta` is what the package should say
/// (its language always set). Returns the file and a note per kind of repair.
pub fn fix(
    book: &mut EpubBook,
    file: File,
    out_path: &Path,
    meta: &BookMeta,
) -> Result<(File, Vec<String>), EbookError> {
    let mut zip = EntryWriter::new(file, out_path, PARALLEL_FROM);
    let mut repairs = Vec::new();

    let mimetype_ok = book.zip.names().first().is_some_and(|n| n == "mimetype")
        && book.zip.read("mimetype")? == MIMETYPE;
    if !mimetype_ok {
        repairs.push("rewrote the mimetype entry".to_string());
    }
    zip.put("mimetype", MIMETYPE.to_vec(), Method::Stored)?;
    if book.container_broken {
        repairs.push(format!("wrote {CONTAINER} naming {}", book.opf_path));
        let container = format!(
            "{XML_DECLARATION}<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n<rootfiles>\n\
             <rootfile full-path=\"{}\" media-type=\"application/oebps-package+xml\"/>\n</rootfiles>\n</container>\n",
            escape(&book.opf_path)
        );
        zip.put(CONTAINER, container.into_bytes(), Method::Deflated)?;
    }

    let (opf, opf_repairs) = fix_package(&book.opf, &book.stated, meta)
        .map_err(|e| EbookError::malformed(book.zip.path(), format!("{}: {e}", book.opf_path)))?;
    repairs.extend(opf_repairs);
    let documents: HashSet<String> = book
        .manifest
        .values()
        .filter(|i| i.media_type == "application/xhtml+xml")
        .map(|i| i.path.clone())
        .collect();
    let mut tally = DocumentRepairs::default();
    for name in book.zip.names().to_vec() {
        if name == "mimetype" || (name == CONTAINER && book.container_broken) || name.ends_with('/')
        {
            continue;
        }
        if name == book.opf_path {
            zip.put(&name, opf.clone().into_bytes(), Method::Deflated)?;
        } else if documents.contains(&name) {
            let fixed = fix_document(&book.zip.read(&name)?, meta, &mut tally);
            zip.put(&name, fixed.into_bytes(), Method::Deflated)?;
        } else {
            book.zip.copy_raw(&name, &mut zip)?;
        }
    }
    repairs.extend(tally.notes());
    Ok((zip.finish()?, repairs))
}

#[derive(Default)]
struct DocumentRepairs {
    declaration: usize,
    transcoded: usize,
    entities: usize,
    rebuilt: usize,
}

impl DocumentRepairs {
    fn notes(&self) -> Vec<String> {
        [
            (self.declaration, "added the UTF-8 XML declaration to"),
            (self.transcoded, "converted to UTF-8"),
            (self.entities, "replaced HTML-only entities in"),
            (self.rebuilt, "rebuilt malformed XHTML of"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{what} {n} file{}", if *n == 1 { "" } else { "s" }))
        .collect()
    }
}

/// A content document made UTF-8, declared so, and well-formed XHTML.
fn fix_document(bytes: &[u8], meta: &BookMeta, tally: &mut DocumentRepairs) -> String {
    let (text, other_encoding) = decode_xml(bytes);
    tally.transcoded += usize::from(other_encoding.is_some());
    let (text, replaced) = numeric_entities(&text);
    tally.entities += usize::from(replaced);
    let (text, declared) = with_utf8_declaration(&text);
    tally.declaration += usize::from(declared);
    let well_formed =
        parse_xml(&text).is_ok_and(|doc| doc.root_element().has_tag_name((XHTML_NS, "html")));
    if well_formed {
        return text;
    }
    tally.rebuilt += 1;
    let stylesheets = stylesheets(&text);
    let links: Vec<&str> = stylesheets.iter().map(String::as_str).collect();
    let cleaned = html_clean::clean(&text, &mut KeepLinks);
    xhtml::document(&meta.lang, &meta.title, &links, &cleaned.body)
}

fn stylesheets(html: &str) -> Vec<String> {
    Tokenizer::new(html)
        .filter_map(|t| match t {
            Token::Start(tag)
                if local_name(&tag.name) == "link"
                    && tag.attr("rel").is_some_and(|r| r.eq_ignore_ascii_case("stylesheet")) =>
            {
                tag.attr("href").map(str::to_string)
            }
            _ => None,
        })
        .collect()
}

/// `&nbsp;` and the other HTML-only entities as numeric references, which XML knows.
fn numeric_entities(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut replaced = false;
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match entities::reference_at(rest) {
            Some((name, len))
                if !entities::is_predefined_in_xml(name) && entities::lookup(name).is_some() =>
            {
                let c = entities::lookup(name).unwrap_or('\u{fffd}');
                out.push_str(&format!("&#{};", u32::from(c)));
                replaced = true;
                rest = &rest[len..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    (out, replaced)
}

/// The text starting with `<?xml version="1.0" encoding="utf-8"?>` (replacing a
/// declaration that names no or another encoding); `true` when it had to change.
fn with_utf8_declaration(text: &str) -> (String, bool) {
    let body = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if let Some(decl_end) = body.strip_prefix("<?xml").and_then(|_| body.find("?>")) {
        let decl = body[..decl_end].to_ascii_lowercase().replace('\'', "\"");
        let says_utf8 =
            decl.contains("encoding=\"utf-8\"") || decl.contains("encoding = \"utf-8\"");
        if says_utf8 && body.len() == text.len() {
            return (text.to_string(), false);
        }
        let rest = body[decl_end + 2..].trim_start_matches(['\r', '\n']);
        return (format!("{XML_DECLARATION}{rest}"), true);
    }
    (format!("{XML_DECLARATION}{body}"), true)
}

/// The package with a UTF-8 declaration, a `dc:language`, and the title and
/// author of `wanted` where they differ from what it says (`stated`).
fn fix_package(
    opf: &str,
    stated: &BookMeta,
    wanted: &BookMeta,
) -> Result<(String, Vec<String>), roxmltree::Error> {
    let (opf, declared) = with_utf8_declaration(opf);
    let mut notes = Vec::new();
    if declared {
        notes.push("added the UTF-8 XML declaration to the package".to_string());
    }
    let doc = parse_xml(&opf)?;
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let metadata = doc.descendants().find(|n| n.is_element() && n.tag_name().name() == "metadata");
    let end_of_metadata = metadata.and_then(|m| {
        let range = m.range();
        opf[..range.end].rfind("</").filter(|&at| at > range.start)
    });
    let dc_element = |name: &str| doc.descendants().find(|n| n.has_tag_name((DC_NS, name)));
    let mut set = |name: &str, value: &str, note: String| {
        let element = format!("<dc:{name} xmlns:dc=\"{DC_NS}\">{}</dc:{name}>", escape(value));
        match dc_element(name) {
            Some(node) => match node.first_child().filter(|c| c.is_text()) {
                Some(text) => edits.push((text.range(), escape(value))),
                None => edits.push((node.range(), element)),
            },
            None => match end_of_metadata {
                Some(at) => edits.push((at..at, format!("{element}\n"))),
                None => return,
            },
        }
        notes.push(note);
    };
    if stated.lang.is_empty() {
        set("language", &wanted.lang, format!("added dc:language {}", wanted.lang));
    }
    if wanted.title != stated.title {
        set("title", &wanted.title, format!("set the title to {}", wanted.title));
    }
    if let Some(author) = wanted.author.as_ref().filter(|a| stated.author.as_ref() != Some(*a)) {
        set("creator", author, format!("set the author to {author}"));
    }
    drop(doc);
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut opf = opf;
    for (range, replacement) in edits {
        opf.replace_range(range, &replacement);
    }
    Ok((opf, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(lang: &str) -> BookMeta {
        BookMeta { title: "书".into(), author: None, lang: lang.into() }
    }

    #[test]
    fn declarations_are_added_or_corrected() {
        assert_eq!(with_utf8_declaration("<html/>"), (format!("{XML_DECLARATION}<html/>"), true));
        assert!(!with_utf8_declaration("<?xml version='1.0' encoding='UTF-8'?><a/>").1);
        let (fixed, changed) =
            with_utf8_declaration("<?xml version=\"1.0\" encoding=\"gbk\"?>\n<a/>");
        assert!(changed && fixed == format!("{XML_DECLARATION}<a/>"));
        assert!(with_utf8_declaration("<?xml version=\"1.0\"?><a/>").1);
    }

    #[test]
    fn entities_become_numeric_only_where_xml_lacks_them() {
        assert_eq!(
            numeric_entities("a&nbsp;b&amp;c&#x20;&unknown;"),
            ("a&#160;b&amp;c&#x20;&unknown;".to_string(), true)
        );
        assert!(!numeric_entities("plain & simple").1);
    }

    #[test]
    fn documents_are_repaired_to_well_formed_utf8_xhtml() {
        let mut tally = DocumentRepairs::default();
        let (gbk, _, _) = encoding_rs::GBK.encode(
            "<?xml version=\"1.0\" encoding=\"gbk\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>t</title></head><body><p>中文&nbsp;</p></body></html>",
        );
        let fixed = fix_document(&gbk, &meta("zh"), &mut tally);
        assert!(fixed.starts_with(XML_DECLARATION) && fixed.contains("中文&#160;"));
        assert!(parse_xml(&fixed).is_ok());
        let broken = "<html><head><link rel=\"stylesheet\" href=\"../s.css\"/></head><body><p>一<p>二<br></body>";
        let rebuilt = fix_document(broken.as_bytes(), &meta("zh"), &mut tally);
        assert!(parse_xml(&rebuilt).is_ok(), "{rebuilt}");
        assert!(rebuilt.contains("href=\"../s.css\"") && rebuilt.contains("<p>二<br/></p>"));
        assert_eq!(
            (tally.transcoded, tally.entities, tally.declaration, tally.rebuilt),
            (1, 1, 2, 1)
        );
    }

    #[test]
    fn package_gains_language_and_overrides() {
        let opf = "<package xmlns=\"http://www.idpf.org/2007/opf\"><opf:metadata xmlns:opf=\"http://www.idpf.org/2007/opf\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
                   <dc:title id=\"t\">Old</dc:title></opf:metadata></package>";
        let stated = BookMeta { title: "Old".into(), author: None, lang: String::new() };
        let wanted =
            BookMeta {
                title: "New & Better".into(), author: Some("某".into()), lang: "zh".into()
            };
        let (fixed, notes) = fix_package(opf, &stated, &wanted).unwrap();
        assert_eq!(notes.len(), 4, "{notes:?}");
        let doc = parse_xml(&fixed).unwrap();
        let text = |name| {
            doc.descendants()
                .find(|n| n.has_tag_name((DC_NS, name)))
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        assert_eq!(text("language").as_deref(), Some("zh"));
        assert_eq!(text("title").as_deref(), Some("New & Better"));
        assert_eq!(text("creator").as_deref(), Some("某"));
        assert!(fixed.contains("<dc:title id=\"t\">"));
    }
}
