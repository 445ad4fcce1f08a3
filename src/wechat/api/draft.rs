//! Articles in the account's draft box (protocol sheet, section 7): the
//! images inside an article, drafts, and publishing them. The JSON shapes of
//! `draft/add`, `draft/update` and `freepublish/*`, and what their answers mean.

use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::response::required_str;

/// WeChat's limit for an image inside an article (`media/uploadimg`).
pub const ARTICLE_IMAGE_MAX_BYTES: usize = 1024 * 1024;
/// WeChat's limits for the fields of a draft's article.
pub const TITLE_MAX_CHARS: usize = 32;
pub const AUTHOR_MAX_CHARS: usize = 16;
pub const DIGEST_MAX_CHARS: usize = 128;
/// `content` must stay under both.
pub const CONTENT_MAX_CHARS: usize = 20_000;
pub const CONTENT_MAX_BYTES: usize = 1024 * 1024;

/// One article of a draft, as `draft/add` and `draft/update` take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftArticle {
    pub title: String,
    pub author: String,
    pub digest: String,
    pub content: String,
    pub content_source_url: String,
    pub thumb_media_id: String,
    pub need_open_comment: u8,
    pub only_fans_can_comment: u8,
}

pub(super) fn add_body(article: &DraftArticle) -> String {
    json!({ "articles": [article] }).to_string()
}

pub(super) fn update_body(media_id: &str, article: &DraftArticle) -> String {
    json!({ "media_id": media_id, "index": 0, "articles": article }).to_string()
}

/// Where a publication (`freepublish/submit`) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishStatus {
    /// Published: the article's address, when WeChat gives it.
    Published { article_url: Option<String> },
    /// Still being published: ask again.
    Publishing,
    /// WeChat refused it; the words say why.
    Failed(String),
}

/// `{"media_id":".."}` from `draft/add` or `material/add_material`.
pub(super) fn parse_media_id(body: &Value) -> Result<String, ApiError> {
    let id = required_str(body, "media_id")?;
    if id.is_empty() {
        return Err(ApiError::BadResponse("empty media_id".into()));
    }
    Ok(id.to_owned())
}

/// `{"url":"http://mmbiz.qpic.cn/.."}` from `media/uploadimg`.
pub(super) fn parse_image_url(body: &Value) -> Result<String, ApiError> {
    let url = required_str(body, "url")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ApiError::BadResponse(format!("uploadimg gave no URL ({url:?})")));
    }
    Ok(url.to_owned())
}

/// `publish_id`, which WeChat sends as a string or a number.
pub(super) fn parse_publish_id(body: &Value) -> Result<String, ApiError> {
    match body.get("publish_id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        _ => Err(ApiError::BadResponse("no publish_id".into())),
    }
}

/// The answer of `freepublish/get`: `publish_status` 0 published, 1
/// publishing, 2 original-content check failed, 3 general failure, 4
/// rejected by the platform review, 5 deleted after success, 6 banned.
pub(super) fn parse_publish_status(body: &Value) -> Result<PublishStatus, ApiError> {
    let status = body
        .get("publish_status")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::BadResponse("no publish_status".into()))?;
    let failed = |why: &str| {
        let indexes = body.get("fail_idx").map(Value::to_string).unwrap_or_default();
        let detail = if indexes.is_empty() || indexes == "[]" || indexes == "null" {
            String::new()
        } else {
            format!(" (articles {indexes})")
        };
        Ok(PublishStatus::Failed(format!("{why}{detail}")))
    };
    match status {
        0 => Ok(PublishStatus::Published {
            article_url: body["article_detail"]["item"]
                .as_array()
                .and_then(|items| items.first())
                .and_then(|item| item["article_url"].as_str())
                .map(str::to_owned),
        }),
        1 => Ok(PublishStatus::Publishing),
        2 => failed("WeChat's original-content check failed (原创失败)"),
        3 => failed("WeChat could not publish it (常规失败)"),
        4 => failed("the platform's review rejected it (平台审核不通过)"),
        5 => failed("it was published and then deleted (成功后用户删除所有文章)"),
        6 => failed("it was published and then banned (成功后系统封禁所有文章)"),
        other => failed(&format!("publish_status {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article() -> DraftArticle {
        DraftArticle {
            title: "春雨".into(),
            author: "小明".into(),
            digest: "一句话".into(),
            content: "<p style=\"x\">正文</p>".into(),
            content_source_url: "https://box/articles/rain".into(),
            thumb_media_id: "THUMB".into(),
            need_open_comment: 1,
            only_fans_can_comment: 0,
        }
    }

    #[test]
    fn bodies_have_wechats_shape() {
        let add: Value = serde_json::from_str(&add_body(&article())).unwrap();
        assert_eq!(add["articles"][0]["title"], "春雨");
        assert_eq!(add["articles"][0]["thumb_media_id"], "THUMB");
        assert_eq!(add["articles"][0]["need_open_comment"], 1);
        let update: Value = serde_json::from_str(&update_body("M1", &article())).unwrap();
        assert_eq!((update["media_id"].as_str(), update["index"].as_i64()), (Some("M1"), Some(0)));
        assert_eq!(update["articles"]["content_source_url"], "https://box/articles/rain");
    }

    #[test]
    fn answers_are_read() {
        assert_eq!(parse_media_id(&json!({"media_id": "M"})).unwrap(), "M");
        assert!(parse_media_id(&json!({"media_id": ""})).is_err());
        assert_eq!(
            parse_image_url(&json!({"url": "http://mmbiz.qpic.cn/a"})).unwrap(),
            "http://mmbiz.qpic.cn/a"
        );
        assert!(parse_image_url(&json!({"url": "x"})).is_err());
        assert_eq!(parse_publish_id(&json!({"publish_id": 100000001})).unwrap(), "100000001");
        assert_eq!(parse_publish_id(&json!({"publish_id": "2247"})).unwrap(), "2247");
        assert!(parse_publish_id(&json!({})).is_err());
    }

    #[test]
    fn publish_status_in_words() {
        let done = json!({"publish_status": 0, "article_detail": {"count": 1, "item": [{"idx": 1, "article_url": "https://mp.weixin.qq.com/s/x"}]}});
        assert_eq!(
            parse_publish_status(&done).unwrap(),
            PublishStatus::Published { article_url: Some("https://mp.weixin.qq.com/s/x".into()) }
        );
        assert_eq!(
            parse_publish_status(&json!({"publish_status": 1})).unwrap(),
            PublishStatus::Publishing
        );
        match parse_publish_status(&json!({"publish_status": 4, "fail_idx": [1]})).unwrap() {
            PublishStatus::Failed(why) => {
                assert!(why.contains("review") && why.contains("[1]"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_publish_status(&json!({})).is_err());
    }
}
