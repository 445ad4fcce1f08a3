//! One reader for the named fields of a callback body, whether WeChat pushed
//! XML or JSON: both become the same small tree, read by name.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::xml::strip_illegal_chars;

/// Why a callback body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    UnknownFormat,
    Xml(String),
    Json(String),
    Missing(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty body"),
            ParseError::UnknownFormat => f.write_str("body is neither XML nor JSON"),
            ParseError::Xml(reason) => write!(f, "malformed XML: {reason}"),
            ParseError::Json(reason) => write!(f, "malformed JSON: {reason}"),
            ParseError::Missing(name) => write!(f, "missing <{name}>"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Nesting below this depth is never walked: no WeChat message goes past 4,
/// and the tree must stay small whatever a hostile body looks like.
const MAX_DEPTH: usize = 8;
const MAX_XML_NODES: u32 = 10_000;

static EMPTY: Fields = Fields { text: Cow::Borrowed(""), children: Vec::new() };

/// The tree borrows its names and most texts from the body: a message is read
/// on every request, and copying each field cost more than parsing it.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Fields<'a> {
    text: Cow<'a, str>,
    children: Vec<(&'a str, Fields<'a>)>,
}

impl<'a> Fields<'a> {
    /// Reads an XML or JSON body, told apart by its first non-blank byte, and
    /// hands its fields to `read_fields`.
    pub(super) fn read<R>(
        body: &[u8],
        read_fields: impl FnOnce(&Fields) -> Result<R, ParseError>,
    ) -> Result<R, ParseError> {
        with_body_text(body, |text| match text.as_bytes().first() {
            None => Err(ParseError::Empty),
            Some(b'<') => {
                if let Some(fields) = flat_xml(text) {
                    return read_fields(&fields);
                }
                let doc = parse_xml(text)?;
                read_fields(&xml_element(doc.root_element(), 0))
            }
            Some(b'{') => {
                let value: Value =
                    serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
                if !value.is_object() {
                    return Err(ParseError::Json("the body is not a JSON object".into()));
                }
                read_fields(&json_value(&value, 0))
            }
            Some(_) => Err(ParseError::UnknownFormat),
        })
    }

    /// The first child with this name. Names match ignoring ASCII case, because
    /// finish events spell `MsgId` as `MsgID`.
    pub(super) fn get(&self, name: &str) -> Option<&Fields<'a>> {
        self.children
            .iter()
            .find(|(child_name, _)| child_name.eq_ignore_ascii_case(name))
            .map(|(_, child)| child)
    }

    /// A nested group such as `ScanCodeInfo`; empty when absent.
    pub(super) fn group(&self, name: &str) -> &Fields<'a> {
        self.get(name).unwrap_or(&EMPTY)
    }

    /// The text of a field exactly as sent; empty when absent.
    pub(super) fn string(&self, name: &str) -> String {
        self.get(name).map(|f| f.text.to_string()).unwrap_or_default()
    }

    /// The text of a field, or None when it is absent or empty.
    pub(super) fn optional(&self, name: &str) -> Option<String> {
        self.optional_str(name).map(str::to_string)
    }

    /// As [`Fields::optional`], borrowed: for a field only looked at.
    pub(super) fn optional_str(&self, name: &str) -> Option<&str> {
        self.get(name).map(|f| &*f.text).filter(|text| !text.is_empty())
    }

    /// A numeric field; its type's default (0) when absent or unreadable.
    pub(super) fn number<T: FromStr + Default>(&self, name: &str) -> T {
        self.get(name).and_then(|f| f.text.trim().parse().ok()).unwrap_or_default()
    }

    /// The texts of every field with this name anywhere below, in order
    /// (e.g. each `PicMd5Sum` of a `PicList`, however the list is wrapped).
    pub(super) fn texts_below(&self, name: &str) -> Vec<String> {
        let mut found = Vec::new();
        self.collect_texts(name, &mut found);
        found
    }

    fn collect_texts(&self, name: &str, found: &mut Vec<String>) {
        for (child_name, child) in &self.children {
            if child_name.eq_ignore_ascii_case(name) {
                found.push(child.text.to_string());
            }
            child.collect_texts(name, found);
        }
    }
}

