//! Reading MOBI (MOBI 6) and AZW3 (KF8) books without DRM: the Palm database
//! records, the MOBI and EXTH headers for metadata, PalmDOC-compressed text,
//! and the image records the text refers to.
//!
//! Chapters: MOBI 6 text is cut at `<mbp:pagebreak/>`; KF8 text stores each
//! file as its skeleton followed by its fragments, in reading order, so cutting
//! at each skeleton's `<?xml`/`<html` gives the files without the skeleton index.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use encoding_rs::{UTF_8, WINDOWS_1252};

use super::book::{image_extension, image_media_type, Body, BookSink, Image, Section};
use super::chapters::is_heading;
use super::error::EbookError;
use super::html::{
    find_ignore_ascii_case, local_name, until_space_or, white_space_at, Tag, Token, Tokenizer,
};
use super::html_clean::{self, Links};
use super::html_text;
use super::meta::{self, BookMeta};
use super::palmdoc;

const NO_INDEX: u32 = 0xFFFF_FFFF;
/// How far into the text the language guess looks when EXTH names no language.
const LANG_SAMPLE_BYTES: usize = 64 * 1024;

pub struct MobiBook {
    path: PathBuf,
    data: Vec<u8>,
    /// Start offset of each Palm database record.
    records: Vec<usize>,
    meta: BookMeta,
    /// The text (KF8: its first flow), decoded.
    text: String,
    kf8: bool,
    first_image: Option<usize>,
    cover: Option<usize>,
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

impl MobiBook {
    pub fn open(path: &Path) -> Result<MobiBook, EbookError> {
        let data = fs::read(path).map_err(|e| EbookError::io(path, e))?;
        let truncated =
            |detail: String| EbookError::TruncatedMobi { path: path.to_path_buf(), detail };
        if data.len() < 78 {
            return Err(truncated(format!(
                "only {} bytes, shorter than a Palm database header",
                data.len()
            )));
        }
        if &data[60..68] != b"BOOKMOBI" && &data[60..68] != b"TEXtREAd" {
            return Err(EbookError::malformed(
                path,
                "not a MOBI/AZW3 file (no BOOKMOBI signature)",
            ));
        }
        let count = usize::from(be16(&data, 76).unwrap_or(0));
        let table_end = 78 + 8 * count;
        if count == 0 || table_end > data.len() {
            return Err(truncated(format!(
                "its record table ({count} records) runs past the end of the file"
            )));
        }
        let records: Vec<usize> =
            (0..count).map(|i| be32(&data, 78 + 8 * i).unwrap_or(0) as usize).collect();
        for (i, pair) in records.windows(2).enumerate() {
            if pair[1] < pair[0] {
                return Err(EbookError::malformed(
                    path,
                    format!("record {} starts before record {i}", i + 1),
                ));
            }
        }
        if let Some((i, &start)) =
            records.iter().enumerate().find(|(_, &start)| start > data.len() || start < table_end)
        {
            return Err(truncated(format!(
                "record {i} starts at byte {start}, outside the file's {} bytes",
                data.len()
            )));
        }
        let mut book = MobiBook {
            path: path.to_path_buf(),
            data,
            records,
            meta: BookMeta { title: String::new(), author: None, lang: String::new() },
            text: String::new(),
            kf8: false,
            first_image: None,
            cover: None,
        };
        book.read_headers_and_text()?;
        Ok(book)
    }

    fn record(&self, i: usize) -> Option<&[u8]> {
        let start = *self.records.get(i)?;
        let end = self.records.get(i + 1).copied().unwrap_or(self.data.len());
        self.data.get(start..end)
    }

