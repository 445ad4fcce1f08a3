//! Text helpers more than one module needs: the folded form that a
//! follower's words and the things they look for are compared in, cuts
//! that never split a character, and sizes for people.

use std::borrow::Cow;

/// `bytes` as text, invalid UTF-8 replaced by U+FFFD, like
/// `String::from_utf8_lossy`, but checked first by `str::from_utf8`, which
/// skips ASCII a word at a time where the lossy scan goes byte by byte: the
/// headers and body of every request pass through here.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

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

/// The longest start of `text` that is at most `max_bytes` long and ends on a
/// character boundary.
pub fn prefix(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` if it is at most `max_bytes` long; otherwise its start, cut on a
/// character boundary and ending with `…`, within `max_bytes` in all.
pub fn shorten(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    const ELLIPSIS: &str = "…";
    match max_bytes.checked_sub(ELLIPSIS.len()) {
        Some(room) => format!("{}{ELLIPSIS}", prefix(text, room)),
        None => prefix(text, max_bytes).to_string(),
    }
}

/// A file size for people: `1.5 MB`, `12 KB`.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_never_split_a_character() {
        assert_eq!(prefix("三体abc", 4), "三");
        assert_eq!(prefix("三体abc", 6), "三体");
        assert_eq!(prefix("三体abc", 100), "三体abc");
        assert_eq!(prefix("三", 2), "");
        assert_eq!(shorten("三体abc", 9), "三体abc");
        assert_eq!(shorten("三体abc", 8), "三…");
        assert_eq!(shorten("三体abcdef", 10), "三体a…");
        assert!(shorten("三体abc", 8).len() <= 8);
        assert_eq!(shorten("abcdef", 2), "ab");
        for max in 0..12 {
            assert!(shorten("春眠不觉晓", max).len() <= max, "{max}");
        }
    }

    #[test]
    fn folds_width_case_and_spaces() {
        assert_eq!(fold("Ｈａｒｒｙ　Ｐｏｔｔｅｒ"), "harry potter");
        assert_eq!(fold("  三体\u{3000}\u{3000}刘慈欣 "), "三体 刘慈欣");
        assert_eq!(fold("ＡＢＣ１２３！"), "abc123!");
        assert_eq!(fold("Straße"), "straße");
    }
}
