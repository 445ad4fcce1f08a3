//! Late replies: work slower than WeChat's 5-second reply budget. The request
//! path only records a job (one short write, keyed by the message so a retry
//! never makes two) and answers at once; this thread does the work and
//! delivers the result by customer-service message, or keeps it for the
//! follower's `status` command when no such message is possible.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::token::{CallError, Tokens};
use super::Service;
use crate::clock::unix_now;
use crate::jobs::NewJob;
use crate::pictures::ReadyPictures;
use crate::shutdown::Shutdown;
use crate::store::{Job, JobKind, JobState, Store};
use crate::wechat::api::{ApiClient, ApiError, CustomMessage, ErrorAction};

/// The loop of a service that does jobs: resume its unfinished jobs (left by a
/// stop or a crash), take new ones from `inbox`, and run `step` on each job
/// when it is due; the job is saved after each step. `step` returns when to
/// look at the job again, or None when it is finished.
pub fn drive(
    store: &Store,
    inbox: Receiver<NewJob>,
    shutdown: &Shutdown,
    mine: impl Fn(&JobKind) -> bool,
    step: impl FnMut(&mut Job) -> Option<Duration>,
) {
    let due: BTreeMap<u64, Instant> = match store.unfinished_jobs() {
        Ok(jobs) => {
            jobs.into_iter().filter(|j| mine(&j.kind)).map(|j| (j.id, Instant::now())).collect()
        }
        Err(e) => {
            log::error!("cannot read jobs: {e}");
            BTreeMap::new()
        }
    };
    if !due.is_empty() {
        log::info!("resuming {} unfinished job(s)", due.len());
    }
    super::run(&mut Driver { store, due, step }, &inbox, shutdown);
}

/// The jobs one service does, by when each is due next.
struct Driver<'a, F> {
    store: &'a Store,
    due: BTreeMap<u64, Instant>,
    step: F,
}

impl<F: FnMut(&mut Job) -> Option<Duration>> Service for Driver<'_, F> {
    type Message = NewJob;

    fn next_due(&self) -> Option<Instant> {
        self.due.values().min().copied()
    }

    fn on_message(&mut self, NewJob(id): NewJob) {
        self.due.insert(id, Instant::now());
        self.on_due();
    }

    fn on_due(&mut self) {
        let now = Instant::now();
        let ready: Vec<u64> =
            self.due.iter().filter(|(_, at)| **at <= now).map(|(id, _)| *id).collect();
        for id in ready {
            match step_once(self.store, id, &mut self.step) {
                Some(wait) => self.due.insert(id, Instant::now() + wait),
                None => self.due.remove(&id),
            };
        }
    }
}

/// Work on job `id` once. Some(wait): look again after `wait`.
fn step_once(
    store: &Store,
    id: u64,
    step: &mut impl FnMut(&mut Job) -> Option<Duration>,
) -> Option<Duration> {
    let mut job = match store.job(id) {
        Ok(job) => job?,
        Err(e) => {
            e.log_failure(&format!("cannot read job {id}"));
            return Some(RETRY_FIRST);
        }
    };
    if job.state.is_finished() {
        return None;
    }
    let next = step(&mut job);
    if let Err(e) = store.save_job(&job) {
        e.log_failure(&format!("cannot record job {id}"));
    }
    if job.state.is_finished() {
        log::info!("job {} for {}: {:?}", job.id, job.openid, job.state);
    }
    next
}

/// How long a picture request waits for an upload to finish.
const PICTURE_WAIT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_secs(1);
const TOKEN_WAIT: Duration = Duration::from_secs(10);
const RETRY_FIRST: Duration = Duration::from_secs(5);
const MAX_ATTEMPTS: u32 = 5;

pub struct JobRunner {
    pub store: Arc<Store>,
    pub api: ApiClient,
    pub tokens: Tokens,
    pub pictures: ReadyPictures,
    pub can_push: bool,
}

impl JobRunner {
    pub fn run(self, inbox: Receiver<NewJob>, shutdown: &Shutdown) {
        drive(
            &self.store,
            inbox,
            shutdown,
            |kind| *kind == JobKind::SendPicture,
            |job| self.send_picture(job),
        );
    }

    fn send_picture(&self, job: &mut Job) -> Option<Duration> {
        let ready = self.pictures.snapshot();
        let Some(picture) = ready.get(job.id as usize % ready.len().max(1)) else {
            if unix_now().saturating_sub(job.created_at) > PICTURE_WAIT.as_secs() {
                job.state = JobState::Failed("等了十分钟，还没有图片上传成功".into());
                return None;
            }
            return Some(POLL);
        };
        let kept = "图片已经准备好了，发送「图片」获取。";
        self.deliver(job, CustomMessage::image(job.openid.clone(), picture.media_id.clone()), kept)
    }

    /// Push `message` to the follower, or keep `kept` for their `status`.
    fn deliver(&self, job: &mut Job, message: CustomMessage, kept: &str) -> Option<Duration> {
        if !self.can_push {
            job.state = JobState::Ready(kept.into());
            return None;
        }
        job.attempts += 1;
        match self.tokens.call(TOKEN_WAIT, |t| self.api.send_custom(t, &message)) {
            Ok(()) => job.state = JobState::Delivered,
            // A send that may have arrived is never repeated: duplicates reach real people.
            Err(CallError::Api(ApiError::Transport { maybe_delivered: true, detail })) => {
                log::warn!("job {}: the send timed out ({detail}); not repeating it", job.id);
                job.state = JobState::Ready(format!("可能已经发给你了；若没收到：{kept}"));
            }
            Err(CallError::Api(e @ ApiError::Wechat { action: ErrorAction::NotVerified, .. })) => {
                log::warn!("job {}: {e}; set wechat.verified = false", job.id);
                job.state = JobState::Ready(kept.into());
            }
            Err(CallError::Api(ApiError::Wechat {
                action: ErrorAction::GiveUp | ErrorAction::BadInput,
                ..
            })) => {
                job.state = JobState::Ready(kept.into()); // 48-hour window closed, or similar
            }
            Err(e) if job.attempts >= MAX_ATTEMPTS => {
                log::warn!(
                    "job {}: giving up pushing after {} attempts: {e}",
                    job.id,
                    job.attempts
                );
                job.state = JobState::Ready(kept.into());
            }
            Err(e) => {
                let wait = RETRY_FIRST * 2u32.pow(job.attempts - 1);
                log::warn!("job {}: push failed ({e}); next try in {}s", job.id, wait.as_secs());
                return Some(wait);
            }
        }
        None
    }
}
