//! `/opds`: the library as an OPDS 1.2 catalog for the owner's e-readers
//! (KOReader, Moon+ Reader, Librera, Thorium), behind HTTP Basic auth.
//! `/opds` is the navigation feed (newest, by author, by language, search);
//! `/opds/new`, `/opds/authors/{name}`, `/opds/languages/{lang}` and
//! `/opds/search?q=` are acquisition feeds paged at `opds.page_size`;
//! `/opds/books/{ID}/file.{ext}` and `/opds/books/{ID}/cover` serve the
//! files and covers as the download links do. Feeds carry the catalog's
//! version as ETag and its change time as Last-Modified.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::books::{cover_response, download, Covers};
use super::opds_feed::{
    self, BookEntry, Head, Link, NavEntry, ACQUISITION, NAVIGATION, OPENSEARCH, REL_CRAWLABLE,
    REL_SORT_NEW,
};
use crate::config::Secret;
use crate::digest::constant_time_eq;
use crate::http::{cacheable, encode_path_segment, Request, Response};
use crate::library::{Book, Catalog, SharedCatalog};

const REALM: &str = "Basic realm=\"zatan\"";

pub struct Opds {
    pub catalog: SharedCatalog,
    pub dir: PathBuf,
    pub covers: Arc<Covers>,
    /// `user:password`, as Basic auth sends it.
    credentials: Secret,
    user: String,
    page_size: usize,
}

/// A feed's body and type, before the validators go on.
struct Feed {
    xml: String,
    media_type: &'static str,
}

impl Opds {
    pub fn new(
        catalog: SharedCatalog,
        dir: PathBuf,
        covers: Arc<Covers>,
        user: &str,
        password: &Secret,
        page_size: usize,
    ) -> Opds {
        let credentials = Secret::new(format!("{user}:{}", password.expose()));
        Opds { catalog, dir, covers, credentials, user: user.to_string(), page_size }
    }

