//! zatan: a WeChat Official Account server for small boxes.
//! The binary (`src/main.rs`) is a thin CLI over these modules.

pub mod articles;
pub mod book_format;
pub mod bot;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod crawler;
pub mod digest;
pub mod ebook;
pub mod email_address;
pub mod fd_limit;
pub mod fsutil;
pub mod http;
pub mod http_client;
pub mod jobs;
pub mod library;
pub mod log_summary;
pub mod logging;
pub mod mail;
pub mod pictures;
pub mod published;
pub mod random;
pub mod services;
pub mod shutdown;
pub mod sniff;
pub mod startup_pages;
pub mod store;
pub mod text;
pub mod tls;
pub mod toml_table;
pub mod url;
pub mod web;
pub mod wechat;
pub mod xml;

/// The tests' one `TempDir`, the file the integration tests use too.
#[cfg(test)]
#[path = "../tests/common/temp_dir.rs"]
mod temp_dir;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
