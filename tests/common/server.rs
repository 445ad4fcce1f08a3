//! The real `zatan` binary: `zatan serve` in its own temp dir, and one-shot
//! runs of a command.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::http_client::{post, request, Response};
use super::output::Output;
use super::{wait_until, TempDir};

pub const BIN: &str = env!("CARGO_BIN_EXE_zatan");
/// Until `zatan serve` says where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// `zatan serve` running in its own temp dir on an ephemeral loopback port.
pub struct Server {
    process: Process,
    pub addr: SocketAddr,
    pub dir: TempDir,
    /// Its stderr.
    logs: Output,
}

impl Server {
    /// Start with `config` (TOML) written to the temp dir; `server.listen` is added.
    pub fn start(name: &str, config: &str) -> Server {
        Self::start_in(TempDir::new(name), config)
    }

    pub fn start_in(dir: TempDir, config: &str) -> Server {
        Self::start_binary(BIN, dir, config)
    }

    /// As `start_in`, with another build of zatan (the benches compare one).
    pub fn start_binary(binary: &str, dir: TempDir, config: &str) -> Server {
        let config = if config.contains("[server]") {
            config.replacen("[server]", "[server]\nlisten = \"127.0.0.1:0\"", 1)
        } else {
            format!("{config}\n[server]\nlisten = \"127.0.0.1:0\"\n")
        };
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let mut child = Command::new(binary)
            .args(["serve", "--config", "config.toml"])
            .current_dir(dir.path())
            .env("ZATAN_LOG", "debug")
            // serve writes nothing there, and an unread pipe could fill and block it
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start zatan");
        let logs = Output::collect(child.stderr.take().unwrap());
        let mut process = Process(child);
        let listening = wait_until(START_TIMEOUT, || {
            if let Some(line) = logs.line_with("listening on http://") {
                return Some(Ok(line));
            }
            process.0.try_wait().unwrap().map(Err)
        });
        let addr = match listening {
            Some(Ok(line)) => {
                let rest = line.split("listening on http://").nth(1).unwrap();
                let addr: String = rest.chars().take_while(|c| *c != '/' && *c != ' ').collect();
                addr.parse().unwrap()
            }
            Some(Err(status)) => {
                panic!("zatan exited at start ({status}); its log:\n{}", logs.text())
            }
            None => {
                panic!("zatan did not start within {START_TIMEOUT:?}; its log:\n{}", logs.text())
            }
        };
        Server { process, addr, dir, logs }
    }

    /// The log lines read so far.
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// Wait until a log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.logs.wait_for(needle, timeout)
    }

    /// Wait until `n` log lines contain `needle`.
    pub fn wait_for_logs(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        self.logs.wait_for_count(needle, n, timeout)
    }

    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// Resident set size of the server process in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// kill -9, as a power cut or the OOM killer would; the directory survives
    /// for a restart.
    pub fn kill9(self) -> TempDir {
        let Server { mut process, dir, .. } = self;
        process.0.kill().unwrap();
        process.0.wait().unwrap();
        dir
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the exit status and how long the exit took.
    pub fn terminate(mut self) -> (ExitStatus, Duration, String) {
        let start = Instant::now();
        self.signal("TERM");
        let status = loop {
            if let Some(status) = self.process.0.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(15) {
                let _ = self.process.0.kill();
                panic!("zatan did not exit on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = start.elapsed();
        self.logs.wait_for_end();
        (status, took, self.logs())
    }

    pub fn get(&self, target: &str) -> Response {
        request(
            self.addr,
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    }

    pub fn post(&self, target: &str, body: &[u8]) -> Response {
        post(self.addr, target, "text/xml", body)
    }
}

/// A child process, killed and reaped when dropped: however a test ends, no
/// server outlives it.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run `zatan ARGS` to completion in `dir`.
pub fn run_cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
