//! The articles service: owns the rendered articles of `articles.dir`, reads
//! a file again when the watcher says it changed, and publishes a new index
//! for the pages and the bot, which never wait on it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::draft_sync::DraftRequests;
use super::watcher::FileEvent;
use super::Service;
use crate::articles::{self, Article, Articles, Index, LoadOptions};
use crate::clock::unix_now;
use crate::shutdown::Shutdown;

pub struct ArticleLibrary {
    dir: PathBuf,
    options: LoadOptions,
    published: Articles,
    /// Every article file by name, drafts included; the index leaves drafts out.
    files: BTreeMap<String, Arc<Article>>,
    /// `articles.sync_drafts`: each new or changed article goes to WeChat's draft box.
    drafts: Option<DraftRequests>,
}

impl ArticleLibrary {
    /// Reads the whole directory and publishes it, so the first request after
    /// start already finds every article.
    pub fn start(
        dir: PathBuf,
        raw_html: bool,
        published: Articles,
        drafts: Option<DraftRequests>,
    ) -> ArticleLibrary {
        let options = LoadOptions { raw_html, not_before: unix_now() };
        let mut library =
            ArticleLibrary { dir, options, published, files: BTreeMap::new(), drafts };
        library.rescan();
        library
    }

    /// In sync mode, asks for a WeChat draft of an article that is not a
    /// `draft: true` one (those are not finished).
    fn sync(&self, article: &Article) {
        if let Some(drafts) = self.drafts.as_ref().filter(|_| !article.draft) {
            drafts.changed(&article.slug);
        }
    }

    pub fn run(mut self, inbox: Receiver<FileEvent>, shutdown: &Shutdown) {
        super::run(&mut self, &inbox, shutdown);
    }

    /// Published before the log line, so the line means the pages show it.
    fn reload(&mut self, name: String) {
        let path = self.dir.join(&name);
        match articles::load_file(&path, self.options) {
            Ok(article) => {
                let line = format!(
                    "article {name} loaded: {}{}",
                    article.title,
                    if article.draft { " (draft)" } else { "" }
                );
                let article = Arc::new(article);
                self.files.insert(name, article.clone());
                self.publish();
                log::info!("{line}");
                self.sync(&article);
            }
            Err(e) => {
                self.files.remove(&name);
                self.publish();
                log::warn!("skipping article {}: {e}", path.display());
            }
        }
    }

    fn rescan(&mut self) {
        self.files = articles::load_dir(&self.dir, self.options);
        self.publish();
        let drafts = self.files.values().filter(|a| a.draft).count();
        let dir = self.dir.display();
        log::info!("articles: {} in {dir} ({drafts} drafts)", self.files.len() - drafts);
        for article in self.files.values() {
            self.sync(article);
        }
    }

    fn publish(&self) {
        self.published.publish(Index::build(self.files.values(), unix_now()));
    }
}

impl Service for ArticleLibrary {
    type Message = FileEvent;

    fn on_message(&mut self, event: FileEvent) {
        match event {
            FileEvent::Changed(name) if name.ends_with(articles::EXTENSION) => self.reload(name),
            FileEvent::Removed(name) => {
                if self.files.remove(&name).is_some() {
                    self.publish();
                    log::info!("article {name} removed");
                }
            }
            FileEvent::Rescan => self.rescan(),
            FileEvent::Changed(_) => {}
        }
    }
}
