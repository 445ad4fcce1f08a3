//! `[mail]`: the SMTP relay that mails books to Kindles, and its rules.

use std::path::PathBuf;

use super::{invalid, ConfigError, Secret};
use crate::toml_table::{read_table, variant, FromToml, Item, TomlError};

/// Outgoing mail for Send-to-Kindle. Without `host` mail is off.
#[derive(Debug)]
pub struct MailConfig {
    pub host: Option<String>,
    /// Checked in `validate` rather than typed `u16`, so a bad value gets our
    /// message naming the key and the range.
    pub port: Option<i64>,
    pub security: MailSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender: the address followers add to Amazon's approved list.
    pub from: Option<String>,
    /// A PEM file of extra trusted roots (a private CA) on top of Mozilla's.
    pub ca_file: Option<PathBuf>,
    pub allowed_domains: Vec<String>,
    pub daily_limit_per_user: u32,
    /// The whole encoded message (base64 makes a file about a third larger).
    pub max_mail_bytes: u64,
    /// Limit for connecting and for each SMTP reply.
    pub timeout_secs: u64,
    /// The first wait after a transient failure; it doubles each time.
    pub retry_secs: u64,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MailSecurity {
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// Plain connect, then STARTTLS, required (submission, port 587).
    #[default]
    Starttls,
    /// No encryption: only to a relay on this machine.
    Plain,
}

impl MailSecurity {
    pub fn default_port(self) -> u16 {
        match self {
            MailSecurity::Tls => 465,
            MailSecurity::Starttls => 587,
            MailSecurity::Plain => 25,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            MailSecurity::Tls => "tls",
            MailSecurity::Starttls => "starttls",
            MailSecurity::Plain => "plain",
        }
    }
}

/// Amazon's own cap is 50 MB per mail; many relays cap lower.
pub const MAIL_MAX_BYTES_CEILING: u64 = 50_000_000;
const MAIL_MAX_BYTES_FLOOR: u64 = 1024;

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            host: None,
            port: None,
            security: MailSecurity::Starttls,
            username: None,
            password: None,
            from: None,
            ca_file: None,
            allowed_domains: vec!["kindle.com".into(), "free.kindle.com".into()],
            daily_limit_per_user: 5,
            max_mail_bytes: 25_000_000,
            timeout_secs: 60,
            retry_secs: 30,
        }
    }
}

impl FromToml for MailSecurity {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        let all = [MailSecurity::Tls, MailSecurity::Starttls, MailSecurity::Plain];
        variant(item, &all.map(|security| (security.name(), security)))
    }
}

impl FromToml for MailConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct MailConfig", |t, c: &mut Self| {
            c.host = t.value("host")?;
            c.port = t.value("port")?;
            t.set("security", &mut c.security)?;
            c.username = t.value("username")?;
            c.password = t.value("password")?;
            c.from = t.value("from")?;
            c.ca_file = t.value("ca_file")?;
            t.set("allowed_domains", &mut c.allowed_domains)?;
            t.set("daily_limit_per_user", &mut c.daily_limit_per_user)?;
            t.set("max_mail_bytes", &mut c.max_mail_bytes)?;
            t.set("timeout_secs", &mut c.timeout_secs)?;
            t.set("retry_secs", &mut c.retry_secs)
        })
    }
}

impl MailConfig {
    pub fn enabled(&self) -> bool {
        self.host.is_some()
    }

    /// `port`, or the usual port of `security`. Only meaningful once validated.
    pub fn effective_port(&self) -> u16 {
        self.port
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| self.security.default_port())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        use crate::email_address as address;
        if let Some(port) = self.port {
            if !(1..=65535).contains(&port) {
                return Err(invalid(
                    "mail.port",
                    format!("{port} is not a port"),
                    "use 1 to 65535, or leave it out for the usual port of mail.security",
                ));
            }
        }
        for (i, domain) in self.allowed_domains.iter().enumerate() {
            if !address::is_domain_name(domain) {
                return Err(invalid(
                    "mail.allowed_domains",
                    format!("entry {} ({domain:?}) is not a domain name", i + 1),
                    "write domains only, like \"kindle.com\"",
                ));
            }
        }
        if self.allowed_domains.is_empty() {
            return Err(invalid(
                "mail.allowed_domains",
                "is empty, so no follower could bind an address",
                "leave it out for [\"kindle.com\", \"free.kindle.com\"]",
            ));
        }
        if self.daily_limit_per_user == 0 {
            return Err(invalid(
                "mail.daily_limit_per_user",
                "0 would refuse every push",
                "use 1 or more (default 5); leave mail.host out to turn mail off",
            ));
        }
        if !(MAIL_MAX_BYTES_FLOOR..=MAIL_MAX_BYTES_CEILING).contains(&self.max_mail_bytes) {
            return Err(invalid(
                "mail.max_mail_bytes",
                format!("{} is out of range", self.max_mail_bytes),
                "use 1024 to 50000000 (Amazon's limit per mail); the default 25000000 suits most relays",
            ));
        }
        if !(1..=3600).contains(&self.retry_secs) {
            return Err(invalid(
                "mail.retry_secs",
                format!("{} is out of range", self.retry_secs),
                "use 1 to 3600 seconds (default 30)",
            ));
        }
        if !(1..=600).contains(&self.timeout_secs) {
            return Err(invalid(
                "mail.timeout_secs",
                format!("{} is out of range", self.timeout_secs),
                "use 1 to 600 seconds (default 60)",
            ));
        }
        if self.username.is_some() != self.password.is_some() {
            let (set, missing) = if self.username.is_some() {
                ("username", "password")
            } else {
                ("password", "username")
            };
            return Err(invalid(
                &format!("mail.{missing}"),
                format!("missing while mail.{set} is set"),
                "give both, or neither for a relay without login",
            ));
        }
        if let Some(path) = &self.ca_file {
            crate::tls::read_ca_file(path).map_err(|e| invalid("mail.ca_file", e, "give a PEM file holding the CA certificate that signed the mail server's certificate"))?;
        }
        let Some(host) = &self.host else {
            return Ok(());
        };
        let host_ok = host.parse::<std::net::IpAddr>().is_ok() || address::is_domain_name(host);
        if !host_ok {
            let fix = if host.contains(':') || host.contains('/') {
                "write the host name only, like \"smtp.example.com\"; the port goes in mail.port"
            } else {
                "write a host name or an IP address, like \"smtp.example.com\""
            };
            return Err(invalid("mail.host", format!("{host:?} is not a host name"), fix));
        }
        if self.security == MailSecurity::Plain && !address::is_loopback_host(host) {
            return Err(invalid(
                "mail.security",
                format!("\"plain\" would send the password and the books unencrypted to {host}"),
                "use \"starttls\" (port 587) or \"tls\" (port 465); \"plain\" is only for a relay on this machine (localhost, 127.0.0.1, ::1)",
            ));
        }
        match &self.from {
            None => Err(invalid(
                "mail.from",
                "missing while mail.host is set",
                "give the sender address, the one followers add to Amazon's approved list",
            )),
            Some(from) => match address::parse_shape(from) {
                Ok(_) => Ok(()),
                Err(_) => Err(invalid(
                    "mail.from",
                    format!("{from:?} is not a bare e-mail address"),
                    "write it like \"books@example.com\", without a name or angle brackets",
                )),
            },
        }
    }
}
