//! The mailer: Kindle pushes from the durable outbox (push jobs in the store)
//! to SMTP. Each job goes queued → preparing (converted to a Kindle EPUB in
//! `data_dir/outbox`, size checked) → sending → sent or failed, each step one
//! store write. A crash while sending means the mail goes again after the
//! restart: delivery is at-least-once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;

use super::jobs::drive;
use super::token::Tokens;
use crate::ebook;
use crate::jobs::NewJob;
use crate::mail::{attachment_name, too_big, Attachment, Mailer, SendError};
use crate::shutdown::Shutdown;
use crate::store::{Job, JobKind, JobState, Store};
use crate::wechat::api::{ApiClient, CustomMessage};

const RETRY_MAX: Duration = Duration::from_secs(3600);
/// Transient failures (relay down, 4xx) are retried for about a day.
const MAX_ATTEMPTS: u32 = 30;
/// A misconfigured relay fails every mail alike: wait for the owner.
const MISCONFIGURED_WAIT: Duration = Duration::from_secs(600);
const TOKEN_WAIT: Duration = Duration::from_secs(10);

/// Tells followers how their push went, by customer-service message.
pub struct Notifier {
    pub api: ApiClient,
    pub tokens: Tokens,
}

pub struct MailerService {
    pub store: Arc<Store>,
    pub mailer: Arc<Mailer>,
    pub books_dir: PathBuf,
    /// Where prepared attachments wait: `data_dir/outbox`.
    pub outbox: PathBuf,
    pub notifier: Option<Notifier>,
    /// The first wait after a transient failure (`mail.retry_secs`); it doubles.
    pub retry_first: Duration,
}

/// Why a push cannot go out, worded for the follower.
struct Refusal(String);

/// Why a book is not ready to send.
enum Unready {
    Refused(Refusal),
    /// The outbox's disk is full: the push waits for space, it does not fail.
    DiskFull(String),
}

impl From<Refusal> for Unready {
    fn from(refusal: Refusal) -> Unready {
        Unready::Refused(refusal)
    }
}

impl MailerService {
    pub fn run(self, inbox: Receiver<NewJob>, shutdown: &Shutdown) {
        if let Err(e) = std::fs::create_dir_all(&self.outbox) {
            log::error!("mailer: cannot create {}: {e}", self.outbox.display());
        }
        drive(
            &self.store,
            inbox,
            shutdown,
            |kind| matches!(kind, JobKind::PushBook { .. }),
            |job| self.step(job),
        );
    }

    fn step(&self, job: &mut Job) -> Option<Duration> {
        let JobKind::PushBook { book_id, title, address } = job.kind.clone() else {
            return None;
        };
        let prepared = self.outbox.join(format!("job-{}.epub", job.id));
        if job.state == JobState::Queued || !prepared.exists() {
            self.record(job, JobState::Preparing);
            match self.prepare(&book_id, &prepared) {
                Ok(()) => {}
                Err(Unready::Refused(Refusal(reason))) => {
                    return self.finish(job, JobState::Failed(reason), &prepared);
                }
                Err(Unready::DiskFull(reason)) => {
                    log::warn!(
                        "mailer: book {book_id} for {} waits for space in {}: {reason}; next try in {}s",
                        job.openid,
                        self.outbox.display(),
                        self.retry_first.as_secs()
                    );
                    self.record(job, JobState::Queued);
                    return Some(self.retry_first);
                }
            }
        }
        let attachment = match std::fs::read(&prepared) {
            Ok(bytes) => Attachment {
                file_name: attachment_name(&title),
                content_type: "application/epub+zip".into(),
                bytes,
            },
            Err(e) => {
                log::error!("mailer: cannot read {}: {e}", prepared.display());
                return Some(self.retry_first);
            }
        };
        self.record(job, JobState::Sending);
        job.attempts += 1;
        let subject = format!("zatan book {book_id}");
        match self.mailer.send(&address, &subject, &attachment) {
            Ok(()) => {
                log::info!("mailer: sent book {book_id} ({title}) for {} to {address}", job.openid);
                self.finish(job, JobState::Sent, &prepared)
            }
            Err(SendError::TooBig { size, limit }) => {
                self.finish(job, JobState::Failed(too_big(size, limit)), &prepared)
            }
            Err(SendError::Permanent(reason)) => {
                log::warn!(
                    "mailer: book {book_id} for {} to {address} refused: {reason}",
                    job.openid
                );
                self.finish(job, JobState::Failed(format!("邮件被拒收：{reason}")), &prepared)
            }
            Err(SendError::Misconfigured(reason)) => {
                log::error!("mailer: {reason}; queued pushes wait until [mail] is fixed and zatan restarted");
                Some(MISCONFIGURED_WAIT)
            }
            Err(SendError::Transient(reason)) if job.attempts >= MAX_ATTEMPTS => {
                log::warn!(
                    "mailer: giving up book {book_id} to {address} after {} attempts: {reason}",
                    job.attempts
                );
                self.finish(
                    job,
                    JobState::Failed(format!("邮件服务器一直不可用：{reason}")),
                    &prepared,
                )
            }
            Err(SendError::Transient(reason)) => {
                let wait = self
                    .retry_first
                    .saturating_mul(2u32.saturating_pow(job.attempts - 1))
                    .min(RETRY_MAX);
                log::warn!(
                    "mailer: book {book_id} to {address}: {reason}; next try in {}s",
                    wait.as_secs()
                );
                Some(wait)
            }
        }
    }

