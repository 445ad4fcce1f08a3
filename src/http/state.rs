//! What the accept loop and every connection share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::limits::Limits;
use super::router::Router;
use super::tracker::ConnectionTracker;

pub(crate) struct ServerState {
    pub limits: Limits,
    pub router: Arc<Router>,
    pub tracker: Arc<ConnectionTracker>,
    stopping: AtomicBool,
}

impl ServerState {
    pub(crate) fn new(limits: Limits, router: Arc<Router>) -> ServerState {
        ServerState {
            tracker: ConnectionTracker::new(limits.max_connections),
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
