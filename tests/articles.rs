//! Articles over real HTTP against the real binary: the list, the pages, their
//! caching, the pictures, live edits, the chat command, and one page in a
//! real browser at a phone's size.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::http_client::{read_head_response, request, Response};
use common::png::{png, png_size};
use common::wechat::say;
use common::{chromium, Server, TempDir};
use serde_json::json;

const TOKEN: &str = "articlesToken1";
const READER: &str = "o_reader";

/// A server whose articles.dir (`articles/`) and pictures.dir (`pictures/`)
/// hold `articles` and the repository's sample picture before it starts.
fn server(name: &str, articles: &[(&str, &str)], extra_config: &str) -> Server {
    let dir = TempDir::new(name);
    std::fs::create_dir_all(dir.path().join("articles")).unwrap();
    std::fs::create_dir_all(dir.path().join("pictures")).unwrap();
    for (file, text) in articles {
        std::fs::write(dir.path().join("articles").join(file), text).unwrap();
    }
    let sea = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/pictures/sea.png")).unwrap();
    std::fs::write(dir.path().join("pictures/sea.png"), sea).unwrap();
    Server::start_in(dir, &format!("[wechat]\ntoken = \"{TOKEN}\"\n{extra_config}"))
}

fn get_with(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    request(
        server.addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    )
}

fn article(title: &str, date: &str, extra: &str, body: &str) -> String {
    format!("---\ntitle: {title}\ndate: {date}\n{extra}---\n{body}\n")
}

