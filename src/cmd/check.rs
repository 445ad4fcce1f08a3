//! `zatan check`: the effective settings and whether each directory is usable.

use std::fmt;
use std::path::Path;

use super::Failure;
use crate::articles::EXTENSION;
use crate::bot::rules::{Action, Rules};
use crate::config::Config;

/// `zatan check`: the effective settings (secrets masked) and whether each
/// directory is usable. Problems are collected so the owner sees all of them.
pub fn run(config: &Config, source: Option<&Path>) -> Result<(), Failure> {
    match source {
        Some(path) => println!("config: {} (valid)", path.display()),
        None => println!("config: none given, using the embedded demo defaults"),
    }
    for line in describe(config) {
        println!("  {line}");
    }
    println!("features:");
    let aes =
        if config.wechat.aes_keys().is_empty() { "off (no wechat.encoding_aes_key)" } else { "on" };
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
    match &config.server.public_url {
        Some(url) => println!(
            "  e-book downloads: links to {}/books/ID (valid {} s, {} a day per follower)",
            url.trim_end_matches('/'),
            config.books.link_ttl_secs,
            config.books.daily_downloads_per_user
        ),
        None => println!(
            "  warning: e-book downloads: 下载 gets no link until server.public_url is set \
             (the address followers' phones reach this server at, like https://example.com)"
        ),
    }
    let opds = match config.opds.credentials() {
        Some(_) => "on at /opds (HTTP Basic auth with opds.username and opds.password)",
        None => "off (needs opds.username and opds.password)",
    };
    println!("  OPDS catalog for e-readers: {opds}");
    println!("  account: {}", account_kind(config.wechat.verified));

    let mut problems = Vec::new();
    let path = &config.rules.file;
    match Rules::load(path) {
        Ok(None) => println!("rules: none ({} does not exist)", path.display()),
        Ok(Some(rules)) => {
            println!(
                "rules: {} in {}, tried in this order before the commands",
                rules.len(),
                path.display()
            );
            for rule in rules.iter() {
                println!("  {rule}");
            }
            for warning in rule_warnings(config, &rules) {
                println!("  warning: {warning}");
            }
        }
        Err(e) => {
            println!("rules: NOT usable");
            problems.push(e.to_string());
        }
    }
    println!("directories:");
    for (key, dir) in config.directories() {
        match writable(dir) {
            Ok(()) => println!("  {key} = {}: writable", dir.display()),
            Err(e) => {
                println!("  {key} = {}: NOT writable ({e})", dir.display());
                problems.push(format!(
                    "{key} ({}) is not writable: {e}; create it or give zatan's user write access",
                    dir.display()
                ));
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

/// What an account of this kind can do: WeChat's own limits, which no setting lifts.
fn account_kind(verified: bool) -> &'static str {
    if verified {
        "verified (wechat.verified = true): passive replies, temporary media and permanent \
         material, customer-service messages (late results are pushed, within 48 h of the \
         follower's last message), the menu API"
    } else {
        "unverified subscription account (wechat.verified = false): passive replies within 5 s \
         (text, image, news), temporary media (pictures are uploaded again before WeChat's 3 days run out); no \
         customer-service messages (late results wait for 状态), no menu API (zatan menu push \
         gets 48001; keyword rules answer instead), no permanent material"
    }
}

/// What the owner should know about the rules: each one that takes a
/// command's words, the welcome it replaces, and what it names that is missing.
fn rule_warnings(config: &Config, rules: &Rules) -> Vec<String> {
    let mut warnings = rules.shadowing();
    if let Some(welcome) = rules.welcome() {
        warnings.push(format!(
            "the rule at line {} answers new followers: wechat.welcome is not used",
            welcome.line
        ));
    }
    let api = config.wechat.app_id.is_some() && config.wechat.app_secret.is_some();
    for rule in rules.iter() {
        let line = rule.line;
        match &rule.action {
            Action::Image(name) => {
                if !config.pictures.dir.join(name).is_file() {
                    warnings.push(format!(
                        "the rule at line {line} sends {name:?}, which is not in pictures.dir ({}): followers are told it cannot be sent yet",
                        config.pictures.dir.display()
                    ));
                } else if !api {
                    warnings.push(format!(
                        "the rule at line {line} sends {name:?}, but pictures are uploaded only with wechat.app_id and wechat.app_secret: followers are told it cannot be sent yet"
                    ));
                }
            }
            Action::Article(slug) => {
                if !config.articles.dir.join(format!("{slug}{EXTENSION}")).is_file() {
                    warnings.push(format!(
                        "the rule at line {line} shows the article {slug:?}, but there is no {slug}{EXTENSION} in articles.dir ({})",
                        config.articles.dir.display()
                    ));
                }
            }
            Action::Reply(_) | Action::Command(_) => {}
        }
    }
    warnings
}

/// The effective settings as `key = value` lines, secrets masked.
pub fn describe(config: &Config) -> Vec<String> {
    fn opt<T: fmt::Display>(value: &Option<T>) -> String {
        value.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "(not set)".into())
    }
    let (s, w, m) = (&config.server, &config.wechat, &config.mail);
    let mut lines = vec![
        format!("server.listen = {}", s.listen),
        format!("server.callback_path = {}", s.callback_path),
        format!("server.public_url = {}", opt(&s.public_url)),
        format!("server.body_limit_bytes = {}", s.body_limit_bytes),
        format!("server.max_connections = {}", s.max_connections),
        format!("server.max_connections_per_ip = {}", s.max_connections_per_ip),
        format!("server.trusted_proxies = {:?}", s.trusted_proxies),
        format!("wechat.token = {}", w.token),
        format!("wechat.app_id = {}", opt(&w.app_id)),
        format!("wechat.app_secret = {}", opt(&w.app_secret)),
        format!("wechat.encoding_aes_key = {}", opt(&w.encoding_aes_key)),
        format!("wechat.previous_encoding_aes_key = {}", opt(&w.previous_encoding_aes_key)),
        format!("wechat.api_base = {}", w.api_base),
        format!("wechat.token_api = {:?}", w.token_api).to_lowercase(),
        format!("wechat.verified = {}", w.verified),
        format!("wechat.welcome = {:?}", w.welcome),
        format!("storage.data_dir = {}", config.storage.data_dir.display()),
        format!("pictures.dir = {}", config.pictures.dir.display()),
        format!("pictures.media_lifetime_secs = {}", config.pictures.media_lifetime_secs),
        format!("books.dir = {}", config.books.dir.display()),
        format!("books.link_ttl_secs = {}", config.books.link_ttl_secs),
        format!("books.daily_downloads_per_user = {}", config.books.daily_downloads_per_user),
        format!("articles.dir = {}", config.articles.dir.display()),
        format!("articles.raw_html = {}", config.articles.raw_html),
        format!("crawler.user_agent = {}", config.crawler.user_agent),
        format!("crawler.per_host_delay_ms = {}", config.crawler.per_host_delay_ms),
        format!("crawler.max_book_bytes = {}", config.crawler.max_book_bytes),
        format!("crawler.daily_bytes_budget = {}", config.crawler.daily_bytes_budget),
        format!("crawler.max_pages = {}", config.crawler.max_pages),
        format!("crawler.max_depth = {}", config.crawler.max_depth),
        format!("mail.host = {}", opt(&m.host)),
        format!("mail.port = {}", m.effective_port()),
        format!("mail.security = {}", m.security.name()),
        format!("mail.username = {}", opt(&m.username)),
        format!("mail.password = {}", opt(&m.password)),
        format!("mail.from = {}", opt(&m.from)),
        format!("mail.ca_file = {}", opt(&m.ca_file.as_ref().map(|p| p.display().to_string()))),
        format!("mail.allowed_domains = {}", m.allowed_domains.join(", ")),
        format!("mail.daily_limit_per_user = {}", m.daily_limit_per_user),
        format!("mail.max_mail_bytes = {}", m.max_mail_bytes),
        format!("mail.timeout_secs = {}", m.timeout_secs),
        format!("mail.retry_secs = {}", m.retry_secs),
        format!("opds.username = {}", opt(&config.opds.username)),
        format!("opds.password = {}", opt(&config.opds.password)),
        format!("opds.page_size = {}", config.opds.page_size),
        format!("rules.file = {}", config.rules.file.display()),
        format!("log.level = {}", config.log.level),
        format!("log.file = {}", opt(&config.log.file.as_ref().map(|p| p.display().to_string()))),
    ];
    for source in &config.crawler.sources {
        lines.push(format!(
            "crawler.sources {}: url = {}, username = {}, password = {}, interval_hours = {}, max_books = {}, formats = {}, ignore_robots_txt = {}",
            source.name,
            source.url,
            opt(&source.username),
            opt(&source.password),
            source.interval_hours,
            source.max_books,
            source.formats.join(","),
            source.ignore_robots_txt
        ));
    }
    lines
}

fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".zatan-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book_format::Format;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn secrets_are_masked_everywhere() {
        let text = format!(
            "[wechat]\ntoken = \"tok3nValue\"\napp_id = \"wx1\"\napp_secret = \"s3cr3tValue\"\nencoding_aes_key = \"{KEY}\""
        );
        let c = Config::parse(&text).unwrap();
        c.validate().unwrap();
        let shown = format!("{:?}\n{}", c, describe(&c).join("\n"));
        for secret in ["tok3nValue", "s3cr3tValue", KEY] {
            assert!(!shown.contains(secret), "{secret} leaked");
        }
        assert!(shown.contains("wechat.app_id = wx1"));
        // a bad key's error does not quote it either
        let bad = "[wechat]\napp_id = \"wx1\"\nencoding_aes_key = \"NotAKey-secretish\"";
        let err = Config::parse(bad).unwrap().validate().unwrap_err();
        assert!(!err.0.contains("NotAKey-secretish"));
    }

    #[test]
    fn crawler_sources_defaults_and_masked_password() {
        let text = "[crawler]\nper_host_delay_ms = 500\n\n[[crawler.sources]]\nname = \"home\"\nurl = \"http://127.0.0.1:8081/opds\"\nusername = \"alice\"\npassword = \"pa55wordValue\"\n\n[[crawler.sources]]\nname = \"gutenberg\"\nurl = \"https://www.gutenberg.org/ebooks.opds/\"\nformats = [\"txt\", \"EPUB\"]\n";
        let c = Config::parse(text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.crawler.max_book_bytes, 50 * 1024 * 1024);
        let home = &c.crawler.sources[0];
        assert_eq!((home.interval_hours, home.max_books, home.ignore_robots_txt), (24, 100, false));
        assert_eq!(home.formats(), [Format::Epub, Format::Txt, Format::Mobi]);
        assert_eq!(c.crawler.sources[1].formats(), [Format::Txt, Format::Epub]);
        let shown = format!("{:?}\n{}", c, describe(&c).join("\n"));
        assert!(!shown.contains("pa55wordValue"));
        assert!(shown
            .contains("crawler.sources home: url = http://127.0.0.1:8081/opds, username = alice"));
        assert_eq!(c.crawl_sources(None).unwrap().len(), 2);
        assert_eq!(c.crawl_sources(Some("gutenberg")).unwrap()[0].name, "gutenberg");
        let err = c.crawl_sources(Some("nope")).unwrap_err();
        assert!(err.0.contains("home, gutenberg"), "{err}");
        assert!(Config::default()
            .crawl_sources(None)
            .unwrap_err()
            .0
            .contains("[[crawler.sources]]"));
    }

    #[test]
    fn mail_password_is_masked() {
        let text = "[mail]\nhost = \"smtp.example.com\"\nfrom = \"b@example.com\"\nusername = \"bot\"\npassword = \"m4ilPassw0rd\"";
        let c = Config::parse(text).unwrap();
        c.validate().unwrap();
        let shown = format!("{:?}\n{}", c, describe(&c).join("\n"));
        assert!(!shown.contains("m4ilPassw0rd"), "{shown}");
        assert!(shown.contains("mail.password = *** (12 characters)"), "{shown}");
        assert!(
            shown.contains("mail.host = smtp.example.com") && shown.contains("mail.port = 587"),
            "{shown}"
        );
    }

    #[test]
    fn connection_caps_are_described_with_their_defaults() {
        let defaults = describe(&Config::parse("").unwrap()).join("\n");
        assert!(defaults.contains("server.max_connections = 2048"), "{defaults}");
        assert!(defaults.contains("server.max_connections_per_ip = 32"), "{defaults}");
        assert!(
            defaults.contains(r#"server.trusted_proxies = ["127.0.0.1", "::1"]"#),
            "{defaults}"
        );
        let text = "[server]\nmax_connections_per_ip = 8\ntrusted_proxies = [\"10.0.0.1\"]\n";
        let c = Config::parse(text).unwrap();
        c.validate().unwrap();
        let shown = describe(&c).join("\n");
        assert!(shown.contains("server.max_connections_per_ip = 8"), "{shown}");
        assert!(shown.contains(r#"server.trusted_proxies = ["10.0.0.1"]"#), "{shown}");
    }
}
