//! `zatan simulate`: the bot's reply to one text, as the server with the same
//! config would give it, without a server. The bot is built by the function
//! `serve` builds it with, over an in-memory copy of the store: no thread, no
//! watch, no network, nothing written to disk.

use std::sync::Arc;

use super::Failure;
use crate::bot::By;
use crate::clock::unix_now;
use crate::config::Config;
use crate::services;
use crate::store::{Store, StoreError};
use crate::wechat::message::{Incoming, MessageKind};
use crate::wechat::reply::Reply;

/// What `simulate` shows: the reply (stdout) and notes about it (stderr):
/// what answered, and what was not carried out.
pub struct Simulated {
    pub reply: String,
    pub notes: Vec<String>,
}

/// The reply to `text` from follower `from`, as a follower would see it.
pub fn run(config: &Config, from: &str, text: &str) -> Result<Simulated, Failure> {
    let mut notes = Vec::new();
    let store = match Store::copy_in_memory(&config.storage.data_dir) {
        Ok(store) => store,
        Err(StoreError::Locked(path)) => {
            notes.push(format!(
                "a running zatan holds {}, so its library, Kindle bindings, uploaded pictures and \
                 requests are not visible here: the reply is the one for an empty store",
                path.display()
            ));
            Store::in_memory().map_err(|e| Failure::runtime(e.to_string()))?
        }
        Err(e) => return Err(Failure::runtime(e.to_string())),
    };
    let store = Arc::new(store);
    let bot = services::bot_without_services(config, &store)?;
    let before = store.writes();
    let message = Incoming {
        to_user: "gh_simulated".into(),
        from_user: from.into(),
        create_time: unix_now(),
        msg_id: None,
        kind: MessageKind::Text { content: text.into() },
    };
    let answered = bot.answer(&message, "simulate");
    let rules = config.rules.file.display();
    notes.push(match answered.by {
        By::Rule { line, command: None } => format!("answered by the rule at {rules} line {line}"),
        By::Rule { line, command: Some(command) } => {
            format!("answered by the rule at {rules} line {line}, which runs the command {command}")
        }
        By::Command(command) => format!("answered by the command {command}"),
        By::Welcome => "answered with wechat.welcome".into(),
        By::Default => "no rule or command matched: the hint for unknown text".into(),
    });
    if store.writes() > before {
        notes.push(
            "not carried out: what this reply records (a binding, a request) went to a copy of \
             the store that is thrown away, and nothing is sent, mailed or uploaded"
                .into(),
        );
    }
    let reply = answered.reply.as_ref().map_or_else(|| "(no reply: success)".into(), describe);
    Ok(Simulated { reply, notes })
}

fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Text(text) => text.clone(),
        Reply::Image { media_id } => format!("[image {media_id}]"),
        Reply::Voice { media_id } => format!("[voice {media_id}]"),
        Reply::Video { media_id, title, .. } => format!("[video {media_id}] {title}"),
        Reply::Music { title, music_url, .. } => format!("[music] {title} {music_url}"),
        Reply::News(article) => {
            format!(
                "[news] {}\n{}\n{}\n{}",
                article.title, article.description, article.pic_url, article.url
            )
        }
    }
}
