//! What can go wrong on an API call, and what the caller should do about it
//! (the error table of the protocol sheet, section 5).

use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// WeChat answered HTTP 200 with a non-zero `errcode`.
    Wechat { code: i64, message: String, action: ErrorAction },
    /// A status other than 200 (redirects are not followed).
    Http(u16),
    /// HTTP 200 whose body is not the JSON the call expects.
    BadResponse(String),
    /// No answer: connection failed, timed out or broke. `maybe_delivered` is
    /// true when the request may have reached WeChat (sent, or unknown whether
    /// sent). A non-idempotent call (a customer-service message) must not be
    /// sent again then: the follower could get it twice.
    Transport { maybe_delivered: bool, detail: String },
    /// Refused before sending: the input can never succeed (e.g. not an image).
    Invalid(String),
}

/// What to do about a WeChat `errcode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorAction {
    /// `-1`, system busy: retry idempotent calls only, with backoff.
    RetryLater,
    /// The access token is invalid, not the latest, or expired.
    RefreshToken,
    /// A configuration error the owner must fix; the hint says what.
    FixConfig(String),
    /// The request or file was rejected: our bug or a bad file; do not retry.
    BadInput,
    /// Daily quota reached: stop calling until tomorrow.
    DailyQuota,
    /// Per-minute quota reached: back off to the next minute.
    MinuteQuota,
    /// Cannot be delivered (customer-service window closed, reply limit): give up.
    GiveUp,
    /// `48001`, api unauthorized: the account may not use this API. For the
    /// menu, customer-service and permanent-material calls that means it is
    /// not verified (认证). Not worth retrying.
    NotVerified,
    Unknown,
}

impl ErrorAction {
    pub fn for_code(code: i64, message: &str) -> ErrorAction {
        match code {
            -1 => ErrorAction::RetryLater,
            40001 | 40014 | 42001 => ErrorAction::RefreshToken,
            40013 => ErrorAction::FixConfig(
                "check wechat.app_id: WeChat does not know this AppID".into(),
            ),
            40125 => ErrorAction::FixConfig(
                "check wechat.app_secret: WeChat rejected the AppSecret (reset it in the admin console if it changed)"
                    .into(),
            ),
            40164 => ErrorAction::FixConfig(whitelist_hint(message)),
            40004..=40009 | 41005 => ErrorAction::BadInput,
            45009 => ErrorAction::DailyQuota,
            45011 => ErrorAction::MinuteQuota,
            45015 | 45047 => ErrorAction::GiveUp,
            48001 => ErrorAction::NotVerified,
            _ => ErrorAction::Unknown,
        }
    }
}

fn whitelist_hint(message: &str) -> String {
    match caller_ip(message) {
        Some(ip) => format!("add {ip} to the IP whitelist in the admin console"),
        None => "add this server's public IP to the IP whitelist in the admin console".into(),
    }
}

/// The caller's IP from a 40164 errmsg such as
/// `invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: ...`.
/// An IPv4-mapped IPv6 address is reported as the plain IPv4 address.
fn caller_ip(message: &str) -> Option<IpAddr> {
    let after = |marker: &str| {
        let start = message.find(marker)? + marker.len();
        let word = message[start..].split_whitespace().next()?;
        let ip: IpAddr = word.trim_end_matches([',', ';']).parse().ok()?;
        Some(ip.to_canonical())
    };
    after("invalid ip ").or_else(|| after("ipv6 "))
}

impl ApiError {
    /// 40001, 40014 or 42001: the token used was stale; refresh and retry once.
    pub fn is_token_error(&self) -> bool {
        matches!(self, ApiError::Wechat { action: ErrorAction::RefreshToken, .. })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Wechat { code, message, action } => {
                write!(f, "WeChat error {code} ({message}): {action}")
            }
            ApiError::Http(status) => write!(f, "WeChat API answered HTTP {status}"),
            ApiError::BadResponse(detail) => {
                write!(f, "unexpected answer from the WeChat API: {detail}")
            }
            ApiError::Transport { maybe_delivered, detail } => {
                write!(f, "no answer from the WeChat API ({detail})")?;
                if *maybe_delivered {
                    f.write_str("; the request may have been delivered")?;
                }
                Ok(())
            }
            ApiError::Invalid(reason) => write!(f, "not sent to WeChat: {reason}"),
        }
    }
}

