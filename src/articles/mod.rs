//! The owner's articles: markdown files with a small front matter, rendered
//! once into HTML pages when a file changes. Everything here is pure but the
//! reading of a file; the articles service (`src/services/articles.rs`)
//! keeps the [`Index`] current and publishes it through [`Articles`].

pub mod front_matter;
pub mod page;
mod render;
pub mod wechat;
pub mod wechat_html;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

pub use front_matter::Date;

use crate::http::encode_path_segment;

/// Article files end in this; other files in `articles.dir` are left alone.
pub const EXTENSION: &str = ".md";
/// Larger files are skipped: an article is text, not a data dump.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// How many characters of the first paragraph stand in for a missing summary.
const SUMMARY_CHARS: usize = 120;

/// How files become pages.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Let the owner's raw HTML through (`articles.raw_html`).
    pub raw_html: bool,
    /// No page claims to be older than this (Unix seconds): the server's
    /// start, so a new version's page layout is never answered with a 304
    /// that only looked at the file's time.
    pub not_before: u64,
}

/// One rendered page with its validators.
#[derive(Debug)]
pub struct Page {
    pub html: String,
    /// A strong, quoted ETag: a hash of `html`.
    pub etag: String,
    /// Unix seconds.
    pub last_modified: u64,
}

impl Page {
    fn new(html: String, last_modified: u64) -> Page {
        let hash = Sha256::digest(html.as_bytes());
        let etag = format!("\"{}\"", crate::digest::hex(&hash[..12]));
        Page { html, etag, last_modified }
    }
}

#[derive(Debug)]
pub struct Article {
    /// The file name without `.md`: the page is `/articles/<slug>`.
    pub slug: String,
    pub title: String,
    pub date: Date,
    /// From the front matter, or the start of the first paragraph.
    pub summary: String,
    /// A file name in `pictures.dir`.
    pub cover: Option<String>,
    pub draft: bool,
    /// The file's modification time, Unix seconds.
    pub modified: u64,
    pub page: Page,
}

impl Article {
    /// The page's path on this server.
    pub fn path(&self) -> String {
        format!("/articles/{}", encode_path_segment(&self.slug))
    }
}

/// The path at which `/pictures/` serves the file `name` of `pictures.dir`.
pub fn pictures_url(name: &str) -> String {
    format!("/pictures/{}", encode_path_segment(name))
}

/// Reads and renders one article file. The error says what is wrong with it.
pub fn load_file(path: &Path, options: LoadOptions) -> Result<Article, String> {
    let file_name =
        path.file_name().and_then(|n| n.to_str()).ok_or("the file name is not UTF-8")?;
    let slug = if file_name.starts_with('.') {
        ""
    } else {
        file_name.strip_suffix(EXTENSION).unwrap_or("")
    };
    if slug.is_empty() || slug.chars().any(char::is_control) {
        return Err(format!("{file_name:?} is not a name an article page can have"));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes is over the {MAX_FILE_BYTES}-byte limit for an article",
            meta.len()
        ));
    }
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| "it is not UTF-8 text; save it as UTF-8".to_string())?;
    parse(slug, &text, modified, options)
}

/// An article from its file's text.
pub fn parse(
    slug: &str,
    text: &str,
    modified: u64,
    options: LoadOptions,
) -> Result<Article, String> {
    let (matter, markdown) = front_matter::split(text)?;
    let rendered = render::render(markdown, options.raw_html, matter.title.as_deref());
    let summary = matter.summary.unwrap_or_else(|| {
        let mut chars = rendered.first_paragraph.chars();
        let mut summary: String = chars.by_ref().take(SUMMARY_CHARS).collect();
        if chars.next().is_some() {
            summary.push('…');
        }
        summary
    });
    let mut article = Article {
        slug: slug.to_string(),
        title: matter.title.or(rendered.heading).unwrap_or_else(|| slug.to_string()),
        date: matter.date.unwrap_or_else(|| Date::beijing(modified)),
        summary,
        cover: matter.cover,
        draft: matter.draft,
        modified,
        page: Page::new(String::new(), 0),
    };
    article.page =
        Page::new(page::article(&article, &rendered.html), modified.max(options.not_before));
    Ok(article)
}

/// Every article file of `dir`, by file name; a bad file is logged and skipped.
pub fn load_dir(dir: &Path, options: LoadOptions) -> BTreeMap<String, Arc<Article>> {
    let files = crate::fsutil::list_files(dir).unwrap_or_else(|e| {
        log::error!("cannot list articles.dir {}: {e}", dir.display());
        Vec::new()
    });
    files
        .into_iter()
        .filter(|(name, _)| name.ends_with(EXTENSION))
        .filter_map(|(name, path)| match load_file(&path, options) {
            Ok(article) => Some((name, Arc::new(article))),
            Err(e) => {
                log::warn!("skipping article {}: {e}", path.display());
                None
            }
        })
        .collect()
}

/// The published articles, newest first, and the list page.
#[derive(Debug)]
pub struct Index {
    pub articles: Vec<Arc<Article>>,
    by_slug: HashMap<String, usize>,
    pub page: Page,
}

impl Index {
    /// The index of `articles` without the drafts; `now` dates the list page.
    pub fn build<'a>(articles: impl IntoIterator<Item = &'a Arc<Article>>, now: u64) -> Index {
        let mut articles: Vec<Arc<Article>> =
            articles.into_iter().filter(|a| !a.draft).cloned().collect();
        articles.sort_by(|a, b| {
            b.date.cmp(&a.date).then(b.modified.cmp(&a.modified)).then(a.slug.cmp(&b.slug))
        });
        let by_slug = articles.iter().enumerate().map(|(i, a)| (a.slug.clone(), i)).collect();
        let page = Page::new(page::index(&articles), now);
        Index { articles, by_slug, page }
    }

    pub fn get(&self, slug: &str) -> Option<&Arc<Article>> {
        self.by_slug.get(slug).map(|&i| &self.articles[i])
    }

    /// Articles whose title holds every word of `query` (case-insensitive), newest first.
    pub fn search<'a>(&'a self, query: &str) -> impl Iterator<Item = &'a Arc<Article>> + 'a {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.articles.iter().filter(move |a| {
            let title = a.title.to_lowercase();
            words.iter().all(|w| title.contains(w.as_str()))
        })
    }
}

