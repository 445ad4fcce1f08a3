//! Logging to stderr (journald and logread collect it) and optionally a file:
//! one line per record, `2024-02-29T12:34:56Z [INFO] message`. A logger of a
//! few lines over `log` rather than a logging crate and its date library.
//! Secrets are never passed to the logger: config values are `Secret`s whose
//! Display is masked.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

use log::{LevelFilter, Log, Metadata, Record};

use crate::clock::{unix_now, utc_timestamp};
use crate::config::LogConfig;

pub const LEVEL_ENV: &str = "ZATAN_LOG";

/// Crates whose records are dropped: the coroutine runtime logs every socket
/// it polls at info level, and at trace the HTTP client logs whole URLs,
/// whose queries hold API secrets.
const IGNORED_TARGETS: [&str; 2] = ["may", "ureq"];

/// Start logging at the level from `ZATAN_LOG`, else `log.level`.
pub fn init(config: &LogConfig) -> Result<(), String> {
    let level_name = std::env::var(LEVEL_ENV).unwrap_or_else(|_| config.level.clone());
    let level: LevelFilter = level_name.parse().map_err(|_| {
        format!("{LEVEL_ENV}={level_name:?} is not a level; use one of off, error, warn, info, debug, trace")
    })?;
    let file = match &config.file {
        Some(path) => {
            Some(OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                format!(
                    "cannot open log.file {}: {e}; fix the path or leave log.file out",
                    path.display()
                )
            })?)
        }
        None => None,
    };
    // A second init (tests that run several commands in-process) keeps the first logger.
    if log::set_boxed_logger(Box::new(Logger { level, file: file.map(Mutex::new) })).is_ok() {
        log::set_max_level(level);
    }
    Ok(())
}

struct Logger {
    level: LevelFilter,
    file: Option<Mutex<File>>,
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
            && !IGNORED_TARGETS.iter().any(|ignored| metadata.target().starts_with(ignored))
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = line(unix_now(), record);
        // A log line that cannot be written is dropped: there is nowhere to report it.
        let _ = std::io::stderr().write_all(line.as_bytes());
        if let Some(file) = &self.file {
            if let Ok(mut file) = file.lock() {
                let _ = file.write_all(line.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

fn line(unix_secs: u64, record: &Record) -> String {
    format!("{} [{}] {}\n", utc_timestamp(unix_secs), record.level(), record.args())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_time_level_and_message() {
        let status = 413;
        let line = line(
            1_709_210_096,
            &Record::builder()
                .level(log::Level::Warn)
                .target("zatan::web")
                .args(format_args!("refused {status}"))
                .build(),
        );
        assert_eq!(line, "2024-02-29T12:34:56Z [WARN] refused 413\n");
    }

    #[test]
    fn the_level_and_the_noisy_crates_are_filtered() {
        let logger = Logger { level: LevelFilter::Info, file: None };
        let at = |level, target| Metadata::builder().level(level).target(target).build();
        assert!(logger.enabled(&at(log::Level::Info, "zatan::cmd::serve")));
        assert!(!logger.enabled(&at(log::Level::Debug, "zatan::cmd::serve")));
        assert!(!logger.enabled(&at(log::Level::Info, "may::io::sys")));
        assert!(!logger.enabled(&at(log::Level::Error, "ureq::run")));
    }
}
