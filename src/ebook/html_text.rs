//! Plain text out of (X)HTML: block elements become paragraphs, whitespace inside
//! a paragraph collapses, head/script/style vanish.

use super::html::{local_name, Token, Tokenizer};

/// Elements that end the paragraph before them and start a new one.
pub fn is_block(local: &str) -> bool {
    matches!(
        local,
        "p" | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "section"
            | "article"
            | "aside"
            | "header"
            | "footer"
            | "nav"
            | "figure"
            | "figcaption"
            | "table"
            | "tr"
            | "address"
            | "center"
            | "hr"
            | "br"
            | "body"
            | "html"
            | "pagebreak"
    )
}

/// Elements whose content is never book text.
pub fn is_hidden(local: &str) -> bool {
    matches!(local, "head" | "script" | "style" | "title")
}

/// The paragraphs of `html`, each trimmed and non-empty, in document order.
pub fn paragraphs(html: &str) -> Vec<String> {
    first_paragraphs(html, usize::MAX)
}

/// The first paragraph of `html`, reading no further than its end.
pub fn first_paragraph(html: &str) -> Option<String> {
    first_paragraphs(html, 1).into_iter().next()
}

/// The first `limit` paragraphs of `html`.
fn first_paragraphs(html: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut hidden_depth = 0usize;
    let mut pre_depth = 0usize;
    for token in Tokenizer::new(html) {
        if out.len() >= limit {
            out.truncate(limit);
            return out;
        }
        match token {
            Token::Start(tag) => {
                let local = local_name(&tag.name);
                if is_hidden(local) && !tag.self_closing {
                    hidden_depth += 1;
                } else if is_block(local) {
                    flush(&mut current, &mut out);
                    if local == "pre" && !tag.self_closing {
                        pre_depth += 1;
                    }
                } else if matches!(local, "td" | "th") && !current.is_empty() {
                    current.push(' ');
                }
            }
            Token::End(name) => {
                let local = local_name(&name);
                if is_hidden(local) {
                    hidden_depth = hidden_depth.saturating_sub(1);
                } else if is_block(local) {
                    flush(&mut current, &mut out);
                    if local == "pre" {
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                }
            }
            Token::Text(text) if hidden_depth == 0 => {
                if pre_depth > 0 {
                    for (i, line) in text.split('\n').enumerate() {
                        if i > 0 {
                            flush(&mut current, &mut out);
                        }
                        current.push_str(line);
                    }
                } else {
                    push_collapsed(&mut current, &text);
                }
            }
            Token::Text(_) => {}
        }
    }
    flush(&mut current, &mut out);
    out.truncate(limit);
    out
}

/// Append `text` with runs of ASCII whitespace turned into one space.
fn push_collapsed(current: &mut String, text: &str) {
    let mut last_space = current.ends_with(' ');
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            if !last_space {
                current.push(' ');
                last_space = true;
            }
        } else {
            current.push(c);
            last_space = false;
        }
    }
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    let trimmed = current.trim();
    if !trimmed.is_empty() {
        out.push(trimmed.to_string());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_paragraphs_and_inline_markup_vanishes() {
        let html = "<?xml version=\"1.0\"?><html><head><title>T</title><style>p{}</style></head>\
                    <body><h1>第一章 <b>开始</b></h1><p>他说：&ldquo;你好&rdquo;</p>\n<p>  a\n  b &amp; c </p>\
                    <div>x<br/>y</div><table><tr><td>1</td><td>2</td></tr></table></body></html>";
        assert_eq!(
            paragraphs(html),
            ["第一章 开始", "他说：\u{201c}你好\u{201d}", "a b & c", "x", "y", "1 2"]
        );
    }

    #[test]
    fn pre_keeps_its_lines_and_pagebreaks_split() {
        assert_eq!(paragraphs("<pre>a\n b</pre>c<mbp:pagebreak/>d"), ["a", "b", "c", "d"]);
        assert_eq!(first_paragraph("<pre>a\n b</pre>c").as_deref(), Some("a"));
        assert_eq!(
            first_paragraph("<head><title>T</title></head><p> </p><p>x</p>y").as_deref(),
            Some("x")
        );
        assert_eq!(first_paragraph("<style>p{}</style><p> </p>"), None);
    }
}
