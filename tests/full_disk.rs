//! Full disks, for real: small tmpfs file systems (root may mount them, as CI
//! does) under `storage.data_dir`, the outbox and `books.dir`, filled to the
//! last byte. The server must answer at once, tell the owner once and the
//! truth, leave no half-written file, and heal by itself when space returns.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fake_api::{FakeApi, FakeConfig};
use common::smtp::{SmtpOptions, SmtpPeer};
use common::tmpfs::{fill, Mounts};
use common::{run_cli, wait_until, wechat, Server, TempDir};

const WAIT: Duration = Duration::from_secs(20);
/// The demo token: these configs set none.
const TOKEN: &str = "zatan";
/// What a command that must save answers while it cannot (src/bot/commands.rs).
const CANNOT_SAVE: &str = "暂时无法保存，请稍后再试。";
/// The store's one line about a disk fault (src/store.rs).
const TOLD_ONCE: &str = "Replies that must save something say so";

/// The names in `dir`, hidden ones too: what a failed write left there.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn novel(chapters: usize) -> String {
    (1..=chapters)
        .map(|n| format!("第{n}章 山雨\n\n　　他走进了第{n}座城，城里的人都在等他。\n\n"))
        .collect()
}

struct Chat<'a> {
    server: &'a Server,
    openid: &'a str,
    msg_id: u64,
}

impl Chat<'_> {
    /// Each text is a new message.
    fn say(&mut self, text: &str) -> wechat::Reply {
        self.msg_id += 1;
        self.again(text)
    }

    /// The last message once more, with its MsgId: WeChat's retry.
    fn again(&mut self, text: &str) -> wechat::Reply {
        wechat::say(self.server, TOKEN, self.openid, self.msg_id, text)
    }

    fn find(&mut self, words: &str) -> String {
        let reply = wait_until(WAIT, || {
            Some(self.say(&format!("搜 {words}")).content())
                .filter(|r| !r.contains("没有找到") && !r.contains("还是空的"))
        })
        .unwrap_or_else(|| panic!("no book found for {words}"));
        reply.split_whitespace().next().unwrap().to_string()
    }

    /// Say `text` as new messages until the reply contains `needle`.
    fn until(&mut self, text: &str, needle: &str) -> String {
        wait_until(WAIT, || Some(self.say(text).content()).filter(|r| r.contains(needle)))
            .unwrap_or_else(|| panic!("{text:?} never answered {needle:?}"))
    }
}

