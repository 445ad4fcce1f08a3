//! E-book downloads on the real binary: `下载 ID` in the chat gives a signed
//! link, the link opens the book's phone page and its files over real HTTP,
//! and every way a link can be wrong (tampered, expired, another book's,
//! revoked) is a 403 that says what to do.

mod common;

use std::path::Path;
use std::time::Duration;

use common::ebook::epub_with_cover;
use common::http_client::{request, Response};
use common::png::{png, png_size};
use common::wechat::say;
use common::{chromium, run_cli, wait_until, Server, TempDir};

const WAIT: Duration = Duration::from_secs(10);
/// The demo token: these configs set none.
const TOKEN: &str = "zatan";
const READER: &str = "o_reader";
const PUBLIC: &str = "http://books.example";
const WECHAT_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN";

fn config(extra_books: &str) -> String {
    format!("[server]\npublic_url = \"{PUBLIC}/\"\n[books]\n{extra_books}\n")
}

/// The library of the tests: an EPUB with a cover, and a TXT.
fn fill_books(dir: &Path) -> Vec<u8> {
    let books = dir.join("books");
    std::fs::create_dir_all(&books).unwrap();
    let cover = png(60, 90);
    epub_with_cover(&books.join("三体.epub"), "三体", "刘慈欣", &cover);
    let mut text = String::from("《球状闪电》作者：刘慈欣\n\n");
    for n in 1..=3 {
        text.push_str(&format!("第{n}章 开端\n\n　　第{n}章的正文，足够长的一段话。\n\n"));
    }
    std::fs::write(books.join("《球状闪电》作者：刘慈欣.txt"), text).unwrap();
    cover
}

/// The id of the first book a search finds, once the library has it.
fn book_id(server: &Server, words: &str, msg_id: &mut u64) -> String {
    let found = wait_until(WAIT, || {
        *msg_id += 1;
        Some(say(server, TOKEN, READER, *msg_id, &format!("搜 {words}")).content())
            .filter(|r| !r.contains("没有找到") && !r.contains("还是空的"))
    })
    .unwrap_or_else(|| panic!("the library never had {words}"));
    found.split_whitespace().next().unwrap().to_string()
}

/// `下载 ID` as `who`: the reply.
fn ask(server: &Server, who: &str, id: &str, msg_id: &mut u64) -> String {
    *msg_id += 1;
    say(server, TOKEN, who, *msg_id, &format!("下载 {id}")).content()
}

/// The path and query of the link in a reply.
fn link_in(reply: &str) -> String {
    let at = reply.find(PUBLIC).unwrap_or_else(|| panic!("no link in {reply:?}"));
    let link: String =
        reply[at + PUBLIC.len()..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.starts_with("/books/") && link.contains("?t="), "{link}");
    link
}

fn get(server: &Server, target: &str, headers: &str) -> Response {
    request(
        server.addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n")
            .as_bytes(),
    )
}

/// `/books/ID/file.EXT?t=...` for the page at `page`.
fn file_of(page: &str, ext: &str) -> String {
    let (path, query) = page.split_once('?').unwrap();
    format!("{path}/file.{ext}?{query}")
}

fn assert_refused(response: &Response, id: &str) {
    assert_eq!(response.status, 403, "{}", response.text());
    let page = response.text();
    assert!(page.contains(&format!("下载 {id}")), "the page says to ask again: {page}");
}

