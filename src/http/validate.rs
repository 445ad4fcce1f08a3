//! Decides whether a parsed head may reach a handler, and how its body is framed.

use super::head::RequestHead;
use super::rejection::Rejection;
use super::request::header_values;
use super::target::{parse_target, Target};

/// The methods a handler can be routed for; anything else gets 501.
pub(crate) const KNOWN_METHODS: [&str; 7] =
    ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

/// A head that may go on to a handler.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub target: Target,
    pub body_len: usize,
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before it sends the body.
    pub expect_continue: bool,
}

pub(crate) fn validate(head: &RequestHead, max_body_bytes: usize) -> Result<Accepted, Rejection> {
    // Checked before Content-Length: a request carrying both is the classic
    // smuggling shape, and WeChat never sends a chunked body.
    if header_values(&head.headers, "transfer-encoding").next().is_some() {
        return Err(Rejection::new(501, "Transfer-Encoding is not supported; send Content-Length"));
    }
    let declared = content_length(&head.headers)?;
    if !KNOWN_METHODS.contains(&head.method.as_str()) {
        return Err(Rejection::new(501, "this request method is not implemented"));
    }
    let body_len = match declared {
        Some(len) => len,
        None if matches!(head.method.as_str(), "POST" | "PUT") => {
            return Err(Rejection::new(411, "a Content-Length header is required"));
        }
        None => 0,
    };
    let body_len = usize::try_from(body_len)
        .ok()
        .filter(|len| *len <= max_body_bytes)
        .ok_or(Rejection::new(413, "the request body is larger than this server accepts"))?;
    let target = parse_target(&head.target).map_err(|error| Rejection::new(400, error.reason()))?;
    let http11 = head.minor_version == 1;
    Ok(Accepted {
        target,
        body_len,
        keep_alive: http11 && !has_connection_close(&head.headers),
        expect_continue: http11
            && header_values(&head.headers, "expect")
                .any(|value| value.eq_ignore_ascii_case("100-continue")),
    })
}

/// The declared body length: digits only, and repeated headers must agree.
/// A number too big for u64 is kept as u64::MAX so that it fails the size
/// check (413) rather than the syntax check.
fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, Rejection> {
    let mut declared = None;
    for value in header_values(headers, "content-length") {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::new(400, "Content-Length must be a decimal number"));
        }
        let len = value.parse::<u64>().unwrap_or(u64::MAX);
        if declared.is_some_and(|earlier| earlier != len) {
            return Err(Rejection::new(400, "conflicting Content-Length headers"));
        }
        declared = Some(len);
    }
    Ok(declared)
}

fn has_connection_close(headers: &[(String, String)]) -> bool {
    header_values(headers, "connection")
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, minor_version: u8, headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: method.into(),
            target: "/wx?x=1".into(),
            minor_version,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn status_of(head: &RequestHead) -> u16 {
        validate(head, 100).expect_err("should be rejected").status
    }

    #[test]
    fn a_plain_post_is_accepted_with_its_body_length() {
        let accepted = validate(&head("POST", 1, &[("Content-Length", "42")]), 100).unwrap();
        assert_eq!(accepted.body_len, 42);
        assert!(accepted.keep_alive);
        assert!(!accepted.expect_continue);
        assert_eq!(accepted.target.path, "/wx");
    }

    #[test]
    fn content_length_must_be_digits_only() {
        for value in ["abc", "", "-1", "+5", "1 2", "0x10", "5,5", "1.0"] {
            let head = head("POST", 1, &[("Content-Length", value)]);
            assert_eq!(status_of(&head), 400, "{value:?}");
        }
    }

    #[test]
    fn duplicate_content_lengths_must_agree() {
        let same = head("POST", 1, &[("Content-Length", "5"), ("content-length", "5")]);
        assert_eq!(validate(&same, 100).unwrap().body_len, 5);
        let differ = head("POST", 1, &[("Content-Length", "5"), ("content-length", "6")]);
        assert_eq!(status_of(&differ), 400);
    }

    #[test]
    fn body_over_the_cap_is_413_even_when_it_overflows_u64() {
        assert_eq!(status_of(&head("POST", 1, &[("Content-Length", "101")])), 413);
        let huge = head("POST", 1, &[("Content-Length", "99999999999999999999999")]);
        assert_eq!(status_of(&huge), 413);
        assert!(validate(&head("POST", 1, &[("Content-Length", "100")]), 100).is_ok());
    }

    #[test]
    fn post_and_put_need_a_length_but_get_and_delete_do_not() {
        assert_eq!(status_of(&head("POST", 1, &[])), 411);
        assert_eq!(status_of(&head("PUT", 1, &[])), 411);
        assert_eq!(validate(&head("GET", 1, &[]), 100).unwrap().body_len, 0);
        assert_eq!(validate(&head("DELETE", 1, &[]), 100).unwrap().body_len, 0);
    }

    #[test]
    fn transfer_encoding_is_501_even_with_a_length() {
        let chunked = head("POST", 1, &[("Transfer-Encoding", "chunked"), ("Content-Length", "3")]);
        assert_eq!(status_of(&chunked), 501);
    }

    #[test]
    fn unknown_method_is_501() {
        assert_eq!(status_of(&head("BREW", 1, &[])), 501);
    }

    #[test]
    fn bad_target_is_400() {
        let mut bad = head("GET", 1, &[]);
        bad.target = "/a%zz".into();
        assert_eq!(status_of(&bad), 400);
    }

    #[test]
    fn keep_alive_follows_version_and_connection_header() {
        let keep = |h: &RequestHead| validate(h, 100).unwrap().keep_alive;
        assert!(keep(&head("GET", 1, &[])));
        assert!(!keep(&head("GET", 1, &[("Connection", "keep-alive, Close")])));
        assert!(!keep(&head("GET", 0, &[])));
        assert!(!keep(&head("GET", 0, &[("Connection", "keep-alive")])));
    }

    #[test]
    fn expect_continue_is_recognised_on_http11_only() {
        let expect = [("Expect", "100-Continue"), ("Content-Length", "3")];
        assert!(validate(&head("POST", 1, &expect), 100).unwrap().expect_continue);
        assert!(!validate(&head("POST", 0, &expect), 100).unwrap().expect_continue);
    }
}
