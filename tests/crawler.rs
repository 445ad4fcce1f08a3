//! The OPDS crawler on the real binary against real servers on loopback: a
//! small catalog server written here for the edge cases (robots.txt, 429,
//! size cap, `next` loops, lying files, broken feeds, conditional GET, Basic
//! auth), and calibre's own content server for the real thing.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http_client::try_request;
use common::output::Output;
use common::tmpfs::{fill, Mounts};
use common::{wait_until, Server, TempDir, BIN};
use zatan::store::{CrawlOutcome, Store};

/// The delay the tests configure between requests to one host.
const DELAY_MS: u64 = 150;

// ---------------------------------------------------------------------------
// A catalog server: answers from a route table, records every request.

#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HashMap<String, String>,
    at: Instant,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send Content-Length (else the body ends when the connection closes).
    length: bool,
}

impl Reply {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            length: true,
        }
    }
    fn atom(body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(200, "application/atom+xml;profile=opds-catalog", body)
    }
    fn status(status: u16) -> Reply {
        Reply::new(status, "text/plain", format!("{status}\n"))
    }
    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
    fn without_length(mut self) -> Reply {
        self.length = false;
        self
    }
}

/// Route: (the request, how many times this path was asked before) -> reply.
type Route = Box<dyn Fn(&Hit, usize) -> Reply + Send + Sync>;

struct Peer {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Whether two requests were ever being answered at once.
    overlapped: Arc<Mutex<bool>>,
}

impl Peer {
    fn start(routes: Vec<(&'static str, Route)>) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let overlapped = Arc::new(Mutex::new(false));
        let active = Arc::new(Mutex::new(0usize));
        let routes: Arc<Vec<(&str, Route)>> = Arc::new(routes);
        let (h, o) = (hits.clone(), overlapped.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (hits, overlapped, active, routes) =
                    (h.clone(), o.clone(), active.clone(), routes.clone());
                std::thread::spawn(move || {
                    let Some(hit) = read_request(&stream) else { return };
                    {
                        let mut n = active.lock().unwrap();
                        *n += 1;
                        if *n > 1 {
                            *overlapped.lock().unwrap() = true;
                        }
                    }
                    let before =
                        hits.lock().unwrap().iter().filter(|x: &&Hit| x.path == hit.path).count();
                    hits.lock().unwrap().push(hit.clone());
                    let reply = routes
                        .iter()
                        .find(|(path, _)| *path == hit.path)
                        .map(|(_, route)| route(&hit, before))
                        .unwrap_or_else(|| Reply::status(404));
                    write_reply(stream, reply);
                    *active.lock().unwrap() -= 1;
                });
            }
        });
        Peer { addr, hits, overlapped }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }
}

fn read_request(stream: &TcpStream) -> Option<Hit> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let at = Instant::now();
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Some(Hit { path, headers, at })
}

fn write_reply(mut stream: TcpStream, reply: Reply) {
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.length {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
}

fn atom(links: &str, entries: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:dc=\"http://purl.org/dc/terms/\">\n<id>urn:test</id><title>Test catalog</title>\n{links}\n{}\n</feed>",
        entries.join("\n")
    )
}

fn nav(title: &str, href: &str) -> String {
    format!("<entry><title>{title}</title><id>nav:{href}</id><link rel=\"subsection\" type=\"application/atom+xml;profile=opds-catalog;kind=acquisition\" href=\"{href}\"/></entry>")
}

fn book(id: &str, title: &str, author: &str, href: &str, media_type: &str) -> String {
    format!(
        "<entry><title>{title}</title><id>{id}</id><author><name>{author}</name></author><dc:rights>Public domain</dc:rights>\
         <link rel=\"http://opds-spec.org/acquisition/open-access\" type=\"{media_type}\" href=\"{href}\"/></entry>"
    )
}

fn next(href: &str) -> String {
    format!("<link rel=\"next\" type=\"application/atom+xml;profile=opds-catalog;kind=acquisition\" href=\"{href}\"/>")
}

fn route(
    path: &'static str,
    reply: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static,
) -> (&'static str, Route) {
    (path, Box::new(reply))
}

fn fixed(
    path: &'static str,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
) -> (&'static str, Route) {
    let body = body.into();
    route(path, move |_, _| Reply::new(200, content_type, body.clone()))
}

