//! The one redb file that holds all of zatan's state. Every table is defined here
//! and nowhere else; other modules go through the typed accessors below.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use redb::backends::InMemoryBackend;
use redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, StorageBackend, TableDefinition,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Bump when a table's key or value layout changes; `open` refuses other versions.
pub const SCHEMA_VERSION: u64 = 1;
pub const FILE_NAME: &str = "zatan.redb";

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const META_SCHEMA: &str = "schema";
/// Records are JSON under a string key: one shape for every table, so fields
/// can be added without a schema bump (unknown fields are ignored on read).
type RecordTable = TableDefinition<'static, &'static str, &'static [u8]>;
/// "current" -> [`StoredToken`]
const TOKEN: RecordTable = TableDefinition::new("token");
const TOKEN_CURRENT: &str = "current";
/// picture file name -> [`MediaRecord`]
const MEDIA: RecordTable = TableDefinition::new("media");
/// job id -> [`Job`]; ids count up, so key order is creation order.
const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("jobs");
/// message dedupe key -> job id: a message retried after a restart finds its job.
const JOB_KEYS: TableDefinition<&str, u64> = TableDefinition::new("job_keys");
/// book id -> [`Book`]
const BOOKS: RecordTable = TableDefinition::new("books");
/// content hash of a book file -> book id: the same file twice is one book.
const BOOK_HASHES: TableDefinition<&str, &str> = TableDefinition::new("book_hashes");
/// a book file's name in `books.dir` -> book id: which book a deleted file leaves.
const BOOK_NAMES: TableDefinition<&str, &str> = TableDefinition::new("book_names");
/// follower openid -> [`Follower`]
const FOLLOWERS: RecordTable = TableDefinition::new("followers");
/// crawler source name + "\n" + catalog entry id -> [`CrawlEntry`]: each
/// entry is fetched once.
const CRAWL_ENTRIES: RecordTable = TableDefinition::new("crawl_entries");
/// feed URL -> [`FeedCache`]: validators for conditional GETs.
const CRAWL_FEEDS: RecordTable = TableDefinition::new("crawl_feeds");
/// crawler source name -> [`SourceRun`]
const CRAWL_RUNS: RecordTable = TableDefinition::new("crawl_runs");
/// "today" -> [`CrawlBytes`]
const CRAWL_BYTES: RecordTable = TableDefinition::new("crawl_bytes");
const CRAWL_BYTES_TODAY: &str = "today";
/// "current" -> the 32-byte key that signs download links.
const LINK_KEY: TableDefinition<&str, &[u8]> = TableDefinition::new("link_key");
const LINK_KEY_CURRENT: &str = "current";
/// follower openid -> [`DownloadLinks`]: links given today, for the daily cap.
const DOWNLOAD_LINKS: RecordTable = TableDefinition::new("download_links");
/// article slug -> [`ArticleDraft`]: the article's draft in WeChat's draft box.
const ARTICLE_DRAFTS: RecordTable = TableDefinition::new("article_drafts");
/// content hash of an image -> [`ArticleImage`]: uploaded once (`media/uploadimg`)
/// however many articles or edits show it.
const ARTICLE_IMAGES: RecordTable = TableDefinition::new("article_images");
/// content hash of a cover image -> [`ArticleImage`] (permanent material).
const ARTICLE_COVERS: RecordTable = TableDefinition::new("article_covers");

/// Work slower than the reply budget, done later by the job runner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub kind: JobKind,
    /// The follower who asked.
    pub openid: String,
    pub state: JobState,
    /// Unix seconds.
    pub created_at: u64,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// Send the follower a picture once one is uploaded.
    SendPicture,
    /// Mail a book to the follower's Kindle address (the address as it was
    /// when they asked, so a later rebind does not redirect a queued book).
    PushBook { book_id: String, title: String, address: String },
    /// Bring an article's WeChat draft up to date (`articles.sync_drafts`).
    DraftArticle { slug: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    Queued,
    /// A book being made ready to mail (converted to a Kindle EPUB, size checked).
    Preparing,
    /// Handed to the SMTP server; a crash here means the mail is sent again
    /// (at-least-once).
    Sending,
    /// Delivered by customer-service message.
    Delivered,
    /// An article's draft is in WeChat's draft box (this media_id) or was
    /// already up to date.
    Drafted(String),
    /// Accepted by the SMTP server.
    Sent,
    /// Done, but the follower must ask (`status`): no customer-service message possible.
    Ready(String),
    Failed(String),
}

impl JobState {
    pub fn is_finished(&self) -> bool {
        !matches!(self, JobState::Queued | JobState::Preparing | JobState::Sending)
    }
}

/// One book in the library: a work, in one or more files (formats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// Short and stable: derived from the title and author.
    pub id: String,
    pub title: String,
    pub author: Option<String>,
    pub lang: String,
    pub files: Vec<BookFile>,
    /// Unix seconds.
    pub added_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookFile {
    /// The file's name in `books.dir`.
    pub name: String,
    /// `epub`, `txt`, `mobi` or `azw3`.
    pub format: String,
    pub size: u64,
    /// Modification time, unix seconds: with the size, how a scan tells an
    /// unchanged file without reading it.
    #[serde(default)]
    pub modified: u64,
    /// SHA-256 of the content, hex.
    pub hash: String,
    /// Where the file came from, when zatan fetched it (the crawler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Where a fetched book came from, kept so a takedown can be honoured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The crawler source's name.
    pub source: String,
    pub url: String,
    pub entry_id: Option<String>,
    pub rights: Option<String>,
    /// Unix seconds.
    pub fetched_at: u64,
}

/// What zatan keeps about a follower.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follower {
    pub kindle: Option<String>,
    /// Unix seconds.
    pub bound_at: u64,
}

/// A catalog entry the crawler has dealt with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlEntry {
    /// The acquisition link it was fetched from.
    pub url: String,
    /// Unix seconds.
    pub fetched_at: u64,
    pub outcome: CrawlOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrawlOutcome {
    /// In the library as this book (new then, or the same content already there).
    Book { book_id: String, hash: String },
    /// Not taken, and not tried again: the file was not what it claimed, or
    /// over `limit` bytes (tried again only under a larger limit).
    Refused { reason: String, limit: Option<u64> },
}

