//! Markdown to HTML with pulldown-cmark. The owner's raw HTML is shown as
//! text unless `articles.raw_html` is on; link and image addresses are held
//! to http(s), mailto and relative ones either way, so a `javascript:` link
//! can't run; an image given as a bare file name comes from `/pictures/`.

use pulldown_cmark::{html, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::front_matter::is_plain_file_name;
use super::pictures_url;

#[derive(Debug, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    /// The text of a `#` heading that opened the document. It is left out of
    /// `html` only when it is the title (the page shows the title itself).
    pub heading: Option<String>,
    /// The plain text of the first paragraph.
    pub first_paragraph: String,
}

/// The markdown extensions both renderers (pages, WeChat drafts) read.
pub(super) const OPTIONS: Options = Options::ENABLE_TABLES
    .union(Options::ENABLE_STRIKETHROUGH)
    .union(Options::ENABLE_FOOTNOTES)
    .union(Options::ENABLE_TASKLISTS);

/// The events of `markdown` and the text of a `#` heading that opens it.
/// That heading leaves the events only when it repeats `title`, or when
/// there is no `title` (it becomes the title): nothing the owner wrote is lost.
pub(super) fn body_events<'a>(
    markdown: &'a str,
    title: Option<&str>,
) -> (Vec<Event<'a>>, Option<String>) {
    let mut events: Vec<Event> = Parser::new_ext(markdown, OPTIONS).collect();
    let heading = match events.first() {
        Some(Event::Start(Tag::Heading { level: HeadingLevel::H1, .. })) => {
            let end = events
                .iter()
                .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
                .unwrap_or(0);
            let text = plain_text(&events[1..end]);
            if title.is_none_or(|t| t.trim() == text) {
                events.drain(..=end);
            }
            Some(text).filter(|t| !t.is_empty())
        }
        _ => None,
    };
    (events, heading)
}

/// The page HTML of `markdown`; `title` is the front matter's.
pub fn render(markdown: &str, raw_html: bool, title: Option<&str>) -> Rendered {
    let (events, heading) = body_events(markdown, title);
    let first_paragraph = events
        .iter()
        .position(|e| matches!(e, Event::Start(Tag::Paragraph)))
        .map(|start| {
            let len = events[start..]
                .iter()
                .position(|e| matches!(e, Event::End(TagEnd::Paragraph)))
                .unwrap_or(0);
            plain_text(&events[start + 1..start + len])
        })
        .unwrap_or_default();

    let events = events.into_iter().map(|event| match event {
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            let dest_url = if is_picture_name(&dest_url) {
                CowStr::from(pictures_url(&dest_url))
            } else {
                safe_url(dest_url)
            };
            Event::Start(Tag::Image { link_type, dest_url, title, id })
        }
        Event::Html(text) | Event::InlineHtml(text) if !raw_html => Event::Text(text),
        // An escaped HTML block reads as a paragraph of its source.
        Event::Start(Tag::HtmlBlock) if !raw_html => Event::Start(Tag::Paragraph),
        Event::End(TagEnd::HtmlBlock) if !raw_html => Event::End(TagEnd::Paragraph),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    Rendered { html: out, heading, first_paragraph }
}

/// An image address that is a bare file name: a picture of `pictures.dir`.
pub(super) fn is_picture_name(dest_url: &str) -> bool {
    is_plain_file_name(dest_url) && !dest_url.contains([':', '?', '#'])
}

/// The text a reader sees in `events`, markup dropped.
pub(super) fn plain_text(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            // A line break inside Chinese text is no space; between Latin words it is.
            Event::SoftBreak | Event::HardBreak
                if text.chars().last().is_some_and(|c| c.is_ascii()) =>
            {
                text.push(' ')
            }
            _ => {}
        }
    }
    text.trim().to_string()
}

