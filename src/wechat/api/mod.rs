//! The WeChat Official Account API client: tokens, media uploads,
//! customer-service messages and the menu (protocol sheet, section 5).
//!
//! Blocking calls over ureq (rustls with ring), meant for service threads.
//! The client never caches a token: the token owner thread fetches them and
//! every other call takes the token to use. Secrets (the app secret, access
//! tokens) never appear in errors, `Debug` output or log lines; URLs, which
//! carry them in the query, are never logged, only their paths.

mod client;
mod custom;
mod error;
mod media;
mod multipart;
mod response;
mod token;
mod transport;

pub use client::ApiClient;
pub use custom::{CustomContent, CustomMessage};
pub use error::{ApiError, ErrorAction};
pub use media::{image_content_type, Material, MediaType, TempMedia, IMAGE_MAX_BYTES};
pub use token::AccessToken;

/// How long one API call may take, connect to last byte.
pub const API_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
