//! The owner's articles into WeChat's draft box: the real `zatan articles`
//! command and the real server against the fake WeChat API on loopback,
//! which enforces WeChat's rules for drafts (uploaded images only, no
//! `<style>`, a cover, the field limits). The draft HTML is also looked at
//! in headless Chromium at a phone's width.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fake_api::{Endpoint, FakeApi, FakeConfig};
use common::images::{png, png_size};
use common::{chromium, run_cli, wait_until, Server, TempDir};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
const PUBLIC_URL: &str = "https://box.example.com";

/// A box with articles/, pictures/ and a config for the fake API.
struct Box {
    dir: TempDir,
    fake: FakeApi,
}

impl Box {
    fn new(name: &str, verified: bool, extra: &str) -> Box {
        let fake = FakeApi::start(FakeConfig::default());
        let dir = TempDir::new(name);
        for sub in ["articles/img", "pictures", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let bx = Box { dir, fake };
        bx.write_config(verified, extra);
        bx
    }

    fn config(&self, verified: bool, extra: &str) -> String {
        let fake = self.fake.config();
        format!(
            "[wechat]\napp_id = \"{}\"\napp_secret = \"{}\"\napi_base = \"{}\"\nverified = {verified}\n\
             [storage]\ndata_dir = \"data\"\n[pictures]\ndir = \"pictures\"\n\
             [articles]\ndir = \"articles\"\nauthor = \"杂谈\"\n{extra}\n\
             [server]\npublic_url = \"{PUBLIC_URL}\"\n",
            fake.app_id,
            fake.secret,
            self.fake.base_url()
        )
    }

    fn write_config(&self, verified: bool, extra: &str) {
        std::fs::write(self.path("config.toml"), self.config(verified, extra)).unwrap();
    }

    fn path(&self, relative: &str) -> std::path::PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path(relative), bytes).unwrap();
    }

    /// `zatan articles ARGS --config config.toml`: status, stdout, stderr.
    fn articles(&self, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["articles"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", "config.toml"]);
        run_cli(self.dir.path(), &all)
    }

    fn draft(&self, slug: &str) -> (i32, String, String) {
        self.articles(&["draft", slug])
    }

    /// The one draft in the fake's draft box.
    fn only_draft(&self) -> (String, Value) {
        let drafts = self.fake.drafts();
        assert_eq!(drafts.len(), 1, "{drafts:?}");
        drafts.into_iter().next().unwrap()
    }
}

const RICH: &str = "---
title: 树莓派上的杂谈
summary: 在路由器上跑公众号
comments: true
---
# 树莓派上的杂谈

