//! `ApiClient`: the blocking calls, one method per WeChat endpoint.

use std::time::Duration;

use serde_json::Value;

use super::custom::CustomMessage;
use super::draft::{
    add_body, parse_image_url, parse_media_id, parse_publish_id, parse_publish_status, update_body,
    DraftArticle, PublishStatus, ARTICLE_IMAGE_MAX_BYTES,
};
use super::error::ApiError;
use super::media::{
    parse_material, parse_temp_media, prepare_article_image, prepare_image, Material, MediaType,
    TempMedia,
};
use super::multipart::{form_data, FilePart};
use super::token::{parse_token, stable_token_body, AccessToken};
use super::transport::{exchange, Body, Call, Verb};

const STABLE_TOKEN: &str = "/cgi-bin/stable_token";
const TOKEN: &str = "/cgi-bin/token";
const MEDIA_UPLOAD: &str = "/cgi-bin/media/upload";
const ADD_MATERIAL: &str = "/cgi-bin/material/add_material";
const CUSTOM_SEND: &str = "/cgi-bin/message/custom/send";
const MENU_CREATE: &str = "/cgi-bin/menu/create";
const MENU_GET: &str = "/cgi-bin/menu/get";
const MENU_DELETE: &str = "/cgi-bin/menu/delete";
const UPLOAD_IMG: &str = "/cgi-bin/media/uploadimg";
const DRAFT_ADD: &str = "/cgi-bin/draft/add";
const DRAFT_UPDATE: &str = "/cgi-bin/draft/update";
const PUBLISH_SUBMIT: &str = "/cgi-bin/freepublish/submit";
const PUBLISH_GET: &str = "/cgi-bin/freepublish/get";

/// The least time an upload gets: up to 10 MB over a router's uplink.
const MIN_UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A WeChat API client. Blocking: call it from service threads, never on the
/// request path. It holds no token: every call takes the one to use.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    timeout: Duration,
    upload_timeout: Duration,
}

impl ApiClient {
    /// `api_base` is `wechat.api_base` (`https://api.weixin.qq.com`).
    /// `timeout` bounds each call from connecting to the last byte of the
    /// answer (rounded up to whole seconds); uploads get at least 60 s.
    pub fn new(api_base: impl Into<String>, timeout: Duration) -> ApiClient {
        ApiClient {
            base: api_base.into(),
            timeout,
            upload_timeout: timeout.max(MIN_UPLOAD_TIMEOUT),
        }
    }

    pub fn with_upload_timeout(mut self, upload_timeout: Duration) -> ApiClient {
        self.upload_timeout = upload_timeout;
        self
    }

    /// The preferred token call. Without `force_refresh` WeChat returns the
    /// current token with its remaining lifetime; forcing is rate-limited
    /// (about 20 a day, 30 s apart) and invalidates the previous token.
    pub fn stable_token(
        &self,
        app_id: &str,
        app_secret: &str,
        force_refresh: bool,
    ) -> Result<AccessToken, ApiError> {
        let body = Body::json(stable_token_body(app_id, app_secret, force_refresh));
        let answer = self.call(Verb::Post, STABLE_TOKEN, &[], Some(body), &[app_secret])?;
        parse_token(&answer)
    }

    /// The classic token call; each call invalidates the previous token
    /// (after an overlap of about 5 minutes).
    pub fn classic_token(&self, app_id: &str, app_secret: &str) -> Result<AccessToken, ApiError> {
        let query =
            [("grant_type", "client_credential"), ("appid", app_id), ("secret", app_secret)];
        let answer = self.call(Verb::Get, TOKEN, &query, None, &[app_secret])?;
        parse_token(&answer)
    }

