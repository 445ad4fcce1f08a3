//! `ApiClient`: the blocking calls, one method per WeChat endpoint.

use std::time::Duration;

use serde_json::Value;

use super::custom::CustomMessage;
use super::error::ApiError;
use super::media::{
    parse_material, parse_temp_media, prepare_image, Material, MediaType, TempMedia,
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
        let (bytes, content_type) = form_data(&part);
        let query = [("access_token", token.value()), ("type", kind.as_param())];
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
