//! The subcommands, one file each, and how a subcommand fails. The small
//! ones (check, simulate, convert) are still here.

pub mod books;
pub mod crawl;
pub mod menu;
pub mod serve;

use std::path::Path;

use crate::articles::{self, Articles, Index, LoadOptions};
use crate::bot::Bot;
use crate::config::Config;
use crate::library::{Catalog, SharedCatalog};
use crate::store::{self, Store};
use crate::wechat::reply::Reply;

/// How a subcommand failed: the message for stderr and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// A configuration or usage problem the owner must fix: exit 2.
    pub fn config(message: impl Into<String>) -> Self {
        Failure { code: 2, message: message.into() }
    }
    /// Something failed while running: exit 1.
    pub fn runtime(message: impl Into<String>) -> Self {
        Failure { code: 1, message: message.into() }
    }
}

/// `zatan check`: the effective settings (secrets masked) and whether each
/// directory is usable. Problems are collected so the owner sees all of them.
pub fn check(config: &Config, source: Option<&Path>) -> Result<(), Failure> {
    match source {
        Some(path) => println!("config: {} (valid)", path.display()),
        None => println!("config: none given, using the embedded demo defaults"),
    }
    for line in config.describe() {
        println!("  {line}");
    }
    println!("features:");
    let aes = if config.aes_keys().is_empty() { "off (no wechat.encoding_aes_key)" } else { "on" };
    println!("  safe/compatible mode (AES): {aes}");
    let api = match (&config.wechat.app_id, &config.wechat.app_secret) {
        (Some(_), Some(_)) => "configured (app_id and app_secret set)",
        _ => "off (needs wechat.app_id and wechat.app_secret)",
    };
    println!("  WeChat API (uploads, customer-service replies, menus): {api}");
    let sources: Vec<&str> = config.crawler.sources.iter().map(|s| s.name.as_str()).collect();
    if sources.is_empty() {
        println!("  OPDS crawler: off (no [[crawler.sources]])");
    } else {
        println!("  OPDS crawler: {} sources ({})", sources.len(), sources.join(", "));
    }
    let m = &config.mail;
    let mail = match (&m.host, &m.from) {
        (Some(host), Some(from)) => format!(
            "on ({host}:{} {}, from {from}: followers add this address to Amazon's approved list)",
            m.effective_port(),
            m.security.name()
        ),
        _ => "off (no mail.host)".into(),
    };
    println!("  Kindle mail: {mail}");
    let links = match &config.server.public_url {
        Some(url) => format!("chat links to {}/articles/", url.trim_end_matches('/')),
        None => "no chat links (needs server.public_url)".into(),
    };
    let raw = if config.articles.raw_html { "raw HTML allowed" } else { "raw HTML shown as text" };
    println!("  articles: on (pages at /articles/, {raw}, {links})");

    let mut problems = Vec::new();
    println!("directories:");
    for (key, dir) in config.directories() {
        match writable(dir) {
            Ok(()) => println!("  {key} = {}: writable", dir.display()),
            Err(e) => {
                println!("  {key} = {}: NOT writable ({e})", dir.display());
                problems.push(format!("{key} ({}) is not writable: {e}; create it or give zatan's user write access", dir.display()));
            }
        }
    }
    if problems.is_empty() {
        println!("ok");
        Ok(())
    } else {
        Err(Failure::config(problems.join("\n")))
    }
}

fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".zatan-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// `zatan simulate`: the bot's reply to one text, as a follower would see it.
pub fn simulate(config: &Config, from: &str, text: &str) -> String {
    // No uploader runs here, so `pic` honestly finds no picture ready. The
    // library is read from the store when no server holds it; the articles
    // are read once, as the server would at its start.
    let catalog = SharedCatalog::default();
    if config.storage.data_dir.join(store::FILE_NAME).exists() {
        match Store::open(&config.storage.data_dir).and_then(|store| store.books()) {
            Ok(books) => catalog.publish(Catalog::new(books)),
            Err(e) => eprintln!("zatan: the library is not available here ({e})"),
        }
    }
    let articles = Articles::default();
    let loaded = articles::load_dir(&config.articles.dir, LoadOptions { raw_html: config.articles.raw_html, not_before: 0 });
    articles.publish(Index::build(loaded.values(), 0));
    let bot = Bot::new(config.wechat.welcome.clone(), Default::default(), catalog, None)
        .with_articles(articles, config.server.public_url.clone());
    describe_reply(&bot.run_text(from, "simulate", text))
}

fn describe_reply(reply: &Reply) -> String {
    match reply {
        Reply::Text(text) => text.clone(),
        Reply::Image { media_id } => format!("[image {media_id}]"),
        Reply::Voice { media_id } => format!("[voice {media_id}]"),
        Reply::Video { media_id, title, .. } => format!("[video {media_id}] {title}"),
        Reply::Music { title, music_url, .. } => format!("[music] {title} {music_url}"),
        Reply::News(article) => {
            format!("[news] {}\n{}\n{}\n{}", article.title, article.description, article.pic_url, article.url)
        }
    }
}

/// `zatan convert`.
pub fn convert(input: &Path, output: &Path, options: &crate::ebook::ConvertOptions) -> Result<String, Failure> {
    crate::ebook::convert(input, output, options)
        .map(|report| report.to_string())
        .map_err(|e| Failure::runtime(e.to_string()))
}
