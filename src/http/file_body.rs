//! Files as response bodies: a region of an open file that the connection
//! streams from disk in chunks of `Limits::file_chunk_bytes` (so a 300 MB
//! book costs one chunk of memory), and [`file_response`], which answers a
//! GET or HEAD for a file with validators and byte ranges (RFC 9110 §14).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use super::conditional::{cacheable, http_date, not_modified};
use super::request::Request;
use super::response::Response;

/// `len` bytes of `file` from `offset`, read when the response is written.
#[derive(Debug, Clone)]
pub struct FileBody {
    file: Arc<File>,
    offset: u64,
    len: u64,
}

impl FileBody {
    pub fn new(file: File, offset: u64, len: u64) -> Self {
        FileBody { file: Arc::new(file), offset, len }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the region through `buf`, chunk by chunk, handing each chunk to
    /// `write`. A file that shrank under us is an error: the length was
    /// already promised, so the connection must end.
    pub(crate) fn stream(
        &self,
        buf: &mut [u8],
        mut write: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut sent = 0u64;
        while sent < self.len {
            let want = (self.len - sent).min(buf.len() as u64) as usize;
            let n = self.file.read_at(&mut buf[..want], self.offset + sent)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was being sent",
                ));
            }
            write(&buf[..n])?;
            sent += n as u64;
        }
        Ok(())
    }
}

/// Two bodies are the same when they send the same region of the same open file.
impl PartialEq for FileBody {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && self.offset == other.offset && self.len == other.len
    }
}

impl Eq for FileBody {}

/// An ETag that changes whenever the file is rewritten, without hashing it
/// (like nginx's: modification time and size), and the modification time in
/// Unix seconds.
pub fn file_validators(meta: &std::fs::Metadata) -> (String, u64) {
    let modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    let (secs, nanos) = modified.map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()));
    (format!("\"{secs:x}{nanos:08x}-{:x}\"", meta.len()), secs)
}

/// The answer to a GET or HEAD of the file at `path`, served as
/// `content_type`: 200 with the whole file, 206 with one byte range
/// (`Range: bytes=a-b`, `a-`, `-n`), 416 when the range starts past the
/// end, 304 when the client holds this version. `If-Range` that names another
/// version gets the whole file. A Range the server cannot use (several
/// ranges, bad syntax) is ignored, as RFC 9110 allows. Errors are the
/// file's own (not found, not readable).
pub fn file_response(req: &Request, path: &Path, content_type: &str) -> io::Result<Response> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "not a regular file"));
    }
    let size = meta.len();
    let (etag, modified) = file_validators(&meta);
    let base = Response::new(200)
        .with_header("Content-Type", content_type)
        .with_header("Accept-Ranges", "bytes");
    if not_modified(req, &etag, modified) {
        return Ok(cacheable(req, base, &etag, modified));
    }
    let range = req
        .header("Range")
        .filter(|_| if_range_holds(req, &etag, modified))
        .and_then(|value| parse_range(value, size));
    let response = match range {
        None => base.with_file(FileBody::new(file, 0, size)),
        Some(Err(Unsatisfiable)) => Response::text(416, "range not satisfiable\n")
            .with_header("Content-Range", &format!("bytes */{size}")),
        Some(Ok((first, last))) => {
            let mut response = base
                .with_header("Content-Range", &format!("bytes {first}-{last}/{size}"))
                .with_file(FileBody::new(file, first, last - first + 1));
            response.status = 206;
            response
        }
    };
    Ok(cacheable(req, response, &etag, modified))
}

/// `If-Range` absent, or naming this version (a strong ETag match, or the
/// exact modification date).
fn if_range_holds(req: &Request, etag: &str, modified: u64) -> bool {
    match req.header("If-Range").map(str::trim) {
        None => true,
        Some(tag) if tag.starts_with('"') => tag == etag,
        Some(date) => date == http_date(modified),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Unsatisfiable;

/// One byte range of a `size`-byte representation as (first, last)
/// inclusive; None for a header to ignore.
fn parse_range(value: &str, size: u64) -> Option<Result<(u64, u64), Unsatisfiable>> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    if first.trim().is_empty() {
        let suffix = number(last)?;
        if suffix == 0 || size == 0 {
            return Some(Err(Unsatisfiable));
        }
        return Some(Ok((size.saturating_sub(suffix), size - 1)));
    }
    let first = number(first)?;
    let last = match last.trim() {
        "" => u64::MAX,
        last => number(last)?,
    };
    if last < first {
        return None;
    }
    if first >= size {
        return Some(Err(Unsatisfiable));
    }
    Some(Ok((first, last.min(size - 1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=90-200", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-500", 100), Some(Ok((0, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(Unsatisfiable)));
        assert_eq!(parse_range("bytes=-0", 100), Some(Err(Unsatisfiable)));
        assert_eq!(parse_range("bytes=0-", 0), Some(Err(Unsatisfiable)));
        for ignored in
            ["items=0-9", "bytes=9-0", "bytes=a-b", "bytes=0-1,5-6", "bytes=", "bytes=+1-2"]
        {
            assert_eq!(parse_range(ignored, 100), None, "{ignored}");
        }
    }

    #[test]
    fn a_body_streams_its_region_in_chunks() {
        let dir = crate::temp_dir::TempDir::new("file-body");
        let path = dir.path().join("f");
        let content: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let body = FileBody::new(File::open(&path).unwrap(), 10, 500);
        let mut chunks = Vec::new();
        body.stream(&mut [0; 64], |chunk| {
            chunks.push(chunk.to_vec());
            Ok(())
        })
        .unwrap();
        assert!(chunks.iter().all(|c| c.len() <= 64));
        assert_eq!(chunks.concat(), &content[10..510]);
        let past_end = FileBody::new(File::open(&path).unwrap(), 900, 200);
        assert!(past_end.stream(&mut [0; 64], |_| Ok(())).is_err());
    }
}
