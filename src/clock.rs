//! Wall-clock time as WeChat and the store count it: Unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now in Unix seconds; 0 if the clock is before 1970 (a router at boot).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
