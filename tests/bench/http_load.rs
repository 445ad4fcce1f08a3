//! Load generator for tests/bench/http.sh (not a test: it prints figures).
//!
//!   cargo bench --bench http_load -- ADDR MODE CONNECTIONS SECONDS
//!
//! MODE is `plain` (signed plaintext text messages), `safe` (AES safe mode) or
//! `static` (GET / — for the nginx yardstick). Every message has its own MsgId,
//! so zatan's retry cache never answers for it. Safe-mode bodies are encrypted
//! before the clock starts, so the client's AES work is not in the figures.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zatan::wechat::crypto::{self, AesKey};
use zatan::wechat::signature::sign;

const TOKEN: &str = "benchToken";
const APP_ID: &str = "wxbench0000000000";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const TIMESTAMP: &str = "1714037059";
const NONCE: &str = "486452656";
/// Distinct requests prepared per connection; cycled only if a run outlasts them
/// (then the 30 s retry cache would answer, so keep runs short enough).
const PREPARED_PER_CONNECTION: usize = 100_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [addr, mode, connections, seconds] = <[String; 4]>::try_from(args)
        .unwrap_or_else(|_| panic!("usage: http_load ADDR plain|safe|static CONNECTIONS SECONDS"));
    let connections: usize = connections.parse().unwrap();
    let duration = Duration::from_secs(seconds.parse().unwrap());

    let prepared: Vec<Vec<Vec<u8>>> = (0..connections)
        .map(|c| (0..PREPARED_PER_CONNECTION.min(400_000 / connections.max(1))).map(|i| request(&mode, c, i)).collect())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = prepared
        .into_iter()
        .map(|requests| {
            let (addr, stop) = (addr.clone(), stop.clone());
            std::thread::spawn(move || drive(&addr, &requests, &stop))
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::SeqCst);
    let mut latencies: Vec<u32> = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().unwrap();
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or(0);
    println!(
        "{mode:>6} c={connections:<3} {:>9.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms  ({} requests, {errors} errors)",
        latencies.len() as f64 / duration.as_secs_f64(),
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        latencies.len()
    );
}

fn request(mode: &str, connection: usize, i: usize) -> Vec<u8> {
    let msg_id = (connection as u64) << 32 | i as u64;
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o_bench{connection}]]></FromUserName>\
         <CreateTime>1714037000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[help]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    let signature = sign(&[TOKEN, TIMESTAMP, NONCE]);
    let (query, body) = match mode {
        "static" => return b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec(),
        "plain" => (format!("signature={signature}&timestamp={TIMESTAMP}&nonce={NONCE}"), xml),
        "safe" => {
            let key = AesKey::from_encoding_aes_key(KEY).unwrap();
            let encrypt = crypto::encrypt(&key, &xml, APP_ID, [7; 16]);
            let msg_signature = sign(&[TOKEN, TIMESTAMP, NONCE, &encrypt]);
            (
                format!("signature={signature}&timestamp={TIMESTAMP}&nonce={NONCE}&encrypt_type=aes&msg_signature={msg_signature}"),
                format!("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
            )
        }
        other => panic!("unknown mode {other}"),
    };
    let mut raw = format!(
        "POST /wechat?{query} HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body.as_bytes());
    raw
}

/// One keep-alive connection sending requests back to back; latencies in µs.
fn drive(addr: &str, requests: &[Vec<u8>], stop: &AtomicBool) -> (Vec<u32>, usize) {
    let mut latencies = Vec::with_capacity(requests.len());
    let mut errors = 0;
    let mut reader = connect(addr);
    for raw in requests.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let start = Instant::now();
        let ok = reader.get_mut().write_all(raw).is_ok() && read_one(&mut reader);
        if ok {
            latencies.push(start.elapsed().as_micros() as u32);
        } else {
            errors += 1;
            reader = connect(addr);
        }
    }
    (latencies, errors)
}

fn connect(addr: &str) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    BufReader::new(stream)
}

fn read_one(reader: &mut BufReader<TcpStream>) -> bool {
    let mut line = String::new();
    let mut length = 0usize;
    let mut status_ok = false;
    let mut first = true;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        if first {
            status_ok = line.starts_with("HTTP/1.1 200");
            first = false;
        } else if line == "\r\n" {
            break;
        } else if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).is_ok() && status_ok
}
