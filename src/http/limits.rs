use std::time::Duration;

/// What one client may cost the server. Every limit answers a specific attack:
/// see `shared/http-front.md`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request line plus headers. The per-connection read buffer is exactly
    /// this big and never grows; a longer head gets 431 and the connection closes.
    pub max_head_bytes: usize,
    /// More headers than this gets 431 and the connection closes.
    pub max_headers: usize,
    /// A larger `Content-Length` gets 413 before any of the body is read.
    pub max_body_bytes: usize,
    /// Total time for a whole request head, however slowly it trickles in.
    pub head_timeout: Duration,
    /// Total time for a whole body once the head is in; it also bounds the
    /// time a client may take to accept one response.
    pub body_timeout: Duration,
    /// How long a keep-alive connection may sit between requests.
    pub idle_timeout: Duration,
    /// Open connections past this are closed as soon as they are accepted.
    pub max_connections: usize,
    /// A file body is read from disk and written in chunks this big; each
    /// chunk must be accepted by the client within `body_timeout`.
    pub file_chunk_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 16 * 1024,
            max_headers: 64,
            max_body_bytes: 1024 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 256,
            file_chunk_bytes: 64 * 1024,
        }
    }
}
