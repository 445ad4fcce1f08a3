//! Every service `zatan serve` runs, started in dependency order, and the bot
//! built from what they publish. `zatan simulate` builds the same bot the same
//! way without starting anything: each service is set up and publishes what
//! it has at start, and no thread runs, no directory is watched.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::articles::ArticleLibrary;
use super::crawler::{CrawlerService, Quiet};
use super::jobs::JobRunner;
use super::library::LibraryService;
use super::mailer::{MailerService, Notifier};
use super::pictures::PictureUploader;
use super::rules::RulesService;
use super::token::{TokenOwner, TokenSource, Tokens};
use super::watcher::{FileEvent, Watcher};
use super::{spawn, Running};
use crate::articles::Articles;
use crate::bot::rules::SharedRules;
use crate::bot::{Bot, Downloads, Handles, Kindle};
use crate::config::Config;
use crate::crawler::crawl::Crawler;
use crate::jobs::{JobQueue, NewJob};
use crate::library::links::LinkSigner;
use crate::library::SharedCatalog;
use crate::mail::Mailer;
use crate::pictures::ReadyPictures;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::wechat::api::ApiClient;

/// The running services, in start order.
pub struct Services {
    running: Vec<Running>,
}

impl Services {
    /// Stop every service, the last started first, all within `grace`.
    pub fn stop(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        for service in self.running.into_iter().rev() {
            service.stop_until(deadline);
        }
    }
}

/// Why the services could not start: a setting to fix, or the system refused.
#[derive(Debug)]
pub enum StartError {
    Config(String),
    Runtime(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(message) | StartError::Runtime(message) => f.write_str(message),
        }
    }
}

/// Start every service the configuration turns on, and the bot that reads them.
pub fn start(config: &Config, store: &Arc<Store>) -> Result<(Services, Bot), StartError> {
    let watcher =
        Watcher::new().map_err(|e| StartError::Runtime(format!("cannot start inotify: {e}")))?;
    let mut starter = Starter { config, store, running: Vec::new(), watcher: Some(watcher) };
    match starter.start_all() {
        Ok(bot) => {
            let Starter { mut running, watcher, .. } = starter;
            let watcher = watcher.expect("serve watches");
            running.push(start_thread("watcher", move |shutdown| watcher.run(&shutdown))?);
            Ok((Services { running }, bot))
        }
        Err(e) => {
            Services { running: starter.running }.stop(Duration::from_secs(1));
            Err(e)
        }
    }
}

/// The bot `serve` would build from `config` and `store`, as it is at the
/// server's start, without starting anything: no thread, no watch, no network.
/// What its replies do to the store stays in `store` (`simulate` passes an
/// in-memory copy); jobs are recorded there and nobody does them.
pub fn bot_without_services(config: &Config, store: &Arc<Store>) -> Result<Bot, StartError> {
    Starter { config, store, running: Vec::new(), watcher: None }.start_all()
}

struct Starter<'a> {
    config: &'a Config,
    store: &'a Arc<Store>,
    running: Vec<Running>,
    /// Started last, once every directory is watched; None: start nothing.
    watcher: Option<Watcher>,
}

/// The WeChat API as the services that call it share it.
struct Api {
    client: ApiClient,
    tokens: Tokens,
}

