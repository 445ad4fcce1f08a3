use super::file_body::FileBody;

/// What a handler answers. `Content-Length`, `Connection` and
/// `Transfer-Encoding` belong to the server: it writes its own and drops any
/// the handler set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A file region sent instead of `body` (which must then be empty),
    /// streamed from disk as the response is written.
    pub file: Option<FileBody>,
}

impl Response {
    /// An empty response. Without a `Content-Type` header the server sends
    /// `application/octet-stream` (except for 204 and 304, which carry none).
    pub fn new(status: u16) -> Self {
        Response { status, headers: Vec::new(), body: Vec::new(), file: None }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::typed(status, "text/plain; charset=utf-8", body.into().into_bytes())
    }

    /// A 200 with an XML body, which is how WeChat callbacks are answered.
    pub fn xml(body: impl Into<Vec<u8>>) -> Self {
        Self::typed(200, "application/xml; charset=utf-8", body.into())
    }

    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::typed(status, "text/html; charset=utf-8", body.into().into_bytes())
    }

    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::typed(status, "application/json", body.into().into_bytes())
    }

    /// Sets `name` to `value`, replacing any header of the same name
    /// (case-insensitive). For a header that must repeat, such as
    /// `Set-Cookie`, push onto `headers` instead. A value holding CR, LF or
    /// another control character is refused when the response is written:
    /// the client then gets a 500 and the error is logged.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same response with `file` as its body, in place of any bytes.
    pub fn with_file(mut self, file: FileBody) -> Self {
        self.body = Vec::new();
        self.file = Some(file);
        self
    }

    /// The length of the body: its bytes, or its file region.
    pub fn body_len(&self) -> u64 {
        self.file.as_ref().map_or(self.body.len() as u64, FileBody::len)
    }

    fn typed(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response { body, ..Response::new(status) }.with_header("Content-Type", content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_status_type_and_body() {
        let xml = Response::xml("<xml/>");
        assert_eq!(xml.status, 200);
        assert_eq!(xml.body, b"<xml/>");
        assert_eq!(
            xml.headers,
            vec![("Content-Type".into(), "application/xml; charset=utf-8".into())]
        );
        assert_eq!(Response::text(404, "no").status, 404);
        assert!(Response::new(204).headers.is_empty());
    }

    #[test]
    fn with_header_replaces_a_header_of_the_same_name() {
        let response = Response::text(200, "x")
            .with_header("content-type", "text/csv")
            .with_header("X-Id", "1");
        assert_eq!(
            response.headers,
            vec![("content-type".into(), "text/csv".into()), ("X-Id".into(), "1".into())]
        );
    }
}
