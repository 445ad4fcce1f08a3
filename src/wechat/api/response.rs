//! Turning an HTTP answer into JSON or a typed error.

use serde_json::Value;

use super::error::{ApiError, ErrorAction};

/// The JSON of a 200 answer whose `errcode` is absent or 0. `secrets` (the
/// app secret, the access token) are masked in any errmsg kept in an error,
/// in case WeChat ever echoes one.
pub(super) fn interpret(status: u16, body: &[u8], secrets: &[&str]) -> Result<Value, ApiError> {
    if status != 200 {
        return Err(ApiError::Http(status));
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadResponse(format!("not JSON ({e})")))?;
    if !json.is_object() {
        return Err(ApiError::BadResponse("JSON is not an object".into()));
    }
    match json.get("errcode").map(Value::as_i64) {
        None | Some(Some(0)) => Ok(json),
        Some(Some(code)) => {
            let message = redact(json.get("errmsg").and_then(Value::as_str).unwrap_or(""), secrets);
            let action = ErrorAction::for_code(code, &message);
            Err(ApiError::Wechat { code, message, action })
        }
        Some(None) => Err(ApiError::BadResponse("errcode is not an integer".into())),
    }
}

fn redact(message: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message.to_owned(), |m, secret| m.replace(secret, "***"))
}

pub(super) fn required_str<'a>(body: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    body.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadResponse(format!("no string field {field:?}")))
}

/// An unsigned integer field; WeChat sometimes sends numbers as strings.
pub(super) fn required_u64(body: &Value, field: &str) -> Result<u64, ApiError> {
    let value = body.get(field);
    value
        .and_then(Value::as_u64)
        .or_else(|| value.and_then(Value::as_str).and_then(|s| s.parse().ok()))
        .ok_or_else(|| ApiError::BadResponse(format!("no integer field {field:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_bodies_pass_through() {
        assert_eq!(
            interpret(200, br#"{"access_token":"T"}"#, &[]).unwrap(),
            json!({"access_token": "T"})
        );
        assert_eq!(interpret(200, br#"{"errcode":0,"errmsg":"ok"}"#, &[]).unwrap()["errmsg"], "ok");
    }

    #[test]
    fn errcode_becomes_a_wechat_error() {
        let err =
            interpret(200, br#"{"errcode":45015,"errmsg":"response out of time limit"}"#, &[])
                .unwrap_err();
        assert_eq!(
            err,
            ApiError::Wechat {
                code: 45015,
                message: "response out of time limit".into(),
                action: ErrorAction::GiveUp
            }
        );
    }

    #[test]
    fn non_200_is_an_http_error() {
        assert_eq!(interpret(502, b"<html>bad gateway</html>", &[]), Err(ApiError::Http(502)));
    }

    #[test]
    fn garbage_is_a_bad_response() {
        for body in [&b"<html>"[..], b"", b"[1,2]", br#"{"errcode":"x"}"#] {
            assert!(matches!(interpret(200, body, &[]), Err(ApiError::BadResponse(_))), "{body:?}");
        }
    }

    #[test]
    fn secrets_are_masked_in_errmsg() {
        let body = br#"{"errcode":40125,"errmsg":"invalid appsecret s3cr3t for token TOK"}"#;
        let err = interpret(200, body, &["s3cr3t", "TOK", ""]).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("s3cr3t") && !text.contains("TOK"), "{text}");
    }

    #[test]
    fn integers_may_come_as_strings() {
        assert_eq!(required_u64(&json!({"n": 5}), "n"), Ok(5));
        assert_eq!(required_u64(&json!({"n": "6"}), "n"), Ok(6));
        assert!(required_u64(&json!({"n": -1}), "n").is_err());
        assert!(required_str(&json!({"s": 1}), "s").is_err());
    }
}
