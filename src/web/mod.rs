//! The web application: the one routing table of the HTTP front and the
//! handlers behind it (the WeChat callback, the article pages and pictures,
//! the book pages and downloads, the OPDS catalog).
//! They run on the front's coroutines: fast, in memory, no network calls.

mod articles;
pub mod books;
mod callback;
pub mod opds;
mod opds_feed;
mod reply_cache;

use std::sync::Arc;

pub use books::BookPages;
pub use callback::Callback;
pub use opds::Opds;

use crate::articles::Articles;
use crate::config::Config;
use crate::http::{Response, Router};

/// The one routing table of the HTTP front.
pub fn router(
    config: &Config,
    callback: Arc<Callback>,
    index: Articles,
    books: Option<BookPages>,
    opds: Option<Opds>,
) -> Router {
    let path = config.server.callback_path.as_str();
    let get = callback.clone();
    let pictures_dir = config.pictures.dir.clone();
    let router = Router::new()
        .route("GET", path, move |req| get.verify(req))
        .route("POST", path, move |req| callback.receive(req))
        .route("GET", "/healthz", |_| Response::text(200, "ok\n"))
        .route("GET", "/articles", |_| {
            Response::text(301, "/articles/\n").with_header("Location", "/articles/")
        })
        .route_prefix("GET", "/articles/", move |req| articles::articles(&index.snapshot(), req))
        .route_prefix("GET", "/pictures/", move |req| articles::picture(&pictures_dir, req));
    let router = match books {
        Some(books) => router.route_prefix("GET", "/books/", move |req| books.answer(req)),
        None => router,
    };
    match opds.map(Arc::new) {
        Some(opds) => {
            let root = opds.clone();
            router.route("GET", "/opds", move |req| root.answer(req)).route_prefix(
                "GET",
                "/opds/",
                move |req| opds.answer(req),
            )
        }
        None => router,
    }
}
