//! The command table. A new command is one entry here and one handler below.

use std::sync::atomic::Ordering;

use super::{Bot, Request};
use crate::articles::pictures_url;
use crate::store::{JobKind, JobState};
use crate::wechat::reply::{Article, Reply};

pub struct Command {
    /// The first name is the one shown in help; the rest are aliases (lower case).
    pub names: &'static [&'static str],
    pub usage: &'static str,
    pub summary: &'static str,
    pub run: fn(&Bot, &Request) -> Reply,
}

pub const COMMANDS: &[Command] = &[
    Command { names: &["help", "帮助", "?", "？"], usage: "帮助 / help", summary: "列出可用命令", run: help },
    Command { names: &["pic", "图片", "来张图"], usage: "图片 / pic", summary: "来一张图", run: picture },
    Command { names: &["status", "状态"], usage: "状态 / status", summary: "查看你的请求进度", run: status },
    Command { names: &["articles", "文章"], usage: "文章 / articles [关键词]", summary: "最新文章；带关键词时按标题查找", run: articles },
];

fn help(_bot: &Bot, _request: &Request) -> Reply {
    let mut text = String::from("可用命令：");
    for command in COMMANDS {
        text.push_str(&format!("\n· {} — {}", command.usage, command.summary));
    }
    Reply::Text(text)
}

/// A picture that WeChat already has: the pictures come in turn. While the
/// first ones are still uploading, a job sends one as soon as it is ready.
fn picture(bot: &Bot, request: &Request) -> Reply {
    let ready = bot.pictures.snapshot();
    if ready.is_empty() {
        if let (Some(jobs), true) = (&bot.jobs, bot.pictures.pending() > 0) {
            return match jobs.submit(request.message_key, JobKind::SendPicture, request.openid) {
                Ok(_) if jobs.can_push => Reply::Text("收到，处理中：图片正在上传，传好就发给你。".into()),
                Ok(_) => Reply::Text("收到，处理中：图片正在上传，稍后发送「状态」查看。".into()),
                Err(e) => {
                    log::error!("cannot record a picture request: {e}");
                    Reply::Text("暂时记不下这个请求，请稍后再试。".into())
                }
            };
        }
        return Reply::Text("现在还没有可以发送的图片，请稍后再试。".into());
    }
    let turn = bot.next_picture.fetch_add(1, Ordering::Relaxed);
    Reply::Image { media_id: ready[turn % ready.len()].media_id.clone() }
}

/// The follower's recent late replies and where each one stands.
fn status(bot: &Bot, request: &Request) -> Reply {
    let Some(jobs) = &bot.jobs else {
        return Reply::Text("没有进行中的请求。".into());
    };
    let recent = match jobs.recent(request.openid, 5) {
        Ok(recent) => recent,
        Err(e) => {
            log::error!("cannot read jobs: {e}");
            return Reply::Text("暂时查不到，请稍后再试。".into());
        }
    };
    if recent.is_empty() {
        return Reply::Text("没有进行中的请求。".into());
    }
    let lines: Vec<String> = recent
        .iter()
        .map(|job| {
            let what = match job.kind {
                JobKind::SendPicture => "图片",
            };
            let state = match &job.state {
                JobState::Queued => "处理中".to_string(),
                JobState::Delivered => "已发送".to_string(),
                JobState::Ready(text) => text.clone(),
                JobState::Failed(reason) => format!("失败：{reason}"),
            };
            format!("#{} {what}：{state}", job.id)
        })
        .collect();
    Reply::Text(lines.join("\n"))
}

/// How many titles a reply lists: enough to choose from, short enough to read.
const LISTED_TITLES: usize = 8;

/// Without words: the newest article as a news card, the titles before it in
/// the card's description (a passive reply is one message, so the list rides
/// along there). With words: the titles that hold them, as links.
/// Without `server.public_url` there are no links to give: titles only.
fn articles(bot: &Bot, request: &Request) -> Reply {
    let index = bot.articles.snapshot();
    let url = |path: &str| bot.public_url.as_ref().map(|base| format!("{base}{path}"));
    if !request.args.is_empty() {
        let found: Vec<_> = index.search(request.args).take(LISTED_TITLES).collect();
        if found.is_empty() {
            return Reply::Text(format!("没有标题含「{}」的文章。发送「文章」看最新的。", request.args));
        }
        let lines: Vec<String> = found
            .iter()
            .map(|a| match url(&a.path()) {
                Some(link) => format!("· <a href=\"{link}\">{}</a>", a.title),
                None => format!("· {}", a.title),
            })
            .collect();
        let mut text = format!("标题含「{}」的文章：\n{}", request.args, lines.join("\n"));
        if bot.public_url.is_none() {
            text.push_str(NO_LINKS);
        }
        return Reply::Text(text);
    }
    let Some(newest) = index.articles.first() else {
        return Reply::Text("还没有文章。".into());
    };
    let earlier: Vec<String> = index.articles[1..].iter().take(LISTED_TITLES - 1).map(|a| format!("· {}", a.title)).collect();
    match url(&newest.path()) {
        Some(page) => {
            let mut description = newest.summary.clone();
            if !earlier.is_empty() {
                description.push_str(&format!("\n\n更早的文章：\n{}", earlier.join("\n")));
            }
            Reply::News(Article {
                title: newest.title.clone(),
                description,
                pic_url: newest.cover.as_deref().and_then(|c| url(&pictures_url(c))).unwrap_or_default(),
                url: page,
            })
        }
        None => {
            let mut text = format!("最新：{}（{}）\n{}", newest.title, newest.date, newest.summary);
            if !earlier.is_empty() {
                text.push_str(&format!("\n\n更早的文章：\n{}", earlier.join("\n")));
            }
            text.push_str(NO_LINKS);
            Reply::Text(text)
        }
    }
}

const NO_LINKS: &str = "\n\n（文章链接暂不可用：服务器未设置 server.public_url。）";