/// What the crawler remembers of a feed page: its validators, and the links
/// the walk follows from it, so that a 304 still leads on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedCache {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next: Option<String>,
    pub crawlable: Option<String>,
    pub subsections: Vec<String>,
}

/// When a crawler source was last crawled, so a restart keeps its interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRun {
    /// Unix seconds.
    pub started_at: u64,
}

/// Bytes the crawler read on one UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlBytes {
    /// Days since 1970-01-01 (UTC).
    pub day: u64,
    pub bytes: u64,
}

/// Download links a follower was given since `since` (the start of a day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadLinks {
    /// Unix seconds.
    pub since: u64,
    pub count: u32,
}

/// The access token, so a restart does not spend the daily token quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub value: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// An article in WeChat's draft box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleDraft {
    /// What the draft was made from (the file, its images, the settings).
    pub hash: String,
    pub media_id: String,
    /// Unix seconds.
    pub drafted_at: u64,
    /// Set when published through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<PublishedArticle>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedArticle {
    /// The draft hash that was published.
    pub hash: String,
    pub url: Option<String>,
    /// Unix seconds.
    pub at: u64,
}

/// An image of an article as WeChat has it: the URL (`uploadimg`) or the
/// media_id (cover material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleImage {
    pub wechat: String,
    /// Unix seconds.
    pub uploaded_at: u64,
}

/// A picture as WeChat knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    /// SHA-256 of the file content, hex.
    pub hash: String,
    pub media_id: String,
    /// Unix seconds.
    pub uploaded_at: u64,
    /// Permanent material (verified accounts) never expires.
    pub permanent: bool,
}

pub struct Store {
    /// None once a failed write has closed it: redb refuses every later
    /// transaction until the file is opened again. Each transaction holds the
    /// read side for its short life; only closing and reopening take the write
    /// side, so everyone keeps sharing this one handle.
    db: RwLock<Option<Database>>,
    /// How to open the file again; None for a store in memory.
    reopen: Option<Opener>,
    path: PathBuf,
    /// Write transactions committed through this handle.
    writes: AtomicU64,
    fault: Mutex<Fault>,
}

type Opener = Box<dyn Fn() -> Result<Database, redb::Error> + Send + Sync>;

/// A disk fault the owner has been told of, until a write works again.
#[derive(Default)]
struct Fault {
    told: Option<StoreError>,
    /// The last try to open a closed store: a full disk is tried again at
    /// most every [`REOPEN_PAUSE`], not once per message.
    tried_at: Option<Instant>,
}

const REOPEN_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub enum StoreError {
    Locked(PathBuf),
    Corrupt(PathBuf, String),
    WrongSchema {
        path: PathBuf,
        found: u64,
    },
    /// No space left on the file system (ENOSPC), or the user's quota is used up (EDQUOT).
    DiskFull(PathBuf, String),
    /// The file or its directory may not be read or written by this user.
    Permission(PathBuf, String),
    /// Any other failure of the disk or its file system.
    Io(PathBuf, String),
}

impl StoreError {
    /// The disk failed rather than the file's content: nothing is lost, and a
    /// store that was open has logged it once already (callers need not log
    /// each one) and saves again by itself once the fault is fixed.
    pub fn is_disk_fault(&self) -> bool {
        matches!(self, StoreError::DiskFull(..) | StoreError::Permission(..) | StoreError::Io(..))
    }

    /// Log that `what` failed because of this error; a disk fault only at
    /// debug level, since the store has told the owner of it once already.
    pub fn log_failure(&self, what: &str) {
        if self.is_disk_fault() {
            log::debug!("{what}: {self}");
        } else {
            log::error!("{what}: {self}");
        }
    }

    /// A failed I/O on `path`, by what the owner must do about it.
    fn from_io(path: &Path, error: &io::Error) -> StoreError {
        let (path, why) = (path.to_path_buf(), error.to_string());
        match error.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                StoreError::DiskFull(path, why)
            }
            io::ErrorKind::PermissionDenied => StoreError::Permission(path, why),
            io::ErrorKind::InvalidData => StoreError::Corrupt(path, why),
            _ => StoreError::Io(path, why),
        }
    }

    /// A redb error on `path`: an I/O error by its kind; the file's layout
    /// being wrong is corruption; the rest (redb's own refusals) is I/O.
    fn from_redb(path: &Path, error: redb::Error) -> StoreError {
        use redb::Error as E;
        match error {
            E::Io(io) => StoreError::from_io(path, &io),
            E::DatabaseAlreadyOpen => StoreError::Locked(path.to_path_buf()),
            E::Corrupted(_)
            | E::UpgradeRequired(_)
            | E::TableTypeMismatch { .. }
            | E::TableIsMultimap(_)
            | E::TableIsNotMultimap(_)
            | E::TypeDefinitionChanged { .. } => {
                StoreError::Corrupt(path.to_path_buf(), error.to_string())
            }
            other => StoreError::Io(path.to_path_buf(), other.to_string()),
        }
    }

    fn same_kind(&self, other: &StoreError) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// The directory the owner must act on: the store file's, or the path itself
/// when it is the data directory.
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if path.file_name() == Some(FILE_NAME.as_ref()) => dir,
        _ => path,
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Locked(p) => write!(
                f,
                "{} is in use by another zatan process; stop it first (only one zatan may use a data_dir)",
                p.display()
            ),
            StoreError::Corrupt(p, why) => write!(
                f,
                "{} is not a readable zatan store ({why}); move it aside and restart to begin with an empty store",
                p.display()
            ),
            StoreError::WrongSchema { path, found } => write!(
                f,
                "{} has schema version {found}, this zatan understands version {SCHEMA_VERSION}; use the zatan release that wrote it, or move the file aside",
                path.display()
            ),
            StoreError::DiskFull(p, why) => write!(
                f,
                "cannot save to {}: disk full ({why}); free space on {} (df -h shows how much is left); nothing saved before is lost",
                p.display(),
                dir_of(p).display()
            ),
            StoreError::Permission(p, why) => write!(
                f,
                "cannot use {}: permission denied ({why}); fix the owner or mode of {} so the user zatan runs as may read and write it (the packages run zatan as user zatan: chown -R zatan:zatan {})",
                p.display(),
                dir_of(p).display(),
                dir_of(p).display()
            ),
            StoreError::Io(p, why) => write!(
                f,
                "cannot use {}: {why}; check the card or disk that holds {} (dmesg shows its errors; a failing SD card turns read-only) and that storage.data_dir exists",
                p.display(),
                dir_of(p).display()
            ),
        }
    }
}

