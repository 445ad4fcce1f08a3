//! Chat commands: one table, one handler per command. Pure and fast: nothing
//! here touches the network or does slow work; later features hand slow work to
//! a service thread and answer at once.

mod commands;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::articles::Articles;
use crate::jobs::JobQueue;
use crate::library::SharedCatalog;
use crate::mail::Mailer;
use crate::pictures::ReadyPictures;
use crate::store::Store;
use crate::wechat::message::{Event, Incoming, MessageKind};
use crate::wechat::reply::Reply;

pub use commands::{Command, COMMANDS};

/// The chat commands with what they read.
pub struct Bot {
    pub welcome: String,
    /// `server.public_url` without a trailing `/`: article links need it.
    pub public_url: Option<String>,
    pub handles: Handles,
    /// Which ready picture `pic` sends next: followers see them in turn.
    next_picture: AtomicUsize,
}

/// What the Kindle commands need: the mail settings and the followers' addresses.
pub struct Kindle {
    pub mailer: Arc<Mailer>,
    pub store: Arc<Store>,
    pub daily_limit: u32,
}

/// One follower's request to a command.
pub struct Request<'a> {
    pub openid: &'a str,
    pub args: &'a str,
    /// The message's dedupe key: a job records it, so a retry never makes two.
    pub message_key: &'a str,
}

/// What the bot reads: handles onto what the services publish. The default
/// has nothing in it (no pictures, an empty library, no jobs, no mail).
#[derive(Default)]
pub struct Handles {
    pub pictures: ReadyPictures,
    /// The e-book library as the library service last published it.
    pub catalog: SharedCatalog,
    pub articles: Articles,
    /// Late replies; None where no service does jobs (`zatan simulate`).
    pub jobs: Option<JobQueue>,
    /// Kindle pushes; None without `[mail]`.
    pub kindle: Option<Kindle>,
}

impl Bot {
    /// `public_url` is `server.public_url`: links in replies start with it.
    pub fn new(welcome: String, public_url: Option<String>, handles: Handles) -> Bot {
        let public_url = public_url.map(|url| url.trim_end_matches('/').to_string());
        Bot { welcome, public_url, handles, next_picture: AtomicUsize::new(0) }
    }

    /// The reply to a message, or None for nothing to say. `message_key` is
    /// its dedupe key: a job records it, so a retry never makes two.
    pub fn respond(&self, message: &Incoming, message_key: &str) -> Option<Reply> {
        let openid = message.from_user.as_str();
        let key = message_key;
        match &message.kind {
            MessageKind::Text { content } => Some(self.run_text(openid, key, content)),
            MessageKind::Voice { recognition: Some(text), .. } if !text.trim().is_empty() => {
                Some(self.run_text(openid, key, text))
            }
            MessageKind::Voice { .. } => Some(hint("收到语音。")),
            MessageKind::Image { .. } => Some(hint("收到图片。")),
            MessageKind::Video { .. } | MessageKind::ShortVideo { .. } => Some(hint("收到视频。")),
            MessageKind::Location { label, .. } => Some(hint(&format!("收到位置：{label}。"))),
            MessageKind::Link { title, .. } => Some(hint(&format!("收到链接：{title}。"))),
            MessageKind::Event(event) => self.on_event(openid, key, event),
            MessageKind::Unknown { .. } => None,
        }
    }

    fn on_event(&self, openid: &str, message_key: &str, event: &Event) -> Option<Reply> {
        match event {
            Event::Subscribe { .. } => Some(Reply::Text(self.welcome.clone())),
            // A menu button whose key is a command name runs that command.
            Event::Click { event_key } => find(event_key)
                .map(|(command, args)| (command.run)(self, &Request { openid, args, message_key })),
            _ => None,
        }
    }

    /// Run the command a text names; unknown text gets a short hint.
    pub fn run_text(&self, openid: &str, message_key: &str, text: &str) -> Reply {
        match find(text) {
            Some((command, args)) => (command.run)(self, &Request { openid, args, message_key }),
            None => hint("没听懂这句。"),
        }
    }
}

/// The command a text starts with, and the rest of the text as its arguments.
/// Case-insensitive for Latin names; full-width spaces separate like spaces.
fn find(text: &str) -> Option<(&'static Command, &str)> {
    let text = text.trim_matches(|c: char| c.is_whitespace());
    let (word, args) = match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim_matches(char::is_whitespace)),
        None => (text, ""),
    };
    let word = word.to_lowercase();
    COMMANDS.iter().find(|c| c.names.contains(&word.as_str())).map(|c| (c, args))
}

