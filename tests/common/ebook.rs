//! Helpers for the e-book tests: generated novels, the real peers (epubcheck and
//! calibre's ebook-convert), and reading back what an EPUB says.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const EPUBCHECK_JAR: &str = "/usr/share/java/epubcheck.jar";
const INSTALL_HINT: &str =
    "install the test peers: `apt-get install epubcheck calibre` (or run `bash tests/run.sh`)";

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Fail (never skip) when a peer is missing.
pub fn require_epubcheck() {
    assert!(
        on_path("java") && Path::new(EPUBCHECK_JAR).is_file(),
        "java or {EPUBCHECK_JAR} is missing: {INSTALL_HINT}"
    );
}

pub fn require_calibre() {
    assert!(on_path("ebook-convert"), "ebook-convert is missing: {INSTALL_HINT}");
}

/// Run epubcheck on each book (in parallel: each run is a JVM start) and fail
/// with its messages unless it reports no errors.
pub fn assert_epubcheck_clean(books: &[&Path]) {
    require_epubcheck();
    let results: Vec<(PathBuf, Output)> = std::thread::scope(|scope| {
        let runs: Vec<_> = books
            .iter()
            .map(|book| {
                scope.spawn(move || {
                    let output = Command::new("java")
                        .args(["-jar", EPUBCHECK_JAR])
                        .arg(book)
                        .output()
                        .expect("run java");
                    (book.to_path_buf(), output)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (book, output) in results {
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "epubcheck found errors in {}:\n{report}", book.display());
        assert!(
            report.contains("0 errors"),
            "unexpected epubcheck report for {}:\n{report}",
            book.display()
        );
    }
}

/// Whether epubcheck finds errors in `book` (to show a broken input really is broken).
pub fn epubcheck_fails(book: &Path) -> bool {
    require_epubcheck();
    !Command::new("java")
        .args(["-jar", EPUBCHECK_JAR])
        .arg(book)
        .output()
        .expect("run java")
        .status
        .success()
}

/// calibre's ebook-convert, headless.
pub fn ebook_convert(input: &Path, output: &Path) {
    require_calibre();
    let result = Command::new("ebook-convert")
        .arg(input)
        .arg(output)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
        .output()
        .expect("run ebook-convert");
    assert!(
        result.status.success() && output.is_file(),
        "ebook-convert {} {} failed:\n{}{}",
        input.display(),
        output.display(),
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// `zatan ARGS…` through the real binary.
pub fn zatan(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zatan")).args(args).output().expect("run zatan")
}

/// The non-empty lines of a text, trimmed: what "the same text" means across
/// converters that differ in blank lines and indentation.
pub fn text_lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

pub fn read_entry(epub: &Path, name: &str) -> String {
    let mut archive = zip::ZipArchive::new(fs::File::open(epub).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap_or_else(|e| panic!("{name} in {}: {e}", epub.display()))
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn parse(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap()
}

/// The package document's path, from the container.
pub fn opf_path(epub: &Path) -> String {
    let container = read_entry(epub, "META-INF/container.xml");
    parse(&container)
        .descendants()
        .find(|n| n.has_tag_name("rootfile"))
        .and_then(|n| n.attribute("full-path"))
        .unwrap()
        .to_string()
}

/// The text of the first `dc:{name}` in the package.
pub fn dc(epub: &Path, name: &str) -> Option<String> {
    let opf = read_entry(epub, &opf_path(epub));
    let doc = parse(&opf);
    doc.descendants()
        .find(|n| n.has_tag_name(("http://purl.org/dc/elements/1.1/", name)))
        .and_then(|n| n.text())
        .map(str::to_string)
}

/// The titles in the EPUB 3 navigation document's table of contents.
pub fn toc_titles(epub: &Path) -> Vec<String> {
    let opf_path = opf_path(epub);
    let opf = read_entry(epub, &opf_path);
    let doc = parse(&opf);
    let nav = doc
        .descendants()
        .find(|n| {
            n.has_tag_name("item")
                && n.attribute("properties")
                    .is_some_and(|p| p.split_whitespace().any(|p| p == "nav"))
        })
        .and_then(|n| n.attribute("href"))
        .unwrap();
    let dir = opf_path.rfind('/').map_or("", |at| &opf_path[..=at]);
    let nav = read_entry(epub, &format!("{dir}{nav}"));
    let nav_doc = parse(&nav);
    let toc = nav_doc
        .descendants()
        .find(|n| {
            n.has_tag_name("nav")
                && n.attributes().any(|a| a.name() == "type" && a.value() == "toc")
        })
        .unwrap();
    toc.descendants()
        .filter(|n| n.has_tag_name("a"))
        .map(|a| {
            a.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect::<String>()
                .trim()
                .to_string()
        })
        .collect()
}

/// A deterministic pseudo-random sequence (xorshift), so generated books are
/// the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// `n` in Chinese numerals (1 ≤ n ≤ 9999), as chapter headings write it.
pub fn chinese_number(n: usize) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    const UNITS: [&str; 4] = ["", "十", "百", "千"];
    let digits: Vec<usize> = n.to_string().bytes().map(|b| usize::from(b - b'0')).collect();
    let mut out = String::new();
    let mut zero_pending = false;
    for (i, &d) in digits.iter().enumerate() {
        let unit = UNITS[digits.len() - 1 - i];
        if d == 0 {
            zero_pending = !out.is_empty();
            continue;
        }
        if zero_pending {
            out.push('零');
            zero_pending = false;
        }
        if !(d == 1 && unit == "十" && out.is_empty()) {
            out.push_str(DIGITS[d]);
        }
        out.push_str(unit);
    }
    out
}

pub struct Novel {
    pub title: String,
    pub author: String,
    /// The whole text, `\n` line endings.
    pub text: String,
    pub headings: Vec<String>,
}

const SENTENCES: &[&str] = &[
    "夜色渐深，长安城外的官道上，一骑快马疾驰而来。",
    "他抬头望了一眼天色，心中暗道不妙。",
    "“你来了。”她轻声说道，眼中闪过一丝笑意。",
    "风从山谷里吹来，带着雨后泥土的气息。",
    "掌柜的拨着算盘，头也不抬：“客官，住店还是打尖？”",
    "远处传来几声犬吠，村子里的灯一盏盏熄灭了。",
    "少年握紧了手中的剑，指节发白。",
    "这一年的雪下得格外早，河面上结了薄薄一层冰。",
    "他在信里写道：<莫回头> & 一路向北。",
    "老人叹了口气，把茶碗推到他面前。",
];

/// Lines inside chapters that start like headings but are sentences.
pub const FALSE_HEADINGS: &[&str] = &[
    "第一章写完之后，他放下了笔，望向窗外。",
    "第三回合，他终于把对手逼到了擂台边上。",
    "第十节课的时候，先生让大家背《论语》。",
    "序幕拉开，台下顿时安静下来。",
    "后记得那天的雨下了整整一夜。",
    "第二卷书他只读了一半，就被人借走了。",
];

/// A Chinese web novel: front matter, a 楔子, numbered chapters in the forms
/// real files use, a 番外 and a 后记, with false headings among the paragraphs.
pub fn chinese_novel(chapters: usize, paragraphs: usize, seed: u64) -> Novel {
    let mut rng = Rng::new(seed);
    let (title, author) = ("长安夜雨".to_string(), "云中客".to_string());
    let mut text =
        format!("《{title}》\n作者：{author}\n\n内容简介：\n　　一个少年，一把剑，一座城。\n\n");
    let mut headings = Vec::new();
    let mut chapter = |heading: String, text: &mut String, rng: &mut Rng| {
        text.push_str(&heading);
        text.push_str("\n\n");
        for p in 0..paragraphs {
            text.push_str("　　");
            if p == paragraphs / 2 {
                text.push_str(rng.pick(FALSE_HEADINGS));
            } else {
                for _ in 0..3 {
                    text.push_str(rng.pick(SENTENCES));
                }
            }
            text.push_str("\n\n");
        }
        headings.push(heading);
    };
    chapter("楔子".into(), &mut text, &mut rng);
    for n in 1..=chapters {
        let heading = match n % 3 {
            0 => format!("第{n}章 风雪{}", chinese_number(n)),
            1 => format!("第{}章 山雨欲来", chinese_number(n)),
            _ => format!("第{}章：夜行", chinese_number(n)),
        };
        chapter(heading, &mut text, &mut rng);
    }
    chapter("番外一 春日".into(), &mut text, &mut rng);
    chapter("后记".into(), &mut text, &mut rng);
    Novel { title, author, text, headings }
}

pub fn chinese_numbers_are_right() {
    assert_eq!(chinese_number(1), "一");
    assert_eq!(chinese_number(10), "十");
    assert_eq!(chinese_number(12), "十二");
    assert_eq!(chinese_number(105), "一百零五");
    assert_eq!(chinese_number(320), "三百二十");
}

/// An EPUB at `path`: the `mimetype` entry first and stored, a container
/// pointing at `OPS/book.opf`, then `files` (archive path, content) deflated.
pub fn write_epub(path: &Path, files: &[(&str, &[u8])]) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/epub+zip").unwrap();
    let container: &[u8] = br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OPS/book.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;
    for (name, data) in std::iter::once(&("META-INF/container.xml", container)).chain(files) {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

/// A small valid EPUB 3 at `path` with `cover` (a PNG) as its cover image.
pub fn epub_with_cover(path: &Path, title: &str, author: &str, cover: &[u8]) {
    let opf = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:zatan-test:{title}</dc:identifier><dc:title>{title}</dc:title><dc:creator>{author}</dc:creator><dc:language>zh</dc:language><meta property="dcterms:modified">2024-01-01T00:00:00Z</meta></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/><item id="cover" href="cover.png" media-type="image/png" properties="cover-image"/></manifest><spine><itemref idref="c1"/></spine></package>"#
    );
    let nav = r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>目录</title></head><body><nav epub:type="toc"><ol><li><a href="c1.xhtml">第一章</a></li></ol></nav></body></html>"#;
    let chapter = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>第一章</title></head><body><h1>第一章</h1><p>{title}的正文。</p></body></html>"#
    );
    write_epub(
        path,
        &[
            ("OPS/book.opf", opf.as_bytes()),
            ("OPS/nav.xhtml", nav.as_bytes()),
            ("OPS/c1.xhtml", chapter.as_bytes()),
            ("OPS/cover.png", cover),
        ],
    );
}
