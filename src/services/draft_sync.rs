//! `articles.sync_drafts`: the server keeps each article's WeChat draft up
//! to date by itself. The articles service asks for a job per change (keyed
//! by the article and its draft hash, so a change is drafted once, even when
//! seen again after a restart); the drafts thread does the jobs through the
//! job machinery, retrying with back-off, and resumes them after a kill -9.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::drafts::{DraftError, Drafter};
use crate::clock::unix_now;
use crate::jobs::NewJob;
use crate::shutdown::Shutdown;
use crate::store::{Job, JobKind, JobState};

const RETRY_FIRST: Duration = Duration::from_secs(5);
const MAX_ATTEMPTS: u32 = 8;

/// How the articles service asks for drafts.
#[derive(Clone)]
pub struct DraftRequests {
    pub drafter: Drafter,
    pub inbox: Sender<NewJob>,
}

impl DraftRequests {
    /// Asks for a draft of `slug` when it differs from its recorded draft.
    pub fn changed(&self, slug: &str) {
        let prepared = match self.drafter.prepare(slug) {
            Ok(prepared) => prepared,
            Err(refusal) => {
                return log::warn!("article {slug} is not drafted in WeChat: {refusal}")
            }
        };
        let store = &self.drafter.store;
        match store.article_draft(slug) {
            Ok(Some(record)) if record.hash == prepared.hash => return,
            Ok(_) => {}
            Err(e) => return log::error!("cannot read the draft record of {slug}: {e}"),
        }
        let key = format!("draft|{slug}|{}", prepared.hash);
        let kind = JobKind::DraftArticle { slug: slug.to_string() };
        match store.create_job(&key, kind, "", unix_now()) {
            Ok((job, true)) => {
                log::info!("article {slug} changed: draft job {} queued", job.id);
                let _ = self.inbox.send(NewJob(job.id));
            }
            Ok((_, false)) => {}
            Err(e) => log::error!("cannot queue the draft of {slug}: {e}"),
        }
    }
}

/// The drafts thread of sync mode: does the draft jobs, retrying with back-off.
pub struct DraftService {
    pub drafter: Drafter,
}

impl DraftService {
    pub fn run(self, inbox: Receiver<NewJob>, shutdown: &Shutdown) {
        let store = self.drafter.store.clone();
        super::jobs::drive(
            &store,
            inbox,
            shutdown,
            |kind| matches!(kind, JobKind::DraftArticle { .. }),
            |job| self.step(job),
        );
    }

    fn step(&self, job: &mut Job) -> Option<Duration> {
        let JobKind::DraftArticle { slug } = &job.kind else { return None };
        job.attempts += 1;
        match self.drafter.draft(slug) {
            Ok(drafted) => {
                log::info!("article {slug}: {drafted:?} in WeChat's draft box");
                job.state = JobState::Drafted(drafted.media_id().to_string());
                None
            }
            Err(DraftError::Failed { words, retry: true }) if job.attempts < MAX_ATTEMPTS => {
                let wait = RETRY_FIRST * 2u32.pow(job.attempts - 1);
                log::warn!("article {slug}: {words}; next try in {} s", wait.as_secs());
                Some(wait)
            }
            Err(e) => {
                log::warn!("article {slug} is not drafted in WeChat: {e}");
                job.state = JobState::Failed(e.to_string());
                None
            }
        }
    }
}
