//! The frame every XHTML document we write shares.

use crate::xml::escape_into;

pub const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// A complete XHTML 5 document around `body` (which must already be well-formed
/// markup), linking the given style sheets.
pub fn document(lang: &str, title: &str, stylesheets: &[&str], body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 400);
    begin(&mut out, lang, title, stylesheets);
    out.push_str(body);
    end(&mut out);
    out
}

/// What `document` puts before the body, appended to `out`.
pub fn begin(out: &mut String, lang: &str, title: &str, stylesheets: &[&str]) {
    out.push_str(XML_DECLARATION);
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" xml:lang=\"");
    escape_into(out, lang);
    out.push_str("\" lang=\"");
    escape_into(out, lang);
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>");
    escape_into(out, title);
    out.push_str("</title>\n");
    for href in stylesheets {
        out.push_str("<link rel=\"stylesheet\" type=\"text/css\" href=\"");
        escape_into(out, href);
        out.push_str("\"/>\n");
    }
    out.push_str("</head>\n<body>\n");
}

/// What `document` puts after the body.
pub fn end(out: &mut String) {
    out.push_str("</body>\n</html>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

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
