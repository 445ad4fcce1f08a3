//! The one kind of mail zatan sends, formatted for SMTP's DATA: RFC 5322
//! headers and a multipart/mixed body of a short text and one attachment.
//!
//! Everything it writes is 7-bit with CRLF line ends and lines of at most 78
//! characters (only the subject, printable ASCII of the caller's choosing, is
//! not folded), so no relay needs 8BITMIME or re-encodes it.

use std::time::SystemTime;

use base64::Engine;

/// Header lines are kept to this many characters (RFC 5322's "SHOULD").
const LINE: usize = 76;
/// Raw bytes per base64 line: 57 bytes are 76 characters.
const BASE64_LINE_BYTES: usize = 57;

/// What goes into one mail. All strings are already checked: addresses are
/// bare, the subject is printable ASCII, the file name has no control
/// characters, and the content type passed [`check_content_type`].
pub struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    /// `<…@domain>`, angle brackets included.
    pub message_id: &'a str,
    pub date: SystemTime,
    /// Different from every line of the parts (none of them starts with `--`).
    pub boundary: &'a str,
    pub text: &'a str,
    pub content_type: &'a str,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
}

impl Mail<'_> {
    /// The whole message as DATA carries it, before dot-stuffing.
    pub fn format(&self) -> Vec<u8> {
        let base64_len = self.bytes.len().div_ceil(3) * 4;
        let mut out = Vec::with_capacity(base64_len + base64_len / LINE * 2 + 2048);
        let boundary = self.boundary;
        let head = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed;\r\n boundary=\"{boundary}\"\r\n\r\n\
             --{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
             {}\r\n\
             --{boundary}\r\nContent-Type: {}\r\nContent-Disposition: {}\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            self.from,
            self.to,
            self.subject,
            date(self.date),
            self.message_id,
            self.text,
            self.content_type,
            disposition(self.file_name),
        );
        out.extend_from_slice(head.as_bytes());
        base64_lines(self.bytes, &mut out);
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }
}

/// `time` as RFC 5322 writes it: `Thu, 03 Dec 2026 14:00:00 +0000`.
pub fn date(time: SystemTime) -> String {
    // HTTP's IMF-fixdate is RFC 5322's date-time with the obsolete zone "GMT".
    let http = httpdate::fmt_http_date(time);
    match http.strip_suffix(" GMT") {
        Some(head) => format!("{head} +0000"),
        None => http,
    }
}

