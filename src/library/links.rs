//! Signed download links: a token that lets one follower fetch one book until
//! it expires. `base64url(openid).EXPIRY.base64url(mac)`, the MAC an
//! HMAC-SHA256 over the book id, the openid and the expiry under a random key
//! kept in the store, so links survive a restart, cannot be forged, and
//! cannot be moved to another book. A new key (`zatan books revoke-links`)
//! ends every link given before.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::digest::{constant_time_eq, hmac_sha256};
use crate::random::key32;
use crate::store::{Store, StoreError};

/// Why a token does not open a book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRefused {
    /// Well made, for this book, but past its time.
    Expired,
    /// Not a token this server signed for this book (tampered, cut, another
    /// book's, or signed with a revoked key).
    Invalid,
}

pub struct LinkSigner {
    key: [u8; 32],
    /// How long a new link lasts.
    pub ttl_secs: u64,
}

impl LinkSigner {
    pub fn new(key: [u8; 32], ttl_secs: u64) -> Self {
        LinkSigner { key, ttl_secs }
    }

    /// The signer with the store's key, made (from the system's random
    /// source) the first time.
    pub fn from_store(store: &Store, ttl_secs: u64) -> Result<Self, String> {
        let mut failed = None;
        let key = store
            .link_key(|| {
                key32().unwrap_or_else(|e| {
                    failed = Some(e);
                    [0; 32]
                })
            })
            .map_err(|e: StoreError| e.to_string())?;
        if let Some(e) = failed {
            return Err(format!(
                "cannot make a key for download links: the system's random source failed ({e})"
            ));
        }
        Ok(LinkSigner::new(key, ttl_secs))
    }

    /// A token for `openid` to fetch `book_id`, valid for `ttl_secs` from `now`.
    pub fn sign(&self, book_id: &str, openid: &str, now: u64) -> String {
        self.sign_until(book_id, openid, now.saturating_add(self.ttl_secs))
    }

    /// A token valid until `expires` (Unix seconds).
    pub fn sign_until(&self, book_id: &str, openid: &str, expires: u64) -> String {
        let mac = self.mac(book_id, openid, expires);
        format!("{}.{expires}.{}", URL_SAFE_NO_PAD.encode(openid), URL_SAFE_NO_PAD.encode(mac))
    }

    /// The follower a token was given to, if it opens `book_id` at `now`.
    pub fn verify(&self, book_id: &str, token: &str, now: u64) -> Result<String, LinkRefused> {
        let mut parts = token.split('.');
        let (Some(openid), Some(expires), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkRefused::Invalid);
        };
        let openid = URL_SAFE_NO_PAD.decode(openid).map_err(|_| LinkRefused::Invalid)?;
        let openid = String::from_utf8(openid).map_err(|_| LinkRefused::Invalid)?;
        if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LinkRefused::Invalid);
        }
        let expires: u64 = expires.parse().map_err(|_| LinkRefused::Invalid)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| LinkRefused::Invalid)?;
        if !constant_time_eq(&mac, &self.mac(book_id, &openid, expires)) {
            return Err(LinkRefused::Invalid);
        }
        if now >= expires {
            return Err(LinkRefused::Expired);
        }
        Ok(openid)
    }

    fn mac(&self, book_id: &str, openid: &str, expires: u64) -> [u8; 32] {
        // Newlines cannot occur in ids or openids, so the fields cannot run together.
        hmac_sha256(&self.key, format!("{book_id}\n{openid}\n{expires}").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn signer() -> LinkSigner {
        LinkSigner::new([3; 32], 86_400)
    }

    #[test]
    fn a_token_opens_its_book_for_its_follower_until_it_expires() {
        let token = signer().sign("k3xq7a", "o_follower", NOW);
        assert!(!token.contains("o_follower"), "the openid is encoded: {token}");
        assert_eq!(signer().verify("k3xq7a", &token, NOW), Ok("o_follower".into()));
        assert_eq!(signer().verify("k3xq7a", &token, NOW + 86_399), Ok("o_follower".into()));
        assert_eq!(signer().verify("k3xq7a", &token, NOW + 86_400), Err(LinkRefused::Expired));
    }

    #[test]
    fn tampered_moved_or_foreign_tokens_are_refused() {
        let token = signer().sign("k3xq7a", "o_follower", NOW);
        assert_eq!(signer().verify("other1", &token, NOW), Err(LinkRefused::Invalid));
        let other_key = LinkSigner::new([4; 32], 86_400);
        assert_eq!(other_key.verify("k3xq7a", &token, NOW), Err(LinkRefused::Invalid));
        let (openid, rest) = token.split_once('.').unwrap();
        let (expires, mac) = rest.split_once('.').unwrap();
        let later: u64 = expires.parse::<u64>().unwrap() + 86_400;
        let extended = format!("{openid}.{later}.{mac}");
        let someone_else = format!("{}.{rest}", URL_SAFE_NO_PAD.encode("o_other"));
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            extended,
            someone_else,
            flipped,
            String::new(),
            "a.b".into(),
            format!("{token}.x"),
            format!("{openid}.+1.{mac}"),
        ] {
            assert_eq!(signer().verify("k3xq7a", &bad, NOW), Err(LinkRefused::Invalid), "{bad}");
        }
    }

    #[test]
    fn the_key_lives_in_the_store() {
        let store = Store::in_memory().unwrap();
        let first = LinkSigner::from_store(&store, 60).unwrap();
        let token = first.sign("b", "o", NOW);
        let again = LinkSigner::from_store(&store, 60).unwrap();
        assert!(again.verify("b", &token, NOW).is_ok());
        store.replace_link_key(key32().unwrap()).unwrap();
        let revoked = LinkSigner::from_store(&store, 60).unwrap();
        assert_eq!(revoked.verify("b", &token, NOW), Err(LinkRefused::Invalid));
    }
}
