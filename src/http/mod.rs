//! The HTTP/1.1 front: a small server of our own on may coroutines and
//! httparse, hardened for a callback URL that faces the whole internet from
//! a box with little memory (see `shared/http-front.md`).
//!
//! Every limit is in [`Limits`]: head size and header count (431), body size
//! (413, unread), total head/body/idle timeouts (408 or a silent close) that
//! shrink as the front fills, and caps on open connections in all and per
//! address. When full, the connection that has waited longest for a request
//! makes room for a newcomer; refusals and rejections are logged as
//! summaries, not a line each. Requests are framed by `Content-Length` only
//! (`Transfer-Encoding` gets 501). A handler that panics gets the client a
//! 500 and the server goes on. A response body may be a region of a file,
//! streamed from disk in `file_chunk_bytes` chunks, each with its own
//! `body_timeout` ([`file_response`] adds ranges and validators). Nothing is
//! printed; all reporting goes through the `log` crate.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod conditional;
mod connection;
mod deadline;
mod file_body;
mod head;
mod limits;
mod rejection;
mod request;
mod response;
mod router;
mod runtime;
mod server;
mod state;
mod target;
mod tracker;
mod validate;
mod wire;

pub use conditional::{cacheable, http_date, not_modified};
pub use file_body::{file_response, file_validators, FileBody};
pub use limits::{
    default_trusted_proxies, Limits, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP,
    FDS_PER_CONNECTION,
};
pub use request::Request;
pub use response::Response;
pub use router::Router;
pub use server::{serve, ServerHandle};
pub use target::encode_path_segment;

/// What the fuzz targets (`fuzz/`, built by cargo-fuzz, which sets
/// `cfg(fuzzing)`) drive: the head and target parsers, checked against the
/// properties the connection relies on. Not in a normal build.
#[cfg(fuzzing)]
pub mod fuzzing {
    use super::head::{head_end_seen, parse_head, HeadParse};
    use super::target::{encode_path_segment, parse_target};
    use super::Limits;

    /// Parse `bytes` as the start of a request, as a connection does.
    pub fn request_head(bytes: &[u8]) {
        let max_headers = Limits::default().max_headers;
        let HeadParse::Complete { head, len } = parse_head(bytes, max_headers) else { return };
        assert!(len <= bytes.len());
        // The reader parses again only once it has seen the end of a head:
        // a head that parses must be one it sees the end of.
        assert!(head_end_seen(&bytes[..len], 0), "complete head whose end is not seen");
        assert!(head.headers.len() <= max_headers);
        if let Ok(target) = parse_target(&head.target) {
            assert!(target.path.starts_with('/'));
            let encoded = format!("/{}", encode_path_segment(&target.path[1..]));
            let again = parse_target(&encoded).expect("an encoded path parses");
            assert_eq!(again.path, target.path, "encoding and decoding give the path back");
            assert!(again.query.is_empty());
        }
    }
}
