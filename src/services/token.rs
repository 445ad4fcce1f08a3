//! The token owner: the only code that fetches access tokens.
//!
//! Every call of the token API can invalidate the token other callers hold, so
//! one thread refreshes and everyone else reads. Readers never wait for the
//! network when a valid token is cached; a reader that finds none, or whose
//! call failed with a token error, asks the owner and waits for the answer.
//! Many such requests at once cause one fetch: the owner looks at its cache
//! before each fetch.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::Service;
use crate::clock::unix_now;
use crate::config::{Secret, TokenApi, WechatConfig};
use crate::shutdown::Shutdown;
use crate::store::{Store, StoredToken};
use crate::wechat::api::{AccessToken, ApiClient, ApiError, ErrorAction, API_TIMEOUT};

/// Messages to the token owner.
pub enum TokenMsg {
    /// A reader found no valid token.
    Need,
    /// A call made with this token value was refused as invalid or expired.
    Invalid(String),
}

/// The read side, cloned into every service that calls the API.
#[derive(Clone)]
pub struct Tokens {
    shared: Arc<Shared>,
    owner: Option<Sender<TokenMsg>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<Published>,
    changed: Condvar,
}

#[derive(Default)]
struct Published {
    current: Option<StoredToken>,
    /// Why there is no token, for callers to report.
    problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// No app_id/app_secret: the API features are off.
    NotConfigured,
    /// No token came in time; the text says why when the owner knows.
    Unavailable(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::NotConfigured => {
                f.write_str("the WeChat API is off (set wechat.app_id and wechat.app_secret)")
            }
            TokenError::Unavailable(why) => write!(f, "no access token: {why}"),
        }
    }
}

/// An API call's failure as seen through [`Tokens::call`].
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    Token(TokenError),
    Api(ApiError),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Token(e) => e.fmt(f),
            CallError::Api(e) => e.fmt(f),
        }
    }
}

fn is_valid(token: &StoredToken) -> bool {
    token.expires_at > unix_now()
}

impl Tokens {
    /// A handle for an account without API credentials: every call says so.
    pub fn not_configured() -> Tokens {
        Tokens { shared: Arc::default(), owner: None }
    }

    /// The cached token if it is still valid. Never blocks on the network.
    pub fn current(&self) -> Option<AccessToken> {
        let state = self.lock();
        state.current.as_ref().filter(|t| is_valid(t)).map(to_access_token)
    }

    /// A valid token, asking the owner and waiting up to `wait` if none is cached.
    pub fn get(&self, wait: Duration) -> Result<AccessToken, TokenError> {
        self.wait_for(wait, None)
    }

    /// Run `call` with a token. On a token error with the token still cached,
    /// the owner refreshes once and the call is retried once with the new one.
    /// Only for calls that may be repeated: the first attempt was refused by
    /// WeChat, so it had no effect.
    pub fn call<T>(
        &self,
        wait: Duration,
        call: impl Fn(&AccessToken) -> Result<T, ApiError>,
    ) -> Result<T, CallError> {
        let token = self.get(wait).map_err(CallError::Token)?;
        match call(&token) {
            Err(e) if e.is_token_error() => {
                log::info!("access token refused ({e}); asking for a fresh one and retrying once");
                self.send(TokenMsg::Invalid(token.value().to_string()));
                let fresh = self.wait_for(wait, Some(token.value())).map_err(CallError::Token)?;
                call(&fresh).map_err(CallError::Api)
            }
            other => other.map_err(CallError::Api),
        }
    }