impl std::error::Error for StoreError {}

/// What went wrong inside a transaction: redb's error, kept whole so that a
/// full disk is told from a corrupt file, or a record that does not decode.
enum Problem {
    Redb(redb::Error),
    Record(String),
}

impl<E: Into<redb::Error>> From<E> for Problem {
    fn from(e: E) -> Problem {
        Problem::Redb(e.into())
    }
}

fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, Problem> {
    serde_json::to_vec(record).map_err(|e| Problem::Record(format!("cannot encode a record: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|e| Problem::Record(format!("unreadable record: {e}")))
}

fn crawl_key(source: &str, entry_id: &str) -> String {
    format!("{source}\n{entry_id}")
}

impl Store {
    /// Open (or create) `data_dir/zatan.redb` and check its schema version.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(FILE_NAME);
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::from_io(data_dir, &e))?;
        let file = path.clone();
        Store::with_opener(path, Box::new(move || open_file(&file)))
    }

    /// A store whose database `open` makes, now and after each failed write.
    fn with_opener(path: PathBuf, open: Opener) -> Result<Store, StoreError> {
        let db = open().map_err(|e| StoreError::from_redb(&path, e))?;
        let store = Store::new(path, db, Some(open));
        store.check_schema()?;
        Ok(store)
    }

    fn new(path: PathBuf, db: Database, reopen: Option<Opener>) -> Store {
        Store {
            db: RwLock::new(Some(db)),
            reopen,
            path,
            writes: AtomicU64::new(0),
            fault: Mutex::new(Fault::default()),
        }
    }

    /// A copy in memory of the store in `data_dir`, for a run that must
    /// change nothing on disk (`zatan simulate`): what it writes is gone when
    /// it is dropped. The copy is taken while this process holds the file, so
    /// it is the last committed state; `Locked` when another process (a
    /// running server) holds it. No file yet: an empty store.
    pub fn copy_in_memory(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(FILE_NAME);
        if !path.exists() {
            return Store::in_memory();
        }
        let held = Store::open(data_dir)?;
        let bytes = std::fs::read(&path).map_err(|e| StoreError::Io(path.clone(), e.to_string()));
        drop(held);
        Store::from_bytes(path, &bytes?)
    }

    /// An empty store in memory.
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::from_bytes(PathBuf::from("(in memory)"), &[])
    }

    fn from_bytes(path: PathBuf, bytes: &[u8]) -> Result<Store, StoreError> {
        let backend = InMemoryBackend::new();
        let copied = backend.set_len(bytes.len() as u64).and_then(|()| backend.write(0, bytes));
        copied.map_err(|e| StoreError::Io(path.clone(), e.to_string()))?;
        let db = Database::builder()
            .create_with_backend(backend)
            .map_err(|e| StoreError::Corrupt(path.clone(), e.to_string()))?;
        let store = Store::new(path, db, None);
        store.check_schema()?;
        Ok(store)
    }

    /// How many write transactions were committed through this handle: what
    /// `simulate` tells the owner its reply would have changed.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let found = self.read(META, |t| Ok(t.get(META_SCHEMA)?.map(|v| v.value())))?.flatten();
        match found {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(found) => Err(StoreError::WrongSchema { path: self.path.clone(), found }),
            None => self.write(|tx| {
                Ok(tx.open_table(META)?.insert(META_SCHEMA, SCHEMA_VERSION).map(drop)?)
            }),
        }
    }

    pub fn schema_version(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.read(META, |t| Ok(t.get(META_SCHEMA)?.map(|v| v.value())))?.flatten())
    }

    pub fn token(&self) -> Result<Option<StoredToken>, StoreError> {
        self.get(TOKEN, TOKEN_CURRENT)
    }

    pub fn save_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        self.put(TOKEN, TOKEN_CURRENT, token)
    }

    pub fn media(&self) -> Result<Vec<(String, MediaRecord)>, StoreError> {
        self.all(MEDIA)
    }

    pub fn save_media(&self, file_name: &str, record: &MediaRecord) -> Result<(), StoreError> {
        self.put(MEDIA, file_name, record)
    }

    pub fn forget_media(&self, file_name: &str) -> Result<(), StoreError> {
        self.write(|tx| Ok(tx.open_table(MEDIA)?.remove(file_name).map(drop)?))
    }

    /// The job for `message_key`, created in the same transaction as its key
    /// unless the message already made one. True when created now.
    pub fn create_job(
        &self,
        message_key: &str,
        kind: JobKind,
        openid: &str,
        now: u64,
    ) -> Result<(Job, bool), StoreError> {
        self.write(|tx| {
            let mut keys = tx.open_table(JOB_KEYS)?;
            let mut jobs = tx.open_table(JOBS)?;
            let existing = keys.get(message_key)?.map(|id| id.value());
            if let Some(bytes) = existing.map(|id| jobs.get(id)).transpose()?.flatten() {
                return Ok((decode(bytes.value())?, false));
            }
            let id = jobs.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
            let job = Job {
                id,
                kind,
                openid: openid.to_string(),
                state: JobState::Queued,
                created_at: now,
                attempts: 0,
            };
            jobs.insert(id, encode(&job)?.as_slice())?;
            keys.insert(message_key, id)?;
            Ok((job, true))
        })
    }

    /// The books, in id order.
    pub fn books(&self) -> Result<Vec<Book>, StoreError> {
        Ok(self.all(BOOKS)?.into_iter().map(|(_, book)| book).collect())
    }

    pub fn book(&self, id: &str) -> Result<Option<Book>, StoreError> {
        self.get(BOOKS, id)
    }

    /// The book one of whose files has this content.
    pub fn book_by_hash(&self, hash: &str) -> Result<Option<Book>, StoreError> {
        self.book_indexed_by(BOOK_HASHES, hash)
    }

    /// The book one of whose files has this name in `books.dir`.
    pub fn book_by_file_name(&self, name: &str) -> Result<Option<Book>, StoreError> {
        self.book_indexed_by(BOOK_NAMES, name)
    }

    fn book_indexed_by(
        &self,
        index: TableDefinition<&str, &str>,
        key: &str,
    ) -> Result<Option<Book>, StoreError> {
        let id = self.read(index, |t| Ok(t.get(key)?.map(|id| id.value().to_string())))?.flatten();
        match id {
            Some(id) => self.book(&id),
            None => Ok(None),
        }
    }

    /// Write a book and its hash and name indexes together; a book with no
    /// files left is removed. Hashes and names no longer among its files are
    /// forgotten in the same transaction.
    pub fn save_book(&self, book: &Book) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut books = tx.open_table(BOOKS)?;
            let mut hashes = tx.open_table(BOOK_HASHES)?;
            let mut names = tx.open_table(BOOK_NAMES)?;
            let before: Option<Book> =
                books.get(book.id.as_str())?.map(|b| decode(b.value())).transpose()?;
            for old in before.iter().flat_map(|b| &b.files) {
                if !book.files.iter().any(|f| f.hash == old.hash) {
                    hashes.remove(old.hash.as_str())?;
                }
                if !book.files.iter().any(|f| f.name == old.name) {
                    names.remove(old.name.as_str())?;
                }
            }
            if book.files.is_empty() {
                books.remove(book.id.as_str())?;
            } else {
                books.insert(book.id.as_str(), encode(book)?.as_slice())?;
                for file in &book.files {
                    hashes.insert(file.hash.as_str(), book.id.as_str())?;
                    names.insert(file.name.as_str(), book.id.as_str())?;
                }
            }
            Ok(())
        })
    }

    pub fn follower(&self, openid: &str) -> Result<Follower, StoreError> {
        Ok(self.get(FOLLOWERS, openid)?.unwrap_or_default())
    }

    pub fn save_follower(&self, openid: &str, follower: &Follower) -> Result<(), StoreError> {
        self.put(FOLLOWERS, openid, follower)
    }

    pub fn crawl_entry(
        &self,
        source: &str,
        entry_id: &str,
    ) -> Result<Option<CrawlEntry>, StoreError> {
        self.get(CRAWL_ENTRIES, &crawl_key(source, entry_id))
    }

    pub fn save_crawl_entry(
        &self,
        source: &str,
        entry_id: &str,
        entry: &CrawlEntry,
    ) -> Result<(), StoreError> {
        self.put(CRAWL_ENTRIES, &crawl_key(source, entry_id), entry)
    }

    pub fn feed_cache(&self, url: &str) -> Result<Option<FeedCache>, StoreError> {
        self.get(CRAWL_FEEDS, url)
    }

    pub fn save_feed_cache(&self, url: &str, cache: &FeedCache) -> Result<(), StoreError> {
        self.put(CRAWL_FEEDS, url, cache)
    }

    pub fn forget_feed_cache(&self, url: &str) -> Result<(), StoreError> {
        self.write(|tx| Ok(tx.open_table(CRAWL_FEEDS)?.remove(url).map(drop)?))
    }

    pub fn source_run(&self, source: &str) -> Result<Option<SourceRun>, StoreError> {
        self.get(CRAWL_RUNS, source)
    }

    pub fn save_source_run(&self, source: &str, run: &SourceRun) -> Result<(), StoreError> {
        self.put(CRAWL_RUNS, source, run)
    }

    /// Bytes the crawler read on `day`.
    pub fn crawl_bytes(&self, day: u64) -> Result<u64, StoreError> {
        let today: Option<CrawlBytes> = self.get(CRAWL_BYTES, CRAWL_BYTES_TODAY)?;
        Ok(today.filter(|t| t.day == day).map_or(0, |t| t.bytes))
    }

    /// Count `bytes` more on `day` (a new day starts from zero); the day's total.
    pub fn add_crawl_bytes(&self, day: u64, bytes: u64) -> Result<u64, StoreError> {
        self.write(|tx| {
            let mut table = tx.open_table(CRAWL_BYTES)?;
            let stored: Option<CrawlBytes> =
                table.get(CRAWL_BYTES_TODAY)?.map(|b| decode(b.value())).transpose()?;
            let before = stored.filter(|t| t.day == day).map_or(0, |t| t.bytes);
            let today = CrawlBytes { day, bytes: before.saturating_add(bytes) };
            table.insert(CRAWL_BYTES_TODAY, encode(&today)?.as_slice())?;
            Ok(today.bytes)
        })
    }

    /// The key that signs download links, made by `fresh` and kept the first
    /// time it is asked for, in one transaction (two callers get one key).
    pub fn link_key(&self, fresh: impl FnOnce() -> [u8; 32]) -> Result<[u8; 32], StoreError> {
        self.write(|tx| {
            let mut table = tx.open_table(LINK_KEY)?;
            if let Some(stored) = table.get(LINK_KEY_CURRENT)? {
                if let Ok(key) = <[u8; 32]>::try_from(stored.value()) {
                    return Ok(key);
                }
            }
            let key = fresh();
            table.insert(LINK_KEY_CURRENT, key.as_slice())?;
            Ok(key)
        })
    }

    /// Replace the link key: every link signed with the old one stops working.
    pub fn replace_link_key(&self, key: [u8; 32]) -> Result<(), StoreError> {
        self.write(|tx| {
            Ok(tx.open_table(LINK_KEY)?.insert(LINK_KEY_CURRENT, key.as_slice()).map(drop)?)
        })
    }

    /// Count one more download link for `openid` since `since` (a count from
    /// an earlier day starts again from zero) unless `cap` are given already:
    /// checked and taken in one transaction. The count after, or Err with
    /// the count that reached the cap.
    pub fn take_download_link(
        &self,
        openid: &str,
        since: u64,
        cap: u32,
    ) -> Result<Result<u32, u32>, StoreError> {
        self.write(|tx| {
            let mut table = tx.open_table(DOWNLOAD_LINKS)?;
            let stored: Option<DownloadLinks> =
                table.get(openid)?.map(|b| decode(b.value())).transpose()?;
            let count = stored.filter(|d| d.since == since).map_or(0, |d| d.count);
            if count >= cap {
                return Ok(Err(count));
            }
            let today = DownloadLinks { since, count: count + 1 };
            table.insert(openid, encode(&today)?.as_slice())?;
            Ok(Ok(today.count))
        })
    }

    pub fn article_draft(&self, slug: &str) -> Result<Option<ArticleDraft>, StoreError> {
        self.get(ARTICLE_DRAFTS, slug)
    }

    pub fn article_drafts(&self) -> Result<Vec<(String, ArticleDraft)>, StoreError> {
        self.all(ARTICLE_DRAFTS)
    }

    pub fn save_article_draft(&self, slug: &str, draft: &ArticleDraft) -> Result<(), StoreError> {
        self.put(ARTICLE_DRAFTS, slug, draft)
    }

    /// The uploaded image with this content hash; `cover` for cover material.
    pub fn article_image(
        &self,
        hash: &str,
        cover: bool,
    ) -> Result<Option<ArticleImage>, StoreError> {
        self.get(if cover { ARTICLE_COVERS } else { ARTICLE_IMAGES }, hash)
    }

    pub fn save_article_image(
        &self,
        hash: &str,
        cover: bool,
        image: &ArticleImage,
    ) -> Result<(), StoreError> {
        self.put(if cover { ARTICLE_COVERS } else { ARTICLE_IMAGES }, hash, image)
    }

    pub fn forget_article_image(&self, hash: &str, cover: bool) -> Result<(), StoreError> {
        let table = if cover { ARTICLE_COVERS } else { ARTICLE_IMAGES };
        self.write(|tx| Ok(tx.open_table(table)?.remove(hash).map(drop)?))
    }

    pub fn save_job(&self, job: &Job) -> Result<(), StoreError> {
        self.write(|tx| {
            Ok(tx.open_table(JOBS)?.insert(job.id, encode(job)?.as_slice()).map(drop)?)
        })
    }

    pub fn job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        Ok(self
            .read(JOBS, |t| t.get(id)?.map(|bytes| decode(bytes.value())).transpose())?
            .flatten())
    }

    /// Jobs not finished yet, oldest first: what the job runner resumes at start.
    pub fn unfinished_jobs(&self) -> Result<Vec<Job>, StoreError> {
        let jobs = self.read(JOBS, |t| {
            let mut unfinished = Vec::new();
            for entry in t.iter()? {
                let job: Job = decode(entry?.1.value())?;
                if !job.state.is_finished() {
                    unfinished.push(job);
                }
            }
            Ok(unfinished)
        })?;
        Ok(jobs.unwrap_or_default())
    }

    /// A follower's latest `count` jobs, newest first, read from the newest end
    /// so `status` stays quick however long the history grows.
    pub fn recent_jobs(&self, openid: &str, count: usize) -> Result<Vec<Job>, StoreError> {
        let jobs = self.read(JOBS, |t| {
            let mut recent = Vec::new();
            for entry in t.iter()?.rev() {
                let job: Job = decode(entry?.1.value())?;
                if job.openid == openid {
                    recent.push(job);
                    if recent.len() == count {
                        break;
                    }
                }
            }
            Ok(recent)
        })?;
        Ok(jobs.unwrap_or_default())
    }

    /// How many Kindle pushes a follower asked for since `since` (unix
    /// seconds), read from the newest end.
    pub fn pushes_since(&self, openid: &str, since: u64) -> Result<usize, StoreError> {
        let count = self.read(JOBS, |t| {
            let mut count = 0;
            for entry in t.iter()?.rev() {
                let job: Job = decode(entry?.1.value())?;
                if job.created_at < since {
                    break;
                }
                if job.openid == openid && matches!(job.kind, JobKind::PushBook { .. }) {
                    count += 1;
                }
            }
            Ok(count)
        })?;
        Ok(count.unwrap_or(0))
    }

    fn get<T: DeserializeOwned>(
        &self,
        table: RecordTable,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        Ok(self
            .read(table, |t| t.get(key)?.map(|bytes| decode(bytes.value())).transpose())?
            .flatten())
    }

    fn all<T: DeserializeOwned>(&self, table: RecordTable) -> Result<Vec<(String, T)>, StoreError> {
        let records = self.read(table, |t| {
            t.iter()?
                .map(|entry| {
                    let (key, bytes) = entry?;
                    Ok((key.value().to_string(), decode(bytes.value())?))
                })
                .collect()
        })?;
        Ok(records.unwrap_or_default())
    }

    fn put<T: Serialize>(
        &self,
        table: RecordTable,
        key: &str,
        record: &T,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            Ok(tx.open_table(table)?.insert(key, encode(record)?.as_slice()).map(drop)?)
        })
    }

    /// Read from one table; None when the table was never written.
    fn read<K: redb::Key + 'static, V: redb::Value + 'static, R>(
        &self,
        table: TableDefinition<K, V>,
        f: impl FnOnce(&redb::ReadOnlyTable<K, V>) -> Result<R, Problem>,
    ) -> Result<Option<R>, StoreError> {
        self.transaction(|db| {
            let tx = db.begin_read()?;
            match tx.open_table(table) {
                Ok(table) => f(&table).map(Some),
                Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// One short write transaction per change: a kill -9 leaves either the
    /// old or the new state, never a mix.
    fn write<R>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<R, Problem>,
    ) -> Result<R, StoreError> {
        let result = self.transaction(|db| {
            let tx = db.begin_write()?;
            let result = f(&tx)?;
            tx.commit()?;
            Ok(result)
        })?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut fault = self.fault();
        if fault.told.take().is_some() {
            log::warn!("{}: saving works again", self.path.display());
        }
        Ok(result)
    }

    /// Run `f` on the open database (opening it again if a failed write closed it).
    fn transaction<R>(
        &self,
        f: impl FnOnce(&Database) -> Result<R, Problem>,
    ) -> Result<R, StoreError> {
        let outcome = {
            let db = self.open_db()?;
            f(db.as_ref().expect("open_db gives an open database"))
        };
        outcome.map_err(|problem| self.failed(problem))
    }

    fn open_db(&self) -> Result<RwLockReadGuard<'_, Option<Database>>, StoreError> {
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        if db.is_some() {
            return Ok(db);
        }
        drop(db);
        let mut fault = self.fault();
        let unavailable = |fault: &Fault| {
            let why = "an earlier write failed".to_string();
            fault.told.clone().unwrap_or_else(|| StoreError::Io(self.path.clone(), why))
        };
        if fault.tried_at.is_some_and(|at| at.elapsed() < REOPEN_PAUSE) {
            return Err(unavailable(&fault));
        }
        fault.tried_at = Some(Instant::now());
        let Some(reopen) = &self.reopen else { return Err(unavailable(&fault)) };
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        if db.is_none() {
            match reopen() {
                Ok(opened) => *db = Some(opened),
                Err(e) => {
                    let error = StoreError::from_redb(&self.path, e);
                    self.tell(&mut fault, &error);
                    return Err(error);
                }
            }
        }
        drop(db);
        drop(fault);
        self.open_db()
    }

    /// What `problem` means for the owner. After an I/O error redb refuses
    /// everything until it is opened again, so the database is closed here
    /// and the next transaction opens it anew.
    fn failed(&self, problem: Problem) -> StoreError {
        let error = match problem {
            Problem::Record(why) => return StoreError::Corrupt(self.path.clone(), why),
            Problem::Redb(error) => error,
        };
        let latched = matches!(
            error,
            redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed
        );
        if !latched {
            return StoreError::from_redb(&self.path, error);
        }
        let mut fault = self.fault();
        let error = match error {
            redb::Error::Io(io) => StoreError::from_io(&self.path, &io),
            _ => fault.told.clone().unwrap_or_else(|| {
                StoreError::Io(self.path.clone(), "an earlier write failed".into())
            }),
        };
        if self.reopen.is_some() {
            *self.db.write().unwrap_or_else(PoisonError::into_inner) = None;
        }
        self.tell(&mut fault, &error);
        error
    }

    /// Log a disk fault once, not once per message that meets it.
    fn tell(&self, fault: &mut Fault, error: &StoreError) {
        if !fault.told.as_ref().is_some_and(|told| told.same_kind(error)) {
            log::error!(
                "{error}. Replies that must save something say so until then; zatan keeps serving and saves again by itself once it can"
            );
            fault.told = Some(error.clone());
        }
    }

    fn fault(&self) -> std::sync::MutexGuard<'_, Fault> {
        self.fault.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn set_schema_version(&self, version: u64) {
        self.write(|tx| Ok(tx.open_table(META)?.insert(META_SCHEMA, version).map(drop)?)).unwrap();
    }
}

/// The database in the file at `path`. redb panics on some malformed headers
/// instead of returning an error; a bad file must give the owner a message,
/// not a backtrace.
fn open_file(path: &Path) -> Result<Database, redb::Error> {
    #[cfg(panic = "abort")]
    let _hint = CorruptionHint::install(path);
    let opened = std::panic::catch_unwind(|| Database::create(path)).unwrap_or_else(|_| {
        Err(DatabaseError::Storage(redb::StorageError::Corrupted("unreadable header".into())))
    });
    opened.map_err(redb::Error::from)
}

/// Where panics abort (the release build: see Cargo.toml), redb's panic on a
/// malformed file can't be caught and answered with `StoreError::Corrupt`; the
/// process ends. While the file is opened, a panic on the opening thread is
/// followed by the same advice, so the owner still learns what to do (a
/// reopen after a failed write runs while other threads work: their panics
/// get no such advice).
#[cfg(panic = "abort")]
struct CorruptionHint;

#[cfg(panic = "abort")]
impl CorruptionHint {
    fn install(path: &Path) -> CorruptionHint {
        let advice =
            StoreError::Corrupt(path.to_path_buf(), "redb panicked on it".into()).to_string();
        let opener = std::thread::current().id();
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            if std::thread::current().id() == opener {
                eprintln!("zatan: {advice}");
            }
        }));
        CorruptionHint
    }
}

