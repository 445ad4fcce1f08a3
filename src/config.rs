//! TOML configuration: every key optional, unknown keys rejected, secrets masked.
//!
//! With no file at all the defaults make a demo server on 127.0.0.1:8080 with
//! token `zatan` and its directories under the current directory.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::url::Url;
use crate::book_format::Format;
use crate::wechat::crypto::AesKey;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub wechat: WechatConfig,
    pub storage: StorageConfig,
    pub pictures: PicturesConfig,
    pub books: BooksConfig,
    pub articles: ArticlesConfig,
    pub crawler: CrawlerConfig,
    pub mail: MailConfig,
    pub log: LogConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub callback_path: String,
    pub public_url: Option<String>,
    pub body_limit_bytes: usize,
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            callback_path: "/wechat".into(),
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            max_connections: 256,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {
    pub token: Secret,
    pub app_id: Option<String>,
    pub app_secret: Option<Secret>,
    pub encoding_aes_key: Option<Secret>,
    pub previous_encoding_aes_key: Option<Secret>,
    pub api_base: String,
    pub token_api: TokenApi,
    pub verified: bool,
    pub welcome: String,
}

/// Which token endpoint to use: `stable_token` (the default, safe to share
/// with other tools) or the classic `token`, which invalidates older tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenApi {
    #[default]
    Stable,
    Classic,
}

pub const DEMO_TOKEN: &str = "zatan";

