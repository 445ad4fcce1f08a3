//! Absolute http(s) URLs and RFC 3986 reference resolution: just what a
//! crawler of Atom feeds needs (feeds link with relative hrefs), without
//! pulling a general URL crate and its IDNA tables onto a router.

use std::fmt;

/// An absolute `http` or `https` URL, fragment dropped, unsafe characters
/// percent-encoded, scheme and host lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    scheme: String,
    /// `host` or `host:port` (default ports dropped), without userinfo.
    authority: String,
    userinfo: bool,
    path: String,
    query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The five parts of RFC 3986 appendix B's generic split.
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

fn split(text: &str) -> Parts<'_> {
    let text = text.split('#').next().unwrap_or("");
    let (scheme, rest) = match text.find([':', '/', '?']) {
        Some(i) if text.as_bytes()[i] == b':' && i > 0 && is_scheme(&text[..i]) => {
            (Some(&text[..i]), &text[i + 1..])
        }
        _ => (None, text),
    };
    let (authority, rest) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?']).unwrap_or(after.len());
            (Some(&after[..end]), &after[end..])
        }
        None => (None, rest),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    Parts { scheme, authority, path, query }
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

impl Url {
    /// Parse an absolute http(s) URL.
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        let text = text.trim();
        let parts = split(text);
        let scheme =
            parts.scheme.ok_or_else(|| UrlError(format!("{text:?} is not an absolute URL")))?;
        Url::build(scheme, parts.authority, parts.path, parts.query, text)
    }

    fn build(
        scheme: &str,
        authority: Option<&str>,
        path: &str,
        query: Option<&str>,
        text: &str,
    ) -> Result<Url, UrlError> {
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => "80",
            "https" => "443",
            _ => return Err(UrlError(format!("{text:?} is not an http or https URL"))),
        };
        let authority = authority.unwrap_or("");
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((_, host_port)) => (true, host_port),
            None => (false, authority),
        };
        let (host, port) = match host_port.rfind(':') {
            Some(i) if !host_port[i..].contains(']') => {
                (&host_port[..i], Some(&host_port[i + 1..]))
            }
            _ => (host_port, None),
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(UrlError(format!("{text:?} has no valid host")));
        }
        let port = port.filter(|p| !p.is_empty() && *p != default_port);
        if port.is_some_and(|p| p.parse::<u16>().is_err()) {
            return Err(UrlError(format!("{text:?} has an invalid port")));
        }
        let host = host.to_ascii_lowercase();
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        let path =
            if path.is_empty() { "/".to_string() } else { encode(&remove_dot_segments(path)) };
        Ok(Url { scheme, authority, userinfo, path, query: query.map(encode) })
    }

    /// Resolve `reference` (an href from a feed) against this URL (RFC 3986 §5.2).
    pub fn join(&self, reference: &str) -> Result<Url, UrlError> {
        let reference = reference.trim();
        let r = split(reference);
        if let Some(scheme) = r.scheme {
            return Url::build(scheme, r.authority, r.path, r.query, reference);
        }
        if let Some(authority) = r.authority {
            return Url::build(&self.scheme, Some(authority), r.path, r.query, reference);
        }
        let (path, query) = if r.path.is_empty() {
            (self.path.clone(), r.query.map(str::to_string).or_else(|| self.query.clone()))
        } else if r.path.starts_with('/') {
            (r.path.to_string(), r.query.map(str::to_string))
        } else {
            let dir = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
            (format!("{dir}{}", r.path), r.query.map(str::to_string))
        };
        let path = encode(&remove_dot_segments(&path));
        Ok(Url {
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            userinfo: false,
            path,
            query: query.map(|q| encode(&q)),
        })
    }

    /// `scheme://host[:port]`: the unit of robots.txt, politeness and credentials.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path and query, as robots.txt rules match them.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// Whether the text carried `user:password@` (credentials belong in the config's own keys).
    pub fn had_userinfo(&self) -> bool {
        self.userinfo
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if i == last {
                    output.push("");
                }
            }
            ".." => {
                if output.len() > usize::from(absolute) {
                    output.pop();
                }
                if i == last {
                    output.push("");
                }
            }
            s => output.push(s),
        }
    }
    let joined = output.join("/");
    if absolute && !joined.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Percent-encode bytes that may not appear in a URL as sent (spaces,
/// non-ASCII, quotes...), keeping existing escapes and reserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(base: &str, reference: &str) -> String {
        Url::parse(base).unwrap().join(reference).unwrap().to_string()
    }

    #[test]
    fn rfc3986_normal_examples() {
        let base = "http://a/b/c/d;p?q";
        for (reference, want) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/../h", "http://a/b/c/h"),
            ("https://other.example/x", "https://other.example/x"),
        ] {
            assert_eq!(join(base, reference), want, "{reference:?}");
        }
    }

    #[test]
    fn origins_ports_and_case() {
        let url = Url::parse("HTTP://Example.COM:80/opds?x=1#frag").unwrap();
        assert_eq!(url.to_string(), "http://example.com/opds?x=1");
        assert_eq!(url.origin(), "http://example.com");
        let url = Url::parse("https://127.0.0.1:8443/a%20b/c d").unwrap();
        assert_eq!(url.origin(), "https://127.0.0.1:8443");
        assert_eq!(url.path_and_query(), "/a%20b/c%20d");
        assert_eq!(Url::parse("http://[::1]:9000/x").unwrap().origin(), "http://[::1]:9000");
        assert_eq!(Url::parse("http://h").unwrap().to_string(), "http://h/");
        assert_eq!(join("http://h/a/b", "/get/epub/3/lib").rsplit('/').next(), Some("lib"));
        assert_eq!(Url::parse("http://h/书").unwrap().path_and_query(), "/%E4%B9%A6");
    }

    #[test]
    fn refuses_what_is_not_http() {
        for bad in
            ["ftp://h/x", "mailto:a@b", "/relative", "http://", "http://h:99999/", "http:// h/"]
        {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        let base = Url::parse("http://h/a").unwrap();
        assert!(base.join("javascript:alert(1)").is_err());
        assert!(base.join("mailto:x@y").is_err());
        assert!(Url::parse("http://user:pw@h/").unwrap().had_userinfo());
        assert_eq!(
            Url::parse("http://user:pw@h/").unwrap().to_string(),
            "http://h/",
            "credentials never printed"
        );
    }
}
