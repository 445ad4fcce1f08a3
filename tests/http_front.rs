//! The HTTP front tested the way an attacker would: real sockets on
//! 127.0.0.1, one small server per test. After every hostile case the server
//! must still answer a normal request.

mod common;

use std::io::{self, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::http_client::{read_head_response, read_response, Response as Reply};
use zatan::http::{serve, Limits, Response, Router, ServerHandle};

/// How long the client waits for any one answer before the test fails.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
const GET_HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";

/// Tests that measure the process's memory, or load it heavily, run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serially() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `/slow` handler has begun; it answers once `SLOW_MAY_ANSWER` is set.
/// One test asks for `/slow`, and one for `/stuck`.
static SLOW_RUNNING: AtomicBool = AtomicBool::new(false);
static SLOW_MAY_ANSWER: AtomicBool = AtomicBool::new(false);
static STUCK_RUNNING: AtomicBool = AtomicBool::new(false);

// ---------------------------------------------------------------- the server

fn router() -> Router {
    Router::new()
        .route("GET", "/hello", |_| Response::text(200, "hello"))
        .route("POST", "/echo", echo)
        .route("PUT", "/echo", echo)
        .route("GET", "/panic", |_| panic!("a handler bug, on purpose for the test"))
        .route("GET", "/header", |r| {
            Response::text(200, "ok").with_header("X-Echo", r.query_param("v").unwrap_or(""))
        })
        .route("GET", "/query", |r| Response::text(200, format!("{:?}", r.query)))
        .route("GET", "/slow", |_| {
            SLOW_RUNNING.store(true, Ordering::SeqCst);
            while !SLOW_MAY_ANSWER.load(Ordering::SeqCst) {
                may::coroutine::sleep(Duration::from_millis(10));
            }
            Response::text(200, "slow")
        })
        .route("GET", "/stuck", |_| {
            STUCK_RUNNING.store(true, Ordering::SeqCst);
            may::coroutine::sleep(Duration::from_secs(5));
            Response::text(200, "late")
        })
        .route("GET", "/empty", |_| Response::new(204))
        .route_prefix("GET", "/articles/", |r| Response::text(200, r.path.clone()))
}

fn echo(request: &zatan::http::Request) -> Response {
    let mut response = Response::new(200);
    response.body = request.body.clone();
    response
}

/// Short timeouts so that the timeout tests take about a second.
fn quick_limits() -> Limits {
    Limits {
        head_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        ..Limits::default()
    }
}

fn start() -> ServerHandle {
    start_with(quick_limits())
}

fn start_with(limits: Limits) -> ServerHandle {
    serve("127.0.0.1:0".parse().unwrap(), limits, Arc::new(router())).expect("server starts")
}

fn stop(server: ServerHandle) {
    server.shutdown(Duration::from_secs(2));
}

fn assert_healthy(server: &ServerHandle) {
    let mut client = Client::connect(server.local_addr());
    client.send(GET_HELLO);
    let reply = client.reply();
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"hello"[..]));
}

// ---------------------------------------------------------------- the client

