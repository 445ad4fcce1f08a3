//! The crawler thread: crawls each configured source on its interval, one at
//! a time, until asked to stop (a stop also cuts a crawl's waits short).
//! `serve` runs it in the background; `zatan crawl` runs it in the foreground.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::clock::unix_now;
use crate::config::CrawlSource;
use crate::crawler::crawl::{Crawler, Progress, Report};
use crate::crawler::fetch::Cancel;
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
    /// Crawl on the sources' intervals until `stop` has a message (or its
    /// sender is gone).
    pub fn run(mut self, stop: Receiver<()>, listener: &mut dyn Listener) {
        let cancel = Cancel::new(stop);
        let mut due: Vec<Instant> = self.sources.iter().map(|s| self.first_due(s)).collect();
        while let Some((index, at)) = due.iter().copied().enumerate().min_by_key(|(_, at)| *at) {
            let wait = at.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                log::info!("crawler: next crawl, of {}, in {} min", self.sources[index].name, wait.as_secs().div_ceil(60));
            }
            if cancel.sleep(wait) {
                break;
            }
            let source = &self.sources[index];
            let report = self.crawler.crawl(source, &cancel, &mut |p| listener.progress(&source.name, p));
            listener.finished(&source.name, &report);
            due[index] = Instant::now() + interval(source);
            if cancel.is_cancelled() {
                break;
            }
        }
        log::debug!("crawler stopped");
    }

    /// Crawl each source once, in order, or until stopped.
    pub fn run_once(mut self, stop: Receiver<()>, listener: &mut dyn Listener) -> Vec<Report> {
        let cancel = Cancel::new(stop);
        let mut reports = Vec::new();
        for source in &self.sources {
            if cancel.is_cancelled() {
                break;
            }
            let report = self.crawler.crawl(source, &cancel, &mut |p| listener.progress(&source.name, p));
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
        Instant::now() + since.map_or(Duration::ZERO, |since| interval(source).saturating_sub(since))
    }
}

fn interval(source: &CrawlSource) -> Duration {
    Duration::from_secs(source.interval_hours.saturating_mul(3600))
}
