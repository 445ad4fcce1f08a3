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

/// One read that fails with a timeout error once `deadline` has passed.
pub(crate) fn read_before(
    stream: &mut TcpStream,
    buf: &mut [u8],
    deadline: Deadline,
) -> io::Result<usize> {
    loop {
        stream.set_read_timeout(Some(deadline.remaining()?))?;
        match stream.read(buf) {
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// Waits until `stream` has bytes to read (or end of file), without reading
/// them, so that no buffer is needed while waiting: `Ok(0)` at end of file.
pub(crate) fn peek_before(stream: &mut TcpStream, deadline: Deadline) -> io::Result<usize> {
    let mut byte = [0u8; 1];
    loop {
        stream.set_read_timeout(Some(deadline.remaining()?))?;
        match stream.peek(&mut byte) {
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
        stream.set_write_timeout(Some(deadline.remaining()?))?;
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
    fn a_passed_deadline_reports_a_timeout() {
        let deadline = Deadline::after(Duration::ZERO);
        assert!(deadline.has_passed());
        assert!(is_timeout(&deadline.remaining().unwrap_err()));
    }
}
