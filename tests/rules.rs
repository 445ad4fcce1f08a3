//! Keyword rules and replies WeChat delivers, through the real callback: the
//! real binary over loopback, the rules file watched by real inotify, the
//! fake WeChat API for the image rule's upload, `zatan check` and
//! `zatan simulate` as an owner runs them.

mod common;

use std::time::{Duration, Instant};

use common::fake_api::{Endpoint, FakeApi, FakeConfig};
use common::wechat::{event, say, send, Reply};
use common::{run_cli, wait_until, Server, TempDir};

const TOKEN: &str = "rulesToken1";
const WAIT: Duration = Duration::from_secs(10);
/// The hint every page but the last ends with.
const MORE_HINT: &str = "（回复「更多」看下一页）";

/// A server in a fresh directory holding `files` (path, content) before it
/// starts; `extra` goes into `[wechat]`, after the token.
fn server(name: &str, files: &[(&str, &str)], extra: &str) -> Server {
    let dir = TempDir::new(name);
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    Server::start_in(dir, &format!("[wechat]\ntoken = \"{TOKEN}\"\n{extra}"))
}

/// One follower's chat: each text is a new message.
struct Chat<'a> {
    server: &'a Server,
    openid: &'a str,
    msg_id: u64,
}

impl<'a> Chat<'a> {
    fn new(server: &'a Server, openid: &'a str) -> Self {
        Chat { server, openid, msg_id: 0 }
    }

    fn say(&mut self, text: &str) -> Reply {
        self.msg_id += 1;
        say(self.server, TOKEN, self.openid, self.msg_id, text)
    }

    fn text(&mut self, text: &str) -> String {
        self.say(text).content()
    }

    /// An event from this follower (events have no MsgId: each needs its own time).
    fn event(&mut self, name: &str, fields: &str) -> Reply {
        self.msg_id += 1;
        let xml = event(self.openid, 1_714_000_000 + self.msg_id, name, fields);
        send(self.server, TOKEN, &xml)
    }
}

fn key(key: &str) -> String {
    format!("<EventKey><![CDATA[{key}]]></EventKey>")
}

/// The README's example rules, as the sources ship them.
const EXAMPLE_RULES: &str = include_str!("../rules.example.toml");

#[test]
fn every_match_kind_reply_kind_and_event_through_the_callback() {
    let long_title = "春天".repeat(30);
    let article = format!("---\ntitle: {long_title}\nsummary: 树莓派上的春天\n---\n正文\n");
    let server = server(
        "rules-kinds",
        &[
            ("rules.toml", EXAMPLE_RULES),
            ("articles/spring-notes.md", &article),
            (
                "books/《三体》作者：刘慈欣.txt",
                "第1章 科学边界\n\n　　汪淼觉得，来找他的这四个人是一个奇怪的组合。\n",
            ),
        ],
        "welcome = \"默认的欢迎\"\n[server]\npublic_url = \"https://zatan.example\"\n",
    );
    assert!(server.wait_for_log("rules: 10 loaded from rules.toml", WAIT), "{}", server.logs());
    let mut chat = Chat::new(&server, "o_shopper");

    // Exact keywords, trimmed and folded (Latin case, full-width forms).
    assert_eq!(chat.text("价格"), "价格表见菜单");
    assert_eq!(chat.text("  ＰＲＩＣＥ "), "价格表见菜单");
    assert!(chat.text("价格呢").contains("没听懂"), "exact means the whole message");
    // Contains.
    assert_eq!(chat.text("今天有优惠吗？"), "本周优惠：满百减十");
    // A regex, its group in the reply.
    assert_eq!(chat.text("订单 20240501"), "订单 20240501 已收到");
    assert_eq!(chat.text("订单20240502"), "订单 20240502 已收到");
    assert!(chat.text("订单 12").contains("没听懂"));
    // An article's news card, its title cut to what WeChat takes.
    let card = chat.say("最新");
    assert_eq!(card.field("MsgType").as_deref(), Some("news"), "{}", card.xml());
    assert_eq!(card.field("Url").unwrap(), "https://zatan.example/articles/spring-notes");
    let title = card.field("Title").unwrap();
    assert!(title.len() <= 128 && title.ends_with('…') && title.starts_with("春天春天"), "{title}");
    assert_eq!(card.field("Description").unwrap(), "树莓派上的春天");
    // A built-in command, as if the follower had sent it (once the library has the book).
    let found = wait_until(WAIT, || Some(chat.text("找书")).filter(|r| r.contains("《三体》")));
    assert!(found.is_some_and(|r| r.contains("刘慈欣")), "the rule ran 搜 三体");
    // Without the WeChat API no picture is uploaded: the image rule says so.
    assert!(chat.text("二维码").contains("暂时发不了"));
    // Precedence: the rule's word is the rule's; the command keeps its other names.
    assert_eq!(chat.text("帮助"), "发送「价格」看价格，「找书」找书；全部命令：help");
    assert!(chat.text("help").contains("可用命令"));

    // Events: a follow through the shop's QR code is that scene's rule (it comes
    // first in the file), any other follow the subscribe rule instead of wechat.welcome.
    let qr = format!("{}<Ticket><![CDATA[TICKET]]></Ticket>", key("qrscene_shop"));
    assert_eq!(chat.event("subscribe", &qr).content(), "欢迎光临门店");
    assert_eq!(chat.event("subscribe", "").content(), "欢迎！");
    assert_eq!(chat.event("SCAN", &key("shop")).content(), "欢迎光临门店");
    assert_eq!(chat.event("SCAN", &key("elsewhere")).xml(), "success", "no rule, nothing to say");
    assert_eq!(chat.event("CLICK", &key("PRICE")).content(), "价格表：一本十元");
    assert!(
        chat.event("CLICK", &key("help")).content().contains("可用命令"),
        "no rule: the command"
    );
}