/// `bytes` in base64, [`BASE64_LINE_BYTES`] to a line, each line ended by CRLF.
pub fn base64_lines(bytes: &[u8], out: &mut Vec<u8>) {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut line = String::with_capacity(LINE);
    for chunk in bytes.chunks(BASE64_LINE_BYTES) {
        line.clear();
        engine.encode_string(chunk, &mut line);
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The Content-Disposition value naming `file_name`: a quoted string when
/// it is printable ASCII and short, otherwise RFC 2231 continuations
/// (`filename*0*=utf-8''%E4%B8%89…`), one per line, as lettre wrote them.
pub fn disposition(file_name: &str) -> String {
    let printable = file_name.bytes().all(|b| (b' '..=b'~').contains(&b));
    let mut out = String::from("attachment;");
    if printable {
        let quoted = quote(file_name);
        if "Content-Disposition: attachment; filename=".len() + quoted.len() <= LINE {
            out += &format!(" filename={quoted}");
            return out;
        }
        // split the raw name, so no piece ends inside an escape
        let mut rest = file_name;
        let mut i = 0;
        while !rest.is_empty() {
            let start = format!("\r\n filename*{i}=");
            let mut piece = String::new();
            let mut taken = 0;
            for b in rest.bytes() {
                let escaped = if matches!(b, b'"' | b'\\') { 2 } else { 1 };
                if start.len() - 2 + piece.len() + escaped + "\";".len() + 1 > LINE {
                    break;
                }
                if escaped == 2 {
                    piece.push('\\');
                }
                piece.push(b as char);
                taken += 1;
            }
            rest = &rest[taken..];
            out += &start;
            out += &format!("\"{piece}\"");
            if !rest.is_empty() {
                out.push(';');
            }
            i += 1;
        }
        return out;
    }
    let mut rest = file_name.chars().peekable();
    let mut i = 0;
    while rest.peek().is_some() {
        let mut line = format!(" filename*{i}*=");
        if i == 0 {
            line += "utf-8''";
        }
        // room for one more character of up to 12 encoded bytes and the ';'
        while line.len() + 12 < LINE {
            let Some(c) = rest.next() else { break };
            percent_encode(c, &mut line);
        }
        out += "\r\n";
        out += &line;
        if rest.peek().is_some() {
            out.push(';');
        }
        i += 1;
    }
    out
}

/// `c` as RFC 2231's extended value: letters, digits and `-_.` as they
/// are, every other character as the `%XX` of each of its UTF-8 bytes.
fn percent_encode(c: char, out: &mut String) {
    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
        out.push(c);
        return;
    }
    let mut utf8 = [0; 4];
    for b in c.encode_utf8(&mut utf8).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// `text` (printable ASCII) as an RFC 5322 quoted string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Whether `text` is a MIME `type/subtype`, optionally with `; name=value`
/// parameters (values as tokens or quoted strings): the shape a
/// Content-Type header may carry, with nothing that could end the header.
pub fn check_content_type(text: &str) -> Result<(), String> {
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    match essence.split_once('/') {
        Some((kind, subtype)) if is_token(kind) && is_token(subtype) => {}
        _ => return Err(format!("{essence:?} is not a type/subtype")),
    }
    for parameter in parts {
        let parameter = parameter.trim();
        let valid = match parameter.split_once('=') {
            Some((name, value)) => is_token(name) && (is_token(value) || is_quoted(value)),
            None => false,
        };
        if !valid {
            return Err(format!("{parameter:?} is not a name=value parameter"));
        }
    }
    Ok(())
}

/// RFC 2045's token: printable ASCII without space and tspecials.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// A quoted string without escapes: `"…"` around printable ASCII.
fn is_quoted(text: &str) -> bool {
    text.len() >= 2
        && text.starts_with('"')
        && text.ends_with('"')
        && text[1..text.len() - 1]
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::{Duration, UNIX_EPOCH};

    fn mail<'a>(file_name: &'a str, bytes: &'a [u8]) -> Mail<'a> {
        Mail {
            from: "books@zatan.example",
            to: "reader@kindle.com",
            subject: "zatan book 7",
            message_id: "<0123@zatan.example>",
            date: UNIX_EPOCH + Duration::from_secs(1_796_306_400),
            boundary: "zatan-b0undary",
            text: "Sent to your Kindle by zatan.\r\n",
            content_type: "application/epub+zip",
            file_name,
            bytes,
        }
    }

    #[test]
    fn date_is_rfc_5322() {
        assert_eq!(
            date(UNIX_EPOCH + Duration::from_secs(1_796_306_400)),
            "Thu, 03 Dec 2026 14:00:00 +0000"
        );
        assert_eq!(date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn base64_lines_are_76_columns_and_decode_back() {
        for len in [0usize, 1, 56, 57, 58, 114, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
            let mut out = Vec::new();
            base64_lines(&bytes, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert!(text.is_empty() || text.ends_with("\r\n"), "{len}");
            let lines: Vec<&str> = text.split_terminator("\r\n").collect();
            assert_eq!(lines.len(), len.div_ceil(57), "{len}");
            let (last, full) = lines.split_last().unwrap_or((&"", &[]));
            assert!(full.iter().all(|l| l.len() == 76), "{len}");
            assert!(last.len() <= 76 && !last.contains('\n'), "{len}");
            let joined: String = lines.concat();
            let decoded = base64::engine::general_purpose::STANDARD.decode(joined).unwrap();
            assert_eq!(decoded, bytes);
        }
    }

    #[test]
    fn ascii_names_are_quoted() {
        assert_eq!(disposition("Dune.epub"), "attachment; filename=\"Dune.epub\"");
        assert_eq!(
            disposition("a \"b\" \\c.epub"),
            "attachment; filename=\"a \\\"b\\\" \\\\c.epub\""
        );
    }

    #[test]
    fn long_ascii_names_continue_quoted() {
        let name = format!("{}\".epub", "long-name ".repeat(12));
        let value = disposition(&name);
        let lines: Vec<&str> = value.split("\r\n").collect();
        assert_eq!(lines[0], "attachment;");
        assert!(lines.len() >= 3, "{value}");
        let mut joined = String::new();
        for (i, line) in lines[1..].iter().enumerate() {
            assert!(line.len() <= LINE, "{line}");
            let start = format!(" filename*{i}=\"");
            let end = if i + 2 == lines.len() { "\"" } else { "\";" };
            let piece = line.strip_prefix(&start).and_then(|l| l.strip_suffix(end)).unwrap();
            joined += &piece.replace("\\\"", "\"");
        }
        assert_eq!(joined, name);
    }

    #[test]
    fn other_names_are_rfc_2231_encoded() {
        assert_eq!(
            disposition("三体.epub"),
            "attachment;\r\n filename*0*=utf-8''%E4%B8%89%E4%BD%93.epub"
        );
        assert_eq!(
            disposition("a b%'*.epub\u{e9}"),
            "attachment;\r\n filename*0*=utf-8''a%20b%25%27%2A.epub%C3%A9"
        );
        let name = format!("{}.epub", "很长的书名".repeat(20));
        let value = disposition(&name);
        let lines: Vec<&str> = value.split("\r\n").collect();
        assert!(lines.len() > 3, "{value}");
        let mut decoded = Vec::new();
        for (i, line) in lines[1..].iter().enumerate() {
            assert!(line.len() <= LINE, "{line}");
            let start = if i == 0 {
                " filename*0*=utf-8''".to_string()
            } else {
                format!(" filename*{i}*=")
            };
            let line = line.strip_prefix(&start).unwrap();
            assert_eq!(line.ends_with(';'), i + 2 < lines.len());
            let piece = percent_decode(line.strip_suffix(';').unwrap_or(line));
            // each line holds whole characters
            assert!(std::str::from_utf8(&piece).is_ok(), "{line}");
            decoded.extend(piece);
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), name);
    }

    fn percent_decode(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut bytes = text.bytes();
        while let Some(b) = bytes.next() {
            if b == b'%' {
                let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
            } else {
                assert!(b.is_ascii_alphanumeric() || b"-_.".contains(&b), "{text}");
                out.push(b);
            }
        }
        out
    }

    #[test]
    fn content_types_are_checked() {
        for good in [
            "application/epub+zip",
            "text/plain; charset=utf-8",
            "text/plain;charset=\"utf-8\"; format=flowed",
        ] {
            assert_eq!(check_content_type(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "epub",
            "text/",
            "/plain",
            "text/plain\r\nBcc: x@y.z",
            "text/pl ain",
            "text/plain; charset",
            "text/plain; a=\"b\r\n\"",
            "text/plain; =x",
            "a/b/c",
        ] {
            assert!(check_content_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_mail_is_7bit_multipart_with_short_lines() {
        let bytes: Vec<u8> = (0..1000).map(|i| (i * 31 % 256) as u8).collect();
        let out = mail("三体.epub", &bytes).format();
        assert!(out.is_ascii());
        let text = String::from_utf8(out).unwrap();
        assert!(!text.replace("\r\n", "").contains(['\r', '\n']), "a bare CR or LF");
        assert!(text.ends_with("\r\n--zatan-b0undary--\r\n"));
        assert!(text.lines().all(|l| l.len() <= 78 && !l.starts_with('.')));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            "From: books@zatan.example\r\nTo: reader@kindle.com\r\nSubject: zatan book 7\r\n\
             Date: Thu, 03 Dec 2026 14:00:00 +0000\r\nMessage-ID: <0123@zatan.example>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"zatan-b0undary\""
        );
        let parts: Vec<&str> = body.split("--zatan-b0undary").collect();
        assert_eq!(parts.len(), 4, "{body}");
        assert_eq!(parts[0], "");
        assert_eq!(
            parts[1],
            "\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nSent to your Kindle by zatan.\r\n\r\n"
        );
        let (part_head, encoded) = parts[2].split_once("\r\n\r\n").unwrap();
        assert_eq!(
            part_head,
            "\r\nContent-Type: application/epub+zip\r\nContent-Disposition: attachment;\r\n filename*0*=utf-8''%E4%B8%89%E4%BD%93.epub\r\nContent-Transfer-Encoding: base64"
        );
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(encoded.replace("\r\n", "")).unwrap();
        assert_eq!(decoded, bytes);
        assert_eq!(parts[3], "--\r\n");
    }
}
