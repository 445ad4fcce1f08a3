//! `[server]`: where and how the HTTP front listens.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub callback_path: String,
    pub public_url: Option<String>,
    pub body_limit_bytes: usize,
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            callback_path: "/wechat".into(),
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            max_connections: 256,
        }
    }
}