fn png(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(std::iter::repeat_n(seed, 200));
    bytes
}

#[test]
fn an_image_rule_sends_the_uploaded_picture_and_says_so_until_then() {
    let fake = FakeApi::start(FakeConfig::default());
    let c = fake.config();
    let dir = TempDir::new("rules-image");
    std::fs::create_dir_all(dir.path().join("pictures")).unwrap();
    std::fs::write(dir.path().join("pictures/cat.png"), png(1)).unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "[[rule]]\nkeywords = [\"二维码\"]\nimage = \"qr.png\"\n",
    )
    .unwrap();
    let config = format!(
        "[wechat]\ntoken = \"{TOKEN}\"\napp_id = \"{}\"\napp_secret = \"{}\"\napi_base = \"{}\"\n",
        c.app_id,
        c.secret,
        fake.base_url()
    );
    let server = Server::start_in(dir, &config);
    let mut chat = Chat::new(&server, "o_scanner");
    let uploaded = |name: &str| fake.uploaded().into_iter().find(|u| u.file_name == name);
    assert!(wait_until(WAIT, || uploaded("cat.png")).is_some(), "{}", server.logs());
    // Once cat.png's upload is published nothing is pending: no qr.png, and the
    // follower is told so (not silence).
    let told = wait_until(WAIT, || Some(chat.text("二维码")).filter(|r| !r.contains("还在上传")));
    assert!(told.is_some_and(|r| r.contains("暂时发不了")), "{}", server.logs());

    // qr.png arrives; its upload is slow: the follower hears it is on its way.
    fake.set_delay(Endpoint::MediaUpload, Duration::from_secs(2));
    std::fs::write(server.dir.path().join("pictures/qr.png"), png(2)).unwrap();
    assert!(wait_until(WAIT, || (fake.uploads() >= 2).then_some(())).is_some());
    let waiting = chat.text("二维码");
    assert!(waiting.contains("还在上传"), "{waiting}");

    let sent = wait_until(WAIT, || {
        let reply = chat.say("二维码");
        (reply.field("MsgType").as_deref() == Some("image"))
            .then(|| reply.field("MediaId").unwrap())
    })
    .expect("the picture is sent once uploaded");
    assert_eq!(sent, uploaded("qr.png").unwrap().media_id, "the rule's picture, not another");
    assert!(fake.is_media_live(&sent));
}

