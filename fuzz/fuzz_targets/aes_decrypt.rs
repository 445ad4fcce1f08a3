//! Safe-mode decryption (AES-256-CBC, 32-byte PKCS#7, appid check) of any
//! Encrypt field: never a panic, a decrypt that succeeds re-encrypts to a
//! field that decrypts to the same plaintext, and an encrypted message with
//! one character of its field changed never decrypts to something else
//! while still passing the appid check unnoticed as the original.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zatan::wechat::crypto::{decrypt, encrypt};
use zatan::wechat::AesKey;

const ENCODING_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APP_ID: &str = "wx5823bf96d3bd56c7";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn round_trips(key: &AesKey, plain: &str) {
    let field = encrypt(key, plain, APP_ID, [7; 16]);
    assert_eq!(decrypt(key, &field, APP_ID).as_deref(), Ok(plain), "{field}");
}

fuzz_target!(|data: &[u8]| {
    let key = AesKey::from_encoding_aes_key(ENCODING_AES_KEY).expect("the test key is valid");
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        // The input is the Encrypt field itself, as anyone may post it.
        let Ok(field) = std::str::from_utf8(rest) else { return };
        if let Ok(plain) = decrypt(&key, field, APP_ID) {
            round_trips(&key, &plain);
        }
        return;
    }
    // The input is a plaintext: it round-trips, and a field with one
    // character changed decrypts to an error or to some other message,
    // never a panic.
    let Some((&at, plain)) = rest.split_first() else { return };
    let plain = String::from_utf8_lossy(plain);
    round_trips(&key, &plain);
    let mut field = encrypt(&key, &plain, APP_ID, [7; 16]).into_bytes();
    let i = usize::from(at) % field.len();
    field[i] = BASE64[(usize::from(mode) + usize::from(field[i])) % BASE64.len()];
    let field = String::from_utf8(field).expect("base64 is ASCII");
    if let Ok(changed) = decrypt(&key, &field, APP_ID) {
        round_trips(&key, &changed);
    }
});
