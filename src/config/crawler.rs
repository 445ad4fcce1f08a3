//! `[crawler]` and `[[crawler.sources]]`: the OPDS catalogs to crawl, and how politely.

use super::{invalid, ConfigError, Secret};
use crate::book_format::Format;
use crate::toml_table::{read_table, FromToml, Item, Table, TomlError};
use crate::url::Url;

#[derive(Debug)]
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

pub const DEFAULT_USER_AGENT: &str =
    concat!("zatan/", env!("CARGO_PKG_VERSION"), " (OPDS crawler)");

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
#[derive(Debug, Clone)]
pub struct CrawlSource {
    pub name: String,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// 24 unless set.
    pub interval_hours: u64,
    /// New books per crawl of this source (100 unless set).
    pub max_books: usize,
    /// Most wanted first (epub, txt, mobi unless set).
    pub formats: Vec<String>,
    /// For the owner's own server only (calibre's content server forbids
    /// all robots in its robots.txt).
    pub ignore_robots_txt: bool,
}

impl FromToml for CrawlerConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct CrawlerConfig", |t, c: &mut Self| {
            t.set("user_agent", &mut c.user_agent)?;
            t.set("per_host_delay_ms", &mut c.per_host_delay_ms)?;
            t.set("max_book_bytes", &mut c.max_book_bytes)?;
            t.set("daily_bytes_budget", &mut c.daily_bytes_budget)?;
            t.set("max_pages", &mut c.max_pages)?;
            t.set("max_depth", &mut c.max_depth)?;
            t.set("sources", &mut c.sources)
        })
    }
}

impl FromToml for CrawlSource {
    /// `name` and `url` must be there; the rest have defaults.
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        let mut t = Table::from_item(item, "struct CrawlSource")?;
        let source = CrawlSource {
            name: t.required("name")?,
            url: t.required("url")?,
            username: t.value("username")?,
            password: t.value("password")?,
            interval_hours: t.value("interval_hours")?.unwrap_or(24),
            max_books: t.value("max_books")?.unwrap_or(100),
            formats: t
                .value("formats")?
                .unwrap_or_else(|| ["epub", "txt", "mobi"].map(String::from).to_vec()),
            ignore_robots_txt: t.value("ignore_robots_txt")?.unwrap_or(false),
        };
        t.finish()?;
        Ok(source)
    }
}

impl CrawlSource {
    /// The formats to take, most wanted first (validated names).
    pub fn formats(&self) -> Vec<Format> {
        self.formats.iter().filter_map(|f| Format::from_name(f)).collect()
    }
}

impl CrawlerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let ua = &self.user_agent;
        if ua.is_empty()
            || !ua.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !ua.chars().all(|c| (' '..='~').contains(&c))
        {
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
            return Err(invalid(
                "crawler.max_book_bytes",
                format!("{} is too small for any book", self.max_book_bytes),
                "use 1024 or more (default 52428800)",
            ));
        }
        if self.daily_bytes_budget == 0 {
            return Err(invalid(
                "crawler.daily_bytes_budget",
                "0 would never fetch anything",
                "use a positive number of bytes, or remove the sources",
            ));
        }
        if self.max_pages == 0 {
            return Err(invalid(
                "crawler.max_pages",
                "0 would read no catalog",
                "use 1 or more (default 1000)",
            ));
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, source) in self.sources.iter().enumerate() {
            let at = |key: &str| format!("crawler.sources[{i}].{key}");
            let name = &source.name;
            if name.is_empty()
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(invalid(&at("name"), format!("{name:?} is not a usable name"), "use letters, digits, '-', '_' or '.' (it names the source in logs and in `zatan crawl --source`)"));
            }
            if names.contains(&name.as_str()) {
                return Err(invalid(
                    &at("name"),
                    format!("`{name}` is used by two sources"),
                    "give each source its own name",
                ));
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
                return Err(invalid(
                    &at("username"),
                    "missing while password is set",
                    "add the user name that goes with the password",
                ));
            }
            if source.username.as_deref().is_some_and(|u| u.contains(':')) {
                return Err(invalid(
                    &at("username"),
                    "contains ':', which HTTP Basic authentication cannot carry",
                    "use the account's user name",
                ));
            }
            if source.interval_hours == 0 {
                return Err(invalid(
                    &at("interval_hours"),
                    "0 would crawl without pause",
                    "use 1 or more (default 24)",
                ));
            }
            if source.max_books == 0 {
                return Err(invalid(
                    &at("max_books"),
                    "0 would fetch nothing",
                    "use 1 or more (default 100)",
                ));
            }
            if source.formats.is_empty() {
                return Err(invalid(&at("formats"), "is empty", "list the formats to take, most wanted first, like [\"epub\", \"txt\", \"mobi\"]"));
            }
            for format in &source.formats {
                if Format::from_name(format).is_none() {
                    return Err(invalid(
                        &at("formats"),
                        format!("{format:?} is not a format zatan reads"),
                        "use epub, txt, mobi or azw3",
                    ));
                }
            }
        }
        Ok(())
    }
}
