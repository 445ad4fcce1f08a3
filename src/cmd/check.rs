//! `zatan check`: the effective settings and whether each directory is usable.

use std::path::Path;

use super::Failure;
use crate::config::Config;

/// `zatan check`: the effective settings (secrets masked) and whether each
/// directory is usable. Problems are collected so the owner sees all of them.
pub fn run(config: &Config, source: Option<&Path>) -> Result<(), Failure> {
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
