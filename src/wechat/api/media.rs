//! Images for temporary media and permanent material: what WeChat accepts,
//! and the JSON it answers.

use serde_json::Value;

use super::error::ApiError;
use super::response::{required_str, required_u64};

/// WeChat's size limit for an image (temporary media and permanent material).
pub const IMAGE_MAX_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Image,
}

impl MediaType {
    /// The `type` query parameter.
    pub(super) fn as_param(self) -> &'static str {
        match self {
            MediaType::Image => "image",
        }
    }
}

/// A temporary media upload; WeChat keeps it for 3 days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempMedia {
    pub media_id: String,
    /// Unix seconds, WeChat's clock.
    pub created_at: u64,
}

/// A permanent material upload (verified accounts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    pub media_id: String,
    pub url: String,
}

/// An image format WeChat takes, with the extension that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ImageFormat {
    pub content_type: &'static str,
    extensions: &'static [&'static str],
}

const JPEG: ImageFormat = ImageFormat { content_type: "image/jpeg", extensions: &["jpg", "jpeg"] };
const PNG: ImageFormat = ImageFormat { content_type: "image/png", extensions: &["png"] };
const GIF: ImageFormat = ImageFormat { content_type: "image/gif", extensions: &["gif"] };

/// The content type of an image WeChat accepts: by its first bytes, else by
/// the file name's extension. `None` for anything else.
pub fn image_content_type(file_name: &str, bytes: &[u8]) -> Option<&'static str> {
    image_format(file_name, bytes).map(|f| f.content_type)
}

fn image_format(file_name: &str, bytes: &[u8]) -> Option<ImageFormat> {
    by_magic(bytes).or_else(|| by_extension(file_name))
}

fn by_magic(bytes: &[u8]) -> Option<ImageFormat> {
    let content_type = crate::sniff::image_type(bytes)?;
    [JPEG, PNG, GIF].into_iter().find(|f| f.content_type == content_type)
}

fn by_extension(file_name: &str) -> Option<ImageFormat> {
    let ext = extension(file_name)?.to_ascii_lowercase();
    [JPEG, PNG, GIF].into_iter().find(|f| f.extensions.contains(&ext.as_str()))
}

fn extension(file_name: &str) -> Option<&str> {
    file_name.rsplit_once('.').map(|(_, ext)| ext)
}

/// Checks an image before upload; the format and the file name to send.
pub(super) fn prepare_image(
    file_name: &str,
    bytes: &[u8],
) -> Result<(ImageFormat, String), ApiError> {
    let format = image_format(file_name, bytes).ok_or_else(|| {
        ApiError::Invalid(format!("{file_name:?} is not a JPEG, PNG or GIF image"))
    })?;
    check_size(file_name, bytes, IMAGE_MAX_BYTES)?;
    Ok((format, upload_name(file_name, format)))
}

/// Checks an image for inside an article: JPEG or PNG only (by content when
/// it can be told), at most `max_bytes`.
pub(super) fn prepare_article_image(
    file_name: &str,
    bytes: &[u8],
    max_bytes: usize,
) -> Result<(ImageFormat, String), ApiError> {
    let format = image_format(file_name, bytes).filter(|f| *f != GIF).ok_or_else(|| {
        ApiError::Invalid(format!(
            "{file_name:?} is not a JPEG or PNG image (WeChat takes only those inside an article)"
        ))
    })?;
    check_size(file_name, bytes, max_bytes)?;
    Ok((format, upload_name(file_name, format)))
}

fn check_size(file_name: &str, bytes: &[u8], max_bytes: usize) -> Result<(), ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::Invalid(format!("{file_name:?} is empty")));
    }
    if bytes.len() > max_bytes {
        return Err(ApiError::Invalid(format!(
            "{file_name:?} has {} bytes, WeChat takes images up to {max_bytes}",
            bytes.len()
        )));
    }
    Ok(())
}

/// WeChat judges the file type by the file name too (40005 when it has no
/// image extension), so a name without the right one gets it appended.
fn upload_name(file_name: &str, format: ImageFormat) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let base = if base.is_empty() { "image" } else { base };
    let has_extension = extension(base)
        .is_some_and(|ext| format.extensions.contains(&ext.to_ascii_lowercase().as_str()));
    if has_extension {
        base.to_owned()
    } else {
        format!("{base}.{}", format.extensions[0])
    }
}