    fn wait_for(&self, wait: Duration, not: Option<&str>) -> Result<AccessToken, TokenError> {
        if self.owner.is_none() {
            return Err(TokenError::NotConfigured);
        }
        let usable = |state: &Published| {
            state
                .current
                .as_ref()
                .filter(|t| is_valid(t) && Some(t.value.as_str()) != not)
                .map(to_access_token)
        };
        let mut state = self.lock();
        if let Some(token) = usable(&state) {
            return Ok(token);
        }
        if not.is_none() {
            self.send(TokenMsg::Need);
        }
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                let why = state
                    .problem
                    .clone()
                    .unwrap_or_else(|| "the token API did not answer in time".into());
                return Err(TokenError::Unavailable(why));
            }
            state =
                self.shared.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
            if let Some(token) = usable(&state) {
                return Ok(token);
            }
        }
    }

    fn send(&self, msg: TokenMsg) {
        if let Some(owner) = &self.owner {
            let _ = owner.send(msg);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Published> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, current: Option<StoredToken>, problem: Option<String>) {
        let mut state = self.lock();
        if current.is_some() {
            state.current = current;
        }
        state.problem = problem;
        self.shared.changed.notify_all();
    }

    fn drop_current(&self, value: &str) -> bool {
        let mut state = self.lock();
        if state.current.as_ref().is_some_and(|t| t.value == value) {
            state.current = None;
            true
        } else {
            false
        }
    }
}

fn to_access_token(token: &StoredToken) -> AccessToken {
    AccessToken::new(
        token.value.clone(),
        Duration::from_secs(token.expires_at.saturating_sub(unix_now())),
    )
}

/// What the owner needs to fetch tokens.
pub struct TokenSource {
    pub api: ApiClient,
    pub app_id: String,
    pub app_secret: Secret,
    pub flavor: TokenApi,
}

impl TokenSource {
    /// The account's API credentials, or None when `wechat.app_id` and
    /// `wechat.app_secret` are not both set (the API features are off).
    pub fn from_config(wechat: &WechatConfig) -> Option<TokenSource> {
        let (Some(app_id), Some(app_secret)) = (&wechat.app_id, &wechat.app_secret) else {
            return None;
        };
        Some(TokenSource {
            api: ApiClient::new(wechat.api_base.clone(), API_TIMEOUT),
            app_id: app_id.clone(),
            app_secret: app_secret.clone(),
            flavor: wechat.token_api,
        })
    }
}

/// `force_refresh` of stable_token is limited (about 20 a day, 30 s apart).
const MIN_FORCED_INTERVAL: Duration = Duration::from_secs(30);
/// Never refresh more often than this, whatever the token's lifetime says.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(300);
/// A configuration error (bad secret, IP not whitelisted) will not fix itself soon.
const CONFIG_ERROR_RETRY: Duration = Duration::from_secs(600);

pub struct TokenOwner {
    source: TokenSource,
    /// None for a short-lived owner beside a running server (the menu CLI),
    /// which must not touch the server's store.
    store: Option<Arc<Store>>,
    tokens: Tokens,
    inbox: Receiver<TokenMsg>,
    /// When to fetch next without being asked: ahead of expiry, or after a failure.
    next_fetch: Option<std::time::Instant>,
    retry_delay: Duration,
    last_forced: Option<std::time::Instant>,
    last_problem: Option<String>,
}

impl TokenOwner {
    /// The owner and its read handle; the owner's `run` goes on its own thread.
    pub fn new(source: TokenSource, store: Option<Arc<Store>>) -> (TokenOwner, Tokens) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let tokens = Tokens { shared: Arc::default(), owner: Some(tx) };
        let owner = TokenOwner {
            source,
            store,
            tokens: tokens.clone(),
            inbox: rx,
            next_fetch: Some(std::time::Instant::now()),
            retry_delay: RETRY_FIRST,
            last_forced: None,
            last_problem: None,
        };
        (owner, tokens)
    }

    pub fn run(mut self, shutdown: &Shutdown) {
        match self.store.as_ref().map(|s| s.token()).transpose().map(Option::flatten) {
            Ok(Some(stored)) if is_valid(&stored) => {
                log::info!(
                    "reusing the stored access token ({}s left)",
                    stored.expires_at - unix_now()
                );
                self.schedule_refresh(&stored);
                self.tokens.publish(Some(stored), None);
            }
            Ok(_) => {}
            Err(e) => log::warn!("cannot read the stored token: {e}"),
        }
        let inbox = self.inbox.clone();
        super::run(&mut self, &inbox, shutdown);
    }
}

