//! Turning loose HTML (MOBI markup, broken EPUB pages) into well-formed XHTML
//! body content that epubcheck accepts: a small set of elements, closed in the
//! right order, blocks never inside paragraphs, list items only inside lists,
//! and only attributes that mean the same in any book.

use std::collections::HashSet;

use super::html::{local_name, Tag, Token, Tokenizer};
use crate::xml::escape_into;

/// Decides where images and links point in the cleaned document.
pub trait Links {
    /// The `src` for an `<img>`, or `None` to drop the image.
    fn image(&mut self, tag: &Tag) -> Option<String>;
    /// The `href` for an `<a>`, or `None` to keep its text unlinked.
    fn link(&mut self, tag: &Tag) -> Option<String>;
}

pub struct Cleaned {
    pub body: String,
    /// The text of the first `<h1>`–`<h3>`, if any.
    pub heading: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Holds other blocks (`div`, `blockquote`, `li`).
    Flow,
    /// A block holding only phrasing content (`p`, `h1`, `pre`).
    Para,
    List,
    ListItem,
    Phrasing,
    /// Empty element: `br` and `img` inline, `hr` a block.
    Void,
    /// Never book text: dropped with its content.
    Hidden,
    /// Dropped, its content kept (`html`, `body`, `font` attributes aside, unknown tags).
    Transparent,
}

/// The kind of element `local` is and the name it is written under.
fn classify(local: &str) -> (Kind, &'static str) {
    use Kind::*;
    match local {
        "p" => (Para, "p"),
        "h1" => (Para, "h1"),
        "h2" => (Para, "h2"),
        "h3" => (Para, "h3"),
        "h4" => (Para, "h4"),
        "h5" => (Para, "h5"),
        "h6" => (Para, "h6"),
        "pre" => (Para, "pre"),
        "tr" | "dt" | "dd" | "caption" => (Para, "p"),
        "div" | "center" | "section" | "article" | "aside" | "header" | "footer" | "nav"
        | "address" | "figure" | "figcaption" | "table" | "dl" | "main" => (Flow, "div"),
        "blockquote" => (Flow, "blockquote"),
        "ul" => (List, "ul"),
        "ol" => (List, "ol"),
        "li" => (ListItem, "li"),
        "b" | "strong" => (Phrasing, "strong"),
        "i" | "em" | "cite" | "var" | "dfn" => (Phrasing, "em"),
        "u" | "ins" => (Phrasing, "u"),
        "s" | "strike" | "del" => (Phrasing, "s"),
        "sub" => (Phrasing, "sub"),
        "sup" => (Phrasing, "sup"),
        "small" => (Phrasing, "small"),
        "code" | "tt" | "kbd" | "samp" => (Phrasing, "code"),
        "q" => (Phrasing, "q"),
        "a" => (Phrasing, "a"),
        "span" | "font" | "big" | "abbr" | "mark" => (Phrasing, "span"),
        "br" => (Void, "br"),
        "img" => (Void, "img"),
        "hr" => (Void, "hr"),
        "head" | "script" | "style" | "title" | "object" | "iframe" | "form" | "input"
        | "button" | "select" | "textarea" | "svg" | "math" | "noscript" => (Hidden, ""),
        _ => (Transparent, ""),
    }
}

struct Open {
    name: &'static str,
    kind: Kind,
}

struct Cleaner<'l> {
    out: String,
    stack: Vec<Open>,
    ids: HashSet<String>,
    links: &'l mut dyn Links,
    hidden: usize,
    heading: Option<String>,
    /// Depth in the stack of the heading being captured.
    capturing: Option<usize>,
}

pub fn clean(html: &str, links: &mut dyn Links) -> Cleaned {
    let mut c = Cleaner {
        out: String::with_capacity(html.len()),
        stack: Vec::new(),
        ids: HashSet::new(),
        links,
        hidden: 0,
        heading: None,
        capturing: None,
    };
    for token in Tokenizer::new(html) {
        match token {
            Token::Start(tag) => c.start(&tag),
            Token::End(name) => c.end(&name),
            Token::Text(text) if c.hidden == 0 => c.text(&text),
            Token::Text(_) => {}
        }
    }
    while !c.stack.is_empty() {
        c.pop();
    }
    let heading = c
        .heading
        .map(|h| h.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|h| !h.is_empty());
    Cleaned { body: c.out, heading }
}

