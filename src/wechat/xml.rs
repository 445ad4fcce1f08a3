//! The small XML helpers shared by parsing and rendering.

use std::borrow::Cow;

/// XML 1.0 forbids C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF.
/// Followers paste such characters into messages; WeChat passes them through.
pub(super) fn is_legal_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{FFFE}' | '\u{FFFF}' => false,
        c => c >= ' ',
    }
}

/// `text` without XML-illegal characters; borrowed when there are none (almost always).
pub(super) fn strip_illegal_chars(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_legal_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| is_legal_char(c)).collect())
    }
}

/// Appends `<name><![CDATA[value]]></name>`, dropping illegal characters and
/// splitting any `]]>` across two CDATA sections.
pub(super) fn push_cdata_element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str("><![CDATA[");
    out.push_str(&strip_illegal_chars(value).replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]></");
    out.push_str(name);
    out.push('>');
}

/// Appends `<name>value</name>` with the value escaped as plain text.
pub(super) fn push_text_element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for c in value.chars().filter(|&c| is_legal_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element_text(xml: &str) -> String {
        let doc = roxmltree::Document::parse(xml).expect("well-formed");
        doc.root_element()
            .children()
            .filter_map(|n| n.text())
            .collect()
    }

    #[test]
    fn cdata_split_round_trips_through_roxmltree() {
        for value in ["a]]>b", "]]>", "]]>]]>", "x]]]>y", "plain", ""] {
            let mut xml = String::new();
            push_cdata_element(&mut xml, "C", value);
            assert_eq!(element_text(&xml), value, "{xml}");
        }
    }

    #[test]
    fn illegal_chars_are_dropped_and_legal_ones_kept() {
        assert_eq!(strip_illegal_chars("a\u{2}b\u{10}c\u{0}\u{1F}"), "abc");
        assert_eq!(
            strip_illegal_chars("\t\n\r ok \u{FFFE}\u{FFFF}é中"),
            "\t\n\r ok é中"
        );
    }

    #[test]
    fn text_element_is_escaped() {
        let mut xml = String::new();
        push_text_element(&mut xml, "T", "1<2 & 3>2\u{2}");
        assert_eq!(xml, "<T>1&lt;2 &amp; 3&gt;2</T>");
        assert_eq!(element_text(&xml), "1<2 & 3>2");
    }
}
