//! A fake WeChat API server on loopback for the integration tests. It speaks
//! real HTTP/1.1 over real sockets and enforces the protocol the way WeChat
//! does (tokens that expire and get invalidated, `access_token` required, the
//! multipart field `media`, errcodes on bad input), records what it received,
//! and has knobs for delays and injected errors.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// WeChat's limit for an image upload.
const IMAGE_MAX_BYTES: usize = 10 * 1024 * 1024;
/// WeChat's limit for an image inside an article (`media/uploadimg`).
const ARTICLE_IMAGE_MAX_BYTES: usize = 1024 * 1024;
/// Where the fake's `uploadimg` URLs point, like WeChat's image host.
const IMAGE_HOST: &str = "http://mmbiz.qpic.cn/fake_article/";
const HEAD_MAX_BYTES: usize = 64 * 1024;
const BODY_MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub app_id: String,
    pub secret: String,
    /// Lifetime of a new token (WeChat: 7200 s).
    pub token_lifetime: Duration,
    /// How long a classic token stays valid after the next `/cgi-bin/token` call.
    pub classic_overlap: Duration,
    /// How long a temporary media_id stays usable (WeChat: 3 days).
    pub media_lifetime: Duration,
    /// When set, token calls from other addresses get 40164.
    pub ip_whitelist: Option<Vec<IpAddr>>,
    /// A verified account (认证). An unverified one gets 48001 (api
    /// unauthorized) from the menu, customer-service and permanent-material
    /// calls, as WeChat answers an unverified subscription account.
    pub verified: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            app_id: "wx0123456789abcdef".into(),
            secret: "fake0app0secret0123456789abcdef0".into(),
            token_lifetime: Duration::from_secs(7200),
            classic_overlap: Duration::from_secs(300),
            media_lifetime: Duration::from_secs(3 * 24 * 3600),
            ip_whitelist: None,
            verified: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    StableToken,
    Token,
    MediaUpload,
    AddMaterial,
    CustomSend,
    MenuCreate,
    MenuGet,
    MenuDelete,
    UploadImg,
    DraftAdd,
    DraftUpdate,
    PublishSubmit,
    PublishGet,
}

impl Endpoint {
    const ALL: [Endpoint; 13] = [
        Endpoint::StableToken,
        Endpoint::Token,
        Endpoint::MediaUpload,
        Endpoint::AddMaterial,
        Endpoint::CustomSend,
        Endpoint::MenuCreate,
        Endpoint::MenuGet,
        Endpoint::MenuDelete,
        Endpoint::UploadImg,
        Endpoint::DraftAdd,
        Endpoint::DraftUpdate,
        Endpoint::PublishSubmit,
        Endpoint::PublishGet,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::StableToken => "/cgi-bin/stable_token",
            Endpoint::Token => "/cgi-bin/token",
            Endpoint::MediaUpload => "/cgi-bin/media/upload",
            Endpoint::AddMaterial => "/cgi-bin/material/add_material",
            Endpoint::CustomSend => "/cgi-bin/message/custom/send",
            Endpoint::MenuCreate => "/cgi-bin/menu/create",
            Endpoint::MenuGet => "/cgi-bin/menu/get",
            Endpoint::MenuDelete => "/cgi-bin/menu/delete",
            Endpoint::UploadImg => "/cgi-bin/media/uploadimg",
            Endpoint::DraftAdd => "/cgi-bin/draft/add",
            Endpoint::DraftUpdate => "/cgi-bin/draft/update",
            Endpoint::PublishSubmit => "/cgi-bin/freepublish/submit",
            Endpoint::PublishGet => "/cgi-bin/freepublish/get",
        }
    }

    fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }

    /// Calls WeChat allows only verified accounts.
    fn requires_verified(self) -> bool {
        matches!(
            self,
            Endpoint::AddMaterial
                | Endpoint::CustomSend
                | Endpoint::MenuCreate
                | Endpoint::MenuGet
                | Endpoint::MenuDelete
                | Endpoint::PublishSubmit
                | Endpoint::PublishGet
        )
    }

    fn requires_post(self) -> bool {
        matches!(
            self,
            Endpoint::StableToken
                | Endpoint::MediaUpload
                | Endpoint::AddMaterial
                | Endpoint::CustomSend
                | Endpoint::MenuCreate
                | Endpoint::UploadImg
                | Endpoint::DraftAdd
                | Endpoint::DraftUpdate
                | Endpoint::PublishSubmit
                | Endpoint::PublishGet
        )
    }
}

