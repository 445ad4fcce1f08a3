//! TOML configuration: every key optional, unknown keys rejected, secrets masked.
//!
//! With no file at all the defaults make a demo server on 127.0.0.1:8080 with
//! token `zatan` and its directories under the current directory.

mod crawler;
mod mail;
mod opds;
mod rules;
mod secret;
mod server;
mod wechat;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::toml_table::{read_table, FromToml, Item, Table, TomlError};

pub use crawler::{CrawlSource, CrawlerConfig, DEFAULT_USER_AGENT};
pub use mail::{MailConfig, MailSecurity, MAIL_MAX_BYTES_CEILING};
pub use opds::OpdsConfig;
pub use rules::RulesConfig;
pub use secret::Secret;
pub use server::ServerConfig;
pub use wechat::{TokenApi, WechatConfig, DEMO_TOKEN};

#[derive(Debug, Default)]
pub struct Config {
    pub server: ServerConfig,
    pub wechat: WechatConfig,
    pub storage: StorageConfig,
    pub pictures: PicturesConfig,
    pub books: BooksConfig,
    pub articles: ArticlesConfig,
    pub crawler: CrawlerConfig,
    pub mail: MailConfig,
    pub opds: OpdsConfig,
    pub rules: RulesConfig,
    pub log: LogConfig,
}

#[derive(Debug)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { data_dir: "data".into() }
    }
}

#[derive(Debug)]
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

#[derive(Debug)]
pub struct BooksConfig {
    pub dir: PathBuf,
    /// How long a download link given in the chat works.
    pub link_ttl_secs: u64,
    /// Download links one follower may ask for per day (Beijing time).
    pub daily_downloads_per_user: u32,
}

impl Default for BooksConfig {
    fn default() -> Self {
        BooksConfig { dir: "books".into(), link_ttl_secs: 86_400, daily_downloads_per_user: 10 }
    }
}

#[derive(Debug)]
pub struct ArticlesConfig {
    pub dir: PathBuf,
    /// Let raw HTML in the markdown through instead of showing it as text.
    pub raw_html: bool,
    /// The author of WeChat drafts whose front matter names none.
    pub author: Option<String>,
    /// The server keeps each article's WeChat draft up to date by itself.
    pub sync_drafts: bool,
}

impl Default for ArticlesConfig {
    fn default() -> Self {
        ArticlesConfig { dir: "articles".into(), raw_html: false, author: None, sync_drafts: false }
    }
}

#[derive(Debug)]
pub struct LogConfig {
    pub level: String,
    pub file: Option<PathBuf>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into(), file: None }
    }
}

impl FromToml for StorageConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct StorageConfig", |t, c: &mut Self| {
            t.set("data_dir", &mut c.data_dir)
        })
    }
}

impl FromToml for PicturesConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct PicturesConfig", |t, c: &mut Self| {
            t.set("dir", &mut c.dir)?;
            t.set("media_lifetime_secs", &mut c.media_lifetime_secs)
        })
    }
}

impl FromToml for BooksConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct BooksConfig", |t, c: &mut Self| {
            t.set("dir", &mut c.dir)?;
            t.set("link_ttl_secs", &mut c.link_ttl_secs)?;
            t.set("daily_downloads_per_user", &mut c.daily_downloads_per_user)
        })
    }
}

impl FromToml for ArticlesConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct ArticlesConfig", |t, c: &mut Self| {
            t.set("dir", &mut c.dir)?;
            t.set("raw_html", &mut c.raw_html)?;
            c.author = t.value("author")?;
            t.set("sync_drafts", &mut c.sync_drafts)
        })
    }
}

