//! An article made ready for WeChat's draft box, every rule WeChat has for a
//! draft checked before anything is sent: the field limits, the images (local
//! JPEG or PNG files of at most 1 MB), a cover. Reads the article's files and
//! nothing else; the uploads and calls are the drafts service's.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use super::wechat_html::{self, ImageSource};
use super::{front_matter, parse, LoadOptions, EXTENSION};
use crate::digest::sha256_hex;
use crate::wechat::api::{
    ARTICLE_IMAGE_MAX_BYTES, AUTHOR_MAX_CHARS, CONTENT_MAX_BYTES, CONTENT_MAX_CHARS,
    DIGEST_MAX_CHARS, TITLE_MAX_CHARS,
};

/// Permanent material's limit (the cover).
const COVER_MAX_BYTES: usize = crate::wechat::api::IMAGE_MAX_BYTES;
/// The length an uploaded image's URL is assumed to have when `content` is
/// measured before the uploads (WeChat's are about 120 characters).
const ASSUMED_URL_CHARS: usize = 160;

/// Where an article's files are and what the config adds.
#[derive(Debug, Clone)]
pub struct Settings {
    pub articles_dir: PathBuf,
    pub pictures_dir: PathBuf,
    /// `articles.author`.
    pub author: Option<String>,
    /// `server.public_url`, without a trailing `/`.
    pub public_url: Option<String>,
}

/// Why an article cannot become a draft; the owner's to fix (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TooLong { field: &'static str, limit: usize, length: usize, unit: &'static str },
    Image { file: String, problem: String },
    NoCover,
    Article(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooLong { field, limit, length, unit } => write!(
                f,
                "{field} is {length} {unit}; WeChat allows {}{limit}: shorten it",
                if *field == "content" { "less than " } else { "at most " }
            ),
            Refusal::Image { file, problem } => write!(f, "image {file}: {problem}"),
            Refusal::NoCover => f.write_str(
                "the article has no image for the cover, and WeChat needs one: add `cover: NAME` \
                 (a JPEG or PNG in pictures.dir) to its front matter",
            ),
            Refusal::Article(why) => f.write_str(why),
        }
    }
}

/// A local image of the article, read and checked.
#[derive(Debug, Clone)]
pub struct LocalImage {
    /// The address as the markdown writes it (empty for a cover from `cover:`).
    pub dest: String,
    /// How the owner knows the file: its path under its directory.
    pub name: String,
    pub bytes: Vec<u8>,
    pub hash: String,
}

/// An article ready to draft, but for the uploads.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub slug: String,
    pub title: String,
    pub author: String,
    pub digest: String,
    pub content_source_url: String,
    pub need_open_comment: bool,
    /// The article's images, each once, in order.
    pub images: Vec<LocalImage>,
    pub cover: LocalImage,
    /// Of everything the draft is made from: unchanged means nothing to send.
    pub hash: String,
    body: String,
    front_title: Option<String>,
    public_url: Option<String>,
}

impl Prepared {
    /// The draft's HTML with each image's WeChat URL (`url_of(image)`),
    /// checked against WeChat's content limits.
    pub fn content(&self, url_of: &dyn Fn(&LocalImage) -> String) -> Result<String, Refusal> {
        let image_url = |dest: &str| self.images.iter().find(|i| i.dest == dest).map(url_of);
        let html = wechat_html::render(
            &self.body,
            self.front_title.as_deref(),
            &image_url,
            self.public_url.as_deref(),
        );
        let chars = html.chars().count();
        if chars >= CONTENT_MAX_CHARS {
            return Err(too_long("content", CONTENT_MAX_CHARS, chars, "characters of HTML"));
        }
        if html.len() >= CONTENT_MAX_BYTES {
            return Err(too_long("content", CONTENT_MAX_BYTES, html.len(), "bytes of HTML"));
        }
        Ok(html)
    }
}

fn too_long(field: &'static str, limit: usize, length: usize, unit: &'static str) -> Refusal {
    Refusal::TooLong { field, limit, length, unit }
}

fn check_chars(field: &'static str, value: &str, limit: usize) -> Result<(), Refusal> {
    let length = value.chars().count();
    if length > limit {
        return Err(too_long(field, limit, length, "characters"));
    }
    Ok(())
}

