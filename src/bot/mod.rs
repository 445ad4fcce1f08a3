//! Chat: the owner's keyword rules first, then the command table, one handler
//! per command. Pure and fast: nothing here touches the network or does slow
//! work; slow work is handed to a service thread and answered at once. Every
//! reply leaves through [`Bot::answer`], which keeps it within what WeChat
//! delivers: long text in pages, news items within their limits.

mod commands;
pub mod pages;
pub mod rules;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::articles::Articles;
use crate::jobs::JobQueue;
use crate::library::links::LinkSigner;
use crate::library::SharedCatalog;
use crate::mail::Mailer;
use crate::pictures::ReadyPictures;
use crate::store::Store;
use crate::text::fold;
use crate::wechat::message::{Event, Incoming, MessageKind};
use crate::wechat::reply::Reply;

pub use commands::{Command, COMMANDS};
use pages::Pages;
use rules::{Action, Said, SharedRules};

/// The chat commands with what they read.
pub struct Bot {
    pub welcome: String,
    /// `server.public_url` without a trailing `/`: article links need it.
    pub public_url: Option<String>,
    pub handles: Handles,
    /// Which ready picture `pic` sends next: followers see them in turn.
    next_picture: AtomicUsize,
    /// The rest of long replies, for 「更多」.
    pages: Pages,
}

/// What the Kindle commands need: the mail settings and the followers' addresses.
pub struct Kindle {
    pub mailer: Arc<Mailer>,
    pub store: Arc<Store>,
    pub daily_limit: u32,
}