/// A plain blocking client; bytes read past one response wait in its buffer
/// for the next (pipelining).
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        Client { reader: BufReader::new(stream) }
    }

    fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream().write_all(bytes).expect("send");
    }

    fn reply(&mut self) -> Reply {
        let reply = read_response(&mut self.reader).unwrap_or_else(|e| panic!("{e}"));
        if reply.status >= 200 {
            assert_framing(&reply);
        }
        reply
    }

    /// The answer to a HEAD request: no body follows the head.
    fn head_reply(&mut self) -> Reply {
        let reply = read_head_response(&mut self.reader).unwrap_or_else(|e| panic!("{e}"));
        if reply.status >= 200 {
            assert_framing(&reply);
        }
        reply
    }

    /// Whether the server has closed the connection cleanly (a FIN, not a
    /// reset, which could have destroyed an answer still unsent) without
    /// sending anything more. False if it is still open after `CLIENT_TIMEOUT`.
    fn closed_by_server(&mut self) -> bool {
        let unread = self.reader.buffer();
        assert!(unread.is_empty(), "unread bytes: {unread:?}");
        let mut byte = [0u8; 1];
        match self.stream().read(&mut byte) {
            Ok(0) => true,
            Ok(_) => panic!("expected the connection to close, got {byte:?}"),
            Err(e) if is_timeout(&e) => false,
            Err(e) => panic!("expected a clean close, got: {e}"),
        }
    }

    /// Whether the server has sent something or closed, without waiting.
    fn has_news(&self) -> bool {
        self.news() != News::Nothing
    }

    /// What the server has done with the connection so far, without waiting.
    fn news(&self) -> News {
        if !self.reader.buffer().is_empty() {
            return News::Answered;
        }
        let stream = self.reader.get_ref();
        stream.set_nonblocking(true).unwrap();
        let result = stream.peek(&mut [0u8; 1]);
        stream.set_nonblocking(false).unwrap();
        match result {
            Err(e) if e.kind() == ErrorKind::WouldBlock => News::Nothing,
            Ok(0) | Err(_) => News::Closed,
            Ok(_) => News::Answered,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum News {
    Nothing,
    /// Bytes are waiting to be read.
    Answered,
    /// Closed (or reset) without a word.
    Closed,
}

/// Every response says how long it is and what it is, except 204 and 304,
/// which have no content and say neither.
fn assert_framing(reply: &Reply) {
    if reply.status == 204 || reply.status == 304 {
        assert_eq!(reply.header("Content-Length"), None, "{reply:?}");
        assert_eq!(reply.header("Content-Type"), None, "{reply:?}");
    } else {
        assert!(reply.header("Content-Length").is_some(), "no Content-Length: {reply:?}");
        assert!(reply.header("Content-Type").is_some(), "no Content-Type: {reply:?}");
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Sends `request` on a new connection and expects `status` and a close.
fn assert_rejected(server: &ServerHandle, request: &[u8], status: u16) -> Reply {
    let mut client = Client::connect(server.local_addr());
    client.send(request);
    let reply = client.reply();
    assert_eq!(reply.status, status, "for {:?}", String::from_utf8_lossy(request));
    assert!(reply.closes(), "{reply:?}");
    assert!(client.closed_by_server(), "the connection should close after {status}");
    reply
}

/// The process's peak resident memory since `reset_peak_rss`. A peak, so
/// that memory used and freed again before the test looks still counts.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sets the peak back to the current RSS (Linux 4.0+). Where that fails the
/// peak of earlier tests stays, which makes the check weaker but not wrong.
fn reset_peak_rss() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("could not reset the peak RSS ({e}); the memory check is weaker");
    }
}

/// Waits until `addr` refuses connections: a shutdown has stopped accepting.
/// (Until then each try is one more idle connection, which shutdown closes.)
fn wait_until_refused(addr: SocketAddr) -> bool {
    wait_for(Duration::from_secs(10), || TcpStream::connect(addr).is_err())
}

fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    done()
}

// ---------------------------------------------------------------- hostile input

#[test]
fn content_length_that_is_not_a_plain_number_is_400() {
    let server = start();
    for value in ["abc", "-1", "1 2", "0x5", "5, 5"] {
        let request =
            format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {value}\r\n\r\nhello");
        assert_rejected(&server, request.as_bytes(), 400);
    }
    let conflicting =
        b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
    assert_rejected(&server, conflicting, 400);

    let mut client = Client::connect(server.local_addr());
    client.send(b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(client.reply().body, b"hello", "identical duplicates are fine");
    assert_healthy(&server);
    stop(server);
}

#[test]
fn endless_header_line_is_431_and_memory_stays_bounded() {
    let _serial = serially();
    let server = start();
    reset_peak_rss();
    let before = peak_rss_kib();
    let mut client = Client::connect(server.local_addr());
    client.send(b"GET /hello HTTP/1.1\r\nX-Endless: ");
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 50 * 1024 * 1024 {
        match client.stream().write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break, // the server has closed; its answer is waiting to be read
        }
    }
    let reply = client.reply();
    assert_eq!(reply.status, 431);
    assert!(reply.closes());
    let grown_kib = peak_rss_kib().saturating_sub(before);
    assert!(grown_kib < 20 * 1024, "peak RSS grew by {grown_kib} KiB after {sent} bytes");
    assert_healthy(&server);
    stop(server);
}

#[test]
fn head_just_under_the_cap_is_served() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    let filler = "a".repeat(15 * 1024);
    client.send(format!("GET /hello HTTP/1.1\r\nX-Big: {filler}\r\n\r\n").as_bytes());
    assert_eq!(client.reply().status, 200);
    stop(server);
}

