//! Reading a plain-text book: detect its encoding, check it really is text, guess
//! its metadata, then stream it line by line into sections.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;

use super::book::BookSink;
use super::chapters::{is_heading, trim_line, SectionCutter};
use super::encoding::{self, ChunkDecoder};
use super::error::EbookError;
use super::lines::take_lines;
use super::meta::{self, BookMeta};

/// How much decoded text the binary check, language and author guesses look at.
const SAMPLE_BYTES: u64 = 256 * 1024;
/// Most control characters (or undecodable bytes) per 1000 characters a text file has.
const MAX_BAD_PER_MILLE: usize = 5;

pub struct TxtBook {
    path: PathBuf,
    encoding: &'static Encoding,
    meta: BookMeta,
}

impl TxtBook {
    pub fn open(path: &Path) -> Result<TxtBook, EbookError> {
        let encoding =
            encoding::detect(BufReader::new(open(path)?)).map_err(|e| EbookError::io(path, e))?;
        let mut sample = String::new();
        let mut decoder = ChunkDecoder::new(open(path)?.take(SAMPLE_BYTES), encoding);
        while decoder.next_into(&mut sample).map_err(|e| EbookError::io(path, e))? {}
        check_is_text(path, &sample)?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let (title, author) = meta::from_file_stem(&stem);
        let author = author.or_else(|| author_in_front_matter(&sample));
        let mut lang = meta::detect_lang(&sample).to_string();
        if lang == "zh" && encoding == encoding_rs::BIG5 {
            lang = "zh-Hant".into();
        }
        Ok(TxtBook { path: path.to_path_buf(), encoding, meta: BookMeta { title, author, lang } })
    }

    pub fn meta(&self) -> &BookMeta {
        &self.meta
    }

    pub fn encoding_name(&self) -> &'static str {
        self.encoding.name()
    }

    /// Decode the whole file into `sink`, a chunk at a time.
    pub fn pump(&self, sink: &mut dyn BookSink) -> Result<(), EbookError> {
        let mut decoder = ChunkDecoder::new(open(&self.path)?, self.encoding);
        let mut cutter = SectionCutter::new(sink);
        let mut pending = String::new();
        loop {
            let more =
                decoder.next_into(&mut pending).map_err(|e| EbookError::io(&self.path, e))?;
            let used = take_lines(&pending, !more, |line| cutter.push_line(line))?;
            pending.drain(..used);
            if !more {
                break;
            }
        }
        cutter.finish()?;
        Ok(())
    }
}

fn open(path: &Path) -> Result<File, EbookError> {
    File::open(path).map_err(|e| EbookError::io(path, e))
}

/// Binary data decodes to control characters and replacement characters; text does not.
fn check_is_text(path: &Path, sample: &str) -> Result<(), EbookError> {
    let mut total = 0usize;
    let mut bad = 0usize;
    for c in sample.chars() {
        total += 1;
        let control = c < ' ' && !matches!(c, '\t' | '\n' | '\r' | '\u{c}' | '\u{1a}');
        bad += usize::from(control || c == '\u{fffd}');
    }
    if sample.trim().is_empty() {
        return Err(EbookError::Empty { path: path.to_path_buf() });
    }
    if bad * 1000 > total * MAX_BAD_PER_MILLE {
        return Err(EbookError::NotText {
            path: path.to_path_buf(),
            detail: format!("{bad} of the first {total} characters are control codes or undecodable bytes (binary data?)"),
        });
    }
    Ok(())
}

/// A `作者：某某` line before the first chapter heading.
fn author_in_front_matter(sample: &str) -> Option<String> {
    sample
        .lines()
        .map(trim_line)
        .take_while(|l| !is_heading(l))
        .take(50)
        .find_map(meta::author_in_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_empty_samples_are_refused() {
        let path = Path::new("x.txt");
        assert!(check_is_text(path, "第一章\n正文。\n").is_ok());
        assert!(matches!(check_is_text(path, " \n\u{3000}\n"), Err(EbookError::Empty { .. })));
        let garbage: String = (0..4000u32).map(|i| char::from_u32(i % 40).unwrap()).collect();
        let err = check_is_text(path, &garbage).unwrap_err();
        assert!(err.to_string().contains("does not look like a text file"), "{err}");
    }

    #[test]
    fn front_matter_author_stops_at_the_first_heading() {
        assert_eq!(author_in_front_matter("《书》\n作者：某某\n第一章\n"), Some("某某".into()));
        assert_eq!(author_in_front_matter("第一章 开始\n作者：某某\n"), None);
    }
}