/// What `下载` needs: the link signer and the daily count.
pub struct Downloads {
    pub signer: Arc<LinkSigner>,
    pub store: Arc<Store>,
    /// `books.daily_downloads_per_user`.
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
/// has nothing in it (no pictures, an empty library, no jobs, no mail, no rules).
#[derive(Default)]
pub struct Handles {
    pub pictures: ReadyPictures,
    /// The e-book library as the library service last published it.
    pub catalog: SharedCatalog,
    pub articles: Articles,
    /// Late replies; None where no service does jobs.
    pub jobs: Option<JobQueue>,
    /// Kindle pushes; None without `[mail]`.
    pub kindle: Option<Kindle>,
    /// Download links; None where nothing serves them.
    pub downloads: Option<Downloads>,
    /// The owner's keyword rules as the rules service last published them.
    pub rules: SharedRules,
}

/// A reply and what gave it.
#[derive(Debug)]
pub struct Answered {
    /// None: nothing to say (`success`).
    pub reply: Option<Reply>,
    pub by: By,
}

/// What answered a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    /// The keyword rule whose `[[rule]]` is on this line of the rules file;
    /// `command` when it runs a built-in command.
    Rule { line: usize, command: Option<&'static str> },
    /// The built-in command (its first name).
    Command(&'static str),
    /// `wechat.welcome`, to a new follower.
    Welcome,
    /// Neither a rule nor a command: a short hint, or nothing.
    Default,
}

impl Bot {
    /// `public_url` is `server.public_url`: links in replies start with it.
    pub fn new(welcome: String, public_url: Option<String>, handles: Handles) -> Bot {
        let public_url = public_url.map(|url| url.trim_end_matches('/').to_string());
        Bot {
            welcome,
            public_url,
            handles,
            next_picture: AtomicUsize::new(0),
            pages: Pages::default(),
        }
    }

    /// The reply to a message, or None for nothing to say. `message_key` is
    /// its dedupe key: a job records it, so a retry never makes two.
    pub fn respond(&self, message: &Incoming, message_key: &str) -> Option<Reply> {
        self.answer(message, message_key).reply
    }

    /// The reply to a message and what gave it, as WeChat will deliver it:
    /// the one place every reply passes through. A text over 2048 bytes
    /// becomes its first page (the rest waits for 「更多」); a news item is
    /// cut to WeChat's limits.
    pub fn answer(&self, message: &Incoming, message_key: &str) -> Answered {
        let openid = message.from_user.as_str();
        let Answered { reply, by } = self.answer_as_made(openid, message_key, &message.kind);
        let reply = reply.map(|reply| match reply {
            Reply::Text(text) => Reply::Text(self.pages.first(openid, text)),
            Reply::News(article) => Reply::News(article.within_limits()),
            other => other,
        });
        Answered { reply, by }
    }

    fn answer_as_made(&self, openid: &str, key: &str, kind: &MessageKind) -> Answered {
        let by_default = |reply: Option<Reply>| Answered { reply, by: By::Default };
        match kind {
            MessageKind::Text { content } => self.on_text(openid, key, content),
            MessageKind::Voice { recognition: Some(text), .. } if !text.trim().is_empty() => {
                self.on_text(openid, key, text)
            }
            MessageKind::Voice { .. } => by_default(Some(hint("收到语音。"))),
            MessageKind::Image { .. } => by_default(Some(hint("收到图片。"))),
            MessageKind::Video { .. } | MessageKind::ShortVideo { .. } => {
                by_default(Some(hint("收到视频。")))
            }
            MessageKind::Location { label, .. } => {
                by_default(Some(hint(&format!("收到位置：{label}。"))))
            }
            MessageKind::Link { title, .. } => {
                by_default(Some(hint(&format!("收到链接：{title}。"))))
            }
            MessageKind::Event(event) => self.on_event(openid, key, event),
            MessageKind::Unknown { .. } => by_default(None),
        }
    }

    /// A rule's answer, else the command the text names, else a short hint.
    fn on_text(&self, openid: &str, message_key: &str, text: &str) -> Answered {
        if let Some(answered) = self.by_rule(openid, message_key, Said::Text(text)) {
            return answered;
        }
        match self.run_command(openid, message_key, text) {
            Some((reply, name)) => Answered { reply: Some(reply), by: By::Command(name) },
            None => Answered { reply: Some(hint("没听懂这句。")), by: By::Default },
        }
    }

    fn on_event(&self, openid: &str, message_key: &str, event: &Event) -> Answered {
        let said = match event {
            Event::Subscribe { event_key, .. } => Said::Subscribe {
                scene: event_key.as_deref().and_then(|key| key.strip_prefix("qrscene_")),
            },
            Event::Scan { event_key, .. } => Said::Scan(event_key),
            Event::Click { event_key } => Said::Click(event_key),
            _ => return Answered { reply: None, by: By::Default },
        };
        if let Some(answered) = self.by_rule(openid, message_key, said) {
            return answered;
        }
        match event {
            Event::Subscribe { .. } => {
                Answered { reply: Some(Reply::Text(self.welcome.clone())), by: By::Welcome }
            }
            // A menu button whose key is a command name runs that command.
            Event::Click { event_key } => match self.run_command(openid, message_key, event_key) {
                Some((reply, name)) => Answered { reply: Some(reply), by: By::Command(name) },
                None => Answered { reply: None, by: By::Default },
            },
            _ => Answered { reply: None, by: By::Default },
        }
    }

    /// The answer of the first rule that matches, if one does.
    fn by_rule(&self, openid: &str, message_key: &str, said: Said) -> Option<Answered> {
        let rules = self.handles.rules.snapshot();
        let matched = rules.find(said)?;
        let line = matched.rule.line;
        let (reply, command) = match matched.action {
            Action::Reply(text) => (Reply::Text(text), None),
            Action::Image(name) => (commands::picture_named(self, &name), None),
            Action::Article(slug) => (commands::article_named(self, &slug), None),
            // Checked to name a command when the rules were loaded.
            Action::Command(line) => match self.run_command(openid, message_key, &line) {
                Some((reply, name)) => (reply, Some(name)),
                None => (hint("没听懂这句。"), None),
            },
        };
        Some(Answered { reply: Some(reply), by: By::Rule { line, command } })
    }

    /// The public link to a path of this server; None without `server.public_url`.
    fn link(&self, path: &str) -> Option<String> {
        self.public_url.as_ref().map(|base| format!("{base}{path}"))
    }

    /// The reply of the built-in command `text` names, and that command's name.
    fn run_command(
        &self,
        openid: &str,
        message_key: &str,
        text: &str,
    ) -> Option<(Reply, &'static str)> {
        let (command, args) = find(text)?;
        Some(((command.run)(self, &Request { openid, args, message_key }), command.names[0]))
    }
}

/// The command a text starts with, and the rest of the text as its arguments.
/// The word is folded (Latin case, full-width forms); full-width spaces
/// separate like spaces.
fn find(text: &str) -> Option<(&'static Command, &str)> {
    let text = text.trim_matches(|c: char| c.is_whitespace());
    let (word, args) = match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim_matches(char::is_whitespace)),
        None => (text, ""),
    };
    let word = fold(word);
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

    fn with_rules(bot: Bot, rules: &str) -> Bot {
        let path = std::path::Path::new("rules.toml");
        bot.handles.rules.publish(rules::Rules::from_text(rules, path).unwrap());
        bot
    }

    fn event(event: Event) -> Incoming {
        message(MessageKind::Event(event))
    }

    fn said(bot: &Bot, text: &str, key: &str) -> String {
        text_of(bot.respond(&message(MessageKind::Text { content: text.into() }), key))
    }

