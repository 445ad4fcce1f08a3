//! `zatan serve`: open the store, start the services and the HTTP front, wait
//! for SIGINT/SIGTERM, stop them in reverse order.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::app::{self, Callback};
use crate::config::{Config, DEMO_TOKEN};
use crate::http::{self, Limits};
use crate::articles::Articles;
use crate::services::articles::{ArticleLibrary, ArticleMsg};
use crate::services::jobs::{JobMsg, JobQueue, JobRunner};
use crate::services::pictures::{PictureMsg, PictureUploader, ReadyPictures};
use crate::services::token::{TokenMsg, TokenOwner, TokenSource, Tokens};
use crate::services::watcher::{FileEvent, Watcher};
use crate::services::{self, Running};
use crate::store::Store;
use crate::subcommands::Failure;
use crate::wechat::api::ApiClient;

/// How long in-flight requests may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How long the service threads get after that; the whole stop stays under 5 s.
const SERVICES_GRACE: Duration = Duration::from_millis(1500);
pub const API_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(config: Config) -> Result<(), Failure> {
    for (key, dir) in config.directories() {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::config(format!("cannot create {} ({key}): {e}; create it or point {key} elsewhere", dir.display()))
        })?;
    }
    let store = Arc::new(Store::open(&config.storage.data_dir).map_err(|e| Failure::runtime(e.to_string()))?);

    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
    ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    })
    .map_err(|e| Failure::runtime(format!("cannot install the SIGINT/SIGTERM handler: {e}")))?;

    // Services in dependency order; they are stopped in reverse.
    let mut running: Vec<Running> = Vec::new();
    let api = ApiClient::new(config.wechat.api_base.clone(), API_TIMEOUT);
    let ready_pictures = ReadyPictures::default();
    let mut jobs = None;
    let mut watcher = Watcher::new().map_err(|e| Failure::runtime(format!("cannot start inotify: {e}")))?;

    match (&config.wechat.app_id, &config.wechat.app_secret) {
        (Some(app_id), Some(app_secret)) => {
            let source = TokenSource {
                api: api.clone(),
                app_id: app_id.clone(),
                app_secret: app_secret.clone(),
                flavor: config.wechat.token_api,
            };
            let (owner, tokens, token_inbox) = TokenOwner::new(source, Some(store.clone()));
            running.push(start("token", stop_with(token_inbox, TokenMsg::Stop), move || owner.run())?);
            start_pictures(&config, &api, tokens.clone(), &store, &ready_pictures, &mut watcher, &mut running)?;
            let (runner_inbox, inbox) = crossbeam_channel::unbounded();
            let can_push = config.wechat.verified;
            let runner = JobRunner { store: store.clone(), api: api.clone(), tokens, pictures: ready_pictures.clone(), can_push };
            running.push(start("jobs", stop_with(runner_inbox.clone(), JobMsg::Stop), move || runner.run(inbox))?);
            jobs = Some(JobQueue::new(store.clone(), runner_inbox, can_push));
        }
        _ => log::info!("WeChat API off (no wechat.app_id/app_secret): pictures are not uploaded"),
    }
    let articles = Articles::default();
    start_articles(&config, &articles, &mut watcher, &mut running)?;
    let (watcher_stop, watcher_stopped) = crossbeam_channel::bounded::<()>(1);
    running.push(start("watcher", stop_with(watcher_stop, ()), move || watcher.run(watcher_stopped))?);

    let callback = Arc::new(Callback::new(&config, ready_pictures, jobs, articles.clone()));
    let router = Arc::new(app::router(&config, callback, articles));
    let limits = Limits {
        max_body_bytes: config.server.body_limit_bytes,
        max_connections: config.server.max_connections,
        ..Limits::default()
    };
    let addr = config.listen_addr().map_err(|e| Failure::config(e.to_string()))?;
    let server = http::serve(addr, limits, router).map_err(|e| {
        Failure::runtime(format!("cannot listen on {addr}: {e}; free the port or change server.listen"))
    })?;

    log::info!(
        "zatan {} listening on http://{}{} ({}; store {})",
        crate::VERSION,
        server.local_addr(),
        config.server.callback_path,
        if config.aes_keys().is_empty() { "plaintext mode" } else { "plaintext, compatible and safe mode" },
        store.path().display()
    );
    if config.wechat.token.expose() == DEMO_TOKEN {
        log::warn!("using the demo token; set wechat.token before pointing a real account here");
    }

    let _ = stop_rx.recv();
    log::info!("stopping: no new connections, in-flight requests get {}s", SHUTDOWN_GRACE.as_secs());
    server.shutdown(SHUTDOWN_GRACE);
    let deadline = Instant::now() + SERVICES_GRACE;
    for service in running.into_iter().rev() {
        service.stop_until(deadline);
    }
    log::info!("stopped");
    Ok(())
}

fn start_pictures(
    config: &Config,
    api: &ApiClient,
    tokens: Tokens,
    store: &Arc<Store>,
    ready: &ReadyPictures,
    watcher: &mut Watcher,
    running: &mut Vec<Running>,
) -> Result<(), Failure> {
    let dir = config.pictures.dir.clone();
    let (inbox_tx, inbox) = watched_inbox(watcher, "pictures.dir", &dir, PictureMsg::File)?;
    let uploader = PictureUploader {
        dir,
        api: api.clone(),
        tokens,
        store: store.clone(),
        media_lifetime: Duration::from_secs(config.pictures.media_lifetime_secs),
        permanent: config.wechat.verified,
        ready: ready.clone(),
    };
    running.push(start("pictures", stop_with(inbox_tx, PictureMsg::Stop), move || uploader.run(inbox))?);
    Ok(())
}

/// The articles service needs no WeChat account: it always runs.
fn start_articles(
    config: &Config,
    articles: &Articles,
    watcher: &mut Watcher,
    running: &mut Vec<Running>,
) -> Result<(), Failure> {
    let dir = config.articles.dir.clone();
    let (inbox_tx, inbox) = watched_inbox(watcher, "articles.dir", &dir, ArticleMsg::File)?;
    let library = ArticleLibrary::start(dir, config.articles.raw_html, articles.clone());
    running.push(start("articles", stop_with(inbox_tx, ArticleMsg::Stop), move || library.run(inbox))?);
    Ok(())
}

/// A service's inbox that also receives the watcher's events for `dir`
/// (the directory named by the config key `key`), wrapped by `wrap`.
fn watched_inbox<T: Send + 'static>(
    watcher: &mut Watcher,
    key: &str,
    dir: &Path,
    wrap: fn(FileEvent) -> T,
) -> Result<(Sender<T>, Receiver<T>), Failure> {
    let (inbox_tx, inbox) = crossbeam_channel::unbounded();
    let events = inbox_tx.clone();
    watcher
        .watch(dir, Box::new(move |event| drop(events.send(wrap(event)))))
        .map_err(|e| Failure::runtime(format!("cannot watch {key} {}: {e}", dir.display())))?;
    Ok((inbox_tx, inbox))
}

fn start(
    name: &'static str,
    stop: impl FnOnce() + Send + 'static,
    body: impl FnOnce() + Send + 'static,
) -> Result<Running, Failure> {
    services::spawn(name, stop, body).map_err(|e| Failure::runtime(format!("cannot start the {name} thread: {e}")))
}

/// A stop action that sends `msg` into a service's inbox.
fn stop_with<T: Send + 'static>(inbox: Sender<T>, msg: T) -> impl FnOnce() + Send + 'static {
    move || drop(inbox.send(msg))
}
