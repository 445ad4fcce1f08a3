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
    /// A value that is not a string is refused without quoting it (a password
    /// of digits written without quotes is still the password).
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        let (at, kind) = (item.span().start, item.get_ref().type_str());
        String::from_toml(item).map(Secret).map_err(|_| {
            TomlError::new(
                at,
                format!("invalid type: {kind}, expected a string; put the secret in quotes"),
            )
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toml_table::Table;

    #[test]
    fn a_secret_that_is_not_a_string_is_refused_without_showing_it() {
        let mut table = Table::parse("password = 987654321").unwrap();
        let error = table.value::<Secret>("password").unwrap_err();
        assert_eq!(error.at, Some(11));
        assert!(error.message.contains("integer") && error.message.contains("quotes"));
        assert!(!error.message.contains("987654321"), "{}", error.message);
        let mut table = Table::parse("password = \"987654321\"").unwrap();
        assert_eq!(table.value::<Secret>("password").unwrap().unwrap().expose(), "987654321");
    }
}
