//! Markdown to the HTML of a WeChat draft (`content` of `draft/add`).
//!
//! WeChat drops `<style>`, `class`, `id` and scripts from an article, so every
//! style here is inline on its element, in the typography of the article
//! pages (`page.rs`). The draft API loses `\n` inside `<code>`, so code lines
//! are joined with `<br>`. Links other than to mp.weixin.qq.com do not open in
//! a WeChat article: their text gets a `[n]` mark and a 参考链接 list at the end
//! shows each address as text. Raw HTML in the markdown is shown as text:
//! whatever it carried (a class, a style sheet) WeChat would drop anyway.
//! Images come from the caller's map of addresses to WeChat URLs; pure.

use pulldown_cmark::{Alignment, CowStr, Event, HeadingLevel, Tag, TagEnd};

use super::render::{body_events, is_picture_name, safe_url};
use crate::xml::escape;

const FONT: &str = "-apple-system,BlinkMacSystemFont,'PingFang SC','Hiragino Sans GB',\
'Microsoft YaHei','Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei',sans-serif";
const MONO: &str = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace";
const FG: &str = "#222";
const MUTED: &str = "#888";
const LINE: &str = "#e5e5e5";
const CODE_BG: &str = "#f6f6f6";
const LINK: &str = "#576b95";

fn section_style() -> String {
    format!(
        "font-family:{FONT};font-size:17px;line-height:1.8;color:{FG};\
         overflow-wrap:anywhere;word-break:normal"
    )
}

fn heading_style(level: HeadingLevel) -> String {
    let (size, margin) = match level {
        HeadingLevel::H1 | HeadingLevel::H2 => ("22px", "1.8em 0 0.6em"),
        _ => ("19px", "1.5em 0 0.5em"),
    };
    format!("font-size:{size};line-height:1.5;font-weight:bold;margin:{margin};color:{FG}")
}

const P_STYLE: &str = "margin:0 0 1.1em;text-align:justify";
const LIST_STYLE: &str = "margin:0 0 1.1em;padding-left:1.6em";
const LI_STYLE: &str = "margin:0.2em 0";
const IMG_STYLE: &str = "display:block;width:100%;max-width:100%;height:auto;margin:1em auto";
const HR_STYLE: &str = "border:0;border-top:1px solid #e5e5e5;margin:2em 0";

fn blockquote_style() -> String {
    format!("margin:1.2em 0;padding:0.1em 1em;border-left:3px solid {LINE};color:{MUTED}")
}

fn pre_style() -> String {
    format!(
        "margin:1em 0;padding:0.8em 1em;background:{CODE_BG};border-radius:4px;\
         overflow-x:auto;line-height:1.5;overflow-wrap:normal;word-break:normal"
    )
}

fn code_block_style() -> String {
    format!("font-family:{MONO};font-size:14px;line-height:1.5;color:{FG}")
}

fn inline_code_style() -> String {
    format!(
        "font-family:{MONO};font-size:0.85em;padding:0.1em 0.3em;background:{CODE_BG};\
         border-radius:3px"
    )
}

fn table_style() -> String {
    "display:block;max-width:100%;overflow-x:auto;border-collapse:collapse;margin:1em 0;\
     font-size:15px;overflow-wrap:normal"
        .into()
}

fn cell_style(head: bool, alignment: Alignment) -> String {
    let align = match alignment {
        Alignment::Left => ";text-align:left",
        Alignment::Center => ";text-align:center",
        Alignment::Right => ";text-align:right",
        Alignment::None => "",
    };
    let weight = if head { ";font-weight:bold;background:#f6f6f6" } else { "" };
    format!("border:1px solid {LINE};padding:0.35em 0.7em{weight}{align}")
}

fn link_style() -> String {
    format!("color:{LINK};text-decoration:none")
}

fn mark_style() -> String {
    format!("color:{LINK};font-size:0.75em;vertical-align:super;line-height:0")
}

/// Whether a link works inside a WeChat article: only to WeChat's own articles.
pub fn is_wechat_link(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or("");
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.eq_ignore_ascii_case("mp.weixin.qq.com")
}

