//! WeChat retries a message it got no answer to within 5 s. The first attempt's
//! reply is kept here for a short while, so a retry gets exactly the same
//! bytes and the work behind them runs once, even when the retry arrives while
//! the first attempt is still being handled. In memory only: a disk write per
//! message would wear a router's flash for nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct ReplyCache<T> {
    state: Mutex<State<T>>,
    ttl: Duration,
    capacity: usize,
    wait_for_first: Duration,
}

struct State<T> {
    entries: HashMap<String, Entry<T>>,
    /// Keys in insertion order, for expiry and the size bound.
    order: VecDeque<(Instant, String)>,
}

enum Entry<T> {
    InFlight,
    Done(T),
}

/// What a lookup found, so the caller can log a retry.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Origin {
    Computed,
    Retry,
    /// The first attempt was still running when our wait ran out.
    RetryTimedOut,
}

const POLL: Duration = Duration::from_millis(2);

impl<T: Clone> ReplyCache<T> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let state = State { entries: HashMap::new(), order: VecDeque::new() };
        ReplyCache {
            state: Mutex::new(state),
            ttl,
            capacity,
            wait_for_first: Duration::from_millis(4500),
        }
    }

    /// The reply for `key`: the cached one, or the one `compute` makes now.
    /// A retry that finds the first attempt still running waits for it
    /// (coroutine-friendly polling) and, if it never finishes, gets None.
    pub fn get_or_compute(&self, key: &str, compute: impl FnOnce() -> T) -> (Option<T>, Origin) {
        let mut start = None;
        loop {
            {
                let mut state = self.lock();
                // Read once per look, under the lock, so the order stays sorted.
                let now = Instant::now();
                let start = *start.get_or_insert(now);
                state.expire(now, self.ttl, self.capacity);
                match state.entries.get(key) {
                    Some(Entry::Done(reply)) => return (Some(reply.clone()), Origin::Retry),
                    Some(Entry::InFlight) if now - start < self.wait_for_first => {}
                    Some(Entry::InFlight) => return (None, Origin::RetryTimedOut),
                    None => {
                        state.entries.insert(key.to_string(), Entry::InFlight);
                        state.order.push_back((now, key.to_string()));
                        break;
                    }
                }
            }
            may::coroutine::sleep(POLL);
        }

        // If `compute` panics the guard removes the InFlight mark, so a retry
        // computes afresh instead of waiting for nothing.
        let guard = InFlightGuard { cache: self, key };
        let reply = compute();
        std::mem::forget(guard);
        // The in-flight entry's key is kept: no third copy of it.
        let mut state = self.lock();
        match state.entries.get_mut(key) {
            Some(entry) => *entry = Entry::Done(reply.clone()),
            None => {
                state.entries.insert(key.to_string(), Entry::Done(reply.clone()));
            }
        }
        drop(state);
        (Some(reply), Origin::Computed)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // The lock is never held across a call that can panic, but a poisoned
        // cache is still a usable cache.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T> State<T> {
    fn expire(&mut self, now: Instant, ttl: Duration, capacity: usize) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < ttl && self.order.len() <= capacity {
                break;
            }
            let (_, key) = self.order.pop_front().expect("front exists");
            if matches!(self.entries.get(&key), Some(Entry::Done(_))) {
                self.entries.remove(&key);
            } else if self.entries.contains_key(&key) {
                // still in flight: keep it, look again later
                self.order.push_back((now, key));
                if self.order.len() > capacity {
                    break;
                }
            }
        }
    }
}

struct InFlightGuard<'a, T: Clone> {
    cache: &'a ReplyCache<T>,
    key: &'a str,
}

impl<T: Clone> Drop for InFlightGuard<'_, T> {
    fn drop(&mut self) {
        self.cache.lock().entries.remove(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_retry_gets_the_same_bytes_and_runs_nothing() {
        let cache = ReplyCache::new(Duration::from_secs(30), 100);
        let runs = AtomicUsize::new(0);
        let make = || {
            runs.fetch_add(1, Ordering::SeqCst);
            b"first".to_vec()
        };
        let (a, origin_a) = cache.get_or_compute("k", make);
        let (b, origin_b) = cache.get_or_compute("k", || b"second".to_vec());
        assert_eq!(a.unwrap(), b"first");
        assert_eq!(b.unwrap(), b"first");
        assert_eq!((origin_a, origin_b), (Origin::Computed, Origin::Retry));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_retry_during_the_first_attempt_waits_for_its_reply() {
        let cache = Arc::new(ReplyCache::new(Duration::from_secs(30), 100));
        let runs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (cache, runs) = (cache.clone(), runs.clone());
                std::thread::spawn(move || {
                    cache
                        .get_or_compute("slow", || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(300));
                            format!("reply from {i}").into_bytes()
                        })
                        .0
                })
            })
            .collect();
        let replies: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(replies.iter().all(|r| r == &replies[0]));
    }

    #[test]
    fn entries_expire_and_the_size_is_bounded() {
        let cache = ReplyCache::new(Duration::from_millis(50), 10);
        cache.get_or_compute("old", || b"1".to_vec());
        std::thread::sleep(Duration::from_millis(80));
        let (_, origin) = cache.get_or_compute("old", || b"2".to_vec());
        assert_eq!(origin, Origin::Computed, "expired entries are recomputed");
        for i in 0..100 {
            cache.get_or_compute(&i.to_string(), Vec::new);
        }
        assert!(cache.len() <= 11, "bounded, got {}", cache.len());
    }

    #[test]
    fn a_panicking_first_attempt_does_not_block_the_retry() {
        let cache = ReplyCache::new(Duration::from_secs(30), 100);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.get_or_compute("p", || panic!("handler bug"));
        }));
        assert!(panicked.is_err());
        let start = Instant::now();
        let (reply, origin) = cache.get_or_compute("p", || b"ok".to_vec());
        assert_eq!((reply.unwrap(), origin), (b"ok".to_vec(), Origin::Computed));
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
