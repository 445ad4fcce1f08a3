//! Turns a `Response` into the bytes sent on the wire.

use std::fmt::Write as _;

use super::response::Response;

/// The interim answer to `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Headers that describe the connection and the framing: the server sets them.
const SERVER_OWNED: [&str; 3] = ["content-length", "transfer-encoding", "connection"];

/// Encodes `response`. `head_only` (a HEAD request) keeps Content-Length but
/// leaves out the body; a file body is not included either: the connection
/// streams it after these bytes; `close` announces that the connection ends after it.
/// Fails, saying why, when the response can't be sent as given: a header
/// that would break the framing or let a value inject headers, or a status
/// out of range.
pub(crate) fn encode(response: &Response, head_only: bool, close: bool) -> Result<Vec<u8>, String> {
    let status = response.status;
    if !(200..=599).contains(&status) {
        return Err(format!("status {status} is outside 200-599"));
    }
    // RFC 9110: 204 and 304 have no content, and 204 must not carry a length.
    let bodiless = status == 204 || status == 304;
    if bodiless && response.body_len() > 0 {
        return Err(format!("a {status} response cannot have a body"));
    }

    if response.file.is_some() && !response.body.is_empty() {
        return Err("a response cannot have both a file and bytes as its body".into());
    }

    // Room for the body too: it is appended to these bytes, and growing the
    // buffer then would copy the head and reallocate once per response.
    let body_room = if head_only { 0 } else { response.body.len() };
    let mut head = String::with_capacity(128 + body_room);
    // Writing to a String cannot fail.
    let _ = write!(head, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    let mut has_content_type = false;
    for (name, value) in &response.headers {
        if !is_token(name) {
            return Err(format!("header name {name:?} is not a valid token"));
        }
        if !is_field_value(value) {
            return Err(format!("header {name} has a control character in its value"));
        }
        if SERVER_OWNED.iter().any(|owned| name.eq_ignore_ascii_case(owned)) {
            continue;
        }
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if !bodiless {
        if !has_content_type {
            let _ = write!(head, "Content-Type: {DEFAULT_CONTENT_TYPE}\r\n");
        }
        let _ = write!(head, "Content-Length: {}\r\n", response.body_len());
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");

    let mut bytes = head.into_bytes();
    if !head_only {
        // One buffer, one write: a separate small write for the head would
        // meet Nagle's algorithm and the client's delayed ACK.
        bytes.extend_from_slice(&response.body);
    }
    Ok(bytes)
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Visible characters, spaces and tabs, and anything non-ASCII (UTF-8).
fn is_field_value(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        // The reason phrase is optional; an empty one is valid HTTP/1.1.
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_text_response_carries_type_length_and_body() {
        let bytes = encode(&Response::text(200, "hi"), false, false).unwrap();
        assert_eq!(
            text(bytes),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 2\r\n\r\nhi"
        );
    }

    #[test]
    fn head_only_keeps_the_length_and_drops_the_body() {
        let bytes = encode(&Response::text(200, "hello"), true, false).unwrap();
        let text = text(bytes);
        assert!(text.contains("Content-Length: 5\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn closing_is_announced() {
        let bytes = encode(&Response::text(400, "bad"), false, true).unwrap();
        assert!(text(bytes).contains("\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn missing_content_type_gets_a_default() {
        let bytes = encode(&Response::new(200), false, false).unwrap();
        assert!(text(bytes).contains("Content-Type: application/octet-stream\r\n"));
    }

    #[test]
    fn no_content_has_neither_type_nor_length() {
        let text = text(encode(&Response::new(204), false, false).unwrap());
        assert_eq!(text, "HTTP/1.1 204 No Content\r\n\r\n");
        let mut with_body = Response::new(204);
        with_body.body = b"x".to_vec();
        assert!(encode(&with_body, false, false).is_err());
    }

    #[test]
    fn handler_framing_headers_are_replaced_by_the_servers() {
        let response = Response::text(200, "abc")
            .with_header("Content-Length", "999")
            .with_header("Transfer-Encoding", "chunked")
            .with_header("Connection", "keep-alive");
        let text = text(encode(&response, false, true).unwrap());
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(!text.contains("999") && !text.contains("chunked") && !text.contains("keep-alive"));
        assert!(text.contains("Connection: close\r\n"));
    }

    #[test]
    fn dynamic_header_values_are_written_as_given() {
        let response = Response::text(200, "").with_header("X-Msg", &format!("id {}", 42));
        assert!(text(encode(&response, false, false).unwrap()).contains("X-Msg: id 42\r\n"));
    }

    #[test]
    fn header_injection_is_refused() {
        for (name, value) in [
            ("X-A", "a\r\nSet-Cookie: evil=1"),
            ("X-A", "a\nb"),
            ("X-A", "nul\0"),
            ("X A", "v"),
            ("", "v"),
            ("X-A:", "v"),
        ] {
            let response = Response::text(200, "").with_header(name, value);
            assert!(encode(&response, false, false).is_err(), "{name:?}: {value:?}");
        }
        let utf8 = Response::text(200, "").with_header("X-Name", "你好\tok");
        assert!(encode(&utf8, false, false).is_ok());
    }

    #[test]
    fn statuses_outside_the_final_range_are_refused() {
        for status in [0, 101, 600, 999] {
            assert!(encode(&Response::new(status), false, false).is_err(), "{status}");
        }
        let odd = text(encode(&Response::new(299), false, false).unwrap());
        assert!(odd.starts_with("HTTP/1.1 299 \r\n"));
    }
}