/// Hands `read` the body as text: invalid UTF-8 replaced, the characters XML
/// cannot carry dropped, a leading BOM and surrounding blanks trimmed.
fn with_body_text<R>(body: &[u8], read: impl FnOnce(&str) -> R) -> R {
    let decoded = crate::text::lossy(body);
    let text = strip_illegal_chars(&decoded);
    read(text.trim_start_matches('\u{FEFF}').trim())
}

fn parse_xml(text: &str) -> Result<roxmltree::Document<'_>, ParseError> {
    let options = roxmltree::ParsingOptions { nodes_limit: MAX_XML_NODES, ..Default::default() };
    roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| ParseError::Xml(e.to_string()))
}

/// For the fuzz target and tests: whether the flat reader, wherever it reads
/// a body, reads it as roxmltree does.
#[cfg(any(test, fuzzing))]
pub fn flat_reading_agrees(body: &[u8]) -> bool {
    with_body_text(body, |text| {
        let Some(flat) = flat_xml(text) else { return true };
        parse_xml(text).is_ok_and(|doc| xml_element(doc.root_element(), 0) == flat)
    })
}

/// The most children a flat document is read with; more go to roxmltree,
/// whose node limit then applies as before.
const MAX_FLAT_CHILDREN: usize = 64;
/// The most text and CDATA pieces one flat field is read from.
const MAX_FLAT_PIECES: usize = 16;

/// The shape of nearly every WeChat body, read without building roxmltree's
/// document (a tree and a dozen allocations per request, twice in safe mode):
/// one root element holding only leaf elements, each holding text or CDATA;
/// no attributes, declarations, comments, entities or carriage returns
/// (which XML rewrites). Anything else is `None` and goes to roxmltree, which
/// reads this shape the same way: the fuzz target `callback_xml` checks that.
fn flat_xml(text: &str) -> Option<Fields<'_>> {
    let (root, mut rest) = open_tag(text)?;
    let mut fields = Fields::default();
    loop {
        let (between, after) = plain_text(rest)?;
        append_piece(&mut fields.text, between);
        rest = after;
        if let Some(after_close) = close_tag(rest, root) {
            return after_close.is_empty().then_some(fields);
        }
        if fields.children.len() == MAX_FLAT_CHILDREN {
            return None;
        }
        let (name, after_open) = open_tag(rest)?;
        let (text, after_leaf) = leaf_text(after_open, name)?;
        fields.children.push((name, Fields { text, children: Vec::new() }));
        rest = after_leaf;
    }
}

/// `<Name>` at the start of `rest`: the name and what follows the tag.
fn open_tag(rest: &str) -> Option<(&str, &str)> {
    let (name, after) = rest.strip_prefix('<')?.split_once('>')?;
    let mut bytes = name.bytes();
    let starts_well = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    let continues_well =
        bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    (starts_well && continues_well).then_some((name, after))
}

/// What follows `</name>` at the start of `rest`.
fn close_tag<'a>(rest: &'a str, name: &str) -> Option<&'a str> {
    rest.strip_prefix("</")?.strip_prefix(name)?.strip_prefix('>')
}

/// Character data up to the next `<`, which must come.
fn plain_text(rest: &str) -> Option<(&str, &str)> {
    let end = data_end(rest.as_bytes(), false)?;
    Some(rest.split_at(end))
}

/// A CDATA section's text, up to its `]]>`, and what follows that.
fn cdata_text(rest: &str) -> Option<(&str, &str)> {
    let end = data_end(rest.as_bytes(), true)?;
    Some((&rest[..end], &rest[end + "]]>".len()..]))
}

/// Where character data ends, in one pass: at the first `<` of plain text,
/// or the `]]>` of CDATA. `None` when the end never comes, or a carriage
/// return comes first, or in plain text an entity or a `]]>` (which XML forbids there).
fn data_end(bytes: &[u8], cdata: bool) -> Option<usize> {
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'\r' => return None,
            b'&' | b'<' if !cdata => return (byte == b'<').then_some(i),
            b']' if bytes[i + 1..].starts_with(b"]>") => return cdata.then_some(i),
            _ => {}
        }
    }
    None
}

