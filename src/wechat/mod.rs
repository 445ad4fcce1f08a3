//! The WeChat Official Account callback protocol, as pure functions:
//! signatures, message encryption, message parsing, passive replies, and the
//! request pipeline that ties them together (`callback`). No I/O happens here.
//! The reference is `/work/shared/wechat-protocol.md`.

pub mod api;
pub mod callback;
pub mod crypto;
mod event;
mod fields;
pub mod message;
pub mod reply;
pub mod signature;
mod xml;

pub use callback::{
    open_post, seal, verify_get, Answer, Credentials, Opened, Query, Rejection, Sealing,
};
pub use crypto::{AesKey, CryptoError};
#[cfg(fuzzing)]
pub use fields::flat_reading_agrees;
pub use message::{parse, parse_encrypt_field, Event, Incoming, MessageKind, ParseError};
pub use reply::{encrypted_envelope, render, Article, Reply};
