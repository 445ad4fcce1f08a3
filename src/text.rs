//! Text helpers more than one feature needs: the folded form that a
//! follower's words and the things they look for are compared in.

/// The form both sides of a comparison are put in: full-width ASCII and the
/// ideographic space folded to their half-width forms, Latin lower-cased, runs
/// of spaces made one, the ends trimmed.
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
}
