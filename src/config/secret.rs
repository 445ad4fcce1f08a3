//! Secrets in the configuration: kept whole, shown masked.

use std::fmt;

use crate::toml_table::{FromToml, Item, TomlError};

/// A value that must never reach a log, an error message or `check` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromToml for Secret {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        String::from_toml(item).map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

fn mask(value: &str) -> String {
    if value.is_empty() {
        "(empty)".into()
    } else {
        format!("*** ({} characters)", value.chars().count())
    }
}
