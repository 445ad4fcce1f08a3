//! `/books/`: what a signed download link opens. `/books/{ID}?t=TOKEN` is the
//! book's phone page, `/books/{ID}/cover?t=` its cover (from the EPUB),
//! `/books/{ID}/file.{ext}?t=` one of its files, streamed from `books.dir`
//! with byte ranges. Books are found by id in the published catalog, never
//! by a path from the request. A bad token gets a 403 page that says to ask
//! again; the token itself is never logged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::articles::front_matter::is_plain_file_name;
use crate::articles::page::frame;
use crate::book_format::Format;
use crate::clock::unix_now;
use crate::http::{encode_path_segment, file_response, Request, Response};
use crate::library::links::{LinkRefused, LinkSigner};
use crate::library::{Book, BookFile, SharedCatalog};
use crate::text::human_size;
use crate::xml::escape;

use super::articles::not_found;

/// A token in the URL must not leak to another site, nor stay in a cache.
const PRIVATE: &str = "private, no-store";

/// What the book pages read: the catalog, the signer and the directory.
pub struct BookPages {
    pub catalog: SharedCatalog,
    pub signer: Arc<LinkSigner>,
    pub dir: PathBuf,
    pub covers: Arc<Covers>,
}

/// Which EPUB has a cover (and of what type), by content hash: a page or a
/// feed asks again and again, and opening the zip each time would be waste.
#[derive(Default)]
pub struct Covers(Mutex<HashMap<String, Option<&'static str>>>);

impl Covers {
    /// The cover of `book`'s EPUB: its bytes and type, None without one.
    pub fn read(&self, dir: &Path, book: &Book) -> Option<(Vec<u8>, &'static str)> {
        let epub = epub_of(book)?;
        let path = file_path(dir, epub)?;
        let cover = crate::ebook::read_cover(&path).ok().flatten();
        self.lock().insert(epub.hash.clone(), cover.as_ref().map(|(_, kind)| *kind));
        cover
    }

    /// The media type of `book`'s cover, None without one; the EPUB is read
    /// only the first time.
    pub fn kind(&self, dir: &Path, book: &Book) -> Option<&'static str> {
        let epub = epub_of(book)?;
        if let Some(known) = self.lock().get(&epub.hash) {
            return *known;
        }
        self.read(dir, book).map(|(_, kind)| kind)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<&'static str>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn epub_of(book: &Book) -> Option<&BookFile> {
    book.files.iter().find(|f| f.format == "epub")
}

/// A book file's place in `books.dir`: its stored name, which must be a plain
/// name (no `/`, no `..`), so nothing outside the directory is reachable.
pub fn file_path(dir: &Path, file: &BookFile) -> Option<PathBuf> {
    is_plain_file_name(&file.name).then(|| dir.join(&file.name))
}

/// What a path under `/books/{ID}` asks for.
#[derive(Debug, PartialEq, Eq)]
enum Part<'a> {
    Page,
    Cover,
    File(&'a str),
}

fn parse(path: &str) -> Option<(&str, Part<'_>)> {
    let rest = path.strip_prefix("/books/")?;
    let (id, part) = match rest.split_once('/') {
        None => (rest, Part::Page),
        Some((id, "cover")) => (id, Part::Cover),
        Some((id, file)) => (id, Part::File(file.strip_prefix("file.")?)),
    };
    (!id.is_empty()).then_some((id, part))
}

impl BookPages {
    /// `GET /books/...`.
    pub fn answer(&self, req: &Request) -> Response {
        let Some((id, part)) = parse(&req.path) else { return not_found() };
        let catalog = self.catalog.snapshot();
        let Some(book) = catalog.get(id) else { return not_found() };
        let token = req.query_param("t").unwrap_or("");
        let openid = match self.signer.verify(&book.id, token, unix_now()) {
            Ok(openid) => openid,
            Err(why) => return refused(book, why),
        };
        match part {
            Part::Page => self.page(req, book, token),
            Part::Cover => cover_response(&self.covers, &self.dir, book),
            Part::File(ext) => download(req, &self.dir, book, ext, &openid),
        }
    }

    fn page(&self, req: &Request, book: &Book, token: &str) -> Response {
        // A verified token holds only base64url letters, digits and dots.
        let query = escape(&format!("?t={token}"));
        let base = format!("/books/{}", encode_path_segment(&book.id));
        let mut body = format!("<h1>{}</h1>\n", escape(&book.title));
        if req.header("User-Agent").is_some_and(|ua| ua.contains("MicroMessenger")) {
            body.push_str(
                "<p class=\"notice\" id=\"wechat-hint\">微信里无法保存电子书：请点右上角 <b>···</b>，\
                 选「<b>在浏览器打开</b>」，再在浏览器里点下载。</p>\n",
            );
        }
        body.push_str(&format!(
            "<p class=\"meta\">作者：{}<br>语言：{}</p>\n",
            escape(book.author.as_deref().unwrap_or("不详")),
            escape(&book.lang)
        ));
        if self.covers.kind(&self.dir, book).is_some() {
            body.push_str(&format!(
                "<img class=\"book-cover\" src=\"{base}/cover{query}\" alt=\"封面\">\n"
            ));
        }
        for file in &book.files {
            body.push_str(&format!(
                "<a class=\"button\" href=\"{base}/file.{ext}{query}\" download>下载 {upper}（{size}）</a>\n",
                ext = escape(&file.format),
                upper = escape(&file.format.to_uppercase()),
                size = human_size(file.size),
            ));
        }
        body.push_str(&format!(
            "<p class=\"meta\">链接只给你用；过期后在公众号里再发一次「下载 {}」。</p>\n",
            escape(&book.id)
        ));
        let description = format!("《{}》下载", book.title);
        Response::html(200, frame(&book.title, &description, &body))
            .with_header("Cache-Control", PRIVATE)
            .with_header("Referrer-Policy", "no-referrer")
    }
}

/// The cover of `book` as an image response, or the 404 page.
pub fn cover_response(covers: &Covers, dir: &Path, book: &Book) -> Response {
    match covers.read(dir, book) {
        Some((bytes, kind)) => Response { body: bytes, ..Response::new(200) }
            .with_header("Content-Type", kind)
            .with_header("Cache-Control", PRIVATE),
        None => not_found(),
    }
}

/// The book's file in format `ext` as a download for `to` (who is
/// logged with the book and the bytes): streamed, with ranges, typed by its
/// format and named after the book. The site's 404 when it is not there.
pub fn download(req: &Request, dir: &Path, book: &Book, ext: &str, to: &str) -> Response {
    let Some(file) = book.files.iter().find(|f| f.format == ext) else { return not_found() };
    let (Some(format), Some(path)) = (Format::from_name(&file.format), file_path(dir, file)) else {
        return not_found();
    };
    match file_response(req, &path, format.mime_type()) {
        Ok(response) => {
            log::info!(
                "download: book {} ({}) {ext} to {to}: {} {} bytes",
                book.id,
                book.title,
                response.status,
                response.body_len()
            );
            response
                .with_header("Content-Disposition", &attachment(&book.title, &book.id, format))
                .with_header("X-Content-Type-Options", "nosniff")
                .with_header("Cache-Control", PRIVATE)
        }
        Err(e) => {
            log::error!("cannot serve {} of book {}: {e}", path.display(), book.id);
            not_found()
        }
    }
}

/// `attachment; filename="ID.ext"; filename*=UTF-8''书名.ext` (RFC 6266): the
/// ASCII fallback for old clients, the book's own name for the rest.
fn attachment(title: &str, id: &str, format: Format) -> String {
    let name = format!("{}.{}", crate::fsutil::safe_name(title).trim(), format.extension());
    let encoded = encode_path_segment(&name);
    let fallback: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!(
        "attachment; filename=\"{fallback}.{}\"; filename*=UTF-8''{encoded}",
        format.extension()
    )
}

/// 403: the link is no good; the page says what to do.
fn refused(book: &Book, why: LinkRefused) -> Response {
    let (title, reason) = match why {
        LinkRefused::Expired => ("链接已过期", "这个下载链接已经过期。"),
        LinkRefused::Invalid => ("链接无效", "这个下载链接无效（不完整，或不是这本书的）。"),
    };
    let body = format!(
        "<h1>{title}</h1>\n<p>{reason}</p>\n<p class=\"notice\">请回到公众号，再发一次「下载 {id}」，会收到新的链接。</p>\n",
        id = escape(&book.id)
    );
    Response::html(403, frame(title, "", &body)).with_header("Cache-Control", PRIVATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_page_a_cover_or_a_file_and_nothing_else() {
        assert_eq!(parse("/books/k3xq7a"), Some(("k3xq7a", Part::Page)));
        assert_eq!(parse("/books/k3xq7a/cover"), Some(("k3xq7a", Part::Cover)));
        assert_eq!(parse("/books/k3xq7a/file.epub"), Some(("k3xq7a", Part::File("epub"))));
        assert_eq!(parse("/books/k3xq7a/../../etc/passwd"), None);
        assert_eq!(parse("/books/"), None);
        assert_eq!(parse("/books/a/b"), None);
    }

    #[test]
    fn the_attachment_name_is_rfc_6266() {
        assert_eq!(
            attachment("三体", "k3xq7a", Format::Epub),
            "attachment; filename=\"k3xq7a.epub\"; filename*=UTF-8''%E4%B8%89%E4%BD%93.epub"
        );
        let odd = attachment("a \"b\"; c", "x", Format::Txt);
        let encoded = odd.split("''").nth(1).unwrap();
        assert!(encoded.ends_with(".txt") && !encoded.contains([' ', '"', ';']), "{odd}");
    }
}
