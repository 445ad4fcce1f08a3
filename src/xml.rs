//! XML text: which characters XML 1.0 allows, and escaping. One set of rules
//! for WeChat's messages, e-books and the web pages.

use std::borrow::Cow;

/// Whether XML 1.0 allows `c` in a document at all (control characters other than
/// tab, newline and carriage return make the whole file ill-formed).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Append `text` to `out`, escaped for element content and attribute values alike,
/// dropping characters XML cannot carry. What needs nothing is copied a run at
/// a time (a book's text, a reply), and only the characters that may change go
/// through `escape_chars_into`.
pub fn escape_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut run = 0;
    let mut i = 0;
    loop {
        i = next_flagged(bytes, i, special_flags);
        if i >= bytes.len() {
            break;
        }
        // What escape_chars_into escapes or drops: the five markup characters,
        // control characters (tab and line ends go through it too, and are kept),
        // and U+FFFE / U+FFFF (EF BF BE, EF BF BF). Everything else is kept as is.
        let special = match bytes[i] {
            b'&' | b'<' | b'>' | b'"' | b'\'' | 0..=0x1F => 1,
            0xEF if is_noncharacter_at(bytes, i) => 3,
            _ => 0,
        };
        if special == 0 {
            i += 1;
            continue;
        }
        out.push_str(&text[run..i]);
        escape_chars_into(out, &text[i..i + special]);
        i += special;
        run = i;
    }
    out.push_str(&text[run..]);
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Word-at-a-time tests on eight bytes of text, which can say yes wrongly but
/// never no wrongly: whether a byte is below 0x20 (a control character), or
/// equal to `byte`.
fn has_below_space(word: u64) -> u64 {
    word.wrapping_sub(ONES * 0x20) & !word & HIGHS
}

fn has_byte(word: u64, byte: u8) -> u64 {
    let v = word ^ (ONES * u64::from(byte));
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Flags the bytes of `word` that may be a control character, one of
/// `&<>"'`, or (at the byte after) the start of U+FFFE or U+FFFF.
fn special_flags(word: u64) -> u64 {
    let markup = has_byte(word, b'&')
        | has_byte(word, b'<')
        | has_byte(word, b'>')
        | has_byte(word, b'"')
        | has_byte(word, b'\'');
    illegal_flags(word) | markup
}

/// Flags the bytes of `word` that may be a control character or (at the
/// byte after) the start of U+FFFE or U+FFFF.
fn illegal_flags(word: u64) -> u64 {
    has_below_space(word) | may_start_noncharacter(word)
}

/// From `i` on, the first byte worth a look: whole words whose `flags` are
/// clear are skipped, and in a flagged word the bytes before its lowest flag
/// but one: every byte that needs a look is flagged, at itself or (a
/// noncharacter) at the byte after. `bytes.len()` when nothing is left.
fn next_flagged(bytes: &[u8], mut i: usize, flags: fn(u64) -> u64) -> usize {
    while let Some(word) = bytes.get(i..i + 8) {
        let flagged = flags(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        if flagged != 0 {
            return i + (flagged.trailing_zeros() / 8).saturating_sub(1) as usize;
        }
        i += 8;
    }
    i.min(bytes.len())
}

/// Whether `word` may hold the start of U+FFFE or U+FFFF (EF BF BE, EF BF BF):
/// an EF followed by BF, or an EF last, whose next byte is in the next word.
/// (EF alone leads every full-width comma, colon and question mark in Chinese
/// text, and would send the scan a byte at a time.)
fn may_start_noncharacter(word: u64) -> u64 {
    let ef = has_byte(word, 0xEF);
    ((ef << 8) & has_byte(word, 0xBF)) | (ef & (0x80 << 56))
}

/// Whether U+FFFE or U+FFFF (EF BF BE, EF BF BF) starts at `bytes[i]`.
fn is_noncharacter_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i..i + 3).is_some_and(|c| c[0] == 0xEF && c[1] == 0xBF && matches!(c[2], 0xBE | 0xBF))
}

/// The byte offset of the first character XML does not allow: a control
/// character other than tab and line ends, or U+FFFE / U+FFFF (EF BF BE, EF BF
/// BF). A str has no surrogates, and everything else is allowed.
fn first_illegal(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        i = next_flagged(bytes, i, illegal_flags);
        let illegal = match *bytes.get(i)? {
            b'\t' | b'\n' | b'\r' => false,
            0..=0x1F => true,
            0xEF => is_noncharacter_at(bytes, i),
            _ => false,
        };
        if illegal {
            return Some(i);
        }
        i += 1;
    }
}

/// The escaping rules, a character at a time.
fn escape_chars_into(out: &mut String, text: &str) {
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
    match first_illegal(text) {
        None => Cow::Borrowed(text),
        Some(at) => {
            let mut kept = String::with_capacity(text.len());
            kept.push_str(&text[..at]);
            kept.extend(text[at..].chars().filter(|&c| is_xml_char(c)));
            Cow::Owned(kept)
        }
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

    /// Texts with each kind of character escaping and stripping look at, and
    /// each special character at each offset within and across words.
    fn samples() -> Vec<String> {
        let mut samples: Vec<String> = [
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
        ]
        .map(String::from)
        .into();
        for special in [
            "&", "<", ">", "\"", "'", "\u{1}", "\t", "\u{fffe}", "\u{ffff}", "，", "\u{efff}",
            "\u{ffc0}",
        ] {
            for at in 0..17 {
                samples.push(format!("{}{special}{}", "x".repeat(at), "中".repeat(5)));
            }
        }
        samples
    }

    #[test]
    fn escaping_by_runs_matches_escaping_by_characters() {
        for text in samples() {
            let mut slow = String::new();
            escape_chars_into(&mut slow, &text);
            let mut fast = String::new();
            escape_into(&mut fast, &text);
            assert_eq!(fast, slow, "{text:?}");
        }
    }

    #[test]
    fn stripping_by_runs_matches_filtering_by_characters() {
        for text in samples() {
            let slow: String = text.chars().filter(|&c| is_xml_char(c)).collect();
            let fast = strip_illegal_chars(&text);
            assert_eq!(fast, slow, "{text:?}");
            assert_eq!(matches!(fast, Cow::Borrowed(_)), slow == text, "{text:?}");
        }
    }
}
