//! The command table. A new command is one entry here and one handler below.

use std::sync::atomic::Ordering;

use super::pages::Next;
use super::{Bot, Request};
use crate::articles::pictures_url;
use crate::clock::{beijing_midnight, unix_now};
use crate::http::encode_path_segment;
use crate::mail::{attachment_name, too_big};
use crate::store::{Follower, JobKind, JobState, StoreError};
use crate::text::human_size;
use crate::wechat::reply::{Article, Reply};

pub struct Command {
    /// The first name is the one shown in help; the rest are aliases (lower case).
    pub names: &'static [&'static str],
    pub usage: &'static str,
    pub summary: &'static str,
    pub run: fn(&Bot, &Request) -> Reply,
}

pub const COMMANDS: &[Command] = &[
    Command {
        names: &["help", "帮助", "?", "？"],
        usage: "帮助 / help",
        summary: "列出可用命令",
        run: help,
    },
    Command {
        names: &["pic", "图片", "来张图"],
        usage: "图片 / pic",
        summary: "来一张图",
        run: picture,
    },
    Command {
        names: &["search", "搜", "搜索"],
        usage: "搜 关键词 / search WORDS",
        summary: "在书库里找书（书名或作者）",
        run: search,
    },
    Command {
        names: &["book", "书"],
        usage: "书 ID / book ID",
        summary: "一本书的详情",
        run: book,
    },
    Command {
        names: &["bind", "绑定"],
        usage: "绑定 地址 / bind ADDRESS",
        summary: "绑定你的 Kindle 收书邮箱",
        run: bind,
    },
    Command {
        names: &["unbind", "解绑"],
        usage: "解绑 / unbind",
        summary: "解除 Kindle 邮箱绑定",
        run: unbind,
    },
    Command {
        names: &["push", "推送"],
        usage: "推送 ID / push ID",
        summary: "把一本书发到你的 Kindle",
        run: push,
    },
    Command {
        names: &["download", "下载"],
        usage: "下载 ID / download ID",
        summary: "要一本书的下载链接",
        run: download,
    },
    Command {
        names: &["status", "状态"],
        usage: "状态 / status",
        summary: "查看你的请求进度",
        run: status,
    },
    Command {
        names: &["articles", "文章"],
        usage: "文章 / articles [关键词]",
        summary: "最新文章；带关键词时按标题查找",
        run: articles,
    },
    Command {
        names: &["more", "更多"],
        usage: "更多 / more",
        summary: "长回复的下一页",
        run: more,
    },
];

const NO_KINDLE: &str = "这个公众号还没有开通 Kindle 推送。";

/// The answer of a command that must save something when the store cannot
/// (a full disk, a failing card): short and at once, and the same bytes for
/// WeChat's retries of the message (the reply cache keeps them).
pub const CANNOT_SAVE: &str = "暂时无法保存，请稍后再试。";

/// [`CANNOT_SAVE`], and the failure logged (a disk fault not once per message).
fn cannot_save(what: &str, e: &StoreError) -> Reply {
    e.log_failure(&format!("cannot {what}"));
    Reply::Text(CANNOT_SAVE.into())
}

fn bind(bot: &Bot, request: &Request) -> Reply {
    let Some(kindle) = &bot.handles.kindle else { return Reply::Text(NO_KINDLE.into()) };
    if request.args.is_empty() {
        return Reply::Text(
            "请在「绑定」后面写上你的 Kindle 收书邮箱，例如：绑定 yourname@kindle.com".into(),
        );
    }
    let address = match kindle.mailer.check_address(request.args) {
        Ok(address) => address,
        Err(e) => return Reply::Text(e.to_string()),
    };
    let follower = Follower { kindle: Some(address.clone()), bound_at: unix_now() };
    if let Err(e) = kindle.store.save_follower(request.openid, &follower) {
        return cannot_save("save a Kindle address", &e);
    }
    log::info!("{} bound Kindle address {address}", request.openid);
    Reply::Text(format!(
        "已绑定 {address}。\n请在亚马逊「管理我的内容和设备 → 首选项 → 个人文档设置」里，把 {} 加入「已认可的发件人电子邮箱列表」，否则 Kindle 收不到书。",
        kindle.mailer.sender()
    ))
}

