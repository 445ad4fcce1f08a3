//! The picture uploader: keeps every picture in `pictures.dir` uploaded to
//! WeChat, so that a follower who asks gets one at once. Uploads happen here,
//! on this thread, never on the request path; the bot only reads the list of
//! ready pictures this thread publishes.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::token::{CallError, Tokens};
use super::watcher::FileEvent;
use super::Service;
use crate::clock::unix_now;
use crate::digest::sha256_hex;
use crate::fsutil::list_files;
use crate::pictures::{ReadyPicture, ReadyPictures};
use crate::shutdown::Shutdown;
use crate::store::{MediaRecord, Store};
use crate::wechat::api::{
    image_content_type, ApiClient, ApiError, ErrorAction, MediaType, IMAGE_MAX_BYTES,
};

const TOKEN_WAIT: Duration = Duration::from_secs(10);
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(600);
/// WeChat's daily upload quota resets at midnight Beijing time; an hour's wait
/// is simpler and costs at most a few pointless calls a day.
const QUOTA_WAIT: Duration = Duration::from_secs(3600);

pub struct PictureUploader {
    pub dir: PathBuf,
    pub api: ApiClient,
    pub tokens: Tokens,
    pub store: Arc<Store>,
    /// How long WeChat keeps temporary media.
    pub media_lifetime: Duration,
    /// Upload permanent material (verified accounts) instead of temporary media.
    pub permanent: bool,
    pub ready: ReadyPictures,
}

/// What the uploader knows about one file in the directory.
struct Picture {
    record: Option<MediaRecord>,
    /// The record describes the file as it is now (same content hash).
    current: bool,
    /// When to look at the file next (upload, retry, or re-upload).
    due: Option<Instant>,
    retry: Duration,
}

/// The uploader at work: what it knows of each file, and its inbox and
/// shutdown, which a long round of uploads looks at between uploads.
struct Uploading {
    uploader: PictureUploader,
    pictures: BTreeMap<String, Picture>,
    inbox: Receiver<FileEvent>,
    shutdown: Shutdown,
}

/// The uploader after its look at the directory: what is ready is published.
pub struct Reconciled {
    uploader: PictureUploader,
    pictures: BTreeMap<String, Picture>,
}

impl Reconciled {
    pub fn run(self, inbox: Receiver<FileEvent>, shutdown: &Shutdown) {
        let mut uploading = Uploading {
            uploader: self.uploader,
            pictures: self.pictures,
            inbox: inbox.clone(),
            shutdown: shutdown.clone(),
        };
        super::run(&mut uploading, &inbox, shutdown);
    }
}

impl PictureUploader {
    /// Match the directory against the store and publish the pictures that
    /// are ready: what a follower can be sent before any upload.
    pub fn reconciled(self) -> Reconciled {
        let pictures = self.reconcile();
        self.publish(&pictures);
        Reconciled { uploader: self, pictures }
    }

    /// Match the directory against the store: records of files that are gone
    /// are forgotten, files whose content or media is stale are due now.
    fn reconcile(&self) -> BTreeMap<String, Picture> {
        let mut records: HashMap<String, MediaRecord> = match self.store.media() {
            Ok(records) => records.into_iter().collect(),
            Err(e) => {
                log::error!("cannot read picture records: {e}");
                HashMap::new()
            }
        };
        let files = list_files(&self.dir).unwrap_or_else(|e| {
            log::error!("cannot list pictures.dir {}: {e}", self.dir.display());
            Vec::new()
        });
        let mut pictures = BTreeMap::new();
        for (name, path) in files {
            let record = records.remove(&name);
            let current = match (&record, std::fs::read(&path)) {
                (Some(record), Ok(bytes)) => record.hash == sha256_hex(&bytes),
                _ => false,
            };
            let mut picture = Picture { record, current, due: None, retry: RETRY_FIRST };
            picture.due = if current {
                self.reupload_due(picture.record.as_ref())
            } else {
                Some(Instant::now())
            };
            pictures.insert(name, picture);
        }
        for name in records.into_keys() {
            self.forget(&name);
        }
        log::info!("pictures: {} in {}", pictures.len(), self.dir.display());
        pictures
    }