    fn read_headers_and_text(&mut self) -> Result<(), EbookError> {
        let path = self.path.clone();
        let bad = |detail: String| EbookError::malformed(&path, detail);
        let r0 = self.record(0).ok_or_else(|| bad("record 0 is missing".into()))?.to_vec();
        let short = || EbookError::TruncatedMobi {
            path: path.clone(),
            detail: "its first record is cut short".into(),
        };
        let compression = be16(&r0, 0).ok_or_else(short)?;
        let text_length = be32(&r0, 4).ok_or_else(short)? as usize;
        let text_records = usize::from(be16(&r0, 8).ok_or_else(short)?);
        if be16(&r0, 12).ok_or_else(short)? != 0 {
            return Err(EbookError::Drm { path: path.clone() });
        }
        let has_mobi_header = r0.get(16..20) == Some(b"MOBI");
        let header_len = if has_mobi_header { be32(&r0, 20).unwrap_or(0) as usize } else { 0 };
        let utf8 = has_mobi_header && be32(&r0, 28) == Some(65001);
        let version = if has_mobi_header { be32(&r0, 0x68).unwrap_or(0) } else { 0 };
        let extra_flags = if has_mobi_header && (0xE4..=500).contains(&header_len) {
            be16(&r0, 0xF2).unwrap_or(0)
        } else {
            0
        };
        self.kf8 = version == 8;
        self.first_image = be32(&r0, 0x6C)
            .filter(|&i| has_mobi_header && i != NO_INDEX && (i as usize) < self.records.len())
            .map(|i| i as usize);

        let decode = |bytes: &[u8]| {
            if utf8 {
                UTF_8.decode_without_bom_handling(bytes).0.into_owned()
            } else {
                WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned()
            }
        };
        let full_name = be32(&r0, 0x54)
            .zip(be32(&r0, 0x58))
            .and_then(|(at, len)| r0.get(at as usize..(at as usize).checked_add(len as usize)?))
            .map(decode);
        let exth = if has_mobi_header && be32(&r0, 0x80).is_some_and(|f| f & 0x40 != 0) {
            exth_records(&r0[(16 + header_len).min(r0.len())..])
        } else {
            Vec::new()
        };
        let exth_text = |kind: u32| {
            exth.iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, v)| decode(v).trim().to_string())
                .find(|v| !v.is_empty())
        };
        let cover_offset = exth
            .iter()
            .find(|(k, _)| *k == 201)
            .and_then(|(_, v)| be32(v, 0))
            .filter(|&o| o != NO_INDEX);
        self.cover = self
            .first_image
            .zip(cover_offset)
            .map(|(first, offset)| first + offset as usize)
            .filter(|&i| self.record(i).and_then(image_media_type).is_some());

        if text_records >= self.records.len() {
            return Err(EbookError::TruncatedMobi {
                path: path.clone(),
                detail: format!(
                    "it names {text_records} text records but holds {} records",
                    self.records.len()
                ),
            });
        }
        let mut raw = Vec::with_capacity(text_length);
        for i in 1..=text_records {
            let record =
                self.record(i).ok_or_else(|| bad(format!("text record {i} is missing")))?;
            let record = palmdoc::strip_trailing_entries(record, extra_flags);
            match compression {
                1 => raw.extend_from_slice(record),
                2 => palmdoc::decompress(record, &mut raw)
                    .map_err(|e| bad(format!("text record {i} is damaged: {e}")))?,
                17480 => {
                    return Err(bad(
                        "HUFF/CDIC-compressed text is not supported (only PalmDOC)".into()
                    ))
                }
                other => return Err(bad(format!("unknown text compression {other}"))),
            }
        }
        raw.truncate(text_length);
        if self.kf8 {
            let fdst = be32(&r0, 0xC0)
                .zip(be32(&r0, 0xC4))
                .filter(|&(i, n)| i != NO_INDEX && n > 1)
                .and_then(|(i, _)| self.record(i as usize));
            if let Some(end) = fdst.and_then(first_flow_end) {
                raw.truncate(end);
            }
        }
        self.text = decode(&raw);
        drop(raw);

        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let authors: Vec<String> = exth
            .iter()
            .filter(|(k, _)| *k == 100)
            .map(|(_, v)| decode(v).trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let lang = exth_text(524).unwrap_or_else(|| {
            meta::detect_lang(
                &html_text::paragraphs(prefix(&self.text, LANG_SAMPLE_BYTES)).concat(),
            )
            .to_string()
        });
        self.meta = BookMeta {
            title: exth_text(503).or(full_name.filter(|n| !n.trim().is_empty())).unwrap_or(stem),
            author: (!authors.is_empty()).then(|| authors.join(" & ")),
            lang,
        };
        Ok(())
    }

    pub fn meta(&self) -> &BookMeta {
        &self.meta
    }

    /// The book's files, one section each, with the images they show.
    pub fn pump(&self, sink: &mut dyn BookSink) -> Result<(), EbookError> {
        if let Some(cover) = self.cover {
            self.send_image(sink, cover, true)?;
        }
        let mut links =
            RecordLinks { first_image: self.first_image, referenced: BTreeSet::new(), book: self };
        let mut sent = BTreeSet::new();
        for piece in split_files(&self.text, self.kf8).into_iter().filter(|p| !is_link_list(p)) {
            let cleaned = html_clean::clean(piece, &mut links);
            if html_text::first_paragraph(&cleaned.body).is_none() && !cleaned.body.contains("<img")
            {
                continue;
            }
            for &record in links.referenced.difference(&sent) {
                self.send_image(sink, record, false)?;
            }
            sent.extend(links.referenced.iter().copied());
            let toc_title =
                cleaned.heading.clone().or_else(|| heading_like_first_paragraph(&cleaned.body));
            sink.section(Section { toc_title, body: Body::Xhtml(cleaned.body) })?;
        }
        Ok(())
    }

