//! A forgiving HTML/XHTML tokenizer. E-book markup is often not well-formed
//! (MOBI markup never is), so text extraction and cleaning work on tokens, not
//! on an XML tree. Comments, doctypes and processing instructions are skipped;
//! CDATA becomes text; script and style contents are one raw text token.

use std::borrow::Cow;

use super::entities;

#[derive(Debug, PartialEq)]
pub enum Token<'a> {
    Start(Tag),
    End(String),
    /// Text with character references decoded.
    Text(Cow<'a, str>),
}

#[derive(Debug, PartialEq)]
pub struct Tag {
    /// Lower-cased, prefix kept (`mbp:pagebreak`).
    pub name: String,
    /// Lower-cased names, decoded values.
    pub attrs: Vec<(String, String)>,
    pub self_closing: bool,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub struct Tokenizer<'a> {
    src: &'a str,
    pos: usize,
    /// Inside `<script>` or `<style>`: the end tag that closes the raw text.
    raw_until: Option<&'static str>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(src: &'a str) -> Self {
        Tokenizer { src, pos: 0, raw_until: None }
    }

    /// How far into the source the next token starts.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// Move past the first `needle` (or to the end when there is none).
    fn skip_past(&mut self, needle: &str) {
        let rest = self.rest();
        // A one-byte needle (`>`) is a memchr, not a substring search.
        let found = match needle.as_bytes() {
            &[byte] => rest.find(char::from(byte)),
            _ => rest.find(needle),
        };
        self.pos = match found {
            Some(at) => self.pos + at + needle.len(),
            None => self.src.len(),
        };
    }

    fn raw_text(&mut self, end_tag: &str) -> Token<'a> {
        let rest = self.rest();
        let end = find_ignore_ascii_case(rest, end_tag).unwrap_or(rest.len());
        self.pos += end;
        Token::Text(Cow::Borrowed(&rest[..end]))
    }

    fn text(&mut self) -> Token<'a> {
        let rest = self.rest();
        // A '<' that starts no tag is text; look for the next one that might.
        let mut end = rest.len();
        let mut from = if rest.starts_with('<') { 1 } else { 0 };
        while let Some(at) = rest[from..].find('<') {
            if starts_markup(&rest[from + at..]) {
                end = from + at;
                break;
            }
            from += at + 1;
        }
        self.pos += end;
        Token::Text(entities::decode(&rest[..end]))
    }

    fn end_tag(&mut self) -> Token<'a> {
        let rest = &self.rest()[2..];
        let name_len = until_space_or(rest, b">");
        let name = rest[..name_len].to_ascii_lowercase();
        self.skip_past(">");
        Token::End(name)
    }

    fn start_tag(&mut self) -> Token<'a> {
        let src = self.src;
        let mut i = self.pos + 1;
        let name_end = i + until_space_or(&src[i..], b">/");
        let name = src[i..name_end].to_ascii_lowercase();
        i = name_end;
        let mut attrs = Vec::new();
        let mut self_closing = false;
        loop {
            i += space_len(&src[i..]);
            let Some(c) = src[i..].chars().next() else { break };
            match c {
                '>' => {
                    i += 1;
                    break;
                }
                '/' => {
                    i += 1;
                    self_closing = src[i..].starts_with('>');
                }
                _ if matches!(c, '=' | '"' | '\'') => i += 1,
                _ => {
                    let attr_end = i + until_space_or(&src[i..], b"=>/");
                    let attr_name = src[i..attr_end].to_ascii_lowercase();
                    i = attr_end;
                    let after_space = i + space_len(&src[i..]);
                    let mut value = String::new();
                    if src[after_space..].starts_with('=') {
                        i = after_space + 1;
                        i += space_len(&src[i..]);
                        let (raw, next) = attr_value(src, i);
                        value = entities::decode(raw).into_owned();
                        i = next;
                    }
                    attrs.push((attr_name, value));
                }
            }
        }
        self.pos = i;
        if !self_closing {
            self.raw_until = match name.as_str() {
                "script" => Some("</script"),
                "style" => Some("</style"),
                _ => None,
            };
        }
        Token::Start(Tag { name, attrs, self_closing })
    }
}

/// The raw value starting at `i` (quoted or not) and the index after it.
fn attr_value(src: &str, i: usize) -> (&str, usize) {
    match src[i..].chars().next() {
        Some(q @ ('"' | '\'')) => match src[i + 1..].find(q) {
            Some(len) => (&src[i + 1..i + 1 + len], i + 2 + len),
            None => (&src[i + 1..], src.len()),
        },
        _ => {
            let len = until_space_or(&src[i..], b">");
            (&src[i..i + len], i + len)
        }
    }
}

/// Whether the character starting at byte `i` of `s` is white space
/// (`char::is_whitespace`), decoded only where the byte is one that white space
/// outside ASCII (U+0085, U+00A0, U+1680, U+2000–U+205F, U+3000) starts with.
pub fn white_space_at(s: &str, i: usize) -> bool {
    match s.as_bytes()[i] {
        b'\t'..=b'\r' | b' ' => true,
        0xC2 | 0xE1..=0xE3 => s[i..].starts_with(char::is_whitespace),
        _ => false,
    }
}

/// How far `s` goes before white space or one of the ASCII bytes `stops`.
pub fn until_space_or(s: &str, stops: &[u8]) -> usize {
    (0..s.len())
        .find(|&i| stops.contains(&s.as_bytes()[i]) || white_space_at(s, i))
        .unwrap_or(s.len())
}

