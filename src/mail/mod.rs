//! Outgoing mail for Send-to-Kindle: one book as one attachment, over SMTP
//! with rustls (Mozilla's roots embedded, plus an optional private CA).
//!
//! Blocking and thread-free: the mailer service calls [`Mailer::send`] from
//! its own thread. Each send opens one connection (no pool): pushes are rare,
//! and a fresh connection never trips over a relay's idle timeout.

use std::fmt;
use std::time::Duration;

use crate::config::{ConfigError, MailConfig, MailSecurity, Secret};
use crate::email_address as address;
pub use crate::email_address::{is_loopback_host, AddressError};
use crate::tls::read_ca_file;

mod message;
mod smtp;

/// The body of every mail. ASCII, like the subject: Amazon's service reads
/// the attachment, and non-ASCII text elsewhere only risks garbling.
const BODY_TEXT: &str = "Sent to your Kindle by zatan.\r\n";

/// The file to deliver, named as the reader should see it (`三体.epub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The encoded mail would exceed `mail.max_mail_bytes`; nothing was sent.
    TooBig { size: u64, limit: u64 },
    /// Worth trying again later: the server was unreachable or slow, the
    /// connection broke, or the server answered 4xx.
    ///
    /// A connection lost after the message data went out may still have
    /// delivered it: SMTP cannot tell, so a retry may deliver twice.
    Transient(String),
    /// This mail will never go through as it is: the server refused it (5xx,
    /// e.g. an unknown recipient), or the request itself is wrong (a non-ASCII
    /// subject, an address outside `mail.allowed_domains`).
    Permanent(String),
    /// The owner's `[mail]` settings are wrong: login refused, the server's
    /// certificate untrusted, TLS not spoken where `mail.security` says.
    /// Every mail fails this way until the config changes; retrying does not help.
    Misconfigured(String),
}

impl SendError {
    /// Whether the same mail may succeed if sent again unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::TooBig { size, limit } => {
                write!(f, "the mail would be {size} bytes, over the limit of {limit} bytes (mail.max_mail_bytes)")
            }
            SendError::Transient(reason) => write!(f, "temporary failure: {reason}"),
            SendError::Permanent(reason) => write!(f, "refused: {reason}"),
            SendError::Misconfigured(reason) => {
                write!(f, "the [mail] settings need fixing: {reason}")
            }
        }
    }
}

impl std::error::Error for SendError {}

/// An SMTP client for one configured relay.
pub struct Mailer {
    relay: smtp::Relay,
    /// The sender as the envelope and the From header carry it: `local@domain`.
    from: String,
    from_text: String,
    from_domain: String,
    allowed_domains: Vec<String>,
    max_mail_bytes: u64,
    /// `host:port (security)`, to say where a failure happened.
    server: String,
    timeout: Duration,
    /// Kept only to scrub it from any text a failure produces.
    secrets: Vec<String>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field("from", &self.from_text)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer for `config`, or None when mail is off (no `mail.host`).
    /// Validates `config` first, so a hand-built config gets the same errors.
    pub fn new(config: &MailConfig) -> Result<Option<Mailer>, ConfigError> {
        config.validate()?;
        let Some(host) = config.host.clone() else {
            return Ok(None);
        };
        let from_text = config.from.clone().unwrap_or_default();
        let (from_local, from_domain) = address::parse_shape(&from_text).map_err(|_| {
            ConfigError(format!("config key `mail.from`: {from_text:?} is not an e-mail address"))
        })?;
        let port = config.effective_port();
        let timeout = Duration::from_secs(config.timeout_secs);

        let mut extra_roots = Vec::new();
        if let (Some(path), MailSecurity::Tls | MailSecurity::Starttls) =
            (&config.ca_file, config.security)
        {
            extra_roots = read_ca_file(path)
                .map_err(|e| ConfigError(format!("config key `mail.ca_file`: {e}")))?;
        }
        let credentials = match (&config.username, &config.password) {
            (Some(user), Some(password)) => Some((user.clone(), password.clone())),
            _ => None,
        };
        let secrets = credentials
            .as_ref()
            .map(|(user, password)| secret_forms(user, password))
            .unwrap_or_default();
        let relay = smtp::Relay::new(
            &host,
            port,
            config.security,
            extra_roots,
            // The sender's domain is a fully qualified name, which strict
            // relays want in EHLO; a router's own host name rarely is.
            from_domain.clone(),
            credentials,
            timeout,
        )
        .map_err(|e| {
            ConfigError(format!("config key `mail.host`: cannot set up TLS for {host:?}: {e}"))
        })?;
        Ok(Some(Mailer {
            relay,
            from: format!("{from_local}@{from_domain}"),
            from_text,
            from_domain,
            allowed_domains: config
                .allowed_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            max_mail_bytes: config.max_mail_bytes,
            server: format!("{host}:{port} ({})", config.security.name()),
            timeout,
            secrets,
        }))
    }

