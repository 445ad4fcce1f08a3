//! Decoding of an origin-form request target (`/path?query`).

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub path: String,
    pub query: Vec<(String, String)>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TargetError {
    /// Not `/...`: absolute-form and `*` are not served.
    NotOriginForm,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

impl TargetError {
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            TargetError::NotOriginForm => "the request target must start with '/'",
            TargetError::BadEscape => "the request target has an invalid %-escape",
            TargetError::NotUtf8 => "the request target does not decode to UTF-8",
        }
    }
}

pub(crate) fn parse_target(raw: &str) -> Result<Target, TargetError> {
    if !raw.starts_with('/') {
        return Err(TargetError::NotOriginForm);
    }
    let (raw_path, raw_query) = raw.split_once('?').unwrap_or((raw, ""));
    let path = percent_decode(raw_path, false)?;
    // Sized once: a signed callback has four to six pairs, past the four a
    // collected Vec would start with.
    let pairs = match raw_query {
        "" => 0,
        _ => raw_query.bytes().filter(|&b| b == b'&').count() + 1,
    };
    let mut query = Vec::with_capacity(pairs);
    for pair in raw_query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        query.push((percent_decode(key, true)?, percent_decode(value, true)?));
    }
    Ok(Target { path, query })
}

/// Decodes `%XX` escapes, and `+` as a space when `plus_is_space` (query
/// strings, as HTML forms encode them).
fn percent_decode(raw: &str, plus_is_space: bool) -> Result<String, TargetError> {
    let bytes = raw.as_bytes();
    // Most parts (a signature, a timestamp, a path) have nothing to decode:
    // copied whole, and already known to be UTF-8.
    if !bytes.iter().any(|&b| b == b'%' || (plus_is_space && b == b'+')) {
        return Ok(raw.to_owned());
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let high = bytes.get(i + 1).and_then(|b| hex_value(*b));
                let low = bytes.get(i + 2).and_then(|b| hex_value(*b));
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(TargetError::BadEscape);
                };
                decoded.push((high << 4) | low);
                i += 3;
            }
            b'+' if plus_is_space => {
                decoded.push(b' ');
                i += 1;
            }
            other => {
                decoded.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).map_err(|_| TargetError::NotUtf8)
}

/// Percent-encodes `segment` for use as one path segment of a URL: every
/// byte but RFC 3986's unreserved characters is escaped, `/` included.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|value| value as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn path_is_percent_decoded_but_plus_is_kept() {
        let target = parse_target("/a%20b+c/%E4%BD%A0").unwrap();
        assert_eq!(target.path, "/a b+c/你");
        assert!(target.query.is_empty());
    }

    #[test]
    fn query_pairs_are_decoded_with_plus_as_space() {
        let target = parse_target("/wx?signature=ab%2Fc&echostr=hello+world&flag&&=v").unwrap();
        assert_eq!(target.path, "/wx");
        assert_eq!(
            target.query,
            pairs(&[("signature", "ab/c"), ("echostr", "hello world"), ("flag", ""), ("", "v")])
        );
    }

    #[test]
    fn value_may_contain_equals_signs() {
        let target = parse_target("/?k=a=b").unwrap();
        assert_eq!(target.query, pairs(&[("k", "a=b")]));
    }

    #[test]
    fn invalid_escapes_are_rejected_in_path_and_query() {
        for raw in ["/%", "/%4", "/%zz", "/a?x=%g1", "/a?%"] {
            assert_eq!(parse_target(raw), Err(TargetError::BadEscape), "{raw}");
        }
    }

    #[test]
    fn encoded_segments_decode_back() {
        for segment in ["plain-name_1.md", "春 天/..?#%+", "a&b=c"] {
            let encoded = encode_path_segment(segment);
            assert!(!encoded.contains(['/', '?', '#', ' ']), "{encoded}");
            assert_eq!(parse_target(&format!("/{encoded}")).unwrap().path, format!("/{segment}"));
        }
    }

    #[test]
    fn non_utf8_after_decoding_is_rejected() {
        assert_eq!(parse_target("/%FF"), Err(TargetError::NotUtf8));
    }

    #[test]
    fn only_origin_form_is_accepted() {
        for raw in ["*", "http://example.com/", ""] {
            assert_eq!(parse_target(raw), Err(TargetError::NotOriginForm), "{raw}");
        }
    }
}
