//! Long text replies in pages. WeChat drops a passive text reply over 2048
//! bytes, so a longer one is sent as its first page, each page ending with a
//! hint to send 「更多」, and the rest is kept here for that follower, in
//! memory, for a while. A WeChat retry of the same message gets the same page
//! again (the reply cache does that within its 30 s; the message keys kept
//! here do it after an eviction too), never the next one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::text::prefix;
use crate::wechat::reply::TEXT_MAX_BYTES;

/// The end of every page but the last.
pub const MORE_HINT: &str = "（回复「更多」看下一页）";
/// The end of the last page kept when a text has more pages than are kept.
const CUT_SHORT: &str = "（太长，后面的未保留）";
const _: () = assert!(CUT_SHORT.len() <= MORE_HINT.len());

/// How long a follower's pages wait for 「更多」.
pub const KEEP: Duration = Duration::from_secs(600);
/// Bounds on the memory pages take, on a router too: followers with pages
/// kept, pages kept per reply, and bytes in all. Past them the oldest go.
const MAX_FOLLOWERS: usize = 1000;
const MAX_PAGES: usize = 16;
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// `text` cut into pages of at most [`TEXT_MAX_BYTES`] bytes: at the last line
/// break that fits, else at a character boundary. Every page but the last
/// ends with [`MORE_HINT`]; without the hints the pages are `text` again.
pub fn split(text: &str) -> Vec<String> {
    let room = TEXT_MAX_BYTES - MORE_HINT.len();
    let mut pages = Vec::new();
    let mut rest = text;
    while rest.len() > TEXT_MAX_BYTES {
        let window = prefix(rest, room);
        let cut = match window.rfind('\n') {
            Some(at) if at > 0 => at + 1,
            _ => window.len(),
        };
        pages.push(format!("{}{MORE_HINT}", &rest[..cut]));
        rest = &rest[cut..];
    }
    pages.push(rest.to_string());
    pages
}

/// What 「更多」 finds for a follower.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Page(String),
    /// Every page was sent.
    Done,
    /// Nothing kept: no long reply in the last 10 minutes.
    Nothing,
}

/// The pages kept for each follower.
pub struct Pages {
    kept: Mutex<HashMap<String, Kept>>,
    keep: Duration,
}

struct Kept {
    /// The pages after the first, as they are sent.
    pages: Vec<String>,
    /// The message each page went to, in order: a retry of one gets it again.
    sent_to: Vec<String>,
    at: Instant,
    bytes: usize,
}

impl Default for Pages {
    fn default() -> Self {
        Pages::new(KEEP)
    }
}

impl Pages {
    pub fn new(keep: Duration) -> Pages {
        Pages { kept: Mutex::new(HashMap::new()), keep }
    }

    /// `text` as the follower gets it now: itself when it fits one reply;
    /// otherwise its first page, and the other pages are kept for 「更多」
    /// (in place of any kept before).
    pub fn first(&self, openid: &str, text: String) -> String {
        if text.len() <= TEXT_MAX_BYTES {
            return text;
        }
        let mut pages = split(&text);
        if pages.len() > MAX_PAGES {
            pages.truncate(MAX_PAGES);
            let last = pages.last_mut().expect("MAX_PAGES > 0");
            last.truncate(last.len() - MORE_HINT.len());
            last.push_str(CUT_SHORT);
        }
        let first = pages.remove(0);
        let bytes = pages.iter().map(String::len).sum::<usize>() + openid.len();
        let mut kept = self.lock();
        self.expire(&mut kept);
        kept.insert(
            openid.to_string(),
            Kept { pages, sent_to: Vec::new(), at: Instant::now(), bytes },
        );
        while kept.len() > MAX_FOLLOWERS
            || kept.values().map(|k| k.bytes).sum::<usize>() > MAX_BYTES
        {
            let oldest = kept.iter().min_by_key(|(_, k)| k.at).map(|(o, _)| o.clone());
            kept.remove(&oldest.expect("not empty while over a bound"));
        }
        first
    }

    /// The next page for the follower's message `message_key` (「更多」): the
    /// page that message already got when it is a retry.
    pub fn next(&self, openid: &str, message_key: &str) -> Next {
        let mut kept = self.lock();
        self.expire(&mut kept);
        let Some(entry) = kept.get_mut(openid) else { return Next::Nothing };
        if let Some(at) = entry.sent_to.iter().position(|key| key == message_key) {
            return Next::Page(entry.pages[at].clone());
        }
        match entry.pages.get(entry.sent_to.len()) {
            Some(page) => {
                let page = page.clone();
                entry.sent_to.push(message_key.to_string());
                Next::Page(page)
            }
            None => Next::Done,
        }
    }

