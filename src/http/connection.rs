//! One client connection: reads requests, has the router answer them, writes
//! the answers, until the client leaves, a limit is hit or the server stops.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use log::{debug, error, Level};
use may::net::TcpStream;

use super::deadline::{is_timeout, read_before, write_all_before, Deadline};
use super::file_body::FileBody;
use super::head::{head_end_seen, parse_head, HeadParse, RequestHead};
use super::rejection::{Rejection, BODY_TIMEOUT, HEAD_TIMEOUT, HEAD_TOO_LARGE};
use super::request::Request;
use super::response::Response;
use super::router::Router;
use super::state::ServerState;
use super::tracker::{ConnectionSlot, Phase};
use super::validate::validate;
use super::wire::{encode, CONTINUE};

/// After a rejection, how long what the client still sends is read and
/// thrown away before closing (see `linger`).
const LINGER_TIME: Duration = Duration::from_secs(2);
/// A body buffer starts this big (or at the declared length, if smaller) and
/// grows as bytes arrive, so a client that declares 1 MiB and sends little
/// costs little. Also the most one read of a body asks for.
const BODY_FIRST_ALLOCATION: usize = 16 * 1024;
/// The most of a head held on the coroutine's stack (see `Connection::inline`).
const FIRST_READ_BYTES: usize = 1024;
/// What lingering reads into and throws away.
const LINGER_READ_BYTES: usize = 512;

pub(crate) fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    server: &ServerState,
    slot: &ConnectionSlot,
) {
    // Responses go out in one write each; don't let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let limits = &server.limits;
    let first_size = limits.head_buffer_first_bytes.min(limits.max_head_bytes).max(1);
    let mut connection = Connection {
        stream,
        peer,
        server,
        slot,
        inline: [0; FIRST_READ_BYTES],
        inline_len: first_size.min(FIRST_READ_BYTES),
        heap: Vec::new(),
        filled: 0,
        served: 0,
    };
    loop {
        match connection.serve_one() {
            Ok(Next::KeepAlive) => {}
            Ok(Next::Close) => break,
            Err(e) => {
                debug!("connection from {peer} ended: {e}");
                break;
            }
        }
    }
}

enum Next {
    KeepAlive,
    Close,
}

enum HeadRead {
    Head {
        head: RequestHead,
        len: usize,
    },
    /// The client left, or stayed silent past the timeout: nothing to answer.
    Gone,
    Rejected(Rejection),
}

struct Connection<'s> {
    stream: TcpStream,
    peer: SocketAddr,
    server: &'s ServerState,
    slot: &'s ConnectionSlot,
    /// The buffer while a head fits the first size of one (at most
    /// `FIRST_READ_BYTES`), as nearly every head does: on the coroutine's
    /// stack, so that a connection holds no buffer while it waits and a
    /// request costs no allocation for one. (A 1 KiB buffer allocated for
    /// each request, and the copy into it, were a twentieth of the
    /// allocations of a plaintext callback.)
    inline: [u8; FIRST_READ_BYTES],
    /// How much of `inline` is the buffer: the head buffer's first size,
    /// within the head limit and `FIRST_READ_BYTES`.
    inline_len: usize,
    /// Empty while `inline` serves; a head that outgrows it moves here,
    /// doubled as needed up to the head limit (a head must fit in it);
    /// emptied again while a keep-alive connection waits, so an idle
    /// connection holds no buffer.
    heap: Vec<u8>,
    /// `buffer()[..filled]` holds bytes received and not yet used: part of a
    /// head, or pipelined requests.
    filled: usize,
    served: u64,
}