fn unbind(bot: &Bot, request: &Request) -> Reply {
    let Some(kindle) = &bot.handles.kindle else { return Reply::Text(NO_KINDLE.into()) };
    match kindle.store.save_follower(request.openid, &Follower::default()) {
        Ok(()) => Reply::Text("已解除绑定。".into()),
        Err(e) => cannot_save("clear a Kindle address", &e),
    }
}

/// Queue a push: checked here (address, book, size, daily limit) so the
/// follower hears at once what cannot work; the mailer does the rest.
fn push(bot: &Bot, request: &Request) -> Reply {
    let (Some(kindle), Some(jobs)) = (&bot.handles.kindle, &bot.handles.jobs) else {
        return Reply::Text(NO_KINDLE.into());
    };
    let address = match kindle.store.follower(request.openid) {
        Ok(Follower { kindle: Some(address), .. }) => address,
        Ok(_) => return Reply::Text("先绑定你的 Kindle 邮箱：绑定 yourname@kindle.com".into()),
        Err(e) => return cannot_save("read a follower", &e),
    };
    let catalog = bot.handles.catalog.snapshot();
    let Some(book) = catalog.get(request.args) else { return no_such_book(request.args) };
    // An EPUB is sent nearly as it is, so its size is known now; other formats
    // are converted first and checked then.
    if let Some(epub) = book.files.iter().find(|f| f.format == "epub") {
        let size = kindle.mailer.encoded_size_of(&attachment_name(&book.title), epub.size);
        if size > kindle.mailer.max_mail_bytes() {
            return Reply::Text(format!(
                "《{}》没法推送：{}。",
                book.title,
                too_big(size, kindle.mailer.max_mail_bytes())
            ));
        }
    }
    let now = unix_now();
    match kindle.store.pushes_since(request.openid, beijing_midnight(now)) {
        Ok(count) if count >= kindle.daily_limit as usize => {
            return Reply::Text(format!(
                "今天已经推送了 {count} 本，每天最多 {} 本，明天再来吧。",
                kindle.daily_limit
            ));
        }
        Ok(_) => {}
        Err(e) => return cannot_save("count pushes", &e),
    }
    let kind = JobKind::PushBook {
        book_id: book.id.clone(),
        title: book.title.clone(),
        address: address.clone(),
    };
    match jobs.submit(request.message_key, kind, request.openid) {
        Ok((job, _)) => {
            log::info!(
                "{} asked for book {} ({}) at {address}: job {}",
                request.openid,
                book.id,
                book.title,
                job.id
            );
            let later = if jobs.can_push {
                "寄出后会通知你"
            } else {
                "稍后发送「状态」查看"
            };
            Reply::Text(format!("收到，处理中：《{}》将寄到 {address}，{later}。", book.title))
        }
        Err(e) => cannot_save("record a push", &e),
    }
}

const NO_PUBLIC_URL: &str =
    "暂时给不了下载链接：公众号主人还没有设置服务器的公开地址（server.public_url）。";

/// A signed link to the book's page, valid for `books.link_ttl_secs`, at
/// most `books.daily_downloads_per_user` a day. Checked before counting: a
/// wrong id or a missing public URL costs the follower nothing.
fn download(bot: &Bot, request: &Request) -> Reply {
    let Some(downloads) = &bot.handles.downloads else { return Reply::Text(NO_PUBLIC_URL.into()) };
    if request.args.is_empty() {
        return Reply::Text(
            "请在「下载」后面写上书的 ID，例如：下载 k3xq7a（先「搜 书名」找 ID）".into(),
        );
    }
    let catalog = bot.handles.catalog.snapshot();
    let Some(book) = catalog.get(request.args) else { return no_such_book(request.args) };
    if bot.public_url.is_none() {
        return Reply::Text(NO_PUBLIC_URL.into());
    }
    let now = unix_now();
    let today = beijing_midnight(now);
    match downloads.store.take_download_link(request.openid, today, downloads.daily_limit) {
        Ok(Ok(_)) => {}
        Ok(Err(count)) => {
            let left = today + 86_400 - now;
            return Reply::Text(format!(
                "抱歉，今天已经要了 {count} 个下载链接，每天最多 {} 个。北京时间 0 点重新计数（还有 {} 小时 {} 分钟），到时再来吧。",
                downloads.daily_limit,
                left / 3600,
                left % 3600 / 60
            ));
        }
        Err(e) => return cannot_save("count download links", &e),
    }
    let token = downloads.signer.sign(&book.id, request.openid, now);
    let Some(link) = bot.link(&book_page_path(&book.id, &token)) else {
        return Reply::Text(NO_PUBLIC_URL.into());
    };
    log::info!("{} got a download link for book {} ({})", request.openid, book.id, book.title);
    Reply::Text(format!(
        "《{}》的下载链接（{}内有效，只给你用）：\n{link}\n在微信里打不开下载的话，点右上角 ··· 选「在浏览器打开」。",
        book.title,
        human_duration(downloads.signer.ttl_secs)
    ))
}

