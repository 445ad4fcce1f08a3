//! `[opds]`: the OPDS catalog for the owner's e-readers, on only with both
//! credentials set.

use super::{invalid, ConfigError, Secret};
use crate::toml_table::{read_table, FromToml, Item, TomlError};

#[derive(Debug)]
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

impl FromToml for OpdsConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct OpdsConfig", |t, c: &mut Self| {
            c.username = t.value("username")?;
            c.password = t.value("password")?;
            t.set("page_size", &mut c.page_size)
        })
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

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_catalog_is_on_only_with_both_credentials() {
        let on = Config::parse("[opds]\nusername = \"r\"\npassword = \"pw\"").unwrap();
        on.validate().unwrap();
        assert_eq!(on.opds.credentials().map(|(user, _)| user), Some("r"));
        assert_eq!(on.opds.page_size, 50);
        assert!(Config::parse("").unwrap().opds.credentials().is_none());
        for (text, key) in [
            ("[opds]\nusername = \"r\"", "`opds`"),
            ("[opds]\nusername = \"a:b\"\npassword = \"pw\"", "opds.username"),
            ("[opds]\npage_size = 0", "opds.page_size"),
        ] {
            let err = Config::parse(text).unwrap().validate().unwrap_err();
            assert!(err.0.contains(key), "{text}: {err}");
        }
        let shown = format!("{:?}", on.opds);
        assert!(!shown.contains("\"pw\""), "the password is masked: {shown}");
    }
}
