//! The owner's articles into WeChat's draft box: upload what the draft
//! needs (images by content hash, so an edit uploads only new ones; the
//! cover as permanent material), then `draft/add`, or `draft/update` of the
//! draft made before; publish it. `zatan articles` and the control socket
//! call [`Drafter`] directly, sync mode (`draft_sync`) through jobs.
//!
//! Every upload and the draft record are each one store write, so a kill -9
//! at any moment leaves a state the next attempt resumes from: uploads done
//! are not repeated, and the draft is made once its images are all there.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::token::{CallError, Tokens};
use crate::articles::wechat::{prepare, LocalImage, Prepared, Refusal, Settings};
use crate::articles::EXTENSION;
use crate::clock::unix_now;
use crate::store::{ArticleDraft, ArticleImage, PublishedArticle, Store, StoreError};
use crate::wechat::api::{
    ApiClient, ApiError, DraftArticle, ErrorAction, MediaType, PublishStatus,
};

const TOKEN_WAIT: Duration = Duration::from_secs(15);

/// What a draft run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drafted {
    /// The draft already shows this version; nothing was sent.
    Unchanged(String),
    Added(String),
    Updated(String),
    /// The old draft was gone from WeChat (40007): a new one was made.
    Readded(String),
}

impl Drafted {
    pub fn media_id(&self) -> &str {
        match self {
            Drafted::Unchanged(id)
            | Drafted::Added(id)
            | Drafted::Updated(id)
            | Drafted::Readded(id) => id,
        }
    }
}

/// Why a draft or a publication failed.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftError {
    /// The article breaks a rule of WeChat's, or the account may not do
    /// this: the owner's to fix (exit 2), never worth a retry.
    Refused(String),
    /// The call failed; `retry` when trying again later may work.
    Failed { words: String, retry: bool },
}

impl std::fmt::Display for DraftError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DraftError::Refused(words) | DraftError::Failed { words, .. } => f.write_str(words),
        }
    }
}

impl From<Refusal> for DraftError {
    fn from(refusal: Refusal) -> DraftError {
        DraftError::Refused(refusal.to_string())
    }
}

impl From<StoreError> for DraftError {
    fn from(e: StoreError) -> DraftError {
        DraftError::Failed { words: e.to_string(), retry: true }
    }
}

/// What an API failure means while drafting, in words.
fn api_failure(what: &str, error: CallError) -> DraftError {
    let words = format!("{what}: {error}");
    match error {
        CallError::Token(_) => DraftError::Failed { words, retry: true },
        CallError::Api(ApiError::Wechat { code, action, .. }) => match action {
            ErrorAction::NotVerified => DraftError::Refused(format!(
                "{what}: WeChat error {code}: the account may not use this API (48001, api \
                 unauthorized); covers are permanent material and publishing needs a verified \
                 account (认证): verify it in the admin console"
            )),
            ErrorAction::FixConfig(_) => DraftError::Refused(words),
            ErrorAction::DailyQuota => DraftError::Failed {
                words: format!("{what}: the account's daily quota for this call is used up (45009); try again tomorrow"),
                retry: true,
            },
            ErrorAction::RetryLater | ErrorAction::MinuteQuota | ErrorAction::RefreshToken => {
                DraftError::Failed { words, retry: true }
            }
            _ if code == 40007 => DraftError::Refused(format!(
                "{what}: WeChat no longer has a media_id this needs (40007, invalid media_id)"
            )),
            _ => DraftError::Refused(words),
        },
        CallError::Api(ApiError::Invalid(_)) => DraftError::Refused(words),
        CallError::Api(_) => DraftError::Failed { words, retry: true },
    }
}

/// Makes and updates drafts; one per CLI run, or shared by the drafts
/// thread and the control socket in the server.
#[derive(Clone)]
pub struct Drafter {
    pub store: Arc<Store>,
    pub api: ApiClient,
    pub tokens: Tokens,
    pub settings: Settings,
    /// One draft at a time: two at once of the same article would both find
    /// no record and make two drafts.
    one_at_a_time: Arc<Mutex<()>>,
}

impl Drafter {
    pub fn new(store: Arc<Store>, api: ApiClient, tokens: Tokens, settings: Settings) -> Drafter {
        Drafter { store, api, tokens, settings, one_at_a_time: Arc::default() }
    }

    /// The article `slug` checked and read; no call made.
    pub fn prepare(&self, slug: &str) -> Result<Prepared, Refusal> {
        prepare(slug, &self.settings)
    }

