//! Which connections are open: enforces the caps (in all and per address),
//! picks the connection to close when a newcomer needs room, and lets
//! shutdown reach connections that are blocked reading.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::limits::Limits;

pub(crate) struct ConnectionTracker {
    limits: Limits,
    /// `since` times are milliseconds after this.
    epoch: Instant,
    next_id: AtomicU64,
    /// `slots.len()`, readable without the lock (every read of a head asks).
    open: AtomicUsize,
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    by_id: HashMap<u64, Arc<ConnectionSlot>>,
    /// Open connections per address, for addresses not trusted.
    per_ip: HashMap<IpAddr, usize>,
}

/// Where a connection is in its life, as far as making room goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Waiting for the first byte of a request (the first one, or the next
    /// on a keep-alive connection): nothing is in flight.
    Waiting = 0,
    /// Part of a head has arrived, not all of it.
    PartialHead = 1,
    /// A whole head arrived: its body, handler or answer is under way.
    Busy = 2,
}

/// What the tracker knows of one connection.
pub(crate) struct ConnectionSlot {
    /// A duplicate of the connection's socket, only ever used to shut it down.
    socket: TcpStream,
    peer: IpAddr,
    /// The address counted against the per-address cap, if it is.
    capped_ip: Option<IpAddr>,
    phase: AtomicU8,
    /// When the current phase began, in ms after the tracker's epoch.
    since_ms: AtomicU64,
    epoch: Instant,
}

impl ConnectionSlot {
    pub(crate) fn enter(&self, phase: Phase) {
        self.since_ms.store(millis_since(self.epoch), Ordering::SeqCst);
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    fn phase(&self) -> u8 {
        self.phase.load(Ordering::SeqCst)
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Holds one place under the caps; dropping it, however the connection
/// ends, gives the place back (unless it was taken away by eviction).
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
        let mut slots = self.tracker.slots();
        if let Some(slot) = slots.by_id.remove(&self.id) {
            self.tracker.forget(&mut slots, &slot);
        }
    }
}

/// What became of a newcomer.
pub(crate) enum Admission {
    /// Taken in; `evicted` is the address of the connection closed to make room.
    Admitted { guard: ConnectionGuard, evicted: Option<IpAddr> },
    /// Its address already has `max_connections_per_ip` open.
    TooManyFromAddress,
    /// All places are taken by connections busy with a request.
    Full,
}

impl ConnectionTracker {
    pub(crate) fn new(limits: &Limits) -> Arc<Self> {
        Arc::new(ConnectionTracker {
            limits: limits.clone(),
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            slots: Mutex::new(Slots::default()),
        })
    }

