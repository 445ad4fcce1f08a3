//! `[rules]`: where the owner's keyword rules are.

use std::path::PathBuf;

use super::{invalid, ConfigError};
use crate::toml_table::{read_table, FromToml, Item, TomlError};

#[derive(Debug)]
pub struct RulesConfig {
    /// The TOML file of `[[rule]]`s; a missing file means no rules.
    pub file: PathBuf,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig { file: "rules.toml".into() }
    }
}

impl FromToml for RulesConfig {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        read_table(item, "struct RulesConfig", |t, c: &mut Self| t.set("file", &mut c.file))
    }
}

impl RulesConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let named =
            self.file.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.'));
        if !named || self.file.as_os_str().to_string_lossy().ends_with('/') {
            return Err(invalid(
                "rules.file",
                format!("{:?} does not name a file", self.file.display().to_string()),
                "give a file such as \"rules.toml\" or \"/etc/zatan/rules.toml\" (not hidden, not a directory)",
            ));
        }
        Ok(())
    }
}