    fn send_image(
        &self,
        sink: &mut dyn BookSink,
        record: usize,
        is_cover: bool,
    ) -> Result<(), EbookError> {
        let Some(data) = self.record(record) else { return Ok(()) };
        let Some(media_type) = image_media_type(data) else { return Ok(()) };
        let name = if is_cover {
            format!("cover.{}", image_extension(media_type))
        } else {
            image_name(record, media_type)
        };
        sink.image(Image { name, media_type, data: data.to_vec(), is_cover })
    }
}

fn image_name(record: usize, media_type: &str) -> String {
    format!("image{record:05}.{}", image_extension(media_type))
}

/// Maps MOBI image references (`recindex="00003"`, KF8 `kindle:embed:0003`) to image files.
struct RecordLinks<'b> {
    first_image: Option<usize>,
    referenced: BTreeSet<usize>,
    book: &'b MobiBook,
}

impl Links for RecordLinks<'_> {
    fn image(&mut self, tag: &Tag) -> Option<String> {
        let number = match tag.attr("recindex") {
            Some(n) => n.trim().parse::<usize>().ok()?,
            None => {
                let src = tag.attr("src")?.strip_prefix("kindle:embed:")?;
                usize::from_str_radix(src.split('?').next()?, 32).ok()?
            }
        };
        let record = self.first_image? + number.checked_sub(1)?;
        let media_type = image_media_type(self.book.record(record)?)?;
        self.referenced.insert(record);
        Some(format!("images/{}", image_name(record, media_type)))
    }

    /// Links inside a MOBI point at byte positions (`filepos`); only web links survive.
    fn link(&mut self, tag: &Tag) -> Option<String> {
        tag.attr("href")
            .filter(|h| h.starts_with("http://") || h.starts_with("https://"))
            .map(str::to_string)
    }
}

/// EXTH metadata records: (type, data).
fn exth_records(exth: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    if exth.get(0..4) != Some(b"EXTH") {
        return out;
    }
    let count = be32(exth, 8).unwrap_or(0);
    let mut at = 12;
    for _ in 0..count {
        let (Some(kind), Some(len)) = (be32(exth, at), be32(exth, at + 4)) else { break };
        let len = len as usize;
        let Some(data) = exth.get(at + 8..at + len.max(8)) else { break };
        out.push((kind, data));
        at += len.max(8);
    }
    out
}

/// Where the first flow ends, from a KF8 FDST record.
fn first_flow_end(fdst: &[u8]) -> Option<usize> {
    if fdst.get(0..4) != Some(b"FDST") {
        return None;
    }
    // Header: "FDST", header length, flow count; then (start, end) per flow.
    Some(be32(fdst, 0x10)? as usize)
}

/// The text cut into its files: at page breaks (MOBI 6) or skeleton starts (KF8).
fn split_files(text: &str, kf8: bool) -> Vec<&str> {
    let marker = if !kf8 {
        "<mbp:pagebreak"
    } else if find_ignore_ascii_case(text, "<?xml").is_some() {
        "<?xml"
    } else {
        "<html"
    };
    let mut pieces = Vec::new();
    let mut from = 0;
    let mut search = 0;
    while let Some(found) = find_ignore_ascii_case(&text[search..], marker) {
        let at = search + found;
        if at > from {
            pieces.push(&text[from..at]);
        }
        from = at;
        search = at + marker.len();
    }
    pieces.push(&text[from..]);
    pieces
}

/// Whether a file is an inline table of contents: mostly links to positions in
/// the book. Those links die in conversion (the EPUB gets its own navigation),
/// so such a page is left out.
fn is_link_list(piece: &str) -> bool {
    // Two links need two `<a …>` start tags: most chapters have none, and are
    // decided without tokenizing them.
    anchor_tags(piece).nth(1).is_some() && links_outweigh_text(piece, true)
}