#[test]
fn a_live_edit_takes_effect_and_a_broken_one_keeps_the_rules_in_force() {
    let server = server(
        "rules-edit",
        &[("rules.toml", "[[rule]]\nkeywords = [\"价格\"]\nreply = \"旧价格\"\n")],
        "",
    );
    let rules = server.dir.path().join("rules.toml");
    let loaded = "rules: 1 loaded from rules.toml";
    assert!(server.wait_for_log(loaded, WAIT));
    let mut chat = Chat::new(&server, "o_editor");
    assert_eq!(chat.text("价格"), "旧价格");

    // An edit in place: in force within 2 s, no restart.
    let edited = Instant::now();
    std::fs::write(&rules, "[[rule]]\nkeywords = [\"价格\"]\nreply = \"新价格\"\n").unwrap();
    assert!(server.wait_for_logs(loaded, 2, WAIT), "{}", server.logs());
    let took = edited.elapsed();
    println!("the edit was in force {took:?} after the write");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(chat.text("价格"), "新价格");

    // A broken edit: logged with line and column, the rules in force stay.
    std::fs::write(&rules, "[[rule]]\nkeywords = [\"价格\"]\nreply = \n").unwrap();
    let keeping = "keeping the 1 rules in force";
    assert!(server.wait_for_log(keeping, WAIT), "{}", server.logs());
    let line = server.logs().lines().find(|l| l.contains(keeping)).unwrap().to_string();
    assert!(line.contains("rules file rules.toml: line 3, column 9: "), "{line}");
    assert_eq!(chat.text("价格"), "新价格");
    // `zatan check` refuses the same file with the same words.
    let (code, _, err) = run_cli(server.dir.path(), &["check", "--config", "config.toml"]);
    assert_eq!(code, 2, "{err}");
    let words = line.split("rules file ").nth(1).unwrap().split("; keeping").next().unwrap();
    assert!(err.contains(&format!("rules file {words}")), "check: {err}\nlog: {line}");

    // Saved the way many editors save: a new file renamed over the old one.
    let new = server.dir.path().join("rules.toml.new");
    std::fs::write(
        &new,
        "[[rule]]\nkeywords = [\"价格\"]\nreply = \"修好了\"\n[[rule]]\nkeywords = [\"你好\"]\nreply = \"你好呀\"\n",
    )
    .unwrap();
    std::fs::rename(&new, &rules).unwrap();
    assert!(server.wait_for_log("rules: 2 loaded from rules.toml", WAIT), "{}", server.logs());
    assert_eq!(chat.text("价格"), "修好了");
    assert_eq!(chat.text("你好"), "你好呀");

    // Removed: no rules, the commands answer again.
    std::fs::remove_file(&rules).unwrap();
    assert!(server.wait_for_log("rules: none (rules.toml does not exist)", WAIT));
    assert!(chat.text("价格").contains("没听懂"));
}

#[test]
fn a_5000_byte_reply_arrives_in_pages_of_at_most_2048_bytes() {
    let long: String = (1..=200).map(|n| format!("第{n:03}条：可以借阅的书目\n")).collect();
    assert!(long.len() > 5000, "{}", long.len());
    let rules = format!("[[rule]]\nkeywords = [\"书单\"]\nreply = '''{long}'''\n");
    let server = server("rules-pages", &[("rules.toml", &rules)], "");
    assert!(server.wait_for_log("rules: 1 loaded", WAIT));

    let first = say(&server, TOKEN, "o_reader", 1, "书单");
    assert_eq!(
        say(&server, TOKEN, "o_reader", 1, "书单").xml(),
        first.xml(),
        "a retry: same bytes"
    );
    let mut pages = vec![first.content()];
    let mut msg_id = 1;
    while pages.last().unwrap().ends_with(MORE_HINT) {
        msg_id += 1;
        let more = say(&server, TOKEN, "o_reader", msg_id, "更多");
        // WeChat's retry of the same message: the same bytes, and no page skipped.
        let retry = say(&server, TOKEN, "o_reader", msg_id, "更多");
        assert_eq!(retry.xml(), more.xml());
        pages.push(more.content());
        assert!(pages.len() < 10, "paging never ends: {pages:?}");
    }
    assert!(pages.len() >= 3, "{} pages", pages.len());
    for page in &pages {
        assert!(page.len() <= 2048, "a page of {} bytes", page.len());
    }
    let joined: String = pages.iter().map(|p| p.strip_suffix(MORE_HINT).unwrap_or(p)).collect();
    assert_eq!(joined, long, "hints removed, the pages are the text");
    let after = say(&server, TOKEN, "o_reader", msg_id + 1, "more").content();
    assert!(after.contains("最后一页"), "{after}");
    let stranger = say(&server, TOKEN, "o_other", 1, "更多").content();
    assert!(stranger.contains("没有下一页"), "each follower has their own pages: {stranger}");
}

