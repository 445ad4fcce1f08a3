//! `zatan simulate`: the bot's reply to one text, without a server.

use crate::articles::{self, Articles, Index, LoadOptions};
use crate::bot::{Bot, Handles};
use crate::config::Config;
use crate::library::{Catalog, SharedCatalog};
use crate::store::{self, Store};
use crate::wechat::reply::Reply;

/// `zatan simulate`: the bot's reply to one text, as a follower would see it.
pub fn run(config: &Config, from: &str, text: &str) -> String {
    // No uploader runs here, so `pic` honestly finds no picture ready. The
    // library is read from the store when no server holds it; the articles
    // are read once, as the server would at its start.
    let catalog = SharedCatalog::default();
    if config.storage.data_dir.join(store::FILE_NAME).exists() {
        match Store::open(&config.storage.data_dir).and_then(|store| store.books()) {
            Ok(books) => catalog.publish(Catalog::new(books)),
            Err(e) => eprintln!("zatan: the library is not available here ({e})"),
        }
    }
    let articles = Articles::default();
    let loaded = articles::load_dir(
        &config.articles.dir,
        LoadOptions { raw_html: config.articles.raw_html, not_before: 0 },
    );
    articles.publish(Index::build(loaded.values(), 0));
    let handles = Handles { catalog, articles, ..Handles::default() };
    let bot = Bot::new(config.wechat.welcome.clone(), config.server.public_url.clone(), handles);
    describe_reply(&bot.run_text(from, "simulate", text))
}

fn describe_reply(reply: &Reply) -> String {
    match reply {
        Reply::Text(text) => text.clone(),
        Reply::Image { media_id } => format!("[image {media_id}]"),
        Reply::Voice { media_id } => format!("[voice {media_id}]"),
        Reply::Video { media_id, title, .. } => format!("[video {media_id}] {title}"),
        Reply::Music { title, music_url, .. } => format!("[music] {title} {music_url}"),
        Reply::News(article) => {
            format!(
                "[news] {}\n{}\n{}\n{}",
                article.title, article.description, article.pic_url, article.url
            )
        }
    }
}