/// Whether `piece` has two links or more to positions in the book (`filepos`,
/// `kindle:pos`) and more of its visible characters in them than outside.
/// `stop_early`: give up as soon as the rest cannot change the answer.
fn links_outweigh_text(piece: &str, stop_early: bool) -> bool {
    let (mut links, mut link_chars, mut other_chars) = (0usize, 0usize, 0usize);
    let mut in_link = false;
    let mut hidden = 0usize;
    let mut tokens = Tokenizer::new(piece);
    while let Some(token) = tokens.next() {
        match token {
            Token::Start(tag) if local_name(&tag.name) == "a" => {
                in_link = tag.attr("filepos").is_some()
                    || tag.attr("href").is_some_and(|h| h.starts_with("kindle:pos"));
                links += usize::from(in_link);
            }
            Token::End(name) if local_name(&name) == "a" => in_link = false,
            Token::Start(tag)
                if html_text::is_hidden(local_name(&tag.name)) && !tag.self_closing =>
            {
                hidden += 1
            }
            Token::End(name) if html_text::is_hidden(local_name(&name)) => {
                hidden = hidden.saturating_sub(1)
            }
            Token::Text(text) if hidden == 0 => {
                let chars = visible_chars(&text);
                if in_link {
                    link_chars += chars;
                } else {
                    other_chars += chars;
                    // What is left decodes to at most a character a byte, all
                    // of which could be link text: when even that cannot
                    // outweigh the other text, the answer is already no.
                    if stop_early && other_chars >= link_chars + (piece.len() - tokens.offset()) {
                        return false;
                    }
                }
            }
            _ => {}
        }
    }
    links >= 2 && other_chars < link_chars
}

/// Where the tokenizer could find a start tag whose local name is `a`: every
/// `<` followed by a name (up to whitespace, `>` or `/`) ending in `a` or `:a`.
/// A superset (it does not know comments, scripts or attribute values).
fn anchor_tags(html: &str) -> impl Iterator<Item = usize> + '_ {
    html.match_indices('<').map(|(at, _)| at).filter(move |&at| {
        let after = &html[at + 1..];
        let name = &after[..until_space_or(after, b">/")];
        name.starts_with(|c: char| c.is_ascii_alphabetic())
            && local_name(name).eq_ignore_ascii_case("a")
    })
}

/// `text.chars().filter(|c| !c.is_whitespace()).count()`, a byte at a time:
/// each byte that starts a character and no white space.
fn visible_chars(text: &str) -> usize {
    let starts = text.bytes().enumerate().filter(|&(_, b)| !matches!(b, 0x80..=0xBF));
    starts.filter(|&(i, _)| !white_space_at(text, i)).count()
}

/// MOBI 6 has no heading elements: a chapter starts with a short paragraph set
/// apart (centred, bold or in a big font), or one that reads like a heading.
fn heading_like_first_paragraph(body: &str) -> Option<String> {
    let first_block = body.split("</").next()?;
    let first = html_text::first_paragraph(body)?;
    let styled = first_block.contains("text-align: center") || first_block.contains("<strong>");
    (first.chars().count() <= 60 && (styled || is_heading(&first))).then_some(first)
}

fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;

    #[test]
    fn files_are_cut_at_page_breaks_and_skeletons() {
        assert_eq!(
            split_files("<p>a</p><mbp:pagebreak/><p>b</p><MBP:PAGEBREAK/>", false),
            ["<p>a</p>", "<mbp:pagebreak/><p>b</p>", "<MBP:PAGEBREAK/>"]
        );
        let kf8 = "<?xml version=\"1.0\"?><html><body></body></html><p>1</p><?xml version=\"1.0\"?><html></html><p>2</p>";
        assert_eq!(split_files(kf8, true).len(), 2);
    }

    #[test]
    fn mobi6_headings_are_recognised_by_style() {
        let body = "<p style=\"text-align: center\"><span><strong>第一章 风起</strong></span></p>\n<p>正文。</p>";
        assert_eq!(heading_like_first_paragraph(body).as_deref(), Some("第一章 风起"));
        assert_eq!(heading_like_first_paragraph("<p>《书》</p><p>作者：某</p>"), None);
        assert_eq!(
            heading_like_first_paragraph("<p>Chapter 2</p><p>text</p>").as_deref(),
            Some("Chapter 2")
        );
    }

    #[test]
    fn inline_tables_of_contents_are_recognised() {
        let toc = "<p><font size=\"5\"><b>Table of Contents</b></font></p><ul><li><a filepos=0000000280>第一章 风起云涌</a></li>\
                   <li><a filepos=0000001280>第二章 山雨欲来</a></li><li><a filepos=0000002280>第三章 大雪</a></li></ul>";
        assert!(is_link_list(toc));
        assert!(!is_link_list(
            "<h1>第一章</h1><p>正文很长很长很长很长。<a filepos=1>注1</a><a filepos=2>注2</a></p>"
        ));
        let kf8 = "<html><head><title>Contents of the whole book</title></head><body><a href=\"kindle:pos:fid:0001:off:0\">One</a>\
                   <a href=\"kindle:pos:fid:0002:off:0\">Two</a></body></html>";
        assert!(is_link_list(kf8));
    }

    #[test]
    fn link_lists_are_decided_as_by_counting_everything() {
        let chapter = "<p height=\"4pt\">夜色渐深，长安城外的官道上。</p>".repeat(2000);
        let links = "<a filepos=0000000280>第一章 风起云涌</a><br/>".repeat(100);
        let cases = [
            // Long chapters: with no link, one, or links only at their end.
            chapter.clone(),
            format!("{chapter}<a filepos=1>注</a>"),
            format!("{chapter}<a filepos=1>注1</a><a filepos=2>注2</a>"),
            // Two links first: decided (no) well before the end.
            format!("<a filepos=1>一</a><a filepos=2>二</a>{chapter}"),
            // A table of contents after a little text, before much, and links
            // outweighing the text only once the last ones are counted.
            format!("<p>目录</p>{links}"),
            format!("{links}{chapter}"),
            format!("<p>{}</p>{links}", "字".repeat(800)),
            format!("<p>{}</p>{links}", "字".repeat(600)),
            // Prefixed and upper-case anchors, hidden text, scripts holding `<a`.
            "<x:A FILEPOS=1>一二三</x:A><A filepos=2>四五六</A>".to_string(),
            format!("<title>{}</title><a filepos=1>一</a><a filepos=2>二</a>", "字".repeat(50)),
            "<script>var s = '<a filepos=1>x</a><a filepos=2>y</a>';</script>".to_string(),
            "<a href=\"kindle:pos:fid:1\">\u{3000}\u{a0}one</a> <a href=\"kindle:pos:fid:2\">two</a>\u{2003}\u{85}x".to_string(),
            format!("<p>{}</p><a filepos=1>{}</a><a filepos=2>x</a>", "a\u{b} ".repeat(40), "b".repeat(40)),
        ];
        for (i, piece) in cases.iter().enumerate() {
            assert_eq!(is_link_list(piece), links_outweigh_text(piece, false), "case {i}");
        }
        let decided: Vec<bool> = cases.iter().map(|p| is_link_list(p)).collect();
        assert_eq!(
            decided,
            [false, false, false, false, true, false, false, true, true, true, false, true, true]
        );
    }

    #[test]
    fn visible_characters_are_counted_as_chars_would() {
        for text in [
            "",
            " a\tb\r\n\u{b}\u{c}",
            "中文。\u{3000}「」",
            "\u{85}\u{a0}\u{a9}\u{1680}\u{2000}\u{200b}\u{2028}\u{202f}\u{205f}\u{e000}é",
        ] {
            assert_eq!(
                visible_chars(text),
                text.chars().filter(|c| !c.is_whitespace()).count(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn anchors_are_found_where_the_tokenizer_would_start_them() {
        let found: Vec<usize> = anchor_tags("<a><ab><x:a href=1></a><A/><b a><a").collect();
        assert_eq!(found, [0, 7, 23, 32]);
    }

    #[test]
    fn exth_records_survive_bad_lengths() {
        let mut exth = b"EXTH\0\0\0\0\0\0\0\x02".to_vec();
        exth.extend_from_slice(&[0, 0, 0, 100, 0, 0, 0, 11, b'A', b'n', b'n']);
        exth.extend_from_slice(&[0, 0, 0, 101, 0, 0, 0, 99]);
        assert_eq!(exth_records(&exth), [(100, &b"Ann"[..])]);
    }

    fn write_temp(dir: &TempDir, label: &str, data: &[u8]) -> PathBuf {
        let path = dir.path().join(format!("{label}.mobi"));
        fs::write(&path, data).unwrap();
        path
    }

    #[test]
    fn truncated_and_foreign_files_are_named() {
        let dir = TempDir::new("mobi");
        let short = write_temp(&dir, "short", b"BOOKMOBI");
        assert!(matches!(MobiBook::open(&short), Err(EbookError::TruncatedMobi { .. })));
        let mut header = vec![0u8; 78];
        header[60..68].copy_from_slice(b"BOOKMOBI");
        header[77] = 3; // three records, but no table follows
        let cut = write_temp(&dir, "cut", &header);
        let err = MobiBook::open(&cut).err().unwrap();
        assert!(err.to_string().contains("truncated MOBI/AZW3"), "{err}");
        let other = write_temp(&dir, "other", &[b'x'; 100]);
        assert!(MobiBook::open(&other)
            .err()
            .unwrap()
            .to_string()
            .contains("no BOOKMOBI signature"));
    }
}
