//! Gives back the pages of the binary that only starting up needed.
//!
//! Starting touches most of the executable (config parsing, every service's
//! set-up, the store), and the kernel maps pages around each one it faults in,
//! so a freshly started server has nearly its whole binary resident although
//! serving runs a small part of it. Those pages are clean copies of the file:
//! unmapping them from this process loses nothing, they stay in the page cache,
//! and what runs next maps them again with a minor fault and no flash read.

use std::path::Path;

/// A read-only mapping of the executable, with what smaps says of its pages.
struct Mapping {
    start: usize,
    len: usize,
    resident_kib: u64,
    /// Pages this process has its own copy of (relocated or written data).
    anonymous_kib: u64,
}

/// Unmaps, from this process only, the resident pages of the executable's
/// mappings that are not writable and have no private (copied) page: its code
/// and read-only data, but never data that relocations or writes changed.
/// Returns the KiB that were resident in them.
pub fn release() -> u64 {
    let (Ok(smaps), Ok(exe)) =
        (std::fs::read_to_string("/proc/self/smaps"), std::fs::read_link("/proc/self/exe"))
    else {
        return 0;
    };
    let mut released = 0;
    for mapping in clean_mappings(&smaps, &exe) {
        // SAFETY: the range is a whole mapping of the executable file, read-only
        // and without private pages: MADV_DONTNEED only drops this process's
        // page-table entries, and the next access reads the same bytes from the
        // page cache.
        let status = unsafe {
            libc::madvise(mapping.start as *mut libc::c_void, mapping.len, libc::MADV_DONTNEED)
        };
        if status == 0 {
            released += mapping.resident_kib;
        }
    }
    released
}

/// The executable's read-only mappings that have resident pages and no
/// private ones, from the text of /proc/self/smaps.
fn clean_mappings(smaps: &str, exe: &Path) -> Vec<Mapping> {
    let mut mappings = Vec::new();
    // The fields below a header belong to its mapping; None while they belong
    // to a mapping of something else, or a writable one.
    let mut current: Option<Mapping> = None;
    for line in smaps.lines() {
        if let Some((start, end, perms, path)) = mapping_header(line) {
            mappings.extend(current.take());
            if Path::new(path) == exe && !perms.contains('w') {
                current =
                    Some(Mapping { start, len: end - start, resident_kib: 0, anonymous_kib: 0 });
            }
        } else if let Some(mapping) = current.as_mut() {
            if let Some(kib) = field_kib(line, "Rss:") {
                mapping.resident_kib = kib;
            } else if let Some(kib) = field_kib(line, "Anonymous:") {
                mapping.anonymous_kib = kib;
            }
        }
    }
    mappings.extend(current);
    mappings.retain(|m| m.anonymous_kib == 0 && m.resident_kib > 0);
    mappings
}

/// `start-end perms offset dev inode path` → (start, end, perms, path); None
/// for the field lines (`Rss:   12 kB`) between headers.
fn mapping_header(line: &str) -> Option<(usize, usize, &str, &str)> {
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    if end <= start {
        return None;
    }
    let perms = fields.next()?;
    let _inode = fields.nth(2)?;
    // Anonymous mappings have no path.
    let path = fields.next().unwrap_or("").trim_start();
    Some((start, end, perms, path))
}

fn field_kib(line: &str, name: &str) -> Option<u64> {
    line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
00400000-00600000 r-xp 00000000 fd:01 42                                 /usr/bin/zatan
Rss:                1800 kB
Anonymous:             0 kB
00600000-00640000 r--p 00200000 fd:01 42                                 /usr/bin/zatan
Rss:                 200 kB
Anonymous:            12 kB
00640000-00650000 rw-p 00240000 fd:01 42                                 /usr/bin/zatan
Rss:                  64 kB
Anonymous:            64 kB
00650000-00660000 r--p 00250000 fd:01 42                                 /usr/bin/zatan
Rss:                   0 kB
Anonymous:             0 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 7                          /usr/lib/libc.so
Rss:                 400 kB
Anonymous:             0 kB
7f0000100000-7f0000200000 r-xp 00000000 fd:01 42                         /usr/bin/zatan
Rss:                   8 kB
Anonymous:             0 kB
7f0000200000-7f0000201000 rw-p 00000000 00:00 0
Rss:                   4 kB
Anonymous:             4 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0 
Rss:                 100 kB
Anonymous:           100 kB
";

    #[test]
    fn only_the_executables_read_only_pages_without_private_copies_are_chosen() {
        let chosen = clean_mappings(SMAPS, Path::new("/usr/bin/zatan"));
        let chosen: Vec<_> = chosen.iter().map(|m| (m.start, m.len, m.resident_kib)).collect();
        // Not the relocated read-only data (private pages), not the writable
        // data, not a mapping with nothing resident, not another file's.
        // A mapping without a path ends the one before it.
        assert_eq!(chosen, [(0x400000, 0x200000, 1800), (0x7f0000100000, 0x100000, 8)]);
    }

    #[test]
    fn releasing_unmaps_resident_code_and_the_process_runs_on() {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let resident = || -> u64 {
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
            clean_mappings(&smaps, &exe).iter().map(|m| m.resident_kib).sum()
        };
        let before = resident();
        assert!(before > 0, "the test binary's code is resident");
        let released = release();
        assert!(released > 0);
        let after = resident();
        assert!(after < before, "{after} KiB resident after releasing, {before} KiB before");
        // The code that was unmapped runs on, mapped again from the page cache.
        let chosen = clean_mappings(SMAPS, Path::new("/usr/bin/zatan"));
        assert_eq!(chosen.len(), 2);
    }
}
