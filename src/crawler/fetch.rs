//! The crawler's HTTP client over ureq: every request goes through
//! robots.txt (cached per host), the per-host pacing, 429/503 backoff and
//! redirects followed one hop at a time (each hop checked like a first
//! request, credentials only ever sent to the source's own site, never
//! from https down to plain http).

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::politeness::{retry_after, Politeness, Throttle};
use super::robots::Rules;
use crate::clock::unix_now;
use crate::config::Secret;
use crate::digest::hex;
use crate::shutdown::Shutdown;
use crate::url::Url;

type Response = ureq::http::Response<ureq::Body>;

const FEED_TIMEOUT: Duration = Duration::from_secs(60);
/// A whole book download: 50 MB over a slow uplink.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(900);
const ROBOTS_TIMEOUT: Duration = Duration::from_secs(30);
/// RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt.
const ROBOTS_MAX_BYTES: u64 = 512 * 1024;
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// An unreachable robots.txt means "disallow all", but only for a while.
const ROBOTS_UNREACHABLE_TTL: Duration = Duration::from_secs(600);
const MAX_REDIRECTS: usize = 5;
/// Tries of one request that the host throttles (429/503).
const MAX_TRIES: usize = 3;

/// How to treat the source's own site: its credentials, and whether the
/// owner told zatan to ignore its robots.txt (their own server).
pub struct Access {
    pub origin: String,
    pub authorization: Option<Secret>,
    pub ignore_robots: bool,
}

impl Access {
    pub fn new(
        source: &Url,
        username: Option<&str>,
        password: Option<&Secret>,
        ignore_robots: bool,
    ) -> Access {
        use base64::Engine;
        let authorization = username.map(|user| {
            let pair = format!("{user}:{}", password.map(Secret::expose).unwrap_or(""));
            Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
        });
        Access { origin: source.origin(), authorization, ignore_robots }
    }
}

/// A feed's ETag and Last-Modified, sent back as If-None-Match and If-Modified-Since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

pub enum FeedResponse {
    Fresh { bytes: Vec<u8>, validators: Validators, url: Url },
    NotModified,
}

#[derive(Debug)]
pub struct Downloaded {
    pub bytes: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

#[derive(Debug)]
pub enum FetchError {
    /// robots.txt forbids it.
    Disallowed {
        origin: String,
        path: String,
    },
    /// The host asked for a pause longer than the crawler waits.
    Resting {
        origin: String,
        seconds: u64,
    },
    Status {
        status: u16,
        url: String,
    },
    TooLarge {
        limit: u64,
        url: String,
    },
    Network {
        url: String,
        detail: String,
    },
    Redirect {
        url: String,
        detail: String,
    },
    Write(String),
    Cancelled,
}

impl FetchError {
    /// Worth trying again at the next crawl (unlike a refusal or a bad file).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            FetchError::Disallowed { .. }
            | FetchError::TooLarge { .. }
            | FetchError::Redirect { .. } => false,
            _ => true,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Disallowed { origin, path } => {
                write!(f, "robots.txt of {origin} disallows {path}")
            }
            FetchError::Resting { origin, seconds } => {
                write!(f, "{origin} asked to be left alone for {seconds} s; trying again at a later crawl")
            }
            FetchError::Status { status, url } => write!(f, "{url}: HTTP {status}"),
            FetchError::TooLarge { limit, url } => {
                write!(f, "{url} is larger than the {limit}-byte limit")
            }
            FetchError::Network { url, detail } => write!(f, "{url}: {detail}"),
            FetchError::Redirect { url, detail } => write!(f, "{url}: {detail}"),
            FetchError::Write(detail) => write!(f, "cannot write the download: {detail}"),
            FetchError::Cancelled => f.write_str("stopped"),
        }
    }
}

struct CachedRobots {
    rules: Rules,
    until: Instant,
}

/// What one hop asked for.
struct Ask<'a> {
    url: &'a Url,
    accept: &'static str,
    validators: Option<&'a Validators>,
    timeout: Duration,
}

pub struct Client {
    user_agent: String,
    /// The product token robots.txt groups are matched against.
    agent_token: String,
    politeness: Politeness,
    robots: HashMap<String, CachedRobots>,
    /// Every byte of every body read, for the daily budget.
    bytes_read: u64,
}