const EPUB: &str = "application/epub+zip";

// ---------------------------------------------------------------------------
// The crawler side.

/// A real EPUB made by zatan's converter.
fn make_epub(dir: &Path, title: &str, author: &str) -> Vec<u8> {
    let txt = dir.join(format!("{title}.txt"));
    let epub = dir.join(format!("{title}.epub"));
    let mut text = String::new();
    for n in 1..=3 {
        text.push_str(&format!(
            "Chapter {n}\n\nThe text of chapter {n} of {title}, long enough to read.\n\n"
        ));
    }
    std::fs::write(&txt, text).unwrap();
    let out = Command::new(BIN)
        .args([
            "convert",
            txt.to_str().unwrap(),
            epub.to_str().unwrap(),
            "--title",
            title,
            "--author",
            author,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&epub).unwrap();
    std::fs::remove_file(&txt).unwrap();
    std::fs::remove_file(&epub).unwrap();
    bytes
}

fn write_config(dir: &Path, crawler: &str, sources: &str) {
    let config = format!(
        "[storage]\ndata_dir = \"data\"\n[books]\ndir = \"books\"\n[pictures]\ndir = \"pictures\"\n[articles]\ndir = \"articles\"\n\
         [crawler]\nper_host_delay_ms = {DELAY_MS}\n{crawler}\n{sources}\n"
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
}

fn source(name: &str, url: &str, extra: &str) -> String {
    format!("[[crawler.sources]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn crawl(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(["crawl", "--config", "config.toml"])
        .args(args)
        .current_dir(dir)
        .env("ZATAN_LOG", "info")
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(run.code, 0, "crawl failed:\n{}\n{}", run.stdout, run.stderr);
    run
}

/// The books' files in books.dir (hidden ones aside).
fn library_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("books"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn incoming(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir.join("books/.incoming")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// (title, author) of every book in the store, sorted.
fn books_in_store(dir: &Path) -> Vec<(String, String)> {
    let store = Store::open(&dir.join("data")).unwrap();
    let mut books: Vec<(String, String)> = store
        .books()
        .unwrap()
        .into_iter()
        .map(|b| (b.title, b.author.unwrap_or_default()))
        .collect();
    books.sort();
    books
}

fn pair(title: &str, author: &str) -> (String, String) {
    (title.to_string(), author.to_string())
}

// ---------------------------------------------------------------------------
// The edge cases.

#[test]
fn robots_txt_is_obeyed_and_requests_are_paced_one_at_a_time() {
    let dir = TempDir::new("crawl-robots");
    let open = make_epub(dir.path(), "Open Book", "Ann Author");
    let hidden = make_epub(dir.path(), "Hidden Book", "Bo Author");
    let root = atom("", &[nav("Public", "/opds/public"), nav("Private", "/private/feed")]);
    let public = atom(
        "",
        &[
            book("urn:open", "Open Book", "Ann Author", "/books/open.epub", EPUB),
            book("urn:hidden", "Hidden Book", "Bo Author", "/private/hidden.epub", EPUB),
        ],
    );
    let peer = Peer::start(vec![
        fixed(
            "/robots.txt",
            "text/plain",
            "User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n",
        ),
        fixed("/opds", "application/atom+xml", root),
        fixed("/opds/public", "application/atom+xml", public),
        fixed("/private/feed", "application/atom+xml", atom("", &[])),
        fixed("/books/open.epub", EPUB, open),
        fixed("/private/hidden.epub", EPUB, hidden),
    ]);
    write_config(dir.path(), "", &source("local", &peer.url("/opds"), ""));
    let run = crawl(dir.path(), &["--once"]);

    let paths: Vec<String> = peer.hits().iter().map(|h| h.path.clone()).collect();
    assert!(
        paths.iter().all(|p| !p.starts_with("/private/")),
        "asked for a disallowed path: {paths:?}"
    );
    assert_eq!(peer.count("/robots.txt"), 1, "robots.txt is read once per host: {paths:?}");
    assert_eq!(paths[0], "/robots.txt", "robots.txt comes first");
    assert_eq!(books_in_store(dir.path()), [pair("Open Book", "Ann Author")]);
    assert!(
        run.stderr.contains("robots.txt of") && run.stderr.contains("disallows /private/"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("crawl local: 3 pages, 1 new books"), "{}", run.stdout);

    // one request at a time, at least the delay apart, with our User-Agent
    let hits = peer.hits();
    assert!(!*peer.overlapped.lock().unwrap(), "two requests at once");
    for pair in hits.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(DELAY_MS),
            "{} then {} only {gap:?} apart",
            pair[0].path,
            pair[1].path
        );
    }
    assert!(hits
        .iter()
        .all(|h| h.headers.get("user-agent").is_some_and(|ua| ua.starts_with("zatan/"))));
}

#[test]
fn too_many_requests_is_retried_after_the_retry_after_seconds() {
    let dir = TempDir::new("crawl-429");
    let epub = make_epub(dir.path(), "Patient Book", "Cy Author");
    let feed = atom("", &[book("urn:patient", "Patient Book", "Cy Author", "/b.epub", EPUB)]);
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        route("/opds", move |_, before| {
            if before == 0 {
                Reply::status(429).header("Retry-After", "2")
            } else {
                Reply::atom(feed.clone())
            }
        }),
        route("/b.epub", move |_, before| {
            if before == 0 {
                Reply::status(503).header("Retry-After", "1")
            } else {
                Reply::new(200, EPUB, epub.clone())
            }
        }),
    ]);
    write_config(dir.path(), "", &source("local", &peer.url("/opds"), ""));
    let run = crawl(dir.path(), &["--once"]);

    let at = |path: &str, n: usize| {
        peer.hits().iter().filter(|h| h.path == path).nth(n).map(|h| h.at).unwrap()
    };
    let waited = at("/opds", 1).duration_since(at("/opds", 0));
    assert!(waited >= Duration::from_secs(2), "asked again after {waited:?}");
    // Not the crawler's own first backoff (10 s) for a 429 that names no wait;
    // how much over 2 s it took is the machine's business, not the crawler's.
    assert!(waited < Duration::from_secs(10), "waited far longer than asked: {waited:?}");
    let waited = at("/b.epub", 1).duration_since(at("/b.epub", 0));
    assert!(waited >= Duration::from_secs(1), "503 retried after {waited:?}");
    assert_eq!(books_in_store(dir.path()), [pair("Patient Book", "Cy Author")]);
    assert!(run.stderr.contains("answered 429; asking again in 2 s"), "{}", run.stderr);
}

#[test]
fn files_over_the_cap_are_aborted_and_leave_nothing() {
    let dir = TempDir::new("crawl-cap");
    let small = make_epub(dir.path(), "Small Book", "Di Author");
    let big = vec![b'x'; 200_000];
    let feed = atom(
        "",
        &[
            book("urn:announced", "Announced Big", "A", "/announced.txt", "text/plain"),
            book("urn:streamed", "Streamed Big", "B", "/streamed.txt", "text/plain"),
            book("urn:small", "Small Book", "Di Author", "/small.epub", EPUB),
        ],
    );
    let streamed = big.clone();
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        fixed("/opds", "application/atom+xml", feed),
        fixed("/announced.txt", "text/plain", big),
        route("/streamed.txt", move |_, _| {
            Reply::new(200, "text/plain", streamed.clone()).without_length()
        }),
        fixed("/small.epub", EPUB, small),
    ]);
    write_config(dir.path(), "max_book_bytes = 50000", &source("local", &peer.url("/opds"), ""));
    let run = crawl(dir.path(), &["--once"]);

    assert_eq!(books_in_store(dir.path()), [pair("Small Book", "Di Author")]);
    assert_eq!(library_files(dir.path()).len(), 1, "{:?}", library_files(dir.path()));
    assert!(incoming(dir.path()).is_empty(), "left in .incoming: {:?}", incoming(dir.path()));
    assert_eq!(run.stderr.matches("larger than the 50000-byte limit").count(), 2, "{}", run.stderr);
    assert!(run.stdout.contains("2 refused"), "{}", run.stdout);
    // the bytes read stay near the cap: the stream was cut, not read to the end
    let bytes: u64 =
        run.stdout.split(" bytes").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(bytes < 150_000, "read {bytes} bytes");

    // refused for size is not fetched again under the same cap
    crawl(dir.path(), &["--once"]);
    assert_eq!(peer.count("/announced.txt"), 1);
    assert_eq!(peer.count("/streamed.txt"), 1);
}

