//! The pictures a reply may name, as the uploader publishes them for the bot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::published::Published;

/// A picture WeChat has, that a reply may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyPicture {
    pub file_name: String,
    pub media_id: String,
}

/// The published list of ready pictures: readers take a snapshot, the uploader
/// swaps in a new list when it changes. Also how many wait for an upload.
#[derive(Clone, Default)]
pub struct ReadyPictures {
    ready: Published<Vec<ReadyPicture>>,
    pending: Arc<AtomicUsize>,
}

impl ReadyPictures {
    pub fn snapshot(&self) -> Arc<Vec<ReadyPicture>> {
        self.ready.snapshot()
    }

    /// Pictures in the directory that are being uploaded (or retried).
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    pub fn replace(&self, pictures: Vec<ReadyPicture>, pending: usize) {
        self.ready.publish(pictures);
        self.pending.store(pending, Ordering::Relaxed);
    }
}
