//! The whole pure request pipeline of the callback endpoint: check the
//! signatures, open (decrypt) the message, and seal the reply the same way.

use std::fmt;

use super::crypto::{self, AesKey, CryptoError};
use super::message::{self, Incoming};
use super::reply::encrypted_envelope;
use super::signature;

#[derive(Clone)]
pub struct Credentials {
    pub token: String,
    pub app_id: String,
    /// The current EncodingAESKey first, then the previous one during a rotation.
    pub aes_keys: Vec<AesKey>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &"***")
            .field("app_id", &self.app_id)
            .field("aes_keys", &self.aes_keys)
            .finish()
    }
}

/// The query parameters of a callback request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<'a> {
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub echostr: Option<&'a str>,
    pub encrypt_type: Option<&'a str>,
    pub msg_signature: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Answer 403; the reason is for one warning log line.
    Forbidden(&'static str),
    /// Answer 400; signed by WeChat but unusable.
    BadRequest(String),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Forbidden(reason) => write!(f, "forbidden: {reason}"),
            Rejection::BadRequest(reason) => write!(f, "bad request: {reason}"),
        }
    }
}

/// How to answer a message: in plaintext, or encrypted with the key that opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
    Plain,
    Aes { key_index: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub message: Incoming,
    pub sealing: Sealing,
}

/// GET verification: Ok(echostr) only when the signature is right.
pub fn verify_get(creds: &Credentials, q: &Query) -> Result<String, Rejection> {
    check_signature(creds, q)?;
    q.echostr.map(str::to_string).ok_or_else(|| Rejection::BadRequest("missing echostr".into()))
}

/// POST: checks `signature`, then opens the body in plaintext or safe mode as
/// `encrypt_type` says. In compatible mode the encrypted copy is the one used.
pub fn open_post(creds: &Credentials, q: &Query, body: &[u8]) -> Result<Opened, Rejection> {
    let (timestamp, nonce) = check_signature(creds, q)?;
    if !is_encrypted(q)? {
        let message = message::parse(body).map_err(|e| Rejection::BadRequest(e.to_string()))?;
        return Ok(Opened { message, sealing: Sealing::Plain });
    }
    if creds.aes_keys.is_empty() {
        return Err(Rejection::BadRequest(
            "encrypt_type=aes but no EncodingAESKey is configured".into(),
        ));
    }
    let msg_signature = q.msg_signature.ok_or(Rejection::Forbidden("missing msg_signature"))?;
    let encrypt =
        message::parse_encrypt_field(body).map_err(|e| Rejection::BadRequest(e.to_string()))?;
    if !signature::verify(&[&creds.token, timestamp, nonce, &encrypt], msg_signature) {
        return Err(Rejection::Forbidden("bad msg_signature"));
    }
    let mut appid_mismatch = false;
    for (key_index, key) in creds.aes_keys.iter().enumerate() {
        match crypto::decrypt(key, &encrypt, &creds.app_id) {
            Ok(inner) => {
                let message = message::parse(inner.as_bytes())
                    .map_err(|e| Rejection::BadRequest(format!("decrypted message: {e}")))?;
                return Ok(Opened { message, sealing: Sealing::Aes { key_index } });
            }
            Err(e) => appid_mismatch |= e == CryptoError::AppIdMismatch,
        }
    }
    // A key that decrypts to another appid is the right key: the appid is what differs.
    Err(Rejection::Forbidden(if appid_mismatch {
        "the decrypted message is for another appid"
    } else {
        "no configured EncodingAESKey decrypts the message"
    }))
}

/// The body of the answer to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Nothing to say: `success`, which WeChat takes unencrypted in every mode.
    Nothing,
    /// A rendered reply, encrypted when the message came encrypted.
    Reply(String),
}

impl Answer {
    pub fn body(&self) -> &str {
        match self {
            Answer::Nothing => "success",
            Answer::Reply(xml) => xml,
        }
    }
}

/// The answer to a message opened with `sealing`: its rendered reply, if
/// any, sealed the same way.
pub fn seal(
    creds: &Credentials,
    sealing: &Sealing,
    reply_xml: Option<&str>,
    timestamp: &str,
    nonce: &str,
) -> Answer {
    seal_owned(creds, sealing, reply_xml.map(str::to_string), timestamp, nonce)
}

/// As [`seal`], taking the rendered reply: a plaintext answer is that very
/// String, not a copy of it.
pub fn seal_owned(
    creds: &Credentials,
    sealing: &Sealing,
    reply_xml: Option<String>,
    timestamp: &str,
    nonce: &str,
) -> Answer {
    let Some(reply_xml) = reply_xml else { return Answer::Nothing };
    let Sealing::Aes { key_index } = *sealing else {
        return Answer::Reply(reply_xml);
    };
    let Some(key) = creds.aes_keys.get(key_index) else {
        log::error!("no EncodingAESKey #{key_index} to encrypt the reply with; answering success");
        return Answer::Nothing;
    };
    let encrypt = crypto::encrypt(key, &reply_xml, &creds.app_id, crate::random::random16());
    let msg_signature = signature::sign(&[&creds.token, timestamp, nonce, &encrypt]);
    Answer::Reply(encrypted_envelope(&encrypt, &msg_signature, timestamp, nonce))
}

