//! Incoming callback messages: what a follower sent, or an event, parsed from
//! the XML (or JSON) body WeChat posts.

pub use super::event::Event;
use super::fields::Fields;
pub use super::fields::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The Official Account (`gh_...`).
    pub to_user: String,
    /// The follower's OpenID.
    pub from_user: String,
    pub create_time: u64,
    /// `MsgId` (or `MsgID`), a u64 kept as its decimal text.
    pub msg_id: Option<String>,
    pub kind: MessageKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    Text { content: String },
    Image { pic_url: String, media_id: String },
    Voice { media_id: String, format: String, recognition: Option<String> },
    Video { media_id: String, thumb_media_id: String },
    ShortVideo { media_id: String, thumb_media_id: String },
    Location { x: f64, y: f64, scale: u32, label: String },
    Link { title: String, description: String, url: String },
    Event(Event),
    Unknown { msg_type: String },
}

impl Incoming {
    /// Identifies one message across WeChat's retries. `MsgId` alone has
    /// collided between followers, so it is qualified by the sender.
    pub fn dedupe_key(&self) -> String {
        match &self.msg_id {
            Some(msg_id) => format!("{}|{}", self.from_user, msg_id),
            None => format!(
                "{}|{}|{}|{}",
                self.from_user,
                self.create_time,
                self.event_name().unwrap_or_default(),
                self.event().and_then(Event::event_key).unwrap_or_default(),
            ),
        }
    }

    pub fn event_name(&self) -> Option<&str> {
        self.event().map(Event::name)
    }

    pub fn type_name(&self) -> &str {
        match &self.kind {
            MessageKind::Text { .. } => "text",
            MessageKind::Image { .. } => "image",
            MessageKind::Voice { .. } => "voice",
            MessageKind::Video { .. } => "video",
            MessageKind::ShortVideo { .. } => "shortvideo",
            MessageKind::Location { .. } => "location",
            MessageKind::Link { .. } => "link",
            MessageKind::Event(_) => "event",
            MessageKind::Unknown { msg_type } => msg_type,
        }
    }

    fn event(&self) -> Option<&Event> {
        match &self.kind {
            MessageKind::Event(event) => Some(event),
            _ => None,
        }
    }
}

/// Parses a plaintext callback body, XML or JSON. Unknown message types and
/// events are not errors; missing addressing or `MsgType` is.
pub fn parse(body: &[u8]) -> Result<Incoming, ParseError> {
    Fields::read(body, |fields| {
        let msg_type = fields.optional_str("MsgType").ok_or(ParseError::Missing("MsgType"))?;
        Ok(Incoming {
            to_user: required(fields, "ToUserName")?,
            from_user: required(fields, "FromUserName")?,
            create_time: fields.number("CreateTime"),
            msg_id: fields.optional("MsgId"),
            kind: MessageKind::from_fields(msg_type.trim(), fields),
        })
    })
}

/// The `Encrypt` value of a safe-mode or compatible-mode body.
pub fn parse_encrypt_field(body: &[u8]) -> Result<String, ParseError> {
    Fields::read(body, |fields| required(fields, "Encrypt"))
}

fn required(fields: &Fields, name: &'static str) -> Result<String, ParseError> {
    fields.optional(name).ok_or(ParseError::Missing(name))
}

