//! The OPDS catalog read by two real consumers: zatan's own crawler pointed
//! at a second zatan's `/opds`, and feedparser (Python) walking navigation →
//! acquisition → next pages and searching, as e-reader apps do. Plus Basic
//! auth, 304s and the catalog being off without credentials.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::ebook::epub_with_cover;
use common::http_client::{request, Response};
use common::png::png;
use common::{run_cli, wait_until, Server, TempDir};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

const WAIT: Duration = Duration::from_secs(30);
const USER: &str = "owner";
const PASSWORD: &str = "shelf-pw-7";
/// owner:shelf-pw-7
const BASIC: &str = "Basic b3duZXI6c2hlbGYtcHctNw==";
const READER: &str = "tests/peers/opds_reader.py";

fn opds_config(page_size: usize) -> String {
    format!("[opds]\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\npage_size = {page_size}\n")
}

/// `count` EPUBs in `dir/books`, every third with a cover; titles as `title(n)`.
fn fill(dir: &Path, count: usize, title: impl Fn(usize) -> String) {
    let books = dir.join("books");
    std::fs::create_dir_all(&books).unwrap();
    let authors = ["刘慈欣", "金庸", "Jane Austen", "鲁迅"];
    let cover = png(30, 45);
    for n in 0..count {
        let path = books.join(format!("book-{n:03}.epub"));
        let with_cover: &[u8] = if n % 3 == 0 { &cover } else { b"not a picture" };
        epub_with_cover(&path, &title(n), authors[n % authors.len()], with_cover);
    }
}

fn get(server: &Server, target: &str, headers: &str) -> Response {
    request(
        server.addr,
        format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\n{headers}Connection: close\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    )
}

fn authorized(server: &Server, target: &str) -> Response {
    get(server, target, &format!("Authorization: {BASIC}\r\n"))
}

/// Until the catalog lists `count` books.
fn wait_for_books(server: &Server, count: usize) {
    let needle = format!("全部 {count} 本书");
    wait_until(WAIT, || authorized(server, "/opds").text().contains(&needle).then_some(()))
        .unwrap_or_else(|| {
            panic!("the catalog never had {count} books: {}", authorized(server, "/opds").text())
        });
}

#[test]
fn basic_auth_guards_every_url_and_feeds_answer_304() {
    let dir = TempDir::new("opds-auth");
    fill(dir.path(), 3, |n| format!("第{n}本"));
    let server = Server::start_in(dir, &opds_config(2));
    wait_for_books(&server, 3);
    for target in
        ["/opds", "/opds/new", "/opds/search.xml", "/opds/authors", "/opds/books/x/file.epub"]
    {
        for headers in
            ["", "Authorization: Basic b3duZXI6d3Jvbmc=\r\n", "Authorization: Bearer x\r\n"]
        {
            let refused = get(&server, target, headers);
            assert_eq!(refused.status, 401, "{target} {headers}");
            assert_eq!(refused.header("WWW-Authenticate"), Some("Basic realm=\"zatan\""));
        }
    }
    let root = authorized(&server, "/opds");
    assert_eq!(
        root.header("Content-Type"),
        Some("application/atom+xml;profile=opds-catalog;kind=navigation")
    );
    let etag = root.header("ETag").unwrap().to_string();
    let modified = root.header("Last-Modified").unwrap().to_string();
    let again =
        get(&server, "/opds", &format!("Authorization: {BASIC}\r\nIf-None-Match: {etag}\r\n"));
    assert_eq!(again.status, 304);
    let since = get(
        &server,
        "/opds/new",
        &format!("Authorization: {BASIC}\r\nIf-Modified-Since: {modified}\r\n"),
    );
    assert_eq!(since.status, 304);
    let new = authorized(&server, "/opds/new?page=2");
    assert_eq!(
        new.header("Content-Type"),
        Some("application/atom+xml;profile=opds-catalog;kind=acquisition")
    );
    assert!(
        new.text().contains("rel=\"previous\"") && !new.text().contains("rel=\"next\""),
        "{}",
        new.text()
    );
    assert_eq!(authorized(&server, "/opds/new?page=3").status, 404);
    assert_eq!(authorized(&server, "/opds/new?page=x").status, 400);
    assert!(!server.logs().contains(PASSWORD), "the password reached the log");

    // A new book changes the validators.
    epub_with_cover(&server.dir.path().join("books/late.epub"), "后来的书", "鲁迅", &png(2, 2));
    wait_for_books(&server, 4);
    let changed =
        get(&server, "/opds", &format!("Authorization: {BASIC}\r\nIf-None-Match: {etag}\r\n"));
    assert_eq!(changed.status, 200);
}

