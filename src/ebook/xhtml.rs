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

/// `escape_into` for long runs of text that rarely need escaping: what needs
/// nothing is copied a run at a time, and only the characters `escape_into`
/// would change go through it (the same output, without a char at a time).
pub fn escape_text_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none of them can be one of those below.
        if let Some(word) = bytes.get(i..i + 8) {
            if !may_be_special(u64::from_le_bytes(word.try_into().unwrap_or_default())) {
                i += 8;
                continue;
            }
        }
        // What escape_into escapes or drops: the five markup characters, control
        // characters (tab and line ends go through it too, and are kept), and
        // U+FFFE / U+FFFF (EF BF BE, EF BF BF). Everything else is kept as is.
        let special = match bytes[i] {
            b'&' | b'<' | b'>' | b'"' | b'\'' | 0..=0x1F => 1,
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                3
            }
            _ => 0,
        };
        if special == 0 {
            i += 1;
            continue;
        }
        out.push_str(&text[run..i]);
        escape_into(out, &text[i..i + special]);
        i += special;
        run = i;
    }
    out.push_str(&text[run..]);
}

/// Whether any byte of `word` may be a control character, one of `&<>"'`, or
/// 0xEF (the lead byte of U+FFFE and U+FFFF): the word-at-a-time zero-byte
/// test, which can say yes wrongly but never no wrongly.
fn may_be_special(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let has = |byte: u8| has_zero(word ^ (ONES * u64::from(byte)));
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    below_space | has(b'&') | has(b'<') | has(b'>') | has(b'"') | has(b'\'') | has(0xEF) != 0
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

    #[test]
    fn text_escaping_matches_escape_into() {
        for text in [
            "",
            "纯文本，没有要转义的。",
            "a&b<c>d\"e'f",
            "\u{1}控制\u{1f}字符\t制表\r\n",
            "\u{fffe}\u{ffff}\u{fffd}\u{ff0c}\u{efbf}，",
            "结尾&",
            "&开头",
            "𝄞 astral & \u{10ffff}",
            "长一点的一段话，没有特别的字符，一直写下去。&在中间<也在>\u{fffe}后面还有\u{1}",
            "abcdefgh&ijklmnop<qrstuvw>xyzABCDE\"FGHIJKL'MNOPQRS\nTUVWXYZ\u{ffff}0123456789",
        ] {
            let mut slow = String::new();
            escape_into(&mut slow, text);
            let mut fast = String::new();
            escape_text_into(&mut fast, text);
            assert_eq!(fast, slow, "{text:?}");
        }
        // Each special character at each offset within and across words.
        for special in
            ["&", "<", ">", "\"", "'", "\u{1}", "\t", "\u{fffe}", "\u{ffff}", "，", "\u{efff}"]
        {
            for at in 0..17 {
                let text = format!("{}{special}{}", "x".repeat(at), "中".repeat(5));
                let mut slow = String::new();
                escape_into(&mut slow, &text);
                let mut fast = String::new();
                escape_text_into(&mut fast, &text);
                assert_eq!(fast, slow, "{text:?}");
            }
        }
    }
}
