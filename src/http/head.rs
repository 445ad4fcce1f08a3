//! Parsing of a request head (request line and headers) out of the read buffer.

use super::rejection::{Rejection, TOO_MANY_HEADERS};

/// A parsed head, copied out of the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestHead {
    pub method: String,
    /// The raw target, still percent-encoded.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadParse {
    /// The head is complete and takes the first `len` bytes of the buffer.
    Complete {
        head: RequestHead,
        len: usize,
    },
    /// More bytes are needed.
    Partial,
    Invalid(Rejection),
}

/// Up to this many header slots live on the stack (the default limit is 64);
/// a larger `max_headers` takes them from the heap.
const STACK_HEADERS: usize = 64;

pub(crate) fn parse_head(buf: &[u8], max_headers: usize) -> HeadParse {
    let mut on_stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let mut on_heap;
    let headers = if max_headers <= STACK_HEADERS {
        &mut on_stack[..max_headers]
    } else {
        on_heap = vec![httparse::EMPTY_HEADER; max_headers];
        &mut on_heap[..]
    };
    let mut parsed = httparse::Request::new(headers);
    match parsed.parse(buf) {
        Ok(httparse::Status::Partial) => HeadParse::Partial,
        Ok(httparse::Status::Complete(len)) => HeadParse::Complete {
            head: RequestHead {
                // httparse only completes with all three of these present.
                method: parsed.method.unwrap_or_default().to_owned(),
                target: parsed.path.unwrap_or_default().to_owned(),
                minor_version: parsed.version.unwrap_or_default(),
                headers: parsed
                    .headers
                    .iter()
                    .map(|h| {
                        let value = crate::text::lossy(h.value).into_owned();
                        (h.name.to_owned(), value)
                    })
                    .collect(),
            },
            len,
        },
        Err(httparse::Error::TooManyHeaders) => HeadParse::Invalid(TOO_MANY_HEADERS),
        Err(error) => HeadParse::Invalid(Rejection::new(400, malformed_reason(error))),
    }
}

fn malformed_reason(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::Version => "malformed request: unsupported HTTP version",
        httparse::Error::HeaderName | httparse::Error::HeaderValue => {
            "malformed request: invalid header"
        }
        _ => "malformed request line or header",
    }
}

/// Whether the blank line that ends a head lies in `buf`, at or after `from`
/// (the bytes before it were already looked at). Lets the reader re-parse only
/// when it could succeed, so a head sent one byte at a time costs linear,
/// not quadratic, work.
pub(crate) fn head_end_seen(buf: &[u8], from: usize) -> bool {
    // The end may straddle `from`: look back far enough to see all of "\r\n\r\n".
    let window = &buf[from.saturating_sub(3).min(buf.len())..];
    window
        .windows(2)
        .enumerate()
        .any(|(i, pair)| pair == b"\n\n" || (pair == b"\r\n" && i > 0 && window[i - 1] == b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(raw: &[u8]) -> (RequestHead, usize) {
        match parse_head(raw, 8) {
            HeadParse::Complete { head, len } => (head, len),
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_head_and_reports_its_length() {
        let raw = b"POST /wx?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
        let (head, len) = complete(raw);
        assert_eq!(len, raw.len() - 3);
        assert_eq!(head.method, "POST");
        assert_eq!(head.target, "/wx?a=1");
        assert_eq!(head.minor_version, 1);
        assert_eq!(
            head.headers,
            vec![
                ("Host".to_string(), "x".to_string()),
                ("Content-Length".to_string(), "3".to_string())
            ]
        );
    }

    #[test]
    fn non_utf8_header_values_are_replaced_not_rejected() {
        let (head, _) = complete(b"GET / HTTP/1.0\r\nX-Name: caf\xe9\r\n\r\n");
        assert_eq!(head.headers[0].1, "caf\u{fffd}");
        assert_eq!(head.minor_version, 0);
    }

    #[test]
    fn incomplete_head_is_partial() {
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost:", 8), HeadParse::Partial);
    }

    #[test]
    fn too_many_headers_is_431() {
        let raw = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert_eq!(parse_head(raw, 2), HeadParse::Invalid(TOO_MANY_HEADERS));
        assert!(matches!(parse_head(raw, 3), HeadParse::Complete { .. }));
    }

    #[test]
    fn garbage_is_400() {
        for raw in [
            &b"\x16\x03\x01\x02\x00\x01"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
            b"GET / HTTP/1.1\r\nName : v\r\n\r\n",
        ] {
            match parse_head(raw, 8) {
                HeadParse::Invalid(rejection) => assert_eq!(rejection.status, 400),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn head_end_is_found_with_either_line_ending() {
        assert!(head_end_seen(b"GET / HTTP/1.1\r\n\r\n", 0));
        assert!(head_end_seen(b"GET / HTTP/1.1\n\n", 0));
        assert!(!head_end_seen(b"GET / HTTP/1.1\r\nHost: x\r\n", 0));
        assert!(!head_end_seen(b"", 0));
    }

    #[test]
    fn head_end_straddling_the_already_seen_part_is_found() {
        let raw = b"GET / HTTP/1.1\r\n\r\n";
        for from in 0..=raw.len() {
            assert!(head_end_seen(raw, from), "from {from}");
        }
        // An end that lies wholly before the window is not reported again.
        assert!(!head_end_seen(b"\r\n\r\nabcdef", 8));
    }
}