/// `url` if a browser can only navigate with it, else `#`. Browsers drop tabs
/// and newlines inside a scheme (`java\tscript:`), so those are removed
/// before the scheme is read.
pub(super) fn safe_url(url: CowStr) -> CowStr {
    let squeezed: String =
        url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).collect();
    let scheme = squeezed
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| !scheme.contains(['/', '?', '#']));
    match scheme.map(|s| s.to_ascii_lowercase()) {
        None => url,
        Some(s) if ["http", "https", "mailto"].contains(&s.as_str()) => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_with_tables_and_code() {
        let r = render(
            "第一段，*强调*。\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode <x>\n```\n",
            false,
            None,
        );
        assert!(r.html.contains("<p>第一段，<em>强调</em>。</p>"), "{}", r.html);
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(r.html.contains("code &lt;x&gt;"), "{}", r.html);
        assert_eq!(r.first_paragraph, "第一段，强调。");
        assert_eq!(r.heading, None);
    }

    #[test]
    fn a_leading_h1_is_the_heading_and_leaves_the_body() {
        let r = render("# 标题 `x`\n\n第一行\n第二行\n\n# Later\n", false, None);
        assert_eq!(r.heading.as_deref(), Some("标题 x"));
        assert!(!r.html.contains("标题"), "{}", r.html);
        assert!(r.html.contains("<h1>Later</h1>"), "{}", r.html);
        assert_eq!(r.first_paragraph, "第一行第二行");
        assert_eq!(render("one\ntwo", false, None).first_paragraph, "one two");
    }

    #[test]
    fn a_leading_h1_stays_unless_it_repeats_the_title() {
        let same = render("# 春雨\n\n正文", false, Some("春雨"));
        assert_eq!(same.heading.as_deref(), Some("春雨"));
        assert!(!same.html.contains("春雨"), "{}", same.html);
        let other = render("# 另一个标题\n\n正文", false, Some("春雨"));
        assert!(other.html.contains("<h1>另一个标题</h1>"), "{}", other.html);
        assert!(other.html.contains("<p>正文</p>"), "{}", other.html);
    }

    #[test]
    fn raw_html_is_text_unless_allowed() {
        let md = "<script>alert(1)</script>\n\nhi <img src=x onerror=alert(2)> there\n";
        let safe = render(md, false, None).html;
        assert!(!safe.contains("<script"), "{safe}");
        assert!(!safe.contains("<img"), "{safe}");
        assert!(safe.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{safe}");
        let raw = render(md, true, None).html;
        assert!(raw.contains("<script>alert(1)</script>"), "{raw}");
    }

    #[test]
    fn only_safe_link_schemes_survive() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:x",
            "java\tscript:x",
            " data:text/html,x",
            "vbscript:x",
        ] {
            let html = render(&format!("[a](<{bad}>) ![b](<{bad}>)"), true, None).html;
            assert!(html.contains("href=\"#\""), "{bad}: {html}");
            assert!(html.contains("src=\"#\""), "{bad}: {html}");
        }
        for good in [
            "https://example.com/a?b=c:d",
            "http://x",
            "mailto:a@b.c",
            "/articles/x",
            "#top",
            "./a:b",
        ] {
            let html = render(&format!("[a]({good})"), false, None).html;
            assert!(!html.contains("href=\"#\"") || good == "#top", "{good}: {html}");
        }
    }

    #[test]
    fn bare_image_names_come_from_pictures() {
        let html = render(
            "![海](sea.png) ![春 天](<春 天.jpg>) ![x](https://e.com/a.png) ![y](sub/a.png)",
            false,
            None,
        )
        .html;
        assert!(html.contains("src=\"/pictures/sea.png\""), "{html}");
        assert!(html.contains("src=\"/pictures/%E6%98%A5%20%E5%A4%A9.jpg\""), "{html}");
        assert!(html.contains("src=\"https://e.com/a.png\""), "{html}");
        assert!(html.contains("src=\"sub/a.png\""), "{html}");
    }
}