#[test]
fn a_full_books_dir_says_disk_full_leaves_nothing_and_the_next_crawl_takes_the_book() {
    let dir = TempDir::new("crawl-full");
    let epub = make_epub(dir.path(), "Roomy Book", "Di Author");
    let feed = atom("", &[book("urn:roomy", "Roomy Book", "Di Author", "/roomy.epub", EPUB)]);
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        fixed("/opds", "application/atom+xml", feed),
        fixed("/roomy.epub", EPUB, epub),
    ]);
    write_config(dir.path(), "", &source("local", &peer.url("/opds"), ""));
    let mut mounts = Mounts::new("crawl-full-mounts");
    mounts.tmpfs_at(&dir.path().join("books"), "1m");
    let filler = fill(&dir.path().join("books"));

    let run = crawl(dir.path(), &["--once"]);
    assert!(run.stderr.contains("disk full"), "{}", run.stderr);
    assert!(run.stderr.contains("trying again next crawl"), "{}", run.stderr);
    assert!(incoming(dir.path()).is_empty(), "left in .incoming: {:?}", incoming(dir.path()));
    assert_eq!(library_files(dir.path()), ["filler"]);
    assert!(books_in_store(dir.path()).is_empty());

    std::fs::remove_file(filler).unwrap();
    crawl(dir.path(), &["--once"]);
    assert_eq!(books_in_store(dir.path()), [pair("Roomy Book", "Di Author")]);
    assert_eq!(peer.count("/roomy.epub"), 2, "fetched again once there was room");
}

