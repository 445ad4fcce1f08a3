//! The running server's door for the owner's commands: a Unix socket,
//! `zatan.sock` in `storage.data_dir` (mode 0600: whoever may use the store
//! may use it). The server holds the store, so a command that needs it
//! (`zatan articles draft` and `list`) is sent here, done by the server with
//! its store and its token, and answered with what the command prints and
//! its exit status. One JSON line each way.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::drafts::{draft_report, list_report, DraftError, Drafter};
use crate::articles::wechat::Settings;
use crate::shutdown::Shutdown;
use crate::store::Store;

pub const SOCKET_NAME: &str = "zatan.sock";
/// A request is one short line.
const REQUEST_MAX_BYTES: u64 = 4096;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A draft with uploads, or a publication followed to its end, takes a while.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OwnerCommand {
    ArticlesDraft { slug: String, publish: bool },
    ArticlesList,
}

/// What the command prints, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub code: i32,
    pub text: String,
}

impl Answer {
    fn of(result: Result<String, DraftError>) -> Answer {
        match result {
            Ok(text) => Answer { code: 0, text },
            Err(DraftError::Refused(text)) => Answer { code: 2, text },
            Err(DraftError::Failed { words, .. }) => Answer { code: 1, text: words },
        }
    }
}

fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// The client side: `command` done by the server that holds `data_dir`.
pub fn ask(data_dir: &Path, command: &OwnerCommand) -> Result<Answer, String> {
    let path = socket_path(data_dir);
    let mut stream = UnixStream::connect(&path).map_err(|e| {
        format!(
            "another zatan process holds the store, and its control socket {} does not answer \
             ({e}): stop that process for this, or use a zatan serve of this version",
            path.display()
        )
    })?;
    let _ = stream.set_read_timeout(Some(ANSWER_TIMEOUT));
    let mut line = serde_json::to_string(command).map_err(|e| e.to_string())?;
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(|e| format!("cannot ask the server: {e}"))?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| format!("the server did not answer: {e}"))?;
    serde_json::from_str(&answer).map_err(|e| format!("the server's answer is unreadable ({e})"))
}

/// The server side: what the owner's commands need.
pub struct ControlService {
    listener: UnixListener,
    path: PathBuf,
    pub store: Arc<Store>,
    pub settings: Settings,
    /// None without WeChat API credentials.
    pub drafter: Option<Drafter>,
    pub verified: bool,
}

impl ControlService {
    /// Binds the socket; one left by a server that was killed is replaced
    /// (this process holds the store, so no other server uses it).
    pub fn bind(
        data_dir: &Path,
        store: Arc<Store>,
        settings: Settings,
        drafter: Option<Drafter>,
        verified: bool,
    ) -> std::io::Result<ControlService> {
        let path = socket_path(data_dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(ControlService { listener, path, store, settings, drafter, verified })
    }

    /// Answers commands one at a time until shutdown; a stop wakes the
    /// blocking accept by connecting once.
    pub fn run(self, shutdown: &Shutdown) {
        let waker = {
            let (path, shutdown) = (self.path.clone(), shutdown.clone());
            std::thread::Builder::new().name("control-waker".into()).spawn(move || {
                let _ = shutdown.receiver().recv();
                let _ = UnixStream::connect(path);
            })
        };
        if let Err(e) = waker {
            return log::error!("cannot start the control socket: {e}");
        }
        for stream in self.listener.incoming() {
            if shutdown.is_requested() {
                break;
            }
            match stream {
                Ok(stream) => self.serve(stream),
                Err(e) => log::warn!("control socket: {e}"),
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }

    fn serve(&self, stream: UnixStream) {
        let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
        let mut line = String::new();
        let read = BufReader::new((&stream).take(REQUEST_MAX_BYTES)).read_line(&mut line);
        let answer = match read
            .map_err(|e| e.to_string())
            .and_then(|_| serde_json::from_str::<OwnerCommand>(&line).map_err(|e| e.to_string()))
        {
            Ok(command) => {
                log::info!("owner command: {command:?}");
                self.answer(&command)
            }
            Err(e) => Answer { code: 2, text: format!("not a command this server knows ({e})") },
        };
        let mut stream = stream;
        let text = serde_json::to_string(&answer).unwrap_or_default();
        if let Err(e) = stream.write_all(text.as_bytes()) {
            log::warn!("control socket: the command's answer was not read ({e})");
        }
    }

    fn answer(&self, command: &OwnerCommand) -> Answer {
        match command {
            OwnerCommand::ArticlesList => Answer::of(list_report(&self.store, &self.settings)),
            OwnerCommand::ArticlesDraft { slug, publish } => match &self.drafter {
                Some(drafter) => Answer::of(draft_report(drafter, self.verified, slug, *publish)),
                None => Answer {
                    code: 2,
                    text: "drafts need the WeChat API: set wechat.app_id and wechat.app_secret"
                        .into(),
                },
            },
        }
    }
}
