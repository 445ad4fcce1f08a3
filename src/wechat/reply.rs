//! Passive replies: the XML answered in the body of the callback response.

use std::fmt::Write as _;

use super::xml::{push_cdata_element, push_text_element};
use crate::text::{prefix, shorten};

/// The longest passive text reply WeChat delivers, in bytes of UTF-8. Longer
/// ones fail and the follower sees "该公众号暂时无法提供服务" (WeCom's
/// passive-reply docs, which share the format, state "Content 最长不超过2048个
/// 字节"; reports of Official Account replies failing past it: the protocol
/// sheet, section 6).
pub const TEXT_MAX_BYTES: usize = 2048;

// What a news item may hold. The Official Account's own docs
// (Passive_user_reply_message) state no limits, and owners report fields cut
// without an error code (developers.weixin.qq.com community, "参数个别字段有字
// 数限制,未给出任何提示及错误码"). WeCom documents them for the same item shape
// (developer.work.weixin.qq.com/document/path/90236, 图文消息): title at most 128
// bytes and description at most 512 bytes ("超过会自动截断"), url and picurl at
// most 2048 bytes. zatan keeps to those so nothing is cut where it cannot choose.
pub const NEWS_TITLE_MAX_BYTES: usize = 128;
pub const NEWS_DESCRIPTION_MAX_BYTES: usize = 512;
pub const NEWS_URL_MAX_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    pub description: String,
    pub pic_url: String,
    pub url: String,
}

