//! `[wechat]`: the account's token, keys and API credentials.

use serde::Deserialize;

use super::Secret;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
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
