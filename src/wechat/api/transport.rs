//! One HTTP exchange with the WeChat API over minreq. URLs carry secrets
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
    let method = match call.verb {
        Verb::Get => minreq::Method::Get,
        Verb::Post => minreq::Method::Post,
    };
    let mut request = minreq::Request::new(method, url)
        .with_timeout(whole_seconds(timeout))
        // A redirect would carry the access token to another place.
        .with_follow_redirects(false)
        .with_max_headers_size(64 * 1024)
        .with_max_status_line_length(1024)
        .with_header("User-Agent", concat!("zatan/", env!("CARGO_PKG_VERSION")))
        .with_header("Connection", "close");
    if let Some(body) = call.body {
        request = request.with_header("Content-Type", body.content_type).with_body(body.bytes);
    }
    let started = Instant::now();
    let response = request.send().map_err(|e| ApiError::Transport {
        maybe_delivered: maybe_delivered(&e),
        detail: format!("{} {}: {e}", call.verb, call.path),
    })?;
    let status = u16::try_from(response.status_code).unwrap_or(0);
    log::debug!(
        "{} {}: HTTP {status} in {} ms",
        call.verb,
        call.path,
        started.elapsed().as_millis()
    );
    interpret(status, response.as_bytes(), call.secrets)
}

/// minreq counts its timeout (connect, send and answer together) in whole
/// seconds; round up so that no call gets less time than asked for.
fn whole_seconds(timeout: Duration) -> u64 {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    secs.max(1)
}

/// False only when the request certainly never left: the connection was
/// refused or could not be made. minreq reports a connect timeout like an
/// answer timeout, and a failed name lookup as a plain I/O error, so those
/// count as possibly delivered: a lost retry is better than a duplicate.
fn maybe_delivered(error: &minreq::Error) -> bool {
    use minreq::Error::*;
    match error {
        IoError(e) => {
            !matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable)
        }
        AddressNotFound
        | RustlsCreateConnection(_)
        | HttpsFeatureNotEnabled
        | PunycodeConversionFailed
        | PunycodeFeatureNotEnabled => false,
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
    fn timeouts_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(300)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(5)), 5);
        assert_eq!(whole_seconds(Duration::from_millis(5001)), 6);
    }

    #[test]
    fn only_a_connection_never_made_is_surely_undelivered() {
        let io_error = |kind| minreq::Error::IoError(io::Error::new(kind, "x"));
        assert!(!maybe_delivered(&io_error(ErrorKind::ConnectionRefused)));
        assert!(!maybe_delivered(&minreq::Error::AddressNotFound));
        assert!(maybe_delivered(&io_error(ErrorKind::TimedOut)));
        assert!(maybe_delivered(&io_error(ErrorKind::ConnectionReset)));
        assert!(maybe_delivered(&io_error(ErrorKind::UnexpectedEof)));
        assert!(maybe_delivered(&minreq::Error::MalformedContentLength));
    }
}
