//! Cutting decoded text into lines: `\r\n`, `\r` and `\n` all end a line, and a
//! "line" that runs on for too long (files without line breaks exist) is cut at
//! the last sentence end that fits.

/// Longest line, in bytes, passed on whole.
pub const MAX_LINE: usize = 16 * 1024;

const SENTENCE_ENDS: &[char] = &['。', '！', '？', '…', '”', '」', '.', '!', '?'];

/// Hand each complete line at the front of `text` to `emit` and return how many
/// bytes were used. Unless `at_eof`, an unterminated tail stays for the next call
/// (as does a final `\r`, whose `\n` may be in the next chunk).
pub fn take_lines<E>(
    text: &str,
    at_eof: bool,
    mut emit: impl FnMut(&str) -> Result<(), E>,
) -> Result<usize, E> {
    let bytes = text.as_bytes();
    let mut start = 0;
    loop {
        let rest = &text[start..];
        // A byte search: both are ASCII, and searching for chars decodes every one.
        let Some(end) = rest.bytes().position(|b| b == b'\n' || b == b'\r') else {
            if rest.len() > MAX_LINE {
                let cut = long_line_cut(rest);
                emit(&rest[..cut])?;
                start += cut;
                continue;
            }
            if at_eof && !rest.is_empty() {
                emit(rest)?;
                start = text.len();
            }
            return Ok(start);
        };
        if end > MAX_LINE {
            let cut = long_line_cut(rest);
            emit(&rest[..cut])?;
            start += cut;
            continue;
        }
        let newline = start + end;
        let after = match bytes[newline] {
            b'\r' if newline + 1 == bytes.len() && !at_eof => return Ok(start),
            b'\r' if bytes.get(newline + 1) == Some(&b'\n') => newline + 2,
            _ => newline + 1,
        };
        emit(&rest[..end])?;
        start = after;
    }
}

/// Where to cut a line longer than MAX_LINE: just after the last sentence end in
/// the first MAX_LINE bytes, else at the character boundary nearest MAX_LINE.
fn long_line_cut(line: &str) -> usize {
    let mut limit = MAX_LINE;
    while !line.is_char_boundary(limit) {
        limit -= 1;
    }
    match line[..limit].rfind(SENTENCE_ENDS) {
        Some(at) if at > limit / 2 => at + line[at..].chars().next().map_or(1, char::len_utf8),
        _ => limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = String::new();
        for (i, chunk) in chunks.iter().enumerate() {
            pending.push_str(chunk);
            let used = take_lines::<()>(&pending, i + 1 == chunks.len(), |l| {
                out.push(l.to_string());
                Ok(())
            })
            .unwrap();
            pending.drain(..used);
        }
        assert!(pending.is_empty());
        out
    }

    #[test]
    fn all_line_endings_end_lines_even_split_across_chunks() {
        assert_eq!(lines_of(&["a\r\nb\rc\nd"]), ["a", "b", "c", "d"]);
        assert_eq!(lines_of(&["a\r", "\nb\r", "c", "\n\n"]), ["a", "b", "c", ""]);
        assert_eq!(lines_of(&["第一", "章\r\n正文"]), ["第一章", "正文"]);
    }

    #[test]
    fn endless_line_is_cut_after_a_sentence() {
        let sentence = "他走了很远的路。";
        let text = sentence.repeat(3000);
        let lines = lines_of(&[&text]);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE && l.ends_with('。')));
        assert_eq!(lines.concat(), text);
    }

    #[test]
    fn endless_line_without_punctuation_is_cut_on_a_char_boundary() {
        let text = "字".repeat(20_000);
        let lines = lines_of(&[&text]);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
        assert_eq!(lines.concat(), text);
    }
}