    fn expire(&self, kept: &mut HashMap<String, Kept>) {
        kept.retain(|_, k| k.at.elapsed() < self.keep);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        // Never held across anything that can panic; a poisoned map is still usable.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: usize, width: usize) -> String {
        (0..count).map(|n| format!("{n:04} {}\n", "书".repeat(width))).collect()
    }

    fn unhinted(pages: &[String]) -> String {
        pages.iter().map(|p| p.strip_suffix(MORE_HINT).unwrap_or(p)).collect()
    }

    #[test]
    fn a_short_text_is_one_page_as_it_is() {
        assert_eq!(split("短"), ["短"]);
        let exact = "a".repeat(TEXT_MAX_BYTES);
        assert_eq!(split(&exact), [exact]);
    }

    #[test]
    fn long_text_is_cut_at_lines_within_2048_bytes_and_joins_back() {
        let text = lines(200, 10);
        let pages = split(&text);
        assert!(pages.len() > 3, "{}", pages.len());
        for (i, page) in pages.iter().enumerate() {
            assert!(page.len() <= TEXT_MAX_BYTES, "page {i}: {} bytes", page.len());
            if i + 1 < pages.len() {
                assert!(page.ends_with(&format!("\n{MORE_HINT}")), "cut after a line: {page}");
            } else {
                assert!(!page.ends_with(MORE_HINT));
            }
        }
        assert_eq!(unhinted(&pages), text);
    }

    #[test]
    fn a_line_longer_than_a_page_is_cut_between_characters() {
        let text = "长".repeat(3000);
        let pages = split(&text);
        assert!(pages.iter().all(|p| p.len() <= TEXT_MAX_BYTES));
        assert_eq!(unhinted(&pages), text);
        // Mixed widths: every cut lands on a character boundary or this would panic.
        let mixed: String = (0..2000).map(|i| if i % 3 == 0 { "a" } else { "春" }).collect();
        assert_eq!(unhinted(&split(&mixed)), mixed);
    }

    #[test]
    fn more_gives_the_pages_in_turn_and_a_retry_the_same_page() {
        let pages = Pages::default();
        let text = lines(120, 10);
        let all = split(&text);
        let first = pages.first("o1", text.clone());
        assert_eq!(first, all[0]);
        assert_eq!(pages.next("o2", "k"), Next::Nothing, "followers see only their own");
        assert_eq!(pages.next("o1", "m1"), Next::Page(all[1].clone()));
        assert_eq!(pages.next("o1", "m1"), Next::Page(all[1].clone()), "a retry does not advance");
        let mut rest = Vec::new();
        for n in 2..all.len() {
            match pages.next("o1", &format!("m{n}")) {
                Next::Page(page) => rest.push(page),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(rest, all[2..]);
        assert_eq!(pages.next("o1", "later"), Next::Done);
        assert_eq!(pages.first("o1", "短".into()), "短", "a short reply keeps the pages");
        assert_eq!(pages.next("o1", "m1"), Next::Page(all[1].clone()));
    }

    #[test]
    fn pages_expire_and_memory_is_bounded() {
        let pages = Pages::new(Duration::from_millis(50));
        pages.first("o1", lines(120, 10));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(pages.next("o1", "k"), Next::Nothing, "expired");

        let pages = Pages::default();
        let huge = lines(5000, 20);
        let first = pages.first("o1", huge.clone());
        assert!(huge.starts_with(first.strip_suffix(MORE_HINT).unwrap()));
        let kept: Vec<String> = (1..MAX_PAGES)
            .map(|n| match pages.next("o1", &n.to_string()) {
                Next::Page(page) => page,
                other => panic!("{n}: {other:?}"),
            })
            .collect();
        assert!(kept.last().unwrap().ends_with(CUT_SHORT));
        assert!(kept.iter().all(|p| p.len() <= TEXT_MAX_BYTES));
        assert_eq!(pages.next("o1", "one more"), Next::Done);

        for n in 0..MAX_FOLLOWERS + 50 {
            pages.first(&format!("f{n}"), lines(120, 10));
        }
        let kept = pages.lock();
        assert!(kept.len() <= MAX_FOLLOWERS);
        assert!(kept.values().map(|k| k.bytes).sum::<usize>() <= MAX_BYTES);
        assert!(kept.contains_key(&format!("f{}", MAX_FOLLOWERS + 49)), "the newest stay");
    }
}
