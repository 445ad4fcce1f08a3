//! Background services: each is a thread that owns its state and an inbox.

pub mod articles;
pub mod crawler;
pub mod jobs;
pub mod library;
pub mod mailer;
pub mod pictures;
pub mod token;
pub mod watcher;

use std::time::Instant;

use crossbeam_channel::Receiver;

/// A service thread as `serve` sees it: how to ask it to stop, and how to
/// know it has.
pub struct Running {
    name: &'static str,
    stop: Box<dyn FnOnce() + Send>,
    /// Disconnects when the thread ends, however it ends.
    done: Receiver<()>,
}

/// Start `body` on a named thread; `stop` is what asks it to end (usually a
/// message into its inbox).
pub fn spawn(
    name: &'static str,
    stop: impl FnOnce() + Send + 'static,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<Running> {
    let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let _done = done_tx;
        body();
    })?;
    Ok(Running { name, stop: Box::new(stop), done })
}

impl Running {
    /// Ask the service to stop and wait for it until `deadline`. A service
    /// still busy then (a slow upload, say) is left to die with the process:
    /// every state change it makes is one store transaction, so nothing is
    /// half-written, and unfinished work is redone at the next start.
    pub fn stop_until(self, deadline: Instant) {
        (self.stop)();
        let left = deadline.saturating_duration_since(Instant::now());
        if self.done.recv_timeout(left).is_err_and(|e| e.is_timeout()) {
            log::warn!("{} did not stop in time; leaving it (its work resumes at the next start)", self.name);
        }
    }
}
