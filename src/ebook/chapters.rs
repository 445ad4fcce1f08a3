//! Chapter headings in plain text, and cutting a stream of lines into sections.
//!
//! A heading is a short line of its own that starts with a chapter marker
//! (`第十二章`, `第三百二十回`, `卷一`, `序章`, `楔子`, `番外`, `Chapter 7`, ...).
//! What follows the marker decides whether the line is a title or a sentence
//! that merely begins like one ("第一章写完之后，他……").

use super::book::{Body, BookSink, Section};
use super::error::EbookError;

/// Longest heading, in characters.
const MAX_HEADING_CHARS: usize = 40;
/// Longest title glued to its marker without a space (`第一章风起`).
const MAX_GLUED_TITLE_CHARS: usize = 10;
/// A section is closed once its text passes this many bytes (readers, Kindle
/// included, slow down on huge XHTML files).
pub const MAX_SECTION_BYTES: usize = 128 * 1024;

const UNITS: &[char] = &['章', '回', '节', '節', '卷', '集', '部', '篇'];
/// Headings that stand alone (possibly numbered: `番外一`, `楔子 雨夜`).
const KEYWORDS: &[&str] = &[
    "序章",
    "序言",
    "序幕",
    "序曲",
    "序",
    "楔子",
    "引子",
    "引言",
    "前言",
    "番外篇",
    "番外",
    "后记",
    "後記",
    "尾声",
    "尾聲",
    "终章",
    "終章",
    "完本感言",
    "大结局",
    "大結局",
];
const SEPARATORS: &[char] = &[
    ' ', '\t', '\u{3000}', '\u{a0}', '：', ':', '、', '.', '．', '·', '-', '—', '_', '（', '(',
    '【', '[',
];
const SENTENCE_PUNCTUATION: &[char] =
    &['，', '。', '；', '、', '：', '“', '”', '「', '」', ',', ';', '"'];

fn is_numeral(c: char) -> bool {
    c.is_ascii_digit()
        || ('０'..='９').contains(&c)
        || "零〇一二三四五六七八九十百千万萬两兩壹贰貳叁參肆伍陆陸柒捌玖拾佰仟".contains(c)
}

