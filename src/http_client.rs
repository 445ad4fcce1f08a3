//! The one setup of outgoing HTTP, shared by the WeChat API client and the
//! crawler: ureq over rustls (ring, Mozilla's roots), the TLS stack the mail
//! client (src/mail/smtp.rs) uses too. Redirects are never followed here (the
//! API refuses them, the crawler follows them itself, hop by hop) and every
//! status is an answer.

use std::time::Duration;

/// A response head (status line and headers) larger than this is refused.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// An agent for requests that must be over, body included, within `timeout`.
/// No connection is kept: each exchange sends `Connection: close` anyway,
/// and a pooled connection gone stale is what makes clients resend.
pub fn agent(user_agent: &str, timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .max_response_header_size(MAX_HEAD_BYTES)
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .user_agent(user_agent)
        .build()
        .into()
}
