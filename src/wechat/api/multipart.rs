//! A `multipart/form-data` body holding one file, as WeChat's upload calls
//! want it (RFC 7578).

use crate::random::random16;

pub(super) struct FilePart<'a> {
    pub field: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// The body and its `Content-Type` header value.
pub(super) fn form_data(part: &FilePart) -> (Vec<u8>, String) {
    let boundary = loop {
        let candidate = random_boundary();
        if !contains(part.bytes, candidate.as_bytes()) {
            break candidate;
        }
    };
    let body = body_with_boundary(part, &boundary);
    (body, format!("multipart/form-data; boundary={boundary}"))
}

fn body_with_boundary(part: &FilePart, boundary: &str) -> Vec<u8> {
    let head = format!(
        "--{boundary}\r\n\
         Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n\
         Content-Type: {}\r\n\r\n",
        quoted_safe(part.field),
        quoted_safe(part.file_name),
        part.content_type,
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let mut body = Vec::with_capacity(head.len() + part.bytes.len() + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(part.bytes);
    body.extend_from_slice(tail.as_bytes());
    body
}

/// Characters that would end the quoted string or the header line are replaced.
fn quoted_safe(value: &str) -> String {
    value.replace(['"', '\\', '\r', '\n'], "_")
}

fn random_boundary() -> String {
    // Uniqueness is all a boundary needs, and `form_data` checks it.
    format!("zatan-{}", crate::digest::hex(&random16()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(bytes: &[u8]) -> FilePart<'_> {
        FilePart { field: "media", file_name: "cat.png", content_type: "image/png", bytes }
    }

    #[test]
    fn body_has_one_file_part_named_media() {
        let body = body_with_boundary(&part(b"PNGDATA"), "BOUNDARY");
        let expected = "--BOUNDARY\r\n\
             Content-Disposition: form-data; name=\"media\"; filename=\"cat.png\"\r\n\
             Content-Type: image/png\r\n\r\n\
             PNGDATA\r\n--BOUNDARY--\r\n";
        assert_eq!(String::from_utf8(body).unwrap(), expected);
    }

    #[test]
    fn content_type_names_the_boundary_used_in_the_body() {
        let (body, content_type) = form_data(&part(&[0, 1, 2, 255]));
        let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        assert!(body.starts_with(format!("--{boundary}\r\n").as_bytes()));
        assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
        assert!(
            boundary.len() > 20 && boundary.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        );
    }

    #[test]
    fn boundaries_are_random() {
        assert_ne!(random_boundary(), random_boundary());
    }

    #[test]
    fn file_names_cannot_break_the_header() {
        let mut p = part(b"x");
        p.file_name = "a\"b\r\nX-Evil: 1.png";
        let body = String::from_utf8(body_with_boundary(&p, "B")).unwrap();
        assert!(body.contains("filename=\"a_b__X-Evil: 1.png\"\r\n"), "{body}");
    }

    #[test]
    fn finds_a_boundary_inside_data() {
        assert!(contains(b"xx--zatan-ab", b"zatan-ab"));
        assert!(!contains(b"zatan", b"zatan-ab"));
    }
}