#[test]
fn a_signed_link_opens_the_page_and_the_files_and_nothing_else() {
    let dir = TempDir::new("download");
    let cover = fill_books(dir.path());
    let server = Server::start_in(dir, &config("daily_downloads_per_user = 4"));
    let mut msg_id = 0;
    let santi = book_id(&server, "三体", &mut msg_id);
    let ball = book_id(&server, "球状", &mut msg_id);

    msg_id += 1;
    let details = say(&server, TOKEN, READER, msg_id, &format!("书 {santi}")).content();
    assert!(
        details.contains(&format!("下载 {santi}")) && details.contains(&format!("推送 {santi}")),
        "{details}"
    );
    msg_id += 1;
    let help = say(&server, TOKEN, READER, msg_id, "帮助").content();
    assert!(help.contains("下载 ID"), "{help}");

    let reply = ask(&server, READER, &santi, &mut msg_id);
    assert!(reply.contains("《三体》") && reply.contains("24 小时"), "{reply}");
    let page = link_in(&reply);
    let token = page.split("?t=").nth(1).unwrap().to_string();

    // The page, in a phone browser and in WeChat's.
    let html = get(&server, &page, "");
    assert_eq!(html.status, 200, "{}", html.text());
    assert_eq!(html.header("Content-Type"), Some("text/html; charset=utf-8"));
    let text = html.text();
    for needed in
        ["<h1>三体</h1>", "刘慈欣", "zh", "下载 EPUB", "viewport", &file_of(&page, "epub")]
    {
        assert!(text.contains(needed), "{needed} missing from the page: {text}");
    }
    assert!(!text.contains("在浏览器打开"), "the hint is for WeChat's browser only");
    let in_wechat = get(&server, &page, &format!("User-Agent: {WECHAT_UA}\r\n")).text();
    assert!(in_wechat.contains("···") && in_wechat.contains("在浏览器打开"), "{in_wechat}");

    // The cover, from inside the EPUB.
    let (path, query) = page.split_once('?').unwrap();
    let cover_url = format!("{path}/cover?{query}");
    assert!(text.contains(&cover_url), "{text}");
    let image = get(&server, &cover_url, "");
    assert_eq!((image.status, image.header("Content-Type")), (200, Some("image/png")));
    assert_eq!(image.body, cover);

    // The file: the bytes on disk, typed and named.
    let on_disk = std::fs::read(server.dir.path().join("books/三体.epub")).unwrap();
    let file = get(&server, &file_of(&page, "epub"), "");
    assert_eq!(file.status, 200);
    assert!(file.body == on_disk, "the downloaded bytes are the book's");
    assert_eq!(file.header("Content-Type"), Some("application/epub+zip"));
    assert_eq!(
        file.header("Content-Disposition").unwrap(),
        format!("attachment; filename=\"{santi}.epub\"; filename*=UTF-8''%E4%B8%89%E4%BD%93.epub")
    );
    let part = get(&server, &file_of(&page, "epub"), "Range: bytes=100-299\r\n");
    assert_eq!(part.status, 206);
    assert_eq!(part.header("Content-Range").unwrap(), format!("bytes 100-299/{}", on_disk.len()));
    assert_eq!(part.body, &on_disk[100..300]);
    let past =
        get(&server, &file_of(&page, "epub"), &format!("Range: bytes={}-\r\n", on_disk.len()));
    assert_eq!(past.status, 416);
    assert_eq!(get(&server, &file_of(&page, "txt"), "").status, 404, "no such format on file");

    // Wrong links: tampered, moved to another book, cut, none.
    let mut tampered = page.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert_refused(&get(&server, &String::from_utf8(tampered).unwrap(), ""), &santi);
    let moved = format!("/books/{ball}?t={token}");
    assert_refused(&get(&server, &moved, ""), &ball);
    assert_refused(&get(&server, &file_of(&moved, "txt"), ""), &ball);
    assert_refused(&get(&server, &format!("/books/{santi}/file.epub"), ""), &santi);
    let other = ask(&server, "o_other", &ball, &mut msg_id);
    let other_token = link_in(&other).split("?t=").nth(1).unwrap().to_string();
    assert_refused(&get(&server, &format!("/books/{santi}?t={other_token}"), ""), &santi);

    // Unknown books and paths are the site's 404.
    for target in ["/books/nosuch?t=x", "/books/..%2f..%2fconfig.toml", "/books/"] {
        let missing = get(&server, target, "");
        assert_eq!(missing.status, 404, "{target}");
        assert!(missing.text().contains("找不到这一页"), "{target}");
    }
    msg_id += 1;
    let unknown = say(&server, TOKEN, READER, msg_id, "下载 nosuch").content();
    assert!(unknown.contains("没有 ID 为「nosuch」的书"), "{unknown}");

    // The cap: 4 a day; the refusal says when it resets.
    for _ in 0..3 {
        assert!(ask(&server, READER, &ball, &mut msg_id).contains(PUBLIC));
    }
    let refused = ask(&server, READER, &ball, &mut msg_id);
    assert!(!refused.contains(PUBLIC), "{refused}");
    assert!(refused.contains("最多 4 个") && refused.contains("北京时间 0 点"), "{refused}");
    assert!(
        ask(&server, "o_other", &santi, &mut msg_id).contains(PUBLIC),
        "the cap is per follower"
    );

    // Logged: book, follower, bytes; never the token.
    assert!(server.wait_for_log(
        &format!("download: book {santi} (三体) epub to {READER}: 200 {} bytes", on_disk.len()),
        WAIT
    ));
    assert!(server.wait_for_log(
        &format!("download: book {santi} (三体) epub to {READER}: 206 200 bytes"),
        WAIT
    ));
    let logs = server.logs();
    assert!(!logs.contains(&token) && !logs.contains(&other_token), "a token reached the log");

    // Links survive a restart; `books revoke-links` ends them all.
    let dir = server.kill9();
    let server = Server::start_in(dir, &config("daily_downloads_per_user = 4"));
    assert_eq!(get(&server, &page, "").status, 200, "the key is kept in the store");
    let dir = server.kill9();
    let (code, out, err) =
        run_cli(dir.path(), &["books", "revoke-links", "--config", "config.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no longer works"), "{out}");
    let server = Server::start_in(dir, &config("daily_downloads_per_user = 4"));
    assert_refused(&get(&server, &page, ""), &santi);
    let fresh = link_in(&ask(&server, "o_third", &santi, &mut msg_id));
    assert_eq!(get(&server, &fresh, "").status, 200, "new links work");
}