/// Trim the whitespace text files indent with (full-width spaces included).
pub fn trim_line(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Whether `line` (already trimmed) is a chapter heading.
pub fn is_heading(line: &str) -> bool {
    // A char is at most four bytes, so most paragraphs are ruled out by their
    // length; nth, not count, for the rest: a heading is at most 40 characters.
    if line.is_empty()
        || line.len() > MAX_HEADING_CHARS * 4
        || line.chars().nth(MAX_HEADING_CHARS).is_some()
    {
        return false;
    }
    if let Some(rest) = after_cjk_marker(line) {
        return cjk_title_ok(rest);
    }
    english_heading(line)
}

/// What follows a Chinese chapter marker, if the line starts with one.
fn after_cjk_marker(line: &str) -> Option<&str> {
    if let Some(after) = line.strip_prefix('第') {
        let rest = after.trim_start_matches(is_numeral);
        if rest.len() == after.len() {
            return None;
        }
        return rest.strip_prefix(UNITS);
    }
    if let Some(after) = line.strip_prefix('卷') {
        let rest = after.trim_start_matches(is_numeral);
        return (rest.len() < after.len()).then_some(rest);
    }
    let rest = KEYWORDS.iter().find_map(|k| line.strip_prefix(k))?;
    let rest = rest.trim_start_matches(is_numeral);
    // A bare keyword must be followed by a separator: "后记得……" is a sentence.
    (rest.is_empty() || rest.starts_with(SEPARATORS)).then_some(rest)
}

fn cjk_title_ok(rest: &str) -> bool {
    if rest.is_empty() {
        return true;
    }
    if rest.starts_with(SEPARATORS) {
        let title = rest.trim_start_matches(SEPARATORS);
        return !title.contains('。') && !title.ends_with(SENTENCE_PUNCTUATION);
    }
    rest.chars().count() <= MAX_GLUED_TITLE_CHARS
        && !rest.contains(SENTENCE_PUNCTUATION)
        && !rest.contains(['！', '？', '!', '?', '…'])
}

fn english_heading(line: &str) -> bool {
    if line.len() > 80 {
        return false;
    }
    let lower = line.to_ascii_lowercase();
    for word in ["prologue", "epilogue"] {
        if let Some(rest) = lower.strip_prefix(word) {
            return rest.is_empty()
                || rest.starts_with([':', '.', ' '])
                    && !rest.trim_start().starts_with(char::is_lowercase);
        }
    }
    let Some(after) = lower.strip_prefix("chapter") else { return false };
    let Some(number) = after.strip_prefix(' ') else { return false };
    let number_len = number.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(number.len());
    let (num, _) = number.split_at(number_len);
    if !is_english_number(num) {
        return false;
    }
    let rest = &line[line.len() - (number.len() - number_len)..];
    match rest.chars().next() {
        None => true,
        Some(':' | '.' | '-' | '—') => true,
        // "Chapter 3 was boring." is a sentence; "Chapter 3 The Storm" a title.
        Some(' ') => rest.trim_start().starts_with(|c: char| !c.is_lowercase()),
        _ => false,
    }
}

fn is_english_number(word: &str) -> bool {
    const WORDS: &[&str] = &[
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    !word.is_empty()
        && (word.bytes().all(|b| b.is_ascii_digit())
            || word.bytes().all(|b| b"ivxlcdm".contains(&b))
            || WORDS.contains(&word))
}

/// Cuts a stream of text lines into sections: at each heading, and where a
/// section grows past MAX_SECTION_BYTES (the rest continues, untitled, in the
/// next one). Text before the first heading is an untitled section of its own.
pub struct SectionCutter<'s> {
    sink: &'s mut dyn BookSink,
    heading: Option<String>,
    paragraphs: Vec<String>,
    bytes: usize,
    headings_seen: usize,
}

impl<'s> SectionCutter<'s> {
    pub fn new(sink: &'s mut dyn BookSink) -> Self {
        SectionCutter { sink, heading: None, paragraphs: Vec::new(), bytes: 0, headings_seen: 0 }
    }

    pub fn push_line(&mut self, line: &str) -> Result<(), EbookError> {
        let line = trim_line(line);
        if line.is_empty() {
            return Ok(());
        }
        if is_heading(line) {
            self.flush()?;
            self.heading = Some(line.to_string());
            self.headings_seen += 1;
            return Ok(());
        }
        if self.bytes + line.len() > MAX_SECTION_BYTES && !self.paragraphs.is_empty() {
            self.flush()?;
        }
        self.bytes += line.len();
        self.paragraphs.push(line.to_string());
        Ok(())
    }

    fn flush(&mut self) -> Result<(), EbookError> {
        if self.heading.is_none() && self.paragraphs.is_empty() {
            return Ok(());
        }
        let heading = self.heading.take();
        let section = Section {
            toc_title: heading.clone(),
            body: Body::Text { heading, paragraphs: std::mem::take(&mut self.paragraphs) },
        };
        self.bytes = 0;
        self.sink.section(section)
    }

    /// Write what is left; returns how many headings were found.
    pub fn finish(mut self) -> Result<usize, EbookError> {
        self.flush()?;
        Ok(self.headings_seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_headings() {
        for line in [
            "第一章",
            "第一章 山雨欲来",
            "第12章：重逢",
            "第三百二十回 大闹天宫",
            "第１２章　风起",
            "第一章风起云涌",
            "第十节 初见",
            "第二卷 江湖路远",
            "卷一 少年游",
            "序章",
            "楔子 雨夜",
            "番外一 春日",
            "番外篇",
            "后记",
            "第十章 风起，云涌",
            "第五章 怎么可能？",
            "Chapter 1",
            "CHAPTER IV",
            "Chapter 12: The Storm",
            "Chapter Three. A Visit",
            "Chapter 7 The Letter",
            "Prologue",
        ] {
            assert!(is_heading(line), "{line:?} should be a heading");
        }
    }

    #[test]
    fn false_headings() {
        for line in [
            "第一章写完之后，他放下了笔。",
            "第三回合，他终于赢了。",
            "第一章 写完之后，他放下了笔，看向窗外的远山。",
            "他翻开书，从第一章开始读。",
            "第一次见面的时候，她笑了。",
            "第十节课的时候，他睡着了。",
            "后记得他说过的话。",
            "序幕拉开，众人屏息。",
            "楔子是木匠用的东西。",
            "第一章，他说，是最难写的。",
            "第一章的内容我已经忘得差不多了",
            "Chapter 3 was the boring one.",
            "Chapter 3, which nobody liked, was cut.",
            "chapters of my life",
            "第一章 这是一个非常非常非常非常非常非常非常非常非常非常非常非常非常非常长的标题超过了四十个字",
            "",
        ] {
            assert!(!is_heading(line), "{line:?} should not be a heading");
        }
    }

    #[derive(Default)]
    struct Collect(Vec<Section>);

    impl BookSink for Collect {
        fn section(&mut self, section: Section) -> Result<(), EbookError> {
            self.0.push(section);
            Ok(())
        }
    }

    fn cut(lines: &[&str]) -> (Vec<Section>, usize) {
        let mut sink = Collect::default();
        let mut cutter = SectionCutter::new(&mut sink);
        for line in lines {
            cutter.push_line(line).unwrap();
        }
        let headings = cutter.finish().unwrap();
        (sink.0, headings)
    }

    #[test]
    fn front_matter_headings_and_blank_lines() {
        let (sections, headings) = cut(&[
            "《书》",
            "",
            "　　作者：某",
            "第一章 起",
            "　　正文一。",
            "",
            "第二章 承",
            "正文二。",
        ]);
        assert_eq!(headings, 2);
        let titles: Vec<_> = sections.iter().map(|s| s.toc_title.as_deref()).collect();
        assert_eq!(titles, [None, Some("第一章 起"), Some("第二章 承")]);
        let Body::Text { paragraphs, .. } = &sections[1].body else { panic!() };
        assert_eq!(paragraphs, &["正文一。"]);
    }

    #[test]
    fn huge_chapters_are_split_without_losing_text() {
        let para = "很长的一段话。".repeat(100);
        let mut lines = vec!["第一章 长".to_string()];
        lines.extend(std::iter::repeat_n(para.clone(), 2000));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (sections, _) = cut(&refs);
        assert!(sections.len() > 10);
        assert_eq!(sections[0].toc_title.as_deref(), Some("第一章 长"));
        assert!(sections[1..].iter().all(|s| s.toc_title.is_none()));
        let total: usize = sections
            .iter()
            .map(|s| match &s.body {
                Body::Text { paragraphs, .. } => {
                    assert!(paragraphs.iter().map(String::len).sum::<usize>() <= MAX_SECTION_BYTES);
                    paragraphs.len()
                }
                Body::Xhtml(_) => unreachable!(),
            })
            .sum();
        assert_eq!(total, 2000);
    }
}
