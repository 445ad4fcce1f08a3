//! Writing WeChat's reply elements.

use crate::xml::{escape_into, strip_illegal_chars};

/// Appends `<name><![CDATA[value]]></name>`, dropping illegal characters and
/// splitting any `]]>` across two CDATA sections.
pub(super) fn push_cdata_element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str("><![CDATA[");
    // Stripping first: dropping a character may join `]]` and `>`.
    let value = strip_illegal_chars(value);
    let mut rest: &str = &value;
    while let Some(at) = find_cdata_end(rest) {
        out.push_str(&rest[..at]);
        out.push_str("]]]]><![CDATA[>");
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out.push_str("]]></");
    out.push_str(name);
    out.push('>');
}

/// Where the first `]]>` in `text` starts. Looks for the rare `>` (memchr)
/// and then behind it, which beats a substring search set up for every field.
fn find_cdata_end(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find('>') {
        let end = from + at;
        if text.as_bytes()[..end].ends_with(b"]]") {
            return Some(end - 2);
        }
        from = end + 1;
    }
    None
}

/// Appends `<name>value</name>` with the value escaped as plain text.
pub(super) fn push_text_element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element_text(xml: &str) -> String {
        let doc = roxmltree::Document::parse(xml).expect("well-formed");
        doc.root_element().children().filter_map(|n| n.text()).collect()
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
    fn a_terminator_made_by_dropping_a_character_is_split_too() {
        let mut xml = String::new();
        push_cdata_element(&mut xml, "C", "a]]\u{1}>b");
        assert_eq!(element_text(&xml), "a]]>b", "{xml}");
    }

    #[test]
    fn text_element_is_escaped() {
        let mut xml = String::new();
        push_text_element(&mut xml, "T", "1<2 & 3>2\u{2}");
        assert_eq!(xml, "<T>1&lt;2 &amp; 3&gt;2</T>");
        assert_eq!(element_text(&xml), "1<2 & 3>2");
    }
}
