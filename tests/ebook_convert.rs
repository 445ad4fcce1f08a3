//! `zatan convert` and the ebook library against the real peers: epubcheck
//! judges every EPUB we write, calibre's ebook-convert reads them back and
//! makes the MOBI/AZW3 inputs. A missing peer fails the test, never skips it.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::ebook::*;
use common::TempDir;
use zatan::ebook::{self, ConvertOptions, EbookError, Format};

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// `zatan convert IN OUT [extra…]`, asserting success; returns the summary line.
fn cli_convert(input: &Path, output: &Path, extra: &[&str]) -> String {
    let mut args = vec![os("convert"), input.as_os_str(), output.as_os_str()];
    args.extend(extra.iter().map(|a| os(a)));
    let out = zatan(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "zatan convert {} failed: {}{}",
        input.display(),
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn convert(input: &Path, output: &Path) -> ebook::ConvertReport {
    ebook::convert(input, output, &ConvertOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn chinese_number_helper() {
    chinese_numbers_are_right();
}

#[test]
fn gbk_and_utf8_novels_become_valid_epubs_that_calibre_reads_back() {
    require_epubcheck();
    require_calibre();
    let scratch = TempDir::new("ebook-novels");
    let dir = scratch.path();
    let novel = chinese_novel(12, 8, 7);
    // GBK with CRLF line endings, named the way such files are.
    let gbk_path = dir.join(format!("《{}》作者：{}.txt", novel.title, novel.author));
    let crlf = novel.text.replace('\n', "\r\n");
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&crlf);
    assert!(!unmappable);
    fs::write(&gbk_path, &gbk).unwrap();
    // UTF-8 with a byte-order mark, no metadata in the name.
    let utf8_path = dir.join("novel.txt");
    fs::write(&utf8_path, [b"\xEF\xBB\xBF".as_slice(), novel.text.as_bytes()].concat()).unwrap();

    let gbk_epub = dir.join("gbk.epub");
    let summary = cli_convert(&gbk_path, &gbk_epub, &[]);
    assert!(
        summary.contains("gb18030")
            && summary.contains(&format!("{} chapters", novel.headings.len())),
        "{summary}"
    );
    let utf8_epub = dir.join("utf8.epub");
    let report = convert(&utf8_path, &utf8_epub);
    assert_eq!(
        (report.encoding, report.chapters, report.lang.as_str()),
        (Some("UTF-8"), novel.headings.len(), "zh")
    );
    assert_eq!(
        report.author.as_deref(),
        Some(novel.author.as_str()),
        "author from the 作者： line"
    );

    for epub in [&gbk_epub, &utf8_epub] {
        assert_eq!(toc_titles(epub), novel.headings, "chapters of {}", epub.display());
        assert_eq!(dc(epub, "language").as_deref(), Some("zh"));
    }
    assert_eq!(dc(&gbk_epub, "title").as_deref(), Some(novel.title.as_str()));
    assert_eq!(dc(&gbk_epub, "creator").as_deref(), Some(novel.author.as_str()));
    assert_epubcheck_clean(&[&gbk_epub, &utf8_epub]);

    for epub in [&gbk_epub, &utf8_epub] {
        let back = epub.with_extension("calibre.txt");
        ebook_convert(epub, &back);
        assert_eq!(
            text_lines(&fs::read_to_string(&back).unwrap()),
            text_lines(&novel.text),
            "calibre's reading of {}",
            epub.display()
        );
    }
}

#[test]
fn other_encodings_and_headingless_text() {
    let scratch = TempDir::new("ebook-encodings");
    let dir = scratch.path();
    let novel = chinese_novel(3, 4, 11);
    let utf16 = dir.join("utf16.txt");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(novel.text.encode_utf16().flat_map(u16::to_le_bytes));
    fs::write(&utf16, bytes).unwrap();
    let report = convert(&utf16, &dir.join("utf16.epub"));
    assert_eq!((report.encoding, report.chapters), (Some("UTF-16LE"), novel.headings.len()));

    let traditional = "第一章 夜雨\n　　夜色漸深，長安城外的官道上，一騎快馬疾馳而來。馬上之人披著斗篷，看不清面目。\n".repeat(300);
    let big5 = dir.join("big5.txt");
    fs::write(&big5, encoding_rs::BIG5.encode(&traditional).0).unwrap();
    let report = convert(&big5, &dir.join("big5.epub"));
    assert_eq!((report.encoding, report.lang.as_str()), (Some("Big5"), "zh-Hant"));

    // No headings at all: fixed-size numbered parts, all text kept.
    let plain: String = (0..6000)
        .map(|i| format!("This is sentence number {i} of a long story without chapters.\n"))
        .collect();
    let plain_path = dir.join("plain.txt");
    fs::write(&plain_path, &plain).unwrap();
    let epub = dir.join("plain.epub");
    let report = convert(&plain_path, &epub);
    assert_eq!(report.lang, "en");
    assert!(report.chapters >= 3, "{report}");
    assert_eq!(toc_titles(&epub)[..2], ["Part 1".to_string(), "Part 2".to_string()]);
    let back = dir.join("plain-back.txt");
    convert(&epub, &back);
    let back_lines = text_lines(&fs::read_to_string(&back).unwrap());
    assert_eq!(back_lines[1..], text_lines(&plain)[..], "after the title page line");
}

#[test]
fn cli_flags_set_the_metadata() {
    let scratch = TempDir::new("ebook-flags");
    let dir = scratch.path();
    let input = dir.join("《原名》作者：原作者.txt");
    fs::write(&input, chinese_novel(2, 3, 3).text).unwrap();
    let epub = dir.join("out.EPUB");
    let summary =
        cli_convert(&input, &epub, &["--title", "新书名", "--author", "新作者", "--lang", "zh-CN"]);
    assert!(summary.contains("新书名") && summary.contains("新作者"), "{summary}");
    assert_eq!(dc(&epub, "title").as_deref(), Some("新书名"));
    assert_eq!(dc(&epub, "creator").as_deref(), Some("新作者"));
    assert_eq!(dc(&epub, "language").as_deref(), Some("zh-CN"));
    let meta = ebook::read_metadata(&input).unwrap();
    assert_eq!(
        (meta.title.as_str(), meta.author.as_deref(), meta.lang.as_str()),
        ("原名", Some("原作者"), "zh")
    );
    let meta = ebook::read_metadata(&epub).unwrap();
    assert_eq!(
        (meta.title.as_str(), meta.author.as_deref(), meta.lang.as_str()),
        ("新书名", Some("新作者"), "zh-CN")
    );
}

#[test]
fn mobi_and_azw3_made_by_calibre_convert_back_to_the_same_book() {
    require_epubcheck();
    require_calibre();
    let scratch = TempDir::new("ebook-mobi");
    let dir = scratch.path();
    let novel = chinese_novel(6, 5, 5);
    let txt = dir.join(format!("《{}》作者：{}.txt", novel.title, novel.author));
    fs::write(&txt, &novel.text).unwrap();
    let source = dir.join("source.epub");
    convert(&txt, &source);
    let source_text = dir.join("source.txt");
    convert(&source, &source_text);

    let mut results = Vec::new();
    for ext in ["mobi", "azw3"] {
        let made = dir.join(format!("calibre.{ext}"));
        ebook_convert(&source, &made);
        assert_eq!(
            Format::from_path(&made),
            Some(if ext == "mobi" { Format::Mobi } else { Format::Azw3 })
        );
        let meta = ebook::read_metadata(&made).unwrap();
        assert_eq!(
            (meta.title.as_str(), meta.author.as_deref()),
            (novel.title.as_str(), Some(novel.author.as_str()))
        );
        let epub = dir.join(format!("from-{ext}.epub"));
        let summary = cli_convert(&made, &epub, &[]);
        assert!(summary.starts_with(&format!("{ext} → epub")), "{summary}");
        assert_eq!(toc_titles(&epub), novel.headings, "chapter titles from {ext}");
        let text = dir.join(format!("from-{ext}.txt"));
        convert(&epub, &text);
        assert_eq!(
            fs::read_to_string(&text).unwrap(),
            fs::read_to_string(&source_text).unwrap(),
            "text from {ext}"
        );
        // The same file cut short is refused, and nothing is left behind.
        let data = fs::read(&made).unwrap();
        let cut = dir.join(format!("cut.{ext}"));
        fs::write(&cut, &data[..data.len() / 3]).unwrap();
        let out = dir.join(format!("cut-{ext}.epub"));
        let err = ebook::convert(&cut, &out, &ConvertOptions::default()).unwrap_err();
        assert!(
            matches!(err, EbookError::TruncatedMobi { .. } | EbookError::Malformed { .. }),
            "{err}"
        );
        assert!(!out.exists());
        results.push(epub);
    }
    let books: Vec<&Path> = results.iter().map(PathBuf::as_path).collect();
    assert_epubcheck_clean(&books);
    assert_no_temp_files(dir);
}

/// An EPUB with the faults Send to Kindle rejects: content documents without
/// an XML declaration, one in GBK, HTML entities, broken markup, no dc:language.
fn broken_epub(path: &Path) {
    let gbk = encoding_rs::GBK
        .encode(r#"<?xml version="1.0" encoding="gbk"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>2</title></head><body><h1>第二章 雪</h1><p>雪落在屋檐上。</p></body></html>"#)
        .0;
    write_epub(
        path,
        &[
            (
                "OPS/book.opf",
                br#"<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:0d9b1d2e-6a57-4d8e-9a43-8e1f0f6b1c11</dc:identifier><dc:title>Broken Book</dc:title><meta property="dcterms:modified">2024-01-01T00:00:00Z</meta></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="text/c1.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="text/c2.xhtml" media-type="application/xhtml+xml"/><item id="c3" href="text/c3.xhtml" media-type="application/xhtml+xml"/><item id="css" href="s.css" media-type="text/css"/></manifest><spine><itemref idref="c1"/><itemref idref="c2"/><itemref idref="c3"/></spine></package>"#,
            ),
            (
                "OPS/nav.xhtml",
                r#"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>nav</title></head><body><nav epub:type="toc"><ol><li><a href="text/c1.xhtml">第一章 雨</a></li><li><a href="text/c2.xhtml">第二章 雪</a></li><li><a href="text/c3.xhtml">第三章 风</a></li></ol></nav></body></html>"#.as_bytes(),
            ),
            (
                "OPS/text/c1.xhtml",
                r#"<html xmlns="http://www.w3.org/1999/xhtml"><head><title>1</title><link rel="stylesheet" href="../s.css"/></head><body><h1>第一章 雨</h1><p>雨下了一夜。&nbsp;他没有睡。</p></body></html>"#.as_bytes(),
            ),
            ("OPS/text/c2.xhtml", &gbk),
            (
                "OPS/text/c3.xhtml",
                r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>3</title></head><body><h1>第三章 风</h1><p>风起了<br>他走了<p>&mdash;完</body></html>"#.as_bytes(),
            ),
            ("OPS/s.css", b"p { text-indent: 2em; }"),
        ],
    );
}

#[test]
fn kindle_fix_repairs_what_amazon_rejects_and_epub_reads_to_text() {
    require_epubcheck();
    let scratch = TempDir::new("ebook-kindle");
    let dir = scratch.path();
    let broken = dir.join("broken.epub");
    broken_epub(&broken);
    assert!(epubcheck_fails(&broken), "the test input must really be broken");
    let fixed = dir.join("fixed.epub");
    let report = ebook::to_kindle_epub(&broken, &fixed).unwrap();
    let repairs = report.repairs.join("; ");
    for expected in [
        "added dc:language zh",
        "converted to UTF-8 1 file",
        "replaced HTML-only entities in 2 files",
        "rebuilt malformed XHTML of 1 file",
    ] {
        assert!(repairs.contains(expected), "{expected:?} missing from {repairs:?}");
    }
    assert_eq!(report.chapters, 3);
    assert_eq!(dc(&fixed, "language").as_deref(), Some("zh"));
    for entry in ["OPS/nav.xhtml", "OPS/text/c1.xhtml", "OPS/text/c2.xhtml", "OPS/text/c3.xhtml"] {
        assert!(
            read_entry(&fixed, entry).starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "{entry}"
        );
    }
    assert_eq!(
        read_entry(&fixed, "OPS/s.css"),
        "p { text-indent: 2em; }",
        "other entries pass through"
    );

    // An EPUB that is already right passes through unrepaired.
    let good_txt = dir.join("good.txt");
    fs::write(&good_txt, chinese_novel(2, 2, 1).text).unwrap();
    let good = dir.join("good.epub");
    convert(&good_txt, &good);
    let again = dir.join("again.epub");
    let report = ebook::to_kindle_epub(&good, &again).unwrap();
    assert!(report.repairs.is_empty(), "{:?}", report.repairs);
    assert_eq!(toc_titles(&again), toc_titles(&good));
    assert_epubcheck_clean(&[&fixed, &again]);

    let text = dir.join("broken.txt");
    let summary = cli_convert(&broken, &text, &[]);
    assert!(summary.contains("3 chapters"), "{summary}");
    assert_eq!(
        fs::read_to_string(&text).unwrap(),
        "第一章 雨\n雨下了一夜。\u{a0}他没有睡。\n\n第二章 雪\n雪落在屋檐上。\n\n第三章 风\n风起了\n他走了\n\u{2014}完\n"
    );
}

fn assert_no_temp_files(dir: &Path) {
    let leftovers: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

/// A zip with the given entries, deflated.
fn zip_with(path: &Path, entries: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, data) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

/// Rewrite the uncompressed size every central directory record declares.
fn declare_uncompressed_size(path: &Path, size: u32) {
    let mut data = fs::read(path).unwrap();
    let mut at = 0;
    while let Some(found) = data[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let record = at + found;
        data[record + 24..record + 28].copy_from_slice(&size.to_le_bytes());
        at = record + 4;
    }
    fs::write(path, data).unwrap();
}

const CONTAINER: &[u8] = br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;

#[test]
fn bad_inputs_are_refused_by_name_and_leave_nothing_at_out() {
    let scratch = TempDir::new("ebook-bad");
    let dir = scratch.path();
    let mimetype: (&str, &[u8]) = ("mimetype", b"application/epub+zip");

    let not_zip = dir.join("book.epub");
    fs::write(&not_zip, "this is plain text, not a zip").unwrap();

    let no_opf = dir.join("no-opf.epub");
    zip_with(&no_opf, &[mimetype, ("META-INF/container.xml", CONTAINER)]);

    let climbing = dir.join("climbing.epub");
    zip_with(
        &climbing,
        &[mimetype, ("META-INF/container.xml", CONTAINER), ("../../etc/cron.d/evil", b"x")],
    );

    let zeros = vec![0u8; 1 << 20];
    let declared_bomb = dir.join("declared-bomb.epub");
    zip_with(
        &declared_bomb,
        &[mimetype, ("META-INF/container.xml", CONTAINER), ("OEBPS/a.xhtml", &zeros)],
    );
    declare_uncompressed_size(&declared_bomb, 0xFFFF_0000);

    let lying_bomb = dir.join("lying-bomb.epub");
    zip_with(&lying_bomb, &[("META-INF/container.xml", &zeros)]);
    declare_uncompressed_size(&lying_bomb, 100);

    let many = dir.join("many-entries.epub");
    let names: Vec<String> = (0..10_001).map(|i| format!("OEBPS/{i}.xhtml")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    zip_with(&many, &entries);

    let truncated_mobi = dir.join("truncated.mobi");
    let mut header = vec![0u8; 78];
    header[60..68].copy_from_slice(b"BOOKMOBI");
    header[76..78].copy_from_slice(&40u16.to_be_bytes());
    fs::write(&truncated_mobi, &header).unwrap();

    let garbage = dir.join("garbage.txt");
    let mut rng = Rng::new(99);
    fs::write(&garbage, (0..65_536).map(|_| rng.next() as u8).collect::<Vec<u8>>()).unwrap();

    let pdf = dir.join("book.pdf");
    fs::write(&pdf, "%PDF-1.4").unwrap();

    let cases: [(&Path, &str, &str); 10] = [
        (&not_zip, "out.epub", "book.epub is not a zip archive (an EPUB must be one)"),
        (&no_opf, "out.epub", "has no OPF package file: META-INF/container.xml names OEBPS/content.opf, which is not in the archive"),
        (&climbing, "out.epub", "contains the unsafe entry name \"../../etc/cron.d/evil\""),
        (&declared_bomb, "out.epub", "is refused as a possible zip bomb: entries would inflate to"),
        (&lying_bomb, "out.txt", "META-INF/container.xml inflates past its declared size of 100 bytes"),
        (&many, "out.epub", "is refused as a possible zip bomb: 10001 entries"),
        (&truncated_mobi, "out.epub", "truncated.mobi is a truncated MOBI/AZW3 file"),
        (&garbage, "out.epub", "garbage.txt does not look like a text file"),
        (&pdf, "out.epub", "book.pdf is not a format zatan reads"),
        (&not_zip, "out.mobi", "out.mobi is not a format zatan writes"),
    ];
    for (input, out_name, expected) in cases {
        let out = dir.join(out_name);
        let result = zatan(&[os("convert"), input.as_os_str(), out.as_os_str()]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{}: {stderr}", input.display());
        assert!(
            stderr.contains(expected),
            "{}: expected {expected:?} in {stderr:?}",
            input.display()
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.exists(), "{} left output behind", input.display());
    }
    assert_no_temp_files(dir);
}
