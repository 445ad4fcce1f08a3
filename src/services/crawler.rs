//! The crawler thread: crawls each configured source on its interval, one at
//! a time, until asked to stop (a stop also cuts a crawl's waits short).
//! `serve` runs it in the background; `zatan crawl` runs it in the foreground.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::never;

use super::Service;
use crate::clock::unix_now;
use crate::config::CrawlSource;
use crate::crawler::crawl::{Crawler, Progress, Report};
use crate::shutdown::Shutdown;
use crate::store::Store;

pub struct CrawlerService {
    pub crawler: Crawler,
    pub sources: Vec<CrawlSource>,
    pub store: Arc<Store>,
    /// Crawl every source at once instead of when its interval since the
    /// last crawl (kept in the store) is over.
    pub start_now: bool,
}

/// Hears about a crawl: the source, its progress, and the report at the end.
pub trait Listener {
    fn progress(&mut self, _source: &str, _progress: &Progress) {}
    fn finished(&mut self, _source: &str, _report: &Report) {}
}

/// For `serve`: the log says it all.
pub struct Quiet;

impl Listener for Quiet {}

impl CrawlerService {
    /// Crawl on the sources' intervals until shutdown.
    pub fn run(self, shutdown: &Shutdown, listener: &mut dyn Listener) {
        let due = self.sources.iter().map(|s| self.first_due(s)).collect();
        let mut crawling = Crawling { service: self, due, shutdown: shutdown.clone(), listener };
        crawling.announce_next();
        super::run(&mut crawling, &never(), shutdown);
    }

    /// Crawl each source once, in order, or until stopped.
    pub fn run_once(mut self, shutdown: &Shutdown, listener: &mut dyn Listener) -> Vec<Report> {
        let mut reports = Vec::new();
        for source in &self.sources {
            if shutdown.is_requested() {
                break;
            }
            let report =
                self.crawler.crawl(source, shutdown, &mut |p| listener.progress(&source.name, p));
            listener.finished(&source.name, &report);
            reports.push(report);
        }
        reports
    }

    fn first_due(&self, source: &CrawlSource) -> Instant {
        if self.start_now {
            return Instant::now();
        }
        let last = match self.store.source_run(&source.name) {
            Ok(run) => run.map(|r| r.started_at),
            Err(e) => {
                log::error!("crawler: cannot read when {} was last crawled: {e}", source.name);
                None
            }
        };
        let since = last.map(|at| Duration::from_secs(unix_now().saturating_sub(at)));
        Instant::now()
            + since.map_or(Duration::ZERO, |since| interval(source).saturating_sub(since))
    }
}

fn interval(source: &CrawlSource) -> Duration {
    Duration::from_secs(source.interval_hours.saturating_mul(3600))
}

/// The crawler between crawls: when each source is due next.
struct Crawling<'a> {
    service: CrawlerService,
    due: Vec<Instant>,
    shutdown: Shutdown,
    listener: &'a mut dyn Listener,
}

impl Crawling<'_> {
    /// The source due first, and when.
    fn next(&self) -> Option<(usize, Instant)> {
        self.due.iter().copied().enumerate().min_by_key(|(_, at)| *at)
    }

    fn announce_next(&self) {
        let Some((index, at)) = self.next() else { return };
        let wait = at.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            let name = &self.service.sources[index].name;
            log::info!("crawler: next crawl, of {name}, in {} min", wait.as_secs().div_ceil(60));
        }
    }
}

impl Service for Crawling<'_> {
    /// Nothing is sent to the crawler: it works on its own schedule.
    type Message = ();

    fn next_due(&self) -> Option<Instant> {
        self.next().map(|(_, at)| at)
    }

    fn on_message(&mut self, (): ()) {}

    fn on_due(&mut self) {
        let Some((index, _)) = self.next() else { return };
        let service = &mut self.service;
        let source = &service.sources[index];
        let listener = &mut *self.listener;
        let report = service
            .crawler
            .crawl(source, &self.shutdown, &mut |p| listener.progress(&source.name, p));
        listener.finished(&source.name, &report);
        self.due[index] = Instant::now() + interval(source);
        if !self.shutdown.is_requested() {
            self.announce_next();
        }
    }
}
