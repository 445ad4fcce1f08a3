//! `zatan books list | add FILE | remove ID | scan | revoke-links`.

use std::fmt::Write;
use std::path::Path;

use super::Failure;
use crate::cli::BooksAction;
use crate::config::Config;
use crate::library::{add_file, copy_unindexed, remove_book, scan, Added, Intake, LibraryError};
use crate::store::{Book, Store, StoreError};

pub fn run(config: &Config, action: &BooksAction) -> Result<String, Failure> {
    let books_dir = &config.books.dir;
    let store = match Store::open(&config.storage.data_dir) {
        Ok(store) => store,
        Err(StoreError::Locked(_)) => return while_serving(books_dir, action),
        Err(e) => return Err(Failure::runtime(e.to_string())),
    };
    match action {
        BooksAction::List => {
            let books = store.books().map_err(|e| Failure::runtime(e.to_string()))?;
            if books.is_empty() {
                return Ok(format!(
                    "no books yet; put e-books in {} or run `zatan books add FILE`",
                    books_dir.display()
                ));
            }
            Ok(books.iter().map(line).collect::<Vec<_>>().join("\n"))
        }
        BooksAction::Add(file) => {
            match add_file(&store, books_dir, file, Intake::Copy, None).map_err(failure)? {
                Added::New(book) => Ok(format!("added {}", line(&book))),
                Added::Known(book) => {
                    Ok(format!("already in the library (same content): {}", line(&book)))
                }
            }
        }
        BooksAction::Remove(id) => {
            let book = remove_book(&store, books_dir, id).map_err(failure)?;
            Ok(format!("removed {} and its files", line(&book)))
        }
        BooksAction::Scan => {
            let report = scan(&store, books_dir).map_err(failure)?;
            let mut out = String::new();
            for book in &report.added {
                let _ = writeln!(out, "added {}", line(book));
            }
            for name in &report.forgotten {
                let _ = writeln!(out, "gone {name}");
            }
            for (name, reason) in &report.refused {
                let _ = writeln!(out, "refused {name}: {reason}");
            }
            let _ = write!(out, "{} books in {}", report.books, books_dir.display());
            Ok(out)
        }
        BooksAction::RevokeLinks => {
            let key = crate::random::key32().map_err(|e| {
                Failure::runtime(format!(
                    "cannot make a new key: the system's random source failed ({e})"
                ))
            })?;
            store.replace_link_key(key).map_err(|e| Failure::runtime(e.to_string()))?;
            Ok("a new key signs download links now: every link given before no longer works".into())
        }
    }
}

/// The server holds the store: a new book can still go into the directory,
/// where the server's watcher indexes it; the rest needs the store.
fn while_serving(books_dir: &Path, action: &BooksAction) -> Result<String, Failure> {
    match action {
        BooksAction::Add(file) => {
            let name = copy_unindexed(file, books_dir).map_err(failure)?;
            Ok(format!("copied to {}; the running server indexes it now", books_dir.join(name).display()))
        }
        _ => Err(Failure::runtime(format!(
            "the running zatan server holds the store; stop it for this, or change {} directly (the server notices added and deleted files)",
            books_dir.display()
        ))),
    }
}

/// A book that is not one, or an id that names none, is the owner's to fix (exit 2).
fn failure(e: LibraryError) -> Failure {
    match e {
        LibraryError::Unreadable { .. } | LibraryError::NoSuchBook(_) => {
            Failure::config(e.to_string())
        }
        other => Failure::runtime(other.to_string()),
    }
}

fn line(book: &Book) -> String {
    let formats: Vec<&str> = book.files.iter().map(|f| f.format.as_str()).collect();
    let size: u64 = book.files.iter().map(|f| f.size).sum();
    let author = book.author.as_deref().map(|a| format!(" — {a}")).unwrap_or_default();
    format!(
        "{}  {:<9} {:>6} KB  {}{author}",
        book.id,
        formats.join(","),
        size.div_ceil(1024),
        book.title
    )
}
