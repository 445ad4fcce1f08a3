//! A real SMTP server on loopback for the mail tests: `tests/peers/smtp_server.py`
//! (Python's aiosmtpd, with a private CA made by trustme), started and read
//! back from Rust.
//!
//! When python3 with aiosmtpd and trustme is missing, starting a peer panics
//! with how to get it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::TempDir;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/smtp_server.py");
const INSTALL_HINT: &str =
    "install with: bash tests/run.sh (or apt-get install python3-aiosmtpd python3-trustme)";
pub const USER: &str = "zatan-bot";
pub const PASSWORD: &str = "s3cret-smtp-pass";
pub const FROM: &str = "books@zatan.example";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Starttls,
    Tls,
    Plain,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Starttls => "starttls",
            Mode::Tls => "tls",
            Mode::Plain => "plain",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmtpOptions {
    pub mode: Mode,
    /// Require AUTH with `USER` / `PASSWORD`.
    pub auth: bool,
    /// RCPT TO containing this gets 550.
    pub reject_rcpt: Option<String>,
    /// The first N messages get 451 after DATA.
    pub tempfail: u32,
    /// Wait this long before answering the end of DATA.
    pub stall_data: Option<Duration>,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        SmtpOptions {
            mode: Mode::Starttls,
            auth: true,
            reject_rcpt: None,
            tempfail: 0,
            stall_data: None,
        }
    }
}

/// One message the peer accepted, as Python's `email` module read it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The login that authenticated, if any.
    pub auth_login: Option<String>,
    /// Whether the session was encrypted when the message arrived.
    pub tls: bool,
    pub header_from: String,
    pub header_to: String,
    pub message_id: String,
    /// The Subject header as sent (before any RFC 2047 decoding).
    pub subject_raw: String,
    pub subject_ascii: bool,
    pub body_text: Option<String>,
    /// Whether the whole message was 7-bit.
    pub message_ascii: bool,
    pub attachments: Vec<ReceivedAttachment>,
    pub eml: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct ReceivedAttachment {
    /// Decoded from RFC 2231 / RFC 2047 by Python's `email`.
    pub file_name: Option<String>,
    pub content_type: String,
    pub transfer_encoding: String,
    pub content_disposition_raw: String,
    pub bytes: Vec<u8>,
}

pub struct SmtpPeer {
    child: Option<Child>,
    port: u16,
    options: SmtpOptions,
    /// The CA (`ca/`) and what arrived (`out/`).
    dir: TempDir,
}

impl SmtpPeer {
    pub fn start(options: SmtpOptions) -> SmtpPeer {
        let dir = TempDir::new("smtp");
        let mut peer = SmtpPeer { child: None, port: 0, options, dir };
        peer.spawn();
        peer
    }

    fn spawn(&mut self) {
        let o = &self.options;
        let mut command = Command::new(python());
        command
            .arg(SCRIPT)
            .args(["--mode", o.mode.name(), "--port", &self.port.to_string()])
            .arg("--out")
            .arg(self.out_dir())
            .arg("--ca-dir")
            .arg(self.dir.path().join("ca"));
        if o.auth {
            command.args(["--user", USER, "--password", PASSWORD]);
        }
        if let Some(substring) = &o.reject_rcpt {
            command.args(["--reject-rcpt", substring]);
        }
        if o.tempfail > 0 {
            command.args(["--tempfail", &o.tempfail.to_string()]);
        }
        if let Some(stall) = o.stall_data {
            command.args(["--stall-data", &stall.as_secs_f64().to_string()]);
        }
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            for _ in lines {}
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).ok().flatten();
        let port = line
            .as_deref()
            .and_then(|l| l.strip_prefix("ready "))
            .and_then(|p| p.trim().parse().ok());
        match port {
            Some(port) => {
                self.port = port;
                self.child = Some(child);
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the SMTP peer did not start (its stderr is above); {INSTALL_HINT}");
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The private CA that signed the peer's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca").join("ca.pem")
    }

    pub fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// A `[mail]` section that points zatan at this peer.
    pub fn mail_config_toml(&self) -> String {
        let security = self.options.mode.name();
        let mut toml = format!(
            "[mail]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"{security}\"\nfrom = \"{FROM}\"\ntimeout_secs = 10\n",
            self.port
        );
        if self.options.mode != Mode::Plain {
            toml += &format!("ca_file = {:?}\n", self.ca_file().display().to_string());
        }
        if self.options.auth {
            toml += &format!("username = \"{USER}\"\npassword = \"{PASSWORD}\"\n");
        }
        toml
    }

    /// Stop the server (SIGKILL): connections are refused until `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same port with the same CA and the same out dir.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // the port may linger for a moment after the kill
            if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok()
                || Instant::now() > deadline
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.spawn();
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let out = self.out_dir();
        let mut names: Vec<String> = match std::fs::read_dir(&out) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names.iter().map(|name| read_summary(&out, name)).collect()
    }

