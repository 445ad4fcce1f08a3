//! Kindle pushes end to end: the real binary, a real SMTP server on loopback
//! (aiosmtpd with STARTTLS and AUTH, its private CA passed as `mail.ca_file`),
//! and what arrives parsed back.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::fake_api::{FakeApi, FakeConfig};
use common::smtp::{self, SmtpOptions, SmtpPeer};
use common::{wait_until, wechat, Server};
use zatan::ebook::ConvertOptions;

const WAIT: Duration = Duration::from_secs(20);
/// The demo token: these configs set none.
const TOKEN: &str = "zatan";

fn novel(chapters: usize) -> String {
    (1..=chapters)
        .map(|n| format!("第{n}章 山雨\n\n　　他走进了第{n}座城，城里的人都在等他。\n\n"))
        .collect()
}

/// A TXT book in `books`, named so its title and author are read back.
fn txt_book(books: &Path, title: &str, chapters: usize) -> PathBuf {
    let path = books.join(format!("《{title}》作者：某某.txt"));
    std::fs::write(&path, novel(chapters)).unwrap();
    path
}

/// An EPUB book in `books`, made by zatan's own converter.
fn epub_book(books: &Path, title: &str, chapters: usize) -> PathBuf {
    let source = books.parent().unwrap().join(format!("{title}.txt"));
    std::fs::write(&source, novel(chapters)).unwrap();
    let path = books.join(format!("{title}.epub"));
    let opts =
        ConvertOptions { title: Some(title.into()), author: Some("某某".into()), lang: None };
    zatan::ebook::convert(&source, &path, &opts).unwrap();
    path
}

struct Chat<'a> {
    server: &'a Server,
    openid: &'a str,
    msg_id: u64,
}

impl Chat<'_> {
    /// Each text is a new message.
    fn say(&mut self, text: &str) -> String {
        self.msg_id += 1;
        wechat::say(self.server, TOKEN, self.openid, self.msg_id, text).content()
    }

    /// The id of the only book a search finds.
    fn find(&mut self, words: &str) -> String {
        let reply = wait_until(WAIT, || {
            Some(self.say(&format!("搜 {words}")))
                .filter(|r| !r.contains("没有找到") && !r.contains("还是空的"))
        })
        .unwrap_or_else(|| panic!("no book found for {words}"));
        reply.split_whitespace().next().unwrap().to_string()
    }

    fn status_until(&mut self, needle: &str) -> String {
        wait_until(WAIT, || Some(self.say("状态")).filter(|s| s.contains(needle)))
            .unwrap_or_else(|| panic!("status never showed {needle:?}; last: {}", self.say("状态")))
    }
}

fn config(peer: &SmtpPeer, extra_mail: &str) -> String {
    format!("{}retry_secs = 1\n{extra_mail}", peer.mail_config_toml())
}