/// A file received by `media/upload` or `material/add_material`.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub sha256_hex: String,
    pub size: usize,
    pub media_id: String,
    pub permanent: bool,
    pub at: SystemTime,
}

/// A customer-service message as a follower would get it.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub touser: String,
    pub msgtype: String,
    /// The text, the image's media_id, or the news article's title.
    pub content: String,
    pub body: Value,
}

/// A WeChat error: errcode and errmsg.
type WxError = (i64, String);

pub struct FakeApi {
    addr: SocketAddr,
    shared: Arc<Mutex<State>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeApi {
    pub fn start(config: FakeConfig) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake WeChat API");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(State::new(config)));
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (shared, stopping) = (shared.clone(), stopping.clone());
            thread::spawn(move || accept_loop(listener, shared, stopping))
        };
        FakeApi { addr, shared, stopping, acceptor: Some(acceptor) }
    }

    /// The value for `wechat.api_base`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> FakeConfig {
        self.state().config.clone()
    }

    /// Calls of `/cgi-bin/stable_token` and `/cgi-bin/token`, failed ones too.
    pub fn token_fetches(&self) -> usize {
        self.calls(Endpoint::StableToken) + self.calls(Endpoint::Token)
    }

    /// Calls of `media/upload`, failed ones too.
    pub fn uploads(&self) -> usize {
        self.calls(Endpoint::MediaUpload)
    }

    /// Calls of `material/add_material`, failed ones too.
    pub fn material_uploads(&self) -> usize {
        self.calls(Endpoint::AddMaterial)
    }

    /// Calls of `message/custom/send`, failed ones too.
    pub fn sends(&self) -> usize {
        self.calls(Endpoint::CustomSend)
    }

    /// Calls of every endpoint, failed ones too.
    pub fn total_calls(&self) -> usize {
        self.state().calls.values().sum()
    }

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.state().calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// Files accepted, oldest first.
    pub fn uploaded(&self) -> Vec<Upload> {
        self.state().uploads.clone()
    }

    /// Customer-service messages accepted, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.state().messages.clone()
    }

    pub fn menu(&self) -> Option<Value> {
        self.state().menu.clone()
    }

    /// The drafts in the draft box: media_id and the article as WeChat keeps it.
    pub fn drafts(&self) -> Vec<(String, Value)> {
        let mut drafts: Vec<(String, Value)> =
            self.state().drafts.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        drafts.sort_by(|a, b| a.0.cmp(&b.0));
        drafts
    }

    /// Deletes a draft, as the owner can in the admin console.
    pub fn delete_draft(&self, media_id: &str) {
        self.state().drafts.remove(media_id);
    }

    /// Deletes permanent material, as the owner can in the admin console.
    pub fn delete_material(&self, media_id: &str) {
        self.state().media_expiry.remove(media_id);
    }

    /// The image URLs `uploadimg` gave out.
    pub fn article_image_urls(&self) -> Vec<String> {
        self.state().image_urls.iter().cloned().collect()
    }

    /// The next call of `endpoint` is held unanswered until the fake stops
    /// (a stalled upload, for a kill -9 in the middle of one).
    pub fn stall_next(&self, endpoint: Endpoint) {
        self.state().stall.insert(endpoint);
    }

    /// How many calls are being held now.
    pub fn stalled(&self) -> usize {
        self.state().stalled
    }

    /// Whether a call with this token would pass the token check now.
    pub fn is_token_valid(&self, token: &str) -> bool {
        self.state().check_token(token).is_ok()
    }

    /// Whether this media_id could be sent now (known, temporary media not expired).
    pub fn is_media_live(&self, media_id: &str) -> bool {
        self.state().check_media(media_id).is_ok()
    }

    /// Every token issued so far becomes invalid (calls get 40001).
    pub fn invalidate_tokens(&self) {
        let mut state = self.state();
        let now = Instant::now();
        for token in state.tokens.values_mut() {
            token.revoke(now);
        }
        state.stable_current = None;
        state.classic_current = None;
    }

    /// Answers of `endpoint` wait this long after the request was processed,
    /// so a client that times out still had its request carried out.
    pub fn set_delay(&self, endpoint: Endpoint, delay: Duration) {
        self.state().delays.insert(endpoint, delay);
    }

    /// The next call of `endpoint` fails with `errcode` without being processed.
    pub fn fail_next(&self, endpoint: Endpoint, errcode: i64) {
        self.state().injected.entry(endpoint).or_default().push_back(errcode);
    }

    /// Messages to this follower get 45015 (the 48-hour window is closed).
    pub fn close_window(&self, openid: &str) {
        self.state().closed_windows.insert(openid.to_owned());
    }

    /// Stops accepting connections; requests in flight still finish.
    pub fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = TcpStream::connect(self.addr); // wakes the blocking accept
            let _ = acceptor.join();
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock().unwrap()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Protocol state