    /// Wait until the peer has received the DATA of at least `n` messages,
    /// accepted or not: from then on the client waits for the peer's answer
    /// (for `stall_data`, if set). Panics after `timeout`.
    pub fn wait_for_data(&self, n: usize, timeout: Duration) {
        let data_received = || {
            let entries = std::fs::read_dir(self.out_dir()).ok()?;
            let names = entries.filter_map(|e| e.ok()?.file_name().into_string().ok());
            (names.filter(|name| name.ends_with(".data")).count() >= n).then_some(())
        };
        if super::wait_until(timeout, data_received).is_none() {
            panic!("the SMTP peer did not receive the DATA of {n} message(s) within {timeout:?}");
        }
    }

    /// Wait until at least `n` messages arrived; panics after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            if Instant::now() > deadline {
                panic!(
                    "the SMTP peer received {} message(s) within {timeout:?}, expected {n}",
                    received.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CA certificate that signed nothing this peer serves.
pub fn write_unrelated_ca(path: &Path) {
    let status = Command::new(python())
        .arg(SCRIPT)
        .arg("--write-ca")
        .arg(path)
        .status()
        .expect("run python3");
    assert!(status.success(), "could not make a CA; {INSTALL_HINT}");
}

/// A python3 that has aiosmtpd and trustme: Debian's (where apt installs
/// them) before whatever `python3` comes first on PATH.
fn python() -> &'static str {
    static FOUND: OnceLock<Option<&'static str>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        ["/usr/bin/python3", "python3"].into_iter().find(|python| {
            Command::new(python)
                .args(["-c", "import aiosmtpd, trustme"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    });
    found.unwrap_or_else(|| panic!("no python3 with aiosmtpd and trustme; {INSTALL_HINT}"))
}

fn read_summary(out: &Path, name: &str) -> Received {
    let text = std::fs::read_to_string(out.join(name)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = |key: &str| v[key].as_str().unwrap_or_default().to_string();
    let attachments = v["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| ReceivedAttachment {
            file_name: a["filename"].as_str().map(str::to_string),
            content_type: a["content_type"].as_str().unwrap().to_string(),
            transfer_encoding: a["transfer_encoding"].as_str().unwrap_or_default().to_string(),
            content_disposition_raw: a["content_disposition_raw"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            bytes: std::fs::read(out.join(a["file"].as_str().unwrap())).unwrap(),
        })
        .collect();
    Received {
        mail_from: s("mail_from"),
        rcpt_tos: v["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect(),
        auth_login: v["auth_login"].as_str().map(str::to_string),
        tls: v["tls"].as_bool().unwrap(),
        header_from: s("header_from"),
        header_to: s("header_to"),
        message_id: s("message_id"),
        subject_raw: s("subject_raw"),
        subject_ascii: v["subject_ascii"].as_bool().unwrap(),
        body_text: v["body_text"].as_str().map(str::to_string),
        message_ascii: v["message_ascii"].as_bool().unwrap(),
        attachments,
        eml: std::fs::read(out.join(s("eml"))).unwrap(),
    }
}
