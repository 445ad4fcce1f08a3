//! The WeChat API client against the fake WeChat API over loopback sockets.

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::fake_api::{Endpoint, FakeApi, FakeConfig};
use common::http_client::request;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zatan::wechat::api::{AccessToken, ApiClient, ApiError, CustomMessage, ErrorAction, MediaType};
use zatan::wechat::Article;

const TIMEOUT: Duration = Duration::from_secs(5);
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01fake png pixels";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0fake jpeg pixels";

fn start(config: FakeConfig) -> (FakeApi, ApiClient) {
    let fake = FakeApi::start(config);
    let client = ApiClient::new(fake.base_url(), TIMEOUT);
    (fake, client)
}

fn start_default() -> (FakeApi, ApiClient) {
    start(FakeConfig::default())
}

fn fetch_token(fake: &FakeApi, client: &ApiClient) -> AccessToken {
    let config = fake.config();
    client.stable_token(&config.app_id, &config.secret, false).expect("stable token")
}

fn wechat_code<T: std::fmt::Debug>(result: Result<T, ApiError>) -> (i64, ErrorAction) {
    match result {
        Err(ApiError::Wechat { code, action, .. }) => (code, action),
        other => panic!("expected a WeChat error, got {other:?}"),
    }
}

/// A raw HTTP request, for what the client would never send. Returns the JSON answer.
fn raw_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    content_type: &str,
    body: &[u8],
) -> Value {
    let mut raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    serde_json::from_slice(&request(addr, &raw).body).unwrap()
}

fn raw_upload(
    fake: &FakeApi,
    token: &AccessToken,
    field: &str,
    content_type: &str,
    data: &[u8],
) -> Value {
    let mut body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.png\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let target = format!("/cgi-bin/media/upload?access_token={}&type=image", token.value());
    raw_request(fake.addr(), "POST", &target, "multipart/form-data; boundary=XyZ", &body)
}

// --- tokens -----------------------------------------------------------------

#[test]
fn stable_token_round_trip_returns_the_current_token_with_its_remaining_lifetime() {
    let (fake, client) = start_default();
    let first = fetch_token(&fake, &client);
    assert!(fake.is_token_valid(first.value()));
    assert_eq!(first.expires_in, Duration::from_secs(7200));

    thread::sleep(Duration::from_millis(1100));
    let second = fetch_token(&fake, &client);
    assert_eq!(second.value(), first.value(), "a non-forced call returns the current token");
    assert!(
        second.expires_in < first.expires_in,
        "{:?} then {:?}",
        first.expires_in,
        second.expires_in
    );
    assert_eq!(fake.token_fetches(), 2);
}

#[test]
fn forced_stable_token_replaces_the_old_one() {
    let (fake, client) = start_default();
    let config = fake.config();
    let old = fetch_token(&fake, &client);
    let new = client.stable_token(&config.app_id, &config.secret, true).unwrap();
    assert_ne!(new.value(), old.value());
    assert!(fake.is_token_valid(new.value()));
    assert!(client.menu_delete(&old).unwrap_err().is_token_error());
}

#[test]
fn classic_token_invalidates_the_previous_one_after_the_overlap() {
    let (fake, client) =
        start(FakeConfig { classic_overlap: Duration::ZERO, ..FakeConfig::default() });
    let config = fake.config();
    let first = client.classic_token(&config.app_id, &config.secret).unwrap();
    assert_eq!(first.expires_in, Duration::from_secs(7200));
    client.menu_delete(&first).expect("a fresh classic token works");

    let second = client.classic_token(&config.app_id, &config.secret).unwrap();
    assert_ne!(second.value(), first.value());
    client.menu_delete(&second).unwrap();
    assert_eq!(wechat_code(client.menu_delete(&first)).0, 40001);
}

