//! Access tokens: the value type and the two token calls' JSON.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};

use super::error::ApiError;
use super::response::{required_str, required_u64};

/// An access token as WeChat handed it out. The value is a secret: `Debug`
/// masks it and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    value: String,
    /// Lifetime left when WeChat answered (a non-forced stable token call
    /// returns the current token with what remains of its 7200 s).
    pub expires_in: Duration,
}

impl AccessToken {
    pub fn new(value: impl Into<String>, expires_in: Duration) -> AccessToken {
        AccessToken { value: value.into(), expires_in }
    }

    /// The secret value, for the `access_token` query parameter or the store.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

pub(super) fn stable_token_body(app_id: &str, app_secret: &str, force_refresh: bool) -> String {
    json!({
        "grant_type": "client_credential",
        "appid": app_id,
        "secret": app_secret,
        "force_refresh": force_refresh,
    })
    .to_string()
}

/// `{"access_token":"..","expires_in":7200}`, from either token call.
pub(super) fn parse_token(body: &Value) -> Result<AccessToken, ApiError> {
    let value = required_str(body, "access_token")?;
    if value.is_empty() {
        return Err(ApiError::BadResponse("empty access_token".into()));
    }
    let expires_in = required_u64(body, "expires_in")?;
    Ok(AccessToken::new(value, Duration::from_secs(expires_in)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_value() {
        let token = AccessToken::new("ACCESS_TOKEN_SECRET_VALUE", Duration::from_secs(7200));
        let debug = format!("{token:?}");
        assert!(!debug.contains("SECRET_VALUE"), "{debug}");
        assert!(debug.contains("7200"), "{debug}");
    }

    #[test]
    fn stable_token_body_has_the_four_fields() {
        let body: Value = serde_json::from_str(&stable_token_body("wx1", "s3cr3t", true)).unwrap();
        assert_eq!(
            body,
            json!({"grant_type": "client_credential", "appid": "wx1", "secret": "s3cr3t", "force_refresh": true})
        );
    }

    #[test]
    fn parses_a_token_answer() {
        let token = parse_token(&json!({"access_token": "T", "expires_in": 7000})).unwrap();
        assert_eq!(token.value(), "T");
        assert_eq!(token.expires_in, Duration::from_secs(7000));
    }

    #[test]
    fn a_token_answer_without_token_is_a_bad_response() {
        for body in [
            json!({"expires_in": 7200}),
            json!({"access_token": "", "expires_in": 7200}),
            json!({"access_token": "T"}),
        ] {
            assert!(matches!(parse_token(&body), Err(ApiError::BadResponse(_))), "{body}");
        }
    }
}