impl Cleaner<'_> {
    fn top(&self) -> Option<Kind> {
        self.stack.last().map(|o| o.kind)
    }

    fn pop(&mut self) {
        if let Some(open) = self.stack.pop() {
            self.out.push_str("</");
            self.out.push_str(open.name);
            self.out.push('>');
            if matches!(open.kind, Kind::Para | Kind::Flow | Kind::List | Kind::ListItem) {
                self.out.push('\n');
            }
            if self.capturing == Some(self.stack.len()) {
                self.capturing = None;
            }
        }
    }

    /// Close what cannot contain a block.
    fn close_phrasing(&mut self) {
        while matches!(self.top(), Some(Kind::Phrasing | Kind::Para)) {
            self.pop();
        }
    }

    /// Content other than a list item may not sit directly in a list.
    fn enter_list_item_if_in_list(&mut self) {
        if self.top() == Some(Kind::List) {
            self.push("li", Kind::ListItem, "");
        }
    }

    fn push(&mut self, name: &'static str, kind: Kind, attrs: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(attrs);
        self.out.push('>');
        self.stack.push(Open { name, kind });
    }

    fn start(&mut self, tag: &Tag) {
        let (mut kind, name) = classify(local_name(&tag.name));
        if kind == Kind::Hidden && !tag.self_closing {
            self.hidden += 1;
        }
        if self.hidden > 0 || kind == Kind::Hidden {
            return;
        }
        if kind == Kind::ListItem && !self.stack.iter().any(|o| o.kind == Kind::List) {
            kind = Kind::Flow;
        }
        if name == "a" && self.stack.iter().any(|o| o.name == "a") {
            return;
        }
        match kind {
            Kind::Flow | Kind::Para | Kind::List => {
                self.close_phrasing();
                self.enter_list_item_if_in_list();
                let attrs = self.common_attrs(tag, true);
                let name = if kind == Kind::Flow && name == "li" { "div" } else { name };
                self.push(name, kind, &attrs);
                if self.heading.is_none()
                    && self.capturing.is_none()
                    && matches!(name, "h1" | "h2" | "h3")
                {
                    self.capturing = Some(self.stack.len() - 1);
                    self.heading = Some(String::new());
                }
            }
            Kind::ListItem => {
                self.close_phrasing();
                while !matches!(self.top(), Some(Kind::List) | None) {
                    self.pop();
                }
                let attrs = self.common_attrs(tag, false);
                self.push("li", kind, &attrs);
            }
            Kind::Phrasing => {
                self.enter_list_item_if_in_list();
                let mut attrs = self.common_attrs(tag, false);
                if name == "a" {
                    if let Some(href) = self.links.link(tag) {
                        attr_into(&mut attrs, "href", &href);
                    }
                }
                self.push(name, kind, &attrs);
            }
            Kind::Void => self.void(tag, name),
            Kind::Hidden | Kind::Transparent => {
                if matches!(local_name(&tag.name), "td" | "th") {
                    self.text(" ");
                }
            }
        }
        if tag.self_closing
            && matches!(
                kind,
                Kind::Flow | Kind::Para | Kind::List | Kind::ListItem | Kind::Phrasing
            )
        {
            self.pop();
        }
    }

    fn void(&mut self, tag: &Tag, name: &'static str) {
        if name == "hr" {
            self.close_phrasing();
            self.enter_list_item_if_in_list();
            self.out.push_str("<hr/>\n");
            return;
        }
        let mut attrs = String::new();
        if name == "img" {
            let Some(src) = self.links.image(tag) else { return };
            attr_into(&mut attrs, "src", &src);
            attr_into(&mut attrs, "alt", tag.attr("alt").unwrap_or(""));
        }
        self.enter_list_item_if_in_list();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(&attrs);
        self.out.push_str("/>");
    }

    fn end(&mut self, name: &str) {
        let (kind, out_name) = classify(local_name(name));
        if kind == Kind::Hidden {
            self.hidden = self.hidden.saturating_sub(1);
            return;
        }
        if self.hidden > 0 || out_name.is_empty() {
            return;
        }
        // Close up to the innermost open element written under the same name;
        // an end tag that matches nothing open is dropped.
        if let Some(at) = self.stack.iter().rposition(|o| o.name == out_name) {
            while self.stack.len() > at {
                self.pop();
            }
        }
    }

    fn text(&mut self, text: &str) {
        if text.trim().is_empty() && matches!(self.top(), Some(Kind::List) | None) {
            if !text.is_empty() && self.top().is_none() {
                self.out.push('\n');
            }
            return;
        }
        self.enter_list_item_if_in_list();
        if let (Some(heading), Some(_)) = (self.heading.as_mut(), self.capturing) {
            heading.push_str(text);
        }
        escape_into(&mut self.out, text);
    }

    /// `id` (once per document, well-formed), `class`, `title`, `dir`, and a MOBI
    /// `align` turned into a style.
    fn common_attrs(&mut self, tag: &Tag, block: bool) -> String {
        let mut attrs = String::new();
        if let Some(id) = tag.attr("id").filter(|id| is_xml_name(id)) {
            if self.ids.insert(id.to_string()) {
                attr_into(&mut attrs, "id", id);
            }
        }
        for name in ["class", "title", "dir"] {
            if let Some(value) = tag.attr(name).filter(|v| !v.trim().is_empty()) {
                attr_into(&mut attrs, name, value);
            }
        }
        if block {
            if let Some(align) = tag
                .attr("align")
                .map(str::to_ascii_lowercase)
                .filter(|a| matches!(a.as_str(), "left" | "right" | "center" | "justify"))
            {
                attr_into(&mut attrs, "style", &format!("text-align: {align}"));
            }
        }
        attrs
    }
}