impl Connection<'_> {
    fn serve_one(&mut self) -> io::Result<Next> {
        if self.filled == 0 && !self.idle_unless_stopping() {
            return Ok(Next::Close);
        }
        let (head, head_len) = match self.read_head()? {
            HeadRead::Head { head, len } => (head, len),
            HeadRead::Gone => return Ok(Next::Close),
            HeadRead::Rejected(rejection) => return Ok(self.reject(rejection, false)),
        };
        self.slot.enter(Phase::Busy);
        let head_only = head.method == "HEAD";
        let accepted = match validate(&head, self.server.limits.max_body_bytes) {
            Ok(accepted) => accepted,
            Err(rejection) => return Ok(self.reject(rejection, head_only)),
        };
        if accepted.expect_continue && self.filled - head_len < accepted.body_len {
            self.write(CONTINUE)?;
        }
        let body = match self.read_body(head_len, accepted.body_len) {
            Ok(Some(body)) => body,
            Ok(None) => return Ok(Next::Close),
            Err(e) if is_timeout(&e) => return Ok(self.reject(BODY_TIMEOUT, head_only)),
            Err(e) => return Err(e),
        };

        let request = Request {
            method: head.method,
            path: accepted.target.path,
            query: accepted.target.query,
            headers: head.headers,
            body,
            peer: Some(self.peer),
        };
        let response = answer(&self.server.router, &request);
        let keep_alive = accepted.keep_alive && !self.server.is_stopping();
        let bytes = encode(&response, head_only, !keep_alive).unwrap_or_else(|why| {
            error!(
                "the handler for {} {} returned a response that can't be sent ({why}); \
                 answered 500 instead",
                request.method, request.path
            );
            encode(&internal_error(), head_only, !keep_alive).expect("a plain 500 always encodes")
        });
        self.write(&bytes)?;
        if let (Some(file), false) = (&response.file, head_only) {
            self.write_file(file)?;
        }
        self.served += 1;
        Ok(if keep_alive { Next::KeepAlive } else { Next::Close })
    }

    /// Marks the connection idle, so that shutdown may close it, and says
    /// whether the server still runs. Marked before the stopping flag is
    /// read, while shutdown sets the flag before it closes idle connections:
    /// so one of the two always sees the other.
    fn idle_unless_stopping(&mut self) -> bool {
        self.slot.enter(Phase::Waiting);
        if self.filled == 0 {
            self.heap = Vec::new();
        }
        !self.server.is_stopping()
    }

    /// Reads until the buffer holds a whole head. Bytes already buffered (a
    /// pipelined request) are parsed before anything more is read.
    fn read_head(&mut self) -> io::Result<HeadRead> {
        let server = self.server;
        let limits = &server.limits;
        // The first request has head_timeout from the connection's start; a
        // later one may idle first, and gets head_timeout from its first byte.
        // Both shrink while the front is crowded.
        let mut started = Instant::now();
        let mut timeout = if self.filled == 0 && self.served > 0 {
            limits.idle_timeout
        } else {
            limits.head_timeout
        };
        let mut parsed_up_to = 0;
        loop {
            if self.filled > 0 && self.worth_parsing(parsed_up_to) {
                match parse_head(&self.buffer()[..self.filled], limits.max_headers) {
                    HeadParse::Complete { head, len } => return Ok(HeadRead::Head { head, len }),
                    HeadParse::Partial => parsed_up_to = self.filled,
                    HeadParse::Invalid(rejection) => return Ok(HeadRead::Rejected(rejection)),
                }
            }
            // Shortened while the front is crowded: each read of a head that
            // trickles in looks again. (A wait is not woken to look again:
            // may has been seen to lose the timer of a socket waited on
            // again after a timeout; eviction bounds waits under way.)
            let deadline =
                Deadline::from(started, limits.crowded_timeout(timeout, server.tracker.open()));
            let was_empty = self.filled == 0;
            if self.filled == self.buffer().len() && !self.grow_head_buffer() {
                return Ok(HeadRead::Rejected(HEAD_TOO_LARGE));
            }
            let buf = buffer_mut(&mut self.inline[..self.inline_len], &mut self.heap);
            let read = read_before(&mut self.stream, &mut buf[self.filled..], deadline);
            match read {
                Ok(0) => return Ok(HeadRead::Gone),
                Ok(n) => self.filled += n,
                Err(e) if is_timeout(&e) && self.filled == 0 => return Ok(HeadRead::Gone),
                Err(e) if is_timeout(&e) => return Ok(HeadRead::Rejected(HEAD_TIMEOUT)),
                Err(e) => return Err(e),
            }
            if was_empty {
                self.slot.enter(Phase::PartialHead);
                if self.served > 0 {
                    started = Instant::now();
                    timeout = limits.head_timeout;
                }
            }
        }
    }

    /// The buffer bytes are read into: `inline`, or `heap` once a head outgrew it.
    fn buffer(&self) -> &[u8] {
        match self.heap.is_empty() {
            true => &self.inline[..self.inline_len],
            false => &self.heap,
        }
    }

    /// Makes room for more head bytes, doubling from the first size (moving
    /// from `inline` to `heap` the first time); false when the buffer is at
    /// the head limit already.
    fn grow_head_buffer(&mut self) -> bool {
        let limits = &self.server.limits;
        let len = self.buffer().len();
        if len >= limits.max_head_bytes {
            return false;
        }
        let grown = (len * 2).max(limits.head_buffer_first_bytes).min(limits.max_head_bytes);
        if self.heap.is_empty() {
            self.heap = self.inline[..self.filled].to_vec();
        }
        self.heap.resize(grown, 0);
        true
    }

    /// Parsing again is only useful once the head may have ended, or the
    /// buffered bytes have doubled since the last try (so garbage is caught
    /// early), or the buffer is at the head limit: a head that trickles in
    /// byte by byte is parsed O(log n) times, not n.
    fn worth_parsing(&self, parsed_up_to: usize) -> bool {
        let buffered = &self.buffer()[..self.filled];
        parsed_up_to == 0
            || self.filled >= 2 * parsed_up_to
            || self.filled == self.server.limits.max_head_bytes
            || head_end_seen(buffered, parsed_up_to)
    }

    /// Reads a body of `body_len` bytes that starts at `buffer()[head_len]`,
    /// and drops the head and body from the buffer. `Ok(None)` if the client left.
    fn read_body(&mut self, head_len: usize, body_len: usize) -> io::Result<Option<Vec<u8>>> {
        let buffered = (self.filled - head_len).min(body_len);
        let mut body = Vec::with_capacity(body_len.min(BODY_FIRST_ALLOCATION).max(buffered));
        body.extend_from_slice(&self.buffer()[head_len..head_len + buffered]);
        self.consume(head_len + buffered);
        if body.len() == body_len {
            // Came whole with the head, as most do: no deadline to time.
            return Ok(Some(body));
        }
        let deadline = Deadline::after(self.server.limits.body_timeout);
        while body.len() < body_len {
            // Reading no further than the body's end leaves a pipelined
            // request in the socket for `read_head`.
            let want = (body_len - body.len()).min(BODY_FIRST_ALLOCATION);
            reserve_up_to(&mut body, want, body_len);
            let start = body.len();
            body.resize(start + want, 0);
            let read = read_before(&mut self.stream, &mut body[start..], deadline);
            body.truncate(start + *read.as_ref().unwrap_or(&0));
            if read? == 0 {
                return Ok(None);
            }
        }
        Ok(Some(body))
    }

    fn consume(&mut self, used: usize) {
        let buf = buffer_mut(&mut self.inline[..self.inline_len], &mut self.heap);
        buf.copy_within(used..self.filled, 0);
        self.filled -= used;
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let deadline = Deadline::after(self.server.limits.body_timeout);
        write_all_before(&mut self.stream, bytes, deadline)
    }

    /// Streams a file body from disk; every chunk gets `body_timeout` to be
    /// accepted, so a slow reader of a big file is served while a stalled
    /// one is dropped.
    fn write_file(&mut self, file: &FileBody) -> io::Result<()> {
        let mut chunk = vec![0; self.server.limits.file_chunk_bytes.max(1)];
        file.stream(&mut chunk, |bytes| self.write(bytes))
    }

    /// Answers with the server's own error and ends the connection.
    fn reject(&mut self, rejection: Rejection, head_only: bool) -> Next {
        let peer = self.peer;
        self.server.log.note(Level::Info, rejection.reason, Some(peer.ip()), || {
            format!("answered {} to {peer}: {}", rejection.status, rejection.reason)
        });
        let bytes =
            encode(&rejection.response(), head_only, true).expect("rejections always encode");
        // The client may be gone already; there is nothing more to do then.
        if self.write(&bytes).is_ok() {
            self.linger();
        }
        Next::Close
    }

    /// The client may still be sending (a body we refused, say). Closing a
    /// socket with unread data makes the kernel reset the connection and drop
    /// whatever of our answer is still unsent. So half-close, then read and
    /// throw away what comes until the client closes too, for a bounded time.
    /// Nothing is in flight while lingering: shutdown closes it like an
    /// idle connection instead of waiting for it, and a newcomer may take
    /// its place.
    fn linger(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.filled = 0;
        if !self.idle_unless_stopping() {
            return;
        }
        let deadline = Deadline::after(LINGER_TIME);
        let mut sink = [0u8; LINGER_READ_BYTES];
        while matches!(read_before(&mut self.stream, &mut sink, deadline), Ok(n) if n > 0) {}
    }
}

