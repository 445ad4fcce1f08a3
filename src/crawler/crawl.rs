//! One crawl of one source: walk its catalog, download the books not seen
//! before into `books.dir/.incoming/`, check them, and hand them to the
//! library, which renames them into `books.dir` and indexes them. Whatever
//! goes wrong with one page or one book is logged and skipped; nothing
//! half-downloaded stays behind.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::fetch::{Access, Client, FeedResponse, FetchError, Validators};
use super::opds::{self, Acquisition, Entry};
use super::verify::verify;
use super::walk::{Links, Page, Walk};
use crate::clock::unix_now;
use crate::config::{CrawlSource, CrawlerConfig};
use crate::library::{self, Added, Intake, LibraryError};
use crate::shutdown::Shutdown;
use crate::store::{CrawlEntry, CrawlOutcome, FeedCache, Provenance, SourceRun, Store};
use crate::url::Url;

/// A feed page larger than this is not a catalog page anyone should serve.
const MAX_FEED_BYTES: u64 = 16 * 1024 * 1024;
/// Where downloads wait, inside `books.dir`: same file system, so the move
/// into the library is a rename; hidden, so the watcher never sees them.
pub const INCOMING: &str = ".incoming";
const TEMP_PREFIX: &str = "crawl-";

/// What a crawl has done so far: the progress line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub pages: usize,
    pub books: usize,
    pub bytes: u64,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pages, {} new books, {} bytes", self.pages, self.books, self.bytes)
    }
}

/// How a crawl of a source went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub progress: Progress,
    /// Entries already in the library (by entry id or by content).
    pub known: usize,
    /// Downloads refused: not what they claimed, too large, unreadable.
    pub refused: usize,
    /// Pages or books that failed (network, server errors): tried again next time.
    pub failed: usize,
    /// Why the crawl ended before the catalog did, if it did.
    pub cut_short: Option<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} known, {} refused, {} failed",
            self.progress, self.known, self.refused, self.failed
        )?;
        if let Some(why) = &self.cut_short {
            write!(f, "; ended early: {why}")?;
        }
        Ok(())
    }
}

/// What became of one entry.
enum Taken {
    /// A navigation entry, or no link we may and can take.
    Nothing,
    Added,
    Known,
    Refused,
    /// Try again next crawl.
    Failed,
    /// End the crawl: a cap, the budget, or a stop.
    End(String),
}

/// Removes a download that did not make it into the library.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub struct Crawler {
    store: Arc<Store>,
    books_dir: PathBuf,
    client: Client,
    max_book_bytes: u64,
    daily_budget: u64,
    max_pages: usize,
    max_depth: usize,
    /// Bytes of `client` already counted in the store.
    counted: u64,
}

impl Crawler {
    pub fn new(config: &CrawlerConfig, store: Arc<Store>, books_dir: &Path) -> Crawler {
        Crawler {
            store,
            books_dir: books_dir.to_path_buf(),
            client: Client::new(
                &config.user_agent,
                Duration::from_millis(config.per_host_delay_ms),
            ),
            max_book_bytes: config.max_book_bytes,
            daily_budget: config.daily_bytes_budget,
            max_pages: config.max_pages,
            max_depth: config.max_depth,
            counted: 0,
        }
    }

