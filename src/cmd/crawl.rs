//! `zatan crawl [--source NAME] [--once]`: the crawler in the foreground,
//! with a progress line on stderr.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Failure;
use crate::config::Config;
use crate::crawler::crawl::{Crawler, Progress, Report};
use crate::services::crawler::{CrawlerService, Listener};
use crate::shutdown;
use crate::store::{Store, StoreError};

/// Without a terminal the progress line is printed at most this often.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Each crawl's summary goes to stdout as it ends.
pub fn run(config: &Config, only: Option<&str>, once: bool) -> Result<(), Failure> {
    let sources = config.crawl_sources(only).map_err(|e| Failure::config(e.to_string()))?;
    let books_dir = &config.books.dir;
    std::fs::create_dir_all(books_dir).map_err(|e| {
        Failure::config(format!(
            "cannot create books.dir {}: {e}; create it or point books.dir elsewhere",
            books_dir.display()
        ))
    })?;
    let store = match Store::open(&config.storage.data_dir) {
        Ok(store) => Arc::new(store),
        Err(StoreError::Locked(path)) => {
            return Err(Failure::runtime(format!(
                "{} is in use by a running zatan server; its own crawler thread crawls the configured sources on their intervals (see its log); stop the server to crawl by hand",
                path.display()
            )))
        }
        Err(e) => return Err(Failure::runtime(e.to_string())),
    };
    let (trigger, shutdown) = shutdown::pair();
    ctrlc::set_handler(trigger.into_handler())
        .map_err(|e| Failure::runtime(format!("cannot install the SIGINT/SIGTERM handler: {e}")))?;

    let crawler = Crawler::new(&config.crawler, store.clone(), books_dir);
    let service = CrawlerService { crawler, sources, store, start_now: true };
    let mut line = ProgressLine { terminal: std::io::stderr().is_terminal(), last: None };
    if once {
        service.run_once(&shutdown, &mut line);
    } else {
        service.run(&shutdown, &mut line);
    }
    Ok(())
}

struct ProgressLine {
    terminal: bool,
    last: Option<Instant>,
}

impl Listener for ProgressLine {
    fn progress(&mut self, source: &str, progress: &Progress) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[K{source}: {progress}");
            let _ = err.flush();
        } else if self.last.is_none_or(|at| at.elapsed() >= PLAIN_PROGRESS_EVERY) {
            let _ = writeln!(err, "{source}: {progress}");
            self.last = Some(Instant::now());
        }
    }

    fn finished(&mut self, source: &str, report: &Report) {
        if self.terminal {
            eprint!("\r\x1b[K");
        }
        self.last = None;
        println!("crawl {source}: {report}");
    }
}
