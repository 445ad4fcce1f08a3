//! The open-files limit: raised to its hard limit at start, since every
//! connection the HTTP front holds costs file descriptors and the usual soft
//! limit (1024) would run out long before memory does.

use std::io;

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
/// now in force.
pub fn raise_to_hard_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        limit = raised;
    }
    // rlim_t is u64 here but 32 bits wide on 32-bit glibc targets.
    #[allow(clippy::unnecessary_cast)]
    Ok(limit.rlim_cur as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let soft = raise_to_hard_limit().unwrap();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[3], soft.to_string(), "{line}");
        assert_eq!(fields[3], fields[4], "soft equals hard: {line}");
    }
}
