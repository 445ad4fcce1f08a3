//! The WeChat Official Account API client: tokens, media uploads,
//! customer-service messages, the menu (protocol sheet, section 5), and
//! articles in the draft box (section 7).
//!
//! Blocking calls over ureq (rustls with ring), meant for service threads.
//! The client never caches a token: the token owner thread fetches them and
//! every other call takes the token to use. Secrets (the app secret, access
//! tokens) never appear in errors, `Debug` output or log lines; URLs, which
//! carry them in the query, are never logged, only their paths.

mod client;
mod custom;
mod draft;
mod error;
mod media;
mod multipart;
mod response;
mod token;
mod transport;

pub use client::ApiClient;
pub use custom::{CustomContent, CustomMessage};
pub use draft::{
    DraftArticle, PublishStatus, ARTICLE_IMAGE_MAX_BYTES, AUTHOR_MAX_CHARS, CONTENT_MAX_BYTES,
    CONTENT_MAX_CHARS, DIGEST_MAX_CHARS, TITLE_MAX_CHARS,
};
pub use error::{ApiError, ErrorAction};
pub use media::{image_content_type, Material, MediaType, TempMedia, IMAGE_MAX_BYTES};
pub use token::AccessToken;

/// How long one API call may take, connect to last byte.
pub const API_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