/// The text of a leaf element whose open tag was just read, and what follows its close tag.
fn leaf_text<'a>(mut rest: &'a str, name: &str) -> Option<(Cow<'a, str>, &'a str)> {
    let mut text = Cow::Borrowed("");
    for _ in 0..MAX_FLAT_PIECES {
        if let Some(after_close) = close_tag(rest, name) {
            return Some((text, after_close));
        }
        let (piece, after) = match rest.strip_prefix("<![CDATA[") {
            Some(cdata) => cdata_text(cdata)?,
            None if rest.starts_with('<') => return None,
            None => plain_text(rest)?,
        };
        append_piece(&mut text, piece);
        rest = after;
    }
    None
}

/// As roxmltree's text nodes are joined in `xml_element`: the first borrowed.
fn append_piece<'a>(text: &mut Cow<'a, str>, piece: &'a str) {
    if text.is_empty() {
        *text = Cow::Borrowed(piece);
    } else {
        text.to_mut().push_str(piece);
    }
}

fn xml_element<'a>(element: roxmltree::Node<'_, 'a>, depth: usize) -> Fields<'a> {
    let mut fields = Fields::default();
    for child in element.children() {
        if child.is_text() {
            // CDATA sections split around `]]>` arrive as several text nodes.
            match child.text_storage() {
                Some(roxmltree::StringStorage::Borrowed(text)) if fields.text.is_empty() => {
                    fields.text = Cow::Borrowed(text);
                }
                Some(text) => fields.text.to_mut().push_str(text.as_str()),
                None => {}
            }
        } else if child.is_element() && depth < MAX_DEPTH {
            fields.children.push((child.tag_name().name(), xml_element(child, depth + 1)));
        }
    }
    fields
}

fn json_value(value: &Value, depth: usize) -> Fields<'_> {
    let mut fields = Fields::default();
    match value {
        Value::Object(map) => {
            for (name, child) in map {
                push_json_child(&mut fields.children, name, child, depth);
            }
        }
        // JSON may escape what XML cannot carry; keep both formats alike.
        Value::String(s) => fields.text = strip_illegal_chars(s),
        Value::Number(n) => fields.text = Cow::Owned(n.to_string()),
        Value::Bool(b) => fields.text = Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Null | Value::Array(_) => {}
    }
    fields
}

