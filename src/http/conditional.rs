//! Conditional GET (RFC 9110 §13): validators on a response, and a 304 when
//! the client already holds that version.

use std::time::{Duration, UNIX_EPOCH};

use super::request::{header_values, Request};
use super::response::Response;

/// `response` with its `ETag` (a quoted tag, `"..."`) and `Last-Modified`
/// (Unix seconds) headers; or, when the request's `If-None-Match` names the
/// tag (or, without `If-None-Match`, its `If-Modified-Since` is no older than
/// `last_modified`), a 304 with the same headers and no body.
pub fn cacheable(req: &Request, response: Response, etag: &str, last_modified: u64) -> Response {
    let response =
        response.with_header("ETag", etag).with_header("Last-Modified", &http_date(last_modified));
    if !not_modified(req, etag, last_modified) {
        return response;
    }
    let mut headers = response.headers;
    headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    Response { status: 304, headers, body: Vec::new(), file: None }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(unix_secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_secs))
}

/// Whether the client already holds the version with these validators.
pub fn not_modified(req: &Request, etag: &str, last_modified: u64) -> bool {
    if !(req.method == "GET" || req.method == "HEAD") {
        return false;
    }
    let mut tags = header_values(&req.headers, "If-None-Match")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .peekable();
    if tags.peek().is_some() {
        // Weak comparison, as RFC 9110 asks for If-None-Match.
        let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_string();
        return tags.any(|tag| tag == "*" || opaque(tag) == opaque(etag));
    }
    req.header("If-Modified-Since")
        .and_then(|since| httpdate::parse_http_date(since).ok())
        .and_then(|since| since.duration_since(UNIX_EPOCH).ok())
        .is_some_and(|since| last_modified <= since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"abc123\"";
    const MODIFIED: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT

    fn get(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            query: Vec::new(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: Vec::new(),
            peer: None,
        }
    }

    fn status(headers: &[(&str, &str)]) -> u16 {
        cacheable(&get(headers), Response::html(200, "page"), TAG, MODIFIED).status
    }

    #[test]
    fn validators_are_set() {
        let response = cacheable(&get(&[]), Response::html(200, "page"), TAG, MODIFIED);
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"page");
        let header =
            |n: &str| response.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(header("ETag"), Some(TAG));
        assert_eq!(header("Last-Modified"), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
    }

    #[test]
    fn matching_etag_is_304_without_body_or_type() {
        let response =
            cacheable(&get(&[("If-None-Match", TAG)]), Response::html(200, "page"), TAG, MODIFIED);
        assert_eq!(response.status, 304);
        assert!(response.body.is_empty());
        assert!(response.headers.iter().all(|(k, _)| k != "Content-Type"));
        assert!(response.headers.iter().any(|(k, v)| k == "ETag" && v == TAG));
        assert_eq!(status(&[("if-none-match", "\"other\", W/\"abc123\"")]), 304);
        assert_eq!(status(&[("If-None-Match", "*")]), 304);
        assert_eq!(status(&[("If-None-Match", "\"other\"")]), 200);
    }

    #[test]
    fn if_modified_since_counts_only_without_if_none_match() {
        assert_eq!(status(&[("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]), 304);
        assert_eq!(status(&[("If-Modified-Since", "Mon, 07 Nov 1994 08:49:37 GMT")]), 304);
        assert_eq!(status(&[("If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT")]), 200);
        assert_eq!(status(&[("If-Modified-Since", "yesterday")]), 200);
        let both = [
            ("If-None-Match", "\"other\""),
            ("If-Modified-Since", "Mon, 07 Nov 1994 08:49:37 GMT"),
        ];
        assert_eq!(status(&both), 200);
    }

    #[test]
    fn only_get_and_head_get_304() {
        let mut post = get(&[("If-None-Match", TAG)]);
        post.method = "POST".into();
        assert_eq!(cacheable(&post, Response::html(200, "x"), TAG, MODIFIED).status, 200);
    }
}
