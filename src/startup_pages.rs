//! Gives back the pages of the binary that only starting up needed.
//!
//! Starting touches most of the executable (config parsing, every service's
//! set-up, the store), so a freshly started server has nearly its whole binary
//! resident although serving runs a small part of it. Those pages are clean
//! copies of the file: unmapping them loses nothing. They are dropped from the
//! page cache too, and the mappings are marked random-access, because the
//! kernel maps every cached page around each fault (and reads ahead on a miss):
//! with the cache full of the binary, serving one request mapped 2 MB of code
//! back. Afterwards a fault reads its page from the file again, once; on a
//! router that is a read from flash, traded for RAM the process no longer holds.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A mapping of the executable file, from /proc/self/maps.
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
    writable: bool,
}

/// /proc/self/pagemap: the page is in memory.
const PAGE_PRESENT: u64 = 1 << 63;
/// /proc/self/pagemap: the page is the file's (or shared), not this process's own copy.
const PAGE_FILE: u64 = 1 << 61;

/// Makes the executable's relocation-read-only data read-only, then unmaps,
/// from this process only, every resident page of its read-only mappings that
/// is still the file's own: code, read-only data, and the relocation-read-only
/// data relocations did not change. Pages this process wrote or relocated are
/// never touched. Then asks the kernel to drop the file's cached pages that no
/// process maps. Returns the KiB unmapped.
pub fn release() -> u64 {
    seal_relro();
    let (Ok(maps), Ok(exe), Ok(pagemap)) = (
        std::fs::read_to_string("/proc/self/maps"),
        std::fs::read_link("/proc/self/exe"),
        File::open("/proc/self/pagemap"),
    ) else {
        return 0;
    };
    let page = page_size();
    let read_only: Vec<Mapping> =
        executable_mappings(&maps, &exe).into_iter().filter(|m| !m.writable).collect();
    for mapping in &read_only {
        // SAFETY: advice only; it changes no byte of the mapping.
        unsafe {
            libc::madvise(
                mapping.start as *mut libc::c_void,
                mapping.end - mapping.start,
                libc::MADV_RANDOM,
            )
        };
    }
    let mut released = 0;
    for mapping in &read_only {
        let Some(entries) = pagemap_entries(&pagemap, mapping, page) else {
            continue;
        };
        for (start, len) in file_page_runs(&entries, mapping.start, page) {
            // SAFETY: the range lies in a read-only mapping of the executable
            // and holds only pages that are the file's, unchanged: MADV_DONTNEED
            // drops this process's page-table entries for them, and the next
            // access maps the same bytes again from the file.
            if unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) } == 0 {
                released += (len / 1024) as u64;
            }
        }
    }
    if let Ok(file) = File::open(&exe) {
        // SAFETY: advice on an open file; it changes nothing in it.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
    released
}

/// Does for a static binary what the dynamic loader does for others:
/// `mprotect`s the PT_GNU_RELRO range (vtables, the GOT, TLS templates) read
/// only. Nothing writes there once the process runs; read-only, its clean
/// pages can be given back like code, and a stray write faults instead of
/// being lost. Already read-only in a dynamically linked binary.
fn seal_relro() {
    let Some((start, end)) = relro_range() else {
        return;
    };
    // SAFETY: the range is the executable's own PT_GNU_RELRO, rounded to whole
    // pages inside it the way loaders round it; making it read-only changes no
    // byte, and nothing in the process writes there after start-up.
    unsafe {
        libc::mprotect(start as *mut libc::c_void, end - start, libc::PROT_READ);
    }
}

#[cfg(target_pointer_width = "64")]
type ProgramHeader = libc::Elf64_Phdr;
#[cfg(target_pointer_width = "32")]
type ProgramHeader = libc::Elf32_Phdr;

