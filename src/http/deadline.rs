//! Socket reads and writes bounded by a deadline for the whole operation, so
//! a peer that trickles one byte at a time can't stretch it out.

use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use may::net::TcpStream;

/// Stands in for a timeout too large to add to `Instant::now()`.
const PRACTICALLY_NEVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Instant);

impl Deadline {
    pub(crate) fn after(timeout: Duration) -> Self {
        Self::from(Instant::now(), timeout)
    }

    /// `timeout` after `start`.
    pub(crate) fn from(start: Instant, timeout: Duration) -> Self {
        Deadline(start.checked_add(timeout).unwrap_or_else(|| start + PRACTICALLY_NEVER))
    }

    pub(crate) fn has_passed(self) -> bool {
        Instant::now() >= self.0
    }

    fn remaining(self) -> io::Result<Duration> {
        let left = self.0.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(ErrorKind::TimedOut, "deadline passed"))
        } else {
            Ok(left)
        }
    }
}

pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

/// How far past its deadline a socket's timeout, set for an earlier wait, may
/// reach and still be used. Setting one is a system call (may passes it on
/// to the socket), and a keep-alive request waited three times, each with a
/// deadline a little nearer: setting it for every wait cost three calls a request.
const TIMEOUT_SLACK: Duration = Duration::from_millis(20);

/// The timeout a wait with `deadline` needs set, or `None` when the one
/// already `set` serves: it ends at the deadline or at most `TIMEOUT_SLACK`
/// after it. One that would end sooner is set again: a timeout means the
/// deadline has passed.
fn timeout_to_set(set: Option<Duration>, deadline: Deadline) -> io::Result<Option<Duration>> {
    let left = deadline.remaining()?;
    Ok((!fits(set, left)).then(|| whole_millis_up(left)))
}

/// may keeps a socket's timeout in whole milliseconds, cut down, and takes
/// zero for none: the time left, rounded up, is what it keeps exactly. (Cut
/// down, the timeout read back fell short of the next wait's and was set
/// again, two system calls a request; under a millisecond, it meant no
/// timeout at all.)
fn whole_millis_up(left: Duration) -> Duration {
    let millis = left.as_nanos().div_ceil(1_000_000).max(1);
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

fn fits(set: Option<Duration>, left: Duration) -> bool {
    matches!(set, Some(set) if set >= left && set <= left + TIMEOUT_SLACK)
}

/// One read that fails with a timeout error once `deadline` has passed.
pub(crate) fn read_before(
    stream: &mut TcpStream,
    buf: &mut [u8],
    deadline: Deadline,
) -> io::Result<usize> {
    loop {
        if let Some(timeout) = timeout_to_set(stream.read_timeout()?, deadline)? {
            stream.set_read_timeout(Some(timeout))?;
        }
        match stream.read(buf) {
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

pub(crate) fn write_all_before(
    stream: &mut TcpStream,
    mut bytes: &[u8],
    deadline: Deadline,
) -> io::Result<()> {
    while !bytes.is_empty() {
        if let Some(timeout) = timeout_to_set(stream.write_timeout()?, deadline)? {
            stream.set_write_timeout(Some(timeout))?;
        }
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let deadline = Deadline::after(Duration::MAX);
        assert!(!deadline.has_passed());
        assert!(deadline.remaining().unwrap() > Duration::from_secs(3600));
    }

    #[test]
    fn a_timeout_set_before_is_kept_unless_it_reaches_past_the_deadline() {
        let left = Duration::from_secs(10);
        assert!(fits(Some(left), left));
        assert!(fits(Some(left + TIMEOUT_SLACK), left));
        assert!(!fits(Some(Duration::from_secs(1)), left));
        assert!(!fits(Some(left + TIMEOUT_SLACK + Duration::from_millis(1)), left));
        assert!(!fits(None, left));
    }

    /// What may's `read_timeout()` returns after `set_read_timeout(d)`.
    fn as_may_keeps_it(set: Duration) -> Option<Duration> {
        let millis = set.as_millis() as u64;
        (millis > 0).then(|| Duration::from_millis(millis))
    }

    #[test]
    fn a_timeout_set_as_may_keeps_it_serves_the_next_wait() {
        let first = Deadline::after(Duration::from_nanos(29_999_999_999));
        let set = timeout_to_set(None, first).unwrap().expect("nothing set yet");
        assert!(
            set >= Duration::from_millis(29_999) && set.subsec_nanos().is_multiple_of(1_000_000)
        );
        let next = Deadline::after(Duration::from_secs(30) - Duration::from_micros(1));
        assert_eq!(timeout_to_set(as_may_keeps_it(set), next).unwrap(), None);
    }

    #[test]
    fn under_a_millisecond_left_is_still_a_timeout() {
        let set = whole_millis_up(Duration::from_micros(300));
        assert_eq!(set, Duration::from_millis(1));
        assert!(as_may_keeps_it(set).is_some());
        assert_eq!(whole_millis_up(Duration::from_millis(7)), Duration::from_millis(7));
    }

    #[test]
    fn a_passed_deadline_reports_a_timeout() {
        let deadline = Deadline::after(Duration::ZERO);
        assert!(deadline.has_passed());
        assert!(is_timeout(&deadline.remaining().unwrap_err()));
    }
}
