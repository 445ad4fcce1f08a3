//! The callback body (XML or JSON) as WeChat, or anyone, posts it: never a
//! panic, and a text message's reply, rendered as zatan renders it, parses
//! back to the same text and addressing. Where the flat reader reads a body,
//! it reads what roxmltree reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zatan::wechat::{flat_reading_agrees, parse, parse_encrypt_field, render, MessageKind, Reply};
use zatan::xml::strip_illegal_chars;

/// What an XML parser reads back of `text` written into a reply: the
/// characters XML cannot carry are dropped, line ends normalised.
fn as_read_back(text: &str) -> String {
    strip_illegal_chars(text).replace("\r\n", "\n").replace('\r', "\n")
}

fuzz_target!(|body: &[u8]| {
    assert!(flat_reading_agrees(body), "the flat reader and roxmltree disagree");
    let _ = parse_encrypt_field(body);
    let Ok(message) = parse(body) else { return };
    assert!(!message.dedupe_key().is_empty());
    let MessageKind::Text { content } = &message.kind else { return };
    let (to, from) = (&message.from_user, &message.to_user);
    if as_read_back(to).is_empty() || as_read_back(from).is_empty() {
        return;
    }
    let reply = render(&Reply::Text(content.clone()), to, from, message.create_time);
    let back = parse(reply.as_bytes())
        .unwrap_or_else(|e| panic!("the reply does not parse ({e}): {reply}"));
    assert_eq!(back.to_user, as_read_back(to), "{reply}");
    assert_eq!(back.from_user, as_read_back(from), "{reply}");
    assert_eq!(back.kind, MessageKind::Text { content: as_read_back(content) }, "{reply}");
});
