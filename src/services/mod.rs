//! Background services: each is a thread that owns its state and an inbox,
//! and runs the one loop below: wait for a message, for its own next due time
//! or for shutdown, and handle what came. `start` brings them all up for
//! `zatan serve`, in dependency order.

pub mod articles;
pub mod control;
pub mod crawler;
pub mod draft_sync;
pub mod drafts;
pub mod jobs;
pub mod library;
pub mod mailer;
pub mod pictures;
pub mod rules;
mod start;
pub mod token;
pub mod watcher;

use std::time::Instant;

use crossbeam_channel::{after, never, select, Receiver};

pub use start::{bot_without_services, draft_settings, start, Services, StartError};

use crate::shutdown::{self, Shutdown, Trigger};

/// What a service does, as its loop sees it.
pub trait Service {
    type Message;

    /// When the service next has work of its own (a refresh, a retry, a
    /// poll); None when only a message can give it some.
    fn next_due(&self) -> Option<Instant> {
        None
    }

    fn on_message(&mut self, message: Self::Message);

    /// `next_due` has come.
    fn on_due(&mut self) {}
}

/// The loop of every service thread, until shutdown or until every sender of
/// `inbox` is gone. A service with no inbox passes `&never()`.
pub fn run<S: Service>(service: &mut S, inbox: &Receiver<S::Message>, shutdown: &Shutdown) {
    loop {
        let timer = match service.next_due() {
            Some(at) => after(at.saturating_duration_since(Instant::now())),
            None => never(),
        };
        select! {
            recv(shutdown.receiver()) -> _ => break,
            recv(inbox) -> message => match message {
                Ok(message) => service.on_message(message),
                Err(_) => break,
            },
            recv(timer) -> _ => service.on_due(),
        }
    }
}

/// A service thread as `serve` sees it: how to ask it to stop, and how to
/// know it has.
pub struct Running {
    name: &'static str,
    trigger: Trigger,
    /// Disconnects when the thread ends, however it ends.
    done: Receiver<()>,
}

/// Start `body` on a named thread with the [`Shutdown`] that
/// [`Running::stop_until`] fires.
pub fn spawn(
    name: &'static str,
    body: impl FnOnce(Shutdown) + Send + 'static,
) -> std::io::Result<Running> {
    spawn_boxed(name, Box::new(body))
}

/// [`spawn`] for one type of body: std's thread start-up code is generic over
/// the closure, and each service's own copy of it was a few KB of flash.
fn spawn_boxed(
    name: &'static str,
    body: Box<dyn FnOnce(Shutdown) + Send>,
) -> std::io::Result<Running> {
    let (trigger, shutdown) = shutdown::pair();
    let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let _done = done_tx;
        body(shutdown);
    })?;
    Ok(Running { name, trigger, done })
}

impl Running {
    /// Ask the service to stop and wait for it until `deadline`. A service
    /// still busy then (a slow upload, say) is left to die with the process:
    /// every state change it makes is one store transaction, so nothing is
    /// half-written, and unfinished work is redone at the next start.
    pub fn stop_until(self, deadline: Instant) {
        self.trigger.fire();
        let left = deadline.saturating_duration_since(Instant::now());
        if self.done.recv_timeout(left).is_err_and(|e| e.is_timeout()) {
            log::warn!(
                "{} did not stop in time; leaving it (its work resumes at the next start)",
                self.name
            );
        }
        log::debug!("{} stopped", self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::Sender;
    use std::time::Duration;

    /// Reports each message, and comes due once, right away.
    struct Reporter {
        seen: Sender<String>,
        due: Option<Instant>,
    }

    impl Service for Reporter {
        type Message = u32;
        fn next_due(&self) -> Option<Instant> {
            self.due
        }
        fn on_message(&mut self, message: u32) {
            self.seen.send(format!("message {message}")).unwrap();
        }
        fn on_due(&mut self) {
            self.due = None;
            self.seen.send("due".into()).unwrap();
        }
    }

    #[test]
    fn the_loop_hands_over_messages_and_due_times_and_ends_on_shutdown() {
        let (tx, inbox) = crossbeam_channel::unbounded();
        let (seen_tx, seen) = crossbeam_channel::unbounded();
        let running = spawn("reporter", move |shutdown| {
            run(&mut Reporter { seen: seen_tx, due: Some(Instant::now()) }, &inbox, &shutdown);
        })
        .unwrap();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut events: Vec<String> = seen.iter().take(3).collect();
        events.sort();
        assert_eq!(events, ["due", "message 1", "message 2"]);
        let start = Instant::now();
        running.stop_until(Instant::now() + Duration::from_secs(5));
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(seen.recv().is_err(), "the thread ended and nothing more came");
    }
}
