//! `zatan serve`: open the store, start the services and the HTTP front, wait
//! for SIGINT/SIGTERM, stop them in reverse order.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::web::{self, Callback};
use crate::bot::{Bot, Kindle};
use crate::mail::Mailer;
use crate::config::{Config, DEMO_TOKEN};
use crate::http::{self, Limits};
use crate::library::SharedCatalog;
use crate::crawler::crawl::Crawler;
use crate::services::crawler::{CrawlerService, Quiet};
use crate::articles::Articles;
use crate::services::articles::{ArticleLibrary, ArticleMsg};
use crate::jobs::{JobMsg, JobQueue};
use crate::services::jobs::JobRunner;
use crate::services::library::{LibraryMsg, LibraryService};
use crate::services::mailer::{MailerService, Notifier};
use crate::pictures::ReadyPictures;
use crate::services::pictures::{PictureMsg, PictureUploader};
use crate::services::token::{TokenMsg, TokenOwner, TokenSource, Tokens};
use crate::services::watcher::{FileEvent, Watcher};
use crate::services::{self, Running};
use crate::store::Store;
use super::Failure;
use crate::wechat::api::ApiClient;

/// How long in-flight requests may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How long the service threads get after that; the whole stop stays under 5 s.
const SERVICES_GRACE: Duration = Duration::from_millis(1500);

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
    let ready_pictures = ReadyPictures::default();
    let mut runner_inbox = None;
    let mut tokens = None;
    let mut watcher = Watcher::new().map_err(|e| Failure::runtime(format!("cannot start inotify: {e}")))?;
    // Results go out by customer-service message only on verified accounts.
    let can_push = config.wechat.verified && config.wechat.app_id.is_some() && config.wechat.app_secret.is_some();

    let api = TokenSource::from_config(&config.wechat).map(|source| source.api.clone());
    match TokenSource::from_config(&config.wechat) {
        Some(source) => {
            let api = source.api.clone();
            let (owner, owner_tokens, token_inbox) = TokenOwner::new(source, Some(store.clone()));
            running.push(start("token", stop_with(token_inbox, TokenMsg::Stop), move || owner.run())?);
            start_pictures(&config, &api, owner_tokens.clone(), &store, &ready_pictures, &mut watcher, &mut running)?;
            let (inbox_tx, inbox) = crossbeam_channel::unbounded();
            let runner =
                JobRunner { store: store.clone(), api: api.clone(), tokens: owner_tokens.clone(), pictures: ready_pictures.clone(), can_push };
            running.push(start("jobs", stop_with(inbox_tx.clone(), JobMsg::Stop), move || runner.run(inbox))?);
            runner_inbox = Some(inbox_tx);
            tokens = Some(owner_tokens);
        }
        None => log::info!("WeChat API off (no wechat.app_id/app_secret): pictures are not uploaded"),
    }
    let mut kindle = None;
    let mut mailer_inbox = None;
    match Mailer::new(&config.mail).map_err(|e| Failure::config(e.to_string()))? {
        Some(mailer) => {
            let mailer = Arc::new(mailer);
            let (inbox_tx, inbox) = crossbeam_channel::unbounded();
            let service = MailerService {
                store: store.clone(),
                mailer: mailer.clone(),
                books_dir: config.books.dir.clone(),
                outbox: config.storage.data_dir.join("outbox"),
                notifier: tokens.zip(api.clone()).filter(|_| can_push).map(|(tokens, api)| Notifier { api, tokens }),
                retry_first: Duration::from_secs(config.mail.retry_secs),
            };
            running.push(start("mailer", stop_with(inbox_tx.clone(), JobMsg::Stop), move || service.run(inbox))?);
            mailer_inbox = Some(inbox_tx);
            kindle = Some(Kindle { mailer, store: store.clone(), daily_limit: config.mail.daily_limit_per_user });
        }
        None => log::info!("mail off (no mail.host): Kindle pushes are not offered"),
    }
    let jobs = (runner_inbox.is_some() || mailer_inbox.is_some())
        .then(|| JobQueue::new(store.clone(), runner_inbox, mailer_inbox, can_push));
    let catalog = SharedCatalog::default();
    start_library(&config, &store, &catalog, &mut watcher, &mut running)?;
    start_crawler(&config, &store, &mut running)?;
    let articles = Articles::default();
    start_articles(&config, &articles, &mut watcher, &mut running)?;
    let (watcher_stop, watcher_stopped) = crossbeam_channel::bounded::<()>(1);
    running.push(start("watcher", stop_with(watcher_stop, ()), move || watcher.run(watcher_stopped))?);

    let mut bot = Bot::new(config.wechat.welcome.clone(), ready_pictures, catalog, jobs)
        .with_articles(articles.clone(), config.server.public_url.clone());
    bot.kindle = kindle;
    let callback = Arc::new(Callback::new(&config, bot));
    let router = Arc::new(web::router(&config, callback, articles));
    let limits = Limits {
        max_body_bytes: config.server.body_limit_bytes,
        max_connections: config.server.max_connections,
        ..Limits::default()
    };
    let addr = config.server.listen_addr().map_err(|e| Failure::config(e.to_string()))?;
    let server = http::serve(addr, limits, router).map_err(|e| {
        Failure::runtime(format!("cannot listen on {addr}: {e}; free the port or change server.listen"))
    })?;

    log::info!(
        "zatan {} listening on http://{}{} ({}; store {})",
        crate::VERSION,
        server.local_addr(),
        config.server.callback_path,
        if config.wechat.aes_keys().is_empty() { "plaintext mode" } else { "plaintext, compatible and safe mode" },
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

fn start_library(
    config: &Config,
    store: &Arc<Store>,
    catalog: &SharedCatalog,
    watcher: &mut Watcher,
    running: &mut Vec<Running>,
) -> Result<(), Failure> {
    let dir = config.books.dir.clone();
    let (inbox_tx, inbox) = watched_inbox(watcher, "books.dir", &dir, LibraryMsg::File)?;
    let service = LibraryService { store: store.clone(), dir, catalog: catalog.clone() };
    running.push(start("library", stop_with(inbox_tx, LibraryMsg::Stop), move || service.run(inbox))?);
    Ok(())
}

/// The crawler thread, when sources are configured. It hands books to the
/// library directly; the library service also sees them arrive by the watcher.
fn start_crawler(config: &Config, store: &Arc<Store>, running: &mut Vec<Running>) -> Result<(), Failure> {
    let sources = config.crawler.sources.clone();
    if sources.is_empty() {
        return Ok(());
    }
    log::info!(
        "crawler: {} sources ({})",
        sources.len(),
        sources.iter().map(|s| format!("{} every {} h", s.name, s.interval_hours)).collect::<Vec<_>>().join(", ")
    );
    let crawler = Crawler::new(&config.crawler, store.clone(), &config.books.dir);
    let service = CrawlerService { crawler, sources, store: store.clone(), start_now: false };
    let (stop_tx, stop) = crossbeam_channel::bounded::<()>(1);
    running.push(start("crawler", stop_with(stop_tx, ()), move || service.run(stop, &mut Quiet))?);
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