/// Where an image of the article comes from, as the markdown names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A bare file name, or `/pictures/NAME`: a file of `pictures.dir`.
    Picture(String),
    /// A relative path: a file under `articles.dir`.
    ArticleFile(String),
    /// Anything else (`https://…`, `data:…`): WeChat would filter it out.
    Elsewhere(String),
}

impl ImageSource {
    pub fn of(dest: &str) -> ImageSource {
        if is_picture_name(dest) {
            return ImageSource::Picture(dest.to_string());
        }
        if let Some(name) = dest.strip_prefix("/pictures/").filter(|n| is_picture_name(n)) {
            return ImageSource::Picture(name.to_string());
        }
        let has_scheme = dest.split_once(':').is_some_and(|(s, _)| !s.contains(['/', '?', '#']));
        if has_scheme || dest.starts_with('/') || dest.contains(['?', '#']) || dest.is_empty() {
            return ImageSource::Elsewhere(dest.to_string());
        }
        ImageSource::ArticleFile(dest.strip_prefix("./").unwrap_or(dest).to_string())
    }
}

/// The image addresses of `markdown`, in order of first appearance, each once.
pub fn image_sources(markdown: &str, title: Option<&str>) -> Vec<String> {
    let (events, _) = body_events(markdown, title);
    let mut sources: Vec<String> = Vec::new();
    for event in events {
        if let Event::Start(Tag::Image { dest_url, .. }) = event {
            if !sources.iter().any(|s| *s == *dest_url) {
                sources.push(dest_url.to_string());
            }
        }
    }
    sources
}

/// The draft HTML of `markdown` (the body after the front matter). `title` is
/// the front matter's (a leading `#` heading that repeats it is left out);
/// `image_url` gives the WeChat URL of an image address of the markdown; an
/// image it has none for is shown as its alt text. `base_url` (the server's
/// public URL) turns relative links into addresses a reader can type.
pub fn render(
    markdown: &str,
    title: Option<&str>,
    image_url: &dyn Fn(&str) -> Option<String>,
    base_url: Option<&str>,
) -> String {
    let (events, _) = body_events(markdown, title);
    let mut writer = Writer {
        out: String::with_capacity(markdown.len() * 3),
        links: Vec::new(),
        open_links: Vec::new(),
        image: None,
        code: None,
        table: Vec::new(),
        cell: 0,
        in_head: false,
        image_url,
        base_url: base_url.map(|b| b.trim_end_matches('/')),
    };
    writer.out.push_str(&format!("<section style=\"{}\">", section_style()));
    for event in events {
        writer.event(event);
    }
    writer.references();
    writer.out.push_str("</section>");
    writer.out
}

struct Writer<'a> {
    out: String,
    /// The footnoted link addresses; footnote n is `links[n - 1]`.
    links: Vec<String>,
    /// Per open link: its footnote number, or None for a WeChat link.
    open_links: Vec<Option<usize>>,
    /// An image being read: its address and alt text so far.
    image: Option<(String, String)>,
    /// A code block being read: its text.
    code: Option<String>,
    table: Vec<Alignment>,
    cell: usize,
    in_head: bool,
    image_url: &'a dyn Fn(&str) -> Option<String>,
    base_url: Option<&'a str>,
}

