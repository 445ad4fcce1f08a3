//! The library as the chat reads it: a snapshot the library service publishes
//! after every change, read without waiting on anything.

use super::search::matches;
use crate::store::Book;
use crate::text::fold;

/// All books, newest first, each with its folded search text.
#[derive(Debug, Default)]
pub struct Catalog {
    books: Vec<(Book, String)>,
}

impl Catalog {
    pub fn new(mut books: Vec<Book>) -> Catalog {
        books.sort_by(|a, b| b.added_at.cmp(&a.added_at).then_with(|| a.id.cmp(&b.id)));
        let books = books
            .into_iter()
            .map(|book| {
                let text =
                    fold(&format!("{} {}", book.title, book.author.as_deref().unwrap_or("")));
                (book, text)
            })
            .collect();
        Catalog { books }
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
