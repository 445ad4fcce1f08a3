//! Random bytes from the system's source.

/// 16 bytes that only have to differ from call to call (the reply prefix, a
/// multipart boundary); not key material, so a clock-derived value stands in
/// if the system's random source fails.
pub fn random16() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut bytes) {
        log::warn!("getrandom failed ({e}); using clock-derived bytes");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes
}

/// 32 bytes of key material from the system's random source; an error rather
/// than a weaker stand-in when it fails.
pub fn key32() -> Result<[u8; 32], getrandom::Error> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)?;
    Ok(key)
}