    /// Temporary media, kept by WeChat for 3 days. A file that is not a JPEG,
    /// PNG or GIF, is empty or is over `IMAGE_MAX_BYTES` is refused unsent.
    pub fn upload_temp_media(
        &self,
        token: &AccessToken,
        kind: MediaType,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<TempMedia, ApiError> {
        parse_temp_media(&self.upload(MEDIA_UPLOAD, token, kind, file_name, bytes)?)
    }

    /// Permanent material (verified accounts); same checks as temporary media.
    pub fn add_material(
        &self,
        token: &AccessToken,
        kind: MediaType,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<Material, ApiError> {
        parse_material(&self.upload(ADD_MATERIAL, token, kind, file_name, bytes)?)
    }

    /// Sends a customer-service message. Not idempotent: on
    /// `ApiError::Transport { maybe_delivered: true, .. }` the follower may
    /// already have it, so this never retries and neither should the caller
    /// unless it knows the message was not delivered.
    pub fn send_custom(
        &self,
        token: &AccessToken,
        message: &CustomMessage,
    ) -> Result<(), ApiError> {
        self.call_with_token(
            Verb::Post,
            CUSTOM_SEND,
            token,
            &[],
            Some(Body::json(message.to_json())),
        )?;
        Ok(())
    }

    /// Replaces the menu with `json_body` (`{"button":[..]}`).
    pub fn menu_create(&self, token: &AccessToken, json_body: &str) -> Result<(), ApiError> {
        serde_json::from_str::<Value>(json_body)
            .map_err(|e| ApiError::Invalid(format!("the menu is not JSON ({e})")))?;
        self.call_with_token(
            Verb::Post,
            MENU_CREATE,
            token,
            &[],
            Some(Body::json(json_body.to_owned())),
        )?;
        Ok(())
    }

    /// The whole answer, `{"menu":{"button":[..]},..}`; no menu is errcode 46003.
    pub fn menu_get(&self, token: &AccessToken) -> Result<Value, ApiError> {
        self.call_with_token(Verb::Get, MENU_GET, token, &[], None)
    }

    pub fn menu_delete(&self, token: &AccessToken) -> Result<(), ApiError> {
        self.call_with_token(Verb::Get, MENU_DELETE, token, &[], None)?;
        Ok(())
    }

    /// An image for inside an article (`media/uploadimg`): its URL on
    /// WeChat's image host, the only place images of an article may come
    /// from. A file that is not a JPEG or PNG, is empty or is over
    /// `ARTICLE_IMAGE_MAX_BYTES` is refused unsent.
    pub fn upload_article_image(
        &self,
        token: &AccessToken,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<String, ApiError> {
        let (format, name) = prepare_article_image(file_name, bytes, ARTICLE_IMAGE_MAX_BYTES)?;
        let part =
            FilePart { field: "media", file_name: &name, content_type: format.content_type, bytes };
        parse_image_url(&self.send_file(UPLOAD_IMG, token, &[], &part)?)
    }

    /// A new draft of one article; its media_id.
    pub fn draft_add(
        &self,
        token: &AccessToken,
        article: &DraftArticle,
    ) -> Result<String, ApiError> {
        let body = Body::json(add_body(article));
        parse_media_id(&self.call_with_token(Verb::Post, DRAFT_ADD, token, &[], Some(body))?)
    }

    /// Replaces the article of the draft `media_id`; 40007 when that draft is gone.
    pub fn draft_update(
        &self,
        token: &AccessToken,
        media_id: &str,
        article: &DraftArticle,
    ) -> Result<(), ApiError> {
        let body = Body::json(update_body(media_id, article));
        self.call_with_token(Verb::Post, DRAFT_UPDATE, token, &[], Some(body))?;
        Ok(())
    }

    /// Publishes the draft `media_id` (verified accounts); the publish_id to
    /// follow with [`ApiClient::publish_status`].
    pub fn publish_submit(&self, token: &AccessToken, media_id: &str) -> Result<String, ApiError> {
        let body = Body::json(serde_json::json!({ "media_id": media_id }).to_string());
        parse_publish_id(&self.call_with_token(
            Verb::Post,
            PUBLISH_SUBMIT,
            token,
            &[],
            Some(body),
        )?)
    }

    pub fn publish_status(
        &self,
        token: &AccessToken,
        publish_id: &str,
    ) -> Result<PublishStatus, ApiError> {
        let body = Body::json(serde_json::json!({ "publish_id": publish_id }).to_string());
        parse_publish_status(&self.call_with_token(
            Verb::Post,
            PUBLISH_GET,
            token,
            &[],
            Some(body),
        )?)
    }

    fn upload(
        &self,
        path: &'static str,
        token: &AccessToken,
        kind: MediaType,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<Value, ApiError> {
        let (format, name) = match kind {
            MediaType::Image => prepare_image(file_name, bytes)?,
        };
        let part =
            FilePart { field: "media", file_name: &name, content_type: format.content_type, bytes };
        self.send_file(path, token, &[("type", kind.as_param())], &part)
    }

    fn send_file(
        &self,
        path: &'static str,
        token: &AccessToken,
        extra_query: &[(&str, &str)],
        part: &FilePart,
    ) -> Result<Value, ApiError> {
        let (bytes, content_type) = form_data(part);
        let mut query = vec![("access_token", token.value())];
        query.extend_from_slice(extra_query);
        let call = Call {
            verb: Verb::Post,
            path,
            query: &query,
            body: Some(Body { bytes, content_type }),
            secrets: &[token.value()],
        };
        exchange(&self.base, self.upload_timeout, call)
    }

    fn call_with_token(
        &self,
        verb: Verb,
        path: &'static str,
        token: &AccessToken,
        query: &[(&str, &str)],
        body: Option<Body>,
    ) -> Result<Value, ApiError> {
        let mut full_query = vec![("access_token", token.value())];
        full_query.extend_from_slice(query);
        self.call(verb, path, &full_query, body, &[token.value()])
    }

    fn call(
        &self,
        verb: Verb,
        path: &'static str,
        query: &[(&str, &str)],
        body: Option<Body>,
        secrets: &[&str],
    ) -> Result<Value, ApiError> {
        exchange(&self.base, self.timeout, Call { verb, path, query, body, secrets })
    }
}
