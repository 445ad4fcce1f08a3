//! Writing OPDS 1.2 feeds (Atom) and the OpenSearch description: pure text
//! out of what the handlers pass in, nothing read from anywhere.

use crate::book_format::Format;
use crate::clock::utc_timestamp;
use crate::library::Book;
use crate::text::human_size;
use crate::xml::escape;

pub const NAVIGATION: &str = "application/atom+xml;profile=opds-catalog;kind=navigation";
pub const ACQUISITION: &str = "application/atom+xml;profile=opds-catalog;kind=acquisition";
pub const OPENSEARCH: &str = "application/opensearchdescription+xml";
pub const REL_ACQUISITION: &str = "http://opds-spec.org/acquisition";
pub const REL_IMAGE: &str = "http://opds-spec.org/image";
pub const REL_THUMBNAIL: &str = "http://opds-spec.org/image/thumbnail";
pub const REL_SORT_NEW: &str = "http://opds-spec.org/sort/new";
pub const REL_CRAWLABLE: &str = "http://opds-spec.org/crawlable";

/// A feed-level or entry-level link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub rel: &'static str,
    pub href: String,
    pub media_type: &'static str,
}

impl Link {
    pub fn new(rel: &'static str, href: impl Into<String>, media_type: &'static str) -> Link {
        Link { rel, href: href.into(), media_type }
    }
}

/// What every feed starts with.
pub struct Head<'a> {
    /// A URN that stays the same for the same feed.
    pub id: &'a str,
    pub title: &'a str,
    /// Unix seconds.
    pub updated: u64,
    pub links: Vec<Link>,
}

/// An entry of a navigation feed: a link to another feed.
pub struct NavEntry {
    pub id: String,
    pub title: String,
    pub content: String,
    pub link: Link,
}

/// An entry of an acquisition feed: a book, its files under `base`
/// (`{base}/file.{ext}`) and its cover (`{base}/cover`, of this media type)
/// when it has one.
pub struct BookEntry<'a> {
    pub book: &'a Book,
    pub base: String,
    pub cover: Option<&'static str>,
}

pub fn navigation(head: &Head, entries: &[NavEntry]) -> String {
    let mut out = start(head);
    for entry in entries {
        out.push_str(&format!(
            "<entry>\n<title>{}</title>\n<id>{}</id>\n<updated>{}</updated>\n\
             <content type=\"text\">{}</content>\n{}</entry>\n",
            escape(&entry.title),
            escape(&entry.id),
            utc_timestamp(head.updated),
            escape(&entry.content),
            link(&entry.link, None),
        ));
    }
    out.push_str("</feed>\n");
    out
}

pub fn acquisition(head: &Head, entries: &[BookEntry]) -> String {
    let mut out = start(head);
    for entry in entries {
        let book = entry.book;
        let formats: Vec<String> = book
            .files
            .iter()
            .map(|f| format!("{} {}", f.format.to_uppercase(), human_size(f.size)))
            .collect();
        out.push_str(&format!(
            "<entry>\n<title>{}</title>\n<id>urn:zatan:book:{}</id>\n<updated>{}</updated>\n",
            escape(&book.title),
            escape(&book.id),
            utc_timestamp(book.added_at),
        ));
        if let Some(author) = &book.author {
            out.push_str(&format!("<author><name>{}</name></author>\n", escape(author)));
        }
        out.push_str(&format!(
            "<dc:language>{}</dc:language>\n<summary type=\"text\">{}</summary>\n",
            escape(&book.lang),
            escape(&formats.join(" · ")),
        ));
        for file in &book.files {
            let Some(format) = Format::from_name(&file.format) else { continue };
            let href = format!("{}/file.{}", entry.base, format.extension());
            let acquire = Link::new(REL_ACQUISITION, href, opds_media_type(format));
            out.push_str(&link(&acquire, Some(file.size)));
        }
        if let Some(media_type) = entry.cover {
            let cover = format!("{}/cover", entry.base);
            for rel in [REL_IMAGE, REL_THUMBNAIL] {
                out.push_str(&link(&Link::new(rel, cover.clone(), media_type), None));
            }
        }
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// The media type an acquisition link announces: as the file is served,
/// without parameters (the crawler and readers compare them bare).
fn opds_media_type(format: Format) -> &'static str {
    format.mime_type().split(';').next().unwrap_or("application/octet-stream")
}

/// The OpenSearch description: one Atom URL template with `{searchTerms}`.
pub fn opensearch(template: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <OpenSearchDescription xmlns=\"http://a9.com/-/spec/opensearch/1.1/\">\n\
         <ShortName>zatan</ShortName>\n<Description>书名或作者</Description>\n\
         <InputEncoding>UTF-8</InputEncoding>\n<OutputEncoding>UTF-8</OutputEncoding>\n\
         <Url type=\"{}\" template=\"{}\"/>\n</OpenSearchDescription>\n",
        escape(ACQUISITION),
        escape(template),
    )
}