    /// Brings the draft of `slug` up to date.
    pub fn draft(&self, slug: &str) -> Result<Drafted, DraftError> {
        let _alone = self.one_at_a_time.lock().unwrap_or_else(|p| p.into_inner());
        let prepared = self.prepare(slug)?;
        let before = self.store.article_draft(slug)?;
        if let Some(before) = before.as_ref().filter(|d| d.hash == prepared.hash) {
            return Ok(Drafted::Unchanged(before.media_id.clone()));
        }
        let mut urls = Vec::with_capacity(prepared.images.len());
        for image in &prepared.images {
            urls.push((image.dest.clone(), self.uploaded(image, false)?));
        }
        let thumb_media_id = self.uploaded(&prepared.cover, true)?;
        let url_of = |image: &LocalImage| {
            urls.iter()
                .find(|(dest, _)| *dest == image.dest)
                .map(|(_, u)| u.clone())
                .unwrap_or_default()
        };
        let mut article = DraftArticle {
            title: prepared.title.clone(),
            author: prepared.author.clone(),
            digest: prepared.digest.clone(),
            content: prepared.content(&url_of)?,
            content_source_url: prepared.content_source_url.clone(),
            thumb_media_id,
            need_open_comment: u8::from(prepared.need_open_comment),
            only_fans_can_comment: 0,
        };
        let drafted = match &before {
            None => Drafted::Added(self.add(&prepared, &mut article)?),
            Some(before) => {
                match self
                    .tokens
                    .call(TOKEN_WAIT, |t| self.api.draft_update(t, &before.media_id, &article))
                {
                    Ok(()) => Drafted::Updated(before.media_id.clone()),
                    Err(CallError::Api(ApiError::Wechat { code: 40007, .. })) => {
                        log::info!(
                            "the draft of {slug} ({}) is gone from WeChat's draft box (40007); making a new one",
                            before.media_id
                        );
                        Drafted::Readded(self.add(&prepared, &mut article)?)
                    }
                    Err(e) => return Err(api_failure("draft/update", e)),
                }
            }
        };
        let record = ArticleDraft {
            hash: prepared.hash.clone(),
            media_id: drafted.media_id().to_string(),
            drafted_at: unix_now(),
            published: None,
        };
        self.store.save_article_draft(slug, &record)?;
        Ok(drafted)
    }

    /// `draft/add`. A 40007 then means WeChat no longer has the cover
    /// material (deleted in the console): it is uploaded again, once.
    fn add(&self, prepared: &Prepared, article: &mut DraftArticle) -> Result<String, DraftError> {
        match self.tokens.call(TOKEN_WAIT, |t| self.api.draft_add(t, article)) {
            Err(CallError::Api(ApiError::Wechat { code: 40007, .. })) => {
                log::info!(
                    "WeChat no longer has the cover of {} (40007); uploading it again",
                    prepared.slug
                );
                self.store.forget_article_image(&prepared.cover.hash, true)?;
                article.thumb_media_id = self.uploaded(&prepared.cover, true)?;
                self.tokens
                    .call(TOKEN_WAIT, |t| self.api.draft_add(t, article))
                    .map_err(|e| api_failure("draft/add", e))
            }
            other => other.map_err(|e| api_failure("draft/add", e)),
        }
    }

    /// The WeChat URL (an article image) or media_id (the cover) of `image`,
    /// uploaded now unless an earlier upload of the same content is recorded.
    fn uploaded(&self, image: &LocalImage, cover: bool) -> Result<String, DraftError> {
        if let Some(known) = self.store.article_image(&image.hash, cover)? {
            return Ok(known.wechat);
        }
        log::info!("uploading {} {}", if cover { "cover" } else { "image" }, image.name);
        let wechat = if cover {
            self.tokens
                .call(TOKEN_WAIT, |t| {
                    self.api.add_material(t, MediaType::Image, &image.name, &image.bytes)
                })
                .map(|m| m.media_id)
                .map_err(|e| api_failure(&format!("cover {}", image.name), e))?
        } else {
            self.tokens
                .call(TOKEN_WAIT, |t| self.api.upload_article_image(t, &image.name, &image.bytes))
                .map_err(|e| api_failure(&format!("image {}", image.name), e))?
        };
        self.store.save_article_image(
            &image.hash,
            cover,
            &ArticleImage { wechat: wechat.clone(), uploaded_at: unix_now() },
        )?;
        Ok(wechat)
    }