/// An array becomes repeated children of the same name, as in XML.
fn push_json_child<'a>(
    children: &mut Vec<(&'a str, Fields<'a>)>,
    name: &'a str,
    value: &'a Value,
    depth: usize,
) {
    if depth >= MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                push_json_child(children, name, item, depth + 1);
            }
        }
        other => children.push((name, json_value(other, depth + 1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &[u8], check: impl FnOnce(&Fields)) {
        Fields::read(body, |fields| {
            check(fields);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn xml_and_json_read_alike() {
        let xml = b"<xml><A><![CDATA[x]]></A><N>42</N><G><B>y</B><L><item><P>1</P></item><item><P>2</P></item></L></G></xml>";
        let json = br#"{"A":"x","N":42,"G":{"B":"y","L":{"item":[{"P":"1"},{"P":2}]}}}"#;
        for body in [&xml[..], &json[..]] {
            read(body, |fields| {
                assert_eq!(fields.string("A"), "x");
                assert_eq!(fields.number::<u32>("N"), 42);
                assert_eq!(fields.group("G").string("B"), "y");
                assert_eq!(fields.group("G").texts_below("P"), ["1", "2"]);
            });
        }
    }

    #[test]
    fn missing_and_empty_fields_default() {
        read(b"<xml><E><![CDATA[]]></E><N>abc</N></xml>", |fields| {
            assert_eq!(fields.optional("E"), None);
            assert_eq!(fields.optional("Nope"), None);
            assert_eq!(fields.string("Nope"), "");
            assert_eq!(fields.number::<u64>("N"), 0);
            assert_eq!(fields.number::<f64>("Nope"), 0.0);
            assert_eq!(fields.group("Nope").string("X"), "");
        });
    }

    #[test]
    fn text_split_by_a_comment_is_joined() {
        read(b"<xml><A><![CDATA[x]]><!-- note -->y</A></xml>", |fields| {
            assert_eq!(fields.string("A"), "xy");
        });
    }

    #[test]
    fn entities_and_illegal_characters_are_read_as_text() {
        read(b"<xml><A>a &amp; b</A><B><![CDATA[c\x01d]]></B></xml>", |fields| {
            assert_eq!(fields.string("A"), "a & b");
            assert_eq!(fields.string("B"), "cd");
        });
        read(br#"{"A":"a\u0001b","T":true}"#, |fields| {
            assert_eq!(fields.string("A"), "ab");
            assert_eq!(fields.string("T"), "true");
        });
    }

    #[test]
    fn names_match_ignoring_case() {
        read(b"<xml><MsgID>7</MsgID></xml>", |fields| {
            assert_eq!(fields.optional("MsgId").as_deref(), Some("7"));
        });
    }

    #[test]
    fn leading_bom_and_blanks_are_skipped() {
        read("\u{FEFF}\n  <xml><A>1</A></xml>\n".as_bytes(), |fields| {
            assert_eq!(fields.string("A"), "1");
        });
        read(b"  \r\n{\"A\":\"1\"}", |fields| assert_eq!(fields.string("A"), "1"));
    }

    #[test]
    fn flat_bodies_read_as_roxmltree_reads_them() {
        let flat = [
            "<xml><A><![CDATA[x]]></A><N>42</N></xml>",
            "<xml>\n  <A><![CDATA[x]]></A>\n  <B>y</B>\n</xml>",
            "<xml><A>a<![CDATA[b]]>c<![CDATA[]]></A><E></E><E2><![CDATA[]]></E2></xml>",
            "<xml><A><![CDATA[a ]] > ]]]></A><B>> 1</B><C><![CDATA[<b>\"'</b>]]></C></xml>",
            "<x-1.y_><_a>中文</_a></x-1.y_>",
            "<xml><A><![CDATA[a &amp; b]]></A></xml>",
        ];
        for body in flat {
            assert!(flat_xml(body).is_some(), "{body}");
            assert!(flat_reading_agrees(body.as_bytes()), "{body}");
        }
        read(flat[2].as_bytes(), |fields| {
            assert_eq!(fields.string("A"), "abc");
            assert_eq!(fields.optional("E2"), None);
        });
        let other = [
            "<?xml version=\"1.0\"?><xml><A>1</A></xml>",
            "<xml><A>1</A></xml><B/>",
            "<xml><A>1</A></xml>x",
            "<xml><A>1</B></xml>",
            "<xml><A>1</A>",
            "<xml><A a=\"1\">1</A></xml>",
            "<xml ><A>1</A></xml>",
            "<xml><A/></xml>",
            "<xml><A>a &amp; b</A></xml>",
            "<xml><A>a\r\nb</A></xml>",
            "<xml><A><![CDATA[a\rb]]></A></xml>",
            "<xml>\r\n<A>1</A></xml>",
            "<xml><A>a]]>b</A></xml>",
            "<xml><A><!-- c -->1</A></xml>",
            "<xml><G><B>1</B></G></xml>",
            "<xml><a:b>1</a:b></xml>",
            "<xml><A><![CDATA[1]]</A></xml>",
            "<xml><1>1</1></xml>",
        ];
        for body in other {
            assert!(flat_xml(body).is_none(), "{body}");
        }
        let many = format!("<xml>{}</xml>", "<A>1</A>".repeat(MAX_FLAT_CHILDREN + 1));
        assert!(flat_xml(&many).is_none());
        let pieces = format!("<xml><A>{}</A></xml>", "a<![CDATA[b]]>".repeat(MAX_FLAT_PIECES));
        assert!(flat_xml(&pieces).is_none());
        read(pieces.as_bytes(), |fields| assert_eq!(fields.string("A").len(), 2 * MAX_FLAT_PIECES));
    }

    #[test]
    fn deep_nesting_is_cut_off_without_recursing() {
        let depth = MAX_XML_NODES as usize - 10;
        let xml = format!("<xml>{}{}</xml>", "<a>".repeat(depth), "</a>".repeat(depth));
        read(xml.as_bytes(), |fields| {
            let mut levels = 0;
            let mut node = fields;
            while let Some(child) = node.get("a") {
                node = child;
                levels += 1;
            }
            assert_eq!(levels, MAX_DEPTH);
        });
    }
}