/// `first`, `previous`, `next` and `last` for page `page` (1-based) of
/// `pages`; `href(n)` is page n's address.
pub fn paging(
    page: usize,
    pages: usize,
    media_type: &'static str,
    href: impl Fn(usize) -> String,
) -> Vec<Link> {
    let mut links = vec![Link::new("first", href(1), media_type)];
    if page > 1 {
        links.push(Link::new("previous", href(page - 1), media_type));
    }
    if page < pages {
        links.push(Link::new("next", href(page + 1), media_type));
    }
    links.push(Link::new("last", href(pages.max(1)), media_type));
    links
}

fn start(head: &Head) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:dc=\"http://purl.org/dc/terms/\" \
         xmlns:opds=\"http://opds-spec.org/2010/catalog\">\n\
         <id>{}</id>\n<title>{}</title>\n<updated>{}</updated>\n\
         <author><name>zatan</name></author>\n",
        escape(head.id),
        escape(head.title),
        utc_timestamp(head.updated),
    );
    for l in &head.links {
        out.push_str(&link(l, None));
    }
    out
}

fn link(link: &Link, length: Option<u64>) -> String {
    let length = length.map(|n| format!(" length=\"{n}\"")).unwrap_or_default();
    format!(
        "<link rel=\"{}\" href=\"{}\" type=\"{}\"{length}/>\n",
        escape(link.rel),
        escape(&link.href),
        escape(link.media_type)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::BookFile;

    fn book() -> Book {
        let file = |format: &str, size| BookFile {
            name: format!("三体.{format}"),
            format: format.into(),
            size,
            modified: 0,
            hash: format!("h{format}"),
            provenance: None,
        };
        Book {
            id: "k3xq7a".into(),
            title: "三体 <I>".into(),
            author: Some("刘慈欣".into()),
            lang: "zh".into(),
            files: vec![file("epub", 2_000_000), file("txt", 900), file("azw3", 5)],
            added_at: 1_700_000_000,
        }
    }

    #[test]
    fn an_acquisition_feed_is_well_formed_atom_with_typed_links() {
        let book = book();
        let head = Head {
            id: "urn:zatan:new",
            title: "最新",
            updated: 1_700_000_000,
            links: paging(2, 3, ACQUISITION, |n| format!("/opds/new?page={n}")),
        };
        let xml = acquisition(
            &head,
            &[BookEntry {
                book: &book,
                base: "/opds/books/k3xq7a".into(),
                cover: Some("image/png"),
            }],
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let links: Vec<(&str, &str, &str)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("link"))
            .map(|n| {
                (
                    n.attribute("rel").unwrap(),
                    n.attribute("href").unwrap(),
                    n.attribute("type").unwrap(),
                )
            })
            .collect();
        for expected in [
            ("first", "/opds/new?page=1", ACQUISITION),
            ("previous", "/opds/new?page=1", ACQUISITION),
            ("next", "/opds/new?page=3", ACQUISITION),
            ("last", "/opds/new?page=3", ACQUISITION),
            (REL_ACQUISITION, "/opds/books/k3xq7a/file.epub", "application/epub+zip"),
            (REL_ACQUISITION, "/opds/books/k3xq7a/file.txt", "text/plain"),
            (REL_ACQUISITION, "/opds/books/k3xq7a/file.azw3", "application/x-mobi8-ebook"),
            (REL_THUMBNAIL, "/opds/books/k3xq7a/cover", "image/png"),
        ] {
            assert!(links.contains(&expected), "{expected:?} missing: {links:?}");
        }
        let text = |name: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("entry")).count(), 1);
        assert!(xml.contains("<title>三体 &lt;I&gt;</title>"), "{xml}");
        assert_eq!(text("name").as_deref(), Some("zatan"));
        assert!(xml.contains("<author><name>刘慈欣</name></author>"));
        assert!(xml.contains("<dc:language>zh</dc:language>"));
        assert!(xml.contains("<updated>2023-11-14T22:13:20Z</updated>"));
        assert!(xml.contains("EPUB 1.9 MB · TXT 1 KB"), "{xml}");
    }

    #[test]
    fn the_first_and_last_pages_have_no_previous_or_next() {
        let rels = |page, pages| -> Vec<&str> {
            paging(page, pages, NAVIGATION, |n| n.to_string()).iter().map(|l| l.rel).collect()
        };
        assert_eq!(rels(1, 1), ["first", "last"]);
        assert_eq!(rels(1, 2), ["first", "next", "last"]);
        assert_eq!(rels(2, 2), ["first", "previous", "last"]);
    }

    #[test]
    fn the_opensearch_template_carries_search_terms() {
        let xml = opensearch("http://h/opds/search?q={searchTerms}");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let url = doc.descendants().find(|n| n.has_tag_name("Url")).unwrap();
        assert_eq!(url.attribute("template"), Some("http://h/opds/search?q={searchTerms}"));
        assert_eq!(url.attribute("type"), Some(ACQUISITION));
    }
}