#[test]
fn a_next_loop_ends_and_every_page_is_read_once() {
    let dir = TempDir::new("crawl-loop");
    let one = make_epub(dir.path(), "Page One Book", "E Author");
    let two = make_epub(dir.path(), "Page Two Book", "F Author");
    let page1 =
        atom(&next("/page2"), &[book("urn:p1", "Page One Book", "E Author", "/one.epub", EPUB)]);
    // page 2 points back at page 1 (with a different spelling of the same URL too)
    let page2 = atom(
        &format!("{}{}", next("/page1"), next("./page1")),
        &[book("urn:p2", "Page Two Book", "F Author", "/two.epub", EPUB), nav("Again", "/page2")],
    );
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        fixed("/page1", "application/atom+xml", page1),
        fixed("/page2", "application/atom+xml", page2),
        fixed("/one.epub", EPUB, one),
        fixed("/two.epub", EPUB, two),
    ]);
    write_config(dir.path(), "", &source("local", &peer.url("/page1"), ""));
    let run = crawl(dir.path(), &["--once"]);
    assert_eq!((peer.count("/page1"), peer.count("/page2")), (1, 1));
    assert_eq!(
        books_in_store(dir.path()),
        [pair("Page One Book", "E Author"), pair("Page Two Book", "F Author")]
    );
    assert!(run.stdout.contains("2 pages, 2 new books"), "{}", run.stdout);
}

#[test]
fn files_that_are_not_what_they_claim_are_refused() {
    let dir = TempDir::new("crawl-lies");
    let real = make_epub(dir.path(), "Real Book", "G Author");
    // a zip that starts like an EPUB but holds no book
    let mut hollow = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut hollow);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("mimetype", stored).unwrap();
        zip.write_all(b"application/epub+zip").unwrap();
        zip.start_file("junk.bin", stored).unwrap();
        zip.write_all(&[0u8; 100]).unwrap();
        zip.finish().unwrap();
    }
    let feed = atom(
        "",
        &[
            book("urn:html", "Login Page", "H", "/login.epub", EPUB),
            book("urn:hollow", "Hollow", "I", "/hollow.epub", EPUB),
            book("urn:real", "Real Book", "G Author", "/real.epub", EPUB),
        ],
    );
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        fixed("/opds", "application/atom+xml", feed),
        fixed("/login.epub", EPUB, "<html><body>Please log in</body></html>"),
        fixed("/hollow.epub", EPUB, hollow.into_inner()),
        fixed("/real.epub", EPUB, real),
    ]);
    write_config(dir.path(), "", &source("local", &peer.url("/opds"), ""));
    let run = crawl(dir.path(), &["--once"]);
    assert_eq!(books_in_store(dir.path()), [pair("Real Book", "G Author")]);
    assert_eq!(library_files(dir.path()).len(), 1);
    assert!(incoming(dir.path()).is_empty(), "left in .incoming: {:?}", incoming(dir.path()));
    assert!(
        run.stderr.contains("\"Login Page\"")
            && run.stderr.contains("not an EPUB (not a zip archive)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"Hollow\""), "{}", run.stderr);
    assert!(
        run.stdout.contains(" 1 new books") && run.stdout.contains("0 known, 2 refused"),
        "{}",
        run.stdout
    );

    let store = Store::open(&dir.path().join("data")).unwrap();
    let refused = store.crawl_entry("local", "urn:hollow").unwrap().unwrap();
    assert!(matches!(refused.outcome, CrawlOutcome::Refused { .. }), "{refused:?}");
    // provenance of the one that landed
    let landed = &store.books().unwrap()[0].files[0];
    let provenance = landed.provenance.as_ref().expect("provenance");
    assert_eq!(
        (provenance.source.as_str(), provenance.url.as_str()),
        ("local", peer.url("/real.epub").as_str())
    );
    assert_eq!(
        (provenance.entry_id.as_deref(), provenance.rights.as_deref()),
        (Some("urn:real"), Some("Public domain"))
    );
    assert!(provenance.fetched_at > 1_700_000_000);
}

