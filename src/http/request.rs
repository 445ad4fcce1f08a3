use std::net::SocketAddr;

/// One HTTP request, read in full (head and body) before a handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ... as sent.
    pub method: String,
    /// The path part of the target, percent-decoded.
    pub path: String,
    /// Decoded query pairs, in order (`+` decoded as a space).
    pub query: Vec<(String, String)>,
    /// Header names as sent; values with invalid UTF-8 replaced by U+FFFD.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub peer: Option<SocketAddr>,
}

impl Request {
    /// The first header called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_values(&self.headers, name).next()
    }

    /// The first query parameter called `name` (exact match).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Every value of the header `name` (case-insensitive), in the order sent.
pub(crate) fn header_values<'h, 'n>(
    headers: &'h [(String, String)],
    name: &'n str,
) -> impl Iterator<Item = &'h str> + use<'h, 'n> {
    headers
        .iter()
        .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            query: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
            headers: vec![("X-Thing".into(), "first".into()), ("x-thing".into(), "second".into())],
            body: Vec::new(),
            peer: None,
        }
    }

    #[test]
    fn header_lookup_ignores_case_and_takes_the_first() {
        assert_eq!(request().header("X-THING"), Some("first"));
        assert_eq!(request().header("missing"), None);
    }

    #[test]
    fn query_param_takes_the_first_exact_match() {
        assert_eq!(request().query_param("a"), Some("1"));
        assert_eq!(request().query_param("A"), None);
    }
}