fn attr_into(attrs: &mut String, name: &str, value: &str) {
    attrs.push(' ');
    attrs.push_str(name);
    attrs.push_str("=\"");
    escape_into(attrs, value);
    attrs.push('"');
}

fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Links and images keep pointing where they did (a document being repaired).
pub struct KeepLinks;

impl Links for KeepLinks {
    fn image(&mut self, tag: &Tag) -> Option<String> {
        tag.attr("src").map(str::to_string)
    }
    fn link(&mut self, tag: &Tag) -> Option<String> {
        tag.attr("href").map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(html: &str) -> Cleaned {
        clean(html, &mut KeepLinks)
    }

    fn well_formed(body: &str) {
        let doc = format!("<body xmlns=\"http://www.w3.org/1999/xhtml\">{body}</body>");
        roxmltree::Document::parse(&doc).unwrap_or_else(|e| panic!("{e}: {body}"));
    }

    #[test]
    fn mobi_markup_becomes_well_formed() {
        let html = "<html><head><guide></guide></head><body><h2 align=\"center\"><font size=\"+2\"><b>第一章 开始</b></font></h2>\
                    <p>一<i>二<p>三</b>四<div>五</i></div><br><img recindex=\"00001\" src=\"a.jpg\"><ul>x<li>1<li>2</ul><li>stray\
                    <table><tr><td>a</td><td>b</td></tr></table><a filepos=12>link</a> &amp; 5 < 6";
        let c = cleaned(html);
        well_formed(&c.body);
        assert_eq!(c.heading.as_deref(), Some("第一章 开始"));
        assert!(
            c.body.contains(
                "<h2 style=\"text-align: center\"><span><strong>第一章 开始</strong></span></h2>"
            ),
            "{}",
            c.body
        );
        assert!(c.body.contains("<img src=\"a.jpg\" alt=\"\"/>"));
        assert!(c.body.contains("<ul><li>x</li>\n<li>1</li>\n<li>2</li>\n</ul>"), "{}", c.body);
        assert!(c.body.contains("&amp; 5 &lt; 6"));
    }

    #[test]
    fn ids_are_kept_once_and_hidden_content_dropped() {
        let c = cleaned("<p id=\"a\">1</p><p id=\"a\">2</p><p id=\"1bad\">3</p><script>x()</script><svg><text>no</text></svg><p>ok</p>");
        well_formed(&c.body);
        assert_eq!(c.body.matches("id=\"a\"").count(), 1);
        assert!(!c.body.contains("1bad") && !c.body.contains("x()") && !c.body.contains(">no<"));
        assert!(c.heading.is_none());
    }
}