#[test]
fn check_lists_the_rules_and_warns_about_each_shadowing() {
    let dir = TempDir::new("rules-check");
    std::fs::write(dir.path().join("rules.toml"), EXAMPLE_RULES).unwrap();
    let (code, out, err) = run_cli(dir.path(), &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("rules: 10 in rules.toml, tried in this order before the commands"),
        "{out}"
    );
    assert!(out.contains("line 5: 价格, price (exact) → reply \"价格表见菜单\""), "{out}");
    assert!(out.contains("line 27: 找书 (exact) → command \"搜 三体\""), "{out}");
    let warnings: Vec<&str> = out.lines().filter(|l| l.contains("warning:")).collect();
    assert!(
        warnings.iter().any(|w| w.contains("line 43 shadows the command help: 「帮助」")),
        "{out}"
    );
    assert!(warnings.iter().any(|w| w.contains("wechat.welcome is not used")), "{out}");
    assert!(warnings.iter().any(|w| w.contains("spring-notes")), "no such article: {out}");
    assert!(warnings.iter().any(|w| w.contains("qr.png")), "no such picture: {out}");
    assert!(!warnings.iter().any(|w| w.contains("价格")), "only real shadowing: {out}");
}

#[test]
fn simulate_answers_bind_as_the_server_does_and_changes_nothing() {
    let dir = TempDir::new("rules-simulate");
    let config = format!(
        "[wechat]\ntoken = \"{TOKEN}\"\n[mail]\nhost = \"smtp.example.com\"\nfrom = \"books@example.com\"\n"
    );
    std::fs::write(dir.path().join("config.toml"), &config).unwrap();
    std::fs::write(dir.path().join("rules.toml"), EXAMPLE_RULES).unwrap();
    let simulate = |dir: &std::path::Path, words: &[&str]| {
        let args: Vec<&str> =
            ["simulate", "--config", "config.toml"].iter().chain(words).copied().collect();
        run_cli(dir, &args)
    };
    let (code, out, err) = run_cli(dir.path(), &["check", "--config", "config.toml"]);
    assert!(code == 0 && out.contains("Kindle mail: on"), "{out}{err}");

    let (code, out, err) = simulate(dir.path(), &["绑定", "me@kindle.com"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("已绑定 me@kindle.com") && out.contains("books@example.com"), "{out}");
    assert!(!out.contains("还没有开通"), "{out}");
    assert!(err.contains("answered by the command bind"), "{err}");
    assert!(err.contains("not carried out"), "{err}");
    assert!(!dir.path().join("data/zatan.redb").exists(), "simulate made no store");
    let (_, out, err) = simulate(dir.path(), &["订单", "9876"]);
    assert_eq!(out.trim(), "订单 9876 已收到");
    assert!(err.contains("answered by the rule at rules.toml line 14"), "{err}");

    // Beside a running server, which holds the store: the same answer, and the
    // server never sees the simulated binding.
    let server = Server::start_in(dir, &config);
    let (code, out, err) = simulate(server.dir.path(), &["bind", "me@kindle.com"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("已绑定 me@kindle.com"), "{out}");
    assert!(err.contains("a running zatan holds"), "{err}");
    let reply = say(&server, TOKEN, "simulated-follower", 1, "推送 k3xq7a").content();
    assert!(reply.contains("先绑定"), "{reply}");
    let reply = say(&server, TOKEN, "o_real", 2, "绑定 me@kindle.com").content();
    assert!(reply.contains("已绑定 me@kindle.com"), "the server answers as simulate did: {reply}");
}