#[test]
fn a_bound_follower_gets_the_book_on_their_kindle() {
    let peer = SmtpPeer::start(SmtpOptions::default());
    let server = Server::start("kindle-push", &config(&peer, ""));
    let books = server.dir.path().join("books");
    let epub = epub_book(&books, "三体", 3);
    txt_book(&books, "球状闪电", 4);
    let mut chat = Chat { server: &server, openid: "o_reader", msg_id: 0 };

    let santi = chat.find("三体");
    assert!(chat.say(&format!("推送 {santi}")).contains("先绑定"), "no address yet");
    let refused = chat.say("绑定 someone@gmail.com");
    assert!(refused.contains("kindle.com"), "{refused}");
    let bound = chat.say("绑定 Reader_1@Kindle.com");
    assert!(bound.contains("reader_1@kindle.com") && bound.contains(smtp::FROM), "{bound}");

    let queued = chat.say(&format!("push {santi}"));
    assert!(queued.contains("处理中") && queued.contains("《三体》"), "{queued}");
    let mail = peer.wait_for(1, WAIT).remove(0);
    assert_eq!(mail.rcpt_tos, ["reader_1@kindle.com"]);
    assert!(
        mail.tls && mail.auth_login.as_deref() == Some(smtp::USER),
        "STARTTLS and AUTH were used"
    );
    assert!(mail.subject_ascii && mail.message_ascii, "{}", mail.subject_raw);
    let attachment = &mail.attachments[0];
    assert_eq!(attachment.file_name.as_deref(), Some("三体.epub"));
    assert_eq!(attachment.content_type, "application/epub+zip");
    assert_eq!(attachment.bytes, std::fs::read(&epub).unwrap(), "a sound EPUB goes byte for byte");
    chat.status_until("已寄出");

    // A TXT is converted first: what arrives is an EPUB of that book.
    let ball = chat.find("球状闪电");
    chat.say(&format!("推送 {ball}"));
    let mail = peer.wait_for(2, WAIT).remove(1);
    let attachment = &mail.attachments[0];
    assert_eq!(attachment.file_name.as_deref(), Some("球状闪电.epub"));
    let arrived = server.dir.path().join("arrived.epub");
    std::fs::write(&arrived, &attachment.bytes).unwrap();
    let meta = zatan::ebook::read_metadata(&arrived).expect("an EPUB zatan can read");
    assert_eq!((meta.title.as_str(), meta.author.as_deref()), ("球状闪电", Some("某某")));

    let logged = format!("sent book {santi} (三体) for o_reader to reader_1@kindle.com");
    assert!(server.wait_for_log(&logged, WAIT), "every delivery is logged");
    assert!(!server.logs().contains(smtp::PASSWORD), "the SMTP password never reaches the log");
}

