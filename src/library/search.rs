//! Matching a follower's words against titles and authors, both in the
//! folded form of [`crate::text::fold`].

/// True when every word of the (folded) query is in the (folded) text.
/// CJK needs no word breaks: `三体` finds `三体II：黑暗森林`.
pub fn matches(folded_text: &str, folded_query: &str) -> bool {
    let mut words = folded_query.split(' ').filter(|w| !w.is_empty()).peekable();
    words.peek().is_some() && words.all(|word| folded_text.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fold;

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
