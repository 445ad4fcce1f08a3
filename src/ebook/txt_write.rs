//! Writing a book as UTF-8 plain text: one paragraph per line, a blank line
//! before each chapter.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::book::{Body, BookSink, Section};
use super::error::EbookError;
use super::html_text;

pub struct TxtWriter {
    out: BufWriter<File>,
    path: PathBuf,
    sections: usize,
    chapters: usize,
}

impl TxtWriter {
    pub fn create(file: File, path: &Path) -> TxtWriter {
        TxtWriter {
            out: BufWriter::with_capacity(64 * 1024, file),
            path: path.to_path_buf(),
            sections: 0,
            chapters: 0,
        }
    }

    /// Flush and hand back the file and the number of titled chapters written.
    pub fn finish(self) -> Result<(File, usize), EbookError> {
        if self.sections == 0 {
            return Err(EbookError::Empty { path: self.path });
        }
        let chapters = self.chapters;
        let file = self.out.into_inner().map_err(|e| EbookError::io(&self.path, e.into_error()))?;
        Ok((file, chapters))
    }

    fn line(&mut self, text: &str) -> Result<(), EbookError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| EbookError::io(&self.path, e))
    }
}

impl BookSink for TxtWriter {
    fn section(&mut self, section: Section) -> Result<(), EbookError> {
        let lines = match section.body {
            Body::Text { heading, paragraphs } => heading.into_iter().chain(paragraphs).collect(),
            Body::Xhtml(markup) => html_text::paragraphs(&markup),
        };
        if lines.is_empty() {
            return Ok(());
        }
        // A chapter too long for one section continues without a break.
        if self.sections > 0 && section.toc_title.is_some() {
            self.line("")?;
        }
        for line in &lines {
            self.line(line)?;
        }
        self.sections += 1;
        self.chapters += usize::from(section.toc_title.is_some());
        Ok(())
    }
}
