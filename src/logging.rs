//! Logging to stderr (journald and logread collect it) and optionally a file.
//! Secrets are never passed to the logger: config values are `Secret`s whose
//! Display is masked.

use std::fs::OpenOptions;

use simplelog::{CombinedLogger, ConfigBuilder, LevelFilter, SharedLogger, WriteLogger};

use crate::config::LogConfig;

pub const LEVEL_ENV: &str = "ZATAN_LOG";

/// Start logging at the level from `ZATAN_LOG`, else `log.level`.
pub fn init(config: &LogConfig) -> Result<(), String> {
    let level_name = std::env::var(LEVEL_ENV).unwrap_or_else(|_| config.level.clone());
    let level: LevelFilter = level_name.parse().map_err(|_| {
        format!("{LEVEL_ENV}={level_name:?} is not a level; use one of off, error, warn, info, debug, trace")
    })?;
    let settings = ConfigBuilder::new()
        .set_target_level(LevelFilter::Off)
        .set_thread_level(LevelFilter::Off)
        .set_time_format_rfc3339()
        // the coroutine runtime logs every socket it polls at info level
        .add_filter_ignore_str("may")
        // at trace, the HTTP client logs whole URLs, whose queries hold API secrets
        .add_filter_ignore_str("ureq")
        .build();
    let mut loggers: Vec<Box<dyn SharedLogger>> =
        vec![WriteLogger::new(level, settings.clone(), std::io::stderr())];
    if let Some(path) = &config.file {
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
            format!(
                "cannot open log.file {}: {e}; fix the path or leave log.file out",
                path.display()
            )
        })?;
        loggers.push(WriteLogger::new(level, settings, file));
    }
    // A second init (tests that run several commands in-process) keeps the first logger.
    let _ = CombinedLogger::init(loggers);
    Ok(())
}
