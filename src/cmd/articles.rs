//! `zatan articles draft SLUG [--publish] | list`: the owner's articles in
//! WeChat's draft box.
//!
//! The draft records live in the store. When a running server holds it, the
//! command is handed to the server over its control socket, and the server
//! drafts with its own token; otherwise this process drafts, with a token
//! from `stable_token` (the default `wechat.token_api`), which hands out the
//! token another process holds instead of invalidating it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Failure;
use crate::articles::wechat::prepare;
use crate::cli::ArticlesAction;
use crate::config::Config;
use crate::services;
use crate::services::control::{self, OwnerCommand};
use crate::services::drafts::{draft_report, list_report, DraftError, Drafter};
use crate::services::token::{TokenOwner, TokenSource};
use crate::store::{Store, StoreError};

pub fn run(config: &Config, action: &ArticlesAction) -> Result<String, Failure> {
    let store = match Store::open(&config.storage.data_dir) {
        Ok(store) => Arc::new(store),
        Err(StoreError::Locked(_)) => return while_serving(config, action),
        Err(e) => return Err(Failure::runtime(e.to_string())),
    };
    match action {
        ArticlesAction::List => {
            list_report(&store, &services::draft_settings(config)).map_err(failure)
        }
        ArticlesAction::Draft { slug, publish } => draft(config, store, slug, *publish),
    }
}

fn draft(config: &Config, store: Arc<Store>, slug: &str, publish: bool) -> Result<String, Failure> {
    let settings = services::draft_settings(config);
    // Unchanged and nothing to publish: not even a token is asked for.
    let prepared = prepare(slug, &settings).map_err(|r| Failure::config(r.to_string()))?;
    let record = store.article_draft(slug).map_err(|e| Failure::runtime(e.to_string()))?;
    if let Some(record) = record.filter(|r| r.hash == prepared.hash && !publish) {
        return Ok(format!("{slug}: unchanged since its draft {}; nothing sent", record.media_id));
    }
    let Some(source) = TokenSource::from_config(&config.wechat) else {
        return Err(Failure::config(
            "drafts need the WeChat API: set wechat.app_id and wechat.app_secret",
        ));
    };
    let api = source.api.clone();
    let (owner, tokens) = TokenOwner::new(source, Some(store.clone()));
    let owner = services::spawn("token", move |shutdown| owner.run(&shutdown))
        .map_err(|e| Failure::runtime(format!("cannot start the token thread: {e}")))?;
    let drafter = Drafter::new(store, api, tokens, settings);
    let outcome = draft_report(&drafter, config.wechat.verified, slug, publish).map_err(failure);
    owner.stop_until(Instant::now() + Duration::from_secs(5));
    outcome
}

/// The server holds the store: it does the command and says how it went.
fn while_serving(config: &Config, action: &ArticlesAction) -> Result<String, Failure> {
    let command = match action {
        ArticlesAction::List => OwnerCommand::ArticlesList,
        ArticlesAction::Draft { slug, publish } => {
            OwnerCommand::ArticlesDraft { slug: slug.clone(), publish: *publish }
        }
    };
    let answer = control::ask(&config.storage.data_dir, &command).map_err(Failure::runtime)?;
    match answer.code {
        0 => Ok(answer.text),
        code => Err(Failure { code, message: answer.text }),
    }
}

fn failure(e: DraftError) -> Failure {
    match e {
        DraftError::Refused(words) => Failure::config(words),
        DraftError::Failed { words, .. } => Failure::runtime(words),
    }
}
