//! The one way anything in zatan is asked to stop: a [`Shutdown`] that every
//! clone sees at once, fired by dropping its [`Trigger`]. Services wait on it
//! in their `select!`; long work (a crawl, a download) looks at it between
//! steps and cuts its waits short.

use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{select, Receiver, Sender, TryRecvError};

/// Fires the [`Shutdown`]s made with it when dropped (or [`Trigger::fire`]d).
pub struct Trigger {
    /// Held only to be dropped: nothing is ever sent.
    _sender: Sender<()>,
}

/// Whether a stop was asked for. Cheap to clone; nothing is ever sent on it:
/// the channel disconnects when the trigger goes, which every receiver sees.
#[derive(Clone)]
pub struct Shutdown(Receiver<()>);

pub fn pair() -> (Trigger, Shutdown) {
    let (tx, rx) = crossbeam_channel::bounded(0);
    (Trigger { _sender: tx }, Shutdown(rx))
}

impl Trigger {
    pub fn fire(self) {}

    /// A trigger that a signal handler (`Fn`, called any number of times)
    /// can fire: the first call fires it, later calls do nothing.
    pub fn into_handler(self) -> impl Fn() + Send + 'static {
        let slot = Mutex::new(Some(self));
        move || drop(slot.lock().unwrap_or_else(|p| p.into_inner()).take())
    }
}

impl Shutdown {
    pub fn is_requested(&self) -> bool {
        !matches!(self.0.try_recv(), Err(TryRecvError::Empty))
    }

    /// Sleep `wait`, or less when a stop is asked for. True when stopping.
    pub fn sleep(&self, wait: Duration) -> bool {
        select! {
            recv(self.0) -> _ => true,
            default(wait) => false,
        }
    }

    /// For `select!`: ready (disconnected) once a stop is asked for.
    pub fn receiver(&self) -> &Receiver<()> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn every_clone_sees_the_stop_and_sleeps_are_cut_short() {
        let (trigger, shutdown) = pair();
        let other = shutdown.clone();
        assert!(!shutdown.is_requested());
        let start = Instant::now();
        assert!(!shutdown.sleep(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        let waiter = std::thread::spawn(move || other.sleep(Duration::from_secs(30)));
        trigger.fire();
        assert!(waiter.join().unwrap(), "a sleeping clone wakes");
        let start = Instant::now();
        assert!(shutdown.sleep(Duration::from_secs(30)));
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(shutdown.is_requested() && shutdown.is_requested(), "stays stopped");
    }

    #[test]
    fn a_handler_fires_once_however_often_it_is_called() {
        let (trigger, shutdown) = pair();
        let handler = trigger.into_handler();
        handler();
        handler();
        assert!(shutdown.is_requested());
    }
}