/// The length of the white space `s` starts with (what `trim_start` removes).
fn space_len(s: &str) -> usize {
    let mut n = 0;
    while n < s.len() && white_space_at(s, n) {
        n += s[n..].chars().next().map_or(1, char::len_utf8);
    }
    n
}

fn starts_markup(s: &str) -> bool {
    let Some(after) = s.strip_prefix('<') else { return false };
    let mut chars = after.chars();
    match chars.next() {
        Some('!' | '?') => true,
        Some('/') => chars.next().is_some_and(|c| c.is_ascii_alphabetic()),
        Some(c) => c.is_ascii_alphabetic(),
        None => false,
    }
}

/// Where `needle` first occurs in `haystack`, ASCII letters in either case.
/// A needle that starts with another byte (`<`, as all of them here do) is
/// looked for at the occurrences of that byte (memchr), not at every byte.
pub fn find_ignore_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    let (bytes, wanted) = (haystack.as_bytes(), needle.as_bytes());
    let matches_at = |at: usize| {
        bytes.get(at..at + wanted.len()).is_some_and(|w| w.eq_ignore_ascii_case(wanted))
    };
    match wanted.first() {
        Some(&first) if first.is_ascii() && !first.is_ascii_alphabetic() => {
            haystack.match_indices(char::from(first)).map(|(at, _)| at).find(|&at| matches_at(at))
        }
        _ => (0..bytes.len()).find(|&at| matches_at(at)),
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                return None;
            }
            if let Some(end_tag) = self.raw_until.take() {
                if find_ignore_ascii_case(rest, end_tag) != Some(0) {
                    return Some(self.raw_text(end_tag));
                }
            }
            if !starts_markup(rest) {
                return Some(self.text());
            }
            if rest.starts_with("<!--") {
                self.skip_past("-->");
            } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
                let len = cdata.find("]]>").unwrap_or(cdata.len());
                self.pos += "<![CDATA[".len();
                self.skip_past("]]>");
                return Some(Token::Text(Cow::Borrowed(&cdata[..len])));
            } else if rest.starts_with("<!") || rest.starts_with("<?") {
                self.skip_past(">");
            } else if rest.starts_with("</") {
                return Some(self.end_tag());
            } else {
                return Some(self.start_tag());
            }
        }
    }
}

/// The local part of a possibly prefixed name (`svg:image` → `image`).
pub fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Token<'_>> {
        Tokenizer::new(src).collect()
    }

    #[test]
    fn tags_attributes_and_entities() {
        let t = tokens("<P class=x ALIGN='center' data-a=\"1&amp;2\">a &lt; b&nbsp;c</p><br/>");
        let Token::Start(tag) = &t[0] else { panic!("{t:?}") };
        assert_eq!(tag.name, "p");
        assert_eq!(tag.attr("align"), Some("center"));
        assert_eq!(tag.attr("data-a"), Some("1&2"));
        assert_eq!(t[1], Token::Text(Cow::Owned("a < b\u{a0}c".into())));
        assert_eq!(t[2], Token::End("p".into()));
        assert!(matches!(&t[3], Token::Start(Tag { self_closing: true, .. })));
    }

    #[test]
    fn skips_comments_doctype_and_pi_keeps_cdata_and_stray_angles() {
        let t =
            tokens("<?xml version='1.0'?><!DOCTYPE html><!-- <p>no</p> --><![CDATA[x<y]]>1 < 2 <3");
        assert_eq!(
            t,
            vec![Token::Text(Cow::Borrowed("x<y")), Token::Text(Cow::Borrowed("1 < 2 <3"))]
        );
    }

    #[test]
    fn script_and_style_are_raw_text() {
        let t = tokens("<style>p>a{}</style><script>if (a<b) {}</SCRIPT>ok");
        assert_eq!(t[1], Token::Text(Cow::Borrowed("p>a{}")));
        assert_eq!(t[2], Token::End("style".into()));
        assert_eq!(t[4], Token::Text(Cow::Borrowed("if (a<b) {}")));
        assert_eq!(t[6], Token::Text(Cow::Borrowed("ok")));
    }

    #[test]
    fn white_space_outside_ascii_separates_names_and_values() {
        let t = tokens("<P\u{3000}CLASS=\u{a0}x\u{2003}id='y'\u{85}>a</p\u{2028}><中\u{e3}>");
        let Token::Start(tag) = &t[0] else { panic!("{t:?}") };
        assert_eq!(tag.name, "p");
        assert_eq!(tag.attrs, [("class".into(), "x".into()), ("id".into(), "y".into())]);
        assert_eq!(t[2], Token::End("p".into()));
        assert_eq!(t[3], Token::Text(Cow::Borrowed("<中\u{e3}>")));
        let Token::Start(tag) = &tokens("<b\u{3001}\u{a9}>")[0] else { panic!() };
        assert_eq!((tag.name.as_str(), tag.attrs.len()), ("b\u{3001}\u{a9}", 0));
    }

    #[test]
    fn truncated_markup_does_not_panic() {
        for src in
            ["<p class=\"x", "<p a=", "</", "<!--", "<![CDATA[abc", "<a b='1' /", "<中>", "&#xZZ;<"]
        {
            let _ = tokens(src);
        }
    }
}
