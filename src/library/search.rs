//! Matching a follower's words against titles and authors.

/// The form both sides of a search are compared in: full-width ASCII and the
/// ideographic space folded to their half-width forms, Latin lower-cased, runs
/// of spaces made one.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_whitespace() {
            if !folded.is_empty() && !folded.ends_with(' ') {
                folded.push(' ');
            }
        } else {
            folded.extend(c.to_lowercase());
        }
    }
    folded.truncate(folded.trim_end().len());
    folded
}

/// True when every word of the (folded) query is in the (folded) text.
/// CJK needs no word breaks: `三体` finds `三体II：黑暗森林`.
pub fn matches(folded_text: &str, folded_query: &str) -> bool {
    let mut words = folded_query.split(' ').filter(|w| !w.is_empty()).peekable();
    words.peek().is_some() && words.all(|word| folded_text.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_case_and_spaces() {
        assert_eq!(fold("Ｈａｒｒｙ　Ｐｏｔｔｅｒ"), "harry potter");
        assert_eq!(fold("  三体\u{3000}\u{3000}刘慈欣 "), "三体 刘慈欣");
        assert_eq!(fold("ＡＢＣ１２３！"), "abc123!");
        assert_eq!(fold("Straße"), "straße");
    }

    #[test]
    fn every_word_must_match_somewhere() {
        let text = fold("三体II：黑暗森林 刘慈欣");
        assert!(matches(&text, &fold("三体")));
        assert!(matches(&text, &fold("黑暗 刘慈欣")));
        assert!(matches(&text, &fold("ii")));
        assert!(!matches(&text, &fold("三体 金庸")));
        assert!(!matches(&text, ""));
        assert!(matches(&fold("Pride and Prejudice Jane Austen"), &fold("ＰＲＩＤＥ austen")));
    }
}
