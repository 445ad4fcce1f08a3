//! The library service: keeps the book index in step with `books.dir` (a scan
//! at start, then the watcher's events) and publishes the catalog the chat
//! searches.

use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::watcher::FileEvent;
use super::Service;
use crate::library::{self, Added, Catalog, LibraryError, SharedCatalog};
use crate::shutdown::Shutdown;
use crate::store::Store;

pub struct LibraryService {
    pub store: Arc<Store>,
    pub dir: PathBuf,
    pub catalog: SharedCatalog,
}

impl LibraryService {
    pub fn run(mut self, inbox: Receiver<FileEvent>, shutdown: &Shutdown) {
        self.scan();
        super::run(&mut self, &inbox, shutdown);
    }

    fn scan(&self) {
        let scanned = library::scan(&self.store, &self.dir);
        self.publish();
        match scanned {
            Ok(report) => {
                for (name, reason) in &report.refused {
                    log::warn!("library: skipping {name}: {reason}");
                }
                log::info!(
                    "library: {} books ({} new, {} gone) in {}",
                    report.books,
                    report.added.len(),
                    report.forgotten.len(),
                    self.dir.display()
                );
            }
            Err(e) => log::error!("library: cannot scan {}: {e}", self.dir.display()),
        }
    }

    /// The catalog as the store has it.
    pub fn publish(&self) {
        match self.store.books() {
            Ok(books) => self.catalog.publish(Catalog::new(books)),
            Err(e) => log::error!("library: cannot read the index: {e}"),
        }
    }
}

impl Service for LibraryService {
    type Message = FileEvent;

    /// The catalog is published before the log line, so the line means the
    /// chat finds the change.
    fn on_message(&mut self, event: FileEvent) {
        let line = match event {
            FileEvent::Changed(name) => {
                match library::index_file(&self.store, &self.dir, &name, None) {
                    Ok(Added::New(book)) => Some(format!(
                        "library: {name} indexed as book {} ({})",
                        book.id, book.title
                    )),
                    Ok(Added::Known(_)) => None,
                    Err(LibraryError::Io { error, .. })
                        if error.kind() == std::io::ErrorKind::NotFound =>
                    {
                        None
                    }
                    Err(e) => {
                        log::warn!("library: {e}");
                        None
                    }
                }
            }
            FileEvent::Removed(name) => match library::forget_file(&self.store, &name) {
                Ok(Some(book)) => {
                    Some(format!("library: {name} removed from book {} ({})", book.id, book.title))
                }
                Ok(None) => None,
                Err(e) => {
                    log::error!("library: cannot forget {name}: {e}");
                    None
                }
            },
            FileEvent::Rescan => return self.scan(),
        };
        self.publish();
        if let Some(line) = line {
            log::info!("{line}");
        }
    }
}