    /// Publishes the draft of `slug` (`freepublish/submit`) and follows it
    /// until WeChat says it is out or failed; the article's URL.
    pub fn publish(
        &self,
        slug: &str,
        poll: Duration,
        give_up: Duration,
    ) -> Result<Option<String>, DraftError> {
        let Some(mut record) = self.store.article_draft(slug)? else {
            return Err(DraftError::Refused(format!(
                "{slug} has no draft yet: run `zatan articles draft {slug}`"
            )));
        };
        let publish_id = self
            .tokens
            .call(TOKEN_WAIT, |t| self.api.publish_submit(t, &record.media_id))
            .map_err(|e| api_failure("freepublish/submit", e))?;
        log::info!("publishing {slug} (publish_id {publish_id})");
        let deadline = Instant::now() + give_up;
        loop {
            let status = self
                .tokens
                .call(TOKEN_WAIT, |t| self.api.publish_status(t, &publish_id))
                .map_err(|e| api_failure("freepublish/get", e))?;
            match status {
                PublishStatus::Published { article_url } => {
                    record.published = Some(PublishedArticle { hash: record.hash.clone(), url: article_url.clone(), at: unix_now() });
                    self.store.save_article_draft(slug, &record)?;
                    return Ok(article_url);
                }
                PublishStatus::Failed(why) => {
                    return Err(DraftError::Failed { words: format!("WeChat did not publish {slug}: {why}"), retry: false })
                }
                PublishStatus::Publishing if Instant::now() >= deadline => {
                    return Err(DraftError::Failed {
                        words: format!(
                            "WeChat is still publishing {slug} (publish_id {publish_id}) after {} s; see the admin console's 发表记录",
                            give_up.as_secs()
                        ),
                        retry: false,
                    })
                }
                PublishStatus::Publishing => std::thread::sleep(poll),
            }
        }
    }
}

/// How often `--publish` asks WeChat how the publication goes, and for how long.
const PUBLISH_POLL: Duration = Duration::from_secs(1);
const PUBLISH_GIVE_UP: Duration = Duration::from_secs(300);

/// `zatan articles draft SLUG [--publish]`: what it prints. `verified` is
/// `wechat.verified`.
pub fn draft_report(
    drafter: &Drafter,
    verified: bool,
    slug: &str,
    publish: bool,
) -> Result<String, DraftError> {
    let drafted = drafter.draft(slug)?;
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
    if !verified {
        return Err(DraftError::Refused(format!(
            "{out}\nnot published: since July 2025 WeChat lets only verified accounts (认证) publish \
             through the API, and wechat.verified = false. The draft is ready in the draft box \
             (草稿箱): publish it by hand in the admin console (mp.weixin.qq.com)"
        )));
    }
    match drafter.publish(slug, PUBLISH_POLL, PUBLISH_GIVE_UP)? {
        Some(url) => out.push_str(&format!("\npublished: {url}")),
        None => out.push_str("\npublished (WeChat gave no address; see 发表记录 in the console)"),
    }
    Ok(out)
}

/// `zatan articles list`: each article file with its draft state; no call made.
pub fn list_report(store: &Store, settings: &Settings) -> Result<String, DraftError> {
    let dir = &settings.articles_dir;
    let files = crate::fsutil::list_files(dir).map_err(|e| {
        DraftError::Refused(format!("cannot list articles.dir {}: {e}", dir.display()))
    })?;
    let mut lines = Vec::new();
    for (name, _) in files {
        let Some(slug) = name.strip_suffix(EXTENSION).filter(|s| !s.starts_with('.')) else {
            continue;
        };
        let record = store.article_draft(slug)?;
        let (hash, problem) = match prepare(slug, settings) {
            Ok(prepared) => (Some(prepared.hash), None),
            Err(refusal) => (None, Some(refusal.to_string())),
        };
        let mut line = format!("{slug}\t{}", draft_state(record.as_ref(), hash.as_deref()));
        if let Some(problem) = problem {
            line.push_str(&format!("\t(cannot be drafted: {problem})"));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Ok(format!("no articles in {}", dir.display()));
    }
    Ok(lines.join("\n"))
}

/// What `zatan articles list` shows of an article's draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftState {
    None,
    Drafted(String),
    ChangedSince(String),
    Published(Option<String>),
}

impl std::fmt::Display for DraftState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DraftState::None => f.write_str("none"),
            DraftState::Drafted(id) => write!(f, "drafted ({id})"),
            DraftState::ChangedSince(id) => write!(f, "changed since drafted ({id})"),
            DraftState::Published(Some(url)) => write!(f, "published {url}"),
            DraftState::Published(None) => f.write_str("published"),
        }
    }
}

/// The draft state of an article whose current draft hash is `hash` (None
/// when it cannot be drafted as it is).
pub fn draft_state(record: Option<&ArticleDraft>, hash: Option<&str>) -> DraftState {
    let Some(record) = record else { return DraftState::None };
    let current = hash == Some(record.hash.as_str());
    match &record.published {
        Some(published) if current && published.hash == record.hash => {
            DraftState::Published(published.url.clone())
        }
        _ if current => DraftState::Drafted(record.media_id.clone()),
        _ => DraftState::ChangedSince(record.media_id.clone()),
    }
}
