//! The command table. A new command is one entry here and one handler below.

use std::sync::atomic::Ordering;

use super::{Bot, Request};
use crate::store::{JobKind, JobState};
use crate::wechat::reply::Reply;

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
    Command { names: &["search", "搜", "搜索"], usage: "搜 关键词 / search WORDS", summary: "在书库里找书（书名或作者）", run: search },
    Command { names: &["book", "书"], usage: "书 ID / book ID", summary: "一本书的详情", run: book },
    Command { names: &["status", "状态"], usage: "状态 / status", summary: "查看你的请求进度", run: status },
];

/// How many books one search lists: a chat reply must stay short.
const SEARCH_LIMIT: usize = 8;

fn search(bot: &Bot, request: &Request) -> Reply {
    if request.args.is_empty() {
        return Reply::Text("请在「搜」后面写上书名或作者，例如：搜 三体".into());
    }
    let catalog = bot.catalog.snapshot();
    if catalog.is_empty() {
        return Reply::Text("书库还是空的。".into());
    }
    let found = catalog.search(request.args, SEARCH_LIMIT + 1);
    if found.is_empty() {
        return Reply::Text(format!("没有找到「{}」。换个关键词试试？", request.args));
    }
    let mut text = String::new();
    for book in found.iter().take(SEARCH_LIMIT) {
        text.push_str(&format!("{}  {}\n", book.id, book_line(book)));
    }
    if found.len() > SEARCH_LIMIT {
        text.push_str(&format!("（只列出前 {SEARCH_LIMIT} 本，关键词再具体些）\n"));
    }
    text.push_str("发送「书 ID」看详情，「推送 ID」发到 Kindle。");
    Reply::Text(text)
}

fn book(bot: &Bot, request: &Request) -> Reply {
    let catalog = bot.catalog.snapshot();
    let Some(book) = catalog.get(request.args) else {
        return Reply::Text(format!("没有 ID 为「{}」的书。先「搜 关键词」找到它的 ID。", request.args));
    };
    let formats: Vec<&str> = book.files.iter().map(|f| f.format.as_str()).collect();
    let size: u64 = book.files.iter().map(|f| f.size).max().unwrap_or(0);
    let mut text = format!(
        "《{}》\n作者：{}\n语言：{}\n格式：{}\n大小：{}\nID：{}",
        book.title,
        book.author.as_deref().unwrap_or("不详"),
        book.lang,
        formats.join("、"),
        human_size(size),
        book.id
    );
    if let Some(source) = book.files.iter().find_map(|f| f.provenance.as_ref()) {
        text.push_str(&format!("\n来源：{}", source.source));
    }
    text.push_str(&format!("\n发送「推送 {}」发到你的 Kindle。", book.id));
    Reply::Text(text)
}

/// 《书名》 — 作者
fn book_line(book: &crate::store::Book) -> String {
    match &book.author {
        Some(author) => format!("《{}》 — {author}", book.title),
        None => format!("《{}》", book.title),
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

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
            let what = match &job.kind {
                JobKind::SendPicture => "图片".to_string(),
                JobKind::PushBook { title, address, .. } => format!("推送《{title}》到 {address}"),
            };
            let state = match &job.state {
                JobState::Queued => "排队中".to_string(),
                JobState::Preparing => "准备中".to_string(),
                JobState::Sending => "发送中".to_string(),
                JobState::Delivered => "已发送".to_string(),
                JobState::Sent => "已寄出（Kindle 通常几分钟内收到）".to_string(),
                JobState::Ready(text) => text.clone(),
                JobState::Failed(reason) => format!("失败：{reason}"),
            };
            format!("#{} {what}：{state}", job.id)
        })
        .collect();
    Reply::Text(lines.join("\n"))
}
