//! The HTTP side: `/articles/` (the list), `/articles/<slug>` (one article)
//! and `/pictures/<file>` (covers and pictures in articles). Pages come
//! ready-made from the published index; pictures are read from
//! `pictures.dir`, by a name that must be one of the directory's files.

use std::path::Path;

use crate::articles::front_matter::is_plain_file_name;
use crate::articles::{page, Index, Page};
use crate::fsutil::list_files;
use crate::http::{cacheable, file_validators, not_modified, Request, Response};

/// Pages are small and change when the owner edits: the browser asks again
/// every time and gets a 304 while nothing changed.
const PAGE_CACHE: &str = "no-cache";
const PICTURE_CACHE: &str = "public, max-age=3600";
/// A picture is read whole per request; pictures.dir holds what WeChat takes
/// (10 MiB at most), and anything larger is not served.
const PICTURE_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// `GET /articles/...`.
pub fn articles(index: &Index, req: &Request) -> Response {
    let slug = req.path.strip_prefix("/articles/").unwrap_or("");
    if slug.is_empty() {
        return page_response(req, &index.page);
    }
    match index.get(slug) {
        Some(article) => page_response(req, &article.page),
        None => not_found(),
    }
}

fn page_response(req: &Request, page: &Page) -> Response {
    let response = Response::html(200, page.html.clone()).with_header("Cache-Control", PAGE_CACHE);
    cacheable(req, response, &page.etag, page.last_modified)
}

/// The site's 404 page.
pub fn not_found() -> Response {
    Response::html(404, page::not_found()).with_header("Cache-Control", PAGE_CACHE)
}

/// `GET /pictures/<file>`: only a plain name that the directory lists as a
/// regular file (so no `..`, no subdirectory, no hidden file, no symlink out),
/// and only JPEG, PNG or GIF by content.
pub fn picture(dir: &Path, req: &Request) -> Response {
    let name = req.path.strip_prefix("/pictures/").unwrap_or("");
    if !is_plain_file_name(name) {
        let peer = req.peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "?".into());
        log::warn!("refused picture {:?} from {peer}: not a plain file name", name);
        return not_found();
    }
    let listed = match list_files(dir) {
        Ok(files) => files.into_iter().find(|(listed, _)| listed == name),
        Err(e) => {
            log::error!("cannot list pictures.dir {}: {e}", dir.display());
            None
        }
    };
    let Some((_, path)) = listed else { return not_found() };
    let meta = match std::fs::metadata(&path) {
        Ok(meta) if meta.len() <= PICTURE_MAX_BYTES => meta,
        _ => return not_found(),
    };
    let (etag, secs) = file_validators(&meta);
    let headers = |response: Response| {
        response
            .with_header("Cache-Control", PICTURE_CACHE)
            .with_header("X-Content-Type-Options", "nosniff")
    };
    if not_modified(req, &etag, secs) {
        return cacheable(req, headers(Response::new(200)), &etag, secs);
    }
    let Ok(bytes) = std::fs::read(&path) else { return not_found() };
    let Some(content_type) = crate::sniff::image_type(&bytes) else { return not_found() };
    let response =
        Response { body: bytes, ..Response::new(200) }.with_header("Content-Type", content_type);
    cacheable(req, headers(response), &etag, secs)
}
