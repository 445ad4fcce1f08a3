//! XML text: which characters XML 1.0 allows, and escaping. One set of rules
//! for WeChat's messages, e-books and the web pages.

use std::borrow::Cow;

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

/// `text` without XML-illegal characters; borrowed when there are none (almost always).
pub fn strip_illegal_chars(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| is_xml_char(c)).collect())
    }
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
    fn illegal_chars_are_dropped_and_legal_ones_kept() {
        assert_eq!(strip_illegal_chars("a\u{2}b\u{10}c\u{0}\u{1F}"), "abc");
        assert_eq!(strip_illegal_chars("\t\n\r ok \u{FFFE}\u{FFFF}é中"), "\t\n\r ok é中");
    }
}