fn request_with_headers(count: usize) -> Vec<u8> {
    let mut request = String::from("GET /hello HTTP/1.1\r\n");
    for i in 0..count {
        request.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

#[test]
fn more_than_64_headers_is_answered_431_not_dropped() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(&request_with_headers(64));
    assert_eq!(client.reply().status, 200, "64 headers are allowed");

    let reply = assert_rejected(&server, &request_with_headers(65), 431);
    assert!(reply.text().contains("headers"), "{reply:?}");
    assert_healthy(&server);
    stop(server);
}

/// The fewer of 2000 and what the open-files limit leaves room for.
fn half_open_count() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let soft: usize = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let count = soft.saturating_sub(600).min(2000);
    if count < 2000 {
        eprintln!("open-files limit {soft}: using {count} half-open connections instead of 2000");
    }
    count
}

#[test]
fn half_open_connections_are_capped_and_timed_out() {
    let _serial = serially();
    let cap = 50;
    let server = start_with(Limits { max_connections: cap, ..quick_limits() });
    let count = half_open_count();
    let mut clients: Vec<Client> = (0..count)
        .map(|_| {
            let mut client = Client::connect(server.local_addr());
            // Half a request; a write to a connection already refused may fail.
            let _ = client.stream().write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n");
            client
        })
        .collect();
    assert!(server.open_connections() <= cap);

    // The accept loop has met every connection once at most `cap` of them
    // still wait for a word: those it took in. (Not a pause: on a loaded
    // machine the head timeout may end some of those first.)
    let held = |clients: &[Client]| clients.iter().filter(|c| c.news() == News::Nothing).count();
    assert!(
        wait_for(Duration::from_secs(10), || held(&clients) <= cap),
        "{} connections held open, cap {cap}",
        held(&clients)
    );
    // Closed without an answer: at once, not by the head timeout (a 408).
    // Each newcomer made room by closing the connection that had waited
    // longest, so the newest are held (the front used to refuse newcomers
    // once full, which closed the newest instead and locked everyone out).
    let closed = clients.iter().filter(|c| c.news() == News::Closed).count();
    assert!(closed >= count - 2 * cap, "only {closed} closed at once");
    assert_ne!(clients.last().unwrap().news(), News::Closed, "the newest connection was taken in");
    assert_ne!(clients[0].news(), News::Nothing, "the oldest connection made room");
    // And a newcomer still gets its answer while the front is full of them.
    assert_healthy(&server);

    assert!(
        wait_for(Duration::from_secs(20), || server.open_connections() == 0),
        "{} connections still open after the head timeout",
        server.open_connections()
    );
    if let Some(client) = clients.iter_mut().find(|c| c.news() != News::Closed) {
        assert_eq!(client.reply().status, 408, "a held half-open request times out");
    }
    drop(clients);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn head_timeouts_shrink_as_the_front_fills() {
    let _serial = serially();
    let cap = 40;
    let limits = Limits {
        max_connections: cap,
        head_timeout: Duration::from_secs(60),
        crowded_min_timeout: Duration::from_secs(1),
        ..quick_limits()
    };
    let server = start_with(limits);
    let started = Instant::now();
    let mut clients: Vec<Client> = (0..cap)
        .map(|_| {
            let mut client = Client::connect(server.local_addr());
            client.send(b"GET /hello HTTP/1.1\r\n");
            client
        })
        .collect();
    // Full: the last one's 60 s head timeout is down to 1 s. (The first ones
    // began to wait while the front was emptier; whether they are cut too
    // depends on when their next read looked at the crowding.)
    let last = cap - 1;
    assert!(
        wait_for(Duration::from_secs(20), || clients[last].news() == News::Answered),
        "the half head that filled the front was not cut off"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(clients[last].reply().status, 408);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn dynamic_header_values_reach_the_client_and_cannot_inject() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    for value in ["first", "id%2042"] {
        client.send(format!("GET /header?v={value} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let reply = client.reply();
        assert_eq!(reply.header("X-Echo"), Some(value.replace("%20", " ").as_str()));
    }
    client.send(b"GET /header?v=a%0D%0ASet-Cookie:%20evil=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    let reply = client.reply();
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("Set-Cookie"), None);
    assert_eq!(reply.header("X-Echo"), None);
    client.send(GET_HELLO);
    assert_eq!(client.reply().status, 200, "the connection goes on after the 500");
    stop(server);
}

#[test]
fn slow_loris_is_cut_off_by_the_total_head_timeout() {
    let server = start(); // head_timeout: 1 s
    let mut client = Client::connect(server.local_addr());
    client.stream().set_nodelay(true).unwrap();
    let started = Instant::now();
    let mut loris = b"GET /hello HTTP/1.1\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a'));
    // Each byte comes well within any per-read timeout; only a deadline for
    // the whole head stops this.
    while !client.has_news() && started.elapsed() < Duration::from_secs(5) {
        if client.stream().write_all(&[*loris.next().unwrap()]).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(150));
    }
    assert!(started.elapsed() < Duration::from_secs(4), "the slow head was never cut off");
    let reply = client.reply();
    assert_eq!(reply.status, 408);
    assert!(reply.closes());
    assert_healthy(&server);
    stop(server);
}

#[test]
fn slow_body_gets_408() {
    let server = start(); // body_timeout: 1 s
    let mut client = Client::connect(server.local_addr());
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten..");
    let reply = client.reply();
    assert_eq!(reply.status, 408);
    assert!(reply.closes());
    assert_healthy(&server);
    stop(server);
}

#[test]
fn silent_connection_is_closed_without_an_answer() {
    let server = start(); // head_timeout: 1 s
    let mut client = Client::connect(server.local_addr());
    assert!(client.closed_by_server());
    assert!(wait_for(Duration::from_secs(10), || server.open_connections() == 0));
    assert_healthy(&server);
    stop(server);
}

#[test]
fn idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = start(); // idle_timeout: 2 s
    let mut client = Client::connect(server.local_addr());
    client.send(GET_HELLO);
    assert!(!client.reply().closes());
    assert!(client.closed_by_server(), "still open after {CLIENT_TIMEOUT:?}");
    stop(server);
}

#[test]
fn binary_garbage_is_400() {
    let server = start();
    assert_rejected(&server, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400);
    let mut state: u32 = 0x2545_f491;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    assert_rejected(&server, &garbage, 400);
    assert_rejected(&server, b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n", 400);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn body_over_the_cap_is_413_before_the_client_sends_it() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n\r\n");
    // Not a byte of the 10 MB body has been sent: the answer can't depend on it.
    let reply = client.reply();
    assert_eq!(reply.status, 413);
    assert!(reply.closes());
    assert!(client.closed_by_server());
    assert_healthy(&server);
    stop(server);
}

#[test]
fn rejection_while_the_client_is_still_sending_closes_cleanly() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    // Head and the start of the body in one write: more than the server reads
    // with the head, so some is still unread when it rejects the request.
    let mut request = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n".to_vec();
    request.resize(request.len() + 256 * 1024, b'x');
    client.send(&request);
    let reply = client.reply();
    assert_eq!(reply.status, 413);
    assert!(client.closed_by_server(), "the answer must not be followed by a reset");
    assert_healthy(&server);
    stop(server);
}

#[test]
fn body_at_the_cap_is_read_in_full() {
    let _serial = serially();
    let server = start();
    let body: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut client = Client::connect(server.local_addr());
    client.send(format!("PUT /echo HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
    client.send(&body);
    let reply = client.reply();
    assert_eq!(reply.status, 200);
    assert!(reply.body == body, "the echoed body differs");
    stop(server);
}

#[test]
fn expect_100_continue_gets_an_interim_answer() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    assert_eq!(client.reply().status, 100);
    client.send(b"ping");
    assert_eq!(client.reply().body, b"ping");

    let too_big = b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n";
    assert_rejected(&server, too_big, 413);
    stop(server);
}

#[test]
fn request_in_one_byte_writes_is_served() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.stream().set_nodelay(true).unwrap();
    let mut send_bytewise = |request: &[u8]| {
        for byte in request {
            client.send(&[*byte]);
            thread::sleep(Duration::from_millis(1));
        }
        client.reply()
    };
    // A head with nothing after it: the server must see where it ends.
    assert_eq!(send_bytewise(GET_HELLO).body, b"hello");
    let post = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 18\r\n\r\none byte at a time";
    assert_eq!(send_bytewise(post).body, b"one byte at a time");
    stop(server);
}

// ---------------------------------------------------------------- protocol

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(
        b"GET /articles/one HTTP/1.1\r\nHost: t\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond\
          HEAD /articles/three HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /articles/four HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(client.reply().text(), "/articles/one");
    assert_eq!(client.reply().text(), "second");
    assert_eq!(client.head_reply().header("Content-Length"), Some("15"));
    let last = client.reply();
    assert_eq!(last.text(), "/articles/four");
    assert!(last.closes());
    assert!(client.closed_by_server());
    stop(server);
}

#[test]
fn post_or_put_without_content_length_is_411() {
    let server = start();
    assert_rejected(&server, b"POST /echo HTTP/1.1\r\nHost: t\r\n\r\n", 411);
    assert_rejected(&server, b"PUT /echo HTTP/1.1\r\nHost: t\r\n\r\n", 411);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn transfer_encoding_is_501() {
    let server = start();
    let chunked = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    assert_rejected(&server, chunked, 501);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn unknown_method_is_501() {
    let server = start();
    assert_rejected(&server, b"BREW /hello HTTP/1.1\r\nHost: t\r\n\r\n", 501);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn wrong_method_is_405_with_allow_and_the_connection_goes_on() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"POST /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    let reply = client.reply();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("Allow"), Some("GET, HEAD"));
    client.send(b"DELETE /echo HTTP/1.1\r\n\r\n");
    assert_eq!(client.reply().header("Allow"), Some("POST, PUT"));
    client.send(GET_HELLO);
    assert_eq!(client.reply().status, 200);
    stop(server);
}

#[test]
fn unknown_path_is_404() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"GET /nowhere HTTP/1.1\r\n\r\n");
    assert_eq!(client.reply().status, 404);
    client.send(GET_HELLO);
    assert_eq!(client.reply().status, 200);
    stop(server);
}

#[test]
fn head_sends_the_length_but_no_body() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"HEAD /hello HTTP/1.1\r\n\r\n");
    let reply = client.head_reply();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Length"), Some("5"));
    client.send(b"HEAD /nowhere HTTP/1.1\r\n\r\n");
    assert_eq!(client.head_reply().status, 404);
    // Had a body followed either head, this would read it as a response.
    client.send(GET_HELLO);
    assert_eq!(client.reply().body, b"hello");
    stop(server);
}