impl Article {
    /// The article within WeChat's limits for a news item: a long title or
    /// description cut on a character boundary and ended with `…`, a long URL
    /// cut on a character boundary (a URL that long cannot work anyway).
    pub fn within_limits(self) -> Article {
        let url = |url: String| {
            if url.len() > NEWS_URL_MAX_BYTES {
                log::warn!("a news link of {} bytes is cut to WeChat's 2048: {url}", url.len());
                prefix(&url, NEWS_URL_MAX_BYTES).to_string()
            } else {
                url
            }
        };
        Article {
            title: shorten(&self.title, NEWS_TITLE_MAX_BYTES),
            description: shorten(&self.description, NEWS_DESCRIPTION_MAX_BYTES),
            pic_url: url(self.pic_url),
            url: url(self.url),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Text(String),
    Image {
        media_id: String,
    },
    Voice {
        media_id: String,
    },
    Video {
        media_id: String,
        title: String,
        description: String,
    },
    Music {
        title: String,
        description: String,
        music_url: String,
        hq_music_url: String,
        thumb_media_id: String,
    },
    /// A passive news reply shows a single article since 2018.
    News(Article),
}

impl Reply {
    fn msg_type(&self) -> &'static str {
        match self {
            Reply::Text(_) => "text",
            Reply::Image { .. } => "image",
            Reply::Voice { .. } => "voice",
            Reply::Video { .. } => "video",
            Reply::Music { .. } => "music",
            Reply::News(_) => "news",
        }
    }
}

/// Renders a passive reply. The caller swaps the addresses: `to_user` is the
/// follower who wrote, `from_user` the account.
pub fn render(reply: &Reply, to_user: &str, from_user: &str, create_time: u64) -> String {
    // The envelope, the names and the CDATA marks come to under 400 bytes.
    let content = match reply {
        Reply::Text(content) => content.len(),
        _ => 512,
    };
    let mut out = String::with_capacity(400 + to_user.len() + from_user.len() + content);
    out.push_str("<xml>");
    push_cdata_element(&mut out, "ToUserName", to_user);
    push_cdata_element(&mut out, "FromUserName", from_user);
    // Digits need no escaping: written straight in, without a String of their own.
    let _ = write!(out, "<CreateTime>{create_time}</CreateTime>");
    push_cdata_element(&mut out, "MsgType", reply.msg_type());
    match reply {
        Reply::Text(content) => push_cdata_element(&mut out, "Content", content),
        Reply::Image { media_id } => push_group(&mut out, "Image", &[("MediaId", media_id)]),
        Reply::Voice { media_id } => push_group(&mut out, "Voice", &[("MediaId", media_id)]),
        Reply::Video { media_id, title, description } => push_group(
            &mut out,
            "Video",
            &[("MediaId", media_id), ("Title", title), ("Description", description)],
        ),
        Reply::Music { title, description, music_url, hq_music_url, thumb_media_id } => push_group(
            &mut out,
            "Music",
            &[
                ("Title", title),
                ("Description", description),
                ("MusicUrl", music_url),
                ("HQMusicUrl", hq_music_url),
                ("ThumbMediaId", thumb_media_id),
            ],
        ),
        Reply::News(article) => {
            push_text_element(&mut out, "ArticleCount", "1");
            out.push_str("<Articles>");
            push_group(
                &mut out,
                "item",
                &[
                    ("Title", &article.title),
                    ("Description", &article.description),
                    ("PicUrl", &article.pic_url),
                    ("Url", &article.url),
                ],
            );
            out.push_str("</Articles>");
        }
    }
    out.push_str("</xml>");
    out
}

/// The safe-mode response body wrapping an encrypted reply.
pub fn encrypted_envelope(
    encrypt: &str,
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    // Sized once: the envelope's names and marks come to under 128 bytes, and
    // growing from empty to a few KiB of base64 reallocated about ten times.
    let fields = encrypt.len() + msg_signature.len() + timestamp.len() + nonce.len();
    let mut out = String::with_capacity(128 + fields);
    out.push_str("<xml>");
    push_cdata_element(&mut out, "Encrypt", encrypt);
    push_cdata_element(&mut out, "MsgSignature", msg_signature);
    push_text_element(&mut out, "TimeStamp", timestamp);
    push_cdata_element(&mut out, "Nonce", nonce);
    out.push_str("</xml>");
    out
}

fn push_group(out: &mut String, name: &str, fields: &[(&str, &str)]) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for (field, value) in fields {
        push_cdata_element(out, field, value);
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::message::{parse, MessageKind};

    const HEAD: &str = "<xml><ToUserName><![CDATA[o_follower]]></ToUserName>\
        <FromUserName><![CDATA[gh_account]]></FromUserName><CreateTime>1700000000</CreateTime>";

    fn rendered(reply: &Reply) -> String {
        render(reply, "o_follower", "gh_account", 1_700_000_000)
    }

    #[test]
    fn text_reply_is_exact() {
        let expected = format!(
            "{HEAD}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></xml>"
        );
        assert_eq!(rendered(&Reply::Text("你好".into())), expected);
    }

    #[test]
    fn media_replies_are_exact() {
        let image = rendered(&Reply::Image { media_id: "m1".into() });
        let expected = "<MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[m1]]></MediaId></Image></xml>";
        assert_eq!(image, format!("{HEAD}{expected}"));
        let voice = rendered(&Reply::Voice { media_id: "m2".into() });
        let expected = "<MsgType><![CDATA[voice]]></MsgType><Voice><MediaId><![CDATA[m2]]></MediaId></Voice></xml>";
        assert_eq!(voice, format!("{HEAD}{expected}"));
        let video = rendered(&Reply::Video {
            media_id: "m3".into(),
            title: "t".into(),
            description: "d".into(),
        });
        let expected =
            "<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[m3]]></MediaId>\
            <Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description></Video></xml>";
        assert_eq!(video, format!("{HEAD}{expected}"));
    }

    #[test]
    fn music_reply_is_exact() {
        let music = rendered(&Reply::Music {
            title: "t".into(),
            description: "d".into(),
            music_url: "http://a/m.mp3".into(),
            hq_music_url: "http://a/hq.mp3".into(),
            thumb_media_id: "th".into(),
        });
        let expected = "<MsgType><![CDATA[music]]></MsgType><Music><Title><![CDATA[t]]></Title>\
            <Description><![CDATA[d]]></Description><MusicUrl><![CDATA[http://a/m.mp3]]></MusicUrl>\
            <HQMusicUrl><![CDATA[http://a/hq.mp3]]></HQMusicUrl><ThumbMediaId><![CDATA[th]]></ThumbMediaId></Music></xml>";
        assert_eq!(music, format!("{HEAD}{expected}"));
    }

    #[test]
    fn news_reply_has_exactly_one_article() {
        let news = rendered(&Reply::News(Article {
            title: "标题".into(),
            description: "desc".into(),
            pic_url: "http://p/1.jpg".into(),
            url: "http://u/?a=1&b=2".into(),
        }));
        let expected = "<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount><Articles><item>\
            <Title><![CDATA[标题]]></Title><Description><![CDATA[desc]]></Description>\
            <PicUrl><![CDATA[http://p/1.jpg]]></PicUrl><Url><![CDATA[http://u/?a=1&b=2]]></Url></item></Articles></xml>";
        assert_eq!(news, format!("{HEAD}{expected}"));
        assert!(roxmltree::Document::parse(&news).is_ok());
    }

    #[test]
    fn news_items_are_cut_to_what_wechat_takes_on_character_boundaries() {
        let long = Article {
            title: "春".repeat(60),
            description: "长描述".repeat(100),
            pic_url: format!("https://zatan.example/pictures/{}", "p".repeat(3000)),
            url: format!("https://zatan.example/articles/{}", "%E6%98%A5".repeat(300)),
        };
        let cut = long.clone().within_limits();
        assert!(cut.title.len() <= NEWS_TITLE_MAX_BYTES && cut.title.ends_with('…'));
        assert!(cut.title.starts_with("春春春"));
        assert!(cut.description.len() <= NEWS_DESCRIPTION_MAX_BYTES);
        assert!(cut.description.ends_with('…'), "{}", cut.description);
        assert_eq!(cut.pic_url.len(), NEWS_URL_MAX_BYTES);
        assert!(long.pic_url.starts_with(&cut.pic_url) && long.url.starts_with(&cut.url));
        assert!(cut.url.len() <= NEWS_URL_MAX_BYTES);
        // Within the limits nothing changes.
        let short = Article {
            title: "标题".into(),
            description: "desc".into(),
            pic_url: "http://p/1.jpg".into(),
            url: "http://u/".into(),
        };
        assert_eq!(short.clone().within_limits(), short);
    }

    #[test]
    fn tricky_text_round_trips_through_the_parser() {
        let content = "a]]>b <xml>&amp; ]]]]><![CDATA[> end]]>";
        let xml = rendered(&Reply::Text(format!("{content}\u{2}")));
        let back = parse(xml.as_bytes()).unwrap();
        assert_eq!(back.to_user, "o_follower");
        assert_eq!(back.from_user, "gh_account");
        assert_eq!(back.create_time, 1_700_000_000);
        assert_eq!(back.kind, MessageKind::Text { content: content.into() });
    }

    #[test]
    fn envelope_is_exact() {
        let envelope = encrypted_envelope("ENC+/=", "sig", "1409735669", "1320562132");
        assert_eq!(
            envelope,
            "<xml><Encrypt><![CDATA[ENC+/=]]></Encrypt><MsgSignature><![CDATA[sig]]></MsgSignature>\
             <TimeStamp>1409735669</TimeStamp><Nonce><![CDATA[1320562132]]></Nonce></xml>"
        );
    }
}
