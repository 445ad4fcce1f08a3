//! Shared helpers for the integration tests, one module tree that every test
//! file mounts with `mod common;`: the real `zatan` binary run as a server or
//! a command, the HTTP client, the peers, the protocol helpers, and waiting.
// Each test binary uses only part of the helpers.
#![allow(dead_code)]

pub mod attack;
pub mod chromium;
pub mod ebook;
pub mod fake_api;
pub mod http_client;
pub mod images;
pub mod output;
mod server;
pub mod smtp;
mod temp_dir;
pub mod tmpfs;
pub mod wechat;

// Not every test binary uses each of these either.
#[allow(unused_imports)]
pub use server::{run_cli, Server, BIN};
pub use temp_dir::TempDir;

use std::time::{Duration, Instant};

/// Poll `probe` every 50 ms until it gives a value or `timeout` passes.
pub fn wait_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(value) = probe() {
            return Some(value);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
