//! Connection-exhaustion attackers over loopback (issue 13), and the probes
//! that show the bot still answers: each attacker connects from loopback
//! addresses of its own (127.0.0.2 and up; Linux routes all of 127/8 to lo),
//! so that the server's per-address cap meets them, while the probes come
//! from 127.0.0.1, a trusted proxy address by default, as WeChat's requests
//! would reach a server behind nginx.

use std::io::{self, BufReader, ErrorKind, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::http_client::read_response;
use super::wechat::{say, signed_query};
use super::Server;

pub const HALF_HEAD: &[u8] = b"GET /wechat HTTP/1.1\r\nHost: x\r\n";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The tricklers' pace, from the issue.
pub const TRICKLE_EVERY: Duration = Duration::from_secs(2);

pub fn loopback(b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, b, c, d)
}

/// Raises this process's open-files limit to its hard limit (the attackers
/// hold thousands of sockets), and returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    zatan::fd_limit::raise_to_hard_limit().expect("raise RLIMIT_NOFILE")
}

/// `wanted`, or fewer when the open-files limit leaves no room for that
/// many sockets beside the `others` the test holds at the same time.
pub fn within_fd_limit(wanted: usize, others: usize) -> usize {
    let soft = usize::try_from(raise_fd_limit()).unwrap_or(usize::MAX);
    let room = soft.saturating_sub(others + 256);
    if room < wanted {
        eprintln!("open-files limit {soft}: {room} connections instead of {wanted}");
    }
    wanted.min(room)
}

/// A TCP connection from `source` to `server`.
pub fn connect_from(source: Ipv4Addr, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::new(IpAddr::V4(source), 0).into())?;
    socket.connect_timeout(&server.into(), CONNECT_TIMEOUT)?;
    Ok(socket.into())
}

/// What an attacker's connection has seen of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Still open, nothing received: the server holds it.
    Held,
    /// Closed (or reset) by the server.
    Closed,
    /// The server sent something (an answer to what it received).
    Answered,
}

pub fn fate(stream: &TcpStream) -> Fate {
    stream.set_nonblocking(true).expect("nonblocking");
    let fate = match stream.peek(&mut [0u8; 1]) {
        Ok(0) => Fate::Closed,
        Ok(_) => Fate::Answered,
        Err(e) if e.kind() == ErrorKind::WouldBlock => Fate::Held,
        Err(_) => Fate::Closed,
    };
    stream.set_nonblocking(false).expect("blocking");
    fate
}

pub fn held(streams: &[TcpStream]) -> usize {
    streams.iter().filter(|s| fate(s) == Fate::Held).count()
}

/// `per_source` connections from each source, each sending half a head and
/// then nothing. Connections the server refuses are kept too (closed).
pub fn half_heads(server: SocketAddr, sources: &[Ipv4Addr], per_source: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(sources.len() * per_source);
    for _ in 0..per_source {
        for source in sources {
            if let Ok(mut stream) = connect_from(*source, server) {
                // The server may have closed it already: then the write fails.
                let _ = stream.write_all(HALF_HEAD);
                streams.push(stream);
            }
        }
    }
    streams
}

/// `per_source` keep-alive connections from each source that completed one
/// request and now sit idle.
pub fn idle_keep_alive(
    server: SocketAddr,
    sources: &[Ipv4Addr],
    per_source: usize,
) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(sources.len() * per_source);
    for _ in 0..per_source {
        for source in sources {
            let Ok(mut stream) = connect_from(*source, server) else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").is_err() {
                continue;
            }
            match read_response(&mut BufReader::new(&stream)) {
                Ok(reply) if reply.status == 200 && !reply.closes() => streams.push(stream),
                _ => {}
            }
        }
    }
    streams
}

/// Connections that each send one more byte of an endless head every
/// `TRICKLE_EVERY`. The thread stops by itself once the server has closed
/// or answered every one of them, or after `max_rounds`.
pub struct Tricklers {
    pub rounds: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Fate>>>,
}

impl Tricklers {
    pub fn start(
        server: SocketAddr,
        sources: &[Ipv4Addr],
        per_source: usize,
        max_rounds: usize,
    ) -> Tricklers {
        let streams: Vec<TcpStream> = (0..per_source)
            .flat_map(|_| sources.iter())
            .filter_map(|source| connect_from(*source, server).ok())
            .collect();
        let rounds = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_rounds, thread_stop) = (Arc::clone(&rounds), Arc::clone(&stop));
        let thread = thread::spawn(move || {
            let head = b"GET /wechat HTTP/1.1\r\nX-Slow: ";
            let mut fates = vec![Fate::Held; streams.len()];
            for round in 0..max_rounds {
                let byte = head.get(round).copied().unwrap_or(b'a');
                for (stream, fate_now) in streams.iter().zip(fates.iter_mut()) {
                    if *fate_now == Fate::Held {
                        *fate_now = fate(stream);
                    }
                    if *fate_now == Fate::Held && (&*stream).write_all(&[byte]).is_err() {
                        *fate_now = Fate::Closed;
                    }
                }
                thread_rounds.store(round + 1, Ordering::SeqCst);
                if fates.iter().all(|f| *f != Fate::Held) || thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                // The attack's own pace, not a wait for the server.
                thread::sleep(TRICKLE_EVERY);
            }
            fates
        });
        Tricklers { rounds, stop, thread: Some(thread) }
    }

    /// Waits for the thread to end by itself; the fate of each connection.
    pub fn finish(mut self) -> Vec<Fate> {
        self.thread.take().unwrap().join().expect("trickler thread")
    }
}

impl Drop for Tricklers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One probe: a signed verification GET and a signed text message, each
/// from a fresh connection from 127.0.0.1, checked for the right answer.
/// Returns how long each took.
#[track_caller]
pub fn probe(server: &Server, token: &str, n: u64) -> [Duration; 2] {
    let echo = format!("probe{n}");
    let start = Instant::now();
    let verified = server.get(&format!("/wechat?{}&echostr={echo}", signed_query(token)));
    let verify_took = start.elapsed();
    assert_eq!((verified.status, verified.text()), (200, echo), "verification probe {n}");
    let start = Instant::now();
    let reply = say(server, token, "o_probe", 9_000_000 + n, "help");
    let message_took = start.elapsed();
    assert!(reply.xml().contains("可用命令"), "message probe {n}: {}", reply.xml());
    [verify_took, message_took]
}

/// The `q`-quantile (0.0 to 1.0) of `samples`.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}
