//! `zatan menu push FILE.json | show | delete`: the account's custom menu.
//!
//! Runs beside a live server: it reads the stored token when the store is
//! free, and otherwise asks stable_token, which hands out the token the
//! server already holds instead of invalidating it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Failure;
use crate::cli::MenuAction;
use crate::config::{Config, TokenApi};
use crate::services;
use crate::services::token::{CallError, TokenOwner, TokenSource};
use crate::store::{Store, StoreError};
use crate::wechat::api::{ApiError, ErrorAction};

pub fn run(config: &Config, action: &MenuAction) -> Result<String, Failure> {
    let Some(source) = TokenSource::from_config(&config.wechat) else {
        return Err(Failure::config(
            "menus need the WeChat API: set wechat.app_id and wechat.app_secret",
        ));
    };
    let body = match action {
        MenuAction::Push(file) => Some(read_menu(file)?),
        _ => None,
    };
    let store = match Store::open(&config.storage.data_dir) {
        Ok(store) => Some(Arc::new(store)),
        Err(StoreError::Locked(_)) if config.wechat.token_api == TokenApi::Stable => None,
        Err(StoreError::Locked(_)) => {
            return Err(Failure::config(
                "zatan serve is running and wechat.token_api = \"classic\": a second token fetch would \
                 invalidate the server's token; stop the server first, or use the default \"stable\"",
            ))
        }
        Err(e) => return Err(Failure::runtime(e.to_string())),
    };
    let api = source.api.clone();
    let (owner, tokens) = TokenOwner::new(source, store);
    let owner = services::spawn("token", move |shutdown| owner.run(&shutdown))
        .map_err(|e| Failure::runtime(format!("cannot start the token thread: {e}")))?;
    let wait = Duration::from_secs(15);
    let outcome = match (action, body) {
        (MenuAction::Push(_), Some(body)) => tokens
            .call(wait, |t| api.menu_create(t, &body))
            .map(|()| "menu pushed; followers see it within minutes".to_string()),
        (MenuAction::Show, _) => tokens
            .call(wait, |t| api.menu_get(t))
            .map(|menu| serde_json::to_string_pretty(&menu).unwrap_or_else(|_| menu.to_string())),
        _ => tokens.call(wait, |t| api.menu_delete(t)).map(|()| "menu deleted".to_string()),
    };
    owner.stop_until(Instant::now() + wait);
    match outcome {
        Ok(done) if !config.wechat.verified => Ok(format!(
            "{done}\n(WeChat allowed the menu API, so the account is verified: set wechat.verified = true \
             for customer-service messages and permanent material too)"
        )),
        Ok(done) => Ok(done),
        Err(CallError::Api(e @ ApiError::Wechat { action: ErrorAction::NotVerified, .. })) => {
            Err(Failure::config(not_verified(&e, config.wechat.verified)))
        }
        Err(e) => Err(Failure::runtime(format!("menu: {e}"))),
    }
}

/// WeChat's 48001 in words, with what it means for the menu and what to do.
fn not_verified(error: &ApiError, configured_verified: bool) -> String {
    let mut words = format!(
        "menu: {error}. Once the server URL is on, WeChat also switches off the menu set in the \
         admin console: followers can still type commands (帮助 lists them), and keyword rules \
         (rules.file) answer words and QR codes; verify the account in the admin console to \
         have a menu"
    );
    if configured_verified {
        words.push_str(". The config says wechat.verified = true: set it to false");
    }
    words
}

fn read_menu(file: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::config(format!("cannot read menu file {}: {e}", file.display())))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Failure::config(format!("{} is not JSON: {e}", file.display())))?;
    if !json.get("button").is_some_and(|b| b.is_array()) {
        return Err(Failure::config(format!(
            "{} has no \"button\" array; a menu looks like {{\"button\":[{{\"type\":\"click\",\"name\":\"帮助\",\"key\":\"help\"}}]}}",
            file.display()
        )));
    }
    Ok(text)
}