/// `{"type":"image","media_id":"..","created_at":1234567890}`
pub(super) fn parse_temp_media(body: &Value) -> Result<TempMedia, ApiError> {
    Ok(TempMedia {
        media_id: non_empty(required_str(body, "media_id")?, "media_id")?,
        created_at: required_u64(body, "created_at")?,
    })
}

/// `{"media_id":"..","url":".."}`
pub(super) fn parse_material(body: &Value) -> Result<Material, ApiError> {
    Ok(Material {
        media_id: non_empty(required_str(body, "media_id")?, "media_id")?,
        url: required_str(body, "url")?.to_owned(),
    })
}

fn non_empty(value: &str, field: &str) -> Result<String, ApiError> {
    if value.is_empty() {
        return Err(ApiError::BadResponse(format!("empty {field}")));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PNG_BYTES: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn content_type_comes_from_magic_first() {
        assert_eq!(image_content_type("a.png", b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(image_content_type("a", PNG_BYTES), Some("image/png"));
        assert_eq!(image_content_type("a.jpg", b"GIF89a..."), Some("image/gif"));
        assert_eq!(image_content_type("a.gif", b"GIF87a..."), Some("image/gif"));
    }

    #[test]
    fn content_type_falls_back_to_the_extension() {
        assert_eq!(image_content_type("cat.JPEG", b"??"), Some("image/jpeg"));
        assert_eq!(image_content_type("cat.jpg", b"??"), Some("image/jpeg"));
        assert_eq!(image_content_type("cat.Png", b"??"), Some("image/png"));
        assert_eq!(image_content_type("notes.txt", b"hello"), None);
        assert_eq!(image_content_type("noext", b"hello"), None);
    }

    #[test]
    fn prepare_refuses_non_images_empty_and_oversized_files() {
        assert!(matches!(prepare_image("a.txt", b"hello"), Err(ApiError::Invalid(_))));
        assert!(matches!(prepare_image("a.png", b""), Err(ApiError::Invalid(_))));
        let mut big = PNG_BYTES.to_vec();
        big.resize(IMAGE_MAX_BYTES + 1, 0);
        assert!(matches!(prepare_image("a.png", &big), Err(ApiError::Invalid(_))));
        big.truncate(IMAGE_MAX_BYTES);
        assert!(prepare_image("a.png", &big).is_ok());
    }

    #[test]
    fn article_images_are_jpeg_or_png_up_to_the_limit() {
        assert!(prepare_article_image("a.png", PNG_BYTES, 100).is_ok());
        assert!(prepare_article_image("a.gif", b"GIF89a...", 100).is_err());
        assert!(prepare_article_image("a.png", b"GIF89a...", 100).is_err(), "by content first");
        assert!(prepare_article_image("a.webp", b"RIFF\0\0\0\0WEBPVP8 ", 100).is_err());
        let err =
            prepare_article_image("a.png", &[PNG_BYTES, &[0; 100]].concat(), 100).unwrap_err();
        assert!(err.to_string().contains("up to 100"), "{err}");
    }

    #[test]
    fn upload_name_carries_the_right_extension() {
        let name = |n: &str, bytes: &[u8]| prepare_image(n, bytes).unwrap().1;
        assert_eq!(name("cat.png", PNG_BYTES), "cat.png");
        assert_eq!(name("cat", PNG_BYTES), "cat.png");
        assert_eq!(name("cat.jpg", PNG_BYTES), "cat.jpg.png");
        assert_eq!(name("dir/sub/Cat.JPEG", b"\xFF\xD8\xFF"), "Cat.JPEG");
        assert_eq!(name("dir/", b"GIF89a"), "image.gif");
    }

    #[test]
    fn parses_upload_answers() {
        let media =
            parse_temp_media(&json!({"type": "image", "media_id": "M", "created_at": 1700000000}))
                .unwrap();
        assert_eq!(media, TempMedia { media_id: "M".into(), created_at: 1700000000 });
        let material =
            parse_material(&json!({"media_id": "M", "url": "http://mmbiz.qpic.cn/x"})).unwrap();
        assert_eq!(
            material,
            Material { media_id: "M".into(), url: "http://mmbiz.qpic.cn/x".into() }
        );
        assert!(parse_temp_media(&json!({"media_id": "", "created_at": 1})).is_err());
        assert!(parse_temp_media(&json!({"media_id": "M"})).is_err());
        assert!(parse_material(&json!({"url": "u"})).is_err());
    }
}