#[test]
fn no_content_response_has_no_length_type_or_body() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"GET /empty HTTP/1.1\r\n\r\n");
    assert_eq!(client.reply().status, 204);
    client.send(GET_HELLO);
    assert_eq!(client.reply().body, b"hello");
    stop(server);
}

#[test]
fn handler_panic_is_500_and_the_connection_goes_on() {
    // With RUST_BACKTRACE set, the panic hook reads this binary's debug info:
    // some 100 MB, which the memory tests would count as theirs.
    let _serial = serially();
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"GET /panic HTTP/1.1\r\n\r\n");
    let reply = client.reply();
    assert_eq!(reply.status, 500);
    assert!(!reply.closes());
    client.send(GET_HELLO);
    assert_eq!(client.reply().status, 200);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn http10_and_connection_close_end_the_connection_and_11_keeps_it() {
    let server = start();
    assert_rejected_or_closed(&server, b"GET /hello HTTP/1.0\r\n\r\n");
    assert_rejected_or_closed(&server, b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");

    let mut client = Client::connect(server.local_addr());
    for _ in 0..3 {
        client.send(GET_HELLO);
        let reply = client.reply();
        assert_eq!(reply.status, 200);
        assert!(!reply.closes());
    }
    stop(server);
}

/// `request` is served, and the connection closes after it.
fn assert_rejected_or_closed(server: &ServerHandle, request: &[u8]) {
    let mut client = Client::connect(server.local_addr());
    client.send(request);
    let reply = client.reply();
    assert_eq!(reply.body, b"hello");
    assert!(reply.closes());
    assert!(client.closed_by_server());
}

#[test]
fn path_and_query_are_decoded_and_bad_escapes_are_400() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"GET /articles/%E4%BD%A0%20x HTTP/1.1\r\n\r\n");
    assert_eq!(client.reply().text(), "/articles/\u{4f60} x");
    client.send(b"GET /query?a=1+2&b=%3D HTTP/1.1\r\n\r\n");
    assert_eq!(client.reply().text(), r#"[("a", "1 2"), ("b", "=")]"#);
    assert_rejected(&server, b"GET /articles/%zz HTTP/1.1\r\n\r\n", 400);
    assert_healthy(&server);
    stop(server);
}

