//! The order a catalog is read in: breadth first from the source URL, each
//! page once, within a page cap and a depth cap, staying on the source's own
//! site. A `next` page counts as the same depth as the page before it, so a
//! long paginated feed is not cut short by the depth cap (the page cap and
//! the visited set end pagination loops).

use std::collections::{HashSet, VecDeque};

use super::opds::Feed;
use crate::url::Url;

#[derive(Debug)]
pub struct Walk {
    origin: String,
    queue: VecDeque<(Url, usize)>,
    seen: HashSet<Url>,
    fetched: usize,
    max_pages: usize,
    max_depth: usize,
}

/// One feed page to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub url: Url,
    pub depth: usize,
}

impl Walk {
    pub fn new(start: Url, max_pages: usize, max_depth: usize) -> Walk {
        let mut walk = Walk {
            origin: start.origin(),
            queue: VecDeque::new(),
            seen: HashSet::new(),
            fetched: 0,
            max_pages,
            max_depth,
        };
        walk.push(start, 0, false);
        walk
    }

    /// The next page, or None when the catalog is done or the page cap reached.
    pub fn next_page(&mut self) -> Option<Page> {
        if self.fetched >= self.max_pages {
            return None;
        }
        let (url, depth) = self.queue.pop_front()?;
        self.fetched += 1;
        Some(Page { url, depth })
    }

    /// Whether pages were left unread because of the page cap.
    pub fn capped(&self) -> bool {
        self.fetched >= self.max_pages && !self.queue.is_empty()
    }

    pub fn pages(&self) -> usize {
        self.fetched
    }

    /// Queue what a page links to: its next page first, and its crawlable
    /// feed in place of its navigation when it offers one.
    pub fn add_links(&mut self, page: &Page, links: &Links) {
        if let Some(next) = &links.next {
            self.push(next.clone(), page.depth, true);
        }
        if let Some(crawlable) = &links.crawlable {
            self.push(crawlable.clone(), page.depth, true);
            return;
        }
        for url in &links.subsections {
            self.push(url.clone(), page.depth + 1, false);
        }
    }

    fn push(&mut self, url: Url, depth: usize, front: bool) {
        if depth > self.max_depth || url.origin() != self.origin || !self.seen.insert(url.clone()) {
            return;
        }
        if front {
            self.queue.push_front((url, depth));
        } else {
            self.queue.push_back((url, depth));
        }
    }
}

/// The links of a feed that the walk follows; kept in the store with a
/// feed's validators so a 304 still leads on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    pub next: Option<Url>,
    pub crawlable: Option<Url>,
    pub subsections: Vec<Url>,
}

impl Links {
    pub fn of(feed: &Feed) -> Links {
        Links {
            next: feed.next().cloned(),
            crawlable: feed.crawlable().cloned(),
            subsections: feed.subsections().into_iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str) -> Url {
        Url::parse(&format!("http://h{path}")).unwrap()
    }

    fn links(next: Option<&str>, crawlable: Option<&str>, subsections: &[&str]) -> Links {
        Links {
            next: next.map(url),
            crawlable: crawlable.map(url),
            subsections: subsections.iter().map(|s| url(s)).collect(),
        }
    }

    #[test]
    fn breadth_first_with_next_pages_first_and_no_repeats() {
        let mut walk = Walk::new(url("/root"), 100, 5);
        let root = walk.next_page().unwrap();
        walk.add_links(&root, &links(None, None, &["/a", "/b", "/root"]));
        let a = walk.next_page().unwrap();
        assert_eq!((a.url.clone(), a.depth), (url("/a"), 1));
        walk.add_links(&a, &links(Some("/a?page=2"), None, &["/a1"]));
        let next = walk.next_page().unwrap();
        assert_eq!(
            (next.url.clone(), next.depth),
            (url("/a?page=2"), 1),
            "pagination comes first, same depth"
        );
        walk.add_links(&next, &links(Some("/a"), None, &[]));
        let order: Vec<Url> = std::iter::from_fn(|| walk.next_page().map(|p| p.url)).collect();
        assert_eq!(order, [url("/b"), url("/a1")], "the next loop back to /a ends");
        assert_eq!(walk.pages(), 5);
        assert!(!walk.capped());
    }

    #[test]
    fn caps_and_foreign_sites() {
        let mut walk = Walk::new(url("/root"), 3, 1);
        let root = walk.next_page().unwrap();
        let mut foreign = links(None, None, &["/a", "/b", "/c"]);
        foreign.subsections.push(Url::parse("http://elsewhere/x").unwrap());
        foreign.subsections.push(Url::parse("https://h/a").unwrap());
        walk.add_links(&root, &foreign);
        let a = walk.next_page().unwrap();
        walk.add_links(&a, &links(None, None, &["/deep"]));
        assert_eq!(walk.next_page().unwrap().url, url("/b"));
        assert_eq!(walk.next_page(), None, "page cap");
        assert!(walk.capped());

        let mut walk = Walk::new(url("/root"), 100, 1);
        let root = walk.next_page().unwrap();
        walk.add_links(&root, &links(None, None, &["/a"]));
        let a = walk.next_page().unwrap();
        walk.add_links(&a, &links(None, None, &["/too-deep"]));
        assert_eq!(walk.next_page(), None, "depth cap; other sites never queued");
    }

    #[test]
    fn crawlable_feed_replaces_navigation() {
        let mut walk = Walk::new(url("/root"), 100, 5);
        let root = walk.next_page().unwrap();
        walk.add_links(&root, &links(None, Some("/all"), &["/by-author", "/by-title"]));
        let order: Vec<Url> = std::iter::from_fn(|| walk.next_page().map(|p| p.url)).collect();
        assert_eq!(order, [url("/all")]);
    }
}