    /// `address` normalized (lower case) if a follower may bind it: a plain
    /// address in one of `mail.allowed_domains`.
    pub fn check_address(&self, address: &str) -> Result<String, AddressError> {
        address::check_address(address, &self.allowed_domains)
    }

    /// The sender address, which followers add to Amazon's approved list.
    pub fn sender(&self) -> &str {
        &self.from_text
    }

    pub fn max_mail_bytes(&self) -> u64 {
        self.max_mail_bytes
    }

    /// The size of the mail carrying `attachment`, as it goes on the wire, or
    /// slightly more (never less): base64 with its line breaks, the headers,
    /// the body text and the MIME framing.
    pub fn encoded_size(&self, attachment: &Attachment, subject: &str) -> u64 {
        self.size_on_wire(
            &attachment.file_name,
            attachment.content_type.len(),
            attachment.bytes.len() as u64,
            subject.len(),
        )
    }

    /// [`Mailer::encoded_size`] of a file of `bytes` bytes, before it is read:
    /// assumes a subject and a content type of up to 78 characters.
    pub fn encoded_size_of(&self, file_name: &str, bytes: u64) -> u64 {
        self.size_on_wire(file_name, 78, bytes, 78)
    }

    fn size_on_wire(
        &self,
        file_name: &str,
        content_type_len: usize,
        n: u64,
        subject_len: usize,
    ) -> u64 {
        let base64 = n.div_ceil(3) * 4;
        let line_breaks = n.div_ceil(57) * 2;
        // Percent-encoding triples a byte, and RFC 2231 continuations add a
        // parameter name and a line break per 60-odd characters.
        let file_name = file_name.len() as u64 * 4 + 64;
        // Date, Message-ID, MIME-Version, three boundaries, two part headers.
        const FRAMING: u64 = 1024;
        let headers = (self.from_text.len() + 254 + subject_len + content_type_len) as u64;
        base64 + line_breaks + file_name + headers + BODY_TEXT.len() as u64 + FRAMING
    }