#[test]
fn a_second_server_cannot_take_the_same_port() {
    let server = start();
    let second = serve(server.local_addr(), quick_limits(), Arc::new(router()));
    assert_eq!(second.err().map(|e| e.kind()), Some(ErrorKind::AddrInUse));
    assert_healthy(&server);
    stop(server);
}

// ---------------------------------------------------------------- shutdown

#[test]
fn shutdown_finishes_in_flight_requests_and_closes_idle_ones_at_once() {
    let server = start_with(Limits { idle_timeout: Duration::from_secs(30), ..quick_limits() });
    let addr = server.local_addr();
    let mut idle = Client::connect(addr);
    idle.send(GET_HELLO);
    assert_eq!(idle.reply().status, 200);

    let in_flight = thread::spawn(move || {
        let mut client = Client::connect(addr);
        client.send(b"GET /slow HTTP/1.1\r\n\r\n");
        client.reply()
    });
    assert!(wait_for(Duration::from_secs(10), || SLOW_RUNNING.load(Ordering::SeqCst)));
    assert!(wait_for(Duration::from_secs(10), || server.open_connections() == 2));

    // The slow handler answers only once the shutdown has begun.
    let started = Instant::now();
    let stopping = thread::spawn(move || server.shutdown(Duration::from_secs(10)));
    assert!(wait_until_refused(addr), "still accepting during shutdown");
    SLOW_MAY_ANSWER.store(true, Ordering::SeqCst);
    stopping.join().unwrap();
    let took = started.elapsed();

    let reply = in_flight.join().unwrap();
    assert_eq!((reply.status, reply.text().as_str()), (200, "slow"));
    assert!(reply.closes(), "the last answer announces the close");
    // Waiting out the 30 s idle connection or the 10 s grace would take longer.
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert!(idle.closed_by_server());
    assert!(TcpStream::connect(addr).is_err(), "still accepting after shutdown");
}

