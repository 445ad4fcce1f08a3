//! One HTTP exchange with the WeChat API over ureq. URLs carry secrets
//! (`secret=`, `access_token=`) in their query, so nothing here puts a URL
//! into an error or a log line: only the method and the path.

use std::fmt;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::error::ApiError;
use super::response::interpret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    Get,
    Post,
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        })
    }
}

pub(super) struct Body {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

impl Body {
    pub fn json(json: String) -> Body {
        Body { bytes: json.into_bytes(), content_type: "application/json; charset=utf-8".into() }
    }
}

pub(super) struct Call<'a> {
    pub verb: Verb,
    pub path: &'static str,
    pub query: &'a [(&'a str, &'a str)],
    pub body: Option<Body>,
    /// Values masked in any errmsg that ends up in an error.
    pub secrets: &'a [&'a str],
}

/// Sends `call` to `base` + path and returns the JSON of a successful answer.
pub(super) fn exchange(base: &str, timeout: Duration, call: Call) -> Result<Value, ApiError> {
    let url = format!("{}{}{}", base.trim_end_matches('/'), call.path, query_string(call.query));
    let failed = |error: ureq::Error| ApiError::Transport {
        maybe_delivered: maybe_delivered(&error),
        detail: format!("{} {}: {}", call.verb, call.path, describe(&error)),
    };
    let mut request = ureq::http::Request::builder()
        .method(call.verb.to_string().as_str())
        .uri(url)
        .header("Connection", "close");
    let bytes = match call.body {
        Some(body) => {
            request = request.header("Content-Type", body.content_type);
            body.bytes
        }
        None => Vec::new(),
    };
    let request = request.body(bytes).map_err(|e| failed(e.into()))?;
    let started = Instant::now();
    // The agent follows no redirect: one would carry the access token elsewhere.
    let agent = crate::http_client::agent(USER_AGENT, timeout);
    let mut response = agent.run(request).map_err(failed)?;
    let status = response.status().as_u16();
    let body = response.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec();
    let body = body.map_err(failed)?;
    log::debug!(
        "{} {}: HTTP {status} in {} ms",
        call.verb,
        call.path,
        started.elapsed().as_millis()
    );
    interpret(status, &body, call.secrets)
}

const USER_AGENT: &str = concat!("zatan/", env!("CARGO_PKG_VERSION"));

/// The API answers in small JSON documents; a larger answer is not the API.
const MAX_ANSWER_BYTES: u64 = 8 * 1024 * 1024;

/// The error without the URL: two of ureq's errors quote it, and its query
/// holds the secret or the access token.
fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::BadUri(_) => "the API base URL is not a valid URL".into(),
        ureq::Error::RequireHttpsOnly(_) => "the API base URL is not https".into(),
        other => other.to_string(),
    }
}

/// False only when the request certainly never left: the name did not
/// resolve, the connection (TLS included) was refused or could not be made
/// in time, or the request could not even be built. Anything later counts as
/// possibly delivered: a lost retry is better than a duplicate.
fn maybe_delivered(error: &ureq::Error) -> bool {
    use ureq::Error::*;
    use ureq::Timeout;
    match error {
        Io(e) => !matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable),
        Timeout(Timeout::Resolve | Timeout::Connect) => false,
        HostNotFound | ConnectionFailed | BadUri(_) | Http(_) | RequireHttpsOnly(_)
        | TlsRequired => false,
        _ => true,
    }
}

fn query_string(query: &[(&str, &str)]) -> String {
    let pairs: Vec<String> =
        query.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_string(&[]), "");
        assert_eq!(
            query_string(&[("access_token", "a+b/c=d&e"), ("type", "image")]),
            "?access_token=a%2Bb%2Fc%3Dd%26e&type=image"
        );
        assert_eq!(percent_encode("秘"), "%E7%A7%98");
        assert_eq!(percent_encode("A-z_0.~"), "A-z_0.~");
    }

    #[test]
    fn only_a_connection_never_made_is_surely_undelivered() {
        let io_error = |kind| ureq::Error::Io(io::Error::new(kind, "x"));
        assert!(!maybe_delivered(&io_error(ErrorKind::ConnectionRefused)));
        assert!(!maybe_delivered(&ureq::Error::HostNotFound));
        assert!(!maybe_delivered(&ureq::Error::Timeout(ureq::Timeout::Connect)));
        assert!(maybe_delivered(&ureq::Error::Timeout(ureq::Timeout::Global)));
        assert!(maybe_delivered(&ureq::Error::Timeout(ureq::Timeout::RecvResponse)));
        assert!(maybe_delivered(&io_error(ErrorKind::TimedOut)));
        assert!(maybe_delivered(&io_error(ErrorKind::ConnectionReset)));
        assert!(maybe_delivered(&io_error(ErrorKind::UnexpectedEof)));
        assert!(maybe_delivered(&ureq::Error::StatusCode(500)));
    }

    #[test]
    fn errors_never_quote_the_url() {
        let url = "https://api.weixin.qq.com/cgi-bin/token?secret=s3cret";
        assert!(!describe(&ureq::Error::BadUri(url.into())).contains("s3cret"));
        assert!(!describe(&ureq::Error::RequireHttpsOnly(url.into())).contains("s3cret"));
    }
}