    #[test]
    fn rules_come_before_commands_and_the_welcome() {
        let bot = with_rules(
            bot(),
            "[[rule]]\nkeywords = [\"帮助\"]\nreply = \"自己的帮助\"\n\
             [[rule]]\nkeywords = [\"找书\"]\ncommand = \"帮助\"\n\
             [[rule]]\non = \"subscribe\"\nreply = \"欢迎！\"\n\
             [[rule]]\non = \"click:help\"\nreply = \"点了\"\n",
        );
        let answered = bot.answer(&message(MessageKind::Text { content: "帮助".into() }), "k");
        assert_eq!(answered.by, By::Rule { line: 1, command: None });
        assert_eq!(text_of(answered.reply), "自己的帮助");
        assert!(said(&bot, "help", "k2").contains("可用命令"), "only the rule's own words");
        let answered = bot.answer(&message(MessageKind::Text { content: "找书".into() }), "k");
        assert_eq!(answered.by, By::Rule { line: 4, command: Some("help") });
        assert!(text_of(answered.reply).contains("可用命令"));
        let welcome = bot.answer(&event(Event::Subscribe { event_key: None, ticket: None }), "k");
        assert_eq!(welcome.by, By::Rule { line: 7, command: None });
        assert_eq!(text_of(welcome.reply), "欢迎！");
        let click = event(Event::Click { event_key: "help".into() });
        assert_eq!(text_of(bot.respond(&click, "k")), "点了");
        let unruled = event(Event::Click { event_key: "pic".into() });
        assert_eq!(bot.answer(&unruled, "k").by, By::Command("pic"));
    }

    #[test]
    fn a_long_reply_comes_in_pages_that_join_back() {
        let long: String = (0..300).map(|n| format!("第{n}行：书目\n")).collect();
        assert!(long.len() > 5000);
        let rules = format!("[[rule]]\nkeywords = [\"长\"]\nreply = '''{long}'''\n");
        let bot = with_rules(bot(), &rules);
        let mut pages = vec![said(&bot, "长", "first")];
        for n in 0.. {
            let page = said(&bot, "更多", &format!("m{n}"));
            if page.starts_with("已经是最后一页") {
                break;
            }
            pages.push(page);
        }
        assert!(pages.len() >= 3, "{}", pages.len());
        assert!(pages.iter().all(|p| p.len() <= 2048));
        let joined: String =
            pages.iter().map(|p| p.strip_suffix(pages::MORE_HINT).unwrap_or(p)).collect();
        assert_eq!(joined, long);
        assert!(said(&bot, "more", "x").contains("最后一页"));
        let stranger = Incoming {
            from_user: "o_other".into(),
            ..message(MessageKind::Text { content: "更多".into() })
        };
        assert!(text_of(bot.respond(&stranger, "y")).contains("没有下一页"));
    }

    #[test]
    fn an_image_rule_sends_the_picture_once_uploaded_and_says_so_before() {
        let bot = with_rules(bot(), "[[rule]]\nkeywords = [\"二维码\"]\nimage = \"qr.png\"\n");
        let ready = |pictures: &[(&str, &str)], pending| {
            let pictures = pictures
                .iter()
                .map(|(f, m)| crate::pictures::ReadyPicture {
                    file_name: f.to_string(),
                    media_id: m.to_string(),
                })
                .collect();
            bot.handles.pictures.replace(pictures, pending);
        };
        assert!(said(&bot, "二维码", "a").contains("暂时发不了"));
        ready(&[("cat.png", "m-cat")], 1);
        assert!(said(&bot, "二维码", "b").contains("还在上传"));
        ready(&[("cat.png", "m-cat"), ("qr.png", "m-qr")], 0);
        assert_eq!(say(&bot, "二维码"), Some(Reply::Image { media_id: "m-qr".into() }));
    }

    #[test]
    fn an_article_rule_is_the_articles_news_card_within_wechats_limits() {
        let bot = with_rules(
            with_articles(Some("https://zatan.example")),
            "[[rule]]\nkeywords = [\"路由\"]\narticle = \"router\"\n\
             [[rule]]\nkeywords = [\"草稿\"]\narticle = \"draft\"\n",
        );
        let Some(Reply::News(card)) = say(&bot, "路由") else { panic!("no news card") };
        assert_eq!(card.title, "Router 笔记");
        assert_eq!(card.url, "https://zatan.example/articles/router");
        assert!(said(&bot, "草稿", "d").contains("看不到"), "drafts are never shown");

        let text = format!(
            "---\ntitle: {}\nsummary: {}\n---\n正文",
            "很长".repeat(40),
            "摘要".repeat(200)
        );
        let article = crate::articles::parse("long", &text, 0, Default::default()).unwrap();
        let article = std::sync::Arc::new(article);
        bot.handles.articles.publish(crate::articles::Index::build([&article], 0));
        let Some(Reply::News(card)) = say(&bot, "文章") else { panic!("no news card") };
        assert!(card.title.len() <= crate::wechat::reply::NEWS_TITLE_MAX_BYTES, "{}", card.title);
        assert!(card.description.len() <= crate::wechat::reply::NEWS_DESCRIPTION_MAX_BYTES);
        assert!(card.title.ends_with('…') && card.title.starts_with("很长很长"));
    }

    #[test]
    fn full_width_command_words_are_folded() {
        assert!(said(&bot(), "ＨＥＬＰ", "k").contains("可用命令"));
    }
}