struct IssuedToken {
    expires_at: Instant,
    revoked_at: Option<Instant>,
}

impl IssuedToken {
    fn revoke(&mut self, at: Instant) {
        self.revoked_at = Some(self.revoked_at.map_or(at, |r| r.min(at)));
    }
}

struct State {
    config: FakeConfig,
    tokens: HashMap<String, IssuedToken>,
    // The stable and classic token calls hand out independent tokens.
    stable_current: Option<String>,
    classic_current: Option<String>,
    serial: u64,
    calls: HashMap<Endpoint, usize>,
    delays: HashMap<Endpoint, Duration>,
    injected: HashMap<Endpoint, VecDeque<i64>>,
    closed_windows: HashSet<String>,
    uploads: Vec<Upload>,
    media_expiry: HashMap<String, Option<Instant>>,
    messages: Vec<SentMessage>,
    menu: Option<Value>,
    image_urls: HashSet<String>,
    drafts: HashMap<String, Value>,
    /// publish_id -> (draft media_id, how often its status was asked).
    publishes: HashMap<String, (String, u32)>,
    stall: HashSet<Endpoint>,
    stalled: usize,
}

impl State {
    fn new(config: FakeConfig) -> State {
        State {
            config,
            tokens: HashMap::new(),
            stable_current: None,
            classic_current: None,
            serial: 0,
            calls: HashMap::new(),
            delays: HashMap::new(),
            injected: HashMap::new(),
            closed_windows: HashSet::new(),
            uploads: Vec::new(),
            media_expiry: HashMap::new(),
            messages: Vec::new(),
            menu: None,
            image_urls: HashSet::new(),
            drafts: HashMap::new(),
            publishes: HashMap::new(),
            stall: HashSet::new(),
            stalled: 0,
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        format!("{prefix}_{:06}_{nanos:09}", self.serial)
    }

    fn handle(
        &mut self,
        endpoint: Endpoint,
        request: &Request,
        peer: IpAddr,
    ) -> Result<Value, WxError> {
        *self.calls.entry(endpoint).or_default() += 1;
        if endpoint.requires_post() && request.method != "POST" {
            return Err(wx(43002));
        }
        if let Some(code) = self.injected.get_mut(&endpoint).and_then(VecDeque::pop_front) {
            return Err(if code == 40164 { not_whitelisted(peer) } else { wx(code) });
        }
        if endpoint.requires_verified() {
            self.authorize(request)?;
            if !self.config.verified {
                return Err(wx(48001));
            }
        }
        match endpoint {
            Endpoint::StableToken => self.stable_token(&request.body, peer),
            Endpoint::Token => self.classic_token(&request.query, peer),
            Endpoint::MediaUpload => self.upload(request, false),
            Endpoint::AddMaterial => self.upload(request, true),
            Endpoint::CustomSend => self.custom_send(request),
            Endpoint::MenuCreate => self.menu_create(request),
            Endpoint::MenuGet => self.menu_get(request),
            Endpoint::MenuDelete => self.menu_delete(request),
            Endpoint::UploadImg => self.upload_article_image(request),
            Endpoint::DraftAdd => self.draft_add(request),
            Endpoint::DraftUpdate => self.draft_update(request),
            Endpoint::PublishSubmit => self.publish_submit(request),
            Endpoint::PublishGet => self.publish_get(request),
        }
    }

    // --- tokens -------------------------------------------------------------

    fn check_credentials(
        &self,
        appid: Option<&str>,
        secret: Option<&str>,
        peer: IpAddr,
    ) -> Result<(), WxError> {
        let appid = appid.ok_or_else(|| wx(41002))?;
        let secret = secret.ok_or_else(|| wx(41004))?;
        if appid != self.config.app_id {
            return Err(wx(40013));
        }
        if secret != self.config.secret {
            return Err(wx(40125));
        }
        match &self.config.ip_whitelist {
            Some(list) if !list.contains(&peer) => Err(not_whitelisted(peer)),
            _ => Ok(()),
        }
    }

    fn stable_token(&mut self, body: &[u8], peer: IpAddr) -> Result<Value, WxError> {
        let body: Value = serde_json::from_slice(body).map_err(|_| wx(47001))?;
        if body["grant_type"] != "client_credential" {
            return Err(wx(40002));
        }
        self.check_credentials(body["appid"].as_str(), body["secret"].as_str(), peer)?;
        let force = match &body["force_refresh"] {
            Value::Null => false,
            Value::Bool(force) => *force,
            _ => return Err(wx(47001)),
        };
        let now = Instant::now();
        let current = self.stable_current.clone().filter(|t| self.check_token(t).is_ok());
        let (token, remaining) = match current {
            Some(token) if !force => {
                let remaining = self.tokens[&token].expires_at.saturating_duration_since(now);
                (token, remaining)
            }
            _ => {
                if let Some(old) = self.stable_current.as_ref().and_then(|t| self.tokens.get_mut(t))
                {
                    old.revoke(now);
                }
                let token = self.mint_token();
                self.stable_current = Some(token.clone());
                (token, self.config.token_lifetime)
            }
        };
        Ok(json!({"access_token": token, "expires_in": remaining.as_secs()}))
    }

    fn classic_token(
        &mut self,
        query: &HashMap<String, String>,
        peer: IpAddr,
    ) -> Result<Value, WxError> {
        if query.get("grant_type").map(String::as_str) != Some("client_credential") {
            return Err(wx(40002));
        }
        let field = |name: &str| query.get(name).map(String::as_str);
        self.check_credentials(field("appid"), field("secret"), peer)?;
        let overlap_end = Instant::now() + self.config.classic_overlap;
        if let Some(old) = self.classic_current.as_ref().and_then(|t| self.tokens.get_mut(t)) {
            old.revoke(overlap_end);
        }
        let token = self.mint_token();
        self.classic_current = Some(token.clone());
        Ok(json!({"access_token": token, "expires_in": self.config.token_lifetime.as_secs()}))
    }

    fn mint_token(&mut self) -> String {
        let token = self.next_id("FAKE_TOKEN");
        let expires_at = Instant::now() + self.config.token_lifetime;
        self.tokens.insert(token.clone(), IssuedToken { expires_at, revoked_at: None });
        token
    }

    fn check_token(&self, token: &str) -> Result<(), WxError> {
        let issued = self.tokens.get(token).ok_or_else(|| wx(40001))?;
        let now = Instant::now();
        if issued.revoked_at.is_some_and(|at| at <= now) {
            return Err(wx(40001));
        }
        if issued.expires_at <= now {
            return Err(wx(42001));
        }
        Ok(())
    }

    fn authorize(&self, request: &Request) -> Result<(), WxError> {
        let token =
            request.query.get("access_token").filter(|t| !t.is_empty()).ok_or_else(|| wx(41001))?;
        self.check_token(token)
    }

    // --- media ----------------------------------------------------------------

    fn upload(&mut self, request: &Request, permanent: bool) -> Result<Value, WxError> {
        self.authorize(request)?;
        if request.query.get("type").map(String::as_str) != Some("image") {
            return Err(wx(40004));
        }
        let (media, file_name) = media_field(request)?;
        let content_type = media.content_type.unwrap_or_default();
        let declared_image =
            ["image/jpeg", "image/png", "image/gif"].contains(&content_type.as_str());
        if !declared_image || !has_image_extension(&file_name) || !has_image_magic(&media.data) {
            return Err(wx(40005));
        }
        if media.data.len() > IMAGE_MAX_BYTES {
            return Err(wx(40009));
        }
        let media_id = self.next_id(if permanent { "MATERIAL" } else { "MEDIA" });
        let expiry = (!permanent).then(|| Instant::now() + self.config.media_lifetime);
        self.media_expiry.insert(media_id.clone(), expiry);
        self.uploads.push(Upload {
            file_name,
            content_type,
            sha256_hex: sha256_hex(&media.data),
            size: media.data.len(),
            media_id: media_id.clone(),
            permanent,
            at: SystemTime::now(),
        });
        if permanent {
            let url = format!("http://mmbiz.qpic.cn/fake/{media_id}/0?wx_fmt=png");
            Ok(json!({"media_id": media_id, "url": url}))
        } else {
            Ok(json!({"type": "image", "media_id": media_id, "created_at": unix_now()}))
        }
    }

    fn check_media(&self, media_id: &str) -> Result<(), WxError> {
        match self.media_expiry.get(media_id) {
            Some(None) => Ok(()),
            Some(Some(expiry)) if Instant::now() < *expiry => Ok(()),
            _ => Err(wx(40007)),
        }
    }

    // --- articles: images, drafts, publishing ---------------------------------

    /// `media/uploadimg`: JPEG or PNG only, at most 1 MB, field `media`; no
    /// `type` parameter.
    fn upload_article_image(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let (media, file_name) = media_field(request)?;
        let jpeg_or_png = media.data.starts_with(&[0xFF, 0xD8, 0xFF])
            || media.data.starts_with(b"\x89PNG\r\n\x1a\n");
        if !jpeg_or_png || !has_image_extension(&file_name) || file_name.ends_with(".gif") {
            return Err(wx(40005));
        }
        if media.data.len() > ARTICLE_IMAGE_MAX_BYTES {
            return Err(wx(40009));
        }
        let url = format!("{IMAGE_HOST}{}/0?wx_fmt=png", self.next_id("IMG"));
        self.image_urls.insert(url.clone());
        self.uploads.push(Upload {
            file_name,
            content_type: media.content_type.unwrap_or_default(),
            sha256_hex: sha256_hex(&media.data),
            size: media.data.len(),
            media_id: url.clone(),
            permanent: false,
            at: SystemTime::now(),
        });
        Ok(json!({ "url": url }))
    }

    /// WeChat's rules for one article of a draft.
    fn check_article(&self, article: &Value) -> Result<(), WxError> {
        let text = |field: &str| article[field].as_str().unwrap_or("");
        let chars = |field: &str| text(field).chars().count();
        if text("title").is_empty() {
            return Err(wx(44003));
        }
        if chars("title") > 32 {
            return Err(wx(45003));
        }
        if chars("author") > 16 {
            return Err(wx(45110));
        }
        if chars("digest") > 128 {
            return Err(wx(45004));
        }
        let content = text("content");
        if content.is_empty() {
            return Err(wx(44004));
        }
        if content.chars().count() >= 20_000 || content.len() >= 1024 * 1024 {
            return Err(wx(45002));
        }
        let thumb = text("thumb_media_id");
        if thumb.is_empty() || self.media_expiry.get(thumb) != Some(&None) {
            return Err(wx(40007));
        }
        let lower = content.to_ascii_lowercase();
        for stripped in ["<style", "<script", " class=", " id="] {
            if lower.contains(stripped) {
                return Err((
                    45166,
                    format!("invalid content: WeChat strips {stripped} rid: fake-45166"),
                ));
            }
        }
        for src in content.split("<img").skip(1).map(|tag| attribute(tag, "src")) {
            if !src.as_deref().is_some_and(|s| self.image_urls.contains(s)) {
                return Err((
                    45166,
                    format!("invalid content: image {src:?} is not from uploadimg rid: fake-45166"),
                ));
            }
        }
        Ok(())
    }

    fn draft_add(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let body: Value = serde_json::from_slice(&request.body).map_err(|_| wx(47001))?;
        let articles =
            body["articles"].as_array().filter(|a| !a.is_empty()).ok_or_else(|| wx(44003))?;
        for article in articles {
            self.check_article(article)?;
        }
        let media_id = self.next_id("DRAFT");
        self.drafts.insert(media_id.clone(), articles[0].clone());
        Ok(json!({ "media_id": media_id }))
    }

    fn draft_update(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let body: Value = serde_json::from_slice(&request.body).map_err(|_| wx(47001))?;
        let media_id = body["media_id"].as_str().ok_or_else(|| wx(40007))?.to_owned();
        if !self.drafts.contains_key(&media_id) {
            return Err(wx(40007));
        }
        if body["index"].as_u64() != Some(0) {
            return Err(wx(47001));
        }
        let article = &body["articles"];
        if !article.is_object() {
            return Err(wx(47001));
        }
        self.check_article(article)?;
        self.drafts.insert(media_id, article.clone());
        Ok(ok())
    }

    fn publish_submit(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let body: Value = serde_json::from_slice(&request.body).map_err(|_| wx(47001))?;
        let media_id = body["media_id"].as_str().ok_or_else(|| wx(40007))?.to_owned();
        if !self.drafts.contains_key(&media_id) {
            return Err(wx(40007));
        }
        self.serial += 1;
        let publish_id = format!("{}", 2_247_000_000u64 + self.serial);
        self.publishes.insert(publish_id.clone(), (media_id, 0));
        Ok(json!({"errcode": 0, "errmsg": "ok", "publish_id": publish_id}))
    }

    /// Publishing takes a moment: the first question answers "publishing".
    fn publish_get(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let body: Value = serde_json::from_slice(&request.body).map_err(|_| wx(47001))?;
        let publish_id = body["publish_id"].as_str().ok_or_else(|| wx(47001))?.to_owned();
        let (media_id, asked) = self.publishes.get_mut(&publish_id).ok_or_else(|| wx(48005))?;
        *asked += 1;
        if *asked == 1 {
            return Ok(json!({"publish_id": publish_id, "publish_status": 1}));
        }
        let url = format!("https://mp.weixin.qq.com/s/FAKE_{media_id}");
        Ok(json!({
            "publish_id": publish_id,
            "publish_status": 0,
            "article_id": format!("ARTICLE_{media_id}"),
            "article_detail": {"count": 1, "item": [{"idx": 1, "article_url": url}]},
            "fail_idx": []
        }))
    }

    // --- customer-service messages --------------------------------------------

    fn custom_send(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let body: Value = serde_json::from_slice(&request.body).map_err(|_| wx(47001))?;
        let touser = body["touser"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| wx(40003))?;
        let msgtype = body["msgtype"].as_str().ok_or_else(|| wx(47001))?;
        let content = match msgtype {
            "text" => body["text"]["content"]
                .as_str()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| wx(44004))?,
            "image" => {
                let media_id = body["image"]["media_id"].as_str().ok_or_else(|| wx(47001))?;
                self.check_media(media_id)?;
                media_id
            }
            "news" => {
                let articles = body["news"]["articles"]
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| wx(44003))?;
                if articles.len() > 1 {
                    return Err(wx(45008));
                }
                articles[0]["title"].as_str().ok_or_else(|| wx(47001))?
            }
            _ => return Err(wx(40008)),
        };
        if self.closed_windows.contains(touser) {
            return Err(wx(45015));
        }
        self.messages.push(SentMessage {
            touser: touser.to_owned(),
            msgtype: msgtype.to_owned(),
            content: content.to_owned(),
            body: body.clone(),
        });
        Ok(ok())
    }

    // --- menu -------------------------------------------------------------------

    fn menu_create(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let menu: Value = serde_json::from_slice(&request.body).map_err(|_| wx(47001))?;
        let buttons = menu["button"].as_array().map_or(0, Vec::len);
        if !(1..=3).contains(&buttons) {
            return Err(wx(40016));
        }
        self.menu = Some(menu);
        Ok(ok())
    }

    fn menu_get(&self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        let menu = self.menu.clone().ok_or_else(|| wx(46003))?;
        Ok(json!({ "menu": menu }))
    }

    fn menu_delete(&mut self, request: &Request) -> Result<Value, WxError> {
        self.authorize(request)?;
        self.menu = None;
        Ok(ok())
    }
}

