//! The command table. A new command is one entry here and one handler below.

use std::sync::atomic::Ordering;

use super::{Bot, Request};
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
];

fn help(_bot: &Bot, _request: &Request) -> Reply {
    let mut text = String::from("可用命令：");
    for command in COMMANDS {
        text.push_str(&format!("\n· {} — {}", command.usage, command.summary));
    }
    Reply::Text(text)
}

/// A picture that WeChat already has: the pictures come in turn.
fn picture(bot: &Bot, _request: &Request) -> Reply {
    let ready = bot.pictures.snapshot();
    if ready.is_empty() {
        return Reply::Text("现在还没有可以发送的图片（图片目录为空，或图片还在上传），请稍后再试。".into());
    }
    let turn = bot.next_picture.fetch_add(1, Ordering::Relaxed);
    Reply::Image { media_id: ready[turn % ready.len()].media_id.clone() }
}
