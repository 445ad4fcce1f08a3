//! Event pushes (`MsgType` = `event`): subscriptions, menu clicks, scans,
//! job reports. Unknown events are kept as `Other`, never an error.

use super::fields::Fields;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `event_key` is `qrscene_<scene>` when the follow came from a QR code.
    Subscribe {
        event_key: Option<String>,
        ticket: Option<String>,
    },
    Unsubscribe,
    /// An existing follower scanned a parametric QR code (`event_key` = scene).
    Scan {
        event_key: String,
        ticket: Option<String>,
    },
    /// Periodic location report, when the account asks for it.
    Location {
        latitude: f64,
        longitude: f64,
        precision: f64,
    },
    Click {
        event_key: String,
    },
    View {
        url: String,
    },
    ScancodePush {
        event_key: String,
        scan_type: String,
        scan_result: String,
    },
    ScancodeWaitmsg {
        event_key: String,
        scan_type: String,
        scan_result: String,
    },
    PicSysphoto {
        event_key: String,
        count: u32,
        pic_md5_sums: Vec<String>,
    },
    PicPhotoOrAlbum {
        event_key: String,
        count: u32,
        pic_md5_sums: Vec<String>,
    },
    PicWeixin {
        event_key: String,
        count: u32,
        pic_md5_sums: Vec<String>,
    },
    LocationSelect {
        event_key: String,
        x: f64,
        y: f64,
        scale: u32,
        label: String,
        poiname: Option<String>,
    },
    TemplateSendJobFinish {
        msg_id: Option<String>,
        status: String,
    },
    MassSendJobFinish {
        msg_id: Option<String>,
        status: String,
        total_count: u32,
        filter_count: u32,
        sent_count: u32,
        error_count: u32,
    },
    /// `subscribe_msg_popup_event`, `subscribe_msg_change_event`, `subscribe_msg_sent_event`.
    SubscribeMsg {
        event: String,
    },
    /// `kf_create_session`, `kf_close_session`, `kf_switch_session` (then the new account).
    KfSession {
        event: String,
        kf_account: String,
    },
    Other {
        event: String,
        event_key: Option<String>,
    },
}

impl Event {
    pub(super) fn from_fields(f: &Fields) -> Event {
        let event = f.string("Event").trim().to_string();
        let event_key = || f.string("EventKey");
        match event.to_ascii_lowercase().as_str() {
            "subscribe" => {
                Event::Subscribe { event_key: f.optional("EventKey"), ticket: f.optional("Ticket") }
            }
            "unsubscribe" => Event::Unsubscribe,
            "scan" => Event::Scan { event_key: event_key(), ticket: f.optional("Ticket") },
            "location" => Event::Location {
                latitude: f.number("Latitude"),
                longitude: f.number("Longitude"),
                precision: f.number("Precision"),
            },
            "click" => Event::Click { event_key: event_key() },
            "view" => Event::View { url: event_key() },
            "scancode_push" => {
                let (scan_type, scan_result) = scan_code_info(f);
                Event::ScancodePush { event_key: event_key(), scan_type, scan_result }
            }
            "scancode_waitmsg" => {
                let (scan_type, scan_result) = scan_code_info(f);
                Event::ScancodeWaitmsg { event_key: event_key(), scan_type, scan_result }
            }
            "pic_sysphoto" => {
                let (count, pic_md5_sums) = sent_pics(f);
                Event::PicSysphoto { event_key: event_key(), count, pic_md5_sums }
            }
            "pic_photo_or_album" => {
                let (count, pic_md5_sums) = sent_pics(f);
                Event::PicPhotoOrAlbum { event_key: event_key(), count, pic_md5_sums }
            }
            "pic_weixin" => {
                let (count, pic_md5_sums) = sent_pics(f);
                Event::PicWeixin { event_key: event_key(), count, pic_md5_sums }
            }
            "location_select" => {
                let info = f.group("SendLocationInfo");
                Event::LocationSelect {
                    event_key: event_key(),
                    x: info.number("Location_X"),
                    y: info.number("Location_Y"),
                    scale: info.number("Scale"),
                    label: info.string("Label"),
                    poiname: info.optional("Poiname"),
                }
            }
            "templatesendjobfinish" => Event::TemplateSendJobFinish {
                msg_id: f.optional("MsgID"),
                status: f.string("Status"),
            },
            "masssendjobfinish" => Event::MassSendJobFinish {
                msg_id: f.optional("MsgID"),
                status: f.string("Status"),
                total_count: f.number("TotalCount"),
                filter_count: f.number("FilterCount"),
                sent_count: f.number("SentCount"),
                error_count: f.number("ErrorCount"),
            },
            name if name.starts_with("subscribe_msg_") => Event::SubscribeMsg { event },
            name if name.starts_with("kf_") && name.ends_with("_session") => {
                let kf_account = f.optional("KfAccount").or_else(|| f.optional("ToKfAccount"));
                Event::KfSession { event, kf_account: kf_account.unwrap_or_default() }
            }
            _ => Event::Other { event, event_key: f.optional("EventKey") },
        }
    }

