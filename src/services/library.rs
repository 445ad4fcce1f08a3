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
        match library::scan(&self.store, &self.dir) {
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
        self.publish();
    }

    fn publish(&self) {
        match self.store.books() {
            Ok(books) => self.catalog.publish(Catalog::new(books)),
            Err(e) => log::error!("library: cannot read the index: {e}"),
        }
    }
}

impl Service for LibraryService {
    type Message = FileEvent;

    fn on_message(&mut self, event: FileEvent) {
        match event {
            FileEvent::Changed(name) => {
                match library::index_file(&self.store, &self.dir, &name, None) {
                    Ok(Added::New(book)) => {
                        log::info!("library: {name} indexed as book {} ({})", book.id, book.title)
                    }
                    Ok(Added::Known(_)) => {}
                    Err(LibraryError::Io { error, .. })
                        if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => log::warn!("library: {e}"),
                }
            }
            FileEvent::Removed(name) => match library::forget_file(&self.store, &name) {
                Ok(Some(book)) => {
                    log::info!("library: {name} removed from book {} ({})", book.id, book.title)
                }
                Ok(None) => {}
                Err(e) => log::error!("library: cannot forget {name}: {e}"),
            },
            FileEvent::Rescan => self.scan(),
        }
        self.publish();
    }
}