/// `Connection::buffer`, writable: `heap` once in use, else `inline` (the
/// part of it in use). Takes the two fields, not the connection, so that its
/// stream can be borrowed beside it.
fn buffer_mut<'b>(inline: &'b mut [u8], heap: &'b mut [u8]) -> &'b mut [u8] {
    if heap.is_empty() {
        inline
    } else {
        heap
    }
}

/// The router's answer; where panics unwind (tests and debug builds), a
/// handler that panics gets the client a 500, and the connection goes on.
/// The release build aborts on a panic instead (see Cargo.toml's release
/// profile) and is started again by its service manager.
fn answer(router: &Router, request: &Request) -> Response {
    panic::catch_unwind(AssertUnwindSafe(|| router.dispatch(request))).unwrap_or_else(|_| {
        error!("the handler for {} {} panicked; answered 500", request.method, request.path);
        internal_error()
    })
}

fn internal_error() -> Response {
    Response::text(500, "internal server error")
}

/// Makes room for `extra` more bytes, growing by doubling but never past
/// `limit` (the declared body length), where `Vec`'s own growth could
/// allocate up to twice that.
fn reserve_up_to(body: &mut Vec<u8>, extra: usize, limit: usize) {
    let needed = body.len() + extra;
    if needed > body.capacity() {
        let target = (body.capacity() * 2).clamp(needed, limit.max(needed));
        body.reserve_exact(target - body.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_capacity_never_passes_the_declared_length() {
        let limit = 600_000;
        let mut body = Vec::with_capacity(BODY_FIRST_ALLOCATION);
        while body.len() < limit {
            let n = (limit - body.len()).min(16 * 1024);
            reserve_up_to(&mut body, n, limit);
            body.extend(std::iter::repeat_n(0u8, n));
            assert!(body.capacity() <= limit, "capacity {}", body.capacity());
        }
    }

    #[test]
    fn the_fallback_500_encodes() {
        assert!(encode(&internal_error(), true, true).is_ok());
    }
}