impl FromToml for LogConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct LogConfig", |t, c: &mut Self| {
            t.set("level", &mut c.level)?;
            c.file = t.value("file")?;
            Ok(())
        })
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
                Config::parse(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
            }
        };
        config.validate()?;
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        // The message names the key and the line; a type error quotes the
        // value, except a secret's (`Secret::from_toml`).
        Config::read(text).map_err(|e| {
            let place =
                e.at.map(|at| {
                    let line = text[..at].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            let hint = if e.message.contains("unknown field") {
                "; check the spelling against the config reference in the README"
            } else {
                ""
            };
            ConfigError(format!("{}{place}{hint}", e.message))
        })
    }

    /// Every key optional: what the file leaves out keeps its default.
    fn read(text: &str) -> Result<Config, TomlError> {
        let mut t = Table::parse(text)?;
        let mut c = Config::default();
        t.set("server", &mut c.server)?;
        t.set("wechat", &mut c.wechat)?;
        t.set("storage", &mut c.storage)?;
        t.set("pictures", &mut c.pictures)?;
        t.set("books", &mut c.books)?;
        t.set("articles", &mut c.articles)?;
        t.set("crawler", &mut c.crawler)?;
        t.set("mail", &mut c.mail)?;
        t.set("opds", &mut c.opds)?;
        t.set("rules", &mut c.rules)?;
        t.set("log", &mut c.log)?;
        t.finish()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.wechat.validate()?;
        if self.pictures.media_lifetime_secs < 5 {
            return Err(invalid(
                "pictures.media_lifetime_secs",
                format!("{} is too short to upload anything", self.pictures.media_lifetime_secs),
                "use 259200 (WeChat's 3 days) unless testing",
            ));
        }
        if self.books.link_ttl_secs == 0 {
            return Err(invalid(
                "books.link_ttl_secs",
                "0 would make every download link expire at once",
                "use 1 or more seconds (default 86400, a day)",
            ));
        }
        if let Some(author) = &self.articles.author {
            let chars = author.chars().count();
            if chars > crate::wechat::api::AUTHOR_MAX_CHARS {
                return Err(invalid(
                    "articles.author",
                    format!("{chars} characters is more than WeChat's 16 for an author"),
                    "shorten it",
                ));
            }
        }
        self.crawler.validate()?;
        self.mail.validate()?;
        self.opds.validate()?;
        self.rules.validate()?;
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

    /// The directories zatan writes to, with the key that names each.
    pub fn directories(&self) -> [(&'static str, &Path); 4] {
        [
            ("storage.data_dir", self.storage.data_dir.as_path()),
            ("pictures.dir", self.pictures.dir.as_path()),
            ("books.dir", self.books.dir.as_path()),
            ("articles.dir", self.articles.dir.as_path()),
        ]
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
        assert_eq!(c.rules.file, PathBuf::from("rules.toml"));
        assert!(Config::parse("[articles]\nraw_html = true").unwrap().articles.raw_html);
        assert!(!c.articles.sync_drafts && c.articles.author.is_none());
        let drafts = Config::parse("[articles]\nsync_drafts = true\nauthor = \"小明\"").unwrap();
        assert!(drafts.articles.sync_drafts);
        assert_eq!(drafts.articles.author.as_deref(), Some("小明"));
        let long = Config::parse(&format!("[articles]\nauthor = \"{}\"", "名".repeat(17))).unwrap();
        assert!(long.validate().unwrap_err().to_string().contains("articles.author"));
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
            ("[server]\nmax_connections_per_ip = 0", "server.max_connections_per_ip"),
            ("[server]\ntrusted_proxies = [\"10.0.0.0/8\"]", "server.trusted_proxies"),
            ("[books]\nlink_ttl_secs = 0", "books.link_ttl_secs"),
            ("[wechat]\ntoken = \"a b\"", "wechat.token"),
            ("[wechat]\napp_id = \"wx1\"\nencoding_aes_key = \"short\"", "wechat.encoding_aes_key"),
            (&format!("[wechat]\nencoding_aes_key = \"{KEY}\""), "wechat.app_id"),
            ("[log]\nlevel = \"loud\"", "log.level"),
            ("[rules]\nfile = \"rules/\"", "rules.file"),
            ("[rules]\nfile = \".rules.toml\"", "rules.file"),
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
    fn mail_is_off_by_default_with_kindle_defaults() {
        let c = Config::parse("").unwrap();
        assert!(!c.mail.enabled());
        assert_eq!(c.mail.security, MailSecurity::Starttls);
        assert_eq!(c.mail.effective_port(), 587);
        assert_eq!(c.mail.allowed_domains, ["kindle.com", "free.kindle.com"]);
        assert_eq!(
            (c.mail.daily_limit_per_user, c.mail.max_mail_bytes, c.mail.timeout_secs),
            (5, 25_000_000, 60)
        );
        let c = Config::parse(
            "[mail]\nhost = \"smtp.example.com\"\nsecurity = \"tls\"\nfrom = \"b@example.com\"",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.mail.effective_port(), 465);
        let c = Config::parse(
            "[mail]\nhost = \"::1\"\nsecurity = \"plain\"\nport = 2525\nfrom = \"b@example.com\"",
        )
        .unwrap();
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
            Config::parse(&format!(
                "[mail]\nhost = \"{host}\"\nsecurity = \"plain\"\nfrom = \"b@example.com\""
            ))
            .unwrap()
            .validate()
            .unwrap();
        }
    }

    #[test]
    fn aes_keys_current_first() {
        let text = format!(
            "[wechat]\napp_id = \"wx1\"\nencoding_aes_key = \"{KEY}\"\nprevious_encoding_aes_key = \"{}\"",
            "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
        );
        let c = Config::parse(&text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.wechat.aes_keys().len(), 2);
    }
}