#[test]
fn a_full_data_dir_answers_at_once_tells_the_owner_once_and_heals_without_a_restart() {
    let mut mounts = Mounts::new("full-disk-mounts");
    let data = mounts.tmpfs("data", "4m");
    let outbox = mounts.tmpfs("data/outbox", "1m");
    let peer = SmtpPeer::start(SmtpOptions::default());
    let fake = FakeApi::start(FakeConfig::default());
    let api = fake.config();
    let tmp = TempDir::new("full-disk");
    let books = tmp.path().join("books");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(books.join("《山雨》作者：某某.txt"), novel(40)).unwrap();
    let config = format!(
        "[wechat]\ntoken = \"{TOKEN}\"\napp_id = \"{}\"\napp_secret = \"{}\"\napi_base = \"{}\"\n\
         [server]\npublic_url = \"https://books.example\"\n\
         [storage]\ndata_dir = {data:?}\n[books]\ndir = {books:?}\n{}retry_secs = 1\n",
        api.app_id,
        api.secret,
        fake.base_url(),
        peer.mail_config_toml()
    );
    let server = Server::start_in(tmp, &config);
    let mut chat = Chat { server: &server, openid: "o_full", msg_id: 0 };
    let book = chat.find("山雨");
    assert!(chat.say("绑定 before@kindle.com").content().contains("已绑定"));

    let filler = fill(&data);
    let bind = "绑定 reader@kindle.com";
    let refused = chat.say(bind);
    assert_eq!(refused.content(), CANNOT_SAVE, "{}", server.logs());
    assert_eq!(chat.again(bind).xml(), refused.xml(), "WeChat's retry gets the same reply");
    assert_eq!(chat.say(&format!("推送 {book}")).content(), CANNOT_SAVE);
    assert_eq!(chat.say(&format!("下载 {book}")).content(), CANNOT_SAVE, "a link is counted");
    assert_eq!(chat.say(bind).content(), CANNOT_SAVE);
    assert!(server.wait_for_log("disk full", WAIT), "{}", server.logs());
    let logs = server.logs();
    assert_eq!(logs.matches(TOLD_ONCE).count(), 1, "told once, not per message:\n{logs}");
    assert!(logs.contains(&format!("free space on {}", data.display())), "{logs}");
    assert!(!logs.contains("move it aside"), "a full disk is not a corrupt store:\n{logs}");
    // Reading needs no space: the store, opened again, answers.
    chat.until("状态", "没有进行中的请求");
    assert!(chat.say("搜 山雨").content().contains(&book));

    // A picture is uploaded, but its record cannot be saved: said so.
    std::fs::write(server.dir.path().join("pictures/cat.png"), b"\x89PNG\r\n\x1a\n picture")
        .unwrap();
    assert!(
        server.wait_for_log("uploaded cat.png but cannot record it", WAIT),
        "{}",
        server.logs()
    );
    let line = server.logs().lines().find(|l| l.contains("cannot record it")).unwrap().to_string();
    assert!(line.contains("disk full") && !line.contains("move it aside"), "{line}");
    let logs = server.logs();
    assert_eq!(logs.matches(TOLD_ONCE).count(), 1, "told once, not per write:\n{logs}");

    std::fs::remove_file(&filler).unwrap();
    assert!(chat.until(bind, "已绑定").contains("reader@kindle.com"));
    assert!(server.wait_for_log("saving works again", WAIT), "{}", server.logs());
    let link = chat.say(&format!("下载 {book}")).content();
    assert!(link.contains(&format!("https://books.example/books/{book}?t=")), "{link}");

    // The outbox full: the push is queued, its conversion waits for space.
    let filler = fill(&outbox);
    let queued = chat.say(&format!("推送 {book}")).content();
    assert!(queued.contains("处理中") && queued.contains("reader@kindle.com"), "{queued}");
    assert!(server.wait_for_log("waits for space in", WAIT), "{}", server.logs());
    assert!(server.logs().contains("disk full"), "{}", server.logs());
    assert_eq!(names_in(&outbox), ["filler"], "no half-converted book is left");
    assert!(peer.received().is_empty());
    std::fs::remove_file(&filler).unwrap();
    let mail = peer.wait_for(1, WAIT).remove(0);
    assert_eq!(mail.rcpt_tos, ["reader@kindle.com"]);
    assert_eq!(mail.attachments[0].file_name.as_deref(), Some("山雨.epub"));
    chat.until("状态", "已寄出");

    // A restart finds every binding and job.
    let dir = server.kill9();
    let server = Server::start_in(dir, &config);
    let mut chat = Chat { server: &server, openid: "o_full", msg_id: 1000 };
    assert!(chat.until("状态", "已寄出").contains("山雨"));
    let again = chat.say(&format!("推送 {book}")).content();
    assert!(again.contains("reader@kindle.com"), "the binding survived: {again}");
    peer.wait_for(2, WAIT);
}

#[test]
fn books_add_and_convert_onto_a_full_disk_say_disk_full_and_leave_no_partial_file() {
    let mut mounts = Mounts::new("full-disk-cli-mounts");
    let full = mounts.tmpfs("full", "1m");
    let tmp = TempDir::new("full-disk-cli");
    let source = tmp.path().join("《山雨》作者：某某.txt");
    std::fs::write(&source, novel(400)).unwrap();
    std::fs::write(
        tmp.path().join("config.toml"),
        format!("[storage]\ndata_dir = \"data\"\n[books]\ndir = {full:?}\n"),
    )
    .unwrap();
    fill(&full);

    let add = ["books", "add", source.to_str().unwrap(), "--config", "config.toml"];
    let (code, _, stderr) = run_cli(tmp.path(), &add);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("disk full"), "{stderr}");
    assert_eq!(names_in(&full), ["filler"], "no partial book in books.dir");

    let out = full.join("山雨.epub");
    let (code, _, stderr) =
        run_cli(tmp.path(), &["convert", source.to_str().unwrap(), out.to_str().unwrap()]);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("disk full"), "{stderr}");
    assert_eq!(names_in(&full), ["filler"], "no partial EPUB");

    std::fs::remove_file(full.join("filler")).unwrap();
    let (code, stdout, stderr) = run_cli(tmp.path(), &add);
    assert_eq!(code, 0, "with space back it works: {stdout}{stderr}");
    assert_eq!(names_in(&full).len(), 1, "{:?}", names_in(&full));
}