这是第一段中文：小盒子也能跑公众号。详见[Rust 官网](https://www.rust-lang.org/)，\
以及[另一篇](https://mp.weixin.qq.com/s/abcdef)。

## 准备

- 一块树莓派
- 一根网线

| 部件 | 价格 |
|:---|---:|
| 树莓派 | 300 |
| 电源 | 50 |

```rust
fn main() {

    println!(\"你好\");
}
```

![第一张图](one.png)

> 引用一句话。

![第二张图](img/two.png)
";

fn rich_box(name: &str, verified: bool) -> Box {
    let bx = Box::new(name, verified, "");
    bx.write("articles/rich.md", RICH);
    bx.write("pictures/one.png", png(300, 120));
    bx.write("articles/img/two.png", png(200, 200));
    bx
}

/// The `src` of every `<img>` of `html`.
fn image_sources(html: &str) -> Vec<String> {
    html.split("<img")
        .skip(1)
        .map(|tag| {
            let start = tag.find("src=\"").unwrap() + 5;
            tag[start..start + tag[start..].find('"').unwrap()].replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn a_rich_article_becomes_a_draft_wechat_accepts() {
    let bx = rich_box("drafts-rich", true);
    let (status, out, err) = bx.draft("rich");
    assert_eq!(status, 0, "{out}{err}");
    let (media_id, article) = bx.only_draft();
    assert!(out.contains(&media_id), "prints the draft's media_id: {out}");

    assert_eq!(article["title"], "树莓派上的杂谈");
    assert_eq!(article["author"], "杂谈", "articles.author stands in");
    assert_eq!(article["digest"], "在路由器上跑公众号");
    assert_eq!(article["content_source_url"], format!("{PUBLIC_URL}/articles/rich"));
    assert_eq!(article["need_open_comment"], 1);
    let thumb = article["thumb_media_id"].as_str().unwrap();
    assert!(
        bx.fake.uploaded().iter().any(|u| u.permanent && u.media_id == thumb),
        "the cover is permanent material: {thumb}"
    );

    let content = article["content"].as_str().unwrap();
    let sources = image_sources(content);
    let uploaded = bx.fake.article_image_urls();
    assert_eq!(sources.len(), 2, "{content}");
    assert!(sources.iter().all(|s| uploaded.contains(s)), "only uploaded images: {sources:?}");
    assert_ne!(sources[0], sources[1]);
    for gone in ["<style", "class=", " id=", "<script", "/pictures/"] {
        assert!(!content.contains(gone), "{gone} in {content}");
    }
    for tag in ["<h2 ", "<p ", "<ul ", "<li ", "<table ", "<td ", "<pre ", "<blockquote ", "<img "]
    {
        let at = content.find(tag).unwrap_or_else(|| panic!("no {tag}: {content}"));
        let open = content[at..].split('>').next().unwrap();
        assert!(open.contains(" style=\""), "{tag} without inline style: {open}");
    }
    assert!(
        !content.contains(">树莓派上的杂谈</h1>"),
        "the heading repeating the title is left out"
    );
    assert!(content.contains("fn&nbsp;main()&nbsp;{<br><br>"), "code lines as <br>: {content}");
    let code = &content[content.find("<pre").unwrap()..content.find("</pre>").unwrap()];
    assert!(!code.contains('\n'), "no newline left in the code: {code}");
    assert!(content.contains("Rust 官网</span><span style="), "{content}");
    assert!(content.contains(">[1]</span>"), "the link is footnote 1: {content}");
    assert!(content.contains("<a href=\"https://mp.weixin.qq.com/s/abcdef\""), "{content}");
    let references = &content[content.find("参考链接").expect("a 参考链接 list")..];
    assert!(references.contains("[1] https://www.rust-lang.org/"), "{references}");
    assert!(!references.contains("[2]"), "the WeChat link is no footnote: {references}");
    assert!(content.contains("小盒子也能跑公众号"), "the Chinese text is there");

    // Unchanged: nothing is called at all, not even for a token.
    let calls = bx.fake.total_calls();
    let (status, out, err) = bx.draft("rich");
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(bx.fake.total_calls(), calls, "an unchanged article calls nothing");

    // Edited: the same draft is updated, and only the new image is uploaded.
    let uploads = bx.fake.calls(Endpoint::UploadImg);
    let edited = RICH.replace("这是第一段中文", "这是改过的第一段") + "\n![第三张](three.png)\n";
    bx.write("articles/rich.md", &edited);
    bx.write("pictures/three.png", png(100, 50));
    let (status, out, err) = bx.draft("rich");
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("updated"), "{out}");
    assert_eq!(bx.fake.calls(Endpoint::UploadImg), uploads + 1, "only the new image is uploaded");
    assert_eq!(bx.fake.calls(Endpoint::DraftAdd), 1);
    let (same_id, article) = bx.only_draft();
    assert_eq!(same_id, media_id);
    assert!(article["content"].as_str().unwrap().contains("这是改过的第一段"));

    // The owner deleted the draft in the console: a new one is made.
    bx.fake.delete_draft(&media_id);
    bx.write("articles/rich.md", edited.replace("改过的", "又改过的"));
    let (status, out, err) = bx.draft("rich");
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("drafted anew"), "{out}");
    let (new_id, article) = bx.only_draft();
    assert_ne!(new_id, media_id);
    assert!(article["content"].as_str().unwrap().contains("又改过的第一段"));
    assert_eq!(bx.fake.calls(Endpoint::DraftAdd), 2);

    let (status, listed, err) = bx.articles(&["list"]);
    assert_eq!(status, 0, "{err}");
    assert!(listed.contains(&format!("rich\tdrafted ({new_id})")), "{listed}");
    bx.write("articles/rich.md", edited.replace("改过的", "第三次改的"));
    bx.write("articles/new.md", "---\ntitle: 新的\ncover: one.png\n---\n正文");
    let (_, listed, _) = bx.articles(&["list"]);
    assert!(listed.contains(&format!("rich\tchanged since drafted ({new_id})")), "{listed}");
    assert!(listed.contains("new\tnone"), "{listed}");
}

#[test]
fn a_cover_deleted_in_the_console_is_uploaded_again() {
    let bx = rich_box("drafts-cover", true);
    assert_eq!(bx.draft("rich").0, 0);
    let (media_id, article) = bx.only_draft();
    bx.fake.delete_material(article["thumb_media_id"].as_str().unwrap());
    bx.fake.delete_draft(&media_id);
    bx.write("articles/rich.md", RICH.replace("第一段", "新的第一段"));
    let (status, out, err) = bx.draft("rich");
    assert_eq!(status, 0, "{out}{err}");
    assert_eq!(bx.fake.calls(Endpoint::AddMaterial), 2, "the cover went up again");
    let (_, article) = bx.only_draft();
    assert!(article["content"].as_str().unwrap().contains("新的第一段"));
}

#[test]
fn publishing_needs_a_verified_account() {
    let bx = rich_box("drafts-publish", true);
    let (status, out, err) = bx.articles(&["draft", "rich", "--publish"]);
    assert_eq!(status, 0, "{out}{err}");
    let (media_id, _) = bx.only_draft();
    assert!(
        out.contains(&format!("published: https://mp.weixin.qq.com/s/FAKE_{media_id}")),
        "{out}"
    );
    assert!(bx.fake.calls(Endpoint::PublishGet) >= 2, "polled until published");
    let (_, listed, _) = bx.articles(&["list"]);
    assert!(listed.contains("rich\tpublished https://mp.weixin.qq.com/s/FAKE_"), "{listed}");

    let unverified = rich_box("drafts-unverified", false);
    let (status, out, err) = unverified.articles(&["draft", "rich", "--publish"]);
    assert_eq!(status, 2, "{out}{err}");
    assert!(err.contains("July 2025") && err.contains("by hand"), "{err}");
    assert_eq!(unverified.fake.drafts().len(), 1, "the draft is made, ready to publish by hand");
    assert_eq!(unverified.fake.calls(Endpoint::PublishSubmit), 0);
}

#[test]
fn each_limit_is_refused_before_any_call() {
    let bx = Box::new("drafts-limits", true, "");
    bx.write("pictures/ok.png", png(40, 40));
    bx.write("pictures/anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    bx.write("pictures/photo.webp", b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00");
    let huge = png(620, 620);
    bx.write("pictures/huge.png", &huge);
    let huge_refusal = format!(
        "image huge.png: {} bytes; WeChat takes images of at most 1048576 bytes (1 MB)",
        huge.len()
    );
    let cover = "cover: ok.png\n";
    let cases = [
        (
            "title",
            format!("---\ntitle: {}\n{cover}---\n正文", "长".repeat(33)),
            "title is 33 characters; WeChat allows at most 32",
        ),
        (
            "author",
            format!("---\nauthor: {}\n{cover}---\n正文", "名".repeat(17)),
            "author is 17 characters; WeChat allows at most 16",
        ),
        (
            "digest",
            format!("---\nsummary: {}\n{cover}---\n正文", "摘".repeat(129)),
            "digest (summary) is 129 characters; WeChat allows at most 128",
        ),
        (
            "content",
            format!("---\n{cover}---\n{}", "字".repeat(20_000)),
            "WeChat allows less than 20000",
        ),
        (
            "gif",
            "![动图](anim.gif)".to_string(),
            "image anim.gif: GIF; WeChat takes only JPEG or PNG",
        ),
        (
            "webp",
            "![照片](photo.webp)".to_string(),
            "image photo.webp: WebP; WeChat takes only JPEG or PNG",
        ),
        ("huge", "![大图](huge.png)".to_string(), huge_refusal.as_str()),
        (
            "remote",
            format!("---\n{cover}---\n![远程](https://example.com/a.png)"),
            "not a local file",
        ),
        ("nocover", "没有图片的文章".to_string(), "add `cover: NAME`"),
    ];
    for (slug, text, needle) in &cases {
        bx.write(&format!("articles/{slug}.md"), text);
        let (status, out, err) = bx.draft(slug);
        assert_eq!(status, 2, "{slug}: {out}{err}");
        assert!(err.contains(needle), "{slug}: {err}");
    }
    assert_eq!(bx.fake.total_calls(), 0, "nothing was sent for any of them");
    bx.write_config(true, "sync_drafts = true");
    let (_, out, err) = run_cli(bx.dir.path(), &["check", "--config", "config.toml"]);
    assert!(
        out.contains("articles.sync_drafts = true") && out.contains("articles.author = 杂谈"),
        "{out}{err}"
    );
    assert!(out.contains("drafted in WeChat by the server"), "{out}");
}

/// The fake's own rules, as WeChat enforces them, with the real client.
#[test]
fn the_fake_draft_box_enforces_wechats_rules() {
    use zatan::wechat::api::{ApiClient, ApiError, DraftArticle, MediaType};
    let fake = FakeApi::start(FakeConfig::default());
    let config = fake.config();
    let client = ApiClient::new(fake.base_url(), Duration::from_secs(10));
    let token = client.stable_token(&config.app_id, &config.secret, false).unwrap();
    let image = client.upload_article_image(&token, "a.png", &png(10, 10)).unwrap();
    let thumb = client.add_material(&token, MediaType::Image, "c.png", &png(10, 10)).unwrap();
    let gif = client.upload_article_image(&token, "a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    assert!(matches!(gif, Err(ApiError::Invalid(_))), "refused unsent: {gif:?}");
    let good = DraftArticle {
        title: "标题".into(),
        author: "".into(),
        digest: "".into(),
        content: format!("<p style=\"x\">正文<img src=\"{image}\" style=\"width:100%\"></p>"),
        content_source_url: "".into(),
        thumb_media_id: thumb.media_id.clone(),
        need_open_comment: 0,
        only_fans_can_comment: 0,
    };
    let id = client.draft_add(&token, &good).unwrap();
    let errcode = |article: DraftArticle| match client.draft_add(&token, &article) {
        Err(ApiError::Wechat { code, .. }) => code,
        other => panic!("accepted: {other:?}"),
    };
    let with = |f: &dyn Fn(&mut DraftArticle)| {
        let mut article = good.clone();
        f(&mut article);
        article
    };
    assert_eq!(
        errcode(with(&|a| a.content = "<p><img src=\"https://example.com/x.png\"></p>".into())),
        45166
    );
    assert_eq!(errcode(with(&|a| a.thumb_media_id.clear())), 40007);
    assert_eq!(errcode(with(&|a| a.content = "<style>p{}</style><p>x</p>".into())), 45166);
    assert_eq!(errcode(with(&|a| a.content = "<p class=\"x\">x</p>".into())), 45166);
    assert_eq!(errcode(with(&|a| a.title = "长".repeat(33))), 45003);
    client.draft_update(&token, &id, &with(&|a| a.title = "新标题".into())).unwrap();
    assert_eq!(fake.drafts()[0].1["title"], "新标题");
    fake.delete_draft(&id);
    let gone = client.draft_update(&token, &id, &good);
    assert!(matches!(gone, Err(ApiError::Wechat { code: 40007, .. })), "{gone:?}");
    let upload_without_token = client.upload_article_image(
        &zatan::wechat::api::AccessToken::new("nonsense", Duration::from_secs(60)),
        "a.png",
        &png(10, 10),
    );
    assert!(matches!(upload_without_token, Err(ApiError::Wechat { code: 40001, .. })));
}

fn sync_config(bx: &Box) -> String {
    bx.config(true, "sync_drafts = true")
}

#[test]
fn sync_mode_drafts_a_new_file_once() {
    let bx = Box::new("drafts-sync", true, "");
    bx.write("pictures/one.png", png(60, 60));
    let config = sync_config(&bx);
    let Box { dir, fake } = bx;
    let server = Server::start_in(dir, &config);
    std::fs::write(
        server.dir.path().join("articles/new.md"),
        "---\ntitle: 新文章\n---\n正文\n\n![图](one.png)\n",
    )
    .unwrap();
    assert!(server.wait_for_log("in WeChat's draft box", WAIT), "{}", server.logs());
    assert_eq!(fake.drafts().len(), 1);
    // The same file written again is no change: no second draft.
    std::fs::write(
        server.dir.path().join("articles/new.md"),
        "---\ntitle: 新文章\n---\n正文\n\n![图](one.png)\n",
    )
    .unwrap();
    assert!(server.wait_for_logs("article new.md loaded", 2, WAIT), "{}", server.logs());
    std::fs::write(
        server.dir.path().join("articles/other.md"),
        "---\ntitle: 另一篇\ndraft: true\n---\n![图](one.png)\n",
    )
    .unwrap();
    assert!(server.wait_for_log("article other.md loaded", WAIT), "{}", server.logs());
    assert_eq!(fake.calls(Endpoint::DraftAdd), 1, "{}", server.logs());
    assert_eq!(fake.calls(Endpoint::DraftUpdate), 0);
    assert_eq!(server.logs().matches("draft job").count(), 1, "{}", server.logs());
}

#[test]
fn sync_mode_drafts_once_after_a_kill_mid_upload() {
    let bx = Box::new("drafts-kill", true, "");
    bx.write("pictures/one.png", png(60, 60));
    bx.write("pictures/two.png", png(70, 70));
    let config = sync_config(&bx);
    let Box { dir, fake } = bx;
    fake.stall_next(Endpoint::UploadImg);
    let server = Server::start_in(dir, &config);
    std::fs::write(
        server.dir.path().join("articles/killed.md"),
        "---\ntitle: 被打断的\n---\n![一](one.png)\n\n![二](two.png)\n",
    )
    .unwrap();
    assert!(
        wait_until(WAIT, || (fake.stalled() == 1).then_some(())).is_some(),
        "{}",
        server.logs()
    );
    let dir = server.kill9();
    assert_eq!(fake.drafts().len(), 0);
    let server = Server::start_in(dir, &config);
    assert!(server.wait_for_log("in WeChat's draft box", WAIT), "{}", server.logs());
    assert!(server.logs().contains("resuming 1 unfinished job"), "{}", server.logs());
    assert_eq!(fake.drafts().len(), 1);
    assert_eq!(fake.calls(Endpoint::DraftAdd), 1);
    let (_, article) = fake.drafts().remove(0);
    assert_eq!(image_sources(article["content"].as_str().unwrap()).len(), 2);
}

const PHONE: (u32, u32) = (390, 844);

/// The draft as a follower's phone shows it: the HTML WeChat keeps, with
/// the fake's image URLs pointed back at the files that were uploaded.
#[test]
fn the_draft_reads_on_a_phone_in_a_real_browser() {
    let bx = rich_box("drafts-browser", true);
    let (status, out, err) = bx.draft("rich");
    assert_eq!(status, 0, "{out}{err}");
    let (_, article) = bx.only_draft();
    let mut content = article["content"].as_str().unwrap().to_string();
    let page_dir = TempDir::new("drafts-page");
    for upload in bx.fake.uploaded().iter().filter(|u| !u.permanent) {
        let local = [bx.path("pictures/one.png"), bx.path("articles/img/two.png")]
            .into_iter()
            .find(|p| sha256_hex(&std::fs::read(p).unwrap()) == upload.sha256_hex)
            .unwrap();
        let name = format!("{}.png", upload.sha256_hex);
        std::fs::copy(&local, page_dir.path().join(&name)).unwrap();
        content = content.replace(&upload.media_id.replace('&', "&amp;"), &name);
    }
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"></head><body style=\"margin:0;padding:0 16px\">\
         {content}</body></html>"
    );
    let file = page_dir.path().join("draft.html");
    std::fs::write(&file, page).unwrap();

    let chromium = chromium::Chromium::launch();
    let mut tab = chromium.page();
    tab.emulate_phone(PHONE.0, PHONE.1, 2);
    tab.open(&format!("file://{}", file.display()));
    let facts = tab.evaluate(
        r#"(() => {
            const style = (sel, prop) => { const e = document.querySelector(sel); return e && getComputedStyle(e)[prop]; };
            return {
                scrollWidth: document.documentElement.scrollWidth,
                bodyFont: style('section', 'fontSize'),
                lineHeight: style('section', 'lineHeight'),
                h2: style('h2', 'fontSize'),
                preBackground: style('pre', 'backgroundColor'),
                quoteBorder: style('blockquote', 'borderLeftWidth'),
                cellBorder: style('td', 'borderTopWidth'),
                codeLines: document.querySelector('pre code').innerText.split('\n').length,
                images: [...document.images].map(i => [i.complete && i.naturalWidth, Math.round(i.getBoundingClientRect().width)]),
                contentWidth: document.querySelector('section').getBoundingClientRect().width,
            };
        })()"#,
    );
    let screenshot = tab.screenshot();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("draft-on-a-phone.png");
    std::fs::write(&path, &screenshot).unwrap();

    assert!(
        facts["scrollWidth"].as_u64().unwrap() <= u64::from(PHONE.0),
        "wider than the phone: {facts}"
    );
    assert_eq!(facts["bodyFont"], json!("17px"), "{facts}");
    assert_eq!(facts["lineHeight"], json!("30.6px"), "1.8 line height: {facts}");
    assert_eq!(facts["h2"], json!("22px"), "{facts}");
    assert_eq!(facts["preBackground"], json!("rgb(246, 246, 246)"), "{facts}");
    assert_eq!(facts["quoteBorder"], json!("3px"), "{facts}");
    assert_eq!(facts["cellBorder"], json!("1px"), "{facts}");
    assert_eq!(facts["codeLines"], json!(4), "the code's lines, the blank one too: {facts}");
    let width = facts["contentWidth"].as_f64().unwrap().round() as u64;
    assert_eq!(
        facts["images"],
        json!([[300, width], [200, width]]),
        "loaded, at full width: {facts}"
    );
    assert_eq!(png_size(&screenshot), (PHONE.0 * 2, PHONE.1 * 2), "screenshot {}", path.display());
    assert!(screenshot.len() > 10_000, "an empty-looking screenshot: {} bytes", screenshot.len());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_command_works_while_the_server_runs() {
    let bx = rich_box("drafts-serving", true);
    let config = bx.config(true, "");
    let Box { dir, fake } = bx;
    let server = Server::start_in(dir, &config);
    let run = |args: &[&str]| {
        let mut all = vec!["articles"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", "config.toml"]);
        run_cli(server.dir.path(), &all)
    };
    let (status, out, err) = run(&["draft", "rich"]);
    assert_eq!(status, 0, "{out}{err}\n{}", server.logs());
    assert!(out.contains("drafted in WeChat's draft box"), "{out}");
    assert_eq!(fake.drafts().len(), 1);
    assert_eq!(fake.token_fetches(), 1, "the server's token did the work");
    let (status, out, _) = run(&["draft", "rich"]);
    assert_eq!(status, 0);
    assert!(out.contains("unchanged"), "{out}");
    let (status, listed, _) = run(&["list"]);
    assert_eq!(status, 0);
    assert!(listed.contains("rich\tdrafted ("), "{listed}");
    let (status, _, err) = run(&["draft", "missing"]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("SLUG is the file name"), "{err}");
    let (code, _, logs) = server.terminate();
    assert!(code.success(), "{logs}");
    assert!(!logs.contains("did not stop in time"), "{logs}");
}

#[test]
fn wechats_errors_come_in_words() {
    let bx = rich_box("drafts-errors", true);
    bx.fake.fail_next(Endpoint::UploadImg, 45009);
    let (status, _, err) = bx.draft("rich");
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("daily quota") && err.contains("tomorrow"), "{err}");
    bx.fake.fail_next(Endpoint::AddMaterial, 48001);
    let (status, _, err) = bx.draft("rich");
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("48001") && err.contains("verified"), "{err}");
    bx.fake.fail_next(Endpoint::DraftAdd, 40164);
    let (status, _, err) = bx.draft("rich");
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("add 127.0.0.1 to the IP whitelist"), "{err}");
    let (status, out, err) = bx.draft("rich");
    assert_eq!(status, 0, "{out}{err}");
    assert_eq!(
        bx.fake.uploaded().iter().filter(|u| !u.permanent).count(),
        2,
        "each image went up once"
    );
}
