//! WeChat message encryption ("safe mode"): AES-256-CBC with IV = key[..16],
//! PKCS#7 padding to 32-byte blocks, plaintext `random16 || u32be len || msg || appid`.

use std::fmt;

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes256, Block};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const KEY_CHARS: usize = 43;
const KEY_BYTES: usize = 32;
const BLOCK: usize = 16;
const PAD_BLOCK: usize = 32;
const RANDOM_BYTES: usize = 16;
const HEADER_BYTES: usize = RANDOM_BYTES + 4;

/// Real EncodingAESKeys are not canonical base64: their last character usually
/// carries non-zero bits past the 32nd byte, which strict decoders reject.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded EncodingAESKey, with its AES round keys expanded once rather
/// than for every message. Its Debug output never shows the key.
#[derive(Clone)]
pub struct AesKey {
    bytes: [u8; KEY_BYTES],
    cipher: Aes256,
}

impl AesKey {
    pub fn from_encoding_aes_key(s: &str) -> Result<AesKey, CryptoError> {
        let s = s.trim();
        let chars = s.chars().count();
        if chars != KEY_CHARS {
            return Err(CryptoError::BadKey(format!(
                "EncodingAESKey must be {KEY_CHARS} characters, got {chars}"
            )));
        }
        // The decoder's own error names the offending character: keep it out of messages.
        let bytes = LENIENT_BASE64
            .decode(s)
            .map_err(|_| CryptoError::BadKey("EncodingAESKey is not valid base64".into()))?;
        let bytes = <[u8; KEY_BYTES]>::try_from(bytes.as_slice()).map_err(|_| {
            CryptoError::BadKey(format!("EncodingAESKey must decode to {KEY_BYTES} bytes"))
        })?;
        Ok(AesKey { bytes, cipher: Aes256::new(&bytes.into()) })
    }

    fn iv(&self) -> [u8; BLOCK] {
        self.bytes[..BLOCK].try_into().expect("the key is longer than a block")
    }

    /// CBC encryption in place of whole blocks, chained from the key's IV.
    fn cbc_encrypt(&self, buf: &mut [u8]) {
        let mut previous = self.iv();
        for chunk in buf.chunks_exact_mut(BLOCK) {
            let block = Block::from_mut_slice(chunk);
            xor_block(block, &previous);
            self.cipher.encrypt_block(block);
            previous.copy_from_slice(block);
        }
    }

    /// CBC decryption in place of whole blocks. The blocks are deciphered
    /// together (AES-NI and ARMv8 work on several at once), then each is
    /// unchained with the ciphertext block before it.
    fn cbc_decrypt(&self, buf: &mut [u8]) {
        let mut blocks: Vec<Block> = buf.chunks_exact(BLOCK).map(Block::clone_from_slice).collect();
        self.cipher.decrypt_blocks(&mut blocks);
        let mut previous = self.iv();
        for (chunk, plain) in buf.chunks_exact_mut(BLOCK).zip(&mut blocks) {
            xor_block(plain, &previous);
            previous.copy_from_slice(chunk);
            chunk.copy_from_slice(plain);
        }
    }
}

fn xor_block(block: &mut Block, with: &[u8; BLOCK]) {
    let block_bytes: &mut [u8; BLOCK] = block.as_mut();
    let xored = u128::from_ne_bytes(*block_bytes) ^ u128::from_ne_bytes(*with);
    *block_bytes = xored.to_ne_bytes();
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    BadKey(String),
    BadBase64,
    BadPadding,
    BadLength,
    AppIdMismatch,
    NotUtf8,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::BadKey(reason) => write!(f, "bad EncodingAESKey: {reason}"),
            CryptoError::BadBase64 => f.write_str("encrypted message is not valid base64"),
            CryptoError::BadPadding => {
                f.write_str("bad padding after decryption (wrong EncodingAESKey?)")
            }
            CryptoError::BadLength => f.write_str("encrypted message has an impossible length"),
            CryptoError::AppIdMismatch => f.write_str("decrypted message is for another appid"),
            CryptoError::NotUtf8 => f.write_str("decrypted message is not UTF-8"),
        }
    }
}

impl std::error::Error for CryptoError {}

