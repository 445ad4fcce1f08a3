//! The WeChat callback handler, the request path: verify ▸ decrypt ▸ parse ▸
//! dedupe ▸ bot ▸ reply, all in memory and fast. It never calls the network.

use std::sync::Arc;
use std::time::Duration;

use super::reply_cache::{Origin, ReplyCache};
use crate::bot::Bot;
use crate::clock::unix_now;
use crate::config::Config;
use crate::http::{Request, Response};
use crate::log_summary::{LogSummary, DEFAULT_SETTINGS};
use crate::wechat::callback::{self, Answer, Credentials, Query, Rejection};
use crate::wechat::reply;

/// Retries come within ~15 s (three attempts, 5 s apart); keep replies twice that.
const REPLY_TTL: Duration = Duration::from_secs(30);
const REPLY_CACHE_ENTRIES: usize = 10_000;

pub struct Callback {
    credentials: Credentials,
    bot: Bot,
    replies: ReplyCache<Arc<Answer>>,
    /// Forged signatures and bad XML: anyone can send them by the thousand.
    refusals: LogSummary,
}

/// The causes the refusals are summarised by.
const FORGED: &str = "refused requests (forged or missing signature)";
const MALFORMED: &str = "bad requests (malformed XML or query)";

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
            refusals: LogSummary::new("callback", DEFAULT_SETTINGS),
        }
    }

    pub fn verify(&self, req: &Request) -> Response {
        match callback::verify_get(&self.credentials, &query(req)) {
            Ok(echostr) => Response::text(200, echostr),
            Err(rejection) => self.refuse(req, rejection),
        }
    }

    pub fn receive(&self, req: &Request) -> Response {
        let q = query(req);
        let opened = match callback::open_post(&self.credentials, &q, &req.body) {
            Ok(opened) => opened,
            Err(rejection) => return self.refuse(req, rejection),
        };
        let message = &opened.message;
        let key = message.dedupe_key();
        let (answer, origin) = self.replies.get_or_compute(&key, || {
            let reply = self.bot.respond(message, &key);
            let now = unix_now();
            let xml =
                reply.map(|reply| reply::render(&reply, &message.from_user, &message.to_user, now));
            let nonce = q.nonce.unwrap_or("");
            Arc::new(callback::seal_owned(
                &self.credentials,
                &opened.sealing,
                xml,
                &now.to_string(),
                nonce,
            ))
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
                Origin::RetryTimedOut =>
                    ": retry while the first attempt is still running, empty reply",
            }
        );
        match answer.as_deref() {
            Some(Answer::Reply(xml)) => Response::xml(xml.clone().into_bytes()),
            Some(nothing @ Answer::Nothing) => Response::text(200, nothing.body()),
            None => Response::text(200, ""),
        }
    }

    fn refuse(&self, req: &Request, rejection: Rejection) -> Response {
        let ip = req.peer.map(|p| p.ip());
        let peer = || ip.map_or_else(|| "?".into(), |ip| ip.to_string());
        match rejection {
            Rejection::Forbidden(reason) => {
                self.refusals.note(log::Level::Warn, FORGED, ip, || {
                    format!("refused {} {} from {}: {reason}", req.method, req.path, peer())
                });
                Response::text(403, "forbidden\n")
            }
            Rejection::BadRequest(reason) => {
                self.refusals.note(log::Level::Warn, MALFORMED, ip, || {
                    format!("bad {} {} from {}: {reason}", req.method, req.path, peer())
                });
                Response::text(400, format!("bad request: {reason}\n"))
            }
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