    /// Save a state on its own, so a crash resumes from it.
    fn record(&self, job: &mut Job, state: JobState) {
        job.state = state;
        if let Err(e) = self.store.save_job(job) {
            e.log_failure(&format!("mailer: cannot record job {}", job.id));
        }
    }

    /// The book as a Kindle-ready EPUB at `prepared`, its size within the limit.
    fn prepare(&self, book_id: &str, prepared: &Path) -> Result<(), Unready> {
        let book = match self.store.book(book_id) {
            Ok(Some(book)) => book,
            Ok(None) => return Err(Refusal("这本书已经不在书库里了".into()).into()),
            Err(e) => return Err(Refusal(format!("书库读不出来：{e}")).into()),
        };
        // EPUB first: it needs only the Kindle fixes; other formats are converted.
        let file = book.files.iter().find(|f| f.format == "epub").or_else(|| book.files.first());
        let Some(file) = file else {
            return Err(Refusal("这本书已经不在书库里了".into()).into());
        };
        let source = self.books_dir.join(&file.name);
        match ebook::to_kindle_epub(&source, prepared) {
            Ok(report) => {
                // An EPUB that needed no repair goes byte for byte as the owner has it.
                // Copied beside it and renamed: a crash never leaves half a book
                // at `prepared`, which a restart would take as ready to send.
                if file.format == "epub" && report.repairs.is_empty() {
                    match crate::fsutil::copy_atomically(&source, prepared) {
                        Ok(_) => {}
                        Err(e) if crate::fsutil::is_disk_full(&e) => {
                            let _ = std::fs::remove_file(prepared);
                            return Err(Unready::DiskFull(crate::fsutil::describe_io(&e)));
                        }
                        Err(e) => return Err(Refusal(format!("这本书读不出来：{e}")).into()),
                    }
                }
                let bytes = std::fs::metadata(prepared).map_or(report.output_bytes, |m| m.len());
                let size = self.mailer.encoded_size_of(&attachment_name(&book.title), bytes);
                if size > self.mailer.max_mail_bytes() {
                    let _ = std::fs::remove_file(prepared);
                    return Err(Refusal(too_big(size, self.mailer.max_mail_bytes())).into());
                }
                Ok(())
            }
            Err(e) if e.is_disk_full() => Err(Unready::DiskFull(e.to_string())),
            Err(e) => {
                log::warn!("mailer: cannot prepare book {book_id}: {e}");
                Err(Refusal(format!("这本书转换失败：{e}")).into())
            }
        }
    }

    fn finish(&self, job: &mut Job, state: JobState, prepared: &Path) -> Option<Duration> {
        job.state = state;
        let _ = std::fs::remove_file(prepared);
        if let Some(notifier) = &self.notifier {
            let text = match &job.state {
                JobState::Sent => "你的书已经寄往 Kindle，通常几分钟内送达。".to_string(),
                JobState::Failed(reason) => format!("推送失败：{reason}"),
                _ => return None,
            };
            let message = CustomMessage::text(job.openid.clone(), text);
            // One try: the outcome is in `status` whatever happens here.
            if let Err(e) =
                notifier.tokens.call(TOKEN_WAIT, |t| notifier.api.send_custom(t, &message))
            {
                log::info!(
                    "mailer: could not tell {} about job {} ({e}); it is in their status",
                    job.openid,
                    job.id
                );
            }
        }
        None
    }
}
