//! Random bytes from the system's source.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::{Aes256, Block};

/// 16 bytes that only have to differ from call to call (the reply prefix, a
/// multipart boundary, a Message-ID); not key material. Each is a counter
/// enciphered under a key drawn from the system's source once per process
/// (AES in counter mode): a system call for each safe-mode reply was a
/// fiftieth of its time. A clock-derived key stands in if the system's
/// source fails.
pub fn random16() -> [u8; 16] {
    static CIPHER: OnceLock<Aes256> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let cipher = CIPHER.get_or_init(|| Aes256::new(&counter_key().into()));
    let count = u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut block = Block::from(count.to_le_bytes());
    cipher.encrypt_block(&mut block);
    block.into()
}

fn counter_key() -> [u8; 32] {
    key32().unwrap_or_else(|e| {
        log::warn!("getrandom failed ({e}); using a clock-derived key for random16");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(&nanos.to_le_bytes());
        key[16..20].copy_from_slice(&std::process::id().to_le_bytes());
        key
    })
}

/// 32 bytes of key material from the system's random source; an error rather
/// than a weaker stand-in when it fails.
pub fn key32() -> Result<[u8; 32], getrandom::Error> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random16_differs_from_call_to_call() {
        let drawn: std::collections::HashSet<[u8; 16]> = (0..1000).map(|_| random16()).collect();
        assert_eq!(drawn.len(), 1000);
        assert!(drawn.iter().all(|bytes| bytes.iter().any(|&b| b != 0)));
    }
}