/// The executable's PT_GNU_RELRO range in memory, start rounded down and end
/// rounded down to pages (as loaders do), from its program headers.
fn relro_range() -> Option<(usize, usize)> {
    // SAFETY: getauxval only reads the auxiliary vector the kernel passed.
    let (phdr, count) =
        unsafe { (libc::getauxval(libc::AT_PHDR), libc::getauxval(libc::AT_PHNUM)) };
    if phdr == 0 || count == 0 {
        return None;
    }
    // SAFETY: AT_PHDR points at the executable's AT_PHNUM program headers,
    // mapped for the life of the process.
    let headers = unsafe {
        std::slice::from_raw_parts(phdr as usize as *const ProgramHeader, count as usize)
    };
    let loaded = headers.iter().map(|h| (h.p_type, h.p_vaddr as usize, h.p_memsz as usize));
    relro_pages(loaded, phdr as usize, page_size())
}

/// The relro range, page-rounded, of program headers given as (type, vaddr,
/// memsz), for headers that are at `phdr_address` in memory.
fn relro_pages(
    headers: impl Iterator<Item = (u32, usize, usize)> + Clone,
    phdr_address: usize,
    page: usize,
) -> Option<(usize, usize)> {
    // A position-independent binary is loaded at some offset from its
    // addresses: the one PT_PHDR says the headers sit at, against where they are.
    let bias = match headers.clone().find(|h| h.0 == libc::PT_PHDR) {
        Some((_, vaddr, _)) => phdr_address.wrapping_sub(vaddr),
        None => 0,
    };
    let (_, vaddr, memsz) = headers.into_iter().find(|h| h.0 == libc::PT_GNU_RELRO)?;
    let start = bias.wrapping_add(vaddr) & !(page - 1);
    let end = bias.wrapping_add(vaddr).wrapping_add(memsz) & !(page - 1);
    (end > start).then_some((start, end))
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        size if size > 0 => size as usize,
        _ => 4096,
    }
}

/// The mappings of `exe` in the text of /proc/self/maps.
fn executable_mappings(maps: &str, exe: &Path) -> Vec<Mapping> {
    maps.lines()
        .filter_map(|line| {
            // `start-end perms offset dev inode path`; anonymous mappings have no path
            let mut fields = line.splitn(6, ' ');
            let (start, end) = fields.next()?.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            let perms = fields.next()?;
            let path = fields.nth(3).unwrap_or("").trim_start();
            (end > start && Path::new(path) == exe).then(|| Mapping {
                start,
                end,
                writable: perms.contains('w'),
            })
        })
        .collect()
}

/// One /proc/self/pagemap entry per page of `mapping`.
fn pagemap_entries(pagemap: &File, mapping: &Mapping, page: usize) -> Option<Vec<u64>> {
    let pages = (mapping.end - mapping.start) / page;
    let mut bytes = vec![0u8; pages * 8];
    pagemap.read_exact_at(&mut bytes, (mapping.start / page * 8) as u64).ok()?;
    Some(bytes.chunks_exact(8).map(|e| u64::from_ne_bytes(e.try_into().unwrap())).collect())
}

