//! Which connections are open: enforces the cap, and lets shutdown reach
//! connections that are blocked reading.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub(crate) struct ConnectionTracker {
    max_connections: usize,
    next_id: AtomicU64,
    slots: Mutex<HashMap<u64, Arc<ConnectionSlot>>>,
}

/// What the tracker knows of one connection.
pub(crate) struct ConnectionSlot {
    /// A duplicate of the connection's socket, only ever used to shut it down.
    socket: TcpStream,
    /// Waiting for the first byte of a request, so nothing is in flight.
    idle: AtomicBool,
}

impl ConnectionSlot {
    pub(crate) fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::SeqCst);
    }
}

/// Holds one place under the cap; dropping it, however the connection ends,
/// gives the place back.
pub(crate) struct ConnectionGuard {
    tracker: Arc<ConnectionTracker>,
    id: u64,
    slot: Arc<ConnectionSlot>,
}

impl ConnectionGuard {
    pub(crate) fn slot(&self) -> &ConnectionSlot {
        &self.slot
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.tracker.slots().remove(&self.id);
    }
}

impl ConnectionTracker {
    pub(crate) fn new(max_connections: usize) -> Arc<Self> {
        Arc::new(ConnectionTracker {
            max_connections,
            next_id: AtomicU64::new(0),
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for `socket`, or `Ok(None)` when all places are taken.
    pub(crate) fn admit(
        self: &Arc<Self>,
        socket: &TcpStream,
    ) -> io::Result<Option<ConnectionGuard>> {
        let mut slots = self.slots();
        if slots.len() >= self.max_connections {
            return Ok(None);
        }
        let slot =
            Arc::new(ConnectionSlot { socket: socket.try_clone()?, idle: AtomicBool::new(true) });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        slots.insert(id, Arc::clone(&slot));
        Ok(Some(ConnectionGuard { tracker: Arc::clone(self), id, slot }))
    }

    pub(crate) fn open(&self) -> usize {
        self.slots().len()
    }

    /// Ends the reads of idle connections: a blocked read then sees end of
    /// file, while a request already received is still read and answered.
    /// Returns how many connections were idle.
    pub(crate) fn close_idle(&self) -> usize {
        self.shut_down_where(|slot| slot.idle.load(Ordering::SeqCst), Shutdown::Read)
    }

    /// Cuts every connection off, busy or not. Returns how many there were.
    pub(crate) fn close_all(&self) -> usize {
        self.shut_down_where(|_| true, Shutdown::Both)
    }

    fn shut_down_where(&self, select: impl Fn(&ConnectionSlot) -> bool, how: Shutdown) -> usize {
        let slots = self.slots();
        let mut count = 0;
        for slot in slots.values().filter(|slot| select(slot)) {
            // A socket the peer already closed may refuse; it is ending anyway.
            let _ = slot.socket.shutdown(how);
            count += 1;
        }
        count
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnectionSlot>>> {
        // The lock is never held across anything that can panic, but a
        // poisoned map is still a correct map.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    #[test]
    fn the_cap_holds_and_dropping_a_guard_frees_its_place() {
        let tracker = ConnectionTracker::new(2);
        let (a, _a) = socket_pair();
        let first = tracker.admit(&a).unwrap().unwrap();
        let _second = tracker.admit(&a).unwrap().unwrap();
        assert!(tracker.admit(&a).unwrap().is_none());
        assert_eq!(tracker.open(), 2);
        drop(first);
        assert_eq!(tracker.open(), 1);
        assert!(tracker.admit(&a).unwrap().is_some());
    }

    #[test]
    fn a_panic_while_holding_a_guard_frees_its_place() {
        let tracker = ConnectionTracker::new(1);
        let (a, _a) = socket_pair();
        let guard = tracker.admit(&a).unwrap().unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = guard;
            panic!("connection code failed");
        }));
        assert!(result.is_err());
        assert_eq!(tracker.open(), 0);
    }

    #[test]
    fn close_idle_shuts_only_idle_connections() {
        let tracker = ConnectionTracker::new(4);
        let (idle, _idle_peer) = socket_pair();
        let (mut busy, _busy_peer) = socket_pair();
        let _idle_guard = tracker.admit(&idle).unwrap().unwrap();
        let busy_guard = tracker.admit(&busy).unwrap().unwrap();
        busy_guard.slot().set_idle(false);

        assert_eq!(tracker.close_idle(), 1);
        let mut byte = [0u8; 1];
        assert_eq!((&idle).read(&mut byte).unwrap(), 0, "idle read should see end of file");
        busy.set_nonblocking(true).unwrap();
        assert_eq!(busy.read(&mut byte).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }
}