impl Starter<'_> {
    fn start_all(&mut self) -> Result<Bot, StartError> {
        let config = self.config;
        let pictures = ReadyPictures::default();
        let api = self.start_token_owner()?;
        if let Some(api) = &api {
            self.start_pictures(api, &pictures)?;
        }
        let runner = api.as_ref().map(|api| self.start_job_runner(api, &pictures)).transpose()?;
        // Results go out by customer-service message only on verified accounts.
        let can_push = config.wechat.verified && api.is_some();
        let notifier =
            api.filter(|_| can_push).map(|api| Notifier { api: api.client, tokens: api.tokens });
        let (kindle, mailer) = match self.start_mailer(notifier)? {
            Some((kindle, inbox)) => (Some(kindle), Some(inbox)),
            None => (None, None),
        };
        let jobs = (runner.is_some() || mailer.is_some())
            .then(|| JobQueue::new(self.store.clone(), runner, mailer, can_push));
        let catalog = self.start_library()?;
        self.start_crawler()?;
        let articles = self.start_articles()?;
        let rules = self.start_rules()?;
        let signer = LinkSigner::from_store(self.store, config.books.link_ttl_secs)
            .map_err(StartError::Runtime)?;
        let downloads = Some(Downloads {
            signer: Arc::new(signer),
            store: self.store.clone(),
            daily_limit: config.books.daily_downloads_per_user,
        });
        let handles = Handles { pictures, catalog, articles, jobs, kindle, downloads, rules };
        Ok(Bot::new(config.wechat.welcome.clone(), config.server.public_url.clone(), handles))
    }

    fn start_token_owner(&mut self) -> Result<Option<Api>, StartError> {
        let Some(source) = TokenSource::from_config(&self.config.wechat) else {
            log::info!("WeChat API off (no wechat.app_id/app_secret): pictures are not uploaded");
            return Ok(None);
        };
        let client = source.api.clone();
        let (owner, tokens) = TokenOwner::new(source, Some(self.store.clone()));
        self.start("token", move |shutdown| owner.run(&shutdown))?;
        Ok(Some(Api { client, tokens }))
    }

    fn start_pictures(&mut self, api: &Api, ready: &ReadyPictures) -> Result<(), StartError> {
        let dir = self.config.pictures.dir.clone();
        let inbox = self.watched_inbox("pictures.dir", &dir)?;
        let uploader = PictureUploader {
            dir,
            api: api.client.clone(),
            tokens: api.tokens.clone(),
            store: self.store.clone(),
            media_lifetime: Duration::from_secs(self.config.pictures.media_lifetime_secs),
            permanent: self.config.wechat.verified,
            ready: ready.clone(),
        };
        let uploader = uploader.reconciled();
        self.start("pictures", move |shutdown| uploader.run(inbox, &shutdown))
    }

    fn start_job_runner(
        &mut self,
        api: &Api,
        pictures: &ReadyPictures,
    ) -> Result<Sender<NewJob>, StartError> {
        let (inbox_tx, inbox) = crossbeam_channel::unbounded();
        let runner = JobRunner {
            store: self.store.clone(),
            api: api.client.clone(),
            tokens: api.tokens.clone(),
            pictures: pictures.clone(),
            can_push: self.config.wechat.verified,
        };
        self.start("jobs", move |shutdown| runner.run(inbox, &shutdown))?;
        Ok(inbox_tx)
    }

    /// The mailer and what the bot's Kindle commands need, when `[mail]` is set.
    fn start_mailer(
        &mut self,
        notifier: Option<Notifier>,
    ) -> Result<Option<(Kindle, Sender<NewJob>)>, StartError> {
        let config = self.config;
        let Some(mailer) =
            Mailer::new(&config.mail).map_err(|e| StartError::Config(e.to_string()))?
        else {
            log::info!("mail off (no mail.host): Kindle pushes are not offered");
            return Ok(None);
        };
        let mailer = Arc::new(mailer);
        let (inbox_tx, inbox) = crossbeam_channel::unbounded();
        let service = MailerService {
            store: self.store.clone(),
            mailer: mailer.clone(),
            books_dir: config.books.dir.clone(),
            outbox: config.storage.data_dir.join("outbox"),
            notifier,
            retry_first: Duration::from_secs(config.mail.retry_secs),
        };
        self.start("mailer", move |shutdown| service.run(inbox, &shutdown))?;
        let kindle = Kindle {
            mailer,
            store: self.store.clone(),
            daily_limit: config.mail.daily_limit_per_user,
        };
        Ok(Some((kindle, inbox_tx)))
    }

    fn start_library(&mut self) -> Result<SharedCatalog, StartError> {
        let catalog = SharedCatalog::default();
        let dir = self.config.books.dir.clone();
        let inbox = self.watched_inbox("books.dir", &dir)?;
        let service = LibraryService { store: self.store.clone(), dir, catalog: catalog.clone() };
        // The stored index is there at once; the scan brings it up to date.
        service.publish();
        self.start("library", move |shutdown| service.run(inbox, &shutdown))?;
        Ok(catalog)
    }

    /// The crawler thread, when sources are configured. It hands books to the
    /// library directly; the library service also sees them arrive by the watcher.
    fn start_crawler(&mut self) -> Result<(), StartError> {
        let config = self.config;
        let sources = config.crawler.sources.clone();
        if sources.is_empty() {
            return Ok(());
        }
        log::info!(
            "crawler: {} sources ({})",
            sources.len(),
            sources
                .iter()
                .map(|s| format!("{} every {} h", s.name, s.interval_hours))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let crawler = Crawler::new(&config.crawler, self.store.clone(), &config.books.dir);
        let service =
            CrawlerService { crawler, sources, store: self.store.clone(), start_now: false };
        self.start("crawler", move |shutdown| service.run(&shutdown, &mut Quiet))
    }

    /// The articles service needs no WeChat account: it always runs.
    fn start_articles(&mut self) -> Result<Articles, StartError> {
        let articles = Articles::default();
        let dir = self.config.articles.dir.clone();
        let inbox = self.watched_inbox("articles.dir", &dir)?;
        let library = ArticleLibrary::start(dir, self.config.articles.raw_html, articles.clone());
        self.start("articles", move |shutdown| library.run(inbox, &shutdown))?;
        Ok(articles)
    }

    /// The rules of `rules.file`, watched for edits. A broken file stops the
    /// start, with the words `zatan check` gives; a missing one is no rules.
    fn start_rules(&mut self) -> Result<SharedRules, StartError> {
        let rules = SharedRules::default();
        let path = self.config.rules.file.clone();
        let service = RulesService::start(path.clone(), rules.clone())
            .map_err(|e| StartError::Config(e.to_string()))?;
        let (events, inbox) = crossbeam_channel::unbounded();
        if let Some(watcher) = &mut self.watcher {
            if let Err(e) =
                watcher.watch_file(&path, Box::new(move |event| drop(events.send(event))))
            {
                // The directory is missing or unreadable: no edit can be seen.
                log::warn!(
                    "cannot watch rules.file {} ({e}); edits take effect at the next start",
                    path.display()
                );
            }
        }
        self.start("rules", move |shutdown| service.run(inbox, &shutdown))?;
        Ok(rules)
    }

    /// An inbox that receives the watcher's events for `dir` (the directory
    /// named by the config key `key`); one that receives nothing when
    /// nothing is started.
    fn watched_inbox(&mut self, key: &str, dir: &Path) -> Result<Receiver<FileEvent>, StartError> {
        let Some(watcher) = &mut self.watcher else { return Ok(crossbeam_channel::never()) };
        let (events, inbox) = crossbeam_channel::unbounded();
        watcher.watch(dir, Box::new(move |event| drop(events.send(event)))).map_err(|e| {
            StartError::Runtime(format!("cannot watch {key} {}: {e}", dir.display()))
        })?;
        Ok(inbox)
    }

    /// Run `body` on a thread of its own; when nothing is started, drop it:
    /// the service was set up and published what it has, and that is all.
    fn start(
        &mut self,
        name: &'static str,
        body: impl FnOnce(Shutdown) + Send + 'static,
    ) -> Result<(), StartError> {
        if self.watcher.is_some() {
            self.running.push(start_thread(name, body)?);
        }
        Ok(())
    }
}

fn start_thread(
    name: &'static str,
    body: impl FnOnce(Shutdown) + Send + 'static,
) -> Result<Running, StartError> {
    spawn(name, body)
        .map_err(|e| StartError::Runtime(format!("cannot start the {name} thread: {e}")))
}