/// The article `slug` of `settings.articles_dir`, checked and read with its images.
pub fn prepare(slug: &str, settings: &Settings) -> Result<Prepared, Refusal> {
    let path = settings.articles_dir.join(format!("{slug}{EXTENSION}"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Refusal::Article(format!(
            "cannot read the article {}: {e}; SLUG is the file name without .md",
            path.display()
        ))
    })?;
    let article = parse(slug, &text, 0, LoadOptions::default())
        .map_err(|e| Refusal::Article(format!("{}: {e}", path.display())))?;
    let (matter, body) = front_matter::split(&text).map_err(Refusal::Article)?;
    let author = matter.author.clone().or_else(|| settings.author.clone()).unwrap_or_default();
    let digest = matter.summary.clone().unwrap_or_default();
    check_chars("title", &article.title, TITLE_MAX_CHARS)?;
    check_chars("author", &author, AUTHOR_MAX_CHARS)?;
    check_chars("digest (summary)", &digest, DIGEST_MAX_CHARS)?;

    let mut images = Vec::new();
    for dest in wechat_html::image_sources(body, matter.title.as_deref()) {
        let (dir, name) = match ImageSource::of(&dest) {
            ImageSource::Picture(name) => (&settings.pictures_dir, name),
            ImageSource::ArticleFile(name) => (&settings.articles_dir, name),
            ImageSource::Elsewhere(_) => {
                return Err(Refusal::Image {
                    file: dest,
                    problem: "not a local file; WeChat shows only images uploaded to it: save \
                              the image into pictures.dir and write ![](NAME)"
                        .into(),
                })
            }
        };
        images.push(read_image(dest, dir, &name, ARTICLE_IMAGE_MAX_BYTES)?);
    }
    let cover = match &matter.cover {
        Some(name) => read_image(String::new(), &settings.pictures_dir, name, COVER_MAX_BYTES)?,
        None => images.first().cloned().ok_or(Refusal::NoCover)?,
    };
    let content_source_url = settings
        .public_url
        .as_ref()
        .map(|base| format!("{base}{}", article.path()))
        .unwrap_or_default();
    let mut hashed =
        format!("zatan draft 1\n{text}\n{author}\n{content_source_url}\ncover {}\n", cover.hash);
    for image in &images {
        hashed.push_str(&format!("{} {}\n", image.dest, image.hash));
    }
    let prepared = Prepared {
        slug: slug.to_string(),
        title: article.title,
        author,
        digest,
        content_source_url,
        need_open_comment: matter.comments,
        images,
        cover,
        hash: sha256_hex(hashed.as_bytes()),
        body: body.to_string(),
        front_title: matter.title,
        public_url: settings.public_url.clone(),
    };
    let assumed = format!("http://mmbiz.qpic.cn/{}", "x".repeat(ASSUMED_URL_CHARS - 21));
    prepared.content(&|_| assumed.clone())?;
    Ok(prepared)
}

/// `name` under `dir`, which it may not leave; a JPEG or PNG of at most `max_bytes`.
fn read_image(
    dest: String,
    dir: &Path,
    name: &str,
    max_bytes: usize,
) -> Result<LocalImage, Refusal> {
    let refuse = |problem: String| Refusal::Image { file: name.to_string(), problem };
    let relative = Path::new(name);
    if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(refuse("a path that leaves its directory; name a file inside it".into()));
    }
    let path = dir.join(relative);
    let bytes = std::fs::read(&path)
        .map_err(|e| refuse(format!("cannot read {} ({e})", path.display())))?;
    match crate::sniff::image_type(&bytes) {
        Some("image/jpeg" | "image/png") => {}
        found => {
            let kind =
                found.map(|t| t.trim_start_matches("image/").to_uppercase()).unwrap_or_else(|| {
                    if bytes.get(8..12) == Some(b"WEBP") {
                        "WebP".into()
                    } else {
                        "not an image".into()
                    }
                });
            return Err(refuse(format!(
                "{kind}; WeChat takes only JPEG or PNG images in an article: convert it"
            )));
        }
    }
    if bytes.len() > max_bytes {
        return Err(refuse(format!(
            "{} bytes; WeChat takes images of at most {max_bytes} bytes ({} MB) here: make it smaller",
            bytes.len(),
            max_bytes / (1024 * 1024)
        )));
    }
    let hash = sha256_hex(&bytes);
    Ok(LocalImage { dest, name: name.to_string(), bytes, hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn settings(tmp: &TempDir) -> Settings {
        for dir in ["articles/img", "pictures"] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        }
        Settings {
            articles_dir: tmp.path().join("articles"),
            pictures_dir: tmp.path().join("pictures"),
            author: Some("杂谈".into()),
            public_url: Some("https://box".into()),
        }
    }

    #[test]
    fn the_hash_follows_the_file_its_images_and_the_settings() {
        let tmp = TempDir::new("wechat-prepare");
        let mut settings = settings(&tmp);
        std::fs::write(tmp.path().join("pictures/a.png"), PNG).unwrap();
        std::fs::write(tmp.path().join("articles/img/b.png"), PNG).unwrap();
        std::fs::write(tmp.path().join("articles/x.md"), "![a](a.png) ![b](img/b.png)").unwrap();
        let first = prepare("x", &settings).unwrap();
        assert_eq!(
            (first.author.as_str(), first.cover.hash.as_str()),
            ("杂谈", first.images[0].hash.as_str())
        );
        assert_eq!(first.content_source_url, "https://box/articles/x");
        assert_eq!(prepare("x", &settings).unwrap().hash, first.hash, "nothing changed");
        std::fs::write(tmp.path().join("articles/img/b.png"), [PNG, b"more"].concat()).unwrap();
        let image_changed = prepare("x", &settings).unwrap().hash;
        assert_ne!(image_changed, first.hash, "an image's content is part of the draft");
        settings.author = Some("别人".into());
        assert_ne!(prepare("x", &settings).unwrap().hash, image_changed, "so is the author");
    }

    #[test]
    fn images_may_not_leave_their_directory() {
        let tmp = TempDir::new("wechat-escape");
        let settings = settings(&tmp);
        std::fs::write(tmp.path().join("secret.png"), PNG).unwrap();
        std::fs::write(tmp.path().join("articles/x.md"), "![s](../secret.png)").unwrap();
        let refusal = prepare("x", &settings).unwrap_err();
        assert!(refusal.to_string().contains("leaves its directory"), "{refusal}");
        std::fs::write(tmp.path().join("articles/y.md"), "![s](missing.png)").unwrap();
        let refusal = prepare("y", &settings).unwrap_err();
        assert!(refusal.to_string().starts_with("image missing.png: cannot read"), "{refusal}");
    }
}