fn ok() -> Value {
    json!({"errcode": 0, "errmsg": "ok"})
}

/// An error with WeChat's wording.
fn wx(code: i64) -> WxError {
    let message = match code {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40004 => "invalid media type",
        40005 => "invalid file type",
        40006 => "invalid meida size",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40009 => "invalid image size",
        40013 => "invalid appid",
        40016 => "invalid button size",
        40125 => "invalid appsecret",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        41005 => "media data missing",
        42001 => "access_token expired",
        43002 => "require POST method",
        44003 => "empty news data",
        44004 => "empty content",
        45002 => "content size out of limit",
        45003 => "title size out of limit",
        45004 => "description size out of limit",
        45008 => "article size out of limit",
        45110 => "author size out of limit",
        48005 => "api forbidden for publish_id",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        45015 => "response out of time limit or subscription is canceled",
        45047 => "out of response count limit",
        46003 => "menu no exist",
        47001 => "data format error",
        48001 => "api unauthorized",
        _ => "fake error",
    };
    (code, format!("{message} rid: fake-{code}"))
}

fn not_whitelisted(peer: IpAddr) -> WxError {
    let v4 = match peer {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => ip.to_ipv4_mapped().map(|ip| ip.to_string()).unwrap_or_default(),
    };
    let v6 = match peer {
        IpAddr::V4(ip) => ip.to_ipv6_mapped().to_string(),
        IpAddr::V6(ip) => ip.to_string(),
    };
    (40164, format!("invalid ip {v4} ipv6 {v6}, not in whitelist rid: fake-40164"))
}

