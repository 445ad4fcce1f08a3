//! Wall-clock time as WeChat and the store count it: Unix seconds; the day
//! in Beijing, and timestamps as feeds and packages write them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now in Unix seconds; 0 if the clock is before 1970 (a router at boot).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `YYYY-MM-DDThh:mm:ssZ` (RFC 3339 in UTC), as `dcterms:modified` and
/// Atom's `updated` want it.
pub fn utc_timestamp(unix_secs: u64) -> String {
    let (days, rem) = ((unix_secs / 86_400) as i64, unix_secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The start of the day in China (UTC+8), where daily limits reset (WeChat's
/// own quotas reset then too).
pub fn beijing_midnight(now: u64) -> u64 {
    const DAY: u64 = 86_400;
    const OFFSET: u64 = 8 * 3600;
    now - (now + OFFSET) % DAY
}

#[cfg(test)]
mod tests {
    use super::beijing_midnight;

    #[test]
    fn timestamps_are_rfc_3339_utc() {
        assert_eq!(super::utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc_timestamp(951_827_696), "2000-02-29T12:34:56Z");
    }

    #[test]
    fn the_day_starts_at_midnight_beijing_time() {
        // 2026-11-21 15:59:59 UTC is 23:59:59 in Beijing; a second later is the next day there.
        let last_second = 1_795_276_799;
        assert_eq!(beijing_midnight(last_second), last_second + 1 - 86_400);
        assert_eq!(beijing_midnight(last_second + 1), last_second + 1);
        assert_eq!(beijing_midnight(last_second + 3600), last_second + 1);
    }
}