#[test]
fn a_link_expires_after_its_ttl() {
    let dir = TempDir::new("download-ttl");
    fill_books(dir.path());
    let server = Server::start_in(dir, &config("link_ttl_secs = 1"));
    let mut msg_id = 0;
    let id = book_id(&server, "三体", &mut msg_id);
    let reply = ask(&server, READER, &id, &mut msg_id);
    assert!(reply.contains("1 秒"), "{reply}");
    let page = link_in(&reply);
    // Within its second or not, the link must die soon: poll for the refusal.
    let expired = wait_until(WAIT, || Some(get(&server, &page, "")).filter(|r| r.status != 200))
        .expect("the link never expired");
    assert_refused(&expired, &id);
    assert!(expired.text().contains("过期"), "{}", expired.text());
}

#[test]
fn without_a_public_url_the_follower_and_check_are_told() {
    let dir = TempDir::new("download-no-url");
    fill_books(dir.path());
    std::fs::write(dir.path().join("config.toml"), "").unwrap();
    let (code, out, _) = run_cli(dir.path(), &["check", "--config", "config.toml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: e-book downloads") && out.contains("server.public_url"),
        "{out}"
    );
    let server = Server::start_in(dir, "");
    let mut msg_id = 0;
    let id = book_id(&server, "三体", &mut msg_id);
    let reply = ask(&server, READER, &id, &mut msg_id);
    assert!(reply.contains("server.public_url") && reply.contains("还没有设置"), "{reply}");
}

const PHONE: (u32, u32) = (390, 844);

#[test]
fn the_book_page_reads_on_a_phone_in_a_real_browser() {
    let dir = TempDir::new("download-browser");
    fill_books(dir.path());
    let server = Server::start_in(dir, &config(""));
    let mut msg_id = 0;
    let id = book_id(&server, "三体", &mut msg_id);
    let page = link_in(&ask(&server, READER, &id, &mut msg_id));

    let chromium = chromium::Chromium::launch();
    let mut tab = chromium.page();
    tab.emulate_phone(PHONE.0, PHONE.1, 2);
    tab.open(&format!("http://{}{page}", server.addr));
    let facts = tab.evaluate(
        r#"(() => {
            const vw = window.innerWidth, vh = window.innerHeight;
            const button = document.querySelector('a.button');
            const r = button && button.getBoundingClientRect();
            return {
                vw,
                scrollWidth: document.documentElement.scrollWidth,
                title: document.querySelector('h1').textContent,
                cover: [...document.images].map(i => i.complete && i.naturalWidth),
                buttonShown: !!r && r.width > 0 && r.left >= 0 && r.right <= vw && r.bottom <= vh,
                buttonText: button && button.textContent,
            };
        })()"#,
    );
    let screenshot = tab.screenshot();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("book-page-on-a-phone.png");
    std::fs::write(&path, &screenshot).unwrap();
    assert_eq!(facts["vw"].as_u64(), Some(u64::from(PHONE.0)), "{facts}");
    assert!(facts["scrollWidth"].as_u64().unwrap() <= u64::from(PHONE.0), "{facts}");
    assert_eq!(facts["title"], "三体", "{facts}");
    assert_eq!(facts["cover"], serde_json::json!([60]), "the cover loaded: {facts}");
    assert_eq!(facts["buttonShown"], true, "the download button is on the first screen: {facts}");
    assert!(facts["buttonText"].as_str().unwrap().contains("EPUB"), "{facts}");
    assert_eq!(png_size(&screenshot), (PHONE.0 * 2, PHONE.1 * 2), "screenshot {}", path.display());
}