    /// Mail `attachment` to `to`. Blocks for the whole SMTP exchange (at most
    /// `mail.timeout_secs` per step). Nothing is sent when the checks fail:
    /// `to` must pass [`Mailer::check_address`], `subject` must be printable
    /// ASCII, and the encoded mail must fit `mail.max_mail_bytes`.
    pub fn send(&self, to: &str, subject: &str, attachment: &Attachment) -> Result<(), SendError> {
        let to = self
            .check_address(to)
            .map_err(|e| SendError::Permanent(format!("recipient {to:?}: {e}")))?;
        if !subject.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            return Err(SendError::Permanent(format!(
                "the subject {subject:?} is not printable ASCII (Amazon garbles anything else; name the book in the attachment instead)"
            )));
        }
        if attachment.file_name.trim().is_empty()
            || attachment.file_name.chars().any(char::is_control)
        {
            return Err(SendError::Permanent(format!(
                "the attachment name {:?} is empty or has control characters",
                attachment.file_name
            )));
        }
        let size = self.encoded_size(attachment, subject);
        if size > self.max_mail_bytes {
            return Err(SendError::TooBig { size, limit: self.max_mail_bytes });
        }
        let message = self.build(&to, subject, attachment)?;
        log::debug!(
            "mail: sending {:?} ({} bytes) to {to} via {}",
            attachment.file_name,
            attachment.bytes.len(),
            self.server
        );
        self.relay.send(&self.from, &to, &message).map_err(|e| self.classify(&e))
    }

    /// The message for `to` (an address [`Mailer::check_address`] passed),
    /// as DATA carries it.
    fn build(
        &self,
        to: &str,
        subject: &str,
        attachment: &Attachment,
    ) -> Result<Vec<u8>, SendError> {
        message::check_content_type(&attachment.content_type).map_err(|e| {
            SendError::Permanent(format!("content type {:?}: {e}", attachment.content_type))
        })?;
        let hex = |bytes: [u8; 16]| crate::digest::hex(&bytes);
        let message_id = format!("<{}@{}>", hex(crate::random::random16()), self.from_domain);
        let boundary = format!("zatan-{}", hex(crate::random::random16()));
        // Always base64, so the size estimate holds and text files keep their bytes.
        let mail = message::Mail {
            from: &self.from,
            to,
            subject,
            message_id: &message_id,
            date: std::time::SystemTime::now(),
            boundary: &boundary,
            text: BODY_TEXT,
            content_type: &attachment.content_type,
            file_name: &attachment.file_name,
            bytes: &attachment.bytes,
        };
        Ok(mail.format())
    }

    /// Sorts a failure by what fixes it; the text never holds the password.
    fn classify(&self, error: &smtp::Error) -> SendError {
        let server = &self.server;
        let result = if let Some(tls) = rustls_error(error) {
            match tls {
                rustls::Error::InvalidCertificate(problem) => SendError::Misconfigured(format!(
                    "the certificate of {server} is not trusted ({problem:?}); if the server uses a private CA, set mail.ca_file to that CA's PEM file, otherwise check mail.host is the name on the certificate"
                )),
                other => SendError::Misconfigured(format!(
                    "TLS with {server} failed ({other}); check mail.security matches the port (\"tls\" for 465, \"starttls\" for 587)"
                )),
            }
        } else if let smtp::Error::Refused { reply, .. } = error {
            let (code, detail) = (reply.code, reply.text());
            if matches!(code, 530 | 534 | 535 | 538) {
                SendError::Misconfigured(format!(
                    "{server} refused the login ({code}: {detail}); fix mail.username and mail.password"
                ))
            } else if code < 500 {
                SendError::Transient(format!("{server} deferred the mail ({code}: {detail})"))
            } else {
                SendError::Permanent(format!("{server} refused the mail ({code}: {detail})"))
            }
        } else if timed_out(error) {
            SendError::Transient(format!(
                "{server} did not answer within {} s",
                self.timeout.as_secs()
            ))
        } else if let smtp::Error::Unsupported(detail) = error {
            // what the settings require and the server lacks: STARTTLS, a
            // login mechanism zatan speaks
            SendError::Misconfigured(format!(
                "{server}: {detail}; check mail.security and mail.port"
            ))
        } else {
            SendError::Transient(format!("cannot talk to {server}: {error}"))
        };
        self.scrub(result)
    }

    fn scrub(&self, error: SendError) -> SendError {
        let clean = |text: String| {
            self.secrets.iter().fold(text, |text, secret| text.replace(secret.as_str(), "***"))
        };
        match error {
            SendError::Transient(t) => SendError::Transient(clean(t)),
            SendError::Permanent(t) => SendError::Permanent(clean(t)),
            SendError::Misconfigured(t) => SendError::Misconfigured(clean(t)),
            too_big => too_big,
        }
    }
}

/// The password as it could appear in a server's echo: raw, and base64 as
/// AUTH PLAIN and AUTH LOGIN send it.
fn secret_forms(user: &str, password: &Secret) -> Vec<String> {
    use base64::Engine;
    let password = password.expose();
    if password.is_empty() {
        return Vec::new();
    }
    let b64 = &base64::engine::general_purpose::STANDARD;
    vec![b64.encode(format!("\0{user}\0{password}")), b64.encode(password), password.to_string()]
}

/// The rustls error somewhere in `error`'s chain: a failed handshake comes
/// out of the stream as an `io::Error` wrapping it.
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
        }
        next = current.source();
    }
    None
}

/// Whether a socket timeout ended the exchange: `TimedOut`, or `WouldBlock`,
/// which is what a socket read or write timeout gives on Linux.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            );
        }
        next = current.source();
    }
    false
}

/// `书名.epub`: Amazon names the document after the attachment.
pub fn attachment_name(title: &str) -> String {
    format!("{}.epub", crate::fsutil::safe_name(title).trim())
}

