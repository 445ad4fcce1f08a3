//! Passive replies: the XML answered in the body of the callback response.

use super::xml::{push_cdata_element, push_text_element};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    pub description: String,
    pub pic_url: String,
    pub url: String,
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
    let mut out = String::from("<xml>");
    push_cdata_element(&mut out, "ToUserName", to_user);
    push_cdata_element(&mut out, "FromUserName", from_user);
    push_text_element(&mut out, "CreateTime", &create_time.to_string());
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
    let mut out = String::from("<xml>");
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
