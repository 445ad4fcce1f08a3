//! The rules service: owns the keyword rules of `rules.file`, reads the file
//! again when the watcher says it changed, and publishes the rules the bot
//! reads without waiting. A broken edit keeps the rules in force and says
//! where the file is broken; a removed file means no rules.

use std::path::PathBuf;

use crossbeam_channel::Receiver;

use super::watcher::FileEvent;
use super::Service;
use crate::bot::rules::{Rules, RulesError, SharedRules};
use crate::shutdown::Shutdown;

pub struct RulesService {
    path: PathBuf,
    published: SharedRules,
}

impl RulesService {
    /// Reads the file and publishes its rules. A broken file is an error here,
    /// as it is for `zatan check`: there are no rules in force to keep yet.
    pub fn start(path: PathBuf, published: SharedRules) -> Result<RulesService, RulesError> {
        let rules = Rules::load(&path)?;
        let service = RulesService { path, published };
        service.publish(rules);
        Ok(service)
    }

    pub fn run(mut self, inbox: Receiver<FileEvent>, shutdown: &Shutdown) {
        super::run(&mut self, &inbox, shutdown);
    }

    fn reload(&self) {
        match Rules::load(&self.path) {
            Ok(rules) => self.publish(rules),
            Err(e) => {
                let in_force = self.published.snapshot().len();
                log::error!("{e}; keeping the {in_force} rules in force until the file is fixed");
            }
        }
    }

    /// Published before the log line, so the line means followers get them.
    fn publish(&self, rules: Option<Rules>) {
        let path = self.path.display();
        let Some(rules) = rules else {
            self.published.publish(Rules::default());
            log::info!("rules: none ({path} does not exist)");
            return;
        };
        let warnings = rules.shadowing();
        let count = rules.len();
        self.published.publish(rules);
        log::info!("rules: {count} loaded from {path}");
        for warning in warnings {
            log::warn!("rules: {warning}");
        }
    }
}

impl Service for RulesService {
    type Message = FileEvent;

    /// The watcher routes only the rules file's events here (and rescans).
    fn on_message(&mut self, _event: FileEvent) {
        self.reload();
    }
}