    /// `GET /opds` and everything under `/opds/`.
    pub fn answer(&self, req: &Request) -> Response {
        if !self.authorized(req) {
            let peer = req.peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "?".into());
            log::debug!("OPDS request for {} from {peer} without valid credentials", req.path);
            return Response::text(401, "the OPDS catalog needs its user name and password\n")
                .with_header("WWW-Authenticate", REALM);
        }
        let catalog = self.catalog.snapshot();
        let rest = req.path.strip_prefix("/opds").unwrap_or("");
        let page = match req.query_param("page").map(str::parse::<usize>) {
            None => 1,
            Some(Ok(page)) if page >= 1 => page,
            Some(_) => return Response::text(400, "page must be a number from 1\n"),
        };
        let feed = match rest.strip_prefix('/').unwrap_or(rest) {
            "" => Some(self.root(&catalog)),
            "new" => {
                let books: Vec<&Book> = catalog.books().collect();
                self.books("urn:zatan:opds:new", "最新", "/opds/new?", &catalog, &books, page)
            }
            "search.xml" => Some(self.opensearch(req)),
            "search" => {
                let query = req.query_param("q").unwrap_or("");
                let books = catalog.search(query, usize::MAX);
                let id = format!("urn:zatan:opds:search:{query}");
                let title = format!("搜索：{query}");
                let href = format!("/opds/search?q={}&", encode_path_segment(query));
                self.books(&id, &title, &href, &catalog, &books, page)
            }
            "authors" => self.groups(&catalog, Group::Author, page),
            "languages" => self.groups(&catalog, Group::Language, page),
            other => {
                if let Some(name) = other.strip_prefix("authors/") {
                    self.group(&catalog, Group::Author, name, page)
                } else if let Some(lang) = other.strip_prefix("languages/") {
                    self.group(&catalog, Group::Language, lang, page)
                } else if let Some(book) = other.strip_prefix("books/") {
                    return self.book_part(req, &catalog, book);
                } else {
                    None
                }
            }
        };
        match feed {
            Some(feed) => {
                let etag =
                    format!("\"{}-{}-{}\"", catalog.version(), self.page_size, crate::VERSION);
                let response = Response { body: feed.xml.into_bytes(), ..Response::new(200) }
                    .with_header("Content-Type", feed.media_type)
                    .with_header("Cache-Control", "private, no-cache");
                cacheable(req, response, &etag, catalog.changed_at())
            }
            None => Response::text(404, "no such OPDS feed\n"),
        }
    }

    /// Credentials compared whole and in constant time, so a wrong guess
    /// takes as long wherever it differs.
    fn authorized(&self, req: &Request) -> bool {
        let Some(encoded) = req.header("Authorization").and_then(|v| {
            let (scheme, value) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(value.trim())
        }) else {
            return false;
        };
        let Ok(sent) = STANDARD.decode(encoded) else { return false };
        constant_time_eq(&sent, self.credentials.expose().as_bytes())
    }

    fn root(&self, catalog: &Catalog) -> Feed {
        let nav = |id: &str, title: &str, content: String, link: Link| NavEntry {
            id: format!("urn:zatan:opds:{id}"),
            title: title.into(),
            content,
            link,
        };
        let authors = groups_of(catalog, Group::Author).len();
        let languages = groups_of(catalog, Group::Language).len();
        let entries = [
            nav(
                "new",
                "最新",
                format!("全部 {} 本书，最新的在前", catalog.len()),
                Link::new(REL_SORT_NEW, "/opds/new", ACQUISITION),
            ),
            nav(
                "authors",
                "按作者",
                format!("{authors} 位作者"),
                Link::new("subsection", "/opds/authors", NAVIGATION),
            ),
            nav(
                "languages",
                "按语言",
                format!("{languages} 种语言"),
                Link::new("subsection", "/opds/languages", NAVIGATION),
            ),
        ];
        let head = Head {
            id: "urn:zatan:opds:root",
            title: "zatan 书库",
            updated: catalog.changed_at(),
            links: vec![
                Link::new("self", "/opds", NAVIGATION),
                Link::new("start", "/opds", NAVIGATION),
                Link::new("search", "/opds/search.xml", OPENSEARCH),
                Link::new(REL_CRAWLABLE, "/opds/new", ACQUISITION),
            ],
        };
        Feed { xml: opds_feed::navigation(&head, &entries), media_type: NAVIGATION }
    }

    /// Page `page` (from 1) of `items` and the number of pages (at least one,
    /// so an empty list is one empty page); None past the last page.
    fn page_of<'a, T>(&self, items: &'a [T], page: usize) -> Option<(&'a [T], usize)> {
        let pages = items.len().div_ceil(self.page_size).max(1);
        if page > pages {
            return None;
        }
        let start = (page - 1) * self.page_size;
        let end = (start + self.page_size).min(items.len());
        Some((&items[start..end], pages))
    }

    /// One page of `books` as an acquisition feed; `href` ends in `?` or
    /// `&`, ready for `page=N`. None past the last page.
    fn books(
        &self,
        id: &str,
        title: &str,
        href: &str,
        catalog: &Catalog,
        books: &[&Book],
        page: usize,
    ) -> Option<Feed> {
        let (shown, pages) = self.page_of(books, page)?;
        let entries: Vec<BookEntry> = shown
            .iter()
            .map(|book| BookEntry {
                book,
                base: format!("/opds/books/{}", encode_path_segment(&book.id)),
                cover: self.covers.kind(&self.dir, book),
            })
            .collect();
        let links = page_links(href, page, pages, ACQUISITION);
        let head = Head { id, title, updated: catalog.changed_at(), links };
        Some(Feed { xml: opds_feed::acquisition(&head, &entries), media_type: ACQUISITION })
    }

    /// The authors or languages, each leading to its books; paged too.
    fn groups(&self, catalog: &Catalog, group: Group, page: usize) -> Option<Feed> {
        let groups = groups_of(catalog, group);
        let (shown, pages) = self.page_of(&groups, page)?;
        let entries: Vec<NavEntry> = shown
            .iter()
            .map(|(name, count)| NavEntry {
                id: format!("urn:zatan:opds:{}:{name}", group.path()),
                title: name.clone(),
                content: format!("{count} 本"),
                link: Link::new(
                    "subsection",
                    format!("/opds/{}/{}", group.path(), encode_path_segment(name)),
                    ACQUISITION,
                ),
            })
            .collect();
        let href = format!("/opds/{}?", group.path());
        let links = page_links(&href, page, pages, NAVIGATION);
        let id = format!("urn:zatan:opds:{}", group.path());
        let head = Head { id: &id, title: group.title(), updated: catalog.changed_at(), links };
        Some(Feed { xml: opds_feed::navigation(&head, &entries), media_type: NAVIGATION })
    }

    fn group(&self, catalog: &Catalog, group: Group, name: &str, page: usize) -> Option<Feed> {
        let books: Vec<&Book> = catalog.books().filter(|b| group.of(b) == Some(name)).collect();
        if books.is_empty() {
            return None;
        }
        let id = format!("urn:zatan:opds:{}:{name}", group.path());
        let href = format!("/opds/{}/{}?", group.path(), encode_path_segment(name));
        self.books(&id, name, &href, catalog, &books, page)
    }

    fn opensearch(&self, req: &Request) -> Feed {
        // Readers want an absolute template; the Host they used reaches us.
        let base = match req.header("Host") {
            Some(host) if !host.is_empty() && !host.contains(['/', ' ', '"', '<']) => {
                let scheme = match req.header("X-Forwarded-Proto") {
                    Some("https") => "https",
                    _ => "http",
                };
                format!("{scheme}://{host}")
            }
            _ => String::new(),
        };
        let template = format!("{base}/opds/search?q={{searchTerms}}");
        Feed { xml: opds_feed::opensearch(&template), media_type: OPENSEARCH }
    }

    /// `books/{ID}/file.{ext}` or `books/{ID}/cover`.
    fn book_part(&self, req: &Request, catalog: &Catalog, rest: &str) -> Response {
        let Some((id, part)) = rest.split_once('/') else { return super::articles::not_found() };
        let Some(book) = catalog.get(id) else { return super::articles::not_found() };
        match part {
            "cover" => cover_response(&self.covers, &self.dir, book),
            _ => match part.strip_prefix("file.") {
                Some(ext) => {
                    download(req, &self.dir, book, ext, &format!("OPDS user {}", self.user))
                }
                None => super::articles::not_found(),
            },
        }
    }
}