#[test]
fn wrong_secret_is_a_config_error_that_never_shows_the_secret() {
    let (fake, client) = start_default();
    let app_id = fake.config().app_id;
    let wrong = "WRONG0secret0value0123456789abcd";
    for result in [client.stable_token(&app_id, wrong, false), client.classic_token(&app_id, wrong)]
    {
        let err = result.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(wrong), "{text}");
        assert!(!text.contains("secret="), "no URL with its query: {text}");
        match err {
            ApiError::Wechat { code: 40125, action: ErrorAction::FixConfig(hint), .. } => {
                assert!(hint.contains("wechat.app_secret"), "{hint}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn wrong_app_id_is_a_config_error_naming_the_app_id() {
    let (fake, client) = start_default();
    let err = client.stable_token("wxWRONG", &fake.config().secret, false).unwrap_err();
    assert!(
        matches!(&err, ApiError::Wechat { code: 40013, action: ErrorAction::FixConfig(_), .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("wechat.app_id"), "{err}");
}

#[test]
fn caller_not_whitelisted_gets_a_hint_with_its_ip() {
    let config = FakeConfig {
        ip_whitelist: Some(vec!["10.9.8.7".parse().unwrap()]),
        ..FakeConfig::default()
    };
    let (fake, client) = start(config);
    let config = fake.config();
    let err = client.stable_token(&config.app_id, &config.secret, false).unwrap_err();
    let (code, action) = wechat_code::<()>(Err(err.clone()));
    assert_eq!(code, 40164);
    assert_eq!(
        action,
        ErrorAction::FixConfig("add 127.0.0.1 to the IP whitelist in the admin console".into())
    );
    assert!(err.to_string().contains("add 127.0.0.1 to the IP whitelist"), "{err}");
}

#[test]
fn an_expired_token_is_a_token_error() {
    let (fake, client) =
        start(FakeConfig { token_lifetime: Duration::from_secs(2), ..FakeConfig::default() });
    let token = fetch_token(&fake, &client);
    assert_eq!(token.expires_in, Duration::from_secs(2));
    client.menu_delete(&token).expect("valid while fresh");
    thread::sleep(Duration::from_millis(2100));
    let err = client.send_custom(&token, &CustomMessage::text("OPENID", "hi")).unwrap_err();
    assert!(err.is_token_error(), "{err:?}");
    assert_eq!(wechat_code::<()>(Err(err)).0, 42001);
}

#[test]
fn an_invalidated_token_is_a_token_error_that_never_shows_the_token() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    fake.invalidate_tokens();
    let err = client.menu_get(&token).unwrap_err();
    assert!(err.is_token_error(), "{err:?}");
    let text = format!("{err} {err:?} {token:?}");
    assert!(!text.contains(token.value()), "{text}");
    assert!(fetch_token(&fake, &client).value() != token.value(), "a new token after invalidation");
}

#[test]
fn calls_without_access_token_get_41001() {
    let (fake, _client) = start_default();
    let answer = raw_request(fake.addr(), "GET", "/cgi-bin/menu/get", "text/plain", b"");
    assert_eq!(answer["errcode"], 41001);
}

// --- media -------------------------------------------------------------------

#[test]
fn temp_media_upload_sends_field_media_with_the_image_content_type() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    let media = client.upload_temp_media(&token, MediaType::Image, "cat.png", PNG).unwrap();
    assert!(!media.media_id.is_empty());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(media.created_at.abs_diff(now) < 5, "{} vs {now}", media.created_at);

    let uploads = fake.uploaded();
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert_eq!(upload.media_id, media.media_id);
    assert_eq!(upload.file_name, "cat.png");
    assert_eq!(upload.content_type, "image/png");
    assert_eq!(upload.size, PNG.len());
    let hash: String = Sha256::digest(PNG).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(upload.sha256_hex, hash, "the bytes arrive unchanged");
    assert!(!upload.permanent);
    assert!(fake.is_media_live(&media.media_id));
}

#[test]
fn an_image_without_extension_is_named_after_its_content() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    client.upload_temp_media(&token, MediaType::Image, "photo", JPEG).unwrap();
    let upload = &fake.uploaded()[0];
    assert_eq!(
        (upload.file_name.as_str(), upload.content_type.as_str()),
        ("photo.jpg", "image/jpeg")
    );
}

#[test]
fn non_images_are_refused_before_sending() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    let err =
        client.upload_temp_media(&token, MediaType::Image, "notes.txt", b"hello").unwrap_err();
    assert!(matches!(err, ApiError::Invalid(_)), "{err:?}");
    assert_eq!(fake.uploads(), 0);
}

#[test]
fn the_fake_enforces_the_upload_protocol() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    assert_eq!(
        raw_upload(&fake, &token, "file", "image/png", PNG)["errcode"],
        41005,
        "field must be `media`"
    );
    assert_eq!(
        raw_upload(&fake, &token, "media", "application/octet-stream", PNG)["errcode"],
        40005
    );
    assert_eq!(raw_upload(&fake, &token, "media", "image/png", b"not an image")["errcode"], 40005);
    let mut big = PNG.to_vec();
    big.resize(10 * 1024 * 1024 + 1, 0);
    assert_eq!(raw_upload(&fake, &token, "media", "image/png", &big)["errcode"], 40009);
    let accepted = raw_upload(&fake, &token, "media", "image/png", PNG);
    assert!(accepted["media_id"].as_str().is_some_and(|id| !id.is_empty()), "{accepted}");
}

#[test]
fn permanent_material_upload_returns_media_id_and_url() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    let material =
        client.add_material(&token, MediaType::Image, "logo.gif", b"GIF89a\x01\0\x01\0").unwrap();
    assert!(!material.media_id.is_empty());
    assert!(material.url.starts_with("http"), "{}", material.url);
    let upload = &fake.uploaded()[0];
    assert!(upload.permanent);
    assert_eq!(
        (upload.media_id.as_str(), upload.content_type.as_str()),
        (material.media_id.as_str(), "image/gif")
    );
    assert_eq!(fake.material_uploads(), 1);
}

// --- customer-service messages -------------------------------------------------