/// The runs of pages, as (address, length), that are resident and the file's,
/// for the pagemap `entries` of the pages from `start` on.
fn file_page_runs(entries: &[u64], start: usize, page: usize) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry & (PAGE_PRESENT | PAGE_FILE) != PAGE_PRESENT | PAGE_FILE {
            continue;
        }
        let address = start + i * page;
        match runs.last_mut() {
            Some((run_start, len)) if *run_start + *len == address => *len += page,
            _ => runs.push((address, page)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
00400000-00600000 r-xp 00000000 fd:01 42                                 /usr/bin/zatan
00600000-00640000 r--p 00200000 fd:01 42                                 /usr/bin/zatan
00640000-00650000 rw-p 00240000 fd:01 42                                 /usr/bin/zatan
7f0000000000-7f0000100000 r-xp 00000000 fd:01 7                          /usr/lib/libc.so
7f0000200000-7f0000201000 rw-p 00000000 00:00 0
7f0000300000-7f0000301000 r--p 00000000 fd:01 43                         /usr/bin/zatan (deleted)
";

    #[test]
    fn the_executables_mappings_are_found_with_their_permission() {
        let found = executable_mappings(MAPS, Path::new("/usr/bin/zatan"));
        let mapping = |start, end, writable| Mapping { start, end, writable };
        // Not another file's, not an anonymous mapping, not the replaced
        // (deleted) file of the same name.
        assert_eq!(
            found,
            [
                mapping(0x400000, 0x600000, false),
                mapping(0x600000, 0x640000, false),
                mapping(0x640000, 0x650000, true),
            ]
        );
    }

    #[test]
    fn only_resident_pages_that_are_the_files_are_released() {
        const FILE: u64 = PAGE_PRESENT | PAGE_FILE;
        const COPIED: u64 = PAGE_PRESENT; // relocated or written: this process's own
        const SWAPPED: u64 = 1 << 62;
        let entries = [FILE, FILE, COPIED, 0, FILE, PAGE_FILE, FILE, FILE, SWAPPED, FILE];
        assert_eq!(
            file_page_runs(&entries, 0x10000, 0x1000),
            [(0x10000, 0x2000), (0x14000, 0x1000), (0x16000, 0x2000), (0x19000, 0x1000)]
        );
        assert!(file_page_runs(&[COPIED, 0, SWAPPED], 0x10000, 0x1000).is_empty());
    }

    #[test]
    fn relro_is_rounded_to_whole_pages_inside_it_and_follows_the_load_address() {
        let headers = [
            (libc::PT_PHDR, 0x40, 0x1f8),
            (libc::PT_LOAD, 0x0, 0x1000),
            (libc::PT_GNU_RELRO, 0x1360d70, 0x23290),
        ];
        // a static binary at its link address
        assert_eq!(relro_pages(headers.into_iter(), 0x40, 0x1000), Some((0x1360000, 0x1384000)));
        // position independent, loaded 0x5550_0000 up
        assert_eq!(
            relro_pages(headers.into_iter(), 0x5550_0040, 0x1000),
            Some((0x5550_0000 + 0x1360000, 0x5550_0000 + 0x1384000))
        );
        // no relro, or one smaller than a page: nothing to seal
        assert_eq!(relro_pages(headers[..2].iter().copied(), 0x40, 0x1000), None);
        let small = [(libc::PT_GNU_RELRO, 0x2010, 0x100)];
        assert_eq!(relro_pages(small.into_iter(), 0, 0x1000), None);
    }

    /// KiB of the executable's read-only mappings that are resident and the file's.
    fn resident_file_kib() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let pagemap = File::open("/proc/self/pagemap").unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let page = page_size();
        executable_mappings(&maps, &exe)
            .iter()
            .filter(|m| !m.writable)
            .map(|m| {
                let entries = pagemap_entries(&pagemap, m, page).unwrap();
                file_page_runs(&entries, m.start, page)
                    .iter()
                    .map(|r| r.1 as u64 / 1024)
                    .sum::<u64>()
            })
            .sum()
    }

    #[test]
    fn releasing_unmaps_resident_code_and_the_process_runs_on() {
        let before = resident_file_kib();
        assert!(before > 0, "the test binary's code is resident");
        let released = release();
        assert!(released > 0);
        let after = resident_file_kib();
        assert!(after < before, "{after} KiB resident after releasing, {before} KiB before");
        // The code that was unmapped runs on, mapped again from the page cache,
        // and the relro range is still readable.
        let (start, end) = relro_range().expect("the test binary has a relro segment");
        assert!(end > start);
        // SAFETY: the range is mapped and readable, which is what is checked.
        let _ = unsafe { std::ptr::read_volatile((end - 1) as *const u8) };
        assert_eq!(file_page_runs(&[PAGE_PRESENT | PAGE_FILE], 0, 4096), [(0, 4096)]);
    }
}
