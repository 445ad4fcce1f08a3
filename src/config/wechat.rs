//! `[wechat]`: the account's token, keys and API credentials.

use super::{invalid, ConfigError, Secret};
use crate::toml_table::{read_table, variant, FromToml, Item, TomlError};
use crate::wechat::crypto::AesKey;

#[derive(Debug)]
pub struct WechatConfig {
    pub token: Secret,
    pub app_id: Option<String>,
    pub app_secret: Option<Secret>,
    pub encoding_aes_key: Option<Secret>,
    pub previous_encoding_aes_key: Option<Secret>,
    pub api_base: String,
    pub token_api: TokenApi,
    pub verified: bool,
    pub welcome: String,
}

/// Which token endpoint to use: `stable_token` (the default, safe to share
/// with other tools) or the classic `token`, which invalidates older tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenApi {
    #[default]
    Stable,
    Classic,
}

pub const DEMO_TOKEN: &str = "zatan";

impl Default for WechatConfig {
    fn default() -> Self {
        WechatConfig {
            token: Secret::new(DEMO_TOKEN),
            app_id: None,
            app_secret: None,
            encoding_aes_key: None,
            previous_encoding_aes_key: None,
            api_base: "https://api.weixin.qq.com".into(),
            token_api: TokenApi::Stable,
            verified: false,
            welcome: "欢迎关注！发送「帮助」或 help 查看可用命令。".into(),
        }
    }
}

impl FromToml for TokenApi {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        variant(item, &[("stable", TokenApi::Stable), ("classic", TokenApi::Classic)])
    }
}

impl FromToml for WechatConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct WechatConfig", |t, c: &mut Self| {
            t.set("token", &mut c.token)?;
            c.app_id = t.value("app_id")?;
            c.app_secret = t.value("app_secret")?;
            c.encoding_aes_key = t.value("encoding_aes_key")?;
            c.previous_encoding_aes_key = t.value("previous_encoding_aes_key")?;
            t.set("api_base", &mut c.api_base)?;
            t.set("token_api", &mut c.token_api)?;
            t.set("verified", &mut c.verified)?;
            t.set("welcome", &mut c.welcome)
        })
    }
}

impl WechatConfig {
    /// The AES keys for safe mode, current first.
    pub fn aes_keys(&self) -> Vec<AesKey> {
        [&self.encoding_aes_key, &self.previous_encoding_aes_key]
            .into_iter()
            .flatten()
            .filter_map(|s| AesKey::from_encoding_aes_key(s.expose()).ok())
            .collect()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let token = self.token.expose();
        if !(3..=32).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "wechat.token",
                "WeChat tokens are 3 to 32 letters or digits",
                "copy the token exactly as set in the WeChat admin console",
            ));
        }
        if !(self.api_base.starts_with("http://") || self.api_base.starts_with("https://")) {
            return Err(invalid(
                "wechat.api_base",
                format!("{:?} is not an http(s) URL", self.api_base),
                "leave it out to use https://api.weixin.qq.com",
            ));
        }
        if self.app_secret.is_some() && self.app_id.is_none() {
            return Err(invalid(
                "wechat.app_id",
                "missing while wechat.app_secret is set",
                "add the AppID from the admin console",
            ));
        }
        for (key, value) in [
            ("wechat.encoding_aes_key", &self.encoding_aes_key),
            ("wechat.previous_encoding_aes_key", &self.previous_encoding_aes_key),
        ] {
            if let Some(secret) = value {
                AesKey::from_encoding_aes_key(secret.expose()).map_err(|_| {
                    invalid(
                        key,
                        "is not a valid EncodingAESKey (43 letters and digits)",
                        "copy it again from the admin console",
                    )
                })?;
                if self.app_id.is_none() {
                    return Err(invalid(
                        "wechat.app_id",
                        format!("missing while {key} is set (safe mode checks the AppID)"),
                        "add the AppID from the admin console",
                    ));
                }
            }
        }
        if self.previous_encoding_aes_key.is_some() && self.encoding_aes_key.is_none() {
            return Err(invalid(
                "wechat.previous_encoding_aes_key",
                "set without wechat.encoding_aes_key",
                "put the current key in encoding_aes_key",
            ));
        }
        Ok(())
    }
}