    /// Upload `name` if it needs it. False when the file should be dropped
    /// (gone, not an image, too big).
    fn refresh(&self, name: &str, picture: &mut Picture) -> bool {
        let bytes = match std::fs::read(self.dir.join(name)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.forget(name);
                return false;
            }
            Err(e) => {
                log::warn!("cannot read picture {name}: {e}");
                return retry_later(picture, RETRY_MAX);
            }
        };
        if bytes.len() > IMAGE_MAX_BYTES {
            log::warn!("skipping picture {name}: {} bytes is over WeChat's image limit of {IMAGE_MAX_BYTES}", bytes.len());
            self.forget(name);
            return false;
        }
        if image_content_type(name, &bytes).is_none() {
            log::info!("skipping {name}: not a JPEG, PNG or GIF image");
            self.forget(name);
            return false;
        }
        let hash = sha256_hex(&bytes);
        picture.current = picture.record.as_ref().is_some_and(|r| r.hash == hash);
        if picture.current {
            let due = self.reupload_due(picture.record.as_ref());
            if due.is_none_or(|d| d > Instant::now()) {
                picture.due = due;
                return true;
            }
        }
        match self.upload(name, &bytes) {
            Ok(media_id) => {
                let record = MediaRecord {
                    hash,
                    media_id,
                    uploaded_at: unix_now(),
                    permanent: self.permanent,
                };
                if let Err(e) = self.store.save_media(name, &record) {
                    log::error!("uploaded {name} but cannot record it: {e}");
                }
                log::info!("uploaded picture {name} ({} bytes)", bytes.len());
                picture.due = self.reupload_due(Some(&record));
                picture.record = Some(record);
                picture.current = true;
                picture.retry = RETRY_FIRST;
                true
            }
            Err(e) => {
                let wait = match &e {
                    CallError::Api(ApiError::Wechat { action: ErrorAction::BadInput, .. }) => {
                        log::warn!(
                            "WeChat refused picture {name}: {e}; skipping it until it changes"
                        );
                        picture.due = None;
                        return true;
                    }
                    CallError::Api(ApiError::Wechat {
                        action: ErrorAction::DailyQuota, ..
                    }) => QUOTA_WAIT,
                    _ => picture.retry,
                };
                log::warn!("upload of picture {name} failed: {e}; next try in {}s", wait.as_secs());
                retry_later(picture, wait)
            }
        }
    }

    fn upload(&self, name: &str, bytes: &[u8]) -> Result<String, CallError> {
        if self.permanent {
            self.tokens
                .call(TOKEN_WAIT, |t| self.api.add_material(t, MediaType::Image, name, bytes))
                .map(|m| m.media_id)
        } else {
            self.tokens
                .call(TOKEN_WAIT, |t| self.api.upload_temp_media(t, MediaType::Image, name, bytes))
                .map(|m| m.media_id)
        }
    }

    /// Temporary media is uploaded again at 90% of its lifetime.
    fn reupload_due(&self, record: Option<&MediaRecord>) -> Option<Instant> {
        let record = record?;
        if record.permanent {
            return None;
        }
        let renew_at = record.uploaded_at + self.media_lifetime.as_secs() * 9 / 10;
        Some(Instant::now() + Duration::from_secs(renew_at.saturating_sub(unix_now())))
    }

    fn forget(&self, name: &str) {
        if let Err(e) = self.store.forget_media(name) {
            log::error!("cannot forget picture {name}: {e}");
        }
    }

    /// Offer only pictures whose upload matches the file and has not expired.
    fn publish(&self, pictures: &BTreeMap<String, Picture>) {
        let now = unix_now();
        let ready = pictures
            .iter()
            .filter(|(_, p)| p.current)
            .filter_map(|(name, p)| p.record.as_ref().map(|r| (name, r)))
            .filter(|(_, r)| r.permanent || r.uploaded_at + self.media_lifetime.as_secs() > now)
            .map(|(name, r)| ReadyPicture { file_name: name.clone(), media_id: r.media_id.clone() })
            .collect();
        let pending = pictures.values().filter(|p| !p.current && p.due.is_some()).count();
        self.ready.replace(ready, pending);
    }
}

impl Service for Uploading {
    type Message = FileEvent;

    fn next_due(&self) -> Option<Instant> {
        self.pictures.values().filter_map(|p| p.due).min()
    }

    fn on_message(&mut self, event: FileEvent) {
        match event {
            FileEvent::Changed(name) => {
                let picture = self.pictures.entry(name).or_insert_with(Picture::unknown);
                picture.due = Some(Instant::now());
                picture.retry = RETRY_FIRST;
            }
            FileEvent::Removed(name) => {
                if self.pictures.remove(&name).is_some() {
                    self.uploader.forget(&name);
                }
            }
            FileEvent::Rescan => self.pictures = self.uploader.reconcile(),
        }
        self.upload_due();
    }

    fn on_due(&mut self) {
        self.upload_due();
    }
}

impl Uploading {
    /// Upload what is due. Published before, so followers asking meanwhile
    /// learn that pictures are on their way, and after.
    fn upload_due(&mut self) {
        self.uploader.publish(&self.pictures);
        let now = Instant::now();
        let due: Vec<String> = self
            .pictures
            .iter()
            .filter(|(_, p)| p.due.is_some_and(|d| d <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if !self.inbox.is_empty() || self.shutdown.is_requested() {
                break; // a stop or newer news about the files comes first
            }
            if let Some(picture) = self.pictures.get_mut(&name) {
                if !self.uploader.refresh(&name, picture) {
                    self.pictures.remove(&name);
                }
            }
        }
        self.uploader.publish(&self.pictures);
    }
}

impl Picture {
    fn unknown() -> Picture {
        Picture { record: None, current: false, due: None, retry: RETRY_FIRST }
    }
}

/// Back off: look again after `wait`, and wait longer the next time. True: keep the picture.
fn retry_later(picture: &mut Picture, wait: Duration) -> bool {
    picture.due = Some(Instant::now() + wait);
    picture.retry = (picture.retry * 2).min(RETRY_MAX);
    true
}