impl Client {
    pub fn new(user_agent: &str, per_host_delay: Duration) -> Client {
        let agent_token: String = user_agent
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        Client {
            user_agent: user_agent.to_string(),
            agent_token,
            politeness: Politeness::new(per_host_delay),
            robots: HashMap::new(),
            bytes_read: 0,
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// GET a feed, conditionally when `validators` has something; the body
    /// is read whole up to `limit` bytes.
    pub fn get_feed(
        &mut self,
        url: &Url,
        validators: &Validators,
        access: &Access,
        shutdown: &Shutdown,
        limit: u64,
    ) -> Result<FeedResponse, FetchError> {
        let ask = Ask {
            url,
            accept: "application/atom+xml;profile=opds-catalog, application/atom+xml, application/xml;q=0.8, */*;q=0.1",
            validators: Some(validators),
            timeout: FEED_TIMEOUT,
        };
        let (response, url) = self.open(ask, access, shutdown)?;
        let status = response.status().as_u16();
        let result = match status {
            304 => Ok(FeedResponse::NotModified),
            200..=299 => {
                let validators = Validators {
                    etag: header(&response, "etag"),
                    last_modified: header(&response, "last-modified"),
                };
                let mut bytes = Vec::new();
                self.stream(response, &url, limit, shutdown, |chunk| {
                    bytes.extend_from_slice(chunk);
                    Ok(())
                })
                .map(|_| FeedResponse::Fresh {
                    bytes,
                    validators,
                    url: url.clone(),
                })
            }
            _ => Err(FetchError::Status { status, url: url.to_string() }),
        };
        self.politeness.succeeded(&url.origin(), Instant::now());
        result
    }

    /// GET a book into `out`, streaming, at most `limit` bytes: a larger
    /// announced length is refused before the body, a longer body is cut off.
    pub fn download(
        &mut self,
        url: &Url,
        access: &Access,
        shutdown: &Shutdown,
        limit: u64,
        out: &mut dyn Write,
    ) -> Result<Downloaded, FetchError> {
        let ask = Ask { url, accept: "*/*", validators: None, timeout: DOWNLOAD_TIMEOUT };
        let (response, url) = self.open(ask, access, shutdown)?;
        let status = response.status().as_u16();
        let announced =
            header(&response, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let result = if !(200..=299).contains(&status) {
            Err(FetchError::Status { status, url: url.to_string() })
        } else if announced.is_some_and(|length| length > limit) {
            Err(FetchError::TooLarge { limit, url: url.to_string() })
        } else {
            let mut hasher = Sha256::new();
            self.stream(response, &url, limit, shutdown, |chunk| {
                hasher.update(chunk);
                out.write_all(chunk).map_err(|e| FetchError::Write(crate::fsutil::describe_io(&e)))
            })
            .map(|bytes| Downloaded { bytes, sha256: hex(&hasher.finalize()) })
        };
        self.politeness.succeeded(&url.origin(), Instant::now());
        result
    }

    /// Read a body in chunks into `sink`, at most `limit` bytes.
    fn stream(
        &mut self,
        response: Response,
        url: &Url,
        limit: u64,
        shutdown: &Shutdown,
        mut sink: impl FnMut(&[u8]) -> Result<(), FetchError>,
    ) -> Result<u64, FetchError> {
        let mut body = response.into_body().into_reader();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            if shutdown.is_requested() {
                return Err(FetchError::Cancelled);
            }
            let n = body.read(&mut buffer).map_err(|e| FetchError::Network {
                url: url.to_string(),
                detail: format!("reading the body: {e}"),
            })?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            self.bytes_read += n as u64;
            if total > limit {
                return Err(FetchError::TooLarge { limit, url: url.to_string() });
            }
            sink(&buffer[..n])?;
        }
    }

    /// Send `ask`, obeying robots.txt and the pacing, following redirects and
    /// retrying what the host throttles. Returns the answer (its body unread)
    /// and the URL that gave it.
    fn open(
        &mut self,
        ask: Ask,
        access: &Access,
        shutdown: &Shutdown,
    ) -> Result<(Response, Url), FetchError> {
        let mut url = ask.url.clone();
        let (mut hops, mut tries) = (0, 0);
        loop {
            let origin = url.origin();
            let own_site = origin == access.origin;
            let robots_apply = !(own_site && access.ignore_robots);
            if robots_apply && !self.robots_allow(&url, shutdown)? {
                return Err(FetchError::Disallowed { origin, path: url.path_and_query() });
            }
            self.pace(&origin, shutdown)?;
            let mut headers = vec![("Accept", ask.accept)];
            if let Some(validators) = ask.validators {
                if let Some(etag) = &validators.etag {
                    headers.push(("If-None-Match", etag.as_str()));
                }
                if let Some(last_modified) = &validators.last_modified {
                    headers.push(("If-Modified-Since", last_modified.as_str()));
                }
            }
            if let (true, Some(authorization)) = (own_site, &access.authorization) {
                headers.push(("Authorization", authorization.expose()));
            }
            let started = Instant::now();
            let response = self.get(&url, ask.timeout, &headers);
            let now = Instant::now();
            let response = match response {
                Ok(response) => response,
                Err(e) => {
                    self.politeness.finished(&origin, now);
                    return Err(FetchError::Network {
                        url: url.to_string(),
                        detail: e.to_string(),
                    });
                }
            };
            let status = response.status().as_u16();
            log::debug!("GET {url}: HTTP {status} in {} ms", started.elapsed().as_millis());
            match status {
                429 | 503 => {
                    let wait =
                        header(&response, "retry-after").and_then(|v| retry_after(&v, unix_now()));
                    drop(response);
                    tries += 1;
                    match self.politeness.throttled(&origin, now, wait) {
                        Throttle::RetryIn(wait) if tries < MAX_TRIES => {
                            log::info!(
                                "{origin} answered {status}; asking again in {} s",
                                wait.as_secs_f32().ceil()
                            );
                        }
                        Throttle::RetryIn(_) => {
                            return Err(FetchError::Status { status, url: url.to_string() })
                        }
                        Throttle::Rest(until) => {
                            let seconds = until.saturating_duration_since(now).as_secs();
                            return Err(FetchError::Resting { origin, seconds });
                        }
                    }
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = header(&response, "location");
                    drop(response);
                    self.politeness.finished(&origin, now);
                    hops += 1;
                    let target = match location {
                        _ if hops > MAX_REDIRECTS => {
                            Err(format!("more than {MAX_REDIRECTS} redirects"))
                        }
                        None => Err(format!("HTTP {status} without a Location")),
                        Some(location) => redirect_target(&url, &location),
                    };
                    url = target
                        .map_err(|detail| FetchError::Redirect { url: url.to_string(), detail })?;
                }
                _ => return Ok((response, url)),
            }
        }
    }

    /// One GET, its body unread; every status is an answer.
    fn get(
        &self,
        url: &Url,
        timeout: Duration,
        headers: &[(&str, &str)],
    ) -> Result<Response, ureq::Error> {
        let agent = crate::http_client::agent(&self.user_agent, timeout);
        let mut request = agent.get(url.to_string()).header("Connection", "close");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.call()
    }

    /// Wait until `origin` may be asked again.
    fn pace(&mut self, origin: &str, shutdown: &Shutdown) -> Result<(), FetchError> {
        let wait = self.politeness.wait(origin, Instant::now());
        if shutdown.sleep(wait) {
            return Err(FetchError::Cancelled);
        }
        Ok(())
    }

    /// Whether robots.txt lets us fetch `url`, reading it first when not cached.
    fn robots_allow(&mut self, url: &Url, shutdown: &Shutdown) -> Result<bool, FetchError> {
        let origin = url.origin();
        let now = Instant::now();
        if self.robots.get(&origin).is_none_or(|c| c.until <= now) {
            let (rules, ttl) = self.read_robots(url, shutdown)?;
            if let Some(delay) = rules.crawl_delay {
                log::info!(
                    "{origin} asks for {} s between requests (robots.txt Crawl-delay)",
                    delay.as_secs_f32()
                );
                self.politeness.set_crawl_delay(&origin, delay, now);
            }
            self.robots.insert(origin.clone(), CachedRobots { rules, until: Instant::now() + ttl });
        }
        Ok(self.robots[&origin].rules.allows(&url.path_and_query()))
    }

    /// RFC 9309: 2xx is the rules; 4xx means no rules; 5xx, 429 and an
    /// unreachable host mean "disallow all" for now. Redirects are followed.
    fn read_robots(
        &mut self,
        url: &Url,
        shutdown: &Shutdown,
    ) -> Result<(Rules, Duration), FetchError> {
        let mut target = url.join("/robots.txt").expect("an absolute path resolves");
        for _ in 0..=MAX_REDIRECTS {
            let origin = target.origin();
            self.pace(&origin, shutdown)?;
            let response = self.get(&target, ROBOTS_TIMEOUT, &[("Accept", "text/plain")]);
            let now = Instant::now();
            let response = match response {
                Ok(response) => response,
                Err(e) => {
                    self.politeness.finished(&origin, now);
                    log::warn!("cannot read {target} ({e}); not crawling {} for now", url.origin());
                    return Ok((Rules::disallow_all(), ROBOTS_UNREACHABLE_TTL));
                }
            };
            let status = response.status().as_u16();
            match status {
                200..=299 => {
                    let mut bytes = Vec::new();
                    let read = self.stream(response, &target, u64::MAX, shutdown, |chunk| {
                        let room = (ROBOTS_MAX_BYTES as usize).saturating_sub(bytes.len());
                        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        Ok(())
                    });
                    self.politeness.succeeded(&origin, Instant::now());
                    return match read {
                        Ok(_) => Ok((
                            Rules::parse(&String::from_utf8_lossy(&bytes), &self.agent_token),
                            ROBOTS_TTL,
                        )),
                        Err(FetchError::Cancelled) => Err(FetchError::Cancelled),
                        Err(e) => {
                            log::warn!(
                                "cannot read {target} ({e}); not crawling {} for now",
                                url.origin()
                            );
                            Ok((Rules::disallow_all(), ROBOTS_UNREACHABLE_TTL))
                        }
                    };
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = header(&response, "location");
                    drop(response);
                    self.politeness.finished(&origin, now);
                    match location.and_then(|l| redirect_target(&target, &l).ok()) {
                        Some(next) => target = next,
                        None => break,
                    }
                }
                429 | 500..=599 => {
                    drop(response);
                    self.politeness.finished(&origin, now);
                    log::warn!(
                        "{target} answered HTTP {status}; not crawling {} for now",
                        url.origin()
                    );
                    return Ok((Rules::disallow_all(), ROBOTS_UNREACHABLE_TTL));
                }
                _ => {
                    drop(response);
                    self.politeness.succeeded(&origin, now);
                    return Ok((Rules::allow_all(), ROBOTS_TTL));
                }
            }
        }
        // Too many redirects: treated like a missing robots.txt (RFC 9309 §2.3.1.2).
        Ok((Rules::allow_all(), ROBOTS_TTL))
    }
}

fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Where a redirect from `from` to `location` leads. Never from https down
/// to plain http: the rest of the way (and a source's credentials, were it
/// the same host) would travel in clear text.
fn redirect_target(from: &Url, location: &str) -> Result<Url, String> {
    let to = from.join(location).map_err(|e| format!("redirect to a bad URL: {e}"))?;
    let https = |url: &Url| url.origin().starts_with("https://");
    if https(from) && !https(&to) {
        return Err(format!("refusing the redirect to {to}: it leaves https for plain http"));
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_token_and_basic_credentials() {
        let client = Client::new("zatan/0.1 (+https://example.org/bot)", Duration::from_secs(2));
        assert_eq!(client.agent_token, "zatan");
        let source = Url::parse("http://127.0.0.1:9/opds").unwrap();
        let access = Access::new(&source, Some("alice"), Some(&Secret::new("s3cret")), false);
        assert_eq!(access.authorization.as_ref().unwrap().expose(), "Basic YWxpY2U6czNjcmV0");
        assert!(!format!("{:?}", access.authorization).contains("YWxp"), "the header is a Secret");
        assert_eq!(access.origin, "http://127.0.0.1:9");
        assert!(Access::new(&source, None, None, false).authorization.is_none());
    }

    #[test]
    fn redirects_never_leave_https_for_http() {
        let secure = Url::parse("https://books.example/opds").unwrap();
        let plain = Url::parse("http://books.example/opds").unwrap();
        let err = redirect_target(&secure, "http://books.example/feed").unwrap_err();
        assert!(err.contains("plain http"), "{err}");
        assert_eq!(
            redirect_target(&secure, "/feed").unwrap().to_string(),
            "https://books.example/feed"
        );
        assert_eq!(
            redirect_target(&plain, "https://books.example/feed").unwrap().to_string(),
            "https://books.example/feed"
        );
        assert_eq!(
            redirect_target(&plain, "http://mirror.example/feed").unwrap().to_string(),
            "http://mirror.example/feed"
        );
    }
}
