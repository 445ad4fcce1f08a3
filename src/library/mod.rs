//! The e-book library: the files in `books.dir`, indexed in the store. A book
//! is a work (title and author) in one or more files; the same content twice
//! is one file. Called by the library service thread (watcher events), the
//! `books` subcommand and the crawler; the chat reads a published [`Catalog`].

mod catalog;
pub mod links;
mod search;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::clock::unix_now;
use crate::digest::{sha256_file_hex, sha256_hex};
use crate::ebook::{self, Format};
use crate::fsutil::safe_name;
use crate::store::{Store, StoreError};
use crate::text::fold;

pub use crate::store::{Book, BookFile, Provenance};
pub use catalog::{Catalog, SharedCatalog};

/// How a file from elsewhere comes into `books.dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    Copy,
    /// Rename (same file system: a crawler's verified temporary file).
    Move,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    New(Book),
    /// The content was already in the library; nothing was added.
    Known(Book),
}

impl Added {
    pub fn book(&self) -> &Book {
        match self {
            Added::New(book) | Added::Known(book) => book,
        }
    }
}

#[derive(Debug)]
pub enum LibraryError {
    /// Not a book zatan can read: the reason says why.
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    Store(StoreError),
    NoSuchBook(String),
}

impl fmt::Display for LibraryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibraryError::Unreadable { path, reason } => {
                write!(f, "{} is not a usable book: {reason}", path.display())
            }
            LibraryError::Io { path, error } => {
                write!(f, "{}: {}", path.display(), crate::fsutil::describe_io(error))
            }
            LibraryError::Store(e) => e.fmt(f),
            LibraryError::NoSuchBook(id) => {
                write!(f, "no book has the id `{id}`; `zatan books list` shows the ids")
            }
        }
    }
}

impl std::error::Error for LibraryError {}

impl From<StoreError> for LibraryError {
    fn from(e: StoreError) -> Self {
        LibraryError::Store(e)
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LibraryError + '_ {
    move |error| LibraryError::Io { path: path.to_path_buf(), error }
}

/// What a file is, read without changing anything.
#[derive(Debug, Clone)]
struct Inspected {
    format: Format,
    size: u64,
    modified: u64,
    hash: String,
    meta: ebook::BookMeta,
}

fn inspect(path: &Path) -> Result<Inspected, LibraryError> {
    let unreadable = |reason: String| LibraryError::Unreadable { path: path.to_path_buf(), reason };
    let format = Format::from_path(path)
        .ok_or_else(|| unreadable("only .epub, .txt, .mobi and .azw3 files are books".into()))?;
    let (size, modified) = size_and_mtime(path).map_err(io_error(path))?;
    if size == 0 {
        return Err(unreadable("the file is empty".into()));
    }
    let meta = ebook::read_metadata(path).map_err(|e| unreadable(e.to_string()))?;
    let hash = sha256_file_hex(path).map_err(io_error(path))?;
    Ok(Inspected { format, size, modified, hash, meta })
}

fn size_and_mtime(path: &Path) -> std::io::Result<(u64, u64)> {
    let metadata = std::fs::metadata(path)?;
    let modified =
        metadata.modified()?.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Ok((metadata.len(), modified))
}

/// The short id of a work: six base-32 characters from its title and author,
/// so the same book gets the same id on every scan and every machine.
fn book_id(title: &str, author: Option<&str>, length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789"; // no l, o, 0, 1
    let digest = sha256_hex(format!("{}\0{}", fold(title), fold(author.unwrap_or(""))).as_bytes());
    digest
        .as_bytes()
        .chunks(2)
        .take(length)
        .map(|pair| {
            let byte =
                u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("00"), 16).unwrap_or(0);
            ALPHABET[usize::from(byte) % ALPHABET.len()] as char
        })
        .collect()
}

fn same_work(book: &Book, meta: &ebook::BookMeta) -> bool {
    fold(&book.title) == fold(&meta.title)
        && book.author.as_deref().map(fold) == meta.author.as_deref().map(fold)
}

/// The id for a work: the short id, longer only when another work has it.
fn id_for(store: &Store, meta: &ebook::BookMeta) -> Result<(String, Option<Book>), StoreError> {
    for length in [6, 8, 10, 12, 16, 20, 32] {
        let id = book_id(&meta.title, meta.author.as_deref(), length);
        match store.book(&id)? {
            Some(book) if same_work(&book, meta) => return Ok((id, Some(book))),
            Some(_) => continue,
            None => return Ok((id, None)),
        }
    }
    unreachable!("a 32-character id collision")
}

/// Index the file `name` that is in `books_dir`.
pub fn index_file(
    store: &Store,
    books_dir: &Path,
    name: &str,
    provenance: Option<Provenance>,
) -> Result<Added, LibraryError> {
    let found = inspect(&books_dir.join(name))?;
    index_inspected(store, name, found, provenance)
}

fn index_inspected(
    store: &Store,
    name: &str,
    found: Inspected,
    provenance: Option<Provenance>,
) -> Result<Added, LibraryError> {
    if let Some(book) = store.book_by_hash(&found.hash)? {
        if !book.files.iter().any(|f| f.name == name) {
            log::info!(
                "{name} has the same content as a file of book {} ({}); not indexed twice",
                book.id,
                book.title
            );
        }
        return Ok(Added::Known(book));
    }
    // The file changed: its old content leaves the book it was in.
    forget_file(store, name)?;
    let (id, existing) = id_for(store, &found.meta)?;
    let file = BookFile {
        name: name.to_string(),
        format: found.format.to_string(),
        size: found.size,
        modified: found.modified,
        hash: found.hash,
        provenance,
    };
    let book = match existing {
        Some(mut book) => {
            book.files.push(file);
            book
        }
        None => Book {
            id,
            title: found.meta.title,
            author: found.meta.author,
            lang: found.meta.lang,
            files: vec![file],
            added_at: unix_now(),
        },
    };
    store.save_book(&book)?;
    Ok(Added::New(book))
}