#[test]
fn custom_text_image_and_news_reach_the_follower() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    let media_id =
        client.upload_temp_media(&token, MediaType::Image, "cat.png", PNG).unwrap().media_id;
    let article = Article {
        title: "周报".into(),
        description: "本周".into(),
        pic_url: "http://example.com/p.jpg".into(),
        url: "http://example.com/a".into(),
    };
    client.send_custom(&token, &CustomMessage::text("OPENID_A", "收到，处理中")).unwrap();
    client.send_custom(&token, &CustomMessage::image("OPENID_B", media_id.clone())).unwrap();
    client.send_custom(&token, &CustomMessage::news("OPENID_C", article)).unwrap();

    let sent: Vec<_> = fake.sent().into_iter().map(|m| (m.touser, m.msgtype, m.content)).collect();
    let expected = [
        ("OPENID_A", "text", "收到，处理中"),
        ("OPENID_B", "image", media_id.as_str()),
        ("OPENID_C", "news", "周报"),
    ];
    let expected: Vec<_> =
        expected.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(sent, expected);
    assert_eq!(
        fake.sent()[2].body["news"]["articles"][0],
        json!({"title": "周报", "description": "本周", "url": "http://example.com/a", "picurl": "http://example.com/p.jpg"})
    );
}

#[test]
fn an_image_never_uploaded_is_bad_input() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    let result = client.send_custom(&token, &CustomMessage::image("OPENID", "NO_SUCH_MEDIA"));
    assert_eq!(wechat_code(result), (40007, ErrorAction::BadInput));
    assert!(fake.sent().is_empty());
}

#[test]
fn a_closed_window_means_give_up() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    fake.close_window("OPENID_GONE");
    let result = client.send_custom(&token, &CustomMessage::text("OPENID_GONE", "late"));
    assert_eq!(wechat_code(result), (45015, ErrorAction::GiveUp));
    assert!(fake.sent().is_empty());
}

#[test]
fn a_send_that_times_out_may_have_been_delivered() {
    let fake = FakeApi::start(FakeConfig::default());
    let client = ApiClient::new(fake.base_url(), Duration::from_secs(1));
    let token = fetch_token(&fake, &client);
    fake.set_delay(Endpoint::CustomSend, Duration::from_secs(3));

    let started = Instant::now();
    let err = client.send_custom(&token, &CustomMessage::text("OPENID", "once")).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the timeout bounds the call: {:?}",
        started.elapsed()
    );
    assert!(matches!(err, ApiError::Transport { maybe_delivered: true, .. }), "{err:?}");
    assert!(!err.to_string().contains(token.value()), "{err}");
    assert_eq!(fake.sends(), 1, "never retried");
    assert_eq!(
        fake.sent().len(),
        1,
        "the fake did deliver it: exactly why the caller must not resend"
    );
}

#[test]
fn a_refused_connection_was_not_delivered() {
    let (mut fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    fake.stop();
    drop(fake);
    let err = client.send_custom(&token, &CustomMessage::text("OPENID", "hi")).unwrap_err();
    assert!(matches!(err, ApiError::Transport { maybe_delivered: false, .. }), "{err:?}");
}

// --- menu, errors -----------------------------------------------------------------

#[test]
fn menu_create_get_delete() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    let menu = json!({"button": [{"type": "click", "name": "图片", "key": "PIC"}]});
    client.menu_create(&token, &menu.to_string()).unwrap();
    assert_eq!(fake.menu(), Some(menu.clone()));
    assert_eq!(client.menu_get(&token).unwrap()["menu"], menu);

    client.menu_delete(&token).unwrap();
    assert_eq!(fake.menu(), None);
    assert_eq!(wechat_code(client.menu_get(&token)).0, 46003);
}

#[test]
fn a_menu_without_buttons_is_refused() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    assert_eq!(wechat_code(client.menu_create(&token, r#"{"buttons":[]}"#)).0, 40016);
    assert!(matches!(client.menu_create(&token, "{not json"), Err(ApiError::Invalid(_))));
    assert_eq!(fake.calls(Endpoint::MenuCreate), 1, "invalid JSON is never sent");
}

#[test]
fn injected_errors_map_to_their_actions() {
    let (fake, client) = start_default();
    let token = fetch_token(&fake, &client);
    fake.fail_next(Endpoint::MenuGet, -1);
    fake.fail_next(Endpoint::MenuGet, 45009);
    fake.fail_next(Endpoint::MenuGet, 45011);
    assert_eq!(wechat_code(client.menu_get(&token)), (-1, ErrorAction::RetryLater));
    assert_eq!(wechat_code(client.menu_get(&token)), (45009, ErrorAction::DailyQuota));
    assert_eq!(wechat_code(client.menu_get(&token)), (45011, ErrorAction::MinuteQuota));
    assert_eq!(wechat_code(client.menu_get(&token)).0, 46003, "only the next calls fail");
    assert_eq!(fake.calls(Endpoint::MenuGet), 4);
}

#[test]
fn a_non_200_answer_is_an_http_error() {
    let (fake, _) = start_default();
    let client = ApiClient::new(format!("{}/wrong-prefix", fake.base_url()), TIMEOUT);
    let err = client.stable_token("wx", "secret", false).unwrap_err();
    assert_eq!(err, ApiError::Http(404));
}