#[test]
fn without_credentials_there_is_no_catalog() {
    let server = Server::start("opds-off", "");
    assert_eq!(get(&server, "/opds", "").status, 404);
    assert_eq!(authorized(&server, "/opds/new").status, 404);
    let (_, out, _) = run_cli(server.dir.path(), &["check", "--config", "config.toml"]);
    assert!(out.contains("OPDS catalog for e-readers: off"), "{out}");
}

#[test]
fn zatans_own_crawler_takes_every_book_once() {
    let dir = TempDir::new("opds-source");
    fill(dir.path(), 7, |n| format!("Shelf Book {n}"));
    let source = Server::start_in(dir, &opds_config(3));
    wait_for_books(&source, 7);

    let crawler = TempDir::new("opds-crawler");
    let config = format!(
        "[crawler]\nper_host_delay_ms = 100\n[[crawler.sources]]\nname = \"own\"\n\
         url = \"http://{}/opds\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        source.addr
    );
    std::fs::write(crawler.path().join("config.toml"), config).unwrap();
    let crawl = || {
        let (code, out, err) =
            run_cli(crawler.path(), &["crawl", "--config", "config.toml", "--once"]);
        assert_eq!(code, 0, "{out}{err}");
        out
    };
    let first = crawl();
    assert!(first.contains("7 new books"), "{first}");
    let (_, list, _) = run_cli(crawler.path(), &["books", "list", "--config", "config.toml"]);
    for n in 0..7 {
        assert!(list.contains(&format!("Shelf Book {n}")), "book {n} missing:\n{list}");
    }
    assert!(source.wait_for_logs("download: book", 7, WAIT));

    let second = crawl();
    assert!(second.contains("0 new books"), "{second}");
    assert_eq!(
        source.logs().matches("download: book").count(),
        7,
        "the second crawl fetched a book again"
    );
    assert!(source.logs().matches("OPDS user owner").count() == 7);
}

#[test]
fn feedparser_walks_navigation_acquisition_and_pages_and_searches_in_chinese() {
    let dir = TempDir::new("opds-feedparser");
    let title = |n: usize| {
        if n == 77 {
            "三体Ⅱ：黑暗森林".to_string()
        } else {
            format!("星空故事 第{n}卷")
        }
    };
    fill(dir.path(), 120, title);
    let server = Server::start_in(dir, &opds_config(50));
    wait_for_books(&server, 120);

    let out = Command::new("/usr/bin/python3")
        .args([READER, &format!("http://{}/opds", server.addr), USER, PASSWORD, "黑暗"])
        .output()
        .expect("python3 runs (install it with `bash tests/run.sh`)");
    assert!(
        out.status.success(),
        "the reader failed (feedparser missing? run `bash tests/run.sh`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["unauthorized"], 401);
    assert_eq!(found["root_type"], "application/atom+xml;profile=opds-catalog;kind=navigation");
    assert_eq!(
        found["acquisition_type"],
        "application/atom+xml;profile=opds-catalog;kind=acquisition"
    );
    assert_eq!(found["root_entries"], serde_json::json!(["最新", "按作者", "按语言"]));
    assert_eq!(found["pages"], 3, "120 books at 50 a page: {found}");
    let mut titles: Vec<String> = found["titles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles.len(), 120, "every book once: {titles:?}");
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), 120, "no book twice");
    assert_eq!(found["types"], serde_json::json!(["application/epub+zip"]));
    assert_eq!(found["covers"], 40, "a thumbnail for every book with a cover");
    assert_eq!(found["languages"], serde_json::json!(["zh"]));
    assert_eq!(found["authors"], serde_json::json!(["Jane Austen", "刘慈欣", "金庸", "鲁迅"]));
    assert_eq!(found["opensearch_type"], "application/opensearchdescription+xml");
    assert_eq!(found["template"], format!("http://{}/opds/search?q={{searchTerms}}", server.addr));
    assert_eq!(found["search"], serde_json::json!(["三体Ⅱ：黑暗森林"]));
    let download = &found["download"];
    assert_eq!(download["status"], 200);
    assert_eq!(download["type"], "application/epub+zip");
    let books = server.dir.path().join("books");
    let on_disk: Vec<Vec<u8>> =
        (0..120).map(|n| std::fs::read(books.join(format!("book-{n:03}.epub"))).unwrap()).collect();
    let sha = download["sha256"].as_str().unwrap();
    assert!(
        on_disk.iter().any(|bytes| sha256_hex(bytes) == sha),
        "the downloaded EPUB is one of the books"
    );
}
