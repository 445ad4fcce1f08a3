//! `zatan articles draft SLUG [--publish] | list`: the owner's articles in
//! WeChat's draft box.
//!
//! Tokens come from `stable_token` (the default `wechat.token_api`), which
//! hands out the token a running server already holds instead of
//! invalidating it. The draft records live in the store, which a running
//! server holds: then the server's own `articles.sync_drafts` is the way.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Failure;
use crate::articles::wechat::prepare;
use crate::articles::EXTENSION;
use crate::cli::ArticlesAction;
use crate::config::Config;
use crate::services;
use crate::services::drafts::{draft_state, DraftError, Drafted, Drafter};
use crate::services::token::{TokenOwner, TokenSource};
use crate::store::{Store, StoreError};

/// How often `--publish` asks WeChat how the publication goes, and for how long.
const PUBLISH_POLL: Duration = Duration::from_secs(1);
const PUBLISH_GIVE_UP: Duration = Duration::from_secs(300);

pub fn run(config: &Config, action: &ArticlesAction) -> Result<String, Failure> {
    let store =
        match Store::open(&config.storage.data_dir) {
            Ok(store) => Arc::new(store),
            Err(StoreError::Locked(_)) => return Err(Failure::runtime(
                "zatan serve is running and holds the store, where the drafts are recorded: stop \
                 it for this, or set articles.sync_drafts = true and the server drafts new and \
                 changed articles itself",
            )),
            Err(e) => return Err(Failure::runtime(e.to_string())),
        };
    match action {
        ArticlesAction::List => list(config, store),
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
    let drafter = Drafter { store, api, tokens, settings };
    let outcome = draft_and_publish(config, &drafter, slug, publish);
    owner.stop_until(Instant::now() + Duration::from_secs(5));
    outcome
}

fn draft_and_publish(
    config: &Config,
    drafter: &Drafter,
    slug: &str,
    publish: bool,
) -> Result<String, Failure> {
    let drafted = drafter.draft(slug).map_err(failure)?;
    let mut out = match &drafted {
        Drafted::Unchanged(id) => format!("{slug}: unchanged since its draft {id}; nothing sent"),
        Drafted::Added(id) => format!("{slug}: drafted in WeChat's draft box, media_id {id}"),
        Drafted::Updated(id) => format!("{slug}: draft {id} updated"),
        Drafted::Readded(id) => format!(
            "{slug}: the old draft was gone from the draft box; drafted anew, media_id {id}"
        ),
    };
    if !publish {
        return Ok(out);
    }
    if !config.wechat.verified {
        return Err(Failure::config(format!(
            "{out}\nnot published: since July 2025 WeChat lets only verified accounts (认证) publish \
             through the API, and wechat.verified = false. The draft is ready in the draft box \
             (草稿箱): publish it by hand in the admin console (mp.weixin.qq.com)"
        )));
    }
    match drafter.publish(slug, PUBLISH_POLL, PUBLISH_GIVE_UP).map_err(failure)? {
        Some(url) => write!(out, "\npublished: {url}"),
        None => write!(out, "\npublished (WeChat gave no address; see 发表记录 in the console)"),
    }
    .map_err(|e| Failure::runtime(e.to_string()))?;
    Ok(out)
}

fn failure(e: DraftError) -> Failure {
    match e {
        DraftError::Refused(words) => Failure::config(words),
        DraftError::Failed { words, .. } => Failure::runtime(words),
    }
}

/// Each article file with its draft state; no call made.
fn list(config: &Config, store: Arc<Store>) -> Result<String, Failure> {
    let dir = &config.articles.dir;
    let files = crate::fsutil::list_files(dir)
        .map_err(|e| Failure::config(format!("cannot list articles.dir {}: {e}", dir.display())))?;
    let settings = services::draft_settings(config);
    let mut lines = Vec::new();
    for (name, _) in files {
        let Some(slug) = name.strip_suffix(EXTENSION).filter(|s| !s.starts_with('.')) else {
            continue;
        };
        let record = store.article_draft(slug).map_err(|e| Failure::runtime(e.to_string()))?;
        let (hash, problem) = match prepare(slug, &settings) {
            Ok(prepared) => (Some(prepared.hash), None),
            Err(refusal) => (None, Some(refusal.to_string())),
        };
        let mut line = format!("{slug}\t{}", draft_state(record.as_ref(), hash.as_deref()));
        if let Some(problem) = problem {
            let _ = write!(line, "\t(cannot be drafted: {problem})");
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Ok(format!("no articles in {}", dir.display()));
    }
    Ok(lines.join("\n"))
}
