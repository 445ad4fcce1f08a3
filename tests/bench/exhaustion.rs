//! Connection-exhaustion bench (issue 13), run by tests/bench/exhaustion.sh
//! against the release binary with its default limits (not a test).
//!
//!   cargo bench --bench exhaustion -- all
//!       every attack of the issue at once, re-opening what the server
//!       closes, while 20 probes (one a second) each send a signed
//!       verification GET and a signed text message from 127.0.0.1; prints
//!       probe p50/p99/max, idle RSS, peak RSS, and RSS 15 s after the
//!       attackers close. Targets: alive, every probe right and < 1 s,
//!       peak < 64 MB, back within 8 MB of idle.
//!   cargo bench --bench exhaustion -- per-connection [BINARY]
//!       the server's RSS per held connection of each kind, for this build
//!       or BINARY (an older build, to compare).

#[path = "../common/mod.rs"]
mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::attack::*;
use common::{Server, TempDir, BIN};

const TOKEN: &str = "benchToken";
const PROBES: u64 = 20;
const TARGET_LATENCY: Duration = Duration::from_secs(1);
/// How long after the attackers close the RSS is read again.
const SETTLE: Duration = Duration::from_secs(15);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    raise_fd_limit();
    match args.first().map(String::as_str) {
        Some("all") => all_at_once(),
        Some("per-connection") => per_connection(args.get(1).map_or(BIN, String::as_str)),
        _ => panic!("usage: exhaustion all | per-connection [BINARY]"),
    }
}

fn start(binary: &str, name: &str) -> Server {
    Server::start_binary(binary, TempDir::new(name), &format!("[wechat]\ntoken = \"{TOKEN}\"\n"))
}

fn status_kib(server: &Server, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

fn sources(b: u8, first: u8, count: u8) -> Vec<Ipv4Addr> {
    (first..first + count).map(|d| loopback(0, b, d)).collect()
}

/// Keeps `make`'s connections open, re-opening every second those the
/// server has closed, until `stop`.
fn keep_up(
    stop: Arc<AtomicBool>,
    held_now: Arc<Mutex<usize>>,
    make: impl Fn(usize) -> Vec<TcpStream> + Send + 'static,
    count: usize,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut streams = make(count);
        while !stop.load(Ordering::SeqCst) {
            streams.retain(|s| fate(s) == Fate::Held);
            *held_now.lock().unwrap() = streams.len();
            let missing = count.saturating_sub(streams.len());
            streams.extend(make(missing));
            thread::sleep(Duration::from_secs(1));
        }
    })
}

fn all_at_once() {
    let server = start(BIN, "bench-exhaustion");
    let addr = server.addr;
    for n in 0..3 {
        probe(&server, TOKEN, 1000 + n);
    }
    let idle = status_kib(&server, "VmRSS:");

    let stop = Arc::new(AtomicBool::new(false));
    let one_address = Arc::new(Mutex::new(0));
    let fifty = Arc::new(Mutex::new(0));
    let keep_alive = Arc::new(Mutex::new(0));
    let attackers = vec![
        keep_up(
            Arc::clone(&stop),
            Arc::clone(&one_address),
            move |n| half_heads(addr, &[loopback(0, 0, 2)], n),
            5000,
        ),
        keep_up(
            Arc::clone(&stop),
            Arc::clone(&fifty),
            move |n| half_heads(addr, &sources(0, 10, 50), n.div_ceil(50)),
            1000,
        ),
        keep_up(
            Arc::clone(&stop),
            Arc::clone(&keep_alive),
            move |n| idle_keep_alive(addr, &sources(1, 1, 50), n.div_ceil(50)),
            1000,
        ),
    ];
    // 200 over 10 addresses; 15 rounds outlast the probes.
    let tricklers = Tricklers::start(addr, &sources(2, 1, 10), 20, 15);

    let mut verify = Vec::new();
    let mut message = Vec::new();
    let started = Instant::now();
    for n in 0..PROBES {
        let [v, m] = probe(&server, TOKEN, n);
        verify.push(v);
        message.push(m);
        println!(
            "probe {n:2}: verify {v:?}, message {m:?}; attackers hold {} + {} + {} (server RSS {})",
            one_address.lock().unwrap(),
            fifty.lock().unwrap(),
            keep_alive.lock().unwrap(),
            mib(status_kib(&server, "VmRSS:")),
        );
        let next = started + Duration::from_secs(n + 1);
        thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let peak = status_kib(&server, "VmHWM:");
    stop.store(true, Ordering::SeqCst);
    for attacker in attackers {
        attacker.join().unwrap();
    }
    drop(tricklers);
    let closed_at = Instant::now();
    thread::sleep(SETTLE);
    let after = status_kib(&server, "VmRSS:");
    let last = probe(&server, TOKEN, 5000);

    let all: Vec<Duration> = verify.iter().chain(&message).copied().collect();
    let slow = all.iter().filter(|d| **d >= TARGET_LATENCY).count();
    println!("--- all attacks at once, {PROBES} probes (verification + text message each)");
    for (name, samples) in [("verification", &verify), ("text message", &message)] {
        println!(
            "{name:>13}: p50 {:?}  p99 {:?}  max {:?}",
            quantile(samples, 0.5),
            quantile(samples, 0.99),
            quantile(samples, 1.0)
        );
    }
    println!("probes over 1 s: {slow} of {} (target 0)", all.len());
    println!("alive after: yes (last probe {:?})", last[0] + last[1]);
    println!("RSS idle {}, peak {} (target < 64 MB)", mib(idle), mib(peak));
    println!(
        "RSS {:?} after the attackers closed: {} ({:+.1} MB from idle; target within 8 MB)",
        closed_at.elapsed(),
        mib(after),
        (after as f64 - idle as f64) / 1024.0
    );
}

/// Opens connections of one kind to the server at the address.
type Attack = fn(SocketAddr) -> Vec<TcpStream>;

/// RSS per held connection: `COUNT` of each kind from spread addresses
/// (under every cap of either build), the RSS read once they are held.
fn per_connection(binary: &str) {
    const COUNT: usize = 200;
    let kinds: [(&str, Attack); 3] = [
        ("silent (connected, nothing sent)", |addr| {
            sources(3, 1, 20)
                .iter()
                .flat_map(|source| (0..COUNT / 20).filter_map(|_| connect_from(*source, addr).ok()))
                .collect()
        }),
        ("stalled half head", |addr| half_heads(addr, &sources(4, 1, 20), COUNT / 20)),
        ("idle keep-alive after one request", |addr| {
            idle_keep_alive(addr, &sources(5, 1, 20), COUNT / 20)
        }),
    ];
    println!("--- RSS per held connection, {binary}");
    for (name, attack) in kinds {
        let server = start(binary, "bench-per-connection");
        for n in 0..3 {
            probe(&server, TOKEN, n);
        }
        let before = status_kib(&server, "VmRSS:");
        let streams = attack(server.addr);
        // Let the server take in and read what they sent.
        thread::sleep(Duration::from_secs(1));
        let held_count = held(&streams);
        let during = status_kib(&server, "VmRSS:");
        println!(
            "{name:>34}: {held_count} held, {:.1} KiB each (RSS {} -> {})",
            (during as f64 - before as f64) / held_count.max(1) as f64,
            mib(before),
            mib(during)
        );
    }
}