#[test]
fn a_feed_that_is_not_xml_is_skipped_and_the_crawl_goes_on() {
    let dir = TempDir::new("crawl-broken");
    let good = make_epub(dir.path(), "Survivor", "J Author");
    let root = atom(
        "",
        &[
            nav("Broken", "/broken"),
            nav("Html", "/html"),
            nav("Gone", "/gone"),
            nav("Good", "/good"),
        ],
    );
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        fixed("/opds", "application/atom+xml", root),
        fixed(
            "/broken",
            "application/atom+xml",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><title>cut off",
        ),
        fixed("/html", "text/html", "<!DOCTYPE html><html><body>Maintenance</body></html>"),
        fixed(
            "/good",
            "application/atom+xml",
            atom("", &[book("urn:good", "Survivor", "J Author", "/good.epub", EPUB)]),
        ),
        fixed("/good.epub", EPUB, good),
    ]);
    write_config(dir.path(), "", &source("local", &peer.url("/opds"), ""));
    let run = crawl(dir.path(), &["--once"]);
    assert_eq!(books_in_store(dir.path()), [pair("Survivor", "J Author")]);
    assert!(
        run.stderr.contains(&format!("{} skipped: not well-formed XML", peer.url("/broken"))),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("{} skipped: not well-formed XML", peer.url("/html"))),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("/gone: HTTP 404"), "{}", run.stderr);
    assert!(run.stdout.contains("3 failed"), "{}", run.stdout);
}

#[test]
fn basic_auth_and_conditional_get_make_a_second_run_download_nothing() {
    let dir = TempDir::new("crawl-auth");
    let epub = make_epub(dir.path(), "Private Shelf", "K Author");
    let expected = "Basic YWxpY2U6czNjcmV0LXB3"; // alice:s3cret-pw
    let authorized =
        move |hit: &Hit| hit.headers.get("authorization").map(String::as_str) == Some(expected);
    let feed = atom("", &[book("urn:shelf", "Private Shelf", "K Author", "/shelf.epub", EPUB)]);
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        route("/opds", move |hit, _| {
            if !authorized(hit) {
                Reply::status(401).header("WWW-Authenticate", "Basic realm=\"shelf\"")
            } else if hit.headers.get("if-none-match").map(String::as_str) == Some("\"v1\"") {
                Reply::new(304, "application/atom+xml", "")
            } else {
                Reply::atom(feed.clone()).header("ETag", "\"v1\"")
            }
        }),
        route("/shelf.epub", move |hit, _| {
            if authorized(hit) {
                Reply::new(200, EPUB, epub.clone())
            } else {
                Reply::status(401)
            }
        }),
    ]);
    let creds = "username = \"alice\"\npassword = \"s3cret-pw\"";
    write_config(dir.path(), "", &source("shelf", &peer.url("/opds"), creds));
    let first = crawl(dir.path(), &["--once"]);
    assert_eq!(books_in_store(dir.path()), [pair("Private Shelf", "K Author")]);
    for hit in peer.hits() {
        // credentials go with the catalog's requests, never with robots.txt
        assert_eq!(
            hit.headers.contains_key("authorization"),
            hit.path != "/robots.txt",
            "{}",
            hit.path
        );
    }

    let second = crawl(dir.path(), &["--once", "--source", "shelf"]);
    assert_eq!(peer.count("/shelf.epub"), 1, "the book was fetched again");
    let conditional = peer.hits().iter().filter(|h| h.path == "/opds").nth(1).unwrap().clone();
    assert_eq!(conditional.headers.get("if-none-match").map(String::as_str), Some("\"v1\""));
    assert!(second.stdout.contains("crawl shelf: 1 pages, 0 new books"), "{}", second.stdout);
    for run in [&first, &second] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains("s3cret-pw") && !all.contains("YWxpY2U6"),
            "credentials leaked:\n{all}"
        );
    }
}