impl Default for Index {
    fn default() -> Index {
        Index::build([], 0)
    }
}

/// The published index: readers take a snapshot without waiting, the
/// articles service swaps in a new one when a file changes.
pub type Articles = crate::published::Published<Index>;

#[cfg(test)]
mod tests {
    use super::*;

    fn article(slug: &str, text: &str, modified: u64) -> Arc<Article> {
        Arc::new(parse(slug, text, modified, LoadOptions::default()).unwrap())
    }

    #[test]
    fn title_falls_back_to_heading_then_slug_and_date_to_mtime() {
        let a = article("rain", "---\ntitle: 春雨\ndate: 2024-03-21\n---\n# 别的\n\n正文", 0);
        assert_eq!((a.title.as_str(), a.date.to_string()), ("春雨", "2024-03-21".to_string()));
        assert!(a.page.html.contains("<h1>别的</h1>"), "a heading that is not the title stays");
        let same = article("rain", "---\ntitle: 春雨\n---\n# 春雨\n\n正文", 0);
        assert_eq!(
            same.page.html.matches("春雨").count(),
            2,
            "in <title> and the page's <h1> only"
        );
        let b = article("rain", "# 标题来自正文\n\n正文", 1_710_950_400);
        assert_eq!(
            (b.title.as_str(), b.date.to_string()),
            ("标题来自正文", "2024-03-21".to_string())
        );
        assert_eq!(
            b.page.html.matches("标题来自正文").count(),
            2,
            "in <title> and the page's <h1> only"
        );
        let c = article("just-a-name", "正文", 0);
        assert_eq!(c.title, "just-a-name");
    }

    #[test]
    fn summary_falls_back_to_the_first_paragraph() {
        let long = "长".repeat(200);
        let a = article("a", &format!("# T\n\n{long}\n\n第二段"), 0);
        assert_eq!(a.summary.chars().count(), SUMMARY_CHARS + 1);
        assert!(a.summary.ends_with('…'));
        let b = article("b", "---\nsummary: 自己写的\n---\n正文", 0);
        assert_eq!(b.summary, "自己写的");
    }

    #[test]
    fn index_is_newest_first_without_drafts() {
        let files = [
            article("old", "---\ndate: 2023-01-01\n---\nx", 5),
            article("new", "---\ndate: 2024-01-01\n---\nx", 1),
            article("same-day-later", "---\ndate: 2024-01-01\n---\nx", 2),
            article("secret", "---\ndate: 2025-01-01\ndraft: true\n---\nx", 9),
        ];
        let index = Index::build(&files, 100);
        let slugs: Vec<&str> = index.articles.iter().map(|a| a.slug.as_str()).collect();
        assert_eq!(slugs, ["same-day-later", "new", "old"]);
        assert!(index.get("secret").is_none());
        assert!(!index.page.html.contains("secret"));
        assert_eq!(index.get("old").unwrap().slug, "old");
        assert_eq!(index.page.last_modified, 100);
    }

    #[test]
    fn search_matches_every_word_in_titles() {
        let files = [
            article("a", "---\ntitle: Rust 与树莓派\n---\nx", 1),
            article("b", "---\ntitle: 树莓派的电源\n---\nx", 2),
            article("c", "---\ntitle: 路由器\n---\n树莓派", 3),
        ];
        let index = Index::build(&files, 0);
        let found = |q: &str| index.search(q).map(|a| a.slug.clone()).collect::<Vec<_>>();
        assert_eq!(found("树莓派"), ["b", "a"]);
        assert_eq!(found("rust 树莓派"), ["a"]);
        assert!(found("手机").is_empty());
    }

    #[test]
    fn pages_change_their_etag_with_their_content() {
        let a = article("a", "正文一", 1);
        let b = article("a", "正文二", 1);
        assert_ne!(a.page.etag, b.page.etag);
        assert_eq!(a.page.etag, article("a", "正文一", 1).page.etag);
        assert!(a.page.etag.starts_with('"') && a.page.etag.ends_with('"'));
        let floored = parse("a", "x", 10, LoadOptions { raw_html: false, not_before: 50 }).unwrap();
        assert_eq!(floored.page.last_modified, 50);
    }

    #[test]
    fn files_load_from_disk_and_bad_ones_are_skipped() {
        let tmp = crate::temp_dir::TempDir::new("articles");
        let dir = tmp.path();
        std::fs::write(dir.join("good.md"), "# Good\n\nbody").unwrap();
        std::fs::write(dir.join("bad.md"), "---\ntitel: x\n---\n").unwrap();
        std::fs::write(dir.join("latin1.md"), b"caf\xe9").unwrap();
        std::fs::write(dir.join("notes.txt"), "not an article").unwrap();
        std::fs::write(dir.join(".hidden.md"), "# Hidden").unwrap();
        let loaded = load_dir(dir, LoadOptions::default());
        assert_eq!(loaded.keys().collect::<Vec<_>>(), ["good.md"]);
        assert!(load_file(&dir.join("latin1.md"), LoadOptions::default())
            .unwrap_err()
            .contains("UTF-8"));
        assert!(load_file(&dir.join(".hidden.md"), LoadOptions::default()).is_err());
    }
}