/// The value of `name="…"` in the rest of a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&"))
}

fn has_image_extension(file_name: &str) -> bool {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    ["jpg", "jpeg", "png", "gif"].contains(&ext.as_str())
}

fn has_image_magic(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xD8, 0xFF])
        || data.starts_with(b"\x89PNG\r\n\x1a\n")
        || data.starts_with(b"GIF87a")
        || data.starts_with(b"GIF89a")
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

// ---------------------------------------------------------------------------
// HTTP: one request per connection, Content-Length bodies only

fn accept_loop(listener: TcpListener, shared: Arc<Mutex<State>>, stopping: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = shared.clone();
        let stopping = stopping.clone();
        thread::spawn(move || serve_connection(stream, &shared, &stopping));
    }
}

fn serve_connection(mut stream: TcpStream, shared: &Mutex<State>, stopping: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(peer) = stream.peer_addr() else { return };
    let request = match read_request(&mut stream) {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(_) => return write_response(&mut stream, 400, "text/plain", b"bad request"),
    };
    let Some(endpoint) = Endpoint::from_path(&request.path) else {
        return write_response(&mut stream, 404, "text/html", b"<html>404 Not Found</html>");
    };
    let stall = {
        let mut state = shared.lock().unwrap();
        let stall = state.stall.remove(&endpoint);
        state.stalled += usize::from(stall);
        stall
    };
    if stall {
        // Held, never processed: what a client killed meanwhile leaves behind.
        while !stopping.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    let (answer, delay) = {
        let mut state = shared.lock().unwrap();
        let answer = state
            .handle(endpoint, &request, peer.ip())
            .unwrap_or_else(|(code, message)| json!({"errcode": code, "errmsg": message}));
        (answer, state.delays.get(&endpoint).copied())
    };
    if let Some(delay) = delay {
        thread::sleep(delay);
    }
    write_response(
        &mut stream,
        200,
        "application/json; encoding=utf-8",
        answer.to_string().as_bytes(),
    );
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    /// Lower-case names.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// `None` when the peer closed without sending anything (the stop() wake-up).
fn read_request(stream: &mut TcpStream) -> io::Result<Option<Request>> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > HEAD_MAX_BYTES {
            return Err(invalid("head too large"));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return if buffer.is_empty() { Ok(None) } else { Err(invalid("truncated head")) };
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let mut body = buffer.split_off(head_end + 4);
    let head = std::str::from_utf8(&buffer[..head_end]).map_err(|_| invalid("head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(_version)) =
        (request_line.next(), request_line.next(), request_line.next())
    else {
        return Err(invalid("bad request line"));
    };
    let mut headers = HashMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| invalid("bad header"))?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    if headers.contains_key("transfer-encoding") {
        return Err(invalid("only Content-Length bodies"));
    }
    let length: usize = match headers.get("content-length") {
        Some(value) => value.parse().map_err(|_| invalid("bad Content-Length"))?,
        None => 0,
    };
    if length > BODY_MAX_BYTES {
        return Err(invalid("body too large"));
    }
    if body.len() < length {
        let missing = length - body.len();
        let mut rest = vec![0u8; missing];
        stream.read_exact(&mut rest)?;
        body.extend_from_slice(&rest);
    }
    body.truncate(length);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: parse_query(query),
        headers,
        body,
    }))
}

