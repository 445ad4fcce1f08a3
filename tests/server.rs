//! The real binary under hostile clients, its CLI contract, its store and its
//! shutdown. (The HTTP front's own edge cases are covered in-process by
//! tests/http_front.rs; here each attack goes at `zatan serve` itself.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{run_cli, wechat, Server, TempDir};

const TOKEN: &str = "s3cretTokenValue";
const APP_SECRET: &str = "appS3cretThatMustNotLeak0123456789";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn secret_config() -> String {
    format!(
        "[wechat]\ntoken = \"{TOKEN}\"\napp_id = \"wx2c2769f8efd9abc2\"\napp_secret = \"{APP_SECRET}\"\nencoding_aes_key = \"{KEY}\"\n"
    )
}

#[track_caller]
fn assert_still_serving(server: &Server, after: &str) {
    let reply = wechat::say(server, TOKEN, "o_ok", 1, "help");
    assert!(reply.xml().contains("可用命令"), "after {after}");
}

/// Send bytes and read whatever comes back until the server closes or times out.
fn send_raw(server: &Server, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = stream.write_all(raw);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn hostile_clients_do_not_take_it_down() {
    let server = Server::start("hostile", &secret_config());
    assert_still_serving(&server, "start");
    let rss_before = server.rss_kib();

    let bad_length =
        send_raw(&server, b"POST /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
    assert!(bad_length.starts_with("HTTP/1.1 400"), "{bad_length}");
    assert_still_serving(&server, "Content-Length: abc");

    let no_length = send_raw(&server, b"POST /wechat HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(no_length.starts_with("HTTP/1.1 411"), "{no_length}");

    let chunked = send_raw(
        &server,
        b"POST /wechat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert!(chunked.starts_with("HTTP/1.1 501"), "{chunked}");

    let many_headers: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let headers =
        send_raw(&server, format!("GET /healthz HTTP/1.1\r\n{many_headers}\r\n").as_bytes());
    assert!(headers.starts_with("HTTP/1.1 431"), "{headers}");

    // One header line that never ends: 32 MB in chunks. The server must answer
    // 431 and close instead of buffering it.
    {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nX-Endless: ").unwrap();
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..512 {
            if stream.write_all(&chunk).is_err() {
                break; // closed on us: good
            }
        }
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 431"));
    }
    assert_still_serving(&server, "endless header");

    // A 10 MB body is refused by its Content-Length before it is read.
    {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        stream
            .write_all(b"POST /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n")
            .unwrap();
        let _ = stream.write_all(&vec![b'x'; 1024 * 1024]);
        let mut out = [0u8; 64];
        let n = stream.read(&mut out).unwrap();
        assert!(String::from_utf8_lossy(&out[..n]).starts_with("HTTP/1.1 413"));
    }

    // Binary garbage and a request split into one-byte writes.
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let answer = send_raw(&server, &garbage);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400"), "{answer}");
    {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.set_nodelay(true).unwrap();
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" {
            stream.write_all(&[*byte]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    }

    // Pipelined requests on one connection are answered in order.
    {
        let pipelined = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let out = send_raw(&server, pipelined.as_bytes());
        let statuses: Vec<&str> =
            out.match_indices("HTTP/1.1 ").map(|(i, _)| &out[i + 9..i + 12]).collect();
        assert_eq!(statuses, ["200", "404", "200"], "{out}");
    }

    // 300 connections that send half a request and wait (issue 13): they
    // used to fill the old cap of 256 and lock everyone out. Now the server
    // holds them all (127.0.0.1 is a trusted proxy address, so the
    // per-address cap does not apply, and 300 is far under max_connections)
    // and answers a real message while they wait.
    let half_open: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut s = TcpStream::connect(server.addr).ok()?;
            let _ = s.write_all(b"POST /wechat HTTP/1.1\r\nHost: x\r\n");
            Some(s)
        })
        .collect();
    assert_eq!(half_open.len(), 300);
    assert_still_serving(&server, "300 half-open connections, while they are open");
    let still_open = half_open
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).unwrap();
            matches!(s.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    assert_eq!(still_open, 300, "the server held every half-open connection");
    drop(half_open);
    assert_still_serving(&server, "half-open connections");

    let rss_after = server.rss_kib();
    assert!(
        rss_after < rss_before + 20 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB under attack"
    );
    let (status, _, logs) = server.terminate();
    assert!(status.success());
    for secret in [TOKEN, APP_SECRET, KEY] {
        assert!(!logs.contains(secret), "a secret reached the log:\n{logs}");
    }
}

#[test]
fn secrets_never_reach_logs_or_check_output() {
    let server = Server::start("secrets", &secret_config());
    // Good and bad requests of every kind, including a bad signature and bad AES.
    assert_still_serving(&server, "start");
    let _ = server.post("/wechat?signature=bad&timestamp=1&nonce=2", b"<xml/>");
    let _ = server.post(
        &format!("/wechat?{}&encrypt_type=aes&msg_signature=00", wechat::signed_query(TOKEN)),
        b"<xml><Encrypt>AAAA</Encrypt></xml>",
    );
    let (query, body) = wechat::safe_mode(
        TOKEN,
        "wx2c2769f8efd9abc2",
        KEY,
        &wechat::text_message("o_s", 5, "help"),
    );
    let _ = server.post(&format!("/wechat?{query}"), body.as_bytes());
    let dir = server.dir.path().to_path_buf();
    let (code, stdout, stderr) = run_cli(&dir, &["check", "--config", "config.toml"]);
    let (_, _, logs) = server.terminate();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("wechat.app_secret = ***"), "{stdout}");
    assert!(stdout.contains("wechat.app_id = wx2c2769f8efd9abc2"), "{stdout}");
    for secret in [TOKEN, APP_SECRET, KEY] {
        assert!(!logs.contains(secret), "a secret reached the log:\n{logs}");
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret reached check output:\n{stdout}"
        );
    }
}

#[test]
fn sigterm_stops_it_with_status_zero_within_five_seconds() {
    let server = Server::start("sigterm", "");
    // An idle keep-alive connection must not hold up the exit.
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 256];
    let _ = idle.read(&mut buf).unwrap();
    let (status, took, logs) = server.terminate();
    assert!(status.success(), "exit status {status:?}\n{logs}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(logs.contains("stopped"), "{logs}");
}

#[test]
fn the_demo_runs_without_a_config_file() {
    let dir = TempDir::new("demo");
    // The demo's fixed port may be taken on a shared machine; check what it
    // would use instead of binding it, and serve the same defaults on port 0.
    let (code, stdout, _) = run_cli(dir.path(), &["check"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("server.listen = 127.0.0.1:8080"), "{stdout}");
    assert!(stdout.contains("embedded demo defaults"), "{stdout}");
    let server = Server::start_in(dir, "");
    let ok = server.get(&format!("/wechat?{}&echostr=demo", wechat::signed_query("zatan")));
    assert_eq!(ok.text(), "demo");
    assert!(server.wait_for_log("demo token", Duration::from_secs(5)), "{}", server.logs());
    for sub in ["data", "pictures", "books", "articles"] {
        assert!(server.dir.path().join(sub).is_dir(), "{sub} created");
    }
}

#[test]
fn cli_contract() {
    let dir = TempDir::new("cli");
    let (code, stdout, _) = run_cli(dir.path(), &["--version"]);
    assert_eq!((code, stdout.trim()), (0, format!("zatan {}", env!("CARGO_PKG_VERSION")).as_str()));
    let (code, stdout, _) = run_cli(dir.path(), &["help"]);
    assert_eq!(code, 0);
    for command in ["serve", "check", "simulate", "convert", "--version"] {
        assert!(stdout.contains(command), "help mentions {command}");
    }
    let (code, stdout, _) = run_cli(dir.path(), &["simulate", "帮助"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("可用命令"), "{stdout}");

    let (code, _, stderr) = run_cli(dir.path(), &["serve", "--confg", "x"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--confg"), "{stderr}");
    let (code, _, stderr) = run_cli(dir.path(), &["frobnicate"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("frobnicate"), "{stderr}");

    std::fs::write(
        dir.path().join("typo.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\ncallback_pth = \"/x\"\n",
    )
    .unwrap();
    let (code, _, stderr) = run_cli(dir.path(), &["serve", "--config", "typo.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("callback_pth") && stderr.contains("typo.toml"), "{stderr}");
    let (code, _, stderr) = run_cli(dir.path(), &["check", "--config", "missing.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.toml"), "{stderr}");

    std::fs::write(
        dir.path().join("ro.toml"),
        "[pictures]\ndir = \"/proc/zatan-cannot-write-here\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_cli(dir.path(), &["check", "--config", "ro.toml"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("pictures.dir"), "{stderr}");
}

#[test]
fn a_second_server_on_the_same_store_is_refused_clearly() {
    let first = Server::start("locked", "");
    let dir = first.dir.path();
    std::fs::write(dir.join("second.toml"), "[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let (code, _, stderr) = run_cli(dir, &["serve", "--config", "second.toml"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("in use by another zatan process"), "{stderr}");

    let corrupt = TempDir::new("corrupt");
    std::fs::create_dir_all(corrupt.path().join("data")).unwrap();
    std::fs::write(corrupt.path().join("data/zatan.redb"), vec![7u8; 4096]).unwrap();
    std::fs::write(corrupt.path().join("c.toml"), "[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let (code, _, stderr) = run_cli(corrupt.path(), &["serve", "--config", "c.toml"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not a readable zatan store"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
