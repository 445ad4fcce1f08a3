//! The library as the chat reads it: a snapshot the library service publishes
//! after every change, read without waiting on anything.

use sha2::{Digest, Sha256};

use super::search::matches;
use crate::digest::hex;
use crate::store::Book;
use crate::text::fold;

/// All books, newest first, each with its folded search text.
#[derive(Debug, Default)]
pub struct Catalog {
    books: Vec<(Book, String)>,
    version: String,
    changed_at: u64,
}

impl Catalog {
    pub fn new(mut books: Vec<Book>) -> Catalog {
        books.sort_by(|a, b| b.added_at.cmp(&a.added_at).then_with(|| a.id.cmp(&b.id)));
        let mut digest = Sha256::new();
        let mut changed_at = 0;
        for book in &books {
            digest.update(book.id.as_bytes());
            for file in &book.files {
                digest.update(b"\n");
                digest.update(file.hash.as_bytes());
                changed_at = changed_at.max(file.modified);
            }
            digest.update(b"\n\n");
            changed_at = changed_at.max(book.added_at);
        }
        let version = hex(&digest.finalize()[..12]);
        let books = books
            .into_iter()
            .map(|book| {
                let text =
                    fold(&format!("{} {}", book.title, book.author.as_deref().unwrap_or("")));
                (book, text)
            })
            .collect();
        Catalog { books, version, changed_at }
    }

    /// Changes whenever a book or a file comes or goes: what feeds of the
    /// catalog are tagged with. The same books give the same version, after
    /// a restart too.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// When a book was last added or a file last changed (Unix seconds).
    pub fn changed_at(&self) -> u64 {
        self.changed_at
    }

    /// Every book, newest first.
    pub fn books(&self) -> impl Iterator<Item = &Book> {
        self.books.iter().map(|(book, _)| book)
    }

    pub fn len(&self) -> usize {
        self.books.len()
    }

    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    /// Up to `limit` books whose title or author contain every word of `query`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Book> {
        let query = fold(query);
        self.books
            .iter()
            .filter(|(_, text)| matches(text, &query))
            .map(|(book, _)| book)
            .take(limit)
            .collect()
    }

    /// A book by id, case-insensitively (followers type ids on phone keyboards).
    pub fn get(&self, id: &str) -> Option<&Book> {
        let id = fold(id);
        self.books.iter().map(|(book, _)| book).find(|book| book.id == id)
    }
}

/// The published catalog: the library service replaces it, the chat reads it.
pub type SharedCatalog = crate::published::Published<Catalog>;