/// `/books/ID?t=TOKEN`: the book's page, opened by a signed token.
pub fn book_page_path(book_id: &str, token: &str) -> String {
    format!("/books/{}?t={token}", encode_path_segment(book_id))
}

/// 24 小时, 30 分钟, 5 秒
fn human_duration(secs: u64) -> String {
    match secs {
        s if s >= 3600 && s % 3600 == 0 => format!(" {} 小时", s / 3600),
        s if s >= 60 => format!(" {} 分钟", s.div_ceil(60)),
        s => format!(" {s} 秒"),
    }
}

/// How many books one search lists: a chat reply must stay short.
const SEARCH_LIMIT: usize = 8;

fn search(bot: &Bot, request: &Request) -> Reply {
    if request.args.is_empty() {
        return Reply::Text("请在「搜」后面写上书名或作者，例如：搜 三体".into());
    }
    let catalog = bot.handles.catalog.snapshot();
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
    text.push_str("发送「书 ID」看详情，「下载 ID」要下载链接，「推送 ID」发到 Kindle。");
    Reply::Text(text)
}

fn book(bot: &Bot, request: &Request) -> Reply {
    let catalog = bot.handles.catalog.snapshot();
    let Some(book) = catalog.get(request.args) else { return no_such_book(request.args) };
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
    text.push_str(&format!(
        "\n发送「下载 {id}」要下载链接，「推送 {id}」发到你的 Kindle。",
        id = book.id
    ));
    Reply::Text(text)
}

fn no_such_book(id: &str) -> Reply {
    Reply::Text(format!("没有 ID 为「{id}」的书。先「搜 关键词」找到它的 ID。"))
}

/// 《书名》 — 作者
fn book_line(book: &crate::store::Book) -> String {
    match &book.author {
        Some(author) => format!("《{}》 — {author}", book.title),
        None => format!("《{}》", book.title),
    }
}

fn help(_bot: &Bot, _request: &Request) -> Reply {
    // The list runs past 1 KiB: sized so that it is not copied as it grows.
    let mut text = String::with_capacity(2048);
    text.push_str("可用命令：");
    for command in COMMANDS {
        for part in ["\n· ", command.usage, " — ", command.summary] {
            text.push_str(part);
        }
    }
    Reply::Text(text)
}

/// A picture that WeChat already has: the pictures come in turn. While the
/// first ones are still uploading, a job sends one as soon as it is ready.
fn picture(bot: &Bot, request: &Request) -> Reply {
    let ready = bot.handles.pictures.snapshot();
    if ready.is_empty() {
        if let (Some(jobs), true) = (&bot.handles.jobs, bot.handles.pictures.pending() > 0) {
            return match jobs.submit(request.message_key, JobKind::SendPicture, request.openid) {
                Ok(_) if jobs.can_push => {
                    Reply::Text("收到，处理中：图片正在上传，传好就发给你。".into())
                }
                Ok(_) => Reply::Text("收到，处理中：图片正在上传，稍后发送「状态」查看。".into()),
                Err(e) => cannot_save("record a picture request", &e),
            };
        }
        return Reply::Text("现在还没有可以发送的图片，请稍后再试。".into());
    }
    let turn = bot.next_picture.fetch_add(1, Ordering::Relaxed);
    Reply::Image { media_id: ready[turn % ready.len()].media_id.clone() }
}