/// Polls `path` until `done` holds for its response.
fn wait_for(server: &Server, path: &str, what: &str, done: impl Fn(&Response) -> bool) -> Response {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = server.get(path);
        if done(&response) {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {path} is still {} {}",
            response.status,
            response.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn list_and_pages_newest_first_without_drafts() {
    let server = server(
        "articles-pages",
        &[
            ("old.md", &article("旧的一篇", "2023-05-01", "", "去年写的。")),
            (
                "new.md",
                &article(
                    "新的一篇",
                    "2024-06-01",
                    "summary: 最新的摘要\n",
                    "今年写的第一段。\n\n第二段。",
                ),
            ),
            ("middle.md", &article("中间那篇", "2024-01-15", "", "年初写的。")),
            ("secret.md", &article("还没写完", "2025-01-01", "draft: true\n", "草稿内容。")),
            ("春天.md", "# 春天来了\n\n没有前言的文章。\n"),
            ("broken.md", "---\ntitel: typo\n---\nbody\n"),
            ("notes.txt", "not an article"),
        ],
        "",
    );
    let index = server.get("/articles/");
    assert_eq!(index.status, 200);
    assert_eq!(index.header("Content-Type"), Some("text/html; charset=utf-8"));
    let html = index.text();
    let at =
        |title: &str| html.find(title).unwrap_or_else(|| panic!("{title} not in the list: {html}"));
    assert!(at("新的一篇") < at("中间那篇") && at("中间那篇") < at("旧的一篇"), "{html}");
    assert!(html.contains("最新的摘要"), "{html}");
    assert!(
        html.contains("href=\"/articles/%E6%98%A5%E5%A4%A9\""),
        "Chinese slugs are linked encoded: {html}"
    );
    assert!(!html.contains("还没写完") && !html.contains("secret"), "a draft is listed: {html}");
    assert!(html.contains("name=\"viewport\""), "{html}");

    let page = server.get("/articles/new");
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(
        page.contains("<h1>新的一篇</h1>") && page.contains("<p>今年写的第一段。</p>"),
        "{page}"
    );
    assert!(page.contains("2024年6月1日"), "{page}");
    let spring = server.get("/articles/%E6%98%A5%E5%A4%A9");
    assert_eq!(spring.status, 200);
    assert!(spring.text().contains("<h1>春天来了</h1>"), "the first heading is the title");

    for missing in [
        "/articles/secret",
        "/articles/broken",
        "/articles/notes",
        "/articles/nope",
        "/articles/new/x",
    ] {
        let response = server.get(missing);
        assert_eq!(response.status, 404, "{missing}");
        assert!(
            response.text().contains("href=\"/articles/\""),
            "{missing}: the 404 page links home"
        );
        assert!(response.text().contains("<style>"), "{missing}: the 404 page looks like the site");
    }
    let redirect = server.get("/articles");
    assert_eq!((redirect.status, redirect.header("Location")), (301, Some("/articles/")));
    assert!(server.wait_for_log("skipping article", Duration::from_secs(10)), "{}", server.logs());
    let why = server.wait_for_log("unknown key `titel`", Duration::from_secs(10));
    assert!(why, "the log says what is wrong: {}", server.logs());
}

#[test]
fn hostile_markdown_is_shown_not_run() {
    let hostile = "正文。\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n\
                   [点我](javascript:alert(document.cookie)) [又一个](<java\tscript:alert(2)>)\n\n\
                   <iframe src=\"https://evil.example\"></iframe>\n";
    let title = "标题 <b>不加粗</b> & \"引号\"";
    let server =
        server("articles-hostile", &[("evil.md", &article(title, "2024-01-01", "", hostile))], "");
    let page = server.get("/articles/evil").text();
    for raw in ["<script", "<img src=x", "<iframe", "javascript:", "<b>"] {
        assert!(!page.contains(raw), "{raw} reached the page: {page}");
    }
    assert!(page.contains("&lt;script&gt;alert"), "{page}");
    assert!(page.contains("标题 &lt;b&gt;不加粗&lt;/b&gt; &amp; &quot;引号&quot;"), "{page}");
    let index = server.get("/articles/").text();
    assert!(!index.contains("<b>"), "{index}");

    // The owner may turn raw HTML on; links stay held to safe schemes.
    let trusting = self::server(
        "articles-raw",
        &[(
            "raw.md",
            &article(
                "Raw",
                "2024-01-01",
                "",
                "<em class=\"mine\">mine</em>\n\n[x](javascript:alert(1))",
            ),
        )],
        "[articles]\nraw_html = true\n",
    );
    let page = trusting.get("/articles/raw").text();
    assert!(page.contains("<em class=\"mine\">mine</em>"), "{page}");
    assert!(!page.contains("javascript:"), "{page}");
}

#[test]
fn conditional_get_head_and_pictures() {
    let server = server(
        "articles-cache",
        &[("a.md", &article("缓存", "2024-01-01", "cover: sea.png\n", "![海](sea.png)\n\n正文。"))],
        "",
    );
    for path in ["/articles/a", "/articles/"] {
        let first = server.get(path);
        assert_eq!(first.status, 200);
        assert_eq!(first.header("Cache-Control"), Some("no-cache"));
        let etag = first.header("ETag").expect("an ETag").to_string();
        let modified = first.header("Last-Modified").expect("a Last-Modified").to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

        let again = get_with(&server, path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("ETag"), Some(etag.as_str()));
        assert_eq!(
            get_with(&server, path, &[("If-Modified-Since", &modified)]).status,
            304,
            "{path}"
        );
        assert_eq!(
            get_with(&server, path, &[("If-None-Match", "\"stale\"")]).status,
            200,
            "{path}"
        );
        let old = "Sat, 01 Jan 2000 00:00:00 GMT";
        assert_eq!(get_with(&server, path, &[("If-Modified-Since", old)]).status, 200, "{path}");
    }

    let page = server.get("/articles/a").text();
    assert!(page.contains("<img class=\"cover\" src=\"/pictures/sea.png\""), "{page}");
    assert!(page.contains("<img src=\"/pictures/sea.png\" alt=\"海\""), "{page}");
    let picture = server.get("/pictures/sea.png");
    assert_eq!(picture.status, 200);
    assert_eq!(picture.header("Content-Type"), Some("image/png"));
    assert_eq!(picture.body, std::fs::read(server.dir.path().join("pictures/sea.png")).unwrap());
    assert!(picture.header("Cache-Control").is_some_and(|c| c.contains("max-age")));
    let etag = picture.header("ETag").unwrap().to_string();
    let cached = get_with(&server, "/pictures/sea.png", &[("If-None-Match", &etag)]);
    assert_eq!((cached.status, cached.body.len()), (304, 0));
    let modified = picture.header("Last-Modified").unwrap().to_string();
    assert_eq!(
        get_with(&server, "/pictures/sea.png", &[("If-Modified-Since", &modified)]).status,
        304
    );

    // HEAD: the same head, no body.
    for path in ["/articles/a", "/pictures/sea.png"] {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut reader = BufReader::new(stream);
        let head = read_head_response(&mut reader).unwrap();
        assert_eq!(head.status, 200, "{head:?}");
        let length = server.get(path).body.len().to_string();
        let named =
            |name: &str| head.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(named("Content-Length"), Some(length.as_str()), "{head:?}");
        assert!(named("ETag").is_some(), "{head:?}");
        let mut body = Vec::new();
        reader.read_to_end(&mut body).unwrap();
        assert!(body.is_empty(), "HEAD {path} sent a body");
    }
}

#[test]
fn picture_names_cannot_leave_the_directory() {
    let server = server("articles-traversal", &[], "");
    let dir = server.dir.path();
    std::fs::write(
        dir.join("pictures/.hidden.png"),
        std::fs::read(dir.join("pictures/sea.png")).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("pictures/notes.png"), "text, named like a picture").unwrap();
    std::fs::create_dir_all(dir.join("pictures/sub")).unwrap();
    std::fs::write(
        dir.join("pictures/sub/inner.png"),
        std::fs::read(dir.join("pictures/sea.png")).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("outside.png"), std::fs::read(dir.join("pictures/sea.png")).unwrap())
        .unwrap();
    std::os::unix::fs::symlink(dir.join("outside.png"), dir.join("pictures/link.png")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("pictures/passwd.png")).unwrap();

    for attempt in [
        "/pictures/../config.toml",
        "/pictures/%2e%2e/config.toml",
        "/pictures/..%2fconfig.toml",
        "/pictures/..%2Foutside.png",
        "/pictures/..%5coutside.png",
        "/pictures/%2Fetc%2Fpasswd",
        "/pictures//etc/passwd",
        "/pictures/..",
        "/pictures/.",
        "/pictures/",
        "/pictures/.hidden.png",
        "/pictures/sub/inner.png",
        "/pictures/sub",
        "/pictures/link.png",
        "/pictures/passwd.png",
        "/pictures/sea.png%00.txt",
        "/pictures/notes.png",
        "/pictures/missing.png",
    ] {
        let response = server.get(attempt);
        assert_eq!(response.status, 404, "{attempt}: {}", response.text());
        assert!(response.header("Content-Type").unwrap().starts_with("text/html"), "{attempt}");
        assert!(
            !response.text().contains("wechat") && !response.text().contains("root:"),
            "{attempt} leaked a file"
        );
    }
    assert_eq!(server.get("/pictures/sea.png").status, 200, "the real picture is still served");
}

#[test]
fn edits_show_without_a_restart() {
    let server = server(
        "articles-live",
        &[("a.md", &article("第一版", "2024-01-01", "", "最初的正文。"))],
        "",
    );
    let dir = server.dir.path().join("articles");
    assert!(server.get("/articles/a").text().contains("最初的正文"));
    let etag = server.get("/articles/a").header("ETag").unwrap().to_string();

    std::fs::write(dir.join("a.md"), article("第二版", "2024-01-01", "", "改过的正文。")).unwrap();
    let page = wait_for(&server, "/articles/a", "the edit", |r| r.text().contains("改过的正文"));
    assert!(page.text().contains("<h1>第二版</h1>"));
    assert_eq!(
        get_with(&server, "/articles/a", &[("If-None-Match", &etag)]).status,
        200,
        "the old ETag is stale"
    );
    wait_for(&server, "/articles/", "the list follows the edit", |r| r.text().contains("第二版"));

    std::fs::write(dir.join("b.md"), article("新草稿", "2030-01-01", "draft: true\n", "还没好。"))
        .unwrap();
    assert!(
        server.wait_for_log("article b.md loaded: 新草稿 (draft)", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
    assert!(!server.get("/articles/").text().contains("新草稿"), "a new draft is listed");
    assert_eq!(server.get("/articles/b").status, 404);

    std::fs::write(dir.join("b.md"), article("新文章", "2030-01-01", "draft: false\n", "好了。"))
        .unwrap();
    let index =
        wait_for(&server, "/articles/", "the published draft", |r| r.text().contains("新文章"));
    assert!(index.text().find("新文章") < index.text().find("第二版"), "newest first");

    std::fs::write(dir.join("b.md"), "---\ndate: someday\n---\n").unwrap();
    wait_for(&server, "/articles/b", "a broken edit", |r| r.status == 404);
    // The log is read from the server's stderr by another thread: wait for it.
    assert!(server.wait_for_log("date \"someday\"", Duration::from_secs(10)), "{}", server.logs());

    std::fs::remove_file(dir.join("a.md")).unwrap();
    wait_for(&server, "/articles/a", "the deletion", |r| r.status == 404);
    assert!(!server.get("/articles/").text().contains("第二版"));
}

#[test]
fn chat_offers_the_newest_article_and_finds_titles() {
    let files = [
        (
            "pi.md",
            article(
                "树莓派上的公众号",
                "2024-05-01",
                "cover: sea.png\nsummary: 在树莓派上跑\n",
                "正文。",
            ),
        ),
        ("router.md", article("路由器笔记", "2024-04-01", "", "正文。")),
        ("draft.md", article("树莓派草稿", "2025-01-01", "draft: true\n", "正文。")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let server =
        server("articles-chat", &files, "[server]\npublic_url = \"https://zatan.example/\"\n");

    let news = say(&server, TOKEN, READER, 1, "文章");
    let field =
        |name: &str| news.field(name).unwrap_or_else(|| panic!("no {name} in {}", news.xml()));
    assert_eq!(field("MsgType"), "news");
    assert_eq!(field("ArticleCount"), "1");
    assert_eq!(field("Title"), "树莓派上的公众号");
    assert_eq!(field("Url"), "https://zatan.example/articles/pi");
    assert_eq!(field("PicUrl"), "https://zatan.example/pictures/sea.png");
    assert!(
        field("Description").contains("在树莓派上跑")
            && field("Description").contains("路由器笔记"),
        "{}",
        news.xml()
    );
    assert!(!news.xml().contains("草稿"), "{}", news.xml());
    // The card's links lead to what this server serves.
    assert_eq!(server.get("/articles/pi").status, 200);
    assert_eq!(server.get("/pictures/sea.png").status, 200);

    let found = say(&server, TOKEN, READER, 2, "articles 树莓派");
    let content = found.field("Content").unwrap();
    assert!(
        content.contains("<a href=\"https://zatan.example/articles/pi\">树莓派上的公众号</a>"),
        "{content}"
    );
    assert!(!content.contains("路由器") && !content.contains("草稿"), "{content}");
    let none = say(&server, TOKEN, READER, 3, "文章 手机").field("Content").unwrap();
    assert!(none.contains("没有标题含「手机」"), "{none}");
}

#[test]
fn chat_without_public_url_lists_titles_and_says_why_no_links() {
    let files = [("a.md", article("只有标题", "2024-05-01", "", "正文。"))];
    let server = server("articles-nourl", &[(files[0].0, files[0].1.as_str())], "");
    let reply = say(&server, TOKEN, READER, 1, "文章");
    assert_eq!(reply.field("MsgType").as_deref(), Some("text"));
    let content = reply.field("Content").unwrap();
    assert!(content.contains("只有标题") && content.contains("server.public_url"), "{content}");
}

const PHONE: (u32, u32) = (390, 844);

#[test]
fn an_article_reads_on_a_phone_in_a_real_browser() {
    let long_url = format!("https://example.com/{}", "很长的路径segment".repeat(30));
    let wide_row = |cell: &str| format!("| {} |", [cell; 8].join(" | "));
    let body = format!(
        "这是第一段：在手机上读文章，标题和这一段都应该在第一屏里看得见，不能被挤出屏幕。\n\n\
         一个没有空格可以断开的长链接：{long_url}\n\n\
         一个长单词：{word}\n\n\
         ![一张很宽的图](wide.png)\n\n\
         {header}\n{rule}\n{row}\n{row}\n\n\
         ```\nlet line = \"{code}\";\n```\n",
        word = "supercalifragilistic".repeat(12),
        header = wide_row("列标题列标题"),
        rule = wide_row("---"),
        row = wide_row("很宽的单元格内容wide-cell-content"),
        code = "x".repeat(300),
    );
    let server = server(
        "articles-browser",
        &[("phone.md", &article("在手机上读的一篇文章", "2024-05-01", "", &body))],
        "",
    );
    std::fs::write(server.dir.path().join("pictures/wide.png"), png(1200, 60)).unwrap();

    let chromium = chromium::Chromium::launch();
    let mut tab = chromium.page();
    tab.emulate_phone(PHONE.0, PHONE.1, 2);
    let url = format!("http://{}/articles/phone", server.addr);
    tab.open(&url);
    let facts = tab.evaluate(
        r#"(() => {
            const vw = window.innerWidth, vh = window.innerHeight;
            const shown = (e) => {
                if (!e) return false;
                const r = e.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 40), r.top + Math.min(r.height / 2, 10));
                return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= vw && r.top >= 0 && r.bottom <= vh
                    && getComputedStyle(e).visibility === 'visible' && hit !== null && e.contains(hit);
            };
            const title = document.querySelector('article h1');
            const first = document.querySelector('.content p');
            return {
                vw, vh,
                title: title && title.textContent,
                first: first && first.textContent,
                titleShown: shown(title),
                firstShown: shown(first),
                scrollWidth: document.documentElement.scrollWidth,
                bodyScrollWidth: document.body.scrollWidth,
                images: [...document.images].map(i => i.complete && i.naturalWidth),
                tooWide: [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > vw + 0.5)
                    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')),
            };
        })()"#,
    );
    let screenshot = tab.screenshot();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("article-on-a-phone.png");
    std::fs::write(&path, &screenshot).unwrap();

    for key in ["scrollWidth", "bodyScrollWidth"] {
        assert!(
            facts[key].as_u64().unwrap() <= u64::from(PHONE.0),
            "the page is wider than the phone ({key}): {facts}"
        );
    }
    // A phone's browser zooms out a page without a device-width viewport, or
    // one whose content is too wide: then the layout is wider than the phone.
    assert_eq!(
        facts["vw"],
        json!(PHONE.0),
        "the page is not laid out at the phone's width: {facts}"
    );
    assert_eq!(facts["title"], json!("在手机上读的一篇文章"), "{facts}");
    assert!(facts["first"].as_str().unwrap_or("").starts_with("这是第一段"), "{facts}");
    assert_eq!(facts["titleShown"], json!(true), "the title is not on the first screen: {facts}");
    assert_eq!(
        facts["firstShown"],
        json!(true),
        "the first paragraph is not on the first screen: {facts}"
    );
    assert_eq!(facts["images"], json!([1200]), "the wide picture loaded from /pictures/: {facts}");
    assert_eq!(png_size(&screenshot), (PHONE.0 * 2, PHONE.1 * 2), "screenshot {}", path.display());
    assert!(screenshot.len() > 10_000, "an empty-looking screenshot: {} bytes", screenshot.len());
}
