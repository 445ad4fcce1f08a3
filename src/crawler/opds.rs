//! OPDS 1.x catalogs: Atom feeds of navigation entries (links to more feeds)
//! and acquisition entries (books with download links). Parsing is pure: text
//! and the feed's own URL in, links resolved to absolute URLs out.

use std::fmt;

use roxmltree::Node;

use crate::book_format::Format;
use crate::url::Url;

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const DC_TERMS_NS: &str = "http://purl.org/dc/terms/";
const DC_ELEMENTS_NS: &str = "http://purl.org/dc/elements/1.1/";

pub const REL_ACQUISITION: &str = "http://opds-spec.org/acquisition";
pub const REL_OPEN_ACCESS: &str = "http://opds-spec.org/acquisition/open-access";
pub const REL_CRAWLABLE: &str = "http://opds-spec.org/crawlable";

/// Relations of an entry's feed link that lead further into the catalog.
/// Left out on purpose: `related` (Gutenberg's "readers also downloaded",
/// endless), `up`/`start`/`self` (back to where we were), shelves and
/// subscriptions (personal, need an account).
const NAVIGATION_RELS: [&str; 9] = [
    "alternate",
    "subsection",
    "collection",
    "http://opds-spec.org/sort/new",
    "http://opds-spec.org/sort/popular",
    "http://opds-spec.org/featured",
    "http://opds-spec.org/recommended",
    "http://opds-spec.org/group",
    "http://opds-spec.org/facet",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The relation, `alternate` when the feed gives none (Atom's default).
    pub rel: String,
    pub href: Url,
    /// The media type without parameters, lower-cased.
    pub media_type: Option<String>,
}

impl Link {
    fn is_feed(&self) -> bool {
        matches!(self.media_type.as_deref(), Some("application/atom+xml"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: Option<String>,
    pub title: String,
    pub authors: Vec<String>,
    /// `atom:rights` or `dc:rights`: what the catalog says about the licence.
    pub rights: Option<String>,
    pub links: Vec<Link>,
}

/// A download the crawler may take: an open-access or plain acquisition link
/// in a book format zatan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquisition<'a> {
    pub format: Format,
    pub link: &'a Link,
}

impl Entry {
    /// The best acquisition link by `formats` (most wanted first). Borrow,
    /// buy, sample and subscribe links are never taken.
    pub fn acquisition(&self, formats: &[Format]) -> Option<Acquisition<'_>> {
        let mut best: Option<(usize, Acquisition)> = None;
        for link in &self.links {
            if link.rel != REL_ACQUISITION && link.rel != REL_OPEN_ACCESS {
                continue;
            }
            let Some(format) = link.media_type.as_deref().and_then(format_of_media_type) else {
                continue;
            };
            let Some(rank) = formats.iter().position(|f| *f == format) else { continue };
            if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                best = Some((rank, Acquisition { format, link }));
            }
        }
        best.map(|(_, acquisition)| acquisition)
    }

    /// The key this entry is remembered under: its Atom id, else its first
    /// acquisition link (a catalog without ids still dedupes).
    pub fn key(&self, acquisition: &Acquisition) -> String {
        self.id.clone().unwrap_or_else(|| acquisition.link.href.to_string())
    }
}

/// The book formats zatan reads, by the media types catalogs announce them with.
pub fn format_of_media_type(media_type: &str) -> Option<Format> {
    match media_type {
        "application/epub+zip" => Some(Format::Epub),
        "text/plain" => Some(Format::Txt),
        "application/x-mobipocket-ebook" => Some(Format::Mobi),
        "application/x-mobi8-ebook" | "application/vnd.amazon.ebook" => Some(Format::Azw3),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub title: String,
    pub links: Vec<Link>,
    pub entries: Vec<Entry>,
}

impl Feed {
    fn feed_link(&self, rel: &str) -> Option<&Url> {
        self.links.iter().find(|l| l.rel == rel).map(|l| &l.href)
    }

    /// The next page of this feed.
    pub fn next(&self) -> Option<&Url> {
        self.feed_link("next")
    }

    /// A complete feed meant for robots, where the catalog offers one.
    pub fn crawlable(&self) -> Option<&Url> {
        self.feed_link(REL_CRAWLABLE)
    }

    /// Feeds the navigation entries lead to, in document order, without repeats.
    pub fn subsections(&self) -> Vec<&Url> {
        let mut found: Vec<&Url> = Vec::new();
        for entry in &self.entries {
            for link in &entry.links {
                if link.is_feed()
                    && NAVIGATION_RELS.contains(&link.rel.as_str())
                    && !found.contains(&&link.href)
                {
                    found.push(&link.href);
                }
            }
        }
        found
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError(pub String);

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parse the bytes of a feed fetched from `base`. The XML may not carry a
/// DTD (no entity expansion from strangers).
pub fn parse(bytes: &[u8], base: &Url) -> Result<Feed, FeedError> {
    let (text, _) = crate::ebook::decode_xml(bytes);
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| FeedError(format!("not well-formed XML ({e})")))?;
    let root = doc.root_element();
    if !(root.has_tag_name((ATOM_NS, "feed"))) {
        let name = root.tag_name();
        return Err(FeedError(format!(
            "not an Atom feed (the document is <{}> in namespace {})",
            name.name(),
            name.namespace().unwrap_or("none")
        )));
    }
    let entries = atom_children(root, "entry").map(|e| parse_entry(e, base)).collect();
    Ok(Feed {
        title: child_text(root, "title").unwrap_or_default(),
        links: links(root, base),
        entries,
    })
}

fn atom_children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(move |c| c.has_tag_name((ATOM_NS, name)))
}

/// The trimmed text of the first Atom child `name` (whatever markup it holds).
fn child_text(node: Node, name: &'static str) -> Option<String> {
    atom_children(node, name).next().map(text_of).filter(|t| !t.is_empty())
}

fn text_of(node: Node) -> String {
    let text: String =
        node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_entry(node: Node, base: &Url) -> Entry {
    let authors = atom_children(node, "author").filter_map(|a| child_text(a, "name")).collect();
    let rights = child_text(node, "rights").or_else(|| {
        node.children()
            .find(|c| {
                c.tag_name().name() == "rights"
                    && matches!(c.tag_name().namespace(), Some(DC_TERMS_NS | DC_ELEMENTS_NS))
            })
            .map(text_of)
            .filter(|t| !t.is_empty())
    });
    Entry {
        id: child_text(node, "id"),
        title: child_text(node, "title").unwrap_or_default(),
        authors,
        rights,
        links: links(node, base),
    }
}

/// The node's Atom links with hrefs resolved; links whose href cannot be
/// resolved to an http(s) URL are dropped.
fn links(node: Node, base: &Url) -> Vec<Link> {
    atom_children(node, "link")
        .filter_map(|l| {
            let href = base.join(l.attribute("href")?).ok()?;
            let media_type = l
                .attribute("type")
                .map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty());
            let rel = l
                .attribute("rel")
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("alternate")
                .to_string();
            Some(Link { rel, href, media_type })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://lib.example/opds/root.xml").unwrap()
    }

    const NAVIGATION: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Library</title>
  <link rel="self" href="/opds/root.xml" type="application/atom+xml;profile=opds-catalog;kind=navigation"/>
  <link rel="start" href="/opds/root.xml" type="application/atom+xml;profile=opds-catalog;kind=navigation"/>
  <link rel="http://opds-spec.org/crawlable" href="all.xml" type="application/atom+xml;profile=opds-catalog;kind=acquisition"/>
  <entry><title>New</title><id>n1</id>
    <link rel="http://opds-spec.org/sort/new" href="new.xml" type="application/atom+xml;profile=opds-catalog;kind=acquisition"/></entry>
  <entry><title>By author</title><id>n2</id>
    <link href="authors/" type="application/atom+xml;type=feed;profile=opds-catalog"/></entry>
  <entry><title>Same again</title><id>n3</id>
    <link rel="subsection" href="new.xml" type="application/atom+xml"/></entry>
  <entry><title>Related</title><id>n4</id>
    <link rel="related" href="related.xml" type="application/atom+xml"/>
    <link rel="alternate" href="page.html" type="text/html"/></entry>
</feed>"#;

    #[test]
    fn navigation_feed_links_resolve_and_filter() {
        let feed = parse(NAVIGATION.as_bytes(), &base()).unwrap();
        assert_eq!(feed.title, "Library");
        let subsections: Vec<String> = feed.subsections().iter().map(|u| u.to_string()).collect();
        assert_eq!(
            subsections,
            ["http://lib.example/opds/new.xml", "http://lib.example/opds/authors/"]
        );
        assert_eq!(feed.crawlable().unwrap().to_string(), "http://lib.example/opds/all.xml");
        assert_eq!(feed.next(), None);
    }

    const ACQUISITION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/terms/" xmlns:opds="http://opds-spec.org/2010/catalog">
  <title>New books</title>
  <link rel="next" href="new.xml?page=2" type="application/atom+xml;profile=opds-catalog;kind=acquisition"/>
  <entry>
    <title>  Pride and
      Prejudice </title>
    <id>urn:gutenberg:1342</id>
    <author><name>Austen, Jane</name></author>
    <author><name>Someone Else</name></author>
    <dc:rights>Public domain in the USA.</dc:rights>
    <link rel="http://opds-spec.org/acquisition/open-access" type="application/x-mobipocket-ebook" href="/b/1342.mobi"/>
    <link rel="http://opds-spec.org/acquisition/open-access" type="text/plain; charset=utf-8" href="/b/1342.txt"/>
    <link rel="http://opds-spec.org/acquisition/open-access" type="application/epub+zip" href="/b/1342.epub"/>
    <link rel="http://opds-spec.org/image" type="image/jpeg" href="/c/1342.jpg"/>
  </entry>
  <entry>
    <title>For sale</title><id>urn:x:2</id>
    <rights>All rights reserved</rights>
    <link rel="http://opds-spec.org/acquisition/buy" type="application/epub+zip" href="/buy/2"/>
    <link rel="http://opds-spec.org/acquisition/borrow" type="application/epub+zip" href="/borrow/2"/>
    <link rel="http://opds-spec.org/acquisition/sample" type="application/epub+zip" href="/sample/2"/>
  </entry>
  <entry>
    <title>No id, PDF and plain text</title>
    <link rel="http://opds-spec.org/acquisition" type="application/pdf" href="/b/3.pdf"/>
    <link rel="http://opds-spec.org/acquisition" type="text/plain" href="/b/3 text.txt"/>
  </entry>
</feed>"#;

    #[test]
    fn acquisition_entries_take_open_links_by_preference() {
        let feed = parse(ACQUISITION.as_bytes(), &base()).unwrap();
        assert_eq!(feed.next().unwrap().to_string(), "http://lib.example/opds/new.xml?page=2");
        let [book, sale, no_id] = &feed.entries[..] else { panic!("three entries") };
        assert_eq!(book.title, "Pride and Prejudice");
        assert_eq!(book.authors, ["Austen, Jane", "Someone Else"]);
        assert_eq!(book.rights.as_deref(), Some("Public domain in the USA."));
        let default = [Format::Epub, Format::Txt, Format::Mobi];
        let pick = book.acquisition(&default).unwrap();
        assert_eq!(
            (pick.format, pick.link.href.to_string()),
            (Format::Epub, "http://lib.example/b/1342.epub".into())
        );
        assert_eq!(book.acquisition(&[Format::Mobi, Format::Epub]).unwrap().format, Format::Mobi);
        assert_eq!(book.acquisition(&[Format::Azw3]), None);
        assert_eq!(book.key(&pick), "urn:gutenberg:1342");

        assert_eq!(sale.rights.as_deref(), Some("All rights reserved"));
        assert_eq!(sale.acquisition(&default), None, "buy, borrow and sample are never taken");

        let pick = no_id.acquisition(&default).unwrap();
        assert_eq!(pick.format, Format::Txt);
        assert_eq!(no_id.key(&pick), "http://lib.example/b/3%20text.txt");
        assert!(feed.subsections().is_empty());
    }

    #[test]
    fn what_is_not_a_feed_is_a_clear_error() {
        for (bytes, needle) in [
            (&b"<html><body>Not found</body></html>"[..], "not an Atom feed"),
            (b"{\"json\": true}", "not well-formed XML"),
            (b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>", "not well-formed XML"),
            (b"<?xml version=\"1.0\"?><!DOCTYPE feed [<!ENTITY a \"aaaa\">]><feed xmlns=\"http://www.w3.org/2005/Atom\">&a;</feed>", "not well-formed XML"),
            (b"<rss version=\"2.0\"><channel/></rss>", "<rss>"),
        ] {
            let err = parse(bytes, &base()).unwrap_err();
            assert!(err.0.contains(needle), "{err}");
        }
    }

    #[test]
    fn declared_encodings_are_honoured() {
        let xml = "<?xml version=\"1.0\" encoding=\"GBK\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>书库</title></feed>";
        let (gbk, _, _) = encoding_rs::GBK.encode(xml);
        assert_eq!(parse(&gbk, &base()).unwrap().title, "书库");
    }
}
