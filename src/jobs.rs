//! Late replies as the request path sees them: submit a job, read a
//! follower's jobs. The services that do the jobs are in `services::jobs`
//! (pictures) and `services::mailer` (Kindle pushes).

use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::clock::unix_now;
use crate::store::{Job, JobKind, Store, StoreError};

/// A job was created: its id, for the service that does its kind.
pub struct NewJob(pub u64);

/// The request path's side: submit jobs, read a follower's jobs. Each kind
/// of job goes to the service that does it.
#[derive(Clone)]
pub struct JobQueue {
    store: Arc<Store>,
    /// The job runner (pictures); None without WeChat API credentials.
    runner: Option<Sender<NewJob>>,
    /// The mailer (Kindle pushes); None without `[mail]`.
    mailer: Option<Sender<NewJob>>,
    /// Whether results can be pushed (verified account with API credentials).
    pub can_push: bool,
}

impl JobQueue {
    pub fn new(
        store: Arc<Store>,
        runner: Option<Sender<NewJob>>,
        mailer: Option<Sender<NewJob>>,
        can_push: bool,
    ) -> JobQueue {
        JobQueue { store, runner, mailer, can_push }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Whether a service runs that does jobs of this kind.
    pub fn accepts(&self, kind: &JobKind) -> bool {
        self.inbox(kind).is_some()
    }

    fn inbox(&self, kind: &JobKind) -> Option<&Sender<NewJob>> {
        match kind {
            JobKind::SendPicture => self.runner.as_ref(),
            JobKind::PushBook { .. } => self.mailer.as_ref(),
            // The owner's articles, not a follower's request: the drafts
            // service takes these from the articles service directly.
            JobKind::DraftArticle { .. } => None,
        }
    }

    /// The job for this message: created now, or the one an earlier attempt of
    /// the same message created (a WeChat retry after a restart).
    pub fn submit(
        &self,
        message_key: &str,
        kind: JobKind,
        openid: &str,
    ) -> Result<(Job, bool), StoreError> {
        let inbox = self.inbox(&kind).cloned();
        let (job, created) = self.store.create_job(message_key, kind, openid, unix_now())?;
        if let (true, Some(inbox)) = (created, inbox) {
            let _ = inbox.send(NewJob(job.id));
        }
        Ok((job, created))
    }

    /// A follower's latest jobs, newest first.
    pub fn recent(&self, openid: &str, count: usize) -> Result<Vec<Job>, StoreError> {
        self.store.recent_jobs(openid, count)
    }
}