/// Why a book is not mailed, for the follower: the mail's size and the limit.
pub fn too_big(size: u64, limit: u64) -> String {
    let megabytes = |bytes: u64| format!("{:.1} MB", bytes as f64 / 1_000_000.0);
    format!("书太大：邮件约 {}，超过上限 {}", megabytes(size), megabytes(limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer(extra: &str) -> Mailer {
        let text = format!("[mail]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\nfrom = \"books@example.com\"\n{extra}");
        let config = crate::config::Config::parse(&text).unwrap();
        Mailer::new(&config.mail).unwrap().unwrap()
    }

    fn epub(name: &str, len: usize) -> Attachment {
        Attachment {
            file_name: name.into(),
            content_type: "application/epub+zip".into(),
            bytes: (0..len).map(|i| (i * 7 % 251) as u8).collect(),
        }
    }

    #[test]
    fn mail_off_without_host() {
        let config = crate::config::Config::parse("").unwrap();
        assert!(Mailer::new(&config.mail).unwrap().is_none());
    }

    #[test]
    fn mailer_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Mailer>();
    }

    #[test]
    fn encoded_size_never_underestimates_and_stays_close() {
        let m = mailer("");
        let subject = "Your book from zatan";
        let long_name = format!("{}.epub", "很长的书名".repeat(20));
        for name in ["a.epub", "三体.epub", long_name.as_str()] {
            for len in [0, 1, 2, 3, 56, 57, 58, 1000, 65_536, 300_001] {
                let attachment = epub(name, len);
                let actual =
                    m.build("reader@kindle.com", subject, &attachment).unwrap().len() as u64;
                let estimate = m.encoded_size(&attachment, subject);
                assert!(estimate >= actual, "{name} {len}: estimate {estimate} < actual {actual}");
                assert!(
                    estimate - actual < 2048,
                    "{name} {len}: estimate {estimate} is far above actual {actual}"
                );
            }
        }
    }

    #[test]
    fn base64_overhead_is_counted() {
        let m = mailer("");
        let size = m.encoded_size(&epub("b.epub", 3_000_000), "s");
        // 4/3 for base64, 78/76 for the line breaks
        assert!((4_105_263..4_110_000).contains(&size), "{size}");
    }

    #[test]
    fn refusals_before_connecting() {
        // nothing listens on this port: each refusal below happens before any connection
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let m = mailer(&format!("port = {port}\nmax_mail_bytes = 10000"));
        let small = epub("x.epub", 100);
        assert!(
            matches!(m.send("reader@gmail.com", "s", &small), Err(SendError::Permanent(r)) if r.contains("@kindle.com"))
        );
        assert!(matches!(
            m.send("a@kindle.com\r\nRCPT TO:<x@y.z>", "s", &small),
            Err(SendError::Permanent(_))
        ));
        assert!(
            matches!(m.send("reader@kindle.com", "三体", &small), Err(SendError::Permanent(r)) if r.contains("ASCII"))
        );
        assert!(
            matches!(m.send("reader@kindle.com", "a\r\nBcc: x@y.z", &small), Err(SendError::Permanent(r)) if r.contains("ASCII"))
        );
        assert!(matches!(
            m.send("reader@kindle.com", "s", &epub("a\r\n.epub", 10)),
            Err(SendError::Permanent(_))
        ));
        let big = epub("big.epub", 8000);
        match m.send("reader@kindle.com", "s", &big) {
            Err(SendError::TooBig { size, limit }) => {
                assert_eq!(limit, 10000);
                assert_eq!(size, m.encoded_size(&big, "s"));
            }
            other => panic!("{other:?}"),
        }
        // and a request that passes the checks does try to connect, and fails transiently
        assert!(matches!(m.send("reader@kindle.com", "s", &small), Err(SendError::Transient(_))));
    }

    #[test]
    fn secrets_are_scrubbed() {
        let m = mailer("username = \"u\"\npassword = \"hunter2pw\"");
        // AUTH PLAIN's blob, AUTH LOGIN's password line, the password itself
        let echoed = "535 bad AHUAaHVudGVyMnB3 aHVudGVyMnB3 hunter2pw";
        let text = m.scrub(SendError::Permanent(echoed.into())).to_string();
        assert_eq!(text, "refused: 535 bad *** *** ***");
        assert!(format!("{m:?}").contains("127.0.0.1:25 (plain)"));
        assert!(!format!("{m:?}").contains("hunter2pw"));
    }
}