impl fmt::Display for ErrorAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorAction::RetryLater => f.write_str("WeChat is busy, retry later"),
            ErrorAction::RefreshToken => {
                f.write_str("the access token is invalid or expired, fetch a new one")
            }
            ErrorAction::FixConfig(hint) => write!(f, "fix the configuration: {hint}"),
            ErrorAction::BadInput => {
                f.write_str("WeChat rejected the request or file, do not retry it unchanged")
            }
            ErrorAction::DailyQuota => {
                f.write_str("the daily quota is used up, stop calling until tomorrow")
            }
            ErrorAction::MinuteQuota => {
                f.write_str("the per-minute quota is used up, wait for the next minute")
            }
            ErrorAction::GiveUp => f.write_str(
                "cannot be delivered (customer-service window closed or reply limit reached)",
            ),
            ErrorAction::NotVerified => f.write_str(
                "the account is not verified (认证): WeChat keeps the menu API, customer-service \
                 messages and permanent material for verified accounts, and an unverified \
                 subscription account (个人订阅号) has none of them",
            ),
            ErrorAction::Unknown => f.write_str("see the WeChat error code list"),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_shared_table() {
        let action = |code| ErrorAction::for_code(code, "");
        assert_eq!(action(-1), ErrorAction::RetryLater);
        for code in [40001, 40014, 42001] {
            assert_eq!(action(code), ErrorAction::RefreshToken, "{code}");
        }
        for code in [40013, 40125, 40164] {
            assert!(matches!(action(code), ErrorAction::FixConfig(_)), "{code}");
        }
        for code in [40004, 40005, 40006, 40007, 40008, 40009, 41005] {
            assert_eq!(action(code), ErrorAction::BadInput, "{code}");
        }
        assert_eq!(action(45009), ErrorAction::DailyQuota);
        assert_eq!(action(45011), ErrorAction::MinuteQuota);
        assert_eq!(action(45015), ErrorAction::GiveUp);
        assert_eq!(action(45047), ErrorAction::GiveUp);
        assert_eq!(action(48001), ErrorAction::NotVerified);
        for code in [0, 40003, 40010, 41001, 46003, 99999] {
            assert_eq!(action(code), ErrorAction::Unknown, "{code}");
        }
    }

    #[test]
    fn config_hints_name_what_to_fix() {
        let hint = |code| match ErrorAction::for_code(code, "") {
            ErrorAction::FixConfig(hint) => hint,
            other => panic!("{other:?}"),
        };
        assert!(hint(40013).contains("wechat.app_id"));
        assert!(hint(40125).contains("wechat.app_secret"));
    }

    #[test]
    fn whitelist_hint_names_the_ip() {
        let message =
            "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 6620a1b2-1c2d3e4f";
        assert_eq!(
            ErrorAction::for_code(40164, message),
            ErrorAction::FixConfig("add 1.2.3.4 to the IP whitelist in the admin console".into())
        );
    }

    #[test]
    fn whitelist_ip_falls_back_to_the_ipv6_field() {
        assert_eq!(
            caller_ip("invalid ip  ipv6 240e:1::5, not in whitelist"),
            Some("240e:1::5".parse().unwrap())
        );
        assert_eq!(
            caller_ip("invalid ip ipv6 ::ffff:10.0.0.7, not in whitelist"),
            Some("10.0.0.7".parse().unwrap())
        );
        assert_eq!(caller_ip("not in whitelist"), None);
        let hint = whitelist_hint("not in whitelist");
        assert!(hint.contains("public IP"), "{hint}");
    }

    #[test]
    fn token_errors_are_recognised() {
        let wechat = |code| ApiError::Wechat {
            code,
            message: String::new(),
            action: ErrorAction::for_code(code, ""),
        };
        assert!(wechat(40001).is_token_error());
        assert!(wechat(42001).is_token_error());
        assert!(!wechat(40125).is_token_error());
        assert!(!ApiError::Http(401).is_token_error());
    }

    #[test]
    fn display_reads_for_the_owner() {
        let e = ApiError::Wechat {
            code: 40164,
            message: "invalid ip 1.2.3.4".into(),
            action: ErrorAction::for_code(40164, "invalid ip 1.2.3.4"),
        };
        assert_eq!(
            e.to_string(),
            "WeChat error 40164 (invalid ip 1.2.3.4): fix the configuration: add 1.2.3.4 to the IP whitelist in the admin console"
        );
        let e = ApiError::Wechat {
            code: 48001,
            message: "api unauthorized".into(),
            action: ErrorAction::for_code(48001, "api unauthorized"),
        };
        assert!(
            e.to_string().contains("48001 (api unauthorized): the account is not verified"),
            "{e}"
        );
        let e = ApiError::Transport {
            maybe_delivered: true,
            detail: "POST /cgi-bin/message/custom/send: timed out".into(),
        };
        assert!(e.to_string().ends_with("may have been delivered"), "{e}");
        let e = ApiError::Transport { maybe_delivered: false, detail: "connection refused".into() };
        assert!(!e.to_string().contains("delivered"), "{e}");
    }
}
