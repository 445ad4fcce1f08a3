//! What a file is, judged by its first bytes rather than its name.

/// The media type of a JPEG, PNG or GIF, or None for anything else.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn magic_bytes_decide() {
        assert_eq!(super::image_type(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(super::image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(super::image_type(b"GIF89a.."), Some("image/gif"));
        assert_eq!(super::image_type(b"GIF8"), None);
        assert_eq!(super::image_type(b"<html>"), None);
    }
}
