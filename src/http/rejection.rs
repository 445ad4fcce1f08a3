use super::response::Response;

/// The server's own answer to a request it will not pass to a handler. The
/// connection is always closed after it: the framing of whatever follows can't
/// be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub status: u16,
    /// Sent as the body and logged, so it says what was wrong.
    pub reason: &'static str,
}

impl Rejection {
    pub(crate) const fn new(status: u16, reason: &'static str) -> Self {
        Rejection { status, reason }
    }

    pub(crate) fn response(&self) -> Response {
        Response::text(self.status, self.reason)
    }
}

pub(crate) const HEAD_TOO_LARGE: Rejection =
    Rejection::new(431, "the request head is larger than this server accepts");
pub(crate) const TOO_MANY_HEADERS: Rejection =
    Rejection::new(431, "the request has more headers than this server accepts");
pub(crate) const HEAD_TIMEOUT: Rejection =
    Rejection::new(408, "the request head did not arrive in time");
pub(crate) const BODY_TIMEOUT: Rejection =
    Rejection::new(408, "the request body did not arrive in time");
