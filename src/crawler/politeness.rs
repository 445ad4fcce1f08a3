//! Manners per host: one request at a time with a delay between them, a
//! longer delay when robots.txt asks for one, and backing off when a host
//! answers 429 or 503. Pure bookkeeping over `Instant`s; the fetcher sleeps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The first wait after a 429/503 that names no Retry-After; doubled on each repeat.
const FIRST_BACKOFF: Duration = Duration::from_secs(10);
/// The longest wait the crawler sits through for one request. A host asking
/// for more is left alone until then: the next crawl of the source finds it.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
struct Host {
    /// No request before this.
    ready_at: Instant,
    crawl_delay: Duration,
    /// The next backoff when the host throttles without a Retry-After.
    backoff: Duration,
}

#[derive(Debug)]
pub struct Politeness {
    delay: Duration,
    hosts: HashMap<String, Host>,
}

/// What to do after a 429/503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Send the request again after this wait.
    RetryIn(Duration),
    /// The host wants more than [`MAX_WAIT`]: skip it until this instant.
    Rest(Instant),
}

impl Politeness {
    pub fn new(delay: Duration) -> Politeness {
        Politeness { delay, hosts: HashMap::new() }
    }

    fn host(&mut self, origin: &str, now: Instant) -> &mut Host {
        self.hosts.entry(origin.to_string()).or_insert(Host {
            ready_at: now,
            crawl_delay: Duration::ZERO,
            backoff: FIRST_BACKOFF,
        })
    }

    /// How long to wait before the next request to `origin`.
    pub fn wait(&self, origin: &str, now: Instant) -> Duration {
        self.hosts.get(origin).map_or(Duration::ZERO, |h| h.ready_at.saturating_duration_since(now))
    }

    /// A robots.txt Crawl-delay: used where it is longer than our own delay.
    pub fn set_crawl_delay(&mut self, origin: &str, delay: Duration, now: Instant) {
        self.host(origin, now).crawl_delay = delay;
    }

    /// A request to `origin` has ended (answered or failed): the next one
    /// waits out the delay from now.
    pub fn finished(&mut self, origin: &str, now: Instant) {
        let delay = self.delay;
        let host = self.host(origin, now);
        host.ready_at = host.ready_at.max(now + delay.max(host.crawl_delay));
    }

    /// A request ended well: forget earlier throttling.
    pub fn succeeded(&mut self, origin: &str, now: Instant) {
        self.finished(origin, now);
        self.host(origin, now).backoff = FIRST_BACKOFF;
    }

    /// The host answered 429 or 503, with `retry_after` when it said how
    /// long to wait. Without one the wait doubles on each repeat.
    pub fn throttled(
        &mut self,
        origin: &str,
        now: Instant,
        retry_after: Option<Duration>,
    ) -> Throttle {
        let delay = self.delay;
        let host = self.host(origin, now);
        let wait = match retry_after {
            Some(wait) => wait.max(delay.max(host.crawl_delay)),
            None => {
                let wait = host.backoff;
                host.backoff = (host.backoff * 2).min(MAX_WAIT * 2);
                wait
            }
        };
        host.ready_at = host.ready_at.max(now + wait);
        if wait > MAX_WAIT {
            Throttle::Rest(now + wait)
        } else {
            Throttle::RetryIn(wait)
        }
    }
}

/// A Retry-After value: delay seconds or an HTTP-date (`now` in Unix seconds).
pub fn retry_after(value: &str, now: u64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    http_date(value).map(|at| Duration::from_secs(at.saturating_sub(now)))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, what servers must send)
/// in Unix seconds.
pub fn http_date(value: &str) -> Option<u64> {
    let rest = value.trim().split_once(", ")?.1;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, "GMT"] = parts[..] else { return None };
    let day: u64 = day.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms[..] else { return None };
    if !(1..=31).contains(&day) || year < 1970 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_secs(2);

    #[test]
    fn one_host_waits_the_delay_others_do_not() {
        let t0 = Instant::now();
        let mut p = Politeness::new(DELAY);
        assert_eq!(p.wait("http://a", t0), Duration::ZERO);
        p.succeeded("http://a", t0);
        assert_eq!(p.wait("http://a", t0), DELAY);
        assert_eq!(
            p.wait("http://a", t0 + Duration::from_millis(500)),
            Duration::from_millis(1500)
        );
        assert_eq!(p.wait("http://a", t0 + DELAY), Duration::ZERO);
        assert_eq!(p.wait("http://b", t0), Duration::ZERO);
    }

    #[test]
    fn crawl_delay_only_when_longer() {
        let t0 = Instant::now();
        let mut p = Politeness::new(DELAY);
        p.set_crawl_delay("http://a", Duration::from_secs(5), t0);
        p.set_crawl_delay("http://b", Duration::from_secs(1), t0);
        p.finished("http://a", t0);
        p.finished("http://b", t0);
        assert_eq!(p.wait("http://a", t0), Duration::from_secs(5));
        assert_eq!(p.wait("http://b", t0), DELAY);
    }

    #[test]
    fn throttling_honours_retry_after_then_backs_off_with_a_cap() {
        let t0 = Instant::now();
        let mut p = Politeness::new(DELAY);
        assert_eq!(
            p.throttled("http://a", t0, Some(Duration::from_secs(7))),
            Throttle::RetryIn(Duration::from_secs(7))
        );
        assert_eq!(p.wait("http://a", t0), Duration::from_secs(7));
        assert_eq!(
            p.throttled("http://a", t0, Some(Duration::ZERO)),
            Throttle::RetryIn(DELAY),
            "never less than the delay"
        );
        assert_eq!(p.throttled("http://b", t0, None), Throttle::RetryIn(Duration::from_secs(10)));
        assert_eq!(p.throttled("http://b", t0, None), Throttle::RetryIn(Duration::from_secs(20)));
        assert_eq!(p.throttled("http://b", t0, None), Throttle::RetryIn(Duration::from_secs(40)));
        p.succeeded("http://b", t0);
        assert_eq!(
            p.throttled("http://b", t0, None),
            Throttle::RetryIn(Duration::from_secs(10)),
            "reset after success"
        );
        let hour = Duration::from_secs(3600);
        assert_eq!(p.throttled("http://c", t0, Some(hour)), Throttle::Rest(t0 + hour));
        assert_eq!(p.wait("http://c", t0), hour);
        for _ in 0..10 {
            p.throttled("http://d", t0, None);
        }
        assert!(
            matches!(p.throttled("http://d", t0, None), Throttle::Rest(_)),
            "repeated throttling ends in rest"
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(now, 784_111_777);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO),
            "past dates mean now"
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date("Sat, 29 Feb 2020 12:00:00 GMT"), Some(1_582_977_600));
        for bad in [
            "soon",
            "-5",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }
}