/// Bring `file` into `books_dir` under a clean name and index it, unless its
/// content is there already.
pub fn add_file(
    store: &Store,
    books_dir: &Path,
    file: &Path,
    intake: Intake,
    provenance: Option<Provenance>,
) -> Result<Added, LibraryError> {
    let found = inspect(file)?;
    if let Some(book) = store.book_by_hash(&found.hash)? {
        if intake == Intake::Move {
            std::fs::remove_file(file).map_err(io_error(file))?;
        }
        return Ok(Added::Known(book));
    }
    let name = place(file, books_dir, &found, intake)?;
    index_inspected(store, &name, found, provenance)
}

/// Copy a book into `books_dir` without indexing it, for when a running
/// server holds the store (its watcher indexes the file); the name it got.
pub fn copy_unindexed(file: &Path, books_dir: &Path) -> Result<String, LibraryError> {
    let found = inspect(file)?;
    place(file, books_dir, &found, Intake::Copy)
}

/// Put `file` into `books_dir` under a clean free name; the name it got.
fn place(
    file: &Path,
    books_dir: &Path,
    found: &Inspected,
    intake: Intake,
) -> Result<String, LibraryError> {
    std::fs::create_dir_all(books_dir).map_err(io_error(books_dir))?;
    let name = free_name(books_dir, &found.meta, found.format);
    let target = books_dir.join(&name);
    match intake {
        Intake::Move => std::fs::rename(file, &target).map_err(io_error(file))?,
        // Under a hidden name first: the watcher never sees half a file.
        Intake::Copy => {
            crate::fsutil::copy_atomically(file, &target).map(drop).map_err(io_error(&target))?
        }
    }
    Ok(name)
}

/// `《书名》作者：某某.txt` (`Title by Author.txt` for other languages): the
/// names a scan reads title and author back from. Made safe as a file name,
/// numbered when taken.
fn free_name(books_dir: &Path, meta: &ebook::BookMeta, format: Format) -> String {
    let mut stem: String = match (&meta.author, meta.lang.as_str()) {
        (Some(author), "zh") => format!("《{}》作者：{author}", meta.title),
        (Some(author), _) => format!("{} by {author}", meta.title),
        (None, "zh") => format!("《{}》", meta.title),
        (None, _) => meta.title.clone(),
    };
    stem = safe_name(&stem).chars().take(100).collect();
    stem = stem.trim().trim_start_matches('.').to_string();
    if stem.is_empty() {
        stem = "book".into();
    }
    let mut name = format!("{stem}.{format}");
    let mut n = 2;
    while books_dir.join(&name).exists() {
        name = format!("{stem} ({n}).{format}");
        n += 1;
    }
    name
}

/// The file `name` is gone from `books_dir`: drop it from its book (and the
/// book, when it was its last file).
pub fn forget_file(store: &Store, name: &str) -> Result<Option<Book>, StoreError> {
    let Some(mut book) = store.book_by_file_name(name)? else { return Ok(None) };
    book.files.retain(|f| f.name != name);
    store.save_book(&book)?;
    Ok(Some(book))
}

/// Delete a book's files and its record.
pub fn remove_book(store: &Store, books_dir: &Path, id: &str) -> Result<Book, LibraryError> {
    let mut book = store.book(id)?.ok_or_else(|| LibraryError::NoSuchBook(id.to_string()))?;
    for file in &book.files {
        let path = books_dir.join(&file.name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(LibraryError::Io { path, error: e })
            }
            _ => {}
        }
    }
    let removed = book.clone();
    book.files.clear();
    store.save_book(&book)?;
    Ok(removed)
}

/// What a scan of `books.dir` did.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub added: Vec<Book>,
    pub forgotten: Vec<String>,
    /// Files that are not usable books, with the reason.
    pub refused: Vec<(String, String)>,
    pub books: usize,
}

/// Make the index match the directory: index new and changed files, forget
/// files that are gone. Run at start, after a lost-events rescan, and by
/// `zatan books scan`.
pub fn scan(store: &Store, books_dir: &Path) -> Result<ScanReport, LibraryError> {
    let files = crate::fsutil::list_files(books_dir).map_err(io_error(books_dir))?;
    let mut report = ScanReport::default();
    let indexed: Vec<BookFile> = store.books()?.into_iter().flat_map(|b| b.files).collect();
    for file in &indexed {
        if !files.iter().any(|(name, _)| *name == file.name) {
            forget_file(store, &file.name)?;
            report.forgotten.push(file.name.clone());
        }
    }
    for (name, path) in &files {
        let unchanged = indexed.iter().any(|f| {
            f.name == *name && size_and_mtime(path).is_ok_and(|sm| sm == (f.size, f.modified))
        });
        if unchanged {
            continue;
        }
        match index_file(store, books_dir, name, None) {
            Ok(Added::New(book)) => report.added.push(book),
            Ok(Added::Known(_)) => {}
            Err(LibraryError::Unreadable { reason, .. }) => {
                report.refused.push((name.clone(), reason))
            }
            Err(e) => return Err(e),
        }
    }
    report.books = store.books()?.len();
    Ok(report)
}

#[cfg(test)]
mod tests;
