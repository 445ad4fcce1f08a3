//! The WeChat callback handler, the request path: verify ▸ decrypt ▸ parse ▸
//! dedupe ▸ bot ▸ reply, all in memory and fast. It never calls the network.

use std::time::Duration;

use super::reply_cache::{Origin, ReplyCache};
use crate::bot::Bot;
use crate::clock::unix_now;
use crate::config::Config;
use crate::http::{Request, Response};
use crate::wechat::callback::{self, Credentials, Query, Rejection};
use crate::wechat::reply;

/// Retries come within ~15 s (three attempts, 5 s apart); keep replies twice that.
const REPLY_TTL: Duration = Duration::from_secs(30);
const REPLY_CACHE_ENTRIES: usize = 10_000;

pub struct Callback {
    credentials: Credentials,
    bot: Bot,
    replies: ReplyCache,
}

impl Callback {
    pub fn new(config: &Config, bot: Bot) -> Self {
        let w = &config.wechat;
        Callback {
            credentials: Credentials {
                token: w.token.expose().to_string(),
                app_id: w.app_id.clone().unwrap_or_default(),
                aes_keys: config.wechat.aes_keys(),
            },
            bot,
            replies: ReplyCache::new(REPLY_TTL, REPLY_CACHE_ENTRIES),
        }
    }

    pub fn verify(&self, req: &Request) -> Response {
        match callback::verify_get(&self.credentials, &query(req)) {
            Ok(echostr) => Response::text(200, echostr),
            Err(rejection) => refuse(req, rejection),
        }
    }

    pub fn receive(&self, req: &Request) -> Response {
        let q = query(req);
        let opened = match callback::open_post(&self.credentials, &q, &req.body) {
            Ok(opened) => opened,
            Err(rejection) => return refuse(req, rejection),
        };
        let message = &opened.message;
        let (body, origin) = self.replies.get_or_compute(&message.dedupe_key(), || {
            match self.bot.respond(message) {
                None => b"success".to_vec(),
                Some(answer) => {
                    let xml = reply::render(&answer, &message.from_user, &message.to_user, unix_now());
                    let timestamp = unix_now().to_string();
                    callback::seal(&self.credentials, &opened.sealing, &xml, &timestamp, q.nonce.unwrap_or(""))
                        .into_bytes()
                }
            }
        });
        // Debug, not info: a log write blocks the coroutine's whole worker
        // thread, and one line per message at load costs half the throughput.
        log::debug!(
            "{}{} from {}{}",
            match message.event_name() {
                Some(event) => format!("event {event}"),
                None => message.type_name().to_string(),
            },
            if matches!(opened.sealing, callback::Sealing::Plain) { "" } else { " (aes)" },
            message.from_user,
            match origin {
                Origin::Computed => "",
                Origin::Retry => ": retry, same reply again",
                Origin::RetryTimedOut => ": retry while the first attempt is still running, empty reply",
            }
        );
        if &*body == b"success" || body.is_empty() {
            Response::text(200, String::from_utf8_lossy(&body).into_owned())
        } else {
            Response::xml(body.to_vec())
        }
    }
}

fn query(req: &Request) -> Query<'_> {
    Query {
        signature: req.query_param("signature"),
        timestamp: req.query_param("timestamp"),
        nonce: req.query_param("nonce"),
        echostr: req.query_param("echostr"),
        encrypt_type: req.query_param("encrypt_type"),
        msg_signature: req.query_param("msg_signature"),
    }
}

fn refuse(req: &Request, rejection: Rejection) -> Response {
    let peer = req.peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "?".into());
    match rejection {
        Rejection::Forbidden(reason) => {
            log::warn!("refused {} {} from {peer}: {reason}", req.method, req.path);
            Response::text(403, "forbidden\n")
        }
        Rejection::BadRequest(reason) => {
            log::warn!("bad {} {} from {peer}: {reason}", req.method, req.path);
            Response::text(400, format!("bad request: {reason}\n"))
        }
    }
}
