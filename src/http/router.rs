//! The routing table: which handler answers which method and path.

use super::request::Request;
use super::response::Response;

type Handler = Box<dyn Fn(&Request) -> Response + Send + Sync>;

enum PathMatch {
    Exact(String),
    Prefix(String),
}

impl PathMatch {
    /// How well `path` matches: `None` if not at all; a longer match is a
    /// better one, and an exact match beats any prefix.
    fn score(&self, path: &str) -> Option<usize> {
        match self {
            PathMatch::Exact(exact) => (exact == path).then_some(usize::MAX),
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()).then_some(prefix.len()),
        }
    }

    fn pattern(&self) -> &str {
        match self {
            PathMatch::Exact(pattern) | PathMatch::Prefix(pattern) => pattern,
        }
    }

    fn same_as(&self, other: &PathMatch) -> bool {
        matches!(
            (self, other),
            (PathMatch::Exact(a), PathMatch::Exact(b)) | (PathMatch::Prefix(a), PathMatch::Prefix(b))
                if a == b
        )
    }
}

struct Route {
    method: String,
    path: PathMatch,
    handler: Handler,
}

/// The one routing table of the server. Built once at start-up.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `method` on exactly `path`.
    ///
    /// # Panics
    /// If `path` does not start with `/` or the same method and path are
    /// already routed: both are mistakes in the program, found at start-up.
    pub fn route(
        self,
        method: &str,
        path: &str,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.add(method, PathMatch::Exact(path.to_owned()), Box::new(handler))
    }

    /// Routes `method` on every path that starts with `prefix`, such as
    /// `"/articles/"`. A longer prefix wins over a shorter one, and an exact
    /// route over any prefix.
    ///
    /// # Panics
    /// As [`Router::route`].
    pub fn route_prefix(
        self,
        method: &str,
        prefix: &str,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.add(method, PathMatch::Prefix(prefix.to_owned()), Box::new(handler))
    }

    fn add(mut self, method: &str, path: PathMatch, handler: Handler) -> Self {
        assert!(
            path.pattern().starts_with('/'),
            "route {method} {:?}: a path must start with '/'",
            path.pattern()
        );
        assert!(
            !self.routes.iter().any(|r| r.method == method && r.path.same_as(&path)),
            "route {method} {:?} is registered twice",
            path.pattern()
        );
        self.routes.push(Route { method: method.to_owned(), path, handler });
        self
    }

    /// Answers `req`: 404 when no route matches the path, 405 with an `Allow`
    /// header when routes match the path but none has the method. A HEAD
    /// request without a HEAD route goes to the GET handler; its body is
    /// returned as is, and the server sends the length without the body.
    pub fn dispatch(&self, req: &Request) -> Response {
        let on_path = || {
            self.routes
                .iter()
                .filter_map(|route| route.path.score(&req.path).map(|score| (score, route)))
        };
        let best_for = |method: &str| {
            on_path()
                .filter(|(_, route)| route.method == method)
                .max_by_key(|(score, _)| *score)
                .map(|(_, route)| route)
        };
        let route = best_for(&req.method).or_else(|| {
            if req.method == "HEAD" {
                best_for("GET")
            } else {
                None
            }
        });
        if let Some(route) = route {
            return (route.handler)(req);
        }

        let mut allowed: Vec<&str> = on_path().map(|(_, route)| route.method.as_str()).collect();
        if allowed.is_empty() {
            return Response::text(404, "not found");
        }
        if allowed.contains(&"GET") {
            allowed.push("HEAD");
        }
        allowed.sort_unstable();
        allowed.dedup();
        Response::text(405, "method not allowed").with_header("Allow", &allowed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            peer: None,
        }
    }

    fn router() -> Router {
        Router::new()
            .route("GET", "/wx", |_| Response::text(200, "get wx"))
            .route("POST", "/wx", |_| Response::text(200, "post wx"))
            .route_prefix("GET", "/articles/", |r| {
                Response::text(200, format!("article {}", r.path))
            })
            .route_prefix("GET", "/articles/special/", |_| Response::text(200, "special"))
            .route("GET", "/articles/index", |_| Response::text(200, "index"))
            .route("DELETE", "/articles/index", |_| Response::text(200, "deleted"))
    }

    fn body(response: &Response) -> &str {
        std::str::from_utf8(&response.body).unwrap()
    }

    #[test]
    fn routes_by_method_and_exact_path() {
        assert_eq!(body(&router().dispatch(&request("GET", "/wx"))), "get wx");
        assert_eq!(body(&router().dispatch(&request("POST", "/wx"))), "post wx");
    }

    #[test]
    fn most_specific_route_wins() {
        let router = router();
        assert_eq!(body(&router.dispatch(&request("GET", "/articles/a"))), "article /articles/a");
        assert_eq!(body(&router.dispatch(&request("GET", "/articles/special/x"))), "special");
        assert_eq!(body(&router.dispatch(&request("GET", "/articles/index"))), "index");
    }

    #[test]
    fn unknown_path_is_404() {
        assert_eq!(router().dispatch(&request("GET", "/nope")).status, 404);
        assert_eq!(router().dispatch(&request("GET", "/articles")).status, 404);
    }

    #[test]
    fn wrong_method_is_405_listing_the_allowed_ones() {
        let response = router().dispatch(&request("PUT", "/wx"));
        assert_eq!(response.status, 405);
        let allow = response.headers.iter().find(|(k, _)| k == "Allow").unwrap();
        assert_eq!(allow.1, "GET, HEAD, POST");
        let response = router().dispatch(&request("POST", "/articles/index"));
        let allow = response.headers.iter().find(|(k, _)| k == "Allow").unwrap();
        assert_eq!(allow.1, "DELETE, GET, HEAD");
    }

    #[test]
    fn head_falls_back_to_get() {
        let response = router().dispatch(&request("HEAD", "/wx"));
        assert_eq!((response.status, body(&response)), (200, "get wx"));
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn duplicate_routes_are_refused() {
        let _ = Router::new()
            .route("GET", "/a", |_| Response::new(200))
            .route("GET", "/a", |_| Response::new(200));
    }

    #[test]
    #[should_panic(expected = "must start with '/'")]
    fn relative_paths_are_refused() {
        let _ = Router::new().route_prefix("GET", "articles/", |_| Response::new(200));
    }
}