impl Service for TokenOwner {
    type Message = TokenMsg;

    fn next_due(&self) -> Option<std::time::Instant> {
        self.next_fetch
    }

    fn on_message(&mut self, message: TokenMsg) {
        match message {
            TokenMsg::Need => {
                if self.tokens.current().is_none() && self.may_fetch_now() {
                    self.fetch(false);
                }
            }
            TokenMsg::Invalid(value) => {
                // Only the first report about a token refreshes; later
                // ones about the same old token find it already gone.
                if self.tokens.drop_current(&value) {
                    self.fetch(true);
                } else if self.tokens.current().is_none() && self.may_fetch_now() {
                    self.fetch(false);
                }
            }
        }
    }

    fn on_due(&mut self) {
        self.fetch(false);
    }
}

impl TokenOwner {
    /// After a failure, wait out the back-off even when readers ask.
    fn may_fetch_now(&self) -> bool {
        self.last_problem.is_none()
            || self.next_fetch.is_none_or(|at| at <= std::time::Instant::now())
    }

    fn fetch(&mut self, after_invalid: bool) {
        let src = &self.source;
        let force =
            after_invalid && self.last_forced.is_none_or(|at| at.elapsed() >= MIN_FORCED_INTERVAL);
        let result = match src.flavor {
            TokenApi::Stable => {
                if force {
                    self.last_forced = Some(std::time::Instant::now());
                }
                src.api.stable_token(&src.app_id, src.app_secret.expose(), force)
            }
            TokenApi::Classic => src.api.classic_token(&src.app_id, src.app_secret.expose()),
        };
        match result {
            Ok(token) => {
                let stored = StoredToken {
                    value: token.value().to_string(),
                    expires_at: unix_now() + token.expires_in.as_secs(),
                };
                if let Some(Err(e)) = self.store.as_ref().map(|s| s.save_token(&stored)) {
                    log::warn!(
                        "cannot store the access token (a restart will fetch a new one): {e}"
                    );
                }
                let renewed = self.tokens.current().is_none_or(|old| old.value() != stored.value);
                if renewed {
                    log::info!("access token refreshed, valid for {}s", token.expires_in.as_secs());
                    self.schedule_refresh(&stored);
                } else {
                    // stable_token hands out the same token until it expires: ask again then.
                    self.next_fetch = Some(
                        std::time::Instant::now() + token.expires_in.max(MIN_REFRESH_INTERVAL),
                    );
                }
                self.retry_delay = RETRY_FIRST;
                self.last_problem = None;
                self.tokens.publish(Some(stored), None);
            }
            Err(e) => {
                let (delay, message) = match &e {
                    ApiError::Wechat { action: ErrorAction::FixConfig(hint), .. } => {
                        (CONFIG_ERROR_RETRY, format!("{e}; {hint}"))
                    }
                    _ => {
                        let delay = self.retry_delay;
                        self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
                        (delay, e.to_string())
                    }
                };
                // One log line per distinct problem, not one per retry.
                if self.last_problem.as_deref() != Some(message.as_str()) {
                    log::error!(
                        "cannot get an access token: {message} (next try in {}s)",
                        delay.as_secs()
                    );
                }
                self.last_problem = Some(message.clone());
                self.next_fetch = Some(std::time::Instant::now() + delay);
                self.tokens.publish(None, Some(message));
            }
        }
    }

    /// Refresh ahead of expiry: a tenth of the lifetime early, at most 5 minutes.
    fn schedule_refresh(&mut self, token: &StoredToken) {
        let left = Duration::from_secs(token.expires_at.saturating_sub(unix_now()));
        let margin = (left / 10).min(Duration::from_secs(300));
        self.next_fetch =
            Some(std::time::Instant::now() + (left - margin).max(MIN_REFRESH_INTERVAL));
    }
}
