//! `[opds]`: the OPDS catalog for the owner's e-readers, on only with both
//! credentials set.

use serde::Deserialize;

use super::{invalid, ConfigError, Secret};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpdsConfig {
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Books per acquisition feed page (authors and languages per page too).
    pub page_size: usize,
}

impl Default for OpdsConfig {
    fn default() -> Self {
        OpdsConfig { username: None, password: None, page_size: 50 }
    }
}

impl OpdsConfig {
    /// The user name and password, when the catalog is on.
    pub fn credentials(&self) -> Option<(&str, &Secret)> {
        match (&self.username, &self.password) {
            (Some(user), Some(password)) if !user.is_empty() && !password.expose().is_empty() => {
                Some((user, password))
            }
            _ => None,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.username.as_deref().is_some_and(|u| u.contains(':')) {
            return Err(invalid(
                "opds.username",
                "a user name for HTTP Basic auth cannot contain ':'",
                "choose a name without ':'",
            ));
        }
        if self.username.is_some() != self.password.is_some() {
            return Err(invalid(
                "opds",
                "only one of username and password is set",
                "set both opds.username and opds.password to turn the catalog on, or neither",
            ));
        }
        if !(1..=1000).contains(&self.page_size) {
            return Err(invalid(
                "opds.page_size",
                format!("{} is out of range", self.page_size),
                "use 1 to 1000 (default 50)",
            ));
        }
        Ok(())
    }
}
