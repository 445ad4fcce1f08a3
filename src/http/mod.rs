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
