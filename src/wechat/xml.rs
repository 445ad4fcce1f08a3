//! Writing WeChat's reply elements.

use crate::xml::{escape_into, strip_illegal_chars};

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
    fn text_element_is_escaped() {
        let mut xml = String::new();
        push_text_element(&mut xml, "T", "1<2 & 3>2\u{2}");
        assert_eq!(xml, "<T>1&lt;2 &amp; 3&gt;2</T>");
        assert_eq!(element_text(&xml), "1<2 & 3>2");
    }
}