fn hint(prefix: &str) -> Reply {
    Reply::Text(format!("{prefix}发送「帮助」或 help 查看可用命令。"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> Bot {
        Bot::new("欢迎".into(), None, Handles::default())
    }

    fn message(kind: MessageKind) -> Incoming {
        Incoming {
            to_user: "gh_me".into(),
            from_user: "o_user".into(),
            create_time: 1,
            msg_id: None,
            kind,
        }
    }

    fn text_of(reply: Option<Reply>) -> String {
        match reply {
            Some(Reply::Text(t)) => t,
            other => panic!("expected a text reply, got {other:?}"),
        }
    }

    #[test]
    fn help_in_every_alias_lists_every_command() {
        for alias in ["help", "HELP", "帮助", "?", "？", "  help  "] {
            let reply = text_of(
                bot().respond(&message(MessageKind::Text { content: alias.into() }), "key"),
            );
            for command in COMMANDS {
                assert!(reply.contains(command.names[0]), "{alias}: {reply}");
            }
        }
    }

    #[test]
    fn subscribe_gets_the_welcome_and_unknown_text_a_hint() {
        let welcome = bot().respond(
            &message(MessageKind::Event(Event::Subscribe { event_key: None, ticket: None })),
            "key",
        );
        assert_eq!(text_of(welcome), "欢迎");
        let hint = text_of(
            bot().respond(&message(MessageKind::Text { content: "blah blah".into() }), "key"),
        );
        assert!(hint.contains("帮助"), "{hint}");
    }

    #[test]
    fn other_types_get_short_text_or_success() {
        let image = message(MessageKind::Image { pic_url: "u".into(), media_id: "m".into() });
        assert!(text_of(bot().respond(&image, "key")).contains("图片"));
        assert!(bot().respond(&message(MessageKind::Event(Event::Unsubscribe)), "key").is_none());
        assert!(bot()
            .respond(&message(MessageKind::Unknown { msg_type: "miniprogrampage".into() }), "key")
            .is_none());
    }

    #[test]
    fn pic_sends_ready_pictures_in_turn_or_says_none_is_ready() {
        let bot = bot();
        let none =
            text_of(bot.respond(&message(MessageKind::Text { content: "图片".into() }), "key"));
        assert!(none.contains("还没有"), "{none}");
        bot.handles.pictures.replace(
            vec![
                crate::pictures::ReadyPicture { file_name: "a.png".into(), media_id: "m-a".into() },
                crate::pictures::ReadyPicture { file_name: "b.png".into(), media_id: "m-b".into() },
            ],
            0,
        );
        let sent: Vec<String> = ["pic", "来张图", "PIC"]
            .iter()
            .map(|alias| {
                match bot.respond(&message(MessageKind::Text { content: alias.to_string() }), "key")
                {
                    Some(Reply::Image { media_id }) => media_id,
                    other => panic!("{alias}: {other:?}"),
                }
            })
            .collect();
        assert_eq!(sent, ["m-a", "m-b", "m-a"]);
    }

    #[test]
    fn voice_recognition_and_menu_clicks_run_commands() {
        let voice = message(MessageKind::Voice {
            media_id: "m".into(),
            format: "amr".into(),
            recognition: Some("帮助".into()),
        });
        assert!(text_of(bot().respond(&voice, "key")).contains("help"));
        let click = message(MessageKind::Event(Event::Click { event_key: "help".into() }));
        assert!(text_of(bot().respond(&click, "key")).contains("help"));
    }

    fn with_articles(public_url: Option<&str>) -> Bot {
        let articles = crate::articles::Articles::default();
        let text = |title: &str, date: &str, extra: &str| {
            format!("---\ntitle: {title}\ndate: {date}\n{extra}---\n正文。")
        };
        let files: Vec<_> = [
            ("spring", text("春天的树莓派", "2024-03-01", "cover: 春 天.png\nsummary: 春天来了\n")),
            ("router", text("Router 笔记", "2024-02-01", "")),
            ("old", text("旧文", "2023-01-01", "")),
            ("draft", text("草稿", "2025-01-01", "draft: true\n")),
        ]
        .into_iter()
        .map(|(slug, t)| {
            std::sync::Arc::new(crate::articles::parse(slug, &t, 0, Default::default()).unwrap())
        })
        .collect();
        articles.publish(crate::articles::Index::build(&files, 0));
        Bot::new(
            "欢迎".into(),
            public_url.map(String::from),
            Handles { articles, ..Handles::default() },
        )
    }

    fn say(bot: &Bot, text: &str) -> Option<Reply> {
        bot.respond(&message(MessageKind::Text { content: text.into() }), "key")
    }

    #[test]
    fn articles_is_a_news_card_for_the_newest_with_the_others_listed() {
        let bot = with_articles(Some("https://zatan.example/"));
        for alias in ["文章", "articles", "ARTICLES"] {
            let Some(Reply::News(card)) = say(&bot, alias) else { panic!("{alias}: no news card") };
            assert_eq!(card.title, "春天的树莓派");
            assert_eq!(card.url, "https://zatan.example/articles/spring");
            assert_eq!(card.pic_url, "https://zatan.example/pictures/%E6%98%A5%20%E5%A4%A9.png");
            assert!(card.description.starts_with("春天来了"), "{}", card.description);
            assert!(card.description.contains("· Router 笔记\n· 旧文"), "{}", card.description);
            assert!(!card.description.contains("草稿"));
        }
    }

    #[test]
    fn articles_with_words_lists_matching_titles_as_links() {
        let bot = with_articles(Some("https://zatan.example"));
        let found = text_of(say(&bot, "文章 树莓派"));
        assert!(
            found.contains("<a href=\"https://zatan.example/articles/spring\">春天的树莓派</a>"),
            "{found}"
        );
        assert!(!found.contains("Router"), "{found}");
        assert!(text_of(say(&bot, "articles router")).contains("Router 笔记"));
        assert!(text_of(say(&bot, "文章 草稿")).contains("没有标题含「草稿」"));
    }

    #[test]
    fn articles_without_public_url_gives_titles_and_says_links_are_off() {
        let bot = with_articles(None);
        let newest = text_of(say(&bot, "文章"));
        assert!(newest.contains("春天的树莓派") && newest.contains("旧文"), "{newest}");
        assert!(newest.contains("server.public_url") && !newest.contains("http"), "{newest}");
        let found = text_of(say(&bot, "文章 笔记"));
        assert!(found.contains("· Router 笔记") && found.contains("server.public_url"), "{found}");
        assert_eq!(text_of(say(&super::tests::bot(), "文章")), "还没有文章。");
    }
}