impl MessageKind {
    fn from_fields(msg_type: &str, f: &Fields) -> MessageKind {
        match msg_type.to_ascii_lowercase().as_str() {
            "text" => MessageKind::Text { content: f.string("Content") },
            "image" => {
                MessageKind::Image { pic_url: f.string("PicUrl"), media_id: f.string("MediaId") }
            }
            "voice" => MessageKind::Voice {
                media_id: f.string("MediaId"),
                format: f.string("Format"),
                recognition: f.optional("Recognition"),
            },
            "video" => MessageKind::Video {
                media_id: f.string("MediaId"),
                thumb_media_id: f.string("ThumbMediaId"),
            },
            "shortvideo" => MessageKind::ShortVideo {
                media_id: f.string("MediaId"),
                thumb_media_id: f.string("ThumbMediaId"),
            },
            "location" => MessageKind::Location {
                x: f.number("Location_X"),
                y: f.number("Location_Y"),
                scale: f.number("Scale"),
                label: f.string("Label"),
            },
            "link" => MessageKind::Link {
                title: f.string("Title"),
                description: f.string("Description"),
                url: f.string("Url"),
            },
            "event" => MessageKind::Event(Event::from_fields(f)),
            _ => MessageKind::Unknown { msg_type: msg_type.to_string() },
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A realistic message from a follower to the account, around `inner`.
    pub(crate) fn sample_xml(inner: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n\
             <FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n\
             <CreateTime>1409735668</CreateTime>\n{inner}\n</xml>"
        )
    }

    fn kind_of(inner: &str) -> MessageKind {
        parse(sample_xml(inner).as_bytes()).unwrap().kind
    }

    #[test]
    fn text_message() {
        let msg = parse(
            sample_xml(
                "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content>\
                 <MsgId>6054768590064713728</MsgId>",
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(msg.to_user, "gh_10f6c3c3ac5a");
        assert_eq!(msg.from_user, "oyORnuP8q7ou2gfYjqLzSIWZf0rs");
        assert_eq!(msg.create_time, 1409735668);
        assert_eq!(msg.msg_id.as_deref(), Some("6054768590064713728"));
        assert_eq!(msg.kind, MessageKind::Text { content: "abcdteT".into() });
        assert_eq!(msg.type_name(), "text");
        assert_eq!(msg.event_name(), None);
    }

    #[test]
    fn image_message() {
        let kind = kind_of(
            "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/x/0]]></PicUrl>\
             <MediaId><![CDATA[media_img]]></MediaId><MsgId>1234567890123456</MsgId>",
        );
        let expected = MessageKind::Image {
            pic_url: "http://mmbiz.qpic.cn/x/0".into(),
            media_id: "media_img".into(),
        };
        assert_eq!(kind, expected);
    }

    #[test]
    fn voice_message_with_and_without_recognition() {
        let kind = kind_of(
            "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_v]]></MediaId>\
             <Format><![CDATA[amr]]></Format><Recognition><![CDATA[腾讯微信团队]]></Recognition>\
             <MsgId>1234567890123456</MsgId>",
        );
        let expected = MessageKind::Voice {
            media_id: "media_v".into(),
            format: "amr".into(),
            recognition: Some("腾讯微信团队".into()),
        };
        assert_eq!(kind, expected);
        let kind = kind_of(
            "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId><Format><![CDATA[speex]]></Format>",
        );
        let expected =
            MessageKind::Voice { media_id: "m".into(), format: "speex".into(), recognition: None };
        assert_eq!(kind, expected);
    }

    #[test]
    fn video_and_shortvideo_messages() {
        let fields = "<MediaId><![CDATA[media_vid]]></MediaId><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId>";
        let video = kind_of(&format!("<MsgType><![CDATA[video]]></MsgType>{fields}"));
        let expected =
            MessageKind::Video { media_id: "media_vid".into(), thumb_media_id: "thumb".into() };
        assert_eq!(video, expected);
        let short = kind_of(&format!("<MsgType><![CDATA[shortvideo]]></MsgType>{fields}"));
        let expected = MessageKind::ShortVideo {
            media_id: "media_vid".into(),
            thumb_media_id: "thumb".into(),
        };
        assert_eq!(short, expected);
    }

    #[test]
    fn location_message() {
        let kind = kind_of(
            "<MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X>\
             <Location_Y>113.358803</Location_Y><Scale>20</Scale>\
             <Label><![CDATA[位置信息]]></Label><MsgId>1234567890123456</MsgId>",
        );
        let expected = MessageKind::Location {
            x: 23.134521,
            y: 113.358803,
            scale: 20,
            label: "位置信息".into(),
        };
        assert_eq!(kind, expected);
    }

    #[test]
    fn link_message() {
        let kind = kind_of(
            "<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[公众平台官网链接]]></Title>\
             <Description><![CDATA[公众平台官网链接 & more]]></Description>\
             <Url><![CDATA[https://mp.weixin.qq.com/s?a=1&b=2]]></Url><MsgId>1234567890123456</MsgId>",
        );
        let expected = MessageKind::Link {
            title: "公众平台官网链接".into(),
            description: "公众平台官网链接 & more".into(),
            url: "https://mp.weixin.qq.com/s?a=1&b=2".into(),
        };
        assert_eq!(kind, expected);
    }

    #[test]
    fn unknown_type_is_not_an_error() {
        let msg = parse(
            sample_xml("<MsgType><![CDATA[miniprogrampage]]></MsgType><Title>t</Title>").as_bytes(),
        )
        .unwrap();
        assert_eq!(msg.kind, MessageKind::Unknown { msg_type: "miniprogrampage".into() });
        assert_eq!(msg.type_name(), "miniprogrampage");
    }

    #[test]
    fn json_body_parses_like_xml() {
        let body = r#"{"ToUserName":"gh_10f6c3c3ac5a","FromUserName":"oyORnuP8q7ou2gfYjqLzSIWZf0rs",
            "CreateTime":1409735668,"MsgType":"text","Content":"hi \u0002there","MsgId":6054768590064713728}"#;
        let msg = parse(body.as_bytes()).unwrap();
        assert_eq!(msg.to_user, "gh_10f6c3c3ac5a");
        assert_eq!(msg.from_user, "oyORnuP8q7ou2gfYjqLzSIWZf0rs");
        assert_eq!(msg.create_time, 1409735668);
        assert_eq!(msg.msg_id.as_deref(), Some("6054768590064713728"));
        assert_eq!(msg.kind, MessageKind::Text { content: "hi there".into() });
    }

    #[test]
    fn json_location_with_string_numbers() {
        let body = r#"{"ToUserName":"gh_a","FromUserName":"o_b","CreateTime":"1","MsgType":"location",
            "Location_X":"23.5","Location_Y":113.25,"Scale":"15","Label":"L"}"#;
        let msg = parse(body.as_bytes()).unwrap();
        assert_eq!(msg.create_time, 1);
        assert_eq!(
            msg.kind,
            MessageKind::Location { x: 23.5, y: 113.25, scale: 15, label: "L".into() }
        );
    }

    #[test]
    fn control_characters_in_cdata_are_stripped() {
        let body = sample_xml("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a\x02b\x10c\x00d\tе\n]]></Content>");
        let msg = parse(body.as_bytes()).unwrap();
        assert_eq!(msg.kind, MessageKind::Text { content: "abcd\tе\n".into() });
    }

    #[test]
    fn xml_pasted_into_text_stays_text() {
        let pasted = "<xml><ToUserName><![CDATA[evil]]></ToUserName><MsgType>image</MsgType></xml>";
        // A `]]>` inside the paste arrives split over two CDATA sections.
        let body = sample_xml(&format!(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{}]]></Content>",
            pasted.replace("]]>", "]]]]><![CDATA[>")
        ));
        let msg = parse(body.as_bytes()).unwrap();
        assert_eq!(msg.to_user, "gh_10f6c3c3ac5a");
        assert_eq!(msg.kind, MessageKind::Text { content: pasted.into() });
    }

    #[test]
    fn missing_required_fields_are_named() {
        let cases = [
            ("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType></xml>", "missing <ToUserName>"),
            ("<xml><ToUserName>g</ToUserName><MsgType>text</MsgType></xml>", "missing <FromUserName>"),
            ("<xml><ToUserName>g</ToUserName><FromUserName><![CDATA[]]></FromUserName><MsgType>text</MsgType></xml>", "missing <FromUserName>"),
            ("<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName></xml>", "missing <MsgType>"),
            (r#"{"ToUserName":"g","FromUserName":"o"}"#, "missing <MsgType>"),
        ];
        for (body, message) in cases {
            assert_eq!(parse(body.as_bytes()).unwrap_err().to_string(), message, "{body}");
        }
    }

    #[test]
    fn missing_numbers_default_to_zero() {
        let msg = parse(b"<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType></xml>")
            .unwrap();
        assert_eq!(msg.create_time, 0);
        assert_eq!(msg.msg_id, None);
        assert_eq!(msg.kind, MessageKind::Text { content: String::new() });
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let deep_xml = format!("<xml>{}</xml>", "<a>".repeat(100_000));
        let deep_json = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        let many_nodes = format!("<xml>{}</xml>", "<a/>".repeat(20_000));
        let bad: Vec<&[u8]> = vec![
            b"",
            b"   \n ",
            b"success",
            b"\xff\xfe\x00garbage",
            b"<xml>",
            b"<xml><ToUserName>g</ToUserName><FromUserName>o</From",
            b"<xml><ToUserName>g</ToUserName></xml><xml/>",
            b"<!DOCTYPE x [<!ENTITY a \"b\">]><xml>&a;</xml>",
            b"{",
            b"{\"ToUserName\":",
            b"[1,2,3]",
            b"{}",
            b"<xml/>",
            deep_xml.as_bytes(),
            deep_json.as_bytes(),
            many_nodes.as_bytes(),
        ];
        for body in bad {
            let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
            assert!(parse(body).is_err(), "accepted {shown:?}");
            assert!(parse_encrypt_field(body).is_err(), "found Encrypt in {shown:?}");
        }
    }

    #[test]
    fn every_truncation_of_a_message_is_handled() {
        let body = sample_xml("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[scancode_push]]></Event><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo>");
        for end in 0..body.len() {
            let _ = parse(&body.as_bytes()[..end]);
        }
        assert!(parse(body.as_bytes()).is_ok());
    }

    #[test]
    fn encrypt_field_in_safe_and_compatible_bodies() {
        let safe = b"<xml><ToUserName><![CDATA[gh_a]]></ToUserName><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>";
        assert_eq!(parse_encrypt_field(safe).unwrap(), "abc+/=");
        let compatible = sample_xml(
            "<MsgType>text</MsgType><Content>hi</Content><Encrypt><![CDATA[xyz]]></Encrypt>",
        );
        assert_eq!(parse_encrypt_field(compatible.as_bytes()).unwrap(), "xyz");
        assert_eq!(parse_encrypt_field(br#"{"ToUserName":"g","Encrypt":"j=="}"#).unwrap(), "j==");
        let plain = sample_xml("<MsgType>text</MsgType>");
        assert_eq!(
            parse_encrypt_field(plain.as_bytes()).unwrap_err().to_string(),
            "missing <Encrypt>"
        );
    }

    #[test]
    fn dedupe_key_uses_sender_and_msg_id() {
        let msg = parse(
            sample_xml("<MsgType>text</MsgType><MsgId>6054768590064713728</MsgId>").as_bytes(),
        )
        .unwrap();
        assert_eq!(msg.dedupe_key(), "oyORnuP8q7ou2gfYjqLzSIWZf0rs|6054768590064713728");
    }

    #[test]
    fn dedupe_key_without_msg_id_uses_time_event_and_key() {
        let click = parse(
            sample_xml("<MsgType>event</MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[V1001_TODAY]]></EventKey>")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(click.dedupe_key(), "oyORnuP8q7ou2gfYjqLzSIWZf0rs|1409735668|CLICK|V1001_TODAY");
        let unsubscribe =
            parse(sample_xml("<MsgType>event</MsgType><Event>unsubscribe</Event>").as_bytes())
                .unwrap();
        assert_eq!(
            unsubscribe.dedupe_key(),
            "oyORnuP8q7ou2gfYjqLzSIWZf0rs|1409735668|unsubscribe|"
        );
        let same_id_other_sender = parse(
            b"<xml><ToUserName>g</ToUserName><FromUserName>o2</FromUserName><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
        )
        .unwrap();
        assert_eq!(same_id_other_sender.dedupe_key(), "o2|1");
    }
}