impl Default for WechatConfig {
    fn default() -> Self {
        WechatConfig {
            token: Secret(DEMO_TOKEN.into()),
            app_id: None,
            app_secret: None,
            encoding_aes_key: None,
            previous_encoding_aes_key: None,
            api_base: "https://api.weixin.qq.com".into(),
            token_api: TokenApi::Stable,
            verified: false,
            welcome: "欢迎关注！发送「帮助」或 help 查看可用命令。".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { data_dir: "data".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PicturesConfig {
    pub dir: PathBuf,
    /// WeChat keeps temporary media 3 days; zatan re-uploads at about 90% of this.
    pub media_lifetime_secs: u64,
}

impl Default for PicturesConfig {
    fn default() -> Self {
        PicturesConfig { dir: "pictures".into(), media_lifetime_secs: 259_200 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BooksConfig {
    pub dir: PathBuf,
}

impl Default for BooksConfig {
    fn default() -> Self {
        BooksConfig { dir: "books".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArticlesConfig {
    pub dir: PathBuf,
    /// Let raw HTML in the markdown through instead of showing it as text.
    pub raw_html: bool,
}

impl Default for ArticlesConfig {
    fn default() -> Self {
        ArticlesConfig { dir: "articles".into(), raw_html: false }
    }
}

/// Outgoing mail for Send-to-Kindle. Without `host` mail is off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub host: Option<String>,
    /// Checked in `validate` rather than typed `u16`, so a bad value gets our
    /// message naming the key and the range.
    pub port: Option<i64>,
    pub security: MailSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender: the address followers add to Amazon's approved list.
    pub from: Option<String>,
    /// A PEM file of extra trusted roots (a private CA) on top of Mozilla's.
    pub ca_file: Option<PathBuf>,
    pub allowed_domains: Vec<String>,
    pub daily_limit_per_user: u32,
    /// The whole encoded message (base64 makes a file about a third larger).
    pub max_mail_bytes: u64,
    /// Limit for connecting and for each SMTP reply.
    pub timeout_secs: u64,
    /// The first wait after a transient failure; it doubles each time.
    pub retry_secs: u64,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// Plain connect, then STARTTLS, required (submission, port 587).
    #[default]
    Starttls,
    /// No encryption: only to a relay on this machine.
    Plain,
}

impl MailSecurity {
    pub fn default_port(self) -> u16 {
        match self {
            MailSecurity::Tls => 465,
            MailSecurity::Starttls => 587,
            MailSecurity::Plain => 25,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            MailSecurity::Tls => "tls",
            MailSecurity::Starttls => "starttls",
            MailSecurity::Plain => "plain",
        }
    }
}

/// Amazon's own cap is 50 MB per mail; many relays cap lower.
pub const MAIL_MAX_BYTES_CEILING: u64 = 50_000_000;
const MAIL_MAX_BYTES_FLOOR: u64 = 1024;

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            host: None,
            port: None,
            security: MailSecurity::Starttls,
            username: None,
            password: None,
            from: None,
            ca_file: None,
            allowed_domains: vec!["kindle.com".into(), "free.kindle.com".into()],
            daily_limit_per_user: 5,
            max_mail_bytes: 25_000_000,
            timeout_secs: 60,
            retry_secs: 30,
        }
    }
}

impl MailConfig {
    pub fn enabled(&self) -> bool {
        self.host.is_some()
    }

    /// `port`, or the usual port of `security`. Only meaningful once validated.
    pub fn effective_port(&self) -> u16 {
        self.port.and_then(|p| u16::try_from(p).ok()).unwrap_or_else(|| self.security.default_port())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        use crate::email_address as address;
        if let Some(port) = self.port {
            if !(1..=65535).contains(&port) {
                return Err(invalid("mail.port", format!("{port} is not a port"), "use 1 to 65535, or leave it out for the usual port of mail.security"));
            }
        }
        for (i, domain) in self.allowed_domains.iter().enumerate() {
            if !address::is_domain_name(domain) {
                return Err(invalid(
                    "mail.allowed_domains",
                    format!("entry {} ({domain:?}) is not a domain name", i + 1),
                    "write domains only, like \"kindle.com\"",
                ));
            }
        }
        if self.allowed_domains.is_empty() {
            return Err(invalid("mail.allowed_domains", "is empty, so no follower could bind an address", "leave it out for [\"kindle.com\", \"free.kindle.com\"]"));
        }
        if self.daily_limit_per_user == 0 {
            return Err(invalid("mail.daily_limit_per_user", "0 would refuse every push", "use 1 or more (default 5); leave mail.host out to turn mail off"));
        }
        if !(MAIL_MAX_BYTES_FLOOR..=MAIL_MAX_BYTES_CEILING).contains(&self.max_mail_bytes) {
            return Err(invalid(
                "mail.max_mail_bytes",
                format!("{} is out of range", self.max_mail_bytes),
                "use 1024 to 50000000 (Amazon's limit per mail); the default 25000000 suits most relays",
            ));
        }
        if !(1..=3600).contains(&self.retry_secs) {
            return Err(invalid("mail.retry_secs", format!("{} is out of range", self.retry_secs), "use 1 to 3600 seconds (default 30)"));
        }
        if !(1..=600).contains(&self.timeout_secs) {
            return Err(invalid("mail.timeout_secs", format!("{} is out of range", self.timeout_secs), "use 1 to 600 seconds (default 60)"));
        }
        if self.username.is_some() != self.password.is_some() {
            let (set, missing) = if self.username.is_some() { ("username", "password") } else { ("password", "username") };
            return Err(invalid(&format!("mail.{missing}"), format!("missing while mail.{set} is set"), "give both, or neither for a relay without login"));
        }
        if let Some(path) = &self.ca_file {
            crate::tls::read_ca_file(path).map_err(|e| invalid("mail.ca_file", e, "give a PEM file holding the CA certificate that signed the mail server's certificate"))?;
        }
        let Some(host) = &self.host else {
            return Ok(());
        };
        let host_ok = host.parse::<std::net::IpAddr>().is_ok() || address::is_domain_name(host);
        if !host_ok {
            let fix = if host.contains(':') || host.contains('/') {
                "write the host name only, like \"smtp.example.com\"; the port goes in mail.port"
            } else {
                "write a host name or an IP address, like \"smtp.example.com\""
            };
            return Err(invalid("mail.host", format!("{host:?} is not a host name"), fix));
        }
        if self.security == MailSecurity::Plain && !address::is_loopback_host(host) {
            return Err(invalid(
                "mail.security",
                format!("\"plain\" would send the password and the books unencrypted to {host}"),
                "use \"starttls\" (port 587) or \"tls\" (port 465); \"plain\" is only for a relay on this machine (localhost, 127.0.0.1, ::1)",
            ));
        }
        match &self.from {
            None => Err(invalid("mail.from", "missing while mail.host is set", "give the sender address, the one followers add to Amazon's approved list")),
            Some(from) => match address::parse_shape(from) {
                Ok(_) => Ok(()),
                Err(_) => Err(invalid("mail.from", format!("{from:?} is not a bare e-mail address"), "write it like \"books@example.com\", without a name or angle brackets")),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlerConfig {
    pub user_agent: String,
    pub per_host_delay_ms: u64,
    pub max_book_bytes: u64,
    pub daily_bytes_budget: u64,
    /// Feed pages read per crawl of a source.
    pub max_pages: usize,
    /// How far from the source URL the walk goes (`next` pages do not count).
    pub max_depth: usize,
    pub sources: Vec<CrawlSource>,
}

pub const DEFAULT_USER_AGENT: &str = concat!("zatan/", env!("CARGO_PKG_VERSION"), " (OPDS crawler)");

impl Default for CrawlerConfig {
    fn default() -> Self {
        CrawlerConfig {
            user_agent: DEFAULT_USER_AGENT.into(),
            per_host_delay_ms: 2000,
            max_book_bytes: 50 * 1024 * 1024,
            daily_bytes_budget: 1024 * 1024 * 1024,
            max_pages: 1000,
            max_depth: 10,
            sources: Vec::new(),
        }
    }
}

/// One OPDS catalog to crawl (`[[crawler.sources]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrawlSource {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default = "default_interval_hours")]
    pub interval_hours: u64,
    /// New books per crawl of this source.
    #[serde(default = "default_max_books")]
    pub max_books: usize,
    /// Most wanted first.
    #[serde(default = "default_formats")]
    pub formats: Vec<String>,
    /// For the owner's own server only (calibre's content server forbids
    /// all robots in its robots.txt).
    #[serde(default)]
    pub ignore_robots_txt: bool,
}

fn default_interval_hours() -> u64 {
    24
}

fn default_max_books() -> usize {
    100
}

fn default_formats() -> Vec<String> {
    ["epub", "txt", "mobi"].map(String::from).to_vec()
}

impl CrawlSource {
    /// The formats to take, most wanted first (validated names).
    pub fn formats(&self) -> Vec<Format> {
        self.formats.iter().filter_map(|f| Format::from_name(f)).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub level: String,
    pub file: Option<PathBuf>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into(), file: None }
    }
}

impl CrawlerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let ua = &self.user_agent;
        if ua.is_empty() || !ua.starts_with(|c: char| c.is_ascii_alphanumeric()) || !ua.chars().all(|c| (' '..='~').contains(&c)) {
            return Err(invalid(
                "crawler.user_agent",
                format!("{ua:?} is not a usable User-Agent"),
                "start with a product name like \"zatan/1.0\" and use printable ASCII only",
            ));
        }
        if self.per_host_delay_ms < 100 {
            return Err(invalid(
                "crawler.per_host_delay_ms",
                format!("{} ms would hammer the sites", self.per_host_delay_ms),
                "use 100 or more (default 2000, which Project Gutenberg asks for)",
            ));
        }
        if self.max_book_bytes < 1024 {
            return Err(invalid("crawler.max_book_bytes", format!("{} is too small for any book", self.max_book_bytes), "use 1024 or more (default 52428800)"));
        }
        if self.daily_bytes_budget == 0 {
            return Err(invalid("crawler.daily_bytes_budget", "0 would never fetch anything", "use a positive number of bytes, or remove the sources"));
        }
        if self.max_pages == 0 {
            return Err(invalid("crawler.max_pages", "0 would read no catalog", "use 1 or more (default 1000)"));
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, source) in self.sources.iter().enumerate() {
            let at = |key: &str| format!("crawler.sources[{i}].{key}");
            let name = &source.name;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return Err(invalid(&at("name"), format!("{name:?} is not a usable name"), "use letters, digits, '-', '_' or '.' (it names the source in logs and in `zatan crawl --source`)"));
            }
            if names.contains(&name.as_str()) {
                return Err(invalid(&at("name"), format!("`{name}` is used by two sources"), "give each source its own name"));
            }
            names.push(name);
            match Url::parse(&source.url) {
                Err(e) => return Err(invalid(&at("url"), e, "give the catalog's http:// or https:// address, like \"https://www.gutenberg.org/ebooks.opds/\"")),
                Ok(url) if url.had_userinfo() => {
                    return Err(invalid(&at("url"), "carries a user name or password", "put them in this source's username and password keys instead"))
                }
                Ok(_) => {}
            }
            if source.password.is_some() && source.username.is_none() {
                return Err(invalid(&at("username"), "missing while password is set", "add the user name that goes with the password"));
            }
            if source.username.as_deref().is_some_and(|u| u.contains(':')) {
                return Err(invalid(&at("username"), "contains ':', which HTTP Basic authentication cannot carry", "use the account's user name"));
            }
            if source.interval_hours == 0 {
                return Err(invalid(&at("interval_hours"), "0 would crawl without pause", "use 1 or more (default 24)"));
            }
            if source.max_books == 0 {
                return Err(invalid(&at("max_books"), "0 would fetch nothing", "use 1 or more (default 100)"));
            }
            if source.formats.is_empty() {
                return Err(invalid(&at("formats"), "is empty", "list the formats to take, most wanted first, like [\"epub\", \"txt\", \"mobi\"]"));
            }
            for format in &source.formats {
                if Format::from_name(format).is_none() {
                    return Err(invalid(&at("formats"), format!("{format:?} is not a format zatan reads"), "use epub, txt, mobi or azw3"));
                }
            }
        }
        Ok(())
    }
}

/// A value that must never reach a log, an error message or `check` output.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

fn mask(value: &str) -> String {
    if value.is_empty() {
        "(empty)".into()
    } else {
        format!("*** ({} characters)", value.chars().count())
    }
}

/// A configuration problem, worded for the owner: which key, what is wrong, how to fix it.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(key: &str, problem: impl fmt::Display, fix: &str) -> ConfigError {
    ConfigError(format!("config key `{key}`: {problem}; {fix}"))
}

pub const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

impl Config {
    /// The configuration from `path`, or the embedded demo defaults when `path` is None.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!(
                        "cannot read config file {}: {e}; give an existing file with --config, or leave --config out to run the demo",
                        path.display()
                    ))
                })?;
                Config::parse(&text)
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
            }
        };
        config.validate()?;
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        // toml's message names the key and the line; it never quotes a value we
        // would have to hide, except for type errors, which we re-word below.
        toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            let place = e
                .span()
                .map(|span| {
                    let line = text[..span.start].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            let hint = if message.contains("unknown field") {
                "; check the spelling against the config reference in the README"
            } else {
                ""
            };
            ConfigError(format!("{message}{place}{hint}"))
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let s = &self.server;
        if !s.callback_path.starts_with('/') {
            return Err(invalid(
                "server.callback_path",
                format!("{:?} does not start with '/'", s.callback_path),
                "write it like \"/wechat\"",
            ));
        }
        if let Some(url) = &s.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    "server.public_url",
                    format!("{url:?} is not an http(s) URL"),
                    "write it like \"https://example.com\"",
                ));
            }
        }
        if s.body_limit_bytes == 0 || s.body_limit_bytes > 64 * 1024 * 1024 {
            return Err(invalid(
                "server.body_limit_bytes",
                format!("{} is out of range", s.body_limit_bytes),
                "use a value between 1 and 67108864 (the default is 1048576)",
            ));
        }
        if s.max_connections == 0 {
            return Err(invalid("server.max_connections", "0 would refuse everyone", "use 1 or more (default 256)"));
        }

        let w = &self.wechat;
        let token = w.token.expose();
        if !(3..=32).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "wechat.token",
                "WeChat tokens are 3 to 32 letters or digits",
                "copy the token exactly as set in the WeChat admin console",
            ));
        }
        if !(w.api_base.starts_with("http://") || w.api_base.starts_with("https://")) {
            return Err(invalid(
                "wechat.api_base",
                format!("{:?} is not an http(s) URL", w.api_base),
                "leave it out to use https://api.weixin.qq.com",
            ));
        }
        if w.app_secret.is_some() && w.app_id.is_none() {
            return Err(invalid("wechat.app_id", "missing while wechat.app_secret is set", "add the AppID from the admin console"));
        }
        for (key, value) in [
            ("wechat.encoding_aes_key", &w.encoding_aes_key),
            ("wechat.previous_encoding_aes_key", &w.previous_encoding_aes_key),
        ] {
            if let Some(secret) = value {
                AesKey::from_encoding_aes_key(secret.expose()).map_err(|_| {
                    invalid(key, "is not a valid EncodingAESKey (43 letters and digits)", "copy it again from the admin console")
                })?;
                if w.app_id.is_none() {
                    return Err(invalid(
                        "wechat.app_id",
                        format!("missing while {key} is set (safe mode checks the AppID)"),
                        "add the AppID from the admin console",
                    ));
                }
            }
        }
        if w.previous_encoding_aes_key.is_some() && w.encoding_aes_key.is_none() {
            return Err(invalid(
                "wechat.previous_encoding_aes_key",
                "set without wechat.encoding_aes_key",
                "put the current key in encoding_aes_key",
            ));
        }
        if self.pictures.media_lifetime_secs < 5 {
            return Err(invalid(
                "pictures.media_lifetime_secs",
                format!("{} is too short to upload anything", self.pictures.media_lifetime_secs),
                "use 259200 (WeChat's 3 days) unless testing",
            ));
        }
        self.crawler.validate()?;
        self.mail.validate()?;
        if !LOG_LEVELS.contains(&self.log.level.as_str()) {
            return Err(invalid(
                "log.level",
                format!("{:?} is not a level", self.log.level),
                "use one of off, error, warn, info, debug, trace",
            ));
        }
        Ok(())
    }

    /// The crawler sources to run: all of them, or the one named `only`.
    pub fn crawl_sources(&self, only: Option<&str>) -> Result<Vec<CrawlSource>, ConfigError> {
        let sources = &self.crawler.sources;
        match only {
            None if sources.is_empty() => Err(ConfigError(
                "no crawler sources configured; add a [[crawler.sources]] table with name and url (see the README's crawler section)".into(),
            )),
            None => Ok(sources.clone()),
            Some(name) => sources.iter().find(|s| s.name == name).map(|s| vec![s.clone()]).ok_or_else(|| {
                let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
                ConfigError(format!(
                    "no crawler source is named `{name}`; the configured ones are: {}",
                    if names.is_empty() { "(none)".to_string() } else { names.join(", ") }
                ))
            }),
        }
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            invalid(
                "server.listen",
                format!("{:?} is not an address with a port", self.server.listen),
                "write it like \"127.0.0.1:8080\" or \"0.0.0.0:80\"",
            )
        })
    }

    /// The AES keys for safe mode, current first.
    pub fn aes_keys(&self) -> Vec<AesKey> {
        [&self.wechat.encoding_aes_key, &self.wechat.previous_encoding_aes_key]
            .into_iter()
            .flatten()
            .filter_map(|s| AesKey::from_encoding_aes_key(s.expose()).ok())
            .collect()
    }

    /// The directories zatan writes to, with the key that names each.
    pub fn directories(&self) -> [(&'static str, &Path); 4] {
        [
            ("storage.data_dir", self.storage.data_dir.as_path()),
            ("pictures.dir", self.pictures.dir.as_path()),
            ("books.dir", self.books.dir.as_path()),
            ("articles.dir", self.articles.dir.as_path()),
        ]
    }

    /// The effective settings as `key = value` lines, secrets masked (for `zatan check`).
    pub fn describe(&self) -> Vec<String> {
        fn opt<T: fmt::Display>(value: &Option<T>) -> String {
            value.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "(not set)".into())
        }
        let (s, w, m) = (&self.server, &self.wechat, &self.mail);
        let mut lines = vec![
            format!("server.listen = {}", s.listen),
            format!("server.callback_path = {}", s.callback_path),
            format!("server.public_url = {}", opt(&s.public_url)),
            format!("server.body_limit_bytes = {}", s.body_limit_bytes),
            format!("server.max_connections = {}", s.max_connections),
            format!("wechat.token = {}", w.token),
            format!("wechat.app_id = {}", opt(&w.app_id)),
            format!("wechat.app_secret = {}", opt(&w.app_secret)),
            format!("wechat.encoding_aes_key = {}", opt(&w.encoding_aes_key)),
            format!("wechat.previous_encoding_aes_key = {}", opt(&w.previous_encoding_aes_key)),
            format!("wechat.api_base = {}", w.api_base),
            format!("wechat.token_api = {:?}", w.token_api).to_lowercase(),
            format!("wechat.verified = {}", w.verified),
            format!("wechat.welcome = {:?}", w.welcome),
            format!("storage.data_dir = {}", self.storage.data_dir.display()),
            format!("pictures.dir = {}", self.pictures.dir.display()),
            format!("pictures.media_lifetime_secs = {}", self.pictures.media_lifetime_secs),
            format!("books.dir = {}", self.books.dir.display()),
            format!("articles.dir = {}", self.articles.dir.display()),
            format!("articles.raw_html = {}", self.articles.raw_html),
            format!("crawler.user_agent = {}", self.crawler.user_agent),
            format!("crawler.per_host_delay_ms = {}", self.crawler.per_host_delay_ms),
            format!("crawler.max_book_bytes = {}", self.crawler.max_book_bytes),
            format!("crawler.daily_bytes_budget = {}", self.crawler.daily_bytes_budget),
            format!("crawler.max_pages = {}", self.crawler.max_pages),
            format!("crawler.max_depth = {}", self.crawler.max_depth),
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
            format!("log.level = {}", self.log.level),
            format!("log.file = {}", opt(&self.log.file.as_ref().map(|p| p.display().to_string()))),
        ];
        for source in &self.crawler.sources {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn empty_file_is_the_demo() {
        let c = Config::parse("").unwrap();
        c.validate().unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:8080");
        assert_eq!(c.wechat.token.expose(), "zatan");
        assert_eq!(c.server.callback_path, "/wechat");
        assert_eq!(c.pictures.dir, PathBuf::from("pictures"));
        assert_eq!(c.server.body_limit_bytes, 1 << 20);
        assert!(!c.articles.raw_html);
        assert!(Config::parse("[articles]\nraw_html = true").unwrap().articles.raw_html);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key_and_line() {
        let err = Config::parse("[server]\nlisten = \"0.0.0.0:80\"\nlisen = \"x\"\n").unwrap_err();
        assert!(err.0.contains("lisen"), "{err}");
        assert!(err.0.contains("line 3"), "{err}");
        assert!(err.0.contains("README"), "{err}");
        let err = Config::parse("[servr]\n").unwrap_err();
        assert!(err.0.contains("servr"), "{err}");
    }

    #[test]
    fn bad_values_name_key_and_fix() {
        for (text, key) in [
            ("[server]\nlisten = \"localhost\"", "server.listen"),
            ("[server]\ncallback_path = \"wechat\"", "server.callback_path"),
            ("[server]\nmax_connections = 0", "server.max_connections"),
            ("[wechat]\ntoken = \"a b\"", "wechat.token"),
            ("[wechat]\napp_id = \"wx1\"\nencoding_aes_key = \"short\"", "wechat.encoding_aes_key"),
            (&format!("[wechat]\nencoding_aes_key = \"{KEY}\""), "wechat.app_id"),
            ("[log]\nlevel = \"loud\"", "log.level"),
            ("[pictures]\nmedia_lifetime_secs = 4", "pictures.media_lifetime_secs"),
            ("[crawler]\nper_host_delay_ms = 10", "crawler.per_host_delay_ms"),
            ("[crawler]\nuser_agent = \"\"", "crawler.user_agent"),
            ("[crawler]\nmax_book_bytes = 10", "crawler.max_book_bytes"),
            ("[crawler]\ndaily_bytes_budget = 0", "crawler.daily_bytes_budget"),
            ("[[crawler.sources]]\nname = \"a b\"\nurl = \"http://h/\"", "crawler.sources[0].name"),
            ("[[crawler.sources]]\nname = \"a\"\nurl = \"ftp://h/\"", "crawler.sources[0].url"),
            ("[[crawler.sources]]\nname = \"a\"\nurl = \"http://u:p@h/\"", "crawler.sources[0].url"),
            ("[[crawler.sources]]\nname = \"a\"\nurl = \"http://h/\"\n[[crawler.sources]]\nname = \"a\"\nurl = \"http://i/\"", "crawler.sources[1].name"),
            ("[[crawler.sources]]\nname = \"a\"\nurl = \"http://h/\"\nformats = [\"pdf\"]", "crawler.sources[0].formats"),
            ("[[crawler.sources]]\nname = \"a\"\nurl = \"http://h/\"\nformats = []", "crawler.sources[0].formats"),
            ("[[crawler.sources]]\nname = \"a\"\nurl = \"http://h/\"\npassword = \"pw\"", "crawler.sources[0].username"),
            ("[[crawler.sources]]\nname = \"a\"\nurl = \"http://h/\"\ninterval_hours = 0", "crawler.sources[0].interval_hours"),
        ] {
            let err = Config::parse(text).unwrap().validate().unwrap_err();
            assert!(err.0.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn secrets_are_masked_everywhere() {
        let text = format!(
            "[wechat]\ntoken = \"tok3nValue\"\napp_id = \"wx1\"\napp_secret = \"s3cr3tValue\"\nencoding_aes_key = \"{KEY}\""
        );
        let c = Config::parse(&text).unwrap();
        c.validate().unwrap();
        let shown = format!("{:?}\n{}", c, c.describe().join("\n"));
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
        let shown = format!("{:?}\n{}", c, c.describe().join("\n"));
        assert!(!shown.contains("pa55wordValue"));
        assert!(shown.contains("crawler.sources home: url = http://127.0.0.1:8081/opds, username = alice"));
        assert_eq!(c.crawl_sources(None).unwrap().len(), 2);
        assert_eq!(c.crawl_sources(Some("gutenberg")).unwrap()[0].name, "gutenberg");
        let err = c.crawl_sources(Some("nope")).unwrap_err();
        assert!(err.0.contains("home, gutenberg"), "{err}");
        assert!(Config::default().crawl_sources(None).unwrap_err().0.contains("[[crawler.sources]]"));
    }

    #[test]
    fn mail_is_off_by_default_with_kindle_defaults() {
        let c = Config::parse("").unwrap();
        assert!(!c.mail.enabled());
        assert_eq!(c.mail.security, MailSecurity::Starttls);
        assert_eq!(c.mail.effective_port(), 587);
        assert_eq!(c.mail.allowed_domains, ["kindle.com", "free.kindle.com"]);
        assert_eq!((c.mail.daily_limit_per_user, c.mail.max_mail_bytes, c.mail.timeout_secs), (5, 25_000_000, 60));
        let c = Config::parse("[mail]\nhost = \"smtp.example.com\"\nsecurity = \"tls\"\nfrom = \"b@example.com\"").unwrap();
        c.validate().unwrap();
        assert_eq!(c.mail.effective_port(), 465);
        let c = Config::parse("[mail]\nhost = \"::1\"\nsecurity = \"plain\"\nport = 2525\nfrom = \"b@example.com\"").unwrap();
        c.validate().unwrap();
        assert_eq!(c.mail.effective_port(), 2525);
    }

    #[test]
    fn bad_mail_values_name_key_and_fix() {
        const OK: &str = "[mail]\nhost = \"smtp.example.com\"\nfrom = \"books@example.com\"\n";
        Config::parse(OK).unwrap().validate().unwrap();
        for (extra, key, words) in [
            ("security = \"plain\"", "mail.security", "unencrypted"),
            ("port = 0", "mail.port", "1 to 65535"),
            ("port = 70000", "mail.port", "1 to 65535"),
            ("username = \"u\"", "mail.password", "missing"),
            ("password = \"p\"", "mail.username", "missing"),
            ("ca_file = \"/nonexistent/ca.pem\"", "mail.ca_file", "cannot read"),
            ("allowed_domains = []", "mail.allowed_domains", "no follower"),
            ("allowed_domains = [\"@kindle.com\"]", "mail.allowed_domains", "not a domain"),
            ("daily_limit_per_user = 0", "mail.daily_limit_per_user", "1 or more"),
            ("max_mail_bytes = 60000000", "mail.max_mail_bytes", "50000000"),
            ("timeout_secs = 0", "mail.timeout_secs", "1 to 600"),
            ("retry_secs = 0", "mail.retry_secs", "1 to 3600"),
        ] {
            let err = Config::parse(&format!("{OK}{extra}")).unwrap().validate().unwrap_err();
            assert!(err.0.contains(key) && err.0.contains(words), "{extra}: {err}");
        }
        for (text, key) in [
            ("[mail]\nhost = \"smtp.example.com\"", "mail.from"),
            ("[mail]\nhost = \"smtp.example.com\"\nfrom = \"Books <b@example.com>\"", "mail.from"),
            ("[mail]\nhost = \"smtp.example.com\"\nfrom = \"books\"", "mail.from"),
            ("[mail]\nhost = \"smtp.example.com:587\"\nfrom = \"b@example.com\"", "mail.host"),
            ("[mail]\nhost = \"smtp://smtp.example.com\"\nfrom = \"b@example.com\"", "mail.host"),
        ] {
            let err = Config::parse(text).unwrap().validate().unwrap_err();
            assert!(err.0.contains(key), "{text}: {err}");
        }
        let err = Config::parse("[mail]\nsecurity = \"ssl\"").unwrap_err();
        assert!(err.0.contains("ssl") && err.0.contains("line 2"), "{err}");
        // plain is fine to a relay on this machine
        for host in ["localhost", "127.0.0.1", "::1"] {
            Config::parse(&format!("[mail]\nhost = \"{host}\"\nsecurity = \"plain\"\nfrom = \"b@example.com\""))
                .unwrap()
                .validate()
                .unwrap();
        }
    }

    #[test]
    fn mail_password_is_masked() {
        let text = "[mail]\nhost = \"smtp.example.com\"\nfrom = \"b@example.com\"\nusername = \"bot\"\npassword = \"m4ilPassw0rd\"";
        let c = Config::parse(text).unwrap();
        c.validate().unwrap();
        let shown = format!("{:?}\n{}", c, c.describe().join("\n"));
        assert!(!shown.contains("m4ilPassw0rd"), "{shown}");
        assert!(shown.contains("mail.password = *** (12 characters)"), "{shown}");
        assert!(shown.contains("mail.host = smtp.example.com") && shown.contains("mail.port = 587"), "{shown}");
    }

    #[test]
    fn aes_keys_current_first() {
        let text = format!(
            "[wechat]\napp_id = \"wx1\"\nencoding_aes_key = \"{KEY}\"\nprevious_encoding_aes_key = \"{}\"",
            "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
        );
        let c = Config::parse(&text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.aes_keys().len(), 2);
    }
}
