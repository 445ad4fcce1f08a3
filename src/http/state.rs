//! What the accept loop and every connection share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::limits::Limits;
use super::router::Router;
use super::tracker::ConnectionTracker;
use crate::log_summary::{LogSummary, DEFAULT_SETTINGS};

pub(crate) struct ServerState {
    pub limits: Limits,
    pub router: Arc<Router>,
    pub tracker: Arc<ConnectionTracker>,
    /// Refused, evicted, timed-out and malformed connections: hostile
    /// traffic, logged as summaries rather than a line each.
    pub log: LogSummary,
    stopping: AtomicBool,
}

impl ServerState {
    pub(crate) fn new(limits: Limits, router: Arc<Router>) -> ServerState {
        ServerState {
            tracker: ConnectionTracker::new(&limits),
            log: LogSummary::new("HTTP front", DEFAULT_SETTINGS),
            limits,
            router,
            stopping: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub(crate) fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}