#[test]
fn shutdown_lets_a_request_whose_body_is_arriving_finish() {
    // The body comes in two parts with the shutdown between them, however long that takes.
    let server = start_with(Limits { body_timeout: Duration::from_secs(30), ..quick_limits() });
    let addr = server.local_addr();
    let mut client = Client::connect(addr);
    // The interim answer says the server has read the head: it is reading the body now.
    client.send(b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
    assert_eq!(client.reply().status, 100);
    client.send(b"half ");
    assert!(wait_for(Duration::from_secs(10), || server.open_connections() == 1));

    let stopping = thread::spawn(move || server.shutdown(Duration::from_secs(5)));
    assert!(wait_until_refused(addr), "still accepting during shutdown");
    client.send(b"done!");
    let reply = client.reply();
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"half done!"[..]));
    assert!(reply.closes());
    stopping.join().unwrap();
}

#[test]
fn shutdown_does_not_wait_for_a_connection_lingering_after_a_rejection() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"BREW /pot HTTP/1.1\r\n\r\n");
    assert_eq!(client.reply().status, 501);
    // The client keeps its end open, so the server lingers (for 2 s).
    let started = Instant::now();
    server.shutdown(Duration::from_secs(10));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "shutdown took {took:?}");
    assert!(client.closed_by_server());
}

#[test]
fn shutdown_returns_within_grace_when_a_handler_is_stuck() {
    let server = start();
    let mut client = Client::connect(server.local_addr());
    client.send(b"GET /stuck HTTP/1.1\r\n\r\n");
    assert!(wait_for(Duration::from_secs(10), || STUCK_RUNNING.load(Ordering::SeqCst)));
    assert!(wait_for(Duration::from_secs(10), || server.open_connections() == 1));

    let started = Instant::now();
    server.shutdown(Duration::from_millis(300));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?} for a 300 ms grace");
    assert!(client.closed_by_server(), "the stuck connection is cut off");
}

