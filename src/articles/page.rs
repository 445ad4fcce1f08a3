//! The HTML of the article pages, the list and the 404 page: one frame, one
//! style sheet (the book pages use the same frame), made for a phone first (WeChat's in-app browser) and for
//! Chinese text (system CJK fonts, 1.8 line height, justified paragraphs).

use std::sync::Arc;

use super::{pictures_url, Article};
use crate::xml::escape;

/// Nothing may be wider than the screen: long URLs break anywhere, pictures
/// shrink, code and tables scroll inside their own box.
const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#222;--muted:#888;--bg:#fff;--line:#e5e5e5;--code:#f6f6f6;--link:#576b95}\
@media (prefers-color-scheme:dark){:root{--fg:#d8d8d8;--muted:#8a8a8a;--bg:#191919;--line:#333;--code:#242424;--link:#7d90a9}}\
*{box-sizing:border-box}\
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\
body{margin:0;background:var(--bg);color:var(--fg);\
font:17px/1.8 -apple-system,BlinkMacSystemFont,\"PingFang SC\",\"Hiragino Sans GB\",\"Microsoft YaHei\",\
\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"WenQuanYi Micro Hei\",sans-serif;overflow-wrap:anywhere}\
main{max-width:42rem;margin:0 auto;padding:.75rem 1.1rem 3rem}\
a{color:var(--link);text-decoration:none}\
nav,footer,.meta{font-size:.85rem;color:var(--muted)}\
footer{margin-top:3rem;padding-top:1rem;border-top:1px solid var(--line)}\
h1{font-size:1.55rem;line-height:1.4;margin:.8rem 0 .3rem}\
.content h1,.content h2{font-size:1.3rem;line-height:1.5;margin:1.8rem 0 .6rem}\
.content h3,.content h4,.content h5,.content h6{font-size:1.1rem;margin:1.5rem 0 .5rem}\
.content p{margin:0 0 1.1em;text-align:justify}\
img,video{max-width:100%;height:auto}\
.cover{display:block;width:100%;margin:.8rem 0 1.2rem;border-radius:4px}\
.content img{display:block;margin:1rem auto}\
blockquote{margin:1.2em 0;padding:.1em 1em;border-left:3px solid var(--line);color:var(--muted)}\
pre{overflow-x:auto;padding:.8em 1em;background:var(--code);border-radius:4px;line-height:1.5;overflow-wrap:normal}\
code{font:.85em/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\
:not(pre)>code{padding:.1em .3em;background:var(--code);border-radius:3px}\
table{display:block;max-width:100%;overflow-x:auto;border-collapse:collapse;margin:1em 0;font-size:.9rem;overflow-wrap:normal}\
th,td{border:1px solid var(--line);padding:.35em .7em}\
hr{border:0;border-top:1px solid var(--line);margin:2em 0}\
.list{list-style:none;margin:0;padding:0}\
.list li{padding:1rem 0;border-bottom:1px solid var(--line)}\
.list h2{font-size:1.15rem;line-height:1.5;margin:0}\
.list p{margin:.2rem 0 0;color:var(--muted);font-size:.9rem}\
.button{display:block;margin:.8rem 0;padding:.75rem 1rem;border-radius:6px;background:#07c160;color:#fff;text-align:center;font-weight:600}\
.notice{margin:1rem 0;padding:.7rem 1rem;border-radius:6px;background:var(--code);border-left:3px solid #fa9d3b}\
.book-cover{display:block;max-width:60%;max-height:50vh;margin:.8rem auto;border-radius:4px}\
";

/// A whole page: `title` and `description` as text, `body` as HTML.
pub fn frame(title: &str, description: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<meta name=\"description\" content=\"{description}\">\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
        description = escape(description),
    )
}

const BACK: &str = "<a href=\"/articles/\">全部文章</a>";

pub fn article(article: &Article, content_html: &str) -> String {
    let cover = article
        .cover
        .as_ref()
        .map(|c| format!("<img class=\"cover\" src=\"{}\" alt=\"\">\n", escape(&pictures_url(c))))
        .unwrap_or_default();
    let body = format!(
        "<nav>{BACK}</nav>\n<article>\n<h1>{title}</h1>\n\
         <p class=\"meta\"><time datetime=\"{iso}\">{day}</time></p>\n{cover}\
         <div class=\"content\">\n{content_html}</div>\n</article>\n<footer>{BACK}</footer>\n",
        title = escape(&article.title),
        iso = article.date,
        day = article.date.chinese(),
    );
    frame(&article.title, &article.summary, &body)
}

pub fn index(articles: &[Arc<Article>]) -> String {
    let mut body = String::from("<h1>文章</h1>\n");
    if articles.is_empty() {
        body.push_str("<p class=\"meta\">还没有文章。</p>\n");
    } else {
        body.push_str("<ul class=\"list\">\n");
        for a in articles {
            body.push_str(&format!(
                "<li><a href=\"{path}\"><h2>{title}</h2></a><p><time datetime=\"{iso}\">{day}</time>{sep}{summary}</p></li>\n",
                path = escape(&a.path()),
                title = escape(&a.title),
                iso = a.date,
                day = a.date.chinese(),
                sep = if a.summary.is_empty() { "" } else { " · " },
                summary = escape(&a.summary),
            ));
        }
        body.push_str("</ul>\n");
    }
    frame("文章", "全部文章", &body)
}

pub fn not_found() -> String {
    frame(
        "找不到这一页",
        "",
        &format!("<nav>{BACK}</nav>\n<h1>找不到这一页</h1>\n<p>它可能已被删除或改名。</p>\n<p>{BACK}</p>\n"),
    )
}
