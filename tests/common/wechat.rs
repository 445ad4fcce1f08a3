//! What WeChat's servers send: signed query strings, message XML, safe-mode
//! envelopes, and a follower's text message to the bot of a running server.

use zatan::wechat::crypto::{self, AesKey};
use zatan::wechat::signature::sign;

use super::Server;

pub const TIMESTAMP: &str = "1714037059";
pub const NONCE: &str = "486452656";

/// `?signature=..&timestamp=..&nonce=..` for a token.
pub fn signed_query(token: &str) -> String {
    format!("signature={}&timestamp={TIMESTAMP}&nonce={NONCE}", sign(&[token, TIMESTAMP, NONCE]))
}

/// The query and body WeChat sends in safe mode for a plaintext message.
pub fn safe_mode(token: &str, app_id: &str, key: &str, plain_xml: &str) -> (String, String) {
    let key = AesKey::from_encoding_aes_key(key).unwrap();
    let encrypt = crypto::encrypt(&key, plain_xml, app_id, *b"0123456789abcdef");
    let msg_signature = sign(&[token, TIMESTAMP, NONCE, &encrypt]);
    let query = format!("{}&encrypt_type=aes&msg_signature={msg_signature}", signed_query(token));
    let body = format!("<xml><ToUserName><![CDATA[gh_me]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
    (query, body)
}

/// Open an encrypted reply envelope: check its signature, return the inner XML.
pub fn open_reply(token: &str, app_id: &str, key: &str, envelope: &str) -> String {
    let doc = roxmltree::Document::parse(envelope).expect("reply envelope is XML");
    let field = |name: &str| {
        doc.root_element()
            .children()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("no <{name}> in {envelope}"))
            .to_string()
    };
    let (encrypt, signature) = (field("Encrypt"), field("MsgSignature"));
    assert_eq!(
        sign(&[token, &field("TimeStamp"), &field("Nonce"), &encrypt]),
        signature,
        "reply MsgSignature"
    );
    crypto::decrypt(&AesKey::from_encoding_aes_key(key).unwrap(), &encrypt, app_id)
        .expect("reply decrypts")
}

/// A field of a plaintext reply.
pub fn reply_field(xml: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let node = doc.descendants().find(|n| n.has_tag_name(name))?;
    Some(node.text().unwrap_or("").to_string())
}

fn envelope(from: &str, create_time: u64, msg_type: &str, fields: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_me]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{fields}</xml>"
    )
}

pub fn text_message(from: &str, msg_id: u64, content: &str) -> String {
    envelope(
        from,
        1714037000,
        "text",
        &format!("<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"),
    )
}

pub fn message(from: &str, msg_id: u64, msg_type: &str, fields: &str) -> String {
    envelope(from, 1714037000, msg_type, &format!("{fields}<MsgId>{msg_id}</MsgId>"))
}

pub fn event(from: &str, create_time: u64, event: &str, fields: &str) -> String {
    envelope(from, create_time, "event", &format!("<Event><![CDATA[{event}]]></Event>{fields}"))
}

/// Follower `from` says `text`, as message `msg_id`, to the bot on `server`,
/// signed with `token`: the one way the tests chat. Any answer but 200 fails
/// the caller.
#[track_caller]
pub fn say(server: &Server, token: &str, from: &str, msg_id: u64, text: &str) -> Reply {
    send(server, token, &text_message(from, msg_id, text))
}

/// WeChat posts the message `xml` (built with [`text_message`], [`message`]
/// or [`event`]) to the bot on `server`, signed with `token`, in plaintext
/// mode. Any answer but 200 fails the caller.
#[track_caller]
pub fn send(server: &Server, token: &str, xml: &str) -> Reply {
    let target = format!("/wechat?{}", signed_query(token));
    let response = server.post(&target, xml.as_bytes());
    assert_eq!(response.status, 200, "WeChat sent {xml}; the answer: {}", response.text());
    Reply(response.text())
}

/// The bot's reply to a text message, as WeChat gets it in plaintext mode.
pub struct Reply(String);

impl Reply {
    /// All of it: the reply XML, or `success` for a message that gets none.
    pub fn xml(&self) -> &str {
        &self.0
    }

    pub fn field(&self, name: &str) -> Option<String> {
        reply_field(&self.0, name)
    }

    /// The text of a text reply; all of the reply when it has no `Content`.
    pub fn content(&self) -> String {
        self.field("Content").unwrap_or_else(|| self.0.clone())
    }
}
