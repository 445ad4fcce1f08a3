//! Writes the requests that tests/bench/http.sh replays with wrk (not a test).
//!
//!   cargo bench --bench requests -- MODE COUNT FILE
//!
//! MODE is `plain` (signed plaintext text messages) or `safe` (AES safe
//! mode). Every message has its own MsgId, so zatan's retry cache never
//! answers for it: each request is handled in full. Requests are separated
//! by a NUL byte. Encrypting here, before the clock starts, keeps the client's
//! AES work out of the figures.

use std::io::Write;

use zatan::wechat::crypto::{self, AesKey};
use zatan::wechat::signature::sign;

const TOKEN: &str = "benchToken";
const APP_ID: &str = "wxbench0000000000";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const TIMESTAMP: &str = "1714037059";
const NONCE: &str = "486452656";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [mode, count, file] = <[String; 3]>::try_from(args)
        .unwrap_or_else(|_| panic!("usage: requests plain|safe COUNT FILE"));
    let count: u64 = count.parse().expect("COUNT is a number");
    let key = AesKey::from_encoding_aes_key(KEY).unwrap();
    let signature = sign(&[TOKEN, TIMESTAMP, NONCE]);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create FILE"));
    for msg_id in 0..count {
        let xml = format!(
            "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o_bench{}]]></FromUserName>\
             <CreateTime>1714037000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[help]]></Content><MsgId>{msg_id}</MsgId></xml>",
            msg_id % 1000
        );
        let (query, body) = match mode.as_str() {
            "plain" => (format!("signature={signature}&timestamp={TIMESTAMP}&nonce={NONCE}"), xml),
            "safe" => {
                let encrypt = crypto::encrypt(&key, &xml, APP_ID, (msg_id as u128).to_le_bytes());
                let msg_signature = sign(&[TOKEN, TIMESTAMP, NONCE, &encrypt]);
                (
                    format!("signature={signature}&timestamp={TIMESTAMP}&nonce={NONCE}&encrypt_type=aes&msg_signature={msg_signature}"),
                    format!("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
                )
            }
            other => panic!("unknown mode {other}"),
        };
        write!(
            out,
            "POST /wechat?{query} HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}\0",
            body.len()
        )
        .unwrap();
    }
    out.flush().unwrap();
}
