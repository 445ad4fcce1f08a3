//! E-mail address checks: the shape every address must have, the Kindle
//! domains a follower may bind, and which hosts count as loopback.
//!
//! The shape is deliberately narrower than RFC 5322 (no quoted local parts, no
//! comments, no address literals): a follower's Kindle address and the owner's
//! sender address never need them, and everything refused here is something
//! that could smuggle a second recipient or an SMTP command.

use std::fmt;
use std::net::IpAddr;

/// RFC 5321's limits: a path of 256 octets including the angle brackets, a
/// local part of 64.
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// Why an address was refused, worded for the follower who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    Empty,
    TooLong,
    /// Not exactly one `@`.
    NotOneAt,
    /// A character that has no place in an address (space, comma, quote, angle
    /// bracket, control character, non-ASCII).
    BadCharacter(char),
    BadLocalPart,
    BadDomain,
    /// A well-formed address outside the allowed domains.
    DomainNotAllowed {
        allowed: Vec<String>,
    },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HINT: &str =
            "请发送形如 name@kindle.com 的地址 (send an address like name@kindle.com)";
        match self {
            AddressError::Empty => write!(f, "地址是空的。{HINT}"),
            AddressError::TooLong => write!(f, "地址太长了。{HINT}"),
            AddressError::NotOneAt => write!(f, "地址里要有且只有一个 @。{HINT}"),
            AddressError::BadCharacter(c) if c.is_control() || c.is_whitespace() => {
                write!(f, "地址里不能有空格或换行。{HINT}")
            }
            AddressError::BadCharacter(c) => write!(f, "地址里不能有「{c}」。{HINT}"),
            AddressError::BadLocalPart => {
                write!(f, "@ 前面的部分不对（只能用字母、数字和 . _ - +）。{HINT}")
            }
            AddressError::BadDomain => write!(f, "@ 后面的域名不对。{HINT}"),
            AddressError::DomainNotAllowed { allowed } => {
                let zh: Vec<String> = allowed.iter().map(|d| format!("@{d}")).collect();
                write!(
                    f,
                    "只能绑定 {} 的地址 (only {} addresses can be bound)",
                    join_or(&zh, "、", " 或 "),
                    join_or(&zh, ", ", " or ")
                )
            }
        }
    }
}

impl std::error::Error for AddressError {}

fn join_or(items: &[String], separator: &str, last: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., tail] => format!("{}{last}{tail}", init.join(separator)),
    }
}

/// The local part and domain of `address` when its shape is acceptable, as
/// typed (case kept). Leading and trailing whitespace is ignored, and the
/// full-width ＠ of Chinese input methods is read as `@`.
pub fn parse_shape(address: &str) -> Result<(String, String), AddressError> {
    let address = address.trim().replace('＠', "@");
    if address.is_empty() {
        return Err(AddressError::Empty);
    }
    if let Some(bad) = address.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(AddressError::BadCharacter(bad));
    }
    if let Some(bad) = address.chars().find(|c| {
        matches!(c, ',' | ';' | '<' | '>' | '"' | '\'' | '(' | ')' | '[' | ']' | '\\' | ':')
    }) {
        return Err(AddressError::BadCharacter(bad));
    }
    if address.len() > MAX_ADDRESS {
        return Err(AddressError::TooLong);
    }
    let (local, domain) = match address.split_once('@') {
        Some((local, domain)) if !domain.contains('@') => (local, domain),
        _ => return Err(AddressError::NotOneAt),
    };
    let local_ok = !local.is_empty()
        && local.len() <= MAX_LOCAL
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return Err(AddressError::BadLocalPart);
    }
    if !is_domain_name(domain) || !domain.contains('.') {
        return Err(AddressError::BadDomain);
    }
    Ok((local.to_string(), domain.to_string()))
}

/// `address` lower-cased when its shape is acceptable and its domain is one of
/// `allowed_domains` (exactly, ignoring case: `kindle.com` does not admit
/// `evil.kindle.com`).
pub fn check_address(address: &str, allowed_domains: &[String]) -> Result<String, AddressError> {
    let (local, domain) = parse_shape(address)?;
    let domain = domain.to_ascii_lowercase();
    if !allowed_domains.iter().any(|allowed| allowed.eq_ignore_ascii_case(&domain)) {
        return Err(AddressError::DomainNotAllowed { allowed: allowed_domains.to_vec() });
    }
    Ok(format!("{}@{domain}", local.to_ascii_lowercase()))
}

