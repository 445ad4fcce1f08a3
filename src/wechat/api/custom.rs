//! Customer-service messages (`message/custom/send`): what a follower gets
//! outside the 5-second reply, within 48 h of their last message.

use serde_json::{json, Value};

use crate::wechat::Article;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomMessage {
    /// The follower's OpenID.
    pub to_user: String,
    pub content: CustomContent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomContent {
    Text(String),
    Image {
        media_id: String,
    },
    /// One article: WeChat refuses more in a customer-service news (45008).
    News(Article),
}

impl CustomMessage {
    pub fn text(to_user: impl Into<String>, content: impl Into<String>) -> CustomMessage {
        CustomMessage { to_user: to_user.into(), content: CustomContent::Text(content.into()) }
    }

    pub fn image(to_user: impl Into<String>, media_id: impl Into<String>) -> CustomMessage {
        CustomMessage {
            to_user: to_user.into(),
            content: CustomContent::Image { media_id: media_id.into() },
        }
    }

    pub fn news(to_user: impl Into<String>, article: Article) -> CustomMessage {
        CustomMessage { to_user: to_user.into(), content: CustomContent::News(article) }
    }

    /// The request body. serde_json writes non-ASCII as UTF-8, not `\uXXXX`
    /// escapes, which some WeChat clients would show literally.
    pub(super) fn to_json(&self) -> String {
        let (msgtype, payload) = match &self.content {
            CustomContent::Text(content) => ("text", json!({ "content": content })),
            CustomContent::Image { media_id } => ("image", json!({ "media_id": media_id })),
            CustomContent::News(a) => (
                "news",
                json!({ "articles": [{
                    "title": a.title,
                    "description": a.description,
                    "url": a.url,
                    "picurl": a.pic_url,
                }] }),
            ),
        };
        let mut body = json!({ "touser": self.to_user, "msgtype": msgtype });
        body[msgtype] = payload;
        Value::to_string(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(message: &CustomMessage) -> Value {
        serde_json::from_str(&message.to_json()).unwrap()
    }

    #[test]
    fn text_message_json() {
        assert_eq!(
            parsed(&CustomMessage::text("OPENID", "收到")),
            json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "收到"}})
        );
        assert!(
            CustomMessage::text("O", "收到").to_json().contains("收到"),
            "non-ASCII stays UTF-8"
        );
    }

    #[test]
    fn image_message_json() {
        assert_eq!(
            parsed(&CustomMessage::image("OPENID", "MEDIA")),
            json!({"touser": "OPENID", "msgtype": "image", "image": {"media_id": "MEDIA"}})
        );
    }

    #[test]
    fn news_message_json() {
        let article = Article {
            title: "T".into(),
            description: "D".into(),
            pic_url: "http://p/1.jpg".into(),
            url: "http://u/".into(),
        };
        assert_eq!(
            parsed(&CustomMessage::news("OPENID", article)),
            json!({"touser": "OPENID", "msgtype": "news", "news": {"articles": [
                {"title": "T", "description": "D", "url": "http://u/", "picurl": "http://p/1.jpg"}
            ]}})
        );
    }
}