/// Checks `signature` over (token, timestamp, nonce); returns timestamp and nonce.
fn check_signature<'q>(
    creds: &Credentials,
    q: &Query<'q>,
) -> Result<(&'q str, &'q str), Rejection> {
    // With no token anyone could compute the signature.
    if creds.token.is_empty() {
        return Err(Rejection::Forbidden("no token configured"));
    }
    let (Some(given), Some(timestamp), Some(nonce)) = (q.signature, q.timestamp, q.nonce) else {
        return Err(Rejection::Forbidden("missing signature, timestamp or nonce"));
    };
    if !signature::verify(&[&creds.token, timestamp, nonce], given) {
        return Err(Rejection::Forbidden("bad signature"));
    }
    Ok((timestamp, nonce))
}

fn is_encrypted(q: &Query) -> Result<bool, Rejection> {
    match q.encrypt_type.map(str::trim) {
        None | Some("") => Ok(false),
        Some(t) if t.eq_ignore_ascii_case("raw") => Ok(false),
        Some(t) if t.eq_ignore_ascii_case("aes") => Ok(true),
        Some(_) => {
            Err(Rejection::BadRequest("unsupported encrypt_type (expected aes or raw)".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::crypto::tests::{OFFICIAL_APP_ID, OFFICIAL_ENCRYPT, OFFICIAL_KEY};
    use crate::wechat::message::MessageKind;
    use crate::wechat::reply::{render, Reply};
    use crate::wechat::signature::sign;

    const TOKEN: &str = "spamtest";
    const TIMESTAMP: &str = "1409735669";
    const NONCE: &str = "1320562132";
    const MSG_SIGNATURE: &str = "5d197aaffba7e9b25a30732f161a50dee96bd5fa";
    const OTHER_KEY: &str = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";

    fn key(s: &str) -> AesKey {
        AesKey::from_encoding_aes_key(s).unwrap()
    }

    fn creds(keys: &[&str]) -> Credentials {
        Credentials {
            token: TOKEN.into(),
            app_id: OFFICIAL_APP_ID.into(),
            aes_keys: keys.iter().map(|k| key(k)).collect(),
        }
    }

    fn plain_signature() -> String {
        sign(&[TOKEN, TIMESTAMP, NONCE])
    }

    fn aes_query(signature: &str) -> Query<'_> {
        Query {
            signature: Some(signature),
            timestamp: Some(TIMESTAMP),
            nonce: Some(NONCE),
            encrypt_type: Some("aes"),
            msg_signature: Some(MSG_SIGNATURE),
            ..Query::default()
        }
    }

    fn safe_body() -> String {
        format!("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{OFFICIAL_ENCRYPT}]]></Encrypt></xml>")
    }

    fn assert_official_message(message: &Incoming) {
        assert_eq!(message.to_user, "gh_10f6c3c3ac5a");
        assert_eq!(message.from_user, "oyORnuP8q7ou2gfYjqLzSIWZf0rs");
        assert_eq!(message.create_time, 1409735668);
        assert_eq!(message.msg_id.as_deref(), Some("6054768590064713728"));
        assert_eq!(message.kind, MessageKind::Text { content: "abcdteT".into() });
    }

    #[test]
    fn get_verification_echoes_only_when_signed() {
        let creds = Credentials { token: "AAAAA".into(), app_id: String::new(), aes_keys: vec![] };
        let good = Query {
            signature: Some("899cf89e464efb63f54ddac96b0a0a235f53aa78"),
            timestamp: Some("1714037059"),
            nonce: Some("486452656"),
            echostr: Some("5838479218127813673"),
            ..Query::default()
        };
        assert_eq!(verify_get(&creds, &good).unwrap(), "5838479218127813673");
        let wrong = Query { signature: Some("899cf89e464efb63f54ddac96b0a0a235f53aa77"), ..good };
        assert_eq!(verify_get(&creds, &wrong), Err(Rejection::Forbidden("bad signature")));
        let unsigned = Query { signature: None, ..good };
        assert!(matches!(verify_get(&creds, &unsigned), Err(Rejection::Forbidden(_))));
        let no_nonce = Query { nonce: None, ..good };
        assert!(matches!(verify_get(&creds, &no_nonce), Err(Rejection::Forbidden(_))));
        let no_echo = Query { echostr: None, ..good };
        assert!(matches!(verify_get(&creds, &no_echo), Err(Rejection::BadRequest(_))));
        let tokenless = Credentials { token: String::new(), ..creds };
        let signed_without_token = sign(&["", "1714037059", "486452656"]);
        let forged = Query { signature: Some(&signed_without_token), ..good };
        assert!(matches!(verify_get(&tokenless, &forged), Err(Rejection::Forbidden(_))));
    }

    #[test]
    fn plaintext_post_is_parsed_when_signed() {
        let signature = plain_signature();
        let q = Query {
            signature: Some(&signature),
            timestamp: Some(TIMESTAMP),
            nonce: Some(NONCE),
            ..Query::default()
        };
        let body = b"<xml><ToUserName>gh_a</ToUserName><FromUserName>o_b</FromUserName><MsgType>text</MsgType><Content>hi</Content></xml>";
        let opened = open_post(&creds(&[]), &q, body).unwrap();
        assert_eq!(opened.sealing, Sealing::Plain);
        assert_eq!(opened.message.kind, MessageKind::Text { content: "hi".into() });
        let raw = Query { encrypt_type: Some("raw"), ..q };
        assert_eq!(open_post(&creds(&[]), &raw, body).unwrap().sealing, Sealing::Plain);
        let forged = Query { signature: Some("0000000000000000000000000000000000000000"), ..q };
        assert_eq!(
            open_post(&creds(&[]), &forged, body),
            Err(Rejection::Forbidden("bad signature"))
        );
        assert!(matches!(open_post(&creds(&[]), &q, b"<xml/>"), Err(Rejection::BadRequest(_))));
    }

    #[test]
    fn official_sample_opens_in_safe_mode() {
        let signature = plain_signature();
        let opened =
            open_post(&creds(&[OFFICIAL_KEY]), &aes_query(&signature), safe_body().as_bytes())
                .unwrap();
        assert_eq!(opened.sealing, Sealing::Aes { key_index: 0 });
        assert_official_message(&opened.message);
    }

    #[test]
    fn safe_mode_still_checks_the_plain_signature() {
        let q = aes_query("1111111111111111111111111111111111111111");
        let result = open_post(&creds(&[OFFICIAL_KEY]), &q, safe_body().as_bytes());
        assert_eq!(result, Err(Rejection::Forbidden("bad signature")));
    }

    #[test]
    fn msg_signature_is_checked_over_encrypt() {
        let signature = plain_signature();
        // The classic bug: taking `signature` for `msg_signature`.
        let q = Query { msg_signature: Some(&signature), ..aes_query(&signature) };
        let result = open_post(&creds(&[OFFICIAL_KEY]), &q, safe_body().as_bytes());
        assert_eq!(result, Err(Rejection::Forbidden("bad msg_signature")));
        let missing = Query { msg_signature: None, ..aes_query(&signature) };
        let result = open_post(&creds(&[OFFICIAL_KEY]), &missing, safe_body().as_bytes());
        assert_eq!(result, Err(Rejection::Forbidden("missing msg_signature")));
        let tampered = safe_body().replace("hyzAe4", "hyzAe5");
        let result =
            open_post(&creds(&[OFFICIAL_KEY]), &aes_query(&signature), tampered.as_bytes());
        assert_eq!(result, Err(Rejection::Forbidden("bad msg_signature")));
    }

    #[test]
    fn aes_without_keys_is_a_clear_bad_request() {
        let signature = plain_signature();
        let result = open_post(&creds(&[]), &aes_query(&signature), safe_body().as_bytes());
        let Err(Rejection::BadRequest(reason)) = result else { panic!("{result:?}") };
        assert!(reason.contains("no EncodingAESKey"), "{reason}");
    }

    #[test]
    fn unknown_encrypt_type_is_rejected() {
        let signature = plain_signature();
        let q = Query { encrypt_type: Some("des"), ..aes_query(&signature) };
        let result = open_post(&creds(&[OFFICIAL_KEY]), &q, safe_body().as_bytes());
        assert!(matches!(result, Err(Rejection::BadRequest(_))));
    }

    #[test]
    fn undecryptable_message_is_forbidden() {
        let signature = plain_signature();
        let result = open_post(
            &creds(&[OTHER_KEY, OTHER_KEY]),
            &aes_query(&signature),
            safe_body().as_bytes(),
        );
        assert_eq!(
            result,
            Err(Rejection::Forbidden("no configured EncodingAESKey decrypts the message"))
        );
    }

    #[test]
    fn message_for_another_appid_is_forbidden() {
        let creds = Credentials {
            app_id: "wx0000000000000000".into(),
            ..creds(&[OTHER_KEY, OFFICIAL_KEY])
        };
        let result = open_post(&creds, &aes_query(&plain_signature()), safe_body().as_bytes());
        assert_eq!(result, Err(Rejection::Forbidden("the decrypted message is for another appid")));
    }

    #[test]
    fn previous_key_opens_and_seals_after_a_rotation() {
        let creds = creds(&[OTHER_KEY, OFFICIAL_KEY]);
        let signature = plain_signature();
        let opened = open_post(&creds, &aes_query(&signature), safe_body().as_bytes()).unwrap();
        assert_eq!(opened.sealing, Sealing::Aes { key_index: 1 });
        assert_official_message(&opened.message);

        let reply = render(
            &Reply::Text("pong".into()),
            &opened.message.from_user,
            &opened.message.to_user,
            1,
        );
        let sealed = seal(&creds, &opened.sealing, Some(&reply), "1700000000", "nonce42");
        let encrypt = message::parse_encrypt_field(sealed.body().as_bytes()).unwrap();
        assert_eq!(crypto::decrypt(&key(OFFICIAL_KEY), &encrypt, OFFICIAL_APP_ID).unwrap(), reply);
        assert!(crypto::decrypt(&key(OTHER_KEY), &encrypt, OFFICIAL_APP_ID).is_err());
        let msg_signature = sign(&[TOKEN, "1700000000", "nonce42", &encrypt]);
        assert_eq!(
            sealed,
            Answer::Reply(encrypted_envelope(&encrypt, &msg_signature, "1700000000", "nonce42"))
        );
    }

    #[test]
    fn sealed_reply_opens_like_an_incoming_message() {
        let creds = creds(&[OFFICIAL_KEY]);
        let reply = render(&Reply::Text("héllo ]]> there".into()), "o_follower", "gh_account", 7);
        let sealed = seal(&creds, &Sealing::Aes { key_index: 0 }, Some(&reply), TIMESTAMP, NONCE);
        let sealed = sealed.body();
        let msg_signature = sign(&[
            TOKEN,
            TIMESTAMP,
            NONCE,
            &message::parse_encrypt_field(sealed.as_bytes()).unwrap(),
        ]);
        let signature = plain_signature();
        let q = Query { msg_signature: Some(&msg_signature), ..aes_query(&signature) };
        let opened = open_post(&creds, &q, sealed.as_bytes()).unwrap();
        assert_eq!(opened.message.kind, MessageKind::Text { content: "héllo ]]> there".into() });
    }

    #[test]
    fn each_seal_uses_a_fresh_random_prefix() {
        let creds = creds(&[OFFICIAL_KEY]);
        let a = seal(&creds, &Sealing::Aes { key_index: 0 }, Some("<xml/>"), TIMESTAMP, NONCE);
        let b = seal(&creds, &Sealing::Aes { key_index: 0 }, Some("<xml/>"), TIMESTAMP, NONCE);
        assert_ne!(a, b);
    }

    #[test]
    fn compatible_mode_uses_the_decrypted_copy() {
        let body = format!(
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\
             <FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime>\
             <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[plaintext copy]]></Content>\
             <MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[{OFFICIAL_ENCRYPT}]]></Encrypt></xml>"
        );
        let signature = plain_signature();
        let opened =
            open_post(&creds(&[OFFICIAL_KEY]), &aes_query(&signature), body.as_bytes()).unwrap();
        assert_eq!(opened.sealing, Sealing::Aes { key_index: 0 });
        assert_official_message(&opened.message);

        let plain_query =
            Query { encrypt_type: None, msg_signature: None, ..aes_query(&signature) };
        let opened = open_post(&creds(&[OFFICIAL_KEY]), &plain_query, body.as_bytes()).unwrap();
        assert_eq!(opened.sealing, Sealing::Plain);
        assert_eq!(opened.message.kind, MessageKind::Text { content: "plaintext copy".into() });
    }

    #[test]
    fn seal_leaves_plain_and_no_reply_bodies_alone() {
        let creds = creds(&[OFFICIAL_KEY]);
        assert_eq!(
            seal(&creds, &Sealing::Plain, Some("<xml>r</xml>"), TIMESTAMP, NONCE),
            Answer::Reply("<xml>r</xml>".into())
        );
        let nothing = seal(&creds, &Sealing::Aes { key_index: 0 }, None, TIMESTAMP, NONCE);
        assert_eq!((nothing.body(), &nothing), ("success", &Answer::Nothing));
        assert_eq!(
            seal(&creds, &Sealing::Aes { key_index: 5 }, Some("<xml>r</xml>"), TIMESTAMP, NONCE),
            Answer::Nothing
        );
    }

    #[test]
    fn debug_hides_token_and_keys() {
        let creds = creds(&[OFFICIAL_KEY, OTHER_KEY]);
        let shown = format!("{creds:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains("abcdefgh") && !shown.contains("ZYXWV"), "{shown}");
        assert!(shown.contains(OFFICIAL_APP_ID) && shown.contains("AesKey(***)"), "{shown}");
    }
}