impl Writer<'_> {
    fn event(&mut self, event: Event) {
        if let Some((_, alt)) = &mut self.image {
            match event {
                Event::End(TagEnd::Image) => self.end_image(),
                Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                _ => {}
            }
            return;
        }
        if let Some(code) = &mut self.code {
            match event {
                Event::End(TagEnd::CodeBlock) => self.end_code_block(),
                Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => code.push_str(&t),
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => self.text(&text),
            Event::Code(code) => {
                self.out.push_str(&format!("<code style=\"{}\">", inline_code_style()));
                self.text(&code);
                self.out.push_str("</code>");
            }
            Event::SoftBreak => self.out.push(' '),
            Event::HardBreak => self.out.push_str("<br>"),
            Event::Rule => self.out.push_str(&format!("<hr style=\"{HR_STYLE}\">")),
            Event::TaskListMarker(done) => self.out.push_str(if done { "☑ " } else { "☐ " }),
            Event::FootnoteReference(label) => self.out.push_str(&format!(
                "<span style=\"{}\">[{}]</span>",
                mark_style(),
                escape(&label)
            )),
            Event::InlineMath(math) | Event::DisplayMath(math) => self.text(&math),
        }
    }

    fn text(&mut self, text: &str) {
        self.out.push_str(&escape(text));
    }

    fn start(&mut self, tag: Tag) {
        let open = match tag {
            Tag::Paragraph | Tag::HtmlBlock => format!("<p style=\"{P_STYLE}\">"),
            Tag::Heading { level, .. } => format!("<{level} style=\"{}\">", heading_style(level)),
            Tag::BlockQuote(_) => format!("<blockquote style=\"{}\">", blockquote_style()),
            Tag::CodeBlock(_) => {
                self.code = Some(String::new());
                return;
            }
            Tag::List(Some(1)) => format!("<ol style=\"{LIST_STYLE}\">"),
            Tag::List(Some(start)) => format!("<ol start=\"{start}\" style=\"{LIST_STYLE}\">"),
            Tag::List(None) => format!("<ul style=\"{LIST_STYLE}\">"),
            Tag::Item => format!("<li style=\"{LI_STYLE}\">"),
            Tag::FootnoteDefinition(label) => {
                format!("<p style=\"{P_STYLE};font-size:15px;color:{MUTED}\">[{}] ", escape(&label))
            }
            Tag::Table(alignments) => {
                self.table = alignments;
                format!("<table style=\"{}\">", table_style())
            }
            Tag::TableHead => {
                self.in_head = true;
                self.cell = 0;
                "<thead><tr>".into()
            }
            Tag::TableRow => {
                self.cell = 0;
                "<tr>".into()
            }
            Tag::TableCell => {
                let alignment = self.table.get(self.cell).copied().unwrap_or(Alignment::None);
                let name = if self.in_head { "th" } else { "td" };
                format!("<{name} style=\"{}\">", cell_style(self.in_head, alignment))
            }
            Tag::Emphasis => "<em>".into(),
            Tag::Strong => "<strong>".into(),
            Tag::Strikethrough => "<del>".into(),
            Tag::Superscript => "<sup>".into(),
            Tag::Subscript => "<sub>".into(),
            Tag::Link { dest_url, .. } => return self.start_link(dest_url),
            Tag::Image { dest_url, .. } => {
                self.image = Some((dest_url.to_string(), String::new()));
                return;
            }
            Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => return,
        };
        self.out.push_str(&open);
    }

    fn end(&mut self, tag: TagEnd) {
        let close = match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock | TagEnd::FootnoteDefinition => "</p>".into(),
            TagEnd::Heading(level) => format!("</{level}>"),
            TagEnd::BlockQuote(_) => "</blockquote>".into(),
            TagEnd::List(true) => "</ol>".into(),
            TagEnd::List(false) => "</ul>".into(),
            TagEnd::Item => "</li>".into(),
            TagEnd::Table => "</tbody></table>".into(),
            TagEnd::TableHead => {
                self.in_head = false;
                "</tr></thead><tbody>".into()
            }
            TagEnd::TableRow => "</tr>".into(),
            TagEnd::TableCell => {
                self.cell += 1;
                if self.in_head { "</th>" } else { "</td>" }.into()
            }
            TagEnd::Emphasis => "</em>".into(),
            TagEnd::Strong => "</strong>".into(),
            TagEnd::Strikethrough => "</del>".into(),
            TagEnd::Superscript => "</sup>".into(),
            TagEnd::Subscript => "</sub>".into(),
            TagEnd::Link => return self.end_link(),
            TagEnd::CodeBlock
            | TagEnd::Image
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => return,
        };
        self.out.push_str(&close);
    }

    fn start_link(&mut self, dest: CowStr) {
        let dest = safe_url(dest).to_string();
        if is_wechat_link(&dest) {
            self.out.push_str(&format!(
                "<a href=\"{}\" style=\"{}\">",
                escape(&dest),
                link_style()
            ));
            self.open_links.push(None);
            return;
        }
        let shown = match (self.base_url, dest.starts_with('/')) {
            (Some(base), true) => format!("{base}{dest}"),
            _ => dest,
        };
        let number = match self.links.iter().position(|url| *url == shown) {
            Some(at) => at + 1,
            None => {
                self.links.push(shown);
                self.links.len()
            }
        };
        self.open_links.push(Some(number));
        self.out.push_str(&format!("<span style=\"color:{LINK}\">"));
    }

    fn end_link(&mut self) {
        match self.open_links.pop().flatten() {
            None => self.out.push_str("</a>"),
            Some(number) => {
                self.out.push_str(&format!(
                    "</span><span style=\"{}\">[{number}]</span>",
                    mark_style()
                ));
            }
        }
    }

    fn end_image(&mut self) {
        let Some((dest, alt)) = self.image.take() else { return };
        match (self.image_url)(&dest) {
            Some(url) => self.out.push_str(&format!(
                "<img src=\"{}\" alt=\"{}\" style=\"{IMG_STYLE}\">",
                escape(&url),
                escape(&alt)
            )),
            None => self.text(&alt),
        }
    }

    fn end_code_block(&mut self) {
        let Some(code) = self.code.take() else { return };
        self.out.push_str(&format!(
            "<pre style=\"{}\"><code style=\"{}\">",
            pre_style(),
            code_block_style()
        ));
        let lines: Vec<&str> = code.strip_suffix('\n').unwrap_or(&code).split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.out.push_str("<br>");
            }
            // WeChat collapses runs of spaces: indentation is kept as &nbsp;.
            let escaped = escape(&line.replace('\t', "    "));
            self.out.push_str(&escaped.replace(' ', "&nbsp;"));
        }
        self.out.push_str("</code></pre>");
    }

    /// The 参考链接 list: each footnoted address as text.
    fn references(&mut self) {
        if self.links.is_empty() {
            return;
        }
        self.out.push_str(&format!(
            "<h3 style=\"{}\">参考链接</h3><section style=\"font-size:14px;line-height:1.6;color:{MUTED};overflow-wrap:anywhere\">",
            heading_style(HeadingLevel::H3)
        ));
        for (i, url) in self.links.iter().enumerate() {
            self.out.push_str(&format!(
                "<p style=\"margin:0 0 0.4em\">[{}] {}</p>",
                i + 1,
                escape(url)
            ));
        }
        self.out.push_str("</section>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uploaded(dest: &str) -> Option<String> {
        Some(format!("http://mmbiz.qpic.cn/x/{}", dest.replace('/', "_")))
    }

    fn html(markdown: &str) -> String {
        render(markdown, None, &uploaded, Some("https://box.example.com/"))
    }

    #[test]
    fn every_element_carries_its_style_and_nothing_else() {
        let out = html(
            "# 标题\n\n## 小节\n\n第一段，*强调*。\n\n- 一\n- 二\n\n3. 三\n\n> 引用\n\n\
             | a | b |\n|:-|-:|\n| 1 | 2 |\n\n---\n\n`行内`\n",
        );
        for forbidden in ["<style", "class=", "id=", "<script"] {
            assert!(!out.contains(forbidden), "{forbidden}: {out}");
        }
        for tag in [
            "<h2 ",
            "<p ",
            "<ul ",
            "<ol ",
            "<li ",
            "<blockquote ",
            "<table ",
            "<th ",
            "<td ",
            "<hr ",
            "<code ",
        ] {
            let at = out.find(tag).unwrap_or_else(|| panic!("no {tag} in {out}"));
            assert!(
                out[at..].split('>').next().unwrap().contains(" style=\""),
                "{tag} unstyled: {out}"
            );
        }
        assert!(out.contains("<ol start=\"3\""), "{out}");
        assert!(out.contains("text-align:right"), "column alignment kept: {out}");
        assert!(out.starts_with("<section style=\"font-family:"), "{out}");
        assert!(!out.contains("标题"), "a leading heading without a title is the title: {out}");
    }

    #[test]
    fn a_heading_that_is_not_the_title_stays() {
        let out = render("# 另一个\n\n正文", Some("春雨"), &uploaded, None);
        assert!(out.contains(">另一个</h1>"), "{out}");
        let out = render("# 春雨\n\n正文", Some("春雨"), &uploaded, None);
        assert!(!out.contains("春雨"), "{out}");
    }

    #[test]
    fn code_keeps_its_lines_as_br_and_its_indentation() {
        let out = html("```rust\nfn main() {\n\n    let x = 1 < 2;\n}\n```\n");
        assert!(
            out.contains(">fn&nbsp;main()&nbsp;{<br><br>&nbsp;&nbsp;&nbsp;&nbsp;let&nbsp;x&nbsp;=&nbsp;1&nbsp;&lt;&nbsp;2;<br>}</code></pre>"),
            "{out}"
        );
        let code = &out[out.find("<pre").unwrap()..];
        assert!(!code.contains('\n'), "{out}");
    }

    #[test]
    fn links_become_numbered_references_except_wechat_ones() {
        let out = html(
            "见[官网](https://example.com/a?b=1&c=2)和[文章](https://mp.weixin.qq.com/s/abc)，\
             再见[官网](https://example.com/a?b=1&c=2)、[本站](/articles/x)。",
        );
        assert!(out.contains("官网</span><span style=\""), "{out}");
        assert_eq!(
            out.matches(">[1]</span>").count(),
            2,
            "the same address is one footnote: {out}"
        );
        assert!(out.contains(">[2]</span>"), "{out}");
        assert!(out.contains("<a href=\"https://mp.weixin.qq.com/s/abc\" style=\""), "{out}");
        assert!(!out.contains("href=\"https://example.com"), "{out}");
        let references = &out[out.find("参考链接").expect("a reference list")..];
        assert!(references.contains("[1] https://example.com/a?b=1&amp;c=2</p>"), "{out}");
        assert!(references.contains("[2] https://box.example.com/articles/x</p>"), "{out}");
        assert!(!html("没有链接").contains("参考链接"));
        assert!(
            !html("[x](javascript:alert(1))").contains("javascript"),
            "unsafe schemes stay out"
        );
    }

    #[test]
    fn images_take_their_wechat_url_at_full_width() {
        let out = html("![海](sea.png)\n\n![图](img/a.png)");
        assert!(out.contains("<img src=\"http://mmbiz.qpic.cn/x/sea.png\" alt=\"海\" style=\"display:block;width:100%"), "{out}");
        assert!(out.contains("src=\"http://mmbiz.qpic.cn/x/img_a.png\""), "{out}");
        let none = render("![替代文字](x.png)", None, &|_| None, None);
        assert!(none.contains("替代文字") && !none.contains("<img"), "{none}");
    }

    #[test]
    fn raw_html_is_text() {
        let out = html("<style>p{}</style>\n\n<div class=\"x\">hi</div>\n");
        assert!(!out.contains("<style") && !out.contains("<div"), "{out}");
        assert!(out.contains("&lt;style&gt;"), "{out}");
    }

    #[test]
    fn image_sources_are_listed_once_and_classified() {
        let md = "![a](sea.png) ![b](img/a.png) ![c](sea.png) ![d](https://e.com/x.png)";
        assert_eq!(image_sources(md, None), ["sea.png", "img/a.png", "https://e.com/x.png"]);
        assert_eq!(ImageSource::of("sea.png"), ImageSource::Picture("sea.png".into()));
        assert_eq!(ImageSource::of("/pictures/sea.png"), ImageSource::Picture("sea.png".into()));
        assert_eq!(ImageSource::of("./img/a.png"), ImageSource::ArticleFile("img/a.png".into()));
        for elsewhere in
            ["https://e.com/x.png", "data:image/png;base64,AAAA", "/etc/passwd", "a.png?x"]
        {
            assert_eq!(ImageSource::of(elsewhere), ImageSource::Elsewhere(elsewhere.into()));
        }
        assert!(is_wechat_link("https://mp.weixin.qq.com/s/x"));
        assert!(!is_wechat_link("https://mp.weixin.qq.com.evil.com/s/x"));
        assert!(!is_wechat_link("https://evil.com/?mp.weixin.qq.com"));
    }
}