/// The links of page `page` of `pages` of a feed at `href` (ending in `?` or
/// `&`): itself, the root, search, and first/previous/next/last.
fn page_links(href: &str, page: usize, pages: usize, media_type: &'static str) -> Vec<Link> {
    let mut links = vec![
        Link::new("self", format!("{href}page={page}"), media_type),
        Link::new("start", "/opds", NAVIGATION),
        Link::new("up", "/opds", NAVIGATION),
        Link::new("search", "/opds/search.xml", OPENSEARCH),
    ];
    links.extend(opds_feed::paging(page, pages, media_type, |n| format!("{href}page={n}")));
    links
}

#[derive(Debug, Clone, Copy)]
enum Group {
    Author,
    Language,
}

impl Group {
    fn path(self) -> &'static str {
        match self {
            Group::Author => "authors",
            Group::Language => "languages",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Group::Author => "按作者",
            Group::Language => "按语言",
        }
    }

    /// The group a book is in; books without an author are in no author's.
    fn of(self, book: &Book) -> Option<&str> {
        match self {
            Group::Author => book.author.as_deref(),
            Group::Language => Some(book.lang.as_str()),
        }
    }
}

/// Every author or language with its number of books, sorted by name.
fn groups_of(catalog: &Catalog, group: Group) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for book in catalog.books() {
        if let Some(name) = group.of(book) {
            *counts.entry(name).or_default() += 1;
        }
    }
    counts.into_iter().map(|(name, count)| (name.to_string(), count)).collect()
}