    /// Crawl `source` once. `progress` hears after every page and book.
    pub fn crawl(
        &mut self,
        source: &CrawlSource,
        shutdown: &Shutdown,
        progress: &mut dyn FnMut(&Progress),
    ) -> Report {
        let mut report = Report::default();
        let Ok(start) = Url::parse(&source.url) else {
            // config validation makes this unreachable; say so rather than panic
            report.cut_short = Some(format!("source {} has an invalid url", source.name));
            return report;
        };
        if let Err(e) =
            self.store.save_source_run(&source.name, &SourceRun { started_at: unix_now() })
        {
            log::error!("crawl {}: cannot record the start: {e}", source.name);
        }
        let access = Access::new(
            &start,
            source.username.as_deref(),
            source.password.as_ref(),
            source.ignore_robots_txt,
        );
        if access.authorization.is_some()
            && start.to_string().starts_with("http://")
            && !is_loopback(&start)
        {
            log::warn!("crawl {}: the password goes over plain http to {}; use https if the server offers it", source.name, start.origin());
        }
        if source.ignore_robots_txt {
            log::info!(
                "crawl {}: ignoring the robots.txt of {} as configured (the owner's own server)",
                source.name,
                start.origin()
            );
        }
        let incoming = self.books_dir.join(INCOMING);
        if let Err(e) = clear_incoming(&incoming) {
            report.cut_short = Some(format!("cannot prepare {}: {e}", incoming.display()));
            log::error!(
                "crawl {}: {}",
                source.name,
                report.cut_short.as_deref().unwrap_or_default()
            );
            return report;
        }
        let bytes_before = self.client.bytes_read();
        let mut walk = Walk::new(start.clone(), self.max_pages, self.max_depth);
        let mut run = Run { source, access: &access, incoming: &incoming, shutdown, new_books: 0 };
        log::info!("crawl {}: starting at {start}", source.name);
        while let Some(page) = walk.next_page() {
            if let Some(why) = self.must_end(&run) {
                report.cut_short = Some(why);
                break;
            }
            let ended = self.read_page(&mut run, &mut walk, &page, &mut report);
            report.progress.pages = walk.pages();
            report.progress.bytes = self.client.bytes_read() - bytes_before;
            progress(&report.progress);
            if let Some(why) = ended {
                report.cut_short = Some(why);
                break;
            }
        }
        self.count_bytes();
        report.progress.bytes = self.client.bytes_read() - bytes_before;
        if report.cut_short.is_none() && walk.capped() {
            report.cut_short = Some(format!("read crawler.max_pages = {} pages", self.max_pages));
        }
        log::info!("crawl {}: {report}", source.name);
        report
    }

    /// Why the crawl must not go on, if it must not.
    fn must_end(&mut self, run: &Run) -> Option<String> {
        if run.shutdown.is_requested() {
            return Some("stopped".into());
        }
        if self.budget_left() == 0 {
            return Some(format!(
                "the day's crawler.daily_bytes_budget of {} bytes is spent",
                self.daily_budget
            ));
        }
        None
    }

    /// Read one feed page and take its books. Some(reason) ends the crawl.
    fn read_page(
        &mut self,
        run: &mut Run,
        walk: &mut Walk,
        page: &Page,
        report: &mut Report,
    ) -> Option<String> {
        let name = &run.source.name;
        let key = page.url.to_string();
        let cached = self.store.feed_cache(&key).unwrap_or_else(|e| {
            log::error!("crawl {name}: cannot read the feed cache: {e}");
            None
        });
        let validators = cached
            .as_ref()
            .map(|c| Validators { etag: c.etag.clone(), last_modified: c.last_modified.clone() })
            .unwrap_or_default();
        let fetched =
            self.client.get_feed(&page.url, &validators, run.access, run.shutdown, MAX_FEED_BYTES);
        self.count_bytes();
        let (bytes, validators, url) = match fetched {
            Ok(FeedResponse::NotModified) => {
                log::debug!("crawl {name}: {key} not modified");
                if let Some(links) = cached.as_ref().map(links_of_cache) {
                    walk.add_links(page, &links);
                }
                return None;
            }
            Ok(FeedResponse::Fresh { bytes, validators, url }) => (bytes, validators, url),
            Err(FetchError::Cancelled) => return Some("stopped".into()),
            Err(e @ FetchError::Resting { .. }) => return Some(e.to_string()),
            Err(e @ FetchError::Disallowed { .. }) => {
                if page.depth == 0 && page.url.origin() == run.access.origin {
                    log::warn!(
                        "crawl {name}: {e}, so zatan does not crawl it; if this is your own server (calibre's content server forbids all robots), set ignore_robots_txt = true on this source"
                    );
                } else {
                    log::info!("crawl {name}: feed skipped: {e}");
                }
                report.refused += 1;
                return None;
            }
            Err(e) => {
                log::warn!("crawl {name}: feed skipped: {e}");
                report.failed += 1;
                return None;
            }
        };
        let feed = match opds::parse(&bytes, &url) {
            Ok(feed) => feed,
            Err(e) => {
                log::warn!("crawl {name}: {url} skipped: {e}");
                report.failed += 1;
                return None;
            }
        };
        let links = Links::of(&feed);
        walk.add_links(page, &links);
        let mut complete = true;
        for entry in &feed.entries {
            let taken = self.take(run, entry);
            match taken {
                Taken::Nothing => {}
                Taken::Added => report.progress.books += 1,
                Taken::Known => report.known += 1,
                Taken::Refused => report.refused += 1,
                Taken::Failed => {
                    report.failed += 1;
                    complete = false;
                }
                Taken::End(why) => {
                    self.forget_feed(&key);
                    return Some(why);
                }
            }
        }
        // Only a page whose every entry was dealt with may be skipped by a
        // 304 next time.
        if complete && !validators.is_empty() {
            let cache = FeedCache {
                etag: validators.etag,
                last_modified: validators.last_modified,
                next: links.next.as_ref().map(Url::to_string),
                crawlable: links.crawlable.as_ref().map(Url::to_string),
                subsections: links.subsections.iter().map(Url::to_string).collect(),
            };
            if let Err(e) = self.store.save_feed_cache(&key, &cache) {
                log::error!("crawl {name}: cannot save the feed cache: {e}");
            }
        } else {
            self.forget_feed(&key);
        }
        None
    }