pub fn decrypt(key: &AesKey, encrypt_b64: &str, app_id: &str) -> Result<String, CryptoError> {
    let mut buf = STANDARD.decode(encrypt_b64.trim()).map_err(|_| CryptoError::BadBase64)?;
    if buf.is_empty() || buf.len() % BLOCK != 0 {
        return Err(CryptoError::BadLength);
    }
    key.cbc_decrypt(&mut buf);
    let content = unpad(&buf)?;
    if content.len() < HEADER_BYTES {
        return Err(CryptoError::BadLength);
    }
    let (header, rest) = content.split_at(HEADER_BYTES);
    let msg_len = u32::from_be_bytes([header[16], header[17], header[18], header[19]]) as usize;
    if msg_len > rest.len() {
        return Err(CryptoError::BadLength);
    }
    let (_, trailing_app_id) = rest.split_at(msg_len);
    if trailing_app_id != app_id.as_bytes() {
        return Err(CryptoError::AppIdMismatch);
    }
    // The message is cut out of the decrypted buffer in place, not copied.
    buf.truncate(HEADER_BYTES + msg_len);
    buf.drain(..HEADER_BYTES);
    String::from_utf8(buf).map_err(|_| CryptoError::NotUtf8)
}

pub fn encrypt(key: &AesKey, msg: &str, app_id: &str, random16: [u8; 16]) -> String {
    // Passive replies are a few KiB; a length that does not fit u32 cannot occur.
    let msg_len = msg.len() as u32;
    let mut buf = Vec::with_capacity(HEADER_BYTES + msg.len() + app_id.len() + PAD_BLOCK);
    buf.extend_from_slice(&random16);
    buf.extend_from_slice(&msg_len.to_be_bytes());
    buf.extend_from_slice(msg.as_bytes());
    buf.extend_from_slice(app_id.as_bytes());
    pad(&mut buf);
    key.cbc_encrypt(&mut buf);
    STANDARD.encode(buf)
}

/// PKCS#7 to a 32-byte block: always 1..=32 bytes, each holding the pad length.
fn pad(buf: &mut Vec<u8>) {
    let pad = PAD_BLOCK - buf.len() % PAD_BLOCK;
    buf.resize(buf.len() + pad, pad as u8);
}

