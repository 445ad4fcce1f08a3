//! `[server]`: where and how the HTTP front listens.

use std::net::{IpAddr, SocketAddr};

use super::{invalid, ConfigError};
use crate::http::{DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP};
use crate::toml_table::{read_table, FromToml, Item, TomlError};

#[derive(Debug)]
pub struct ServerConfig {
    pub listen: String,
    pub callback_path: String,
    pub public_url: Option<String>,
    pub body_limit_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Addresses exempt from `max_connections_per_ip` (reverse proxies).
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            callback_path: "/wechat".into(),
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            trusted_proxies: vec!["127.0.0.1".into(), "::1".into()],
        }
    }
}

impl FromToml for ServerConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct ServerConfig", |t, c: &mut Self| {
            t.set("listen", &mut c.listen)?;
            t.set("callback_path", &mut c.callback_path)?;
            c.public_url = t.value("public_url")?;
            t.set("body_limit_bytes", &mut c.body_limit_bytes)?;
            t.set("max_connections", &mut c.max_connections)?;
            t.set("max_connections_per_ip", &mut c.max_connections_per_ip)?;
            t.set("trusted_proxies", &mut c.trusted_proxies)
        })
    }
}

impl ServerConfig {
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            invalid(
                "server.listen",
                format!("{:?} is not an address with a port", self.listen),
                "write it like \"127.0.0.1:8080\" or \"0.0.0.0:80\"",
            )
        })
    }

    /// `trusted_proxies` as addresses.
    pub fn trusted_proxy_addrs(&self) -> Result<Vec<IpAddr>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                entry.parse().map_err(|_| {
                    invalid(
                        "server.trusted_proxies",
                        format!("{entry:?} is not an IP address"),
                        "list addresses like \"127.0.0.1\" or \"::1\" (no ports, no ranges)",
                    )
                })
            })
            .collect()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if !self.callback_path.starts_with('/') {
            return Err(invalid(
                "server.callback_path",
                format!("{:?} does not start with '/'", self.callback_path),
                "write it like \"/wechat\"",
            ));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    "server.public_url",
                    format!("{url:?} is not an http(s) URL"),
                    "write it like \"https://example.com\"",
                ));
            }
        }
        if self.body_limit_bytes == 0 || self.body_limit_bytes > 64 * 1024 * 1024 {
            return Err(invalid(
                "server.body_limit_bytes",
                format!("{} is out of range", self.body_limit_bytes),
                "use a value between 1 and 67108864 (the default is 1048576)",
            ));
        }
        if self.max_connections == 0 {
            return Err(invalid(
                "server.max_connections",
                "0 would refuse everyone",
                &format!("use 1 or more (default {DEFAULT_MAX_CONNECTIONS})"),
            ));
        }
        if self.max_connections_per_ip == 0 {
            return Err(invalid(
                "server.max_connections_per_ip",
                "0 would refuse every client not in server.trusted_proxies",
                &format!("use 1 or more (default {DEFAULT_MAX_CONNECTIONS_PER_IP})"),
            ));
        }
        self.trusted_proxy_addrs()?;
        Ok(())
    }
}