#[test]
fn serve_runs_the_crawler_and_a_second_crawler_is_refused_clearly() {
    let epub_dir = TempDir::new("crawl-serve-src");
    let epub = make_epub(epub_dir.path(), "Served Book", "L Author");
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        fixed(
            "/opds",
            "application/atom+xml",
            atom("", &[book("urn:served", "Served Book", "L Author", "/s.epub", EPUB)]),
        ),
        fixed("/s.epub", EPUB, epub),
    ]);
    let config = format!(
        "[storage]\ndata_dir = \"data\"\n[books]\ndir = \"books\"\n[crawler]\nper_host_delay_ms = {DELAY_MS}\n{}",
        source("local", &peer.url("/opds"), "")
    );
    let server = Server::start("crawl-serve", &config);
    assert!(
        server.wait_for_log("crawl local: 1 pages, 1 new books", Duration::from_secs(20)),
        "{}",
        server.logs()
    );
    let landed = || (library_files(server.dir.path()).len() == 1).then_some(());
    assert!(wait_until(Duration::from_secs(10), landed).is_some());

    let out = Command::new(BIN)
        .args(["crawl", "--once", "--config", "config.toml"])
        .current_dir(server.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by a running zatan server")
            && stderr.contains("own crawler thread"),
        "{stderr}"
    );

    let (status, took, logs) = server.terminate();
    assert!(status.success(), "{logs}");
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
}

#[test]
fn the_crawl_loop_stops_on_sigint_even_while_waiting() {
    let dir = TempDir::new("crawl-sigint");
    let peer = Peer::start(vec![
        fixed("/robots.txt", "text/plain", ""),
        fixed("/opds", "application/atom+xml", atom("", &[])),
    ]);
    write_config(dir.path(), "", &source("local", &peer.url("/opds"), "interval_hours = 1"));
    let mut child: Child = Command::new(BIN)
        .args(["crawl", "--config", "config.toml"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Output::collect(child.stderr.take().unwrap());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("crawl local: 1 pages"), "{line}");
    // The wait this test interrupts starts once the loop has said so; a SIGINT
    // before that would stop the loop before it ever waited.
    let waiting = "next crawl, of local, in 60 min";
    assert!(stderr.wait_for(waiting, Duration::from_secs(10)), "{}", stderr.text());
    let start = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(start.elapsed() < Duration::from_secs(3), "took {:?} to stop", start.elapsed());
}

#[test]
fn bad_crawl_invocations_are_named() {
    let dir = TempDir::new("crawl-usage");
    write_config(dir.path(), "", "");
    let out = Command::new(BIN)
        .args(["crawl", "--once", "--config", "config.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no crawler sources configured"));
    write_config(dir.path(), "", &source("one", "http://127.0.0.1:9/opds", ""));
    let out = Command::new(BIN)
        .args(["crawl", "--source", "two", "--config", "config.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no crawler source is named `two`; the configured ones are: one"));
}

// ---------------------------------------------------------------------------
// The real peer: calibre's content server.

const CALIBRE_HINT: &str = "install calibre: bash tests/run.sh";

fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    assert!(found, "{program} is missing; {CALIBRE_HINT}");
}

/// A free loopback port (calibre-server cannot listen on port 0).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Calibre {
    child: Child,
    port: u16,
    access_log: PathBuf,
}