    /// Takes a place for `socket` from `peer`, closing the connection that
    /// has waited longest without a complete head, or been idle longest,
    /// when all places are taken.
    pub(crate) fn admit(
        self: &Arc<Self>,
        socket: &TcpStream,
        peer: IpAddr,
    ) -> io::Result<Admission> {
        let capped_ip = (!self.limits.is_trusted_proxy(peer)).then(|| peer.to_canonical());
        let mut slots = self.slots();
        if let Some(ip) = capped_ip {
            if slots.per_ip.get(&ip).is_some_and(|open| *open >= self.limits.max_connections_per_ip)
            {
                return Ok(Admission::TooManyFromAddress);
            }
        }
        let mut evicted = None;
        if slots.by_id.len() >= self.limits.max_connections {
            let Some(victim) = self.longest_waiting(&slots) else {
                return Ok(Admission::Full);
            };
            let slot = slots.by_id.remove(&victim).expect("the victim is in the map");
            self.forget(&mut slots, &slot);
            // Its blocked read sees end of file, and its coroutine ends.
            let _ = slot.socket.shutdown(Shutdown::Both);
            evicted = Some(slot.peer);
        }
        let slot = Arc::new(ConnectionSlot {
            socket: socket.try_clone()?,
            peer,
            capped_ip,
            phase: AtomicU8::new(Phase::Waiting as u8),
            since_ms: AtomicU64::new(millis_since(self.epoch)),
            epoch: self.epoch,
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        slots.by_id.insert(id, Arc::clone(&slot));
        if let Some(ip) = capped_ip {
            *slots.per_ip.entry(ip).or_insert(0) += 1;
        }
        self.open.store(slots.by_id.len(), Ordering::SeqCst);
        Ok(Admission::Admitted {
            guard: ConnectionGuard { tracker: Arc::clone(self), id, slot },
            evicted,
        })
    }

    /// The connection not busy with a request that entered its phase first.
    fn longest_waiting(&self, slots: &Slots) -> Option<u64> {
        slots
            .by_id
            .iter()
            .filter(|(_, slot)| slot.phase() != Phase::Busy as u8)
            .min_by_key(|(_, slot)| slot.since_ms.load(Ordering::SeqCst))
            .map(|(id, _)| *id)
    }

    /// Counts a connection removed from `by_id` out of the other tallies.
    fn forget(&self, slots: &mut Slots, slot: &ConnectionSlot) {
        if let Some(ip) = slot.capped_ip {
            if let Some(open) = slots.per_ip.get_mut(&ip) {
                *open -= 1;
                if *open == 0 {
                    slots.per_ip.remove(&ip);
                }
            }
        }
        self.open.store(slots.by_id.len(), Ordering::SeqCst);
    }

    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Ends the reads of idle connections: a blocked read then sees end of
    /// file, while a request already received is still read and answered.
    /// Returns how many connections were idle.
    pub(crate) fn close_idle(&self) -> usize {
        self.shut_down_where(|slot| slot.phase() == Phase::Waiting as u8, Shutdown::Read)
    }

    /// Cuts every connection off, busy or not. Returns how many there were.
    pub(crate) fn close_all(&self) -> usize {
        self.shut_down_where(|_| true, Shutdown::Both)
    }

    fn shut_down_where(&self, select: impl Fn(&ConnectionSlot) -> bool, how: Shutdown) -> usize {
        let slots = self.slots();
        let mut count = 0;
        for slot in slots.by_id.values().filter(|slot| select(slot)) {
            // A socket the peer already closed may refuse; it is ending anyway.
            let _ = slot.socket.shutdown(how);
            count += 1;
        }
        count
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
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

    const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    fn tracker(max_connections: usize, max_connections_per_ip: usize) -> Arc<ConnectionTracker> {
        ConnectionTracker::new(&Limits {
            max_connections,
            max_connections_per_ip,
            ..Limits::default()
        })
    }

    fn admitted(admission: Admission) -> (ConnectionGuard, Option<IpAddr>) {
        match admission {
            Admission::Admitted { guard, evicted } => (guard, evicted),
            Admission::TooManyFromAddress => panic!("refused: too many from the address"),
            Admission::Full => panic!("refused: full"),
        }
    }

    fn sees_end_of_file(mut socket: &TcpStream) -> bool {
        socket.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        matches!(socket.read(&mut [0u8; 1]), Ok(0) | Err(_))
    }

    #[test]
    fn when_all_are_busy_the_newcomer_is_refused_and_a_dropped_guard_frees_its_place() {
        let tracker = tracker(2, 32);
        let (a, _a) = socket_pair();
        let (first, _) = admitted(tracker.admit(&a, LOOPBACK).unwrap());
        let (second, _) = admitted(tracker.admit(&a, LOOPBACK).unwrap());
        first.slot().enter(Phase::Busy);
        second.slot().enter(Phase::Busy);
        assert!(matches!(tracker.admit(&a, LOOPBACK).unwrap(), Admission::Full));
        assert_eq!(tracker.open(), 2);
        drop(first);
        assert_eq!(tracker.open(), 1);
        let (_third, evicted) = admitted(tracker.admit(&a, LOOPBACK).unwrap());
        assert_eq!(evicted, None);
    }

    #[test]
    fn when_full_the_longest_waiting_connection_makes_room() {
        let tracker = tracker(3, 32);
        let (busy_socket, _busy_peer) = socket_pair();
        let (oldest_socket, oldest_peer) = socket_pair();
        let (newer_socket, newer_peer) = socket_pair();
        let (busy, _) = admitted(tracker.admit(&busy_socket, LOOPBACK).unwrap());
        busy.slot().enter(Phase::Busy);
        let (oldest, _) = admitted(tracker.admit(&oldest_socket, LOOPBACK).unwrap());
        let (newer, _) = admitted(tracker.admit(&newer_socket, LOOPBACK).unwrap());
        // Entered earlier than `newer`'s, whatever the clock's resolution.
        oldest.slot().since_ms.store(0, Ordering::SeqCst);
        newer.slot().enter(Phase::PartialHead);
        newer.slot().since_ms.store(5, Ordering::SeqCst);

        let (_newcomer, evicted) = admitted(tracker.admit(&busy_socket, LOOPBACK).unwrap());
        assert_eq!(evicted, Some(LOOPBACK));
        assert_eq!(tracker.open(), 3);
        assert!(sees_end_of_file(&oldest_peer), "the oldest waiting connection is closed");
        newer_peer.set_nonblocking(true).unwrap();
        assert!(
            matches!((&newer_peer).read(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        );
        // The evicted connection's own guard no longer counts.
        drop(oldest);
        assert_eq!(tracker.open(), 3);
        drop(newer);
        assert_eq!(tracker.open(), 2);
    }

    #[test]
    fn one_address_is_capped_but_trusted_proxies_are_not() {
        let tracker = tracker(100, 2);
        let (a, _a) = socket_pair();
        let attacker: IpAddr = "192.0.2.7".parse().unwrap();
        let (first, _) = admitted(tracker.admit(&a, attacker).unwrap());
        let _second = admitted(tracker.admit(&a, attacker).unwrap());
        assert!(matches!(tracker.admit(&a, attacker).unwrap(), Admission::TooManyFromAddress));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(matches!(tracker.admit(&a, mapped).unwrap(), Admission::TooManyFromAddress));
        drop(first);
        let _third = admitted(tracker.admit(&a, attacker).unwrap());
        let proxied: Vec<_> =
            (0..10).map(|_| admitted(tracker.admit(&a, LOOPBACK).unwrap())).collect();
        assert_eq!(proxied.len(), 10);
        assert_eq!(tracker.open(), 12);
    }

    #[test]
    fn a_panic_while_holding_a_guard_frees_its_place() {
        let tracker = tracker(1, 32);
        let (a, _a) = socket_pair();
        let (guard, _) = admitted(tracker.admit(&a, LOOPBACK).unwrap());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = guard;
            panic!("connection code failed");
        }));
        assert!(result.is_err());
        assert_eq!(tracker.open(), 0);
    }

    #[test]
    fn close_idle_shuts_only_idle_connections() {
        let tracker = tracker(4, 32);
        let (idle, _idle_peer) = socket_pair();
        let (mut busy, _busy_peer) = socket_pair();
        let _idle_guard = admitted(tracker.admit(&idle, LOOPBACK).unwrap());
        let (busy_guard, _) = admitted(tracker.admit(&busy, LOOPBACK).unwrap());
        busy_guard.slot().enter(Phase::Busy);

        assert_eq!(tracker.close_idle(), 1);
        let mut byte = [0u8; 1];
        assert_eq!((&idle).read(&mut byte).unwrap(), 0, "idle read should see end of file");
        busy.set_nonblocking(true).unwrap();
        assert_eq!(busy.read(&mut byte).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }
}