#[test]
fn smtp_down_for_a_while_then_delivered_and_550_fails_with_the_reason() {
    let mut peer = SmtpPeer::start(SmtpOptions {
        reject_rcpt: Some("nobody".into()),
        ..SmtpOptions::default()
    });
    let server = Server::start("kindle-retry", &config(&peer, ""));
    let books = server.dir.path().join("books");
    epub_book(&books, "三体", 2);
    let mut chat = Chat { server: &server, openid: "o_patient", msg_id: 0 };
    let id = chat.find("三体");
    chat.say("绑定 patient@kindle.com");

    peer.stop();
    chat.say(&format!("推送 {id}"));
    assert!(server.wait_for_log("next try in", WAIT), "a refused connection is retried");
    // And retried again while the peer is still down.
    assert!(server.wait_for_logs("next try in", 2, WAIT), "{}", server.logs());
    assert!(peer.received().is_empty());
    peer.restart();
    let mail = peer.wait_for(1, Duration::from_secs(40)).remove(0);
    assert_eq!(mail.rcpt_tos, ["patient@kindle.com"]);
    chat.status_until("已寄出");

    let mut other = Chat { server: &server, openid: "o_unknown", msg_id: 1000 };
    other.say("绑定 nobody@kindle.com");
    other.say(&format!("推送 {id}"));
    let status = other.status_until("失败");
    assert!(status.contains("550"), "the server's reason is shown: {status}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(peer.received().len(), 1, "a permanent refusal is not retried");
}

#[test]
fn a_kill_during_the_send_delivers_after_the_restart() {
    let peer = SmtpPeer::start(SmtpOptions {
        stall_data: Some(Duration::from_secs(3)),
        ..SmtpOptions::default()
    });
    let config = config(&peer, "");
    let server = Server::start("kindle-kill", &config);
    let books = server.dir.path().join("books");
    epub_book(&books, "三体", 2);
    let mut chat = Chat { server: &server, openid: "o_kill", msg_id: 0 };
    let id = chat.find("三体");
    chat.say("绑定 kill@kindle.com");
    chat.say(&format!("推送 {id}"));
    chat.status_until("发送中");
    // The whole message is with the peer, which holds back its answer for 3 s.
    peer.wait_for_data(1, WAIT);
    let dir = server.kill9();

    let server = Server::start_in(dir, &config);
    assert!(server.wait_for_log("resuming 1 unfinished job", WAIT), "{}", server.logs());
    // The first attempt may have reached the peer too: at-least-once.
    let received = peer.wait_for(1, WAIT);
    assert!(received.iter().all(|m| m.rcpt_tos == ["kill@kindle.com"]));
    let mut chat = Chat { server: &server, openid: "o_kill", msg_id: 100 };
    chat.status_until("已寄出");
    assert!(server.wait_for_log("sent book", WAIT), "the restarted server sent it");
}

#[test]
fn daily_limit_and_size_cap_refuse_before_anything_is_sent() {
    let peer = SmtpPeer::start(SmtpOptions::default());
    let server = Server::start(
        "kindle-limits",
        &config(&peer, "daily_limit_per_user = 2\nmax_mail_bytes = 40000\n"),
    );
    let books = server.dir.path().join("books");
    epub_book(&books, "短篇", 2);
    // Random-looking text compresses badly, so its EPUB is over the cap too.
    let noise: String = (0..60_000u32)
        .map(|i| char::from_u32(0x4E00 + (i.wrapping_mul(2_654_435_761) >> 7) % 20_000).unwrap())
        .collect();
    let big_txt = books.parent().unwrap().join("big.txt");
    std::fs::write(&big_txt, format!("第1章 大\n\n{noise}\n")).unwrap();
    let opts =
        ConvertOptions { title: Some("巨著".into()), author: Some("某某".into()), lang: None };
    zatan::ebook::convert(&big_txt, &books.parent().unwrap().join("big.epub"), &opts).unwrap();
    std::fs::rename(books.parent().unwrap().join("big.epub"), books.join("巨著.epub")).unwrap();
    std::fs::rename(&big_txt, books.join("《大书》作者：某某.txt")).unwrap();

    let mut chat = Chat { server: &server, openid: "o_limits", msg_id: 0 };
    let short = chat.find("短篇");
    let big_txt = chat.find("大书");
    let big_epub = chat.find("巨著");
    chat.say("绑定 limits@kindle.com");

    // An EPUB over the cap is refused at once.
    let refused = chat.say(&format!("推送 {big_epub}"));
    assert!(refused.contains("太大") && refused.contains("上限"), "{refused}");
    // A TXT whose EPUB is over the cap fails while being prepared, with the reason.
    chat.say(&format!("推送 {big_txt}"));
    assert!(chat.status_until("失败").contains("太大"));

    chat.say(&format!("推送 {short}"));
    let limited = chat.say(&format!("推送 {short}"));
    assert!(limited.contains("每天最多 2 本"), "the failed push counts too: {limited}");
    peer.wait_for(1, WAIT);
    std::thread::sleep(Duration::from_millis(500));
    let received = peer.received();
    assert_eq!(received.len(), 1, "only the short book went out");
    assert_eq!(received[0].attachments[0].file_name.as_deref(), Some("短篇.epub"));
}

#[test]
fn verified_accounts_hear_the_outcome_by_customer_service_message() {
    let fake = FakeApi::start(FakeConfig::default());
    let peer = SmtpPeer::start(SmtpOptions::default());
    let api = fake.config();
    let config = format!(
        "[wechat]\napp_id = \"{}\"\napp_secret = \"{}\"\napi_base = \"{}\"\nverified = true\n{}",
        api.app_id,
        api.secret,
        fake.base_url(),
        config(&peer, "")
    );
    let server = Server::start("kindle-notify", &config);
    epub_book(&server.dir.path().join("books"), "三体", 2);
    let mut chat = Chat { server: &server, openid: "o_told", msg_id: 0 };
    let id = chat.find("三体");
    chat.say("绑定 told@kindle.com");
    assert!(chat.say(&format!("推送 {id}")).contains("寄出后会通知你"));
    peer.wait_for(1, WAIT);
    let told = wait_until(WAIT, || fake.sent().into_iter().find(|m| m.touser == "o_told"))
        .expect("a customer-service message");
    assert_eq!(told.msgtype, "text");
    assert!(told.content.contains("已经寄往 Kindle"), "{}", told.content);
}