    fn forget_feed(&self, key: &str) {
        if let Err(e) = self.store.forget_feed_cache(key) {
            log::error!("crawl: cannot update the feed cache: {e}");
        }
    }

    /// Deal with one entry of a feed.
    fn take(&mut self, run: &mut Run, entry: &Entry) -> Taken {
        let name = &run.source.name;
        let Some(acquisition) = entry.acquisition(&run.source.formats()) else {
            return Taken::Nothing;
        };
        let entry_key = entry.key(&acquisition);
        match self.store.crawl_entry(name, &entry_key) {
            Ok(Some(CrawlEntry { outcome: CrawlOutcome::Book { .. }, .. })) => return Taken::Known,
            Ok(Some(CrawlEntry { outcome: CrawlOutcome::Refused { limit, .. }, .. }))
                if limit.is_none_or(|limit| limit >= self.max_book_bytes) =>
            {
                return Taken::Refused;
            }
            Ok(_) => {}
            Err(e) => {
                log::error!("crawl {name}: cannot read the crawl records: {e}");
                return Taken::Failed;
            }
        }
        if run.new_books >= run.source.max_books {
            return Taken::End(format!("took max_books = {} new books", run.source.max_books));
        }
        if let Some(why) = self.must_end(run) {
            return Taken::End(why);
        }
        let taken = self.fetch_book(run, entry, &acquisition, &entry_key);
        if let Taken::Added = taken {
            run.new_books += 1;
        }
        taken
    }