    /// The event name as WeChat spells it.
    pub fn name(&self) -> &str {
        match self {
            Event::Subscribe { .. } => "subscribe",
            Event::Unsubscribe => "unsubscribe",
            Event::Scan { .. } => "SCAN",
            Event::Location { .. } => "LOCATION",
            Event::Click { .. } => "CLICK",
            Event::View { .. } => "VIEW",
            Event::ScancodePush { .. } => "scancode_push",
            Event::ScancodeWaitmsg { .. } => "scancode_waitmsg",
            Event::PicSysphoto { .. } => "pic_sysphoto",
            Event::PicPhotoOrAlbum { .. } => "pic_photo_or_album",
            Event::PicWeixin { .. } => "pic_weixin",
            Event::LocationSelect { .. } => "location_select",
            Event::TemplateSendJobFinish { .. } => "TEMPLATESENDJOBFINISH",
            Event::MassSendJobFinish { .. } => "MASSSENDJOBFINISH",
            Event::SubscribeMsg { event }
            | Event::KfSession { event, .. }
            | Event::Other { event, .. } => event,
        }
    }

    /// The `EventKey` WeChat sent, when the event has one (for VIEW, the URL).
    pub fn event_key(&self) -> Option<&str> {
        match self {
            Event::Subscribe { event_key, .. } | Event::Other { event_key, .. } => {
                event_key.as_deref()
            }
            Event::Scan { event_key, .. }
            | Event::Click { event_key }
            | Event::ScancodePush { event_key, .. }
            | Event::ScancodeWaitmsg { event_key, .. }
            | Event::PicSysphoto { event_key, .. }
            | Event::PicPhotoOrAlbum { event_key, .. }
            | Event::PicWeixin { event_key, .. }
            | Event::LocationSelect { event_key, .. } => Some(event_key),
            Event::View { url } => Some(url),
            Event::Unsubscribe
            | Event::Location { .. }
            | Event::TemplateSendJobFinish { .. }
            | Event::MassSendJobFinish { .. }
            | Event::SubscribeMsg { .. }
            | Event::KfSession { .. } => None,
        }
    }
}

fn scan_code_info(f: &Fields) -> (String, String) {
    let info = f.group("ScanCodeInfo");
    (info.string("ScanType"), info.string("ScanResult"))
}