fn write_response(stream: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // The client may have given up (a timeout test); that is not our error.
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// multipart/form-data

struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';').map(str::trim);
    if !params.next()?.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
}

/// `None` when the body is not well-formed multipart with this boundary.
/// The multipart field `media` every upload sends, with its file name: 41005
/// when it is missing or has no name, 40006 when it is empty.
fn media_field(request: &Request) -> Result<(Part, String), WxError> {
    let boundary =
        request.header("content-type").and_then(multipart_boundary).ok_or_else(|| wx(41005))?;
    let parts = parse_multipart(&request.body, &boundary).ok_or_else(|| wx(41005))?;
    let mut media = parts.into_iter().find(|p| p.name == "media").ok_or_else(|| wx(41005))?;
    let file_name = media.file_name.take().ok_or_else(|| wx(41005))?;
    if media.data.is_empty() {
        return Err(wx(40006));
    }
    Ok((media, file_name))
}

fn parse_multipart(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, next_delimiter.as_bytes())?;
        parts.push(parse_part(&rest[..end])?);
        rest = &rest[end + next_delimiter.len()..];
    }
}

fn parse_part(part: &[u8]) -> Option<Part> {
    let head_end = find(part, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&part[..head_end]).ok()?;
    let mut result = Part {
        name: String::new(),
        file_name: None,
        content_type: None,
        data: part[head_end + 4..].to_vec(),
    };
    for line in head.split("\r\n") {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => {
                for param in value.split(';').map(str::trim) {
                    match param.split_once('=') {
                        Some(("name", v)) => result.name = v.trim_matches('"').to_owned(),
                        Some(("filename", v)) => {
                            result.file_name = Some(v.trim_matches('"').to_owned())
                        }
                        _ => {}
                    }
                }
            }
            "content-type" => result.content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    Some(result)
}
