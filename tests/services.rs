//! Background services against the fake WeChat API over loopback: the token
//! owner (in-process, real redb files) and picture uploads (the real binary,
//! real inotify on a temp dir).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_api::{Endpoint, FakeApi, FakeConfig};
use common::wechat::say;
use common::{wait_until, Server, TempDir};
use zatan::config::{Secret, TokenApi};
use zatan::services::token::{TokenOwner, TokenSource, Tokens};
use zatan::shutdown::{self, Trigger};
use zatan::store::Store;
use zatan::wechat::api::{ApiClient, MediaType};

const WAIT: Duration = Duration::from_secs(10);
const TOKEN: &str = "t0ken";

fn png(seed: u8) -> Vec<u8> {
    // Magic bytes are what WeChat (and the fake) check; the rest makes each picture distinct.
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(std::iter::repeat_n(seed, 200));
    bytes
}

struct OwnerThread {
    tokens: Tokens,
    trigger: Option<Trigger>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OwnerThread {
    fn start(fake: &FakeApi, store: Arc<Store>) -> OwnerThread {
        let config = fake.config();
        let source = TokenSource {
            api: ApiClient::new(fake.base_url(), Duration::from_secs(5)),
            app_id: config.app_id,
            app_secret: Secret::new(config.secret),
            flavor: TokenApi::Stable,
        };
        let (owner, tokens) = TokenOwner::new(source, Some(store));
        let (trigger, shutdown) = shutdown::pair();
        let thread = std::thread::spawn(move || owner.run(&shutdown));
        OwnerThread { tokens, trigger: Some(trigger), thread: Some(thread) }
    }
}

impl Drop for OwnerThread {
    fn drop(&mut self) {
        drop(self.trigger.take());
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

#[test]
fn fifty_concurrent_readers_cause_one_token_fetch_and_a_restart_reuses_it() {
    let fake = FakeApi::start(FakeConfig::default());
    fake.set_delay(Endpoint::StableToken, Duration::from_millis(300));
    let dir = TempDir::new("token-readers");
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let owner = OwnerThread::start(&fake, store.clone());
    let readers: Vec<_> = (0..50)
        .map(|_| {
            let tokens = owner.tokens.clone();
            std::thread::spawn(move || tokens.get(WAIT).map(|t| t.value().to_string()))
        })
        .collect();
    let values: Vec<String> = readers.into_iter().map(|r| r.join().unwrap().unwrap()).collect();
    assert!(values.iter().all(|v| v == &values[0]));
    assert!(fake.is_token_valid(&values[0]));
    assert_eq!(fake.token_fetches(), 1);
    drop(owner);

    // A restart on the same store reuses the stored token: no fetch at all.
    let owner = OwnerThread::start(&fake, store);
    assert_eq!(owner.tokens.get(WAIT).unwrap().value(), values[0]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fake.token_fetches(), 1);
}

#[test]
fn an_invalid_token_causes_one_refresh_and_one_retry_even_when_many_calls_fail() {
    let fake = FakeApi::start(FakeConfig::default());
    let dir = TempDir::new("token-invalid");
    let owner = OwnerThread::start(&fake, Arc::new(Store::open(dir.path()).unwrap()));
    let api = ApiClient::new(fake.base_url(), Duration::from_secs(5));
    let first = owner.tokens.get(WAIT).unwrap();
    assert_eq!(fake.token_fetches(), 1);

    // One caller: refused with 40001, one refresh, one retry that succeeds.
    fake.invalidate_tokens(); // what a second token fetcher elsewhere does to us
    owner
        .tokens
        .call(WAIT, |t| api.upload_temp_media(t, MediaType::Image, "one.png", &png(0)))
        .unwrap();
    assert_eq!((fake.token_fetches(), fake.uploads(), fake.uploaded().len()), (2, 2, 1));

    // Ten callers refused at once: still one refresh. (A caller that starts
    // after the refresh began never meets the old token, so calls are 11..=20.)
    fake.invalidate_tokens();
    fake.set_delay(Endpoint::StableToken, Duration::from_millis(300));
    let callers: Vec<_> = (0..10u8)
        .map(|i| {
            let (tokens, api) = (owner.tokens.clone(), api.clone());
            std::thread::spawn(move || {
                tokens.call(WAIT, |t| api.upload_temp_media(t, MediaType::Image, "p.png", &png(i)))
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap().expect("retried with a fresh token");
    }
    assert_eq!(fake.token_fetches(), 3, "one refresh for all the failures");
    assert_eq!(fake.uploaded().len(), 11, "every call succeeded in the end");
    let calls = fake.uploads() - 2;
    assert!((11..=20).contains(&calls), "no call was retried more than once: {calls} calls");
    let fresh = owner.tokens.current().unwrap();
    assert_ne!(fresh.value(), first.value());
    assert!(fake.is_token_valid(fresh.value()));
}

#[test]
fn a_bad_secret_is_one_clear_error_and_no_hammering() {
    let fake = FakeApi::start(FakeConfig::default());
    let dir = TempDir::new("token-secret");
    let source = TokenSource {
        api: ApiClient::new(fake.base_url(), Duration::from_secs(5)),
        app_id: fake.config().app_id,
        app_secret: Secret::new("wrongSecretValue"),
        flavor: TokenApi::Stable,
    };
    let (owner, tokens) = TokenOwner::new(source, Some(Arc::new(Store::open(dir.path()).unwrap())));
    let (trigger, shutdown) = shutdown::pair();
    let thread = std::thread::spawn(move || owner.run(&shutdown));
    let refused = |err: &str| err.contains("40125") || err.to_lowercase().contains("secret");
    // The back-off starts when the first fetch has failed: readers say why from then on.
    let first = wait_until(WAIT, || {
        let err = tokens.get(Duration::from_millis(50)).unwrap_err().to_string();
        assert!(!err.contains("wrongSecretValue"), "{err}");
        Some(err).filter(|err| refused(err))
    });
    assert!(first.is_some(), "the first fetch never failed");
    for _ in 0..20 {
        let err = tokens.get(Duration::from_millis(50)).unwrap_err();
        assert!(!err.to_string().contains("wrongSecretValue"), "{err}");
    }
    let err = tokens.get(Duration::from_millis(50)).unwrap_err().to_string();
    assert!(refused(&err), "{err}");
    assert_eq!(fake.token_fetches(), 1, "20 readers during the back-off cause no new fetch");
    trigger.fire();
    thread.join().unwrap();
}

fn api_config(fake: &FakeApi, extra: &str) -> String {
    let c = fake.config();
    format!(
        "[wechat]\ntoken = \"{TOKEN}\"\napp_id = \"{}\"\napp_secret = \"{}\"\napi_base = \"{}\"\n{extra}",
        c.app_id,
        c.secret,
        fake.base_url()
    )
}

/// What `pic` answers now: Some(media_id) for an image, None for "none ready".
fn ask_for_picture(server: &Server, n: u64) -> Option<String> {
    let reply = say(server, TOKEN, "o_pic", n, "图片");
    match reply.field("MsgType").as_deref() {
        Some("image") => Some(reply.field("MediaId").unwrap()),
        Some("text") => None,
        other => panic!("unexpected reply {other:?}: {}", reply.xml()),
    }
}

#[test]
fn pictures_are_uploaded_offered_replaced_renewed_and_forgotten() {
    let fake = FakeApi::start(FakeConfig {
        media_lifetime: Duration::from_secs(6),
        ..FakeConfig::default()
    });
    let server =
        Server::start("pictures", &api_config(&fake, "[pictures]\nmedia_lifetime_secs = 6\n"));
    let pictures = server.dir.path().join("pictures");
    let mut n = 0;
    let mut ask = || {
        n += 1;
        ask_for_picture(&server, n)
    };
    assert_eq!(ask(), None, "nothing to offer yet");

    // Dropped in: uploaded and offered within 2 s.
    let dropped = Instant::now();
    std::fs::write(pictures.join("cat.png"), png(1)).unwrap();
    let media = wait_until(Duration::from_secs(2), &mut ask).expect("offered within 2 s");
    println!("offered {:?} after the drop", dropped.elapsed());
    assert!(fake.is_media_live(&media));
    let upload = fake.uploaded().into_iter().find(|u| u.media_id == media).unwrap();
    assert_eq!((upload.file_name.as_str(), upload.content_type.as_str()), ("cat.png", "image/png"));

    // Not an image, and too big: skipped, never offered.
    std::fs::write(pictures.join("notes.txt"), b"hello").unwrap();
    std::fs::write(pictures.join("huge.png"), [png(9), vec![0; 10 * 1024 * 1024]].concat())
        .unwrap();

    // Modified: uploaded again, the new media offered.
    std::fs::write(pictures.join("cat.png"), png(2)).unwrap();
    let replaced = wait_until(Duration::from_secs(3), || ask().filter(|m| m != &media))
        .expect("re-uploaded after a change");
    assert_eq!(fake.uploaded().iter().filter(|u| u.file_name == "cat.png").count(), 2);

    // Short lifetime: re-uploaded at ~90% of it, before the media expires.
    let renewed = wait_until(Duration::from_secs(8), || {
        fake.uploaded()
            .iter()
            .filter(|u| u.file_name == "cat.png")
            .nth(2)
            .map(|u| u.media_id.clone())
    })
    .expect("re-uploaded before expiry");
    assert!(fake.is_media_live(&renewed));
    let offered = wait_until(Duration::from_secs(2), || ask().filter(|m| m == &renewed));
    assert!(offered.is_some(), "the renewed media is offered");
    assert!(!fake
        .uploaded()
        .iter()
        .any(|u| u.file_name == "notes.txt" || u.file_name == "huge.png"));
    assert!(server.wait_for_log("huge.png", WAIT), "{}", server.logs());
    assert_ne!(replaced, media);

    // Deleted: no longer offered.
    std::fs::remove_file(pictures.join("cat.png")).unwrap();
    assert!(wait_until(Duration::from_secs(2), || if ask().is_none() { Some(()) } else { None })
        .is_some());
}

#[test]
fn kill_during_an_upload_then_restart_completes_it() {
    let fake = FakeApi::start(FakeConfig::default());
    let dir = TempDir::new("kill-upload");
    std::fs::create_dir_all(dir.path().join("pictures")).unwrap();
    std::fs::write(dir.path().join("pictures/old.png"), png(3)).unwrap();
    let config = api_config(&fake, "");
    let server = Server::start_in(dir, &config);
    let mut n = 0;
    let old = wait_until(WAIT, || {
        n += 1; // each ask is a new message: a repeated MsgId would get the cached reply
        ask_for_picture(&server, n)
    })
    .expect("old.png uploaded");

    // The next upload hangs; kill -9 while it does.
    fake.set_delay(Endpoint::MediaUpload, Duration::from_secs(30));
    std::fs::write(server.dir.path().join("pictures/new.png"), png(4)).unwrap();
    assert!(wait_until(WAIT, || fake
        .uploaded()
        .iter()
        .any(|u| u.file_name == "new.png")
        .then_some(()))
    .is_some());
    let dir = server.kill9();
    fake.set_delay(Endpoint::MediaUpload, Duration::ZERO);

    let server = Server::start_in(dir, &config);
    let mut offered = std::collections::HashSet::new();
    let complete = wait_until(WAIT, || {
        for _ in 0..4 {
            n += 1;
            offered.extend(ask_for_picture(&server, n));
        }
        (offered.len() == 2).then_some(())
    });
    assert!(complete.is_some(), "both pictures offered after the restart: {offered:?}");
    assert!(offered.contains(&old), "old.png was not uploaded again");
    assert!(offered.iter().all(|m| fake.is_media_live(m)));
    assert_eq!(fake.uploaded().iter().filter(|u| u.file_name == "old.png").count(), 1);
    assert_eq!(fake.token_fetches(), 1, "the restart reused the stored token");
}

#[test]
fn sigterm_during_a_slow_upload_still_exits_zero_within_five_seconds() {
    let fake = FakeApi::start(FakeConfig::default());
    fake.set_delay(Endpoint::MediaUpload, Duration::from_secs(30));
    let server = Server::start("sigterm-upload", &api_config(&fake, ""));
    std::fs::write(server.dir.path().join("pictures/slow.png"), png(5)).unwrap();
    assert!(wait_until(WAIT, || (fake.uploads() > 0).then_some(())).is_some());
    let (status, took, logs) = server.terminate();
    assert!(status.success(), "{logs}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn without_api_credentials_check_says_the_features_are_off() {
    let dir = TempDir::new("api-off");
    let out = Command::new(common::BIN)
        .arg("check")
        .current_dir(dir.path())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("WeChat API (uploads, customer-service replies, menus): off"),
        "{stdout}"
    );
}

#[test]
fn check_says_what_the_account_kind_can_do() {
    let dir = TempDir::new("account-kind");
    let (code, out, err) = common::run_cli(dir.path(), &["check"]);
    assert_eq!(code, 0, "{err}");
    let account = out.lines().find(|l| l.contains("account:")).unwrap_or_else(|| panic!("{out}"));
    for words in [
        "unverified subscription account (wechat.verified = false)",
        "passive replies",
        "temporary media",
        "no customer-service messages",
        "no menu API",
    ] {
        assert!(account.contains(words), "{words:?} missing: {account}");
    }
    std::fs::write(dir.path().join("config.toml"), "[wechat]\nverified = true\n").unwrap();
    let (_, out, _) = common::run_cli(dir.path(), &["check", "--config", "config.toml"]);
    let account = out.lines().find(|l| l.contains("account:")).unwrap();
    assert!(account.contains("verified (wechat.verified = true)"), "{account}");
    assert!(account.contains("customer-service messages") && !account.contains("no menu API"));
}

#[test]
fn menu_push_show_delete_beside_a_running_server() {
    let fake = FakeApi::start(FakeConfig::default());
    let server = Server::start("menu", &api_config(&fake, ""));
    let dir = server.dir.path();
    let server_token = wait_until(WAIT, || (fake.token_fetches() > 0).then_some(())).is_some();
    assert!(server_token, "the server fetched its token");
    std::fs::write(
        dir.join("menu.json"),
        r#"{"button":[{"type":"click","name":"帮助","key":"help"}]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("bad.json"), r#"{"buttons":[]}"#).unwrap();

    let (code, out, err) =
        common::run_cli(dir, &["menu", "push", "menu.json", "--config", "config.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fake.menu().unwrap()["button"][0]["key"], "help");
    let (code, out, err) = common::run_cli(dir, &["menu", "show", "--config", "config.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"help\""), "{out}");
    let (code, out, err) = common::run_cli(dir, &["menu", "delete", "--config", "config.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(fake.menu().is_none());

    let (code, _, err) =
        common::run_cli(dir, &["menu", "push", "bad.json", "--config", "config.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("\"button\" array"), "{err}");
    assert_eq!(fake.calls(Endpoint::MenuCreate), 1, "a bad menu file is refused before any call");
    assert!(!err.contains(&fake.config().secret));
}

#[test]
fn menu_push_on_an_unverified_account_says_why_in_words() {
    let fake = FakeApi::start(FakeConfig { verified: false, ..FakeConfig::default() });
    let dir = TempDir::new("menu-unverified");
    std::fs::write(dir.path().join("config.toml"), api_config(&fake, "")).unwrap();
    std::fs::write(
        dir.path().join("menu.json"),
        r#"{"button":[{"type":"click","name":"帮助","key":"help"}]}"#,
    )
    .unwrap();
    let (code, out, err) =
        common::run_cli(dir.path(), &["menu", "push", "menu.json", "--config", "config.toml"]);
    assert_eq!(code, 2, "the account cannot have a menu: a setting, not a hiccup\n{out}{err}");
    for words in ["not verified", "48001", "api unauthorized", "帮助", "rules.file"] {
        assert!(err.contains(words), "{words:?} missing: {err}");
    }
    assert!(!err.contains("wechat.verified = true"), "the config already says false: {err}");
    assert_eq!(fake.calls(Endpoint::MenuCreate), 1);
    assert!(fake.menu().is_none());

    // The same account, configured as verified by mistake: the words say which key to change.
    std::fs::write(dir.path().join("config.toml"), api_config(&fake, "verified = true\n")).unwrap();
    let (code, _, err) = common::run_cli(dir.path(), &["menu", "show", "--config", "config.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("set it to false"), "{err}");
}

#[test]
fn a_slow_picture_request_is_delivered_later_and_survives_a_restart_once() {
    let fake = FakeApi::start(FakeConfig::default());
    // Verified account: permanent material, and results pushed by customer-service message.
    let config = api_config(&fake, "verified = true\n");
    let server = Server::start("late", &config);
    fake.set_delay(Endpoint::AddMaterial, Duration::from_secs(3));
    std::fs::write(server.dir.path().join("pictures/slow.png"), png(6)).unwrap();
    assert!(wait_until(WAIT, || (fake.material_uploads() > 0).then_some(())).is_some());

    let started = Instant::now();
    let answer = say(&server, TOKEN, "o_late", 500, "图片").content();
    assert!(started.elapsed() < Duration::from_secs(1), "answered at once, not after the upload");
    assert!(answer.contains("处理中"), "{answer}");

    // kill -9 before the job is done; WeChat's retry of the same message
    // reaches the restarted server: still one job, delivered once.
    let dir = server.kill9();
    let server = Server::start_in(dir, &config);
    assert!(wait_until(WAIT, || (fake.material_uploads() > 1).then_some(())).is_some());
    let again = say(&server, TOKEN, "o_late", 500, "图片").content();
    assert!(again.contains("处理中"), "{again}");
    let sent = wait_until(WAIT, || fake.sent().into_iter().find(|m| m.touser == "o_late"))
        .expect("pushed");
    assert_eq!(sent.msgtype, "image");
    let material = fake.uploaded().into_iter().find(|u| u.permanent && u.media_id == sent.content);
    assert!(material.is_some(), "the pushed media_id is the uploaded material");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fake.sent().iter().filter(|m| m.touser == "o_late").count(), 1, "one job, one push");
    let status = say(&server, TOKEN, "o_late", 501, "状态").content();
    assert_eq!(status.lines().count(), 1, "{status}");
    assert!(status.contains("#1 图片：已发送"), "{status}");
}

#[test]
fn an_unverified_account_keeps_the_result_for_status() {
    let fake = FakeApi::start(FakeConfig::default());
    let server = Server::start("late-unverified", &api_config(&fake, ""));
    fake.set_delay(Endpoint::MediaUpload, Duration::from_secs(2));
    std::fs::write(server.dir.path().join("pictures/slow.png"), png(7)).unwrap();
    assert!(wait_until(WAIT, || (fake.uploads() > 0).then_some(())).is_some());
    let answer = say(&server, TOKEN, "o_wait", 600, "来张图").content();
    assert!(answer.contains("状态"), "{answer}");
    let mut n = 600;
    let status = wait_until(WAIT, || {
        n += 1;
        Some(say(&server, TOKEN, "o_wait", n, "status").content()).filter(|s| s.contains("准备好"))
    });
    assert!(status.is_some(), "the kept result shows in status");
    assert_eq!(fake.sends(), 0, "no customer-service message on an unverified account");
    let other = say(&server, TOKEN, "o_other", 700, "状态").content();
    assert!(other.contains("没有"), "followers see only their own jobs");
}
