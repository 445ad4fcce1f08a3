//! Bounded logging for hostile traffic: per cause, the first few events are
//! logged one by one, then one summary line per cause per period with the
//! count and the addresses that sent most. An attacker who sends a million
//! forged requests gets the log a handful of lines, not a million.
//!
//! A flush thread writes a summary when its period ends even if the traffic
//! has stopped by then; dropping the `LogSummary` writes what is pending.
//! A cause that stays quiet for a whole period starts over: its next events
//! are logged one by one again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use log::Level;

/// How the summaries are cut.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Events of one cause logged one by one before summaries take over.
    pub first_lines: usize,
    /// At most one summary line per cause per period.
    pub period: Duration,
    /// Distinct addresses counted per cause; more are counted as "others",
    /// so a spread attack can't grow the table.
    pub max_addresses: usize,
    /// How many of the busiest addresses a summary names.
    pub top: usize,
}

pub const DEFAULT_SETTINGS: Settings =
    Settings { first_lines: 5, period: Duration::from_secs(60), max_addresses: 1024, top: 3 };

/// Where lines go: the `log` crate, or a test's collector.
pub type Sink = Box<dyn Fn(Level, &str) + Send + Sync>;

pub struct LogSummary {
    shared: Arc<Shared>,
}

struct Shared {
    /// Starts every summary line ("HTTP front", "callback").
    source: &'static str,
    settings: Settings,
    sink: Sink,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    causes: HashMap<&'static str, Cause>,
    flusher_started: bool,
    stopping: bool,
}

struct Cause {
    level: Level,
    /// Lines logged one by one since the cause last started over.
    logged: usize,
    last_event: Instant,
    /// Since the current summary period began (`None`: nothing held back).
    held_back: Option<HeldBack>,
}

struct HeldBack {
    since: Instant,
    count: u64,
    by_address: HashMap<IpAddr, u64>,
    untracked: u64,
}

impl LogSummary {
    /// Logs through the `log` crate.
    pub fn new(source: &'static str, settings: Settings) -> Self {
        Self::with_sink(source, settings, Box::new(|level, line| log::log!(level, "{line}")))
    }

    pub fn with_sink(source: &'static str, settings: Settings, sink: Sink) -> Self {
        LogSummary {
            shared: Arc::new(Shared {
                source,
                settings,
                sink,
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
            }),
        }
    }

    /// One event of `cause` from `address`. `line` (made only when it is
    /// logged) says what happened, in full.
    pub fn note(
        &self,
        level: Level,
        cause: &'static str,
        address: Option<IpAddr>,
        line: impl FnOnce() -> String,
    ) {
        self.note_at(Instant::now(), level, cause, address, line)
    }

    fn note_at(
        &self,
        now: Instant,
        level: Level,
        cause: &'static str,
        address: Option<IpAddr>,
        line: impl FnOnce() -> String,
    ) {
        let settings = self.shared.settings;
        let mut state = self.shared.lock();
        let cause = state.causes.entry(cause).or_insert(Cause {
            level,
            logged: 0,
            last_event: now,
            held_back: None,
        });
        if cause.held_back.is_none() && now.duration_since(cause.last_event) >= settings.period {
            cause.logged = 0;
        }
        cause.last_event = now;
        cause.level = level;
        if cause.logged < settings.first_lines {
            cause.logged += 1;
            drop(state);
            (self.shared.sink)(level, &line());
            return;
        }
        let held = cause.held_back.get_or_insert_with(|| HeldBack {
            since: now,
            count: 0,
            by_address: HashMap::new(),
            untracked: 0,
        });
        held.count += 1;
        match address {
            Some(ip) if held.by_address.len() < settings.max_addresses => {
                *held.by_address.entry(ip).or_insert(0) += 1
            }
            Some(ip) => match held.by_address.get_mut(&ip) {
                Some(count) => *count += 1,
                None => held.untracked += 1,
            },
            None => held.untracked += 1,
        }
        if !state.flusher_started {
            state.flusher_started = true;
            let shared = Arc::clone(&self.shared);
            let spawned = thread::Builder::new()
                .name("log-summary".into())
                .spawn(move || shared.flush_periodically());
            if spawned.is_err() {
                // Summaries then come with the next event past the period,
                // and at drop.
                state.flusher_started = false;
            }
        }
        let overdue = self.shared.take_due(&mut state, now, false);
        drop(state);
        self.shared.emit(overdue);
    }

    /// Writes every pending summary now, whatever their periods.
    pub fn flush(&self) {
        let mut state = self.shared.lock();
        let lines = self.shared.take_due(&mut state, Instant::now(), true);
        drop(state);
        self.shared.emit(lines);
    }
}