fn unpad(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(CryptoError::BadPadding);
    }
    let (content, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::BadPadding);
    }
    Ok(content)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) const OFFICIAL_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    pub(crate) const OFFICIAL_APP_ID: &str = "wx2c2769f8efd9abc2";
    pub(crate) const OFFICIAL_ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    fn official_key() -> AesKey {
        AesKey::from_encoding_aes_key(OFFICIAL_KEY).expect("official key decodes")
    }

    /// Decrypts without checking padding or appid, to look at the raw plaintext.
    fn raw_plaintext(key: &AesKey, encrypt_b64: &str) -> Vec<u8> {
        let mut buf = STANDARD.decode(encrypt_b64).unwrap();
        key.cbc_decrypt(&mut buf);
        buf
    }

    /// Encrypts raw bytes as they are, so tests can forge malformed plaintexts.
    fn encrypt_raw(key: &AesKey, mut plain: Vec<u8>) -> String {
        key.cbc_encrypt(&mut plain);
        STANDARD.encode(plain)
    }

    #[test]
    fn cbc_agrees_with_the_cbc_crate() {
        use cbc::cipher::block_padding::NoPadding;
        use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
        let key = official_key();
        let plain: Vec<u8> = (0..=255u8).cycle().take(37 * BLOCK).collect();
        let mut ours = plain.clone();
        key.cbc_encrypt(&mut ours);
        let mut theirs = plain.clone();
        cbc::Encryptor::<Aes256>::new(&key.bytes.into(), &key.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut theirs, plain.len())
            .unwrap();
        assert_eq!(ours, theirs);
        cbc::Decryptor::<Aes256>::new(&key.bytes.into(), &key.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut theirs)
            .unwrap();
        key.cbc_decrypt(&mut ours);
        assert_eq!(ours, plain);
        assert_eq!(theirs, plain);
    }

    #[test]
    fn official_sample_decrypts_to_the_documented_message() {
        let xml = decrypt(&official_key(), OFFICIAL_ENCRYPT, OFFICIAL_APP_ID).unwrap();
        assert!(xml.contains("<ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"), "{xml}");
        assert!(xml.contains("<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"), "{xml}");
        assert!(xml.contains("<CreateTime>1409735668</CreateTime>"), "{xml}");
        assert!(xml.contains("<Content><![CDATA[abcdteT]]></Content>"), "{xml}");
        assert!(xml.contains("<MsgId>6054768590064713728</MsgId>"), "{xml}");
    }

    #[test]
    fn official_key_is_not_canonical_base64_yet_decodes() {
        // "G" carries non-zero bits past the 32nd byte: strict decoding must fail.
        assert!(STANDARD.decode(format!("{OFFICIAL_KEY}=")).is_err());
        let key = official_key();
        assert_eq!(key.bytes[..3], [0x69, 0xb7, 0x1d]);
        assert_eq!(key.bytes[31], 0x51);
    }

    #[test]
    fn key_with_zero_trailing_bits_and_padding_also_decodes() {
        let canonical = STANDARD.encode([7u8; 32]);
        assert!(AesKey::from_encoding_aes_key(canonical.trim_end_matches('=')).is_ok());
    }

    #[test]
    fn bad_keys_are_rejected_without_echoing_them() {
        for bad in ["", "short", &OFFICIAL_KEY[..42], &format!("{OFFICIAL_KEY}A")] {
            assert!(matches!(AesKey::from_encoding_aes_key(bad), Err(CryptoError::BadKey(_))));
        }
        let with_bad_char = format!("!{}", &OFFICIAL_KEY[1..]);
        let err = AesKey::from_encoding_aes_key(&with_bad_char).unwrap_err();
        assert!(matches!(err, CryptoError::BadKey(_)));
        assert!(!err.to_string().contains(&OFFICIAL_KEY[1..10]), "{err}");
        assert!(!err.to_string().contains('!'), "{err}");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", official_key());
        assert_eq!(shown, "AesKey(***)");
    }

    #[test]
    fn round_trip_for_lengths_around_block_boundaries() {
        let key = official_key();
        let app_id = OFFICIAL_APP_ID; // 18 bytes: header + appid = 38
        for msg_len in 0..=100 {
            let msg = "x".repeat(msg_len);
            let encrypted = encrypt(&key, &msg, app_id, [9; 16]);
            let plain = raw_plaintext(&key, &encrypted);
            let unpadded = HEADER_BYTES + msg_len + app_id.len();
            let expected_pad = 32 - unpadded % 32;
            assert_eq!(plain.len(), unpadded + expected_pad, "msg_len {msg_len}");
            assert!(plain[unpadded..].iter().all(|&b| usize::from(b) == expected_pad));
            assert_eq!(decrypt(&key, &encrypted, app_id).unwrap(), msg);
        }
    }

    #[test]
    fn whole_block_plaintext_gets_a_full_32_byte_pad() {
        let key = official_key();
        let msg = "y".repeat(64 - HEADER_BYTES - OFFICIAL_APP_ID.len());
        let plain = raw_plaintext(&key, &encrypt(&key, &msg, OFFICIAL_APP_ID, [1; 16]));
        assert_eq!(plain.len(), 96);
        assert!(plain[64..].iter().all(|&b| b == 32));
    }

    #[test]
    fn iv_is_the_first_16_key_bytes() {
        // CBC: block 1 = AES(key, plaintext block 1 XOR IV). A wrong IV only garbles
        // the random prefix on decryption, so check it on the ciphertext itself.
        let key = official_key();
        let random = [0x5a; 16];
        let mut expected = Block::from(std::array::from_fn(|i| random[i] ^ key.bytes[i]));
        Aes256::new(&key.bytes.into()).encrypt_block(&mut expected);
        let cipher = STANDARD.decode(encrypt(&key, "m", "wxid", random)).unwrap();
        assert_eq!(cipher[..16], expected[..]);
    }

    #[test]
    fn encrypt_places_random_and_length_first() {
        let key = official_key();
        let plain = raw_plaintext(&key, &encrypt(&key, "héllo", "wxid", [5; 16]));
        assert_eq!(plain[..16], [5; 16]);
        assert_eq!(plain[16..20], 6u32.to_be_bytes());
        assert_eq!(&plain[20..26], "héllo".as_bytes());
        assert_eq!(&plain[26..30], b"wxid");
    }

    /// A 27-byte plaintext body ("abc" for appid "wxid") followed by `tail`.
    fn forged(tail: &[u8]) -> Vec<u8> {
        [&[0u8; 16][..], &3u32.to_be_bytes(), b"abc", b"wxid", tail].concat()
    }

    #[test]
    fn valid_forged_padding_is_accepted() {
        let key = official_key();
        let plain = forged(&[5; 5]);
        assert_eq!(decrypt(&key, &encrypt_raw(&key, plain), "wxid").unwrap(), "abc");
        let full_pad = [&[0u8; 16][..], &8u32.to_be_bytes(), b"abcdefgh", b"wxid", &[32; 32]];
        let result = decrypt(&key, &encrypt_raw(&key, full_pad.concat()), "wxid");
        assert_eq!(result.unwrap(), "abcdefgh");
    }

    #[test]
    fn bad_padding_is_rejected() {
        let key = official_key();
        let tails: [&[u8]; 4] = [
            &[0, 0, 0, 0, 0],      // pad value 0
            &[33, 33, 33, 33, 33], // pad value above 32
            &[4, 5, 5, 5, 5],      // a pad byte that disagrees
            &[5, 5, 5, 5, 6],      // claims 6 but only 5 bytes agree
        ];
        for tail in tails {
            let result = decrypt(&key, &encrypt_raw(&key, forged(tail)), "wxid");
            assert_eq!(result, Err(CryptoError::BadPadding), "tail {tail:?}");
        }
        let too_long = [[0u8; 15].as_slice(), &[32]].concat(); // pad 32 in a 16-byte plaintext
        let result = decrypt(&key, &encrypt_raw(&key, too_long), "wxid");
        assert_eq!(result, Err(CryptoError::BadPadding));
    }

    #[test]
    fn length_field_past_the_end_is_rejected() {
        let key = official_key();
        let mut plain = forged(&[5; 5]);
        plain[16..20].copy_from_slice(&999u32.to_be_bytes());
        assert_eq!(decrypt(&key, &encrypt_raw(&key, plain), "wxid"), Err(CryptoError::BadLength));
    }

    #[test]
    fn appid_mismatch_is_rejected() {
        let key = official_key();
        let encrypted = encrypt(&key, "hello", "wx_mine", [0; 16]);
        assert_eq!(decrypt(&key, &encrypted, "wx_other"), Err(CryptoError::AppIdMismatch));
        assert_eq!(decrypt(&key, &encrypted, "wx_min"), Err(CryptoError::AppIdMismatch));
        assert_eq!(
            decrypt(&key, OFFICIAL_ENCRYPT, "wx0000000000000000"),
            Err(CryptoError::AppIdMismatch)
        );
    }

    #[test]
    fn wrong_key_fails_cleanly() {
        let other = AesKey::from_encoding_aes_key(&"B".repeat(43)).unwrap();
        assert!(decrypt(&other, OFFICIAL_ENCRYPT, OFFICIAL_APP_ID).is_err());
    }

    #[test]
    fn malformed_ciphertext_is_rejected() {
        let key = official_key();
        assert_eq!(decrypt(&key, "", OFFICIAL_APP_ID), Err(CryptoError::BadLength));
        assert_eq!(decrypt(&key, "not base64!!", OFFICIAL_APP_ID), Err(CryptoError::BadBase64));
        assert_eq!(decrypt(&key, "YWJj", OFFICIAL_APP_ID), Err(CryptoError::BadLength));
        let header_only = encrypt_raw(&key, [[0u8; 15].as_slice(), &[1]].concat());
        assert_eq!(decrypt(&key, &header_only, OFFICIAL_APP_ID), Err(CryptoError::BadLength));
    }

    #[test]
    fn non_utf8_message_is_rejected() {
        let key = official_key();
        let mut plain = [&[0u8; 16][..], &2u32.to_be_bytes(), &[0xff, 0xfe], b"wxid"].concat();
        plain.extend_from_slice(&[6u8; 6]);
        assert_eq!(decrypt(&key, &encrypt_raw(&key, plain), "wxid"), Err(CryptoError::NotUtf8));
    }
}
