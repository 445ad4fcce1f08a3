//! Escaping text for XML, and the frame every XHTML document we write shares.

/// Whether XML 1.0 allows `c` in a document at all (control characters other than
/// tab, newline and carriage return make the whole file ill-formed).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Append `text` to `out`, escaped for element content and attribute values alike,
/// dropping characters XML cannot carry.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(&mut out, text);
    out
}

pub const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// A complete XHTML 5 document around `body` (which must already be well-formed
/// markup), linking the given style sheets.
pub fn document(lang: &str, title: &str, stylesheets: &[&str], body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 400);
    out.push_str(XML_DECLARATION);
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" xml:lang=\"");
    escape_into(&mut out, lang);
    out.push_str("\" lang=\"");
    escape_into(&mut out, lang);
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>");
    escape_into(&mut out, title);
    out.push_str("</title>\n");
    for href in stylesheets {
        out.push_str("<link rel=\"stylesheet\" type=\"text/css\" href=\"");
        escape_into(&mut out, href);
        out.push_str("\"/>\n");
    }
    out.push_str("</head>\n<body>\n");
    out.push_str(body);
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(escape("中文\u{0}\u{1b}\u{FFFE}ok\t"), "中文ok\t");
        assert_eq!(escape("😀"), "😀");
    }

    #[test]
    fn document_is_well_formed_and_declares_utf8() {
        let doc = document("zh", "《三体》 & co", &["style.css"], "<p>你好</p>\n");
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
        let parsed = roxmltree::Document::parse_with_options(
            &doc,
            roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
        )
        .unwrap();
        let title = parsed.descendants().find(|n| n.has_tag_name("title")).unwrap();
        assert_eq!(title.text(), Some("《三体》 & co"));
    }
}