#[cfg(panic = "abort")]
impl Drop for CorruptionHint {
    fn drop(&mut self) {
        // Back to the default report: zatan sets no hook of its own.
        let _ = std::panic::take_hook();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;

    /// A store directory that does not exist yet, inside a fresh temp dir.
    fn temp_dir(name: &str) -> (TempDir, PathBuf) {
        let tmp = TempDir::new(&format!("store-{name}"));
        let dir = tmp.path().join("data");
        (tmp, dir)
    }

    #[test]
    fn creates_and_reopens_with_schema() {
        let (_tmp, dir) = temp_dir("reopen");
        {
            let store = Store::open(&dir).unwrap();
            assert_eq!(store.schema_version().unwrap(), Some(SCHEMA_VERSION));
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.schema_version().unwrap(), Some(SCHEMA_VERSION));
        assert!(dir.join(FILE_NAME).exists());
    }

    #[test]
    fn second_open_is_a_clear_lock_error() {
        let (_tmp, dir) = temp_dir("lock");
        let _first = Store::open(&dir).unwrap();
        let err = Store::open(&dir).err().expect("second open must fail");
        assert!(matches!(err, StoreError::Locked(_)), "{err}");
        assert!(err.to_string().contains("another zatan process"));
    }

    #[test]
    fn an_in_memory_copy_has_everything_and_changes_nothing_on_disk() {
        let (_tmp, dir) = temp_dir("copy");
        let empty = Store::copy_in_memory(&dir).unwrap();
        assert!(empty.books().unwrap().is_empty());
        assert!(!dir.join(FILE_NAME).exists(), "no file made for a copy of nothing");

        let store = Store::open(&dir).unwrap();
        let kindle = Follower { kindle: Some("a@kindle.com".into()), bound_at: 1 };
        store.save_follower("o1", &kindle).unwrap();
        assert!(
            matches!(Store::copy_in_memory(&dir), Err(StoreError::Locked(_))),
            "a store another handle holds is not copied"
        );
        drop(store);
        let copy = Store::copy_in_memory(&dir).unwrap();
        let digest = || crate::digest::sha256_hex(&std::fs::read(dir.join(FILE_NAME)).unwrap());
        let on_disk = digest();
        assert_eq!(copy.follower("o1").unwrap().kindle.as_deref(), Some("a@kindle.com"));
        let writes = copy.writes();
        copy.save_follower("o1", &Follower::default()).unwrap();
        assert_eq!(copy.writes(), writes + 1);
        assert_eq!(copy.follower("o1").unwrap().kindle, None);
        drop(copy);
        assert_eq!(digest(), on_disk, "the copy's writes never reach the file");
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.follower("o1").unwrap().kindle.as_deref(), Some("a@kindle.com"));
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let (_tmp, dir) = temp_dir("corrupt");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(FILE_NAME), vec![0x5a; 8192]).unwrap();
        let err = Store::open(&dir).err().expect("garbage must not open");
        assert!(matches!(err, StoreError::Corrupt(..)), "{err}");
        assert!(err.to_string().contains("move it aside"));
    }

    /// A store file in memory whose writes fail with `errno` while it is not
    /// zero: real redb over a backend that fails as a disk does, opened again
    /// over the same bytes after a failed write, as a file would be.
    #[derive(Debug)]
    struct FailingDisk {
        bytes: std::sync::Arc<InMemoryBackend>,
        errno: std::sync::Arc<std::sync::atomic::AtomicI32>,
    }

    impl FailingDisk {
        fn check(&self) -> io::Result<()> {
            match self.errno.load(Ordering::SeqCst) {
                0 => Ok(()),
                errno => Err(io::Error::from_raw_os_error(errno)),
            }
        }
    }

    impl StorageBackend for FailingDisk {
        fn len(&self) -> io::Result<u64> {
            self.bytes.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
            self.bytes.read(offset, out)
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            self.check()?;
            self.bytes.set_len(len)
        }
        fn sync_data(&self) -> io::Result<()> {
            self.check()?;
            self.bytes.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
            self.check()?;
            self.bytes.write(offset, data)
        }
    }

    /// A store on a [`FailingDisk`], and the switch that makes it fail.
    fn failing_store() -> (Store, std::sync::Arc<std::sync::atomic::AtomicI32>) {
        let bytes = std::sync::Arc::new(InMemoryBackend::new());
        let errno = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
        let switch = errno.clone();
        let open = move || {
            let disk = FailingDisk { bytes: bytes.clone(), errno: errno.clone() };
            Ok(Database::builder().create_with_backend(disk)?)
        };
        let store = Store::with_opener(PathBuf::from("/srv/data/zatan.redb"), Box::new(open));
        (store.unwrap(), switch)
    }

    fn bind(store: &Store, address: &str) -> Result<(), StoreError> {
        store.save_follower("o1", &Follower { kindle: Some(address.into()), bound_at: 1 })
    }

    /// What a write fails with when the disk fails with `errno`.
    fn failed_write(errno: i32) -> StoreError {
        let (store, switch) = failing_store();
        bind(&store, "before@kindle.com").unwrap();
        switch.store(errno, Ordering::SeqCst);
        bind(&store, "after@kindle.com").expect_err("the disk fails")
    }

    #[test]
    fn a_full_disk_says_free_space_and_not_move_the_file_aside() {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        for errno in [ENOSPC, EDQUOT] {
            let err = failed_write(errno);
            assert!(matches!(err, StoreError::DiskFull(..)), "{err:?}");
            assert!(err.is_disk_fault());
            let text = err.to_string();
            assert!(
                text.contains("disk full") && text.contains("free space on /srv/data"),
                "{text}"
            );
            assert!(!text.contains("move it aside"), "{text}");
        }
    }

    #[test]
    fn permission_denied_says_fix_the_owner_of_the_directory() {
        const EACCES: i32 = 13;
        let err = failed_write(EACCES);
        assert!(matches!(err, StoreError::Permission(..)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("owner or mode of /srv/data"), "{text}");
        assert!(text.contains("chown -R zatan:zatan /srv/data"), "{text}");
        assert!(!text.contains("move it aside"), "{text}");
    }

    #[test]
    fn another_io_error_says_check_the_card() {
        const EIO: i32 = 5;
        let err = failed_write(EIO);
        assert!(matches!(err, StoreError::Io(..)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("check the card or disk that holds /srv/data"), "{text}");
        assert!(!text.contains("move it aside"), "{text}");
    }

    #[test]
    fn a_data_dir_that_cannot_be_made_is_a_disk_fault_not_corruption() {
        let (tmp, _) = temp_dir("unwritable");
        // A file where the directory should be: no chmod trick, which root ignores.
        let blocker = tmp.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let err = Store::open(&blocker.join("data")).err().expect("no directory under a file");
        assert!(err.is_disk_fault(), "{err:?}");
        assert!(!err.to_string().contains("move it aside"), "{err}");
        let denied =
            StoreError::from_io(&PathBuf::from("/srv/data"), &io::Error::from_raw_os_error(13));
        assert!(denied.to_string().contains("owner or mode of /srv/data"), "{denied}");
    }

    #[test]
    fn after_a_failed_write_the_store_opens_itself_again_and_saves() {
        let (store, switch) = failing_store();
        bind(&store, "before@kindle.com").unwrap();
        switch.store(28, Ordering::SeqCst);
        for _ in 0..3 {
            let err = bind(&store, "full@kindle.com").expect_err("still full");
            assert!(matches!(err, StoreError::DiskFull(..)), "every failure says why: {err:?}");
        }
        switch.store(0, Ordering::SeqCst);
        let start = Instant::now();
        while let Err(e) = bind(&store, "after@kindle.com") {
            assert!(matches!(e, StoreError::DiskFull(..)), "{e:?}");
            assert!(start.elapsed() < Duration::from_secs(10), "never saved again: {e}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(store.follower("o1").unwrap().kindle.as_deref(), Some("after@kindle.com"));
        assert!(store.fault().told.is_none(), "the fault is over");
    }

    #[test]
    fn records_survive_a_reopen_and_can_be_forgotten() {
        let (_tmp, dir) = temp_dir("records");
        let token = StoredToken { value: "tok".into(), expires_at: 1_900_000_000 };
        let media = MediaRecord {
            hash: "ab".into(),
            media_id: "m1".into(),
            uploaded_at: 5,
            permanent: false,
        };
        {
            let store = Store::open(&dir).unwrap();
            assert_eq!(store.token().unwrap(), None);
            assert!(store.media().unwrap().is_empty());
            store.save_token(&token).unwrap();
            store.save_media("a.png", &media).unwrap();
            store.save_media("b.png", &media).unwrap();
            store.forget_media("b.png").unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.token().unwrap(), Some(token));
        assert_eq!(store.media().unwrap(), vec![("a.png".to_string(), media)]);
    }

    #[test]
    fn a_message_key_creates_one_job_even_across_reopens() {
        let (_tmp, dir) = temp_dir("jobs");
        let first = {
            let store = Store::open(&dir).unwrap();
            let (job, created) = store.create_job("o1|42", JobKind::SendPicture, "o1", 10).unwrap();
            assert!(created);
            assert_eq!(job.id, 1);
            let (other, created) =
                store.create_job("o1|43", JobKind::SendPicture, "o1", 11).unwrap();
            assert!(created);
            assert_eq!(other.id, 2);
            job
        };
        let store = Store::open(&dir).unwrap();
        let (again, created) = store.create_job("o1|42", JobKind::SendPicture, "o1", 99).unwrap();
        assert!(!created);
        assert_eq!(again, first);
        let mut done = again.clone();
        done.state = JobState::Delivered;
        store.save_job(&done).unwrap();
        assert_eq!(store.job(1).unwrap().unwrap().state, JobState::Delivered);
        assert_eq!(store.job(3).unwrap(), None);
        assert_eq!(store.unfinished_jobs().unwrap().iter().map(|j| j.id).collect::<Vec<_>>(), [2]);
        store.create_job("o2|1", JobKind::SendPicture, "o2", 12).unwrap();
        let push = JobKind::PushBook {
            book_id: "b".into(),
            title: "T".into(),
            address: "a@kindle.com".into(),
        };
        store.create_job("o1|44", push.clone(), "o1", 20).unwrap();
        store.create_job("o1|45", push, "o1", 30).unwrap();
        assert_eq!(store.pushes_since("o1", 20).unwrap(), 2);
        assert_eq!(store.pushes_since("o1", 21).unwrap(), 1);
        assert_eq!(store.pushes_since("o2", 0).unwrap(), 0);
        let recent: Vec<u64> = store.recent_jobs("o1", 5).unwrap().iter().map(|j| j.id).collect();
        assert_eq!(recent, [5, 4, 2, 1], "newest first, only o1's");
        assert_eq!(store.recent_jobs("o1", 1).unwrap()[0].id, 5);
    }

    #[test]
    fn crawl_records_survive_a_reopen_and_the_byte_count_restarts_each_day() {
        let (_tmp, dir) = temp_dir("crawl");
        let entry = CrawlEntry {
            url: "http://h/get/1".into(),
            fetched_at: 9,
            outcome: CrawlOutcome::Book { book_id: "abcdef".into(), hash: "00".into() },
        };
        let cache = FeedCache {
            etag: Some("\"e1\"".into()),
            subsections: vec!["http://h/a".into()],
            ..FeedCache::default()
        };
        {
            let store = Store::open(&dir).unwrap();
            assert_eq!(store.crawl_entry("gutenberg", "urn:1").unwrap(), None);
            store.save_crawl_entry("gutenberg", "urn:1", &entry).unwrap();
            store.save_feed_cache("http://h/opds", &cache).unwrap();
            store.save_feed_cache("http://h/gone", &cache).unwrap();
            store.forget_feed_cache("http://h/gone").unwrap();
            store.save_source_run("gutenberg", &SourceRun { started_at: 77 }).unwrap();
            assert_eq!(store.add_crawl_bytes(100, 5).unwrap(), 5);
            assert_eq!(store.add_crawl_bytes(100, 7).unwrap(), 12);
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.crawl_entry("gutenberg", "urn:1").unwrap(), Some(entry));
        assert_eq!(store.crawl_entry("other", "urn:1").unwrap(), None, "entries are per source");
        assert_eq!(store.feed_cache("http://h/opds").unwrap(), Some(cache));
        assert_eq!(store.feed_cache("http://h/gone").unwrap(), None);
        assert_eq!(store.source_run("gutenberg").unwrap(), Some(SourceRun { started_at: 77 }));
        assert_eq!(store.crawl_bytes(100).unwrap(), 12);
        assert_eq!(store.crawl_bytes(101).unwrap(), 0);
        assert_eq!(store.add_crawl_bytes(101, 3).unwrap(), 3, "a new day starts from zero");
    }

    #[test]
    fn the_link_key_is_made_once_and_the_download_cap_counts_per_day() {
        let (_dir, path) = temp_dir("links");
        let store = Store::open(&path).unwrap();
        let key = store.link_key(|| [7; 32]).unwrap();
        assert_eq!(store.link_key(|| [9; 32]).unwrap(), key, "kept, not made again");
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.link_key(|| [9; 32]).unwrap(), [7; 32], "survives a reopen");
        store.replace_link_key([1; 32]).unwrap();
        assert_eq!(store.link_key(|| [9; 32]).unwrap(), [1; 32]);

        assert_eq!(store.take_download_link("o1", 100, 2).unwrap(), Ok(1));
        assert_eq!(store.take_download_link("o1", 100, 2).unwrap(), Ok(2));
        assert_eq!(store.take_download_link("o1", 100, 2).unwrap(), Err(2));
        assert_eq!(store.take_download_link("o2", 100, 2).unwrap(), Ok(1), "per follower");
        assert_eq!(store.take_download_link("o1", 200, 2).unwrap(), Ok(1), "a new day");
    }

    #[test]
    fn article_drafts_and_their_images_survive_a_reopen() {
        let (_tmp, dir) = temp_dir("drafts");
        let draft = ArticleDraft {
            hash: "h1".into(),
            media_id: "DRAFT1".into(),
            drafted_at: 3,
            published: None,
        };
        let image = ArticleImage { wechat: "http://mmbiz.qpic.cn/a".into(), uploaded_at: 2 };
        {
            let store = Store::open(&dir).unwrap();
            assert_eq!(store.article_draft("rain").unwrap(), None);
            store.save_article_draft("rain", &draft).unwrap();
            store.save_article_image("ab", false, &image).unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.article_draft("rain").unwrap(), Some(draft.clone()));
        assert_eq!(store.article_drafts().unwrap(), vec![("rain".to_string(), draft)]);
        assert_eq!(store.article_image("ab", false).unwrap(), Some(image));
        assert_eq!(store.article_image("ab", true).unwrap(), None, "covers are kept apart");
        store.forget_article_image("ab", false).unwrap();
        assert_eq!(store.article_image("ab", false).unwrap(), None);
    }

    #[test]
    fn other_schema_version_is_refused() {
        let (_tmp, dir) = temp_dir("schema");
        Store::open(&dir).unwrap().set_schema_version(99);
        let err = Store::open(&dir).err().expect("schema 99 must be refused");
        assert!(matches!(err, StoreError::WrongSchema { found: 99, .. }), "{err}");
    }
}