impl Drop for Calibre {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Calibre {
    /// calibre-server on loopback over `library`, Basic auth for alice.
    fn start(dir: &Path, library: &Path) -> Calibre {
        let userdb = dir.join("users.sqlite");
        let out = Command::new("calibre-server")
            .args([
                "--userdb",
                userdb.to_str().unwrap(),
                "--manage-users",
                "--",
                "add",
                "alice",
                "calibre-pw",
            ])
            .env("HOME", dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "calibre-server --manage-users: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let access_log = dir.join("access.log");
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new("calibre-server")
                .args([
                    "--listen-on",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--disable-use-bonjour",
                ])
                .args([
                    "--enable-auth",
                    "--auth-mode",
                    "basic",
                    "--userdb",
                    userdb.to_str().unwrap(),
                ])
                .args([
                    "--access-log",
                    access_log.to_str().unwrap(),
                    "--log",
                    dir.join("server.log").to_str().unwrap(),
                ])
                .arg(library)
                .env("HOME", dir)
                .env("QT_QPA_PLATFORM", "offscreen")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut calibre = Calibre { child, port, access_log: access_log.clone() };
            let up = wait_until(Duration::from_secs(30), || {
                if calibre.child.try_wait().unwrap().is_some() {
                    return Some(false); // exited: the port was taken meanwhile
                }
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let probe = b"GET /opds HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                try_request(addr, probe)
                    .ok()
                    .and_then(|answer| (answer.status == 401).then_some(true))
            });
            if up == Some(true) {
                return calibre;
            }
            let _ = calibre.child.kill();
        }
        panic!("calibre-server did not come up; see {}", dir.join("server.log").display());
    }

    fn book_requests(&self) -> usize {
        std::fs::read_to_string(&self.access_log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("GET /get/epub/"))
            .count()
    }
}

#[test]
fn calibre_content_server_library_lands_whole_and_a_second_run_downloads_nothing() {
    require("calibre-server");
    require("calibredb");
    let dir = TempDir::new("crawl-calibre");
    let shelf = dir.path().join("shelf");
    std::fs::create_dir_all(&shelf).unwrap();
    let books =
        [("Winter Garden", "Mary Quill"), ("The Salt Road", "Ravi Stone"), ("三体", "刘慈欣")];
    let mut files = Vec::new();
    for (i, (title, author)) in books.iter().enumerate() {
        let path = shelf.join(format!("book{i}.epub"));
        std::fs::write(&path, make_epub(dir.path(), title, author)).unwrap();
        files.push(path);
    }
    let library = dir.path().join("calibre-library");
    let out = Command::new("calibredb")
        .arg("add")
        .arg("--library-path")
        .arg(&library)
        .args(&files)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "calibredb add: {}", String::from_utf8_lossy(&out.stderr));
    let calibre = Calibre::start(dir.path(), &library);
    let url = format!("http://127.0.0.1:{}/opds", calibre.port);
    let creds = "username = \"alice\"\npassword = \"calibre-pw\"";

    // calibre's robots.txt disallows everything: obeyed, with a hint
    write_config(dir.path(), "", &source("calibre", &url, creds));
    let refused = crawl(dir.path(), &["--once"]);
    assert!(refused.stderr.contains("set ignore_robots_txt = true"), "{}", refused.stderr);
    assert_eq!(calibre.book_requests(), 0);
    assert!(books_in_store(dir.path()).is_empty());

    // the owner's own server: robots.txt ignored for it, as configured
    write_config(
        dir.path(),
        "",
        &source("calibre", &url, &format!("{creds}\nignore_robots_txt = true")),
    );
    let first = crawl(dir.path(), &["--once"]);
    let mut want: Vec<(String, String)> = books.iter().map(|(t, a)| pair(t, a)).collect();
    want.sort();
    assert_eq!(books_in_store(dir.path()), want, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(library_files(dir.path()).len(), 3, "{:?}", library_files(dir.path()));
    assert_eq!(calibre.book_requests(), 3, "each book downloaded once");
    assert!(first.stdout.contains(" 3 new books"), "{}", first.stdout);

    let second = crawl(dir.path(), &["--once"]);
    assert_eq!(
        calibre.book_requests(),
        3,
        "the second run downloaded a book again:\n{}",
        second.stderr
    );
    assert!(second.stdout.contains(" 0 new books"), "{}", second.stdout);
    assert_eq!(books_in_store(dir.path()), want);
    for run in [&first, &second] {
        assert!(
            !format!("{}{}", run.stdout, run.stderr).contains("calibre-pw"),
            "the password leaked"
        );
    }
}