impl Drop for LogSummary {
    fn drop(&mut self) {
        self.flush();
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code that can panic runs under the lock; a poisoned map is still right.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn flush_periodically(&self) {
        let mut state = self.lock();
        while !state.stopping {
            let now = Instant::now();
            let lines = self.take_due(&mut state, now, false);
            if !lines.is_empty() {
                drop(state);
                self.emit(lines);
                state = self.lock();
                continue;
            }
            let next_due = state
                .causes
                .values()
                .filter_map(|cause| cause.held_back.as_ref())
                .map(|held| held.since + self.settings.period)
                .min();
            let wait =
                next_due.map_or(self.settings.period, |due| due.saturating_duration_since(now));
            state = self.wake.wait_timeout(state, wait).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// The summary lines of causes whose period has ended (all, if `all`),
    /// which then start a new period.
    fn take_due(&self, state: &mut State, now: Instant, all: bool) -> Vec<(Level, String)> {
        let mut lines = Vec::new();
        for (name, cause) in state.causes.iter_mut() {
            let due = cause
                .held_back
                .as_ref()
                .is_some_and(|held| all || now.duration_since(held.since) >= self.settings.period);
            if due {
                let held = cause.held_back.take().expect("checked above");
                lines.push((cause.level, self.summary_line(name, &held, now)));
            }
        }
        lines
    }

    fn summary_line(&self, cause: &str, held: &HeldBack, now: Instant) -> String {
        let mut busiest: Vec<(&IpAddr, &u64)> = held.by_address.iter().collect();
        busiest.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let seconds = now.duration_since(held.since).as_secs().max(1);
        let mut line = format!(
            "{}: {cause}: {} more in the last {seconds} s, not logged one by one",
            self.source, held.count
        );
        if !busiest.is_empty() {
            line.push_str("; most from ");
            let named: Vec<String> = busiest
                .iter()
                .take(self.settings.top)
                .map(|(ip, count)| format!("{ip} ({count})"))
                .collect();
            line.push_str(&named.join(", "));
        }
        let others = busiest.len().saturating_sub(self.settings.top);
        if others > 0 {
            let _ = write!(line, " and {others} other address(es)");
        }
        if held.untracked > 0 {
            let _ = write!(line, "; {} from addresses not tracked", held.untracked);
        }
        line
    }

    fn emit(&self, lines: Vec<(Level, String)>) {
        for (level, line) in lines {
            (self.sink)(level, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    type Lines = Arc<Mutex<Vec<String>>>;

    fn collecting(settings: Settings) -> (LogSummary, Lines) {
        let lines: Lines = Arc::default();
        let sink_lines = Arc::clone(&lines);
        let sink: Sink = Box::new(move |_, line| sink_lines.lock().unwrap().push(line.to_string()));
        (LogSummary::with_sink("front", settings, sink), lines)
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)))
    }

    fn wait_for_lines(lines: &Lines, count: usize) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if lines.lock().unwrap().len() >= count {
                return true;
            }
            thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn the_first_lines_are_logged_then_one_summary_per_cause() {
        let (summary, lines) =
            collecting(Settings { period: Duration::from_secs(3600), ..DEFAULT_SETTINGS });
        for i in 0..1000u32 {
            summary.note(Level::Warn, "forged", ip((i % 7) as u8), || format!("forged {i}"));
        }
        for i in 0..3 {
            summary.note(Level::Warn, "bad xml", ip(99), || format!("bad {i}"));
        }
        assert_eq!(lines.lock().unwrap().len(), 5 + 3, "{:?}", lines.lock().unwrap());
        drop(summary);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 5 + 3 + 1, "{lines:?}");
        let last = &lines[8];
        assert!(last.starts_with("front: forged: 995 more in the last"), "{last}");
        // Events 5..1000 over 7 addresses: .5 has 143, the others 142; the
        // busiest are named (ties by address), the rest counted.
        assert!(
            last.contains("most from 10.0.0.5 (143), 10.0.0.0 (142), 10.0.0.1 (142)"),
            "{last}"
        );
        assert!(last.contains("and 4 other address(es)"), "{last}");
    }

    #[test]
    fn the_summary_appears_after_the_period_even_when_traffic_stops() {
        let (summary, lines) =
            collecting(Settings { period: Duration::from_millis(200), ..DEFAULT_SETTINGS });
        for _ in 0..20 {
            summary.note(Level::Info, "timeout", ip(1), || "timeout".into());
        }
        assert!(wait_for_lines(&lines, 6), "{:?}", lines.lock().unwrap());
        assert!(
            lines.lock().unwrap()[5].contains("timeout: 15 more"),
            "{:?}",
            lines.lock().unwrap()
        );
        // A cause quiet for a whole period starts over with single lines.
        let later = Instant::now() + Duration::from_millis(250);
        summary.note_at(later, Level::Info, "timeout", ip(1), || "timeout again".into());
        assert_eq!(lines.lock().unwrap().last().unwrap(), "timeout again");
    }

    #[test]
    fn addresses_tracked_are_bounded() {
        let settings =
            Settings { max_addresses: 4, period: Duration::from_secs(3600), ..DEFAULT_SETTINGS };
        let (summary, lines) = collecting(settings);
        for i in 0..205u32 {
            summary.note(Level::Warn, "spread", ip((i % 100) as u8), String::new);
        }
        assert_eq!(
            summary.shared.lock().causes["spread"].held_back.as_ref().unwrap().by_address.len(),
            4
        );
        summary.flush();
        let lines = lines.lock().unwrap();
        let last = lines.last().unwrap();
        assert!(last.contains("200 more"), "{last}");
        // 5..=8 are tracked (3 events each, except those seen again), the rest are not.
        assert!(last.contains("and 1 other address(es)"), "{last}");
        assert!(last.contains("from addresses not tracked"), "{last}");
    }
}
