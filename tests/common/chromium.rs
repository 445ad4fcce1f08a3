//! Headless Chromium driven over the DevTools protocol: a real browser for
//! the tests that must see a page as a reader does. `bash tests/run.sh`
//! installs Debian's `chromium`; without it these tests fail saying so.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

use super::http_client::read_response;
use super::TempDir;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Chromium {
    child: Child,
    port: u16,
    _profile: TempDir,
}

impl Chromium {
    /// Starts `chromium --headless` with a fresh profile and a DevTools port
    /// of the kernel's choosing.
    pub fn launch() -> Chromium {
        let profile = TempDir::new("chromium-profile");
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox", // tests run as root, where the sandbox refuses to start
                "--disable-gpu",
                "--disable-crash-reporter",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--window-size=390,844",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Drop ends the renderers too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromium ({e}); install chromium: bash tests/run.sh")
            });
        let mut chromium = Chromium { child, port: 0, _profile: profile };
        let port_file = chromium._profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.lines().next()?.parse().ok())
            {
                chromium.port = port;
                return chromium;
            }
            if let Ok(Some(status)) = chromium.child.try_wait() {
                panic!("chromium exited at start ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "chromium did not open its DevTools port within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The tab Chromium opened at start, ready to be driven.
    pub fn page(&self) -> Tab {
        let targets: Value = serde_json::from_str(&self.http_get("/json/list"))
            .expect("DevTools /json/list is JSON");
        let url = targets
            .as_array()
            .and_then(|list| list.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .unwrap_or_else(|| panic!("no page target in {targets}"))
            .to_string();
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(CALL_TIMEOUT)).unwrap();
        let (socket, _) =
            tungstenite::client(url.as_str(), stream).expect("DevTools websocket handshake");
        Tab { socket, next_id: 0 }
    }

    fn http_get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(CALL_TIMEOUT)).unwrap();
        // DevTools answers only requests addressed to an IP or localhost.
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        // It keeps the connection open all the same: read by Content-Length.
        let response = read_response(&mut BufReader::new(stream)).expect("an answer from DevTools");
        response.text()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The group is ours: Chromium's browser, zygote and renderers. (procps
        // kill reads `-KILL -PGID` as two options and kills nothing: hence `--`.)
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// One tab over its DevTools websocket.
pub struct Tab {
    socket: WebSocket<TcpStream>,
    next_id: u64,
}

impl Tab {
    /// Calls a DevTools method and returns its result; events on the way are skipped.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket.send(Message::text(request.to_string())).expect("send to DevTools");
        let deadline = Instant::now() + CALL_TIMEOUT;
        while Instant::now() < deadline {
            let message =
                self.socket.read().unwrap_or_else(|e| panic!("{method}: DevTools connection: {e}"));
            let Message::Text(text) = message else { continue };
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == id {
                if let Some(error) = reply.get("error") {
                    panic!("{method} failed: {error}");
                }
                return reply["result"].clone();
            }
        }
        panic!("{method}: no answer within {CALL_TIMEOUT:?}");
    }

    /// Evaluates `expression` in the page; its value, copied out as JSON.
    pub fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression} threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Makes the tab a phone of `width` x `height` CSS pixels (honouring the
    /// page's viewport meta tag, as a phone's browser does).
    pub fn emulate_phone(&mut self, width: u32, height: u32, scale: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": scale, "mobile": true }),
        );
    }

    /// Opens `url` and waits until it and its pictures have loaded.
    pub fn open(&mut self, url: &str) {
        let result = self.call("Page.navigate", json!({ "url": url }));
        if let Some(error) = result.get("errorText") {
            panic!("cannot open {url}: {error}");
        }
        let deadline = Instant::now() + CALL_TIMEOUT;
        let loaded =
            format!("location.href === {} && document.readyState === 'complete'", json!(url));
        while self.evaluate(&loaded) != json!(true) {
            assert!(Instant::now() < deadline, "{url} did not finish loading");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of what the viewport shows.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine as _;
        let result = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let data = result["data"].as_str().expect("screenshot data");
        base64::engine::general_purpose::STANDARD.decode(data).expect("screenshot is base64")
    }
}
