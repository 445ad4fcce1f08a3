//! The SHA-1 signatures WeChat puts on every callback: `signature` over
//! (token, timestamp, nonce) and `msg_signature` over the same plus `Encrypt`.

use sha1::{Digest, Sha1};

/// Sorts the parts byte-wise, concatenates them and returns the lower-case hex SHA-1.
pub fn sign(parts: &[&str]) -> String {
    let mut hex = String::with_capacity(40);
    for byte in digest(parts) {
        hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
    }
    hex
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The SHA-1 of the parts sorted byte-wise and concatenated. Sorted on the
/// stack when there are four or fewer (every signature WeChat sends): this
/// runs for every callback, so it allocates nothing.
fn digest(parts: &[&str]) -> [u8; 20] {
    let mut on_stack = [""; 4];
    let mut on_heap = Vec::new();
    let sorted: &mut [&str] = match on_stack.get_mut(..parts.len()) {
        Some(sorted) => {
            sorted.copy_from_slice(parts);
            sorted
        }
        None => {
            on_heap.extend_from_slice(parts);
            &mut on_heap
        }
    };
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted.iter() {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// True when `given` is the signature of `expected_parts`. Hex case is ignored
/// and the comparison takes the same time wherever the first difference is.
pub fn verify(expected_parts: &[&str], given: &str) -> bool {
    let given = given.as_bytes();
    if given.len() != 40 {
        return false;
    }
    let hex_difference = |acc: u8, (byte, pair): (u8, &[u8])| {
        let high = HEX_DIGITS[usize::from(byte >> 4)] ^ pair[0].to_ascii_lowercase();
        let low = HEX_DIGITS[usize::from(byte & 0xf)] ^ pair[1].to_ascii_lowercase();
        acc | high | low
    };
    let expected = digest(expected_parts);
    expected.into_iter().zip(given.chunks_exact(2)).fold(0, hex_difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFICIAL: [&str; 3] = ["AAAAA", "1714037059", "486452656"];
    const OFFICIAL_SIGNATURE: &str = "899cf89e464efb63f54ddac96b0a0a235f53aa78";

    #[test]
    fn official_example_signs_as_documented() {
        assert_eq!(sign(&OFFICIAL), OFFICIAL_SIGNATURE);
    }

    #[test]
    fn part_order_does_not_matter() {
        assert_eq!(sign(&["486452656", "AAAAA", "1714037059"]), OFFICIAL_SIGNATURE);
    }

    #[test]
    fn official_msg_signature_over_encrypt() {
        let encrypt = crate::wechat::crypto::tests::OFFICIAL_ENCRYPT;
        let parts = ["spamtest", "1409735669", "1320562132", encrypt];
        assert_eq!(sign(&parts), "5d197aaffba7e9b25a30732f161a50dee96bd5fa");
    }

    #[test]
    fn verify_accepts_right_and_rejects_wrong() {
        assert!(verify(&OFFICIAL, OFFICIAL_SIGNATURE));
        assert!(verify(&OFFICIAL, &OFFICIAL_SIGNATURE.to_uppercase()));
        assert!(!verify(&OFFICIAL, "899cf89e464efb63f54ddac96b0a0a235f53aa79"));
        assert!(!verify(&OFFICIAL, &OFFICIAL_SIGNATURE[..39]));
        assert!(!verify(&OFFICIAL, ""));
        assert!(!verify(&["AAAAB", "1714037059", "486452656"], OFFICIAL_SIGNATURE));
    }
}
