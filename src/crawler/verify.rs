//! Is a downloaded file the kind of book it claims to be? A look at its
//! first bytes, before the library reads it whole (the library then refuses
//! what its readers cannot open: zip bombs, DRM, binary "text").

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::book_format::Format;

const EPUB_MIMETYPE: &[u8] = b"application/epub+zip";

/// Check the head of the file at `path` against `format`; why not, when not.
pub fn verify(path: &Path, format: Format) -> Result<(), String> {
    let mut head = Vec::with_capacity(128);
    File::open(path)
        .and_then(|f| f.take(128).read_to_end(&mut head))
        .map_err(|e| format!("cannot read the download: {e}"))?;
    match format {
        Format::Epub => epub_head(&head),
        Format::Mobi | Format::Azw3 if head.get(60..68) != Some(b"BOOKMOBI") => {
            Err(format!("not a {format} file (no BOOKMOBI signature)"))
        }
        Format::Mobi | Format::Azw3 | Format::Txt if head.is_empty() => Err("empty".into()),
        Format::Mobi | Format::Azw3 | Format::Txt => Ok(()),
    }
}

/// An EPUB starts with a stored zip entry named `mimetype` holding
/// `application/epub+zip` (OCF 3.0 §4.3).
fn epub_head(head: &[u8]) -> Result<(), String> {
    if !head.starts_with(b"PK\x03\x04") {
        return Err("not an EPUB (not a zip archive)".into());
    }
    let u16_at =
        |at: usize| head.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let (Some(method), Some(name_len), Some(extra_len)) = (u16_at(8), u16_at(26), u16_at(28))
    else {
        return Err("not an EPUB (truncated zip header)".into());
    };
    let name = head.get(30..30 + name_len);
    let content_at = 30 + name_len + extra_len;
    let content = head.get(content_at..content_at + EPUB_MIMETYPE.len());
    if method != 0 || name != Some(b"mimetype") || content != Some(EPUB_MIMETYPE) {
        return Err("not an EPUB (the first zip entry is not an uncompressed `mimetype` of application/epub+zip)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;
    use std::io::Write;

    fn temp(dir: &TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn zip(first: &str, method: zip::CompressionMethod, content: &[u8]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        writer.start_file(first, options).unwrap();
        writer.write_all(content).unwrap();
        writer.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn epub_heads() {
        let good = zip("mimetype", zip::CompressionMethod::Stored, EPUB_MIMETYPE);
        assert!(epub_head(&good[..128.min(good.len())]).is_ok());
        let deflated = zip("mimetype", zip::CompressionMethod::Deflated, &EPUB_MIMETYPE.repeat(4));
        assert!(epub_head(&deflated).is_err());
        assert!(epub_head(&zip("other", zip::CompressionMethod::Stored, EPUB_MIMETYPE)).is_err());
        assert!(epub_head(&zip("mimetype", zip::CompressionMethod::Stored, b"application/zip"))
            .is_err());
        assert!(epub_head(b"<html>not found</html>").unwrap_err().contains("not a zip"));
        assert!(epub_head(b"PK\x03\x04").is_err());
    }

    #[test]
    fn files_that_lie_about_their_format_are_refused() {
        let dir = TempDir::new("verify");
        let html = temp(&dir, "page.epub", b"<html><body>Please log in</body></html>");
        assert!(verify(&html, Format::Epub).unwrap_err().contains("not an EPUB"));
        let good = temp(
            &dir,
            "good.epub",
            &zip("mimetype", zip::CompressionMethod::Stored, EPUB_MIMETYPE),
        );
        assert_eq!(verify(&good, Format::Epub), Ok(()));
        let fake_mobi = temp(&dir, "fake.mobi", &[0u8; 200]);
        assert!(verify(&fake_mobi, Format::Mobi).unwrap_err().contains("BOOKMOBI"));
        let mut mobi = vec![0u8; 200];
        mobi[60..68].copy_from_slice(b"BOOKMOBI");
        assert_eq!(verify(&temp(&dir, "real.azw3", &mobi), Format::Azw3), Ok(()));
        assert!(verify(&temp(&dir, "empty.txt", b""), Format::Txt).is_err());
        assert_eq!(verify(&temp(&dir, "a.txt", "第一章\n".as_bytes()), Format::Txt), Ok(()));
    }
}
