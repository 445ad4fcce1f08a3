//! The OPDS crawler: fills the library from catalogs the owner lists, as a
//! polite client (robots.txt, one request at a time per host with a delay,
//! backoff on 429/503, conditional GETs, a size cap and a daily budget).

pub mod crawl;
pub mod fetch;
pub mod opds;
pub mod politeness;
pub mod robots;
pub mod verify;
pub mod walk;
