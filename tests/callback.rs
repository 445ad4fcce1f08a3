//! The WeChat callback over real sockets against the real binary: verification,
//! every message and event type, retries, safe and compatible mode.

mod common;

use std::time::Duration;

use common::wechat::*;
use common::Server;

const TOKEN: &str = "t0kenForTests";
const APP_ID: &str = "wx2c2769f8efd9abc2";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const OLD_KEY: &str = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";
/// For log lines already written.
const WAIT: Duration = Duration::from_secs(10);

fn plain_server(name: &str) -> Server {
    Server::start(name, &format!("[wechat]\ntoken = \"{TOKEN}\"\nwelcome = \"欢迎来到杂感\"\n"))
}

fn safe_server(name: &str) -> Server {
    Server::start(
        name,
        &format!(
            "[wechat]\ntoken = \"{TOKEN}\"\napp_id = \"{APP_ID}\"\nencoding_aes_key = \"{KEY}\"\nprevious_encoding_aes_key = \"{OLD_KEY}\"\n"
        ),
    )
}

fn post_plain(server: &Server, xml: &str) -> common::http_client::Response {
    server.post(&format!("/wechat?{}", signed_query(TOKEN)), xml.as_bytes())
}

#[test]
fn verification_echoes_only_with_a_valid_signature() {
    let server = plain_server("verify");
    let ok = server.get(&format!("/wechat?{}&echostr=hello123", signed_query(TOKEN)));
    assert_eq!((ok.status, ok.text().as_str()), (200, "hello123"));
    assert!(ok.header("content-type").unwrap().starts_with("text/plain"));

    let wrong = server.get(&format!("/wechat?{}&echostr=hello123", signed_query("otherToken")));
    assert_eq!(wrong.status, 403);
    assert!(!wrong.text().contains("hello123"));
    assert_eq!(server.get("/wechat?echostr=hello123").status, 403);
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/nowhere").status, 404);
    let put = common::http_client::request(
        server.addr,
        b"DELETE /wechat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(put.status, 405);
}

#[test]
fn unsigned_posts_are_refused_and_not_processed() {
    let server = plain_server("unsigned");
    let xml = text_message("o_attacker", 1, "help");
    let forged = server.post(&format!("/wechat?{}", signed_query("guess")), xml.as_bytes());
    assert_eq!(forged.status, 403);
    assert_eq!(server.post("/wechat", xml.as_bytes()).status, 403);
    // Each request's log lines are written before its answer, but read by
    // another thread: once both refusals are read, so is all that came before.
    assert!(server.wait_for_logs("refused POST /wechat", 2, WAIT), "{}", server.logs());
    assert!(!server.logs().contains("from o_attacker"), "a refused message must not be handled");
}

#[test]
fn every_message_and_event_type_is_answered() {
    let server = plain_server("types");
    let expect_text = |xml: String, needle: &str| {
        let reply = post_plain(&server, &xml);
        assert_eq!(reply.status, 200, "{xml}");
        let body = reply.text();
        assert_eq!(reply_field(&body, "MsgType").as_deref(), Some("text"), "{xml} -> {body}");
        assert_eq!(reply_field(&body, "ToUserName").as_deref(), Some("o_user"), "To/From swapped");
        assert_eq!(reply_field(&body, "FromUserName").as_deref(), Some("gh_me"));
        let content = reply_field(&body, "Content").unwrap();
        assert!(content.contains(needle), "{xml} -> {content}");
    };
    let expect_success = |xml: String| {
        let reply = post_plain(&server, &xml);
        assert_eq!((reply.status, reply.text().as_str()), (200, "success"), "{xml}");
    };

    expect_text(text_message("o_user", 1, "help"), "可用命令");
    expect_text(text_message("o_user", 2, "帮助"), "可用命令");
    expect_text(text_message("o_user", 3, "what is this"), "帮助");
    expect_text(
        message(
            "o_user",
            4,
            "image",
            "<PicUrl><![CDATA[http://p/1.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>",
        ),
        "图片",
    );
    expect_text(
        message(
            "o_user",
            5,
            "voice",
            "<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>",
        ),
        "语音",
    );
    expect_text(
        message("o_user", 6, "voice", "<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[帮助]]></Recognition>"),
        "可用命令",
    );
    expect_text(
        message(
            "o_user",
            7,
            "video",
            "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>",
        ),
        "视频",
    );
    expect_text(
        message(
            "o_user",
            8,
            "shortvideo",
            "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>",
        ),
        "视频",
    );
    expect_text(
        message("o_user", 9, "location", "<Location_X>23.13</Location_X><Location_Y>113.26</Location_Y><Scale>20</Scale><Label><![CDATA[广州]]></Label>"),
        "广州",
    );
    expect_text(
        message("o_user", 10, "link", "<Title><![CDATA[一篇文章]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[http://x]]></Url>"),
        "一篇文章",
    );
    expect_success(message("o_user", 11, "miniprogrampage", "<Title><![CDATA[t]]></Title>"));

    expect_text(event("o_user", 100, "subscribe", ""), "欢迎来到杂感");
    expect_text(
        event(
            "o_user",
            101,
            "subscribe",
            "<EventKey><![CDATA[qrscene_42]]></EventKey><Ticket><![CDATA[tk]]></Ticket>",
        ),
        "欢迎来到杂感",
    );
    expect_success(event("o_user", 102, "unsubscribe", ""));
    expect_success(event(
        "o_user",
        103,
        "SCAN",
        "<EventKey><![CDATA[42]]></EventKey><Ticket><![CDATA[tk]]></Ticket>",
    ));
    expect_success(event(
        "o_user",
        104,
        "LOCATION",
        "<Latitude>23.1</Latitude><Longitude>113.2</Longitude><Precision>65.0</Precision>",
    ));
    expect_text(event("o_user", 105, "CLICK", "<EventKey><![CDATA[help]]></EventKey>"), "可用命令");
    expect_success(event("o_user", 106, "VIEW", "<EventKey><![CDATA[http://x]]></EventKey>"));
    expect_success(event(
        "o_user",
        107,
        "scancode_push",
        "<EventKey><![CDATA[k]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[r]]></ScanResult></ScanCodeInfo>",
    ));
    expect_success(event(
        "o_user",
        108,
        "pic_sysphoto",
        "<EventKey><![CDATA[k]]></EventKey><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum><![CDATA[abc]]></PicMd5Sum></item></PicList></SendPicsInfo>",
    ));
    expect_success(event(
        "o_user",
        109,
        "location_select",
        "<EventKey><![CDATA[k]]></EventKey><SendLocationInfo><Location_X>23</Location_X><Location_Y>113</Location_Y><Scale>15</Scale><Label><![CDATA[l]]></Label><Poiname><![CDATA[p]]></Poiname></SendLocationInfo>",
    ));
    expect_success(event(
        "o_user",
        110,
        "TEMPLATESENDJOBFINISH",
        "<MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>",
    ));
    expect_success(event(
        "o_user",
        111,
        "MASSSENDJOBFINISH",
        "<MsgID>1988</MsgID><Status><![CDATA[sendsuccess]]></Status><TotalCount>100</TotalCount><FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount>",
    ));
    expect_success(event("o_user", 112, "subscribe_msg_popup_event", "<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[t]]></TemplateId></List></SubscribeMsgPopupEvent>"));
    expect_success(event(
        "o_user",
        113,
        "kf_create_session",
        "<KfAccount><![CDATA[test1@test]]></KfAccount>",
    ));
    expect_success(event("o_user", 114, "some_future_event", ""));

    // JSON push format, and C0 control characters pasted into a message.
    let json = r#"{"ToUserName":"gh_me","FromUserName":"o_user","CreateTime":1714037000,"MsgType":"text","Content":"help","MsgId":"900"}"#;
    let reply = common::http_client::post(
        server.addr,
        &format!("/wechat?{}", signed_query(TOKEN)),
        "application/json",
        json.as_bytes(),
    );
    assert!(reply.text().contains("可用命令"), "{}", reply.text());
    expect_text(text_message("o_user", 901, "he\u{2}llo\u{10} <xml>]]&gt;"), "帮助");
    // Unparseable bodies get 400, not a crash.
    assert_eq!(post_plain(&server, "<xml><MsgType>").status, 400);
    assert_eq!(post_plain(&server, "").status, 400);
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn a_retry_gets_the_same_bytes_and_is_handled_once() {
    // Safe mode: every fresh reply is encrypted with a new random prefix, so
    // identical bytes prove the reply came from the cache.
    let server = safe_server("retry");
    let (query, body) = safe_mode(TOKEN, APP_ID, KEY, &text_message("o_retry", 777, "help"));
    let target = format!("/wechat?{query}");
    let addr = server.addr;
    let replies: Vec<Vec<u8>> = (0..8)
        .map(|_| {
            let (target, body) = (target.clone(), body.clone());
            std::thread::spawn(move || {
                common::http_client::post(addr, &target, "text/xml", body.as_bytes()).body
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let late = server.post(&target, body.as_bytes()).body;
    assert!(replies.iter().all(|r| r == &late), "all attempts must get byte-identical replies");
    let inner = open_reply(TOKEN, APP_ID, KEY, &String::from_utf8(late).unwrap());
    assert!(reply_field(&inner, "Content").unwrap().contains("可用命令"));
    // One line per attempt, each written before its answer: wait until all nine are read.
    assert!(server.wait_for_logs("from o_retry", 9, WAIT), "{}", server.logs());
    let handled = server
        .logs()
        .lines()
        .filter(|l| l.contains("from o_retry") && !l.contains(": retry"))
        .count();
    assert_eq!(handled, 1, "handled once:\n{}", server.logs());

    // A different message from the same follower is a new message.
    let (query2, body2) = safe_mode(TOKEN, APP_ID, KEY, &text_message("o_retry", 778, "help"));
    let other = server.post(&format!("/wechat?{query2}"), body2.as_bytes()).body;
    assert_ne!(other, replies[0]);
}

#[test]
fn safe_mode_decrypts_and_encrypts_the_official_sample() {
    // The official sample vector: token spamtest, its key, appid and Encrypt.
    let server = Server::start(
        "official",
        &format!(
            "[wechat]\ntoken = \"spamtest\"\napp_id = \"{APP_ID}\"\nencoding_aes_key = \"{KEY}\"\n"
        ),
    );
    let encrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
    let (timestamp, nonce) = ("1409735669", "1320562132");
    let signature = zatan::wechat::signature::sign(&["spamtest", timestamp, nonce]);
    let query = format!(
        "signature={signature}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature=5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    );
    let body = format!("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
    let reply = server.post(&format!("/wechat?{}", query.replace('+', "%2B")), body.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let inner = open_reply("spamtest", APP_ID, KEY, &reply.text());
    assert_eq!(reply_field(&inner, "ToUserName").as_deref(), Some("oyORnuP8q7ou2gfYjqLzSIWZf0rs"));
    assert_eq!(reply_field(&inner, "FromUserName").as_deref(), Some("gh_10f6c3c3ac5a"));
    assert!(
        reply_field(&inner, "Content").unwrap().contains("帮助"),
        "abcdteT is no command: a hint"
    );

    // A wrong msg_signature is refused even though `signature` is right.
    let tampered = query.replace("5d197aaf", "5d197aab");
    assert_eq!(server.post(&format!("/wechat?{tampered}"), body.as_bytes()).status, 403);
}

#[test]
fn compatible_mode_and_the_previous_key() {
    let server = safe_server("compat");
    // Compatible mode: plaintext fields and Encrypt in one body; the encrypted one counts.
    let inner = text_message("o_compat", 31, "help");
    let (query, enc_body) = safe_mode(TOKEN, APP_ID, KEY, &inner);
    let encrypt_field =
        enc_body.split("<Encrypt>").nth(1).unwrap().split("</Encrypt>").next().unwrap();
    let compat_body = text_message("o_compat", 31, "not the real text")
        .replace("</xml>", &format!("<Encrypt>{encrypt_field}</Encrypt></xml>"));
    let reply = server.post(&format!("/wechat?{query}"), compat_body.as_bytes());
    let opened = open_reply(TOKEN, APP_ID, KEY, &reply.text());
    assert!(reply_field(&opened, "Content").unwrap().contains("可用命令"));

    // The same server in plaintext (no encrypt_type) answers in plaintext.
    let plain = post_plain(&server, &text_message("o_compat", 32, "help"));
    assert!(reply_field(&plain.text(), "Content").unwrap().contains("可用命令"));

    // A message encrypted with the previous key is read and answered with that key.
    let (query, body) = safe_mode(TOKEN, APP_ID, OLD_KEY, &text_message("o_old", 33, "help"));
    let reply = server.post(&format!("/wechat?{query}"), body.as_bytes());
    let opened = open_reply(TOKEN, APP_ID, OLD_KEY, &reply.text());
    assert!(reply_field(&opened, "Content").unwrap().contains("可用命令"));

    // Another app's message (wrong appid inside) is refused.
    let (query, body) =
        safe_mode(TOKEN, "wxSomeoneElse", KEY, &text_message("o_other", 34, "help"));
    assert_eq!(server.post(&format!("/wechat?{query}"), body.as_bytes()).status, 403);
}

#[test]
fn forged_and_malformed_floods_write_a_few_summary_lines_not_a_line_each() {
    let server = plain_server("flood");
    let before = server.logs().lines().count();
    let xml = text_message("o_attacker", 1, "help");
    let forged_target = format!("/wechat?{}", signed_query("guessedToken"));
    for _ in 0..3000 {
        assert_eq!(server.post(&forged_target, xml.as_bytes()).status, 403);
    }
    for _ in 0..300 {
        assert_eq!(post_plain(&server, "<xml><ToUserName>broken").status, 400);
    }
    // The summaries of what was held back come at the latest when it stops.
    let (status, _, logs) = server.terminate();
    assert!(status.success());
    let written: Vec<&str> = logs.lines().skip(before).collect();
    assert!(written.len() <= 30, "{} lines:\n{}", written.len(), written.join("\n"));
    let one_by_one = written.iter().filter(|l| l.contains("refused POST /wechat")).count();
    assert_eq!(one_by_one, 5, "{logs}");
    assert!(
        logs.contains("callback: refused requests (forged or missing signature): 2995 more")
            && logs.contains("most from 127.0.0.1 (2995)"),
        "{logs}"
    );
    assert!(logs.contains("callback: bad requests (malformed XML or query): 295 more"), "{logs}");
}