/// A DNS host name: dot-separated labels of letters, digits and inner hyphens.
pub fn is_domain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether `host` names this machine only: `localhost`, 127.0.0.0/8 or ::1.
/// Plain (unencrypted) SMTP is allowed to such hosts and no others.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kindle() -> Vec<String> {
        vec!["kindle.com".into(), "free.kindle.com".into()]
    }

    #[test]
    fn good_addresses_are_normalized() {
        for (typed, normal) in [
            ("reader@kindle.com", "reader@kindle.com"),
            ("Reader_1@KINDLE.COM", "reader_1@kindle.com"),
            ("  a.b-c+d@free.kindle.com \n", "a.b-c+d@free.kindle.com"),
            ("reader＠kindle.com", "reader@kindle.com"),
        ] {
            assert_eq!(check_address(typed, &kindle()).as_deref(), Ok(normal), "{typed:?}");
        }
    }

    #[test]
    fn other_domains_are_refused_with_the_allowed_list() {
        for typed in [
            "a@gmail.com",
            "a@evil.kindle.com",
            "a@kindle.com.evil.com",
            "a@kindle.cn",
            "a@kindlexcom",
        ] {
            let err = check_address(typed, &kindle()).unwrap_err();
            assert!(
                matches!(err, AddressError::DomainNotAllowed { .. } | AddressError::BadDomain),
                "{typed}: {err:?}"
            );
        }
        let shown = check_address("a@gmail.com", &kindle()).unwrap_err().to_string();
        assert_eq!(
            shown,
            "只能绑定 @kindle.com 或 @free.kindle.com 的地址 (only @kindle.com or @free.kindle.com addresses can be bound)"
        );
    }

    #[test]
    fn injection_attempts_are_refused() {
        for typed in [
            "a@kindle.com\r\nRCPT TO:<x@evil.com>",
            "a@kindle.com\nbcc: x@evil.com",
            "a@kindle.com,b@x.com",
            "a@kindle.com;b@x.com",
            "a@kindle.com b@x.com",
            "<a@kindle.com>",
            "Reader <a@kindle.com>",
            "\"a@b\"@kindle.com",
            "a@b@kindle.com",
            "a@[127.0.0.1]",
            "a\0@kindle.com",
            "a\t@kindle.com",
            "读者@kindle.com",
            "a@kindle.com\u{200b}",
        ] {
            assert!(check_address(typed, &kindle()).is_err(), "{typed:?} was accepted");
        }
    }

    #[test]
    fn malformed_addresses_say_what_is_wrong() {
        for (typed, expected) in [
            ("", AddressError::Empty),
            ("   ", AddressError::Empty),
            ("kindle.com", AddressError::NotOneAt),
            ("@kindle.com", AddressError::BadLocalPart),
            (".a@kindle.com", AddressError::BadLocalPart),
            ("a..b@kindle.com", AddressError::BadLocalPart),
            ("a.@kindle.com", AddressError::BadLocalPart),
            ("a@", AddressError::BadDomain),
            ("a@kindle..com", AddressError::BadDomain),
            ("a@-kindle.com", AddressError::BadDomain),
            ("a@localhost", AddressError::BadDomain),
            ("a,b@kindle.com", AddressError::BadCharacter(',')),
        ] {
            assert_eq!(check_address(typed, &kindle()), Err(expected), "{typed:?}");
        }
        let long_local = format!("{}@kindle.com", "a".repeat(65));
        assert_eq!(check_address(&long_local, &kindle()), Err(AddressError::BadLocalPart));
        let long = format!("a@{}.kindle.com", vec!["b".repeat(60); 5].join("."));
        assert_eq!(check_address(&long, &kindle()), Err(AddressError::TooLong));
        // every message is readable by the follower and carries the hint
        let shown = AddressError::BadCharacter('\r').to_string();
        assert!(shown.contains("空格") && shown.contains("name@kindle.com"), "{shown}");
    }

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "smtp.example.com",
            "10.0.0.1",
            "192.168.1.1",
            "localhost.example.com",
            "::",
            "0.0.0.0",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