fn sent_pics(f: &Fields) -> (u32, Vec<String>) {
    let info = f.group("SendPicsInfo");
    (info.number("Count"), info.texts_below("PicMd5Sum"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::message::tests::sample_xml;
    use crate::wechat::message::{parse, Incoming, MessageKind};

    fn parse_event(inner: &str) -> (Incoming, Event) {
        let msg =
            parse(sample_xml(&format!("<MsgType><![CDATA[event]]></MsgType>{inner}")).as_bytes())
                .unwrap();
        match msg.kind.clone() {
            MessageKind::Event(event) => (msg, event),
            other => panic!("not an event: {other:?}"),
        }
    }

    fn event_of(inner: &str) -> Event {
        parse_event(inner).1
    }

    #[test]
    fn subscribe_plain_and_from_qr_code() {
        let plain =
            event_of("<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey>");
        assert_eq!(plain, Event::Subscribe { event_key: None, ticket: None });
        let (msg, qr) = parse_event(
            "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_123123]]></EventKey>\
             <Ticket><![CDATA[TICKET]]></Ticket>",
        );
        let expected = Event::Subscribe {
            event_key: Some("qrscene_123123".into()),
            ticket: Some("TICKET".into()),
        };
        assert_eq!(qr, expected);
        assert_eq!(msg.type_name(), "event");
        assert_eq!(msg.event_name(), Some("subscribe"));
    }

    #[test]
    fn unsubscribe() {
        assert_eq!(event_of("<Event><![CDATA[unsubscribe]]></Event>"), Event::Unsubscribe);
    }

    #[test]
    fn scan() {
        let event = event_of(
            "<Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>",
        );
        assert_eq!(
            event,
            Event::Scan { event_key: "SCENE_VALUE".into(), ticket: Some("TICKET".into()) }
        );
        assert_eq!(event.name(), "SCAN");
    }

    #[test]
    fn location_report() {
        let event = event_of(
            "<Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude>\
             <Longitude>113.352425</Longitude><Precision>119.385040</Precision>",
        );
        assert_eq!(
            event,
            Event::Location { latitude: 23.137466, longitude: 113.352425, precision: 119.38504 }
        );
    }

    #[test]
    fn click_and_view() {
        let click =
            event_of("<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[EVENTKEY]]></EventKey>");
        assert_eq!(click, Event::Click { event_key: "EVENTKEY".into() });
        let view = event_of(
            "<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[www.qq.com]]></EventKey><MenuId>MENUID</MenuId>",
        );
        assert_eq!(view, Event::View { url: "www.qq.com".into() });
        assert_eq!(view.event_key(), Some("www.qq.com"));
    }

    const SCAN_CODE_INFO: &str = "<EventKey><![CDATA[6]]></EventKey><ScanCodeInfo>\
        <ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>";

    #[test]
    fn scancode_push_and_waitmsg() {
        let push = event_of(&format!("<Event><![CDATA[scancode_push]]></Event>{SCAN_CODE_INFO}"));
        let expected = Event::ScancodePush {
            event_key: "6".into(),
            scan_type: "qrcode".into(),
            scan_result: "1".into(),
        };
        assert_eq!(push, expected);
        let wait =
            event_of(&format!("<Event><![CDATA[scancode_waitmsg]]></Event>{SCAN_CODE_INFO}"));
        let expected = Event::ScancodeWaitmsg {
            event_key: "6".into(),
            scan_type: "qrcode".into(),
            scan_result: "1".into(),
        };
        assert_eq!(wait, expected);
    }

    const SEND_PICS_INFO: &str = "<EventKey><![CDATA[6]]></EventKey><SendPicsInfo><Count>2</Count>\
        <PicList><item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item>\
        <item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum></item></PicList></SendPicsInfo>";

    #[test]
    fn picture_events() {
        let sums = vec![
            "1b5f7c23b5bf75682a53e7b6d163e185".to_string(),
            "5a75aaca956d97be686719218f275c6b".into(),
        ];
        let key = || "6".to_string();
        let cases = [
            (
                "pic_sysphoto",
                Event::PicSysphoto { event_key: key(), count: 2, pic_md5_sums: sums.clone() },
            ),
            (
                "pic_photo_or_album",
                Event::PicPhotoOrAlbum { event_key: key(), count: 2, pic_md5_sums: sums.clone() },
            ),
            (
                "pic_weixin",
                Event::PicWeixin { event_key: key(), count: 2, pic_md5_sums: sums.clone() },
            ),
        ];
        for (name, expected) in cases {
            let event = event_of(&format!("<Event><![CDATA[{name}]]></Event>{SEND_PICS_INFO}"));
            assert_eq!(event, expected);
            assert_eq!(event.name(), name);
        }
    }

    #[test]
    fn location_select() {
        let event = event_of(
            "<Event><![CDATA[location_select]]></Event><EventKey><![CDATA[6]]></EventKey><SendLocationInfo>\
             <Location_X><![CDATA[23]]></Location_X><Location_Y><![CDATA[113]]></Location_Y>\
             <Scale><![CDATA[15]]></Scale><Label><![CDATA[ 广州市海珠区客村艺苑路 106号]]></Label>\
             <Poiname><![CDATA[]]></Poiname></SendLocationInfo>",
        );
        let expected = Event::LocationSelect {
            event_key: "6".into(),
            x: 23.0,
            y: 113.0,
            scale: 15,
            label: " 广州市海珠区客村艺苑路 106号".into(),
            poiname: None,
        };
        assert_eq!(event, expected);
    }

    #[test]
    fn template_send_job_finish_with_msg_id_capital_d() {
        let (msg, event) = parse_event(
            "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>",
        );
        let expected = Event::TemplateSendJobFinish {
            msg_id: Some("200163836".into()),
            status: "success".into(),
        };
        assert_eq!(event, expected);
        assert_eq!(msg.msg_id.as_deref(), Some("200163836"));
        assert_eq!(msg.dedupe_key(), "oyORnuP8q7ou2gfYjqLzSIWZf0rs|200163836");
    }

    #[test]
    fn mass_send_job_finish() {
        let event = event_of(
            "<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>1988</MsgID><Status><![CDATA[sendsuccess]]></Status>\
             <TotalCount>100</TotalCount><FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount>\
             <CopyrightCheckResult><Count>0</Count><ResultList/><CheckState>1</CheckState></CopyrightCheckResult>",
        );
        let expected = Event::MassSendJobFinish {
            msg_id: Some("1988".into()),
            status: "sendsuccess".into(),
            total_count: 100,
            filter_count: 80,
            sent_count: 75,
            error_count: 5,
        };
        assert_eq!(event, expected);
    }

    #[test]
    fn subscribe_message_events() {
        for name in
            ["subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event"]
        {
            let event = event_of(&format!(
                "<Event><![CDATA[{name}]]></Event><SubscribeMsgPopupEvent><List>\
                 <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>\
                 <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString></List></SubscribeMsgPopupEvent>"
            ));
            assert_eq!(event, Event::SubscribeMsg { event: name.into() });
            assert_eq!(event.name(), name);
        }
    }

    #[test]
    fn customer_service_session_events() {
        let create = event_of("<Event><![CDATA[kf_create_session]]></Event><KfAccount><![CDATA[test1@test]]></KfAccount>");
        assert_eq!(
            create,
            Event::KfSession { event: "kf_create_session".into(), kf_account: "test1@test".into() }
        );
        let close = event_of("<Event><![CDATA[kf_close_session]]></Event><KfAccount><![CDATA[test1@test]]></KfAccount>");
        assert_eq!(
            close,
            Event::KfSession { event: "kf_close_session".into(), kf_account: "test1@test".into() }
        );
        let switch = event_of(
            "<Event><![CDATA[kf_switch_session]]></Event><FromKfAccount><![CDATA[test1@test]]></FromKfAccount>\
             <ToKfAccount><![CDATA[test2@test]]></ToKfAccount>",
        );
        assert_eq!(
            switch,
            Event::KfSession { event: "kf_switch_session".into(), kf_account: "test2@test".into() }
        );
    }

    #[test]
    fn unknown_and_missing_events_are_other() {
        let (msg, event) =
            parse_event("<Event><![CDATA[view_miniprogram]]></Event><EventKey><![CDATA[pages/index]]></EventKey>");
        assert_eq!(
            event,
            Event::Other {
                event: "view_miniprogram".into(),
                event_key: Some("pages/index".into())
            }
        );
        assert_eq!(msg.event_name(), Some("view_miniprogram"));
        assert_eq!(
            msg.dedupe_key(),
            "oyORnuP8q7ou2gfYjqLzSIWZf0rs|1409735668|view_miniprogram|pages/index"
        );
        assert_eq!(event_of(""), Event::Other { event: String::new(), event_key: None });
    }

    #[test]
    fn json_event_with_nested_groups() {
        let body = r#"{"ToUserName":"gh_a","FromUserName":"o_b","CreateTime":1,"MsgType":"event",
            "Event":"pic_weixin","EventKey":"k","SendPicsInfo":{"Count":2,
            "PicList":[{"item":{"PicMd5Sum":"m1"}},{"item":{"PicMd5Sum":"m2"}}]}}"#;
        let msg = parse(body.as_bytes()).unwrap();
        let expected = Event::PicWeixin {
            event_key: "k".into(),
            count: 2,
            pic_md5_sums: vec!["m1".into(), "m2".into()],
        };
        assert_eq!(msg.kind, MessageKind::Event(expected));
    }
}