/// The ready picture of `pictures.dir` named `name` (a keyword rule's
/// `image`), or words saying why it cannot be sent yet.
pub(super) fn picture_named(bot: &Bot, name: &str) -> Reply {
    let ready = bot.handles.pictures.snapshot();
    match ready.iter().find(|p| p.file_name == name) {
        Some(picture) => Reply::Image { media_id: picture.media_id.clone() },
        None if bot.handles.pictures.pending() > 0 => {
            Reply::Text("图片还在上传到微信，请过一会儿再发一次。".into())
        }
        None => Reply::Text("这张图片暂时发不了，请稍后再试。".into()),
    }
}

/// The next page of the follower's last long reply.
fn more(bot: &Bot, request: &Request) -> Reply {
    Reply::Text(match bot.pages.next(request.openid, request.message_key) {
        Next::Page(page) => page,
        Next::Done => "已经是最后一页了。".into(),
        Next::Nothing => "没有下一页了：长回复才分页，10 分钟内回复「更多」看下一页。".into(),
    })
}

/// The follower's recent late replies and where each one stands.
fn status(bot: &Bot, request: &Request) -> Reply {
    let Some(jobs) = &bot.handles.jobs else {
        return Reply::Text("没有进行中的请求。".into());
    };
    let recent = match jobs.recent(request.openid, 5) {
        Ok(recent) => recent,
        Err(e) => {
            e.log_failure("cannot read jobs");
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
                JobKind::DraftArticle { slug } => format!("文章 {slug} 的草稿"),
            };
            let state = match &job.state {
                JobState::Queued => "排队中".to_string(),
                JobState::Preparing => "准备中".to_string(),
                JobState::Sending => "发送中".to_string(),
                JobState::Delivered => "已发送".to_string(),
                JobState::Drafted(_) => "已在草稿箱".to_string(),
                JobState::Sent => "已寄出（Kindle 通常几分钟内收到）".to_string(),
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
    let index = bot.handles.articles.snapshot();
    if !request.args.is_empty() {
        let found: Vec<_> = index.search(request.args).take(LISTED_TITLES).collect();
        if found.is_empty() {
            return Reply::Text(format!(
                "没有标题含「{}」的文章。发送「文章」看最新的。",
                request.args
            ));
        }
        let lines: Vec<String> = found
            .iter()
            .map(|a| match bot.link(&a.path()) {
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
    let earlier: Vec<String> = index.articles[1..]
        .iter()
        .take(LISTED_TITLES - 1)
        .map(|a| format!("· {}", a.title))
        .collect();
    let earlier = if earlier.is_empty() {
        String::new()
    } else {
        format!("\n\n更早的文章：\n{}", earlier.join("\n"))
    };
    article_reply(bot, newest, "最新：", &earlier)
}

/// The article `slug` (a keyword rule's `article`) as `文章` shows the newest.
pub(super) fn article_named(bot: &Bot, slug: &str) -> Reply {
    match bot.handles.articles.snapshot().get(slug) {
        Some(article) => article_reply(bot, article, "", ""),
        None => Reply::Text("这篇文章现在看不到了。发送「文章」看最新的。".into()),
    }
}

/// An article as a reply: its news card (title, cover, page, its summary and
/// `more` as the description); without `server.public_url`, the same in
/// text, the title after `heading`, and a word that links are off.
fn article_reply(
    bot: &Bot,
    article: &crate::articles::Article,
    heading: &str,
    more: &str,
) -> Reply {
    match bot.link(&article.path()) {
        Some(page) => Reply::News(Article {
            title: article.title.clone(),
            description: format!("{}{more}", article.summary),
            pic_url: article
                .cover
                .as_deref()
                .and_then(|c| bot.link(&pictures_url(c)))
                .unwrap_or_default(),
            url: page,
        }),
        None => Reply::Text(format!(
            "{heading}{}（{}）\n{}{more}{NO_LINKS}",
            article.title, article.date, article.summary
        )),
    }
}

const NO_LINKS: &str = "\n\n（文章链接暂不可用：服务器未设置 server.public_url。）";