#[test]
fn a_file_is_streamed_whole_and_in_ranges_on_one_keep_alive_connection() {
    let dir = common::TempDir::new("file-body");
    let path = dir.path().join("book.bin");
    // Several chunks long, and not a multiple of the chunk size.
    let content: Vec<u8> = (0..200_003u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let served = path.clone();
    let router = Router::new().route("GET", "/file", move |r| {
        zatan::http::file_response(r, &served, "application/epub+zip").unwrap()
    });
    let limits = Limits { file_chunk_bytes: 16 * 1024, ..quick_limits() };
    let server = serve("127.0.0.1:0".parse().unwrap(), limits, Arc::new(router)).unwrap();
    let mut client = Client::connect(server.local_addr());
    let get = |extra: &str| format!("GET /file HTTP/1.1\r\nHost: t\r\n{extra}\r\n").into_bytes();

    client.send(&get(""));
    let whole = client.reply();
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("Content-Type"), Some("application/epub+zip"));
    assert_eq!(whole.header("Accept-Ranges"), Some("bytes"));
    assert!(whole.body == content, "the whole file, byte for byte");
    let etag = whole.header("ETag").expect("an ETag").to_string();
    let modified = whole.header("Last-Modified").expect("a Last-Modified").to_string();

    client.send(&get("Range: bytes=100000-100009\r\n"));
    let part = client.reply();
    assert_eq!(part.status, 206);
    assert_eq!(part.header("Content-Range"), Some("bytes 100000-100009/200003"));
    assert_eq!(part.body, &content[100_000..100_010]);

    client.send(&get("Range: bytes=-3\r\n"));
    let tail = client.reply();
    assert_eq!((tail.status, tail.body.as_slice()), (206, &content[200_000..]));

    client.send(&get("Range: bytes=150000-\r\n"));
    let rest = client.reply();
    assert_eq!(rest.header("Content-Range"), Some("bytes 150000-200002/200003"));
    assert!(rest.body == content[150_000..]);

    client.send(&get("Range: bytes=200003-\r\n"));
    let past = client.reply();
    assert_eq!(past.status, 416);
    assert_eq!(past.header("Content-Range"), Some("bytes */200003"));

    // If-Range naming this version resumes; naming another sends it all.
    client.send(&get(&format!("Range: bytes=0-1\r\nIf-Range: {etag}\r\n")));
    assert_eq!(client.reply().status, 206);
    client.send(&get(&format!("Range: bytes=0-1\r\nIf-Range: {modified}\r\n")));
    assert_eq!(client.reply().status, 206);
    client.send(&get("Range: bytes=0-1\r\nIf-Range: \"older\"\r\n"));
    let changed = client.reply();
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body.len(), content.len());

    client.send(&get(&format!("If-None-Match: {etag}\r\n")));
    assert_eq!(client.reply().status, 304);

    client.send(b"HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = client.head_reply();
    assert_eq!(head.header("Content-Length"), Some("200003"));

    client.send(&get("Range: bytes=5-6\r\n"));
    let after_head = client.reply();
    assert_eq!((after_head.status, after_head.body.as_slice()), (206, &content[5..7]));
    assert!(!after_head.closes());
    stop(server);
}

#[test]
fn a_file_body_times_out_per_chunk_so_slow_readers_finish_and_stalled_ones_are_dropped() {
    let dir = common::TempDir::new("file-timeout");
    let path = dir.path().join("big.bin");
    let size = 16 * 1024 * 1024;
    std::fs::write(&path, vec![7u8; size]).unwrap();
    let served = path.clone();
    let router = Router::new()
        .route("GET", "/big", move |r| {
            zatan::http::file_response(r, &served, "application/octet-stream").unwrap()
        })
        .route("GET", "/hello", |_| Response::text(200, "hello"));
    // A whole-response deadline of `body_timeout` would cut the slow reader
    // below off; each chunk has all of it, ample even on a loaded machine.
    let body_timeout = Duration::from_secs(3);
    let limits = Limits { body_timeout, ..quick_limits() };
    let server = serve("127.0.0.1:0".parse().unwrap(), limits, Arc::new(router)).unwrap();
    let get = b"GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

    let mut slow = TcpStream::connect(server.local_addr()).unwrap();
    slow.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    slow.write_all(get).unwrap();
    let started = Instant::now();
    let mut received = 0;
    let mut piece = vec![0u8; 256 * 1024];
    loop {
        let before = received;
        match slow.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) => panic!("the slow reader was cut off after {received} bytes: {e}"),
        }
        if received >> 20 != before >> 20 {
            // The reader's own pace (at most 4 MiB/s), not a wait for the server.
            thread::sleep(Duration::from_millis(250));
        }
    }
    assert!(received > size, "head and the whole body: {received}");
    assert!(started.elapsed() > body_timeout, "slower in all than the body timeout");

    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    stalled.write_all(get).unwrap();
    let dropped = wait_for(Duration::from_secs(10), || server.open_connections() == 0);
    assert!(dropped, "a client that stops reading is dropped after the body timeout");
    drop(stalled);
    assert_healthy(&server);
    stop(server);
}