    fn fetch_book(
        &mut self,
        run: &Run,
        entry: &Entry,
        acquisition: &Acquisition,
        entry_key: &str,
    ) -> Taken {
        let name = &run.source.name;
        let url = &acquisition.link.href;
        let limit = self.max_book_bytes.min(self.budget_left());
        let temp = TempFile(run.incoming.join(temp_name(acquisition.format.extension())));
        let downloaded = File::create(&temp.0)
            .map_err(|e| {
                FetchError::Write(format!(
                    "{}: {}",
                    temp.0.display(),
                    crate::fsutil::describe_io(&e)
                ))
            })
            .and_then(|mut file| {
                self.client.download(url, run.access, run.shutdown, limit, &mut file)
            });
        self.count_bytes();
        let refuse = |this: &Self, reason: String, limit: Option<u64>| {
            log::warn!("crawl {name}: {:?} ({url}) not taken: {reason}", entry.title);
            this.record(name, entry_key, url, CrawlOutcome::Refused { reason, limit });
            Taken::Refused
        };
        let downloaded = match downloaded {
            Ok(downloaded) => downloaded,
            Err(FetchError::Cancelled) => return Taken::End("stopped".into()),
            Err(FetchError::TooLarge { .. }) if limit < self.max_book_bytes => {
                return Taken::End(format!(
                    "the day's crawler.daily_bytes_budget of {} bytes is spent",
                    self.daily_budget
                ));
            }
            Err(e @ FetchError::TooLarge { .. }) => {
                return refuse(self, e.to_string(), Some(limit))
            }
            Err(e @ FetchError::Resting { .. }) => return Taken::End(e.to_string()),
            // not recorded: robots.txt may change its mind
            Err(e @ FetchError::Disallowed { .. }) => {
                log::info!("crawl {name}: {:?} not taken: {e}", entry.title);
                return Taken::Refused;
            }
            Err(e) if e.is_transient() => {
                log::warn!(
                    "crawl {name}: {:?} not fetched, trying again next crawl: {e}",
                    entry.title
                );
                return Taken::Failed;
            }
            Err(e) => return refuse(self, e.to_string(), None),
        };
        if let Err(reason) = verify(&temp.0, acquisition.format) {
            return refuse(self, format!("served as {} but {reason}", acquisition.format), None);
        }
        let provenance = Provenance {
            source: name.clone(),
            url: url.to_string(),
            entry_id: entry.id.clone(),
            rights: entry.rights.clone(),
            fetched_at: unix_now(),
        };
        match library::add_file(
            &self.store,
            &self.books_dir,
            &temp.0,
            Intake::Move,
            Some(provenance),
        ) {
            Ok(added) => {
                let book = added.book();
                let outcome = CrawlOutcome::Book {
                    book_id: book.id.clone(),
                    hash: downloaded.sha256.clone(),
                };
                self.record(name, entry_key, url, outcome);
                match added {
                    Added::New(_) => {
                        log::info!(
                            "crawl {name}: added 《{}》{} as {} ({}, {} bytes)",
                            book.title,
                            book.author.as_deref().map(|a| format!(" by {a}")).unwrap_or_default(),
                            book.id,
                            acquisition.format,
                            downloaded.bytes
                        );
                        Taken::Added
                    }
                    Added::Known(_) => {
                        log::info!(
                            "crawl {name}: {:?} is already in the library as {}",
                            entry.title,
                            book.id
                        );
                        Taken::Known
                    }
                }
            }
            Err(LibraryError::Unreadable { reason, .. }) => refuse(self, reason, None),
            Err(e) => {
                log::error!("crawl {name}: cannot add {:?} to the library: {e}", entry.title);
                Taken::Failed
            }
        }
    }

    fn record(&self, source: &str, entry_key: &str, url: &Url, outcome: CrawlOutcome) {
        let entry = CrawlEntry { url: url.to_string(), fetched_at: unix_now(), outcome };
        if let Err(e) = self.store.save_crawl_entry(source, entry_key, &entry) {
            log::error!("crawl {source}: cannot record {entry_key}: {e}");
        }
    }

    /// Add what the client read since the last count to the day's total.
    fn count_bytes(&mut self) {
        let read = self.client.bytes_read();
        if read > self.counted {
            if let Err(e) = self.store.add_crawl_bytes(today(), read - self.counted) {
                log::error!("crawl: cannot count the bytes read: {e}");
            }
            self.counted = read;
        }
    }

    fn budget_left(&self) -> u64 {
        let spent = self.store.crawl_bytes(today()).unwrap_or_else(|e| {
            log::error!("crawl: cannot read the day's byte count: {e}");
            self.daily_budget
        });
        self.daily_budget.saturating_sub(spent)
    }
}

/// What one crawl of a source carries along.
struct Run<'a> {
    source: &'a CrawlSource,
    access: &'a Access,
    incoming: &'a Path,
    shutdown: &'a Shutdown,
    new_books: usize,
}

fn links_of_cache(cache: &FeedCache) -> Links {
    let parse = |s: &String| Url::parse(s).ok();
    Links {
        next: cache.next.as_ref().and_then(parse),
        crawlable: cache.crawlable.as_ref().and_then(parse),
        subsections: cache.subsections.iter().filter_map(parse).collect(),
    }
}

fn today() -> u64 {
    unix_now() / 86_400
}

fn is_loopback(url: &Url) -> bool {
    let host = url.authority().rsplit_once(':').map_or(url.authority(), |(h, _)| h);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// A fresh temporary name in `.incoming`, with the extension the library
/// reads the format from.
fn temp_name(extension: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{}-{n}.{extension}", std::process::id())
}

/// Create `.incoming` and remove what an interrupted crawl (a power cut, a
/// kill -9) left there.
fn clear_incoming(incoming: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(incoming)?;
    for entry in std::fs::read_dir(incoming)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            log::info!("crawl: removing an unfinished download {}", entry.path().display());
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
