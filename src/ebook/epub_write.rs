//! Writing an EPUB 3 (with an NCX for older readers) one section at a time:
//! sections go into the zip as they arrive; the cover page, navigation and the
//! package document, which need the whole list, are written at the end.
//!
//! Zip entries are independent, so once a book has shown itself large
//! (`PARALLEL_FROM` bytes of entries) they are compressed on worker threads
//! (one per core but this one, which helps when they are all busy), a bounded
//! number in flight, and copied into the archive, still compressed, in the
//! order they were put: the same archive as compressing them one by one.

use crate::clock::{unix_now, utc_timestamp};
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use super::book::{Body, BookSink, Image, Section};
use super::error::EbookError;
use super::meta::BookMeta;
use super::xhtml::{self, XML_DECLARATION};
use super::zip_write::{EntryInfo, Method, Packed, Packer, ZipOut};
use crate::xml::{escape, escape_into};

const DIR: &str = "OEBPS/";
const STYLESHEETS: &[&str] = &["style.css"];

const CONTAINER_XML: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n\
<rootfiles>\n<rootfile full-path=\"OEBPS/content.opf\" media-type=\"application/oebps-package+xml\"/>\n</rootfiles>\n\
</container>\n";

const STYLE_CSS: &str = "body { margin: 0 5pt; line-height: 1.5; }\n\
h1 { font-size: 1.4em; text-align: center; margin: 1em 0; }\n\
p { margin: 0.3em 0; }\n\
.zh p, .ja p { text-indent: 2em; }\n\
.titlepage { text-align: center; margin-top: 30%; }\n\
.titlepage h1 { font-size: 2em; }\n\
.titlepage .author { text-indent: 0; margin-top: 2em; }\n\
.cover { text-align: center; }\n\
.cover img { max-width: 100%; max-height: 100%; }\n\
img { max-width: 100%; }\n";

/// One spine document: its file name and its table-of-contents title.
struct Doc {
    file: String,
    toc_title: Option<String>,
}

struct ManifestImage {
    name: String,
    media_type: &'static str,
    is_cover: bool,
}

pub struct EpubWriter {
    zip: EntryWriter,
    path: PathBuf,
    title: String,
    lang: String,
    docs: Vec<Doc>,
    images: Vec<ManifestImage>,
    digest: Sha256,
}

/// What finishing an EPUB tells the caller.
pub struct Written {
    pub file: File,
    pub chapters: usize,
    pub images: usize,
}

/// Bytes of entries written one by one before the rest are compressed on
/// worker threads: a small book is done before threads would pay off.
pub(super) const PARALLEL_FROM: u64 = 256 << 10;
/// Most worker threads, whatever the machine has.
const MAX_WORKERS: usize = 3;
/// Entries queued per worker: enough that a worker never waits for the next,
/// few enough that memory stays at a handful of sections.
const QUEUED_PER_WORKER: usize = 2;
/// Entries in flight (queued, compressing, or compressed and waiting for their
/// turn) per worker, beyond which the writer waits for the oldest.
const IN_FLIGHT_PER_WORKER: usize = 4;
/// A copied entry (already compressed) up to this size waits its turn in
/// memory; a bigger one is streamed once everything before it is written.
const COPY_IN_LINE_MAX: u64 = 2 << 20;

struct Job {
    name: String,
    data: Vec<u8>,
    method: Method,
    done: mpsc::SyncSender<io::Result<Packed>>,
}

/// The zip of an EPUB being written: entries in the order they are put,
/// compressed on this thread until `PARALLEL_FROM` bytes have been put, then
/// on worker threads (when the machine has more than one core).
pub(super) struct EntryWriter {
    zip: ZipOut<BufWriter<File>>,
    packer: Packer,
    path: PathBuf,
    parallel_from: u64,
    workers: usize,
    put_bytes: u64,
    pool: Option<Pool>,
    names: HashSet<String>,
    /// Entries handed to the pool, oldest first, each to be written in turn.
    pending: VecDeque<mpsc::Receiver<io::Result<Packed>>>,
}

struct Pool {
    jobs: Option<mpsc::SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    in_flight: usize,
}

impl Pool {
    /// `None` for no workers, or when no thread can be started.
    fn start(workers: usize) -> Option<Pool> {
        if workers == 0 {
            return None;
        }
        let (jobs, queue) = mpsc::sync_channel::<Job>(workers * QUEUED_PER_WORKER);
        let queue = Arc::new(Mutex::new(queue));
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers {
            let queue = Arc::clone(&queue);
            let spawned =
                std::thread::Builder::new().name(format!("epub-deflate-{i}")).spawn(move || {
                    let mut packer = Packer::default();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // The writer may have given up on this entry already.
                        let _ = job.done.send(packer.pack(job.name, job.data, job.method));
                    }
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(_) => break,
            }
        }
        if handles.is_empty() {
            return None;
        }
        let in_flight = (handles.len() * IN_FLIGHT_PER_WORKER).max(2);
        Some(Pool { jobs: Some(jobs), workers: handles, in_flight })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn worker_gone() -> io::Error {
    io::Error::other("a compression thread stopped")
}

impl EntryWriter {
    /// Entries compressed on worker threads (one per core but this one, up to
    /// MAX_WORKERS; none on one core) once `parallel_from` bytes of them have
    /// been put.
    pub(super) fn new(file: File, path: &Path, parallel_from: u64) -> EntryWriter {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        EntryWriter::with_workers(file, path, parallel_from, (cores - 1).min(MAX_WORKERS))
    }

    fn with_workers(file: File, path: &Path, parallel_from: u64, workers: usize) -> EntryWriter {
        EntryWriter {
            zip: ZipOut::new(BufWriter::with_capacity(64 * 1024, file)),
            packer: Packer::default(),
            path: path.to_path_buf(),
            parallel_from,
            workers,
            put_bytes: 0,
            pool: None,
            names: HashSet::new(),
            pending: VecDeque::new(),
        }
    }

    fn io_err(&self) -> impl Fn(io::Error) -> EbookError + '_ {
        |e| EbookError::io(&self.path, e)
    }

    /// Refuses a name put before.
    fn claim(&mut self, name: &str) -> Result<(), EbookError> {
        if self.names.insert(name.to_string()) {
            return Ok(());
        }
        let detail = format!("cannot write {name}: Duplicate filename: {name}");
        Err(EbookError::malformed(&self.path, detail))
    }

    /// Add entry `name` holding `data`, after every entry put before it.
    pub(super) fn put(
        &mut self,
        name: &str,
        data: Vec<u8>,
        method: Method,
    ) -> Result<(), EbookError> {
        if self.pool.is_none() && self.put_bytes >= self.parallel_from {
            self.pool = Pool::start(self.workers);
            // Never try again on a machine that cannot.
            self.parallel_from = u64::MAX;
        }
        self.put_bytes += data.len() as u64;
        self.claim(name)?;
        let Some(pool) = &self.pool else {
            // Single-threaded: straight into the archive.
            let packed = self.packer.pack(name.to_string(), data, method).map_err(self.io_err())?;
            return self.zip.add(&packed).map_err(self.io_err());
        };
        let (done, result) = mpsc::sync_channel(1);
        let job = Job { name: name.to_string(), data, method, done };
        let in_flight = pool.in_flight;
        let Some(jobs) = pool.jobs.as_ref() else { return Err(self.io_err()(worker_gone())) };
        match jobs.try_send(job) {
            Ok(()) => {}
            // Every worker busy and their queue full: this thread compresses
            // the entry itself rather than wait (it takes its turn all the same).
            Err(mpsc::TrySendError::Full(job)) => {
                let _ = job.done.send(self.packer.pack(job.name, job.data, job.method));
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(self.io_err()(worker_gone())),
        }
        self.pending.push_back(result);
        self.write_ready()?;
        while self.pending.len() >= in_flight {
            self.write_oldest()?;
        }
        Ok(())
    }

    /// Add entry `name`, already packed as `info` says, its data read from
    /// `data`, after every entry put before it.
    pub(super) fn copy(
        &mut self,
        name: &str,
        info: EntryInfo,
        data: &mut dyn Read,
    ) -> Result<(), EbookError> {
        self.claim(name)?;
        if self.pending.is_empty() || info.packed_size > COPY_IN_LINE_MAX {
            self.drain()?;
            return self.zip.add_from(name, info, data).map_err(self.io_err());
        }
        let mut bytes = Vec::with_capacity(info.packed_size as usize);
        data.take(info.packed_size).read_to_end(&mut bytes).map_err(self.io_err())?;
        let (done, result) = mpsc::sync_channel(1);
        let _ = done.send(Ok(Packed { name: name.to_string(), info, data: bytes }));
        self.pending.push_back(result);
        self.write_ready()
    }

    /// Write the oldest entries in flight as long as they are compressed.
    fn write_ready(&mut self) -> Result<(), EbookError> {
        while let Some(result) = self.pending.front() {
            let entry = match result.try_recv() {
                Ok(entry) => entry,
                Err(mpsc::TryRecvError::Empty) => return Ok(()),
                Err(mpsc::TryRecvError::Disconnected) => Err(worker_gone()),
            };
            self.pending.pop_front();
            self.write(entry)?;
        }
        Ok(())
    }

    /// Write the oldest entry in flight once it is compressed.
    fn write_oldest(&mut self) -> Result<(), EbookError> {
        let Some(result) = self.pending.pop_front() else { return Ok(()) };
        self.write(result.recv().unwrap_or_else(|_| Err(worker_gone())))
    }

    fn write(&mut self, entry: io::Result<Packed>) -> Result<(), EbookError> {
        let entry = entry.map_err(self.io_err())?;
        self.zip.add(&entry).map_err(self.io_err())
    }

    /// Write every entry still in flight.
    fn drain(&mut self) -> Result<(), EbookError> {
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        Ok(())
    }

    /// Write what is in flight and the central directory; the file back.
    pub(super) fn finish(mut self) -> Result<File, EbookError> {
        self.drain()?;
        self.pool = None;
        let path = self.path;
        let buffered = self.zip.finish().map_err(|e| EbookError::io(&path, e))?;
        buffered.into_inner().map_err(|e| EbookError::io(&path, e.into_error()))
    }
}

impl EpubWriter {
    /// Start an EPUB in `file`; `path` names it in errors. Title and language are
    /// fixed now because every section carries them.
    pub fn create(file: File, path: &Path, meta: &BookMeta) -> Result<EpubWriter, EbookError> {
        EpubWriter::create_with(EntryWriter::new(file, path, PARALLEL_FROM), path, meta)
    }

    fn create_with(
        zip: EntryWriter,
        path: &Path,
        meta: &BookMeta,
    ) -> Result<EpubWriter, EbookError> {
        let mut writer = EpubWriter {
            zip,
            path: path.to_path_buf(),
            title: meta.title.clone(),
            lang: meta.lang.clone(),
            docs: Vec::new(),
            images: Vec::new(),
            digest: Sha256::new(),
        };
        // The mimetype entry must come first and be stored uncompressed.
        writer.zip.put("mimetype", b"application/epub+zip".to_vec(), Method::Stored)?;
        writer.zip.put("META-INF/container.xml", CONTAINER_XML.into(), Method::Deflated)?;
        Ok(writer)
    }

    fn put_text(&mut self, name: &str, text: String) -> Result<(), EbookError> {
        self.zip.put(&format!("{DIR}{name}"), text.into_bytes(), Method::Deflated)
    }

    /// Write the cover page, navigation and package document and close the archive.
    pub fn finish(mut self, meta: &BookMeta) -> Result<Written, EbookError> {
        if self.docs.iter().all(|d| d.toc_title.is_none()) {
            for (i, doc) in self.docs.iter_mut().enumerate() {
                doc.toc_title = Some(part_label(&self.lang, i + 1));
            }
        }
        if self.docs.is_empty() {
            return Err(EbookError::Empty { path: self.path.clone() });
        }
        self.digest.update(meta.title.as_bytes());
        self.digest.update(meta.author.as_deref().unwrap_or("").as_bytes());
        let uid = uuid_from(&std::mem::take(&mut self.digest).finalize());
        let cover = self.cover_page(meta);
        self.put_text("cover.xhtml", cover)?;
        self.put_text("style.css", STYLE_CSS.into())?;
        let nav = self.nav();
        self.put_text("nav.xhtml", nav)?;
        let ncx = self.ncx(&uid);
        self.put_text("toc.ncx", ncx)?;
        let opf = self.opf(meta, &uid);
        self.put_text("content.opf", opf)?;
        let chapters = self.docs.iter().filter(|d| d.toc_title.is_some()).count();
        let images = self.images.len();
        let file = self.zip.finish()?;
        Ok(Written { file, chapters, images })
    }

    fn cover_page(&self, meta: &BookMeta) -> String {
        let mut body = String::new();
        match self.images.iter().find(|i| i.is_cover) {
            Some(image) => {
                body.push_str("<div class=\"cover\"><img src=\"images/");
                escape_into(&mut body, &image.name);
                body.push_str("\" alt=\"");
                escape_into(&mut body, &meta.title);
                body.push_str("\"/></div>\n");
            }
            None => {
                body.push_str("<div class=\"titlepage\">\n<h1>");
                escape_into(&mut body, &meta.title);
                body.push_str("</h1>\n");
                if let Some(author) = &meta.author {
                    body.push_str("<p class=\"author\">");
                    escape_into(&mut body, author);
                    body.push_str("</p>\n");
                }
                body.push_str("</div>\n");
            }
        }
        xhtml::document(&self.lang, &meta.title, STYLESHEETS, &body)
    }

    fn toc_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.docs.iter().filter_map(|d| Some((d.file.as_str(), d.toc_title.as_deref()?)))
    }

    fn nav(&self) -> String {
        let mut body = String::from("<nav epub:type=\"toc\" id=\"toc\">\n<h1>");
        body.push_str(if self.lang.starts_with("zh") { "目录" } else { "Contents" });
        body.push_str("</h1>\n<ol>\n");
        for (file, title) in self.toc_entries() {
            body.push_str("<li><a href=\"");
            escape_into(&mut body, file);
            body.push_str("\">");
            escape_into(&mut body, title);
            body.push_str("</a></li>\n");
        }
        body.push_str("</ol>\n</nav>\n");
        xhtml::document(&self.lang, &self.title, STYLESHEETS, &body)
    }

    fn ncx(&self, uid: &str) -> String {
        let mut out = String::from(XML_DECLARATION);
        out.push_str("<ncx xmlns=\"http://www.daisy.org/z3986/2005/ncx/\" version=\"2005-1\">\n<head>\n<meta name=\"dtb:uid\" content=\"");
        escape_into(&mut out, uid);
        out.push_str("\"/>\n<meta name=\"dtb:depth\" content=\"1\"/>\n<meta name=\"dtb:totalPageCount\" content=\"0\"/>\n<meta name=\"dtb:maxPageNumber\" content=\"0\"/>\n</head>\n<docTitle><text>");
        escape_into(&mut out, &self.title);
        out.push_str("</text></docTitle>\n<navMap>\n");
        for (i, (file, title)) in self.toc_entries().enumerate() {
            out.push_str(&format!(
                "<navPoint id=\"np{n}\" playOrder=\"{n}\"><navLabel><text>",
                n = i + 1
            ));
            escape_into(&mut out, title);
            out.push_str("</text></navLabel><content src=\"");
            escape_into(&mut out, file);
            out.push_str("\"/></navPoint>\n");
        }
        out.push_str("</navMap>\n</ncx>\n");
        out
    }

    fn opf(&self, meta: &BookMeta, uid: &str) -> String {
        let lang = escape(&meta.lang);
        let mut out = String::from(XML_DECLARATION);
        out.push_str(&format!(
            "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" unique-identifier=\"bookid\" xml:lang=\"{lang}\">\n\
             <metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<dc:identifier id=\"bookid\">{uid}</dc:identifier>\n<dc:title>{}</dc:title>\n",
            escape(&meta.title)
        ));
        if let Some(author) = &meta.author {
            out.push_str(&format!("<dc:creator>{}</dc:creator>\n", escape(author)));
        }
        out.push_str(&format!(
            "<dc:language>{lang}</dc:language>\n<meta property=\"dcterms:modified\">{}</meta>\n",
            utc_timestamp(unix_now())
        ));
        if self.images.iter().any(|i| i.is_cover) {
            out.push_str("<meta name=\"cover\" content=\"cover-image\"/>\n");
        }
        out.push_str("</metadata>\n<manifest>\n\
            <item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" properties=\"nav\"/>\n\
            <item id=\"ncx\" href=\"toc.ncx\" media-type=\"application/x-dtbncx+xml\"/>\n\
            <item id=\"css\" href=\"style.css\" media-type=\"text/css\"/>\n\
            <item id=\"titlepage\" href=\"cover.xhtml\" media-type=\"application/xhtml+xml\"/>\n");
        for (i, doc) in self.docs.iter().enumerate() {
            out.push_str(&format!(
                "<item id=\"d{}\" href=\"{}\" media-type=\"application/xhtml+xml\"/>\n",
                i + 1,
                escape(&doc.file)
            ));
        }
        for (i, image) in self.images.iter().enumerate() {
            let (id, properties) = if image.is_cover {
                ("cover-image".to_string(), " properties=\"cover-image\"")
            } else {
                (format!("img{}", i + 1), "")
            };
            out.push_str(&format!(
                "<item id=\"{id}\" href=\"images/{}\" media-type=\"{}\"{properties}/>\n",
                escape(&image.name),
                image.media_type
            ));
        }
        out.push_str("</manifest>\n<spine toc=\"ncx\">\n<itemref idref=\"titlepage\"/>\n");
        for i in 0..self.docs.len() {
            out.push_str(&format!("<itemref idref=\"d{}\"/>\n", i + 1));
        }
        out.push_str(
            "</spine>\n<guide>\n<reference type=\"cover\" title=\"Cover\" href=\"cover.xhtml\"/>\n",
        );
        if let Some((file, _)) = self.toc_entries().next() {
            out.push_str(&format!(
                "<reference type=\"text\" title=\"Start\" href=\"{}\"/>\n",
                escape(file)
            ));
        }
        out.push_str("</guide>\n</package>\n");
        out
    }
}

impl BookSink for EpubWriter {
    fn section(&mut self, section: Section) -> Result<(), EbookError> {
        let file = format!("c{:04}.xhtml", self.docs.len() + 1);
        // The document is built in one buffer: its frame, then the body in place.
        let doc = match section.body {
            Body::Text { heading, paragraphs } => {
                let mut doc = String::with_capacity(
                    paragraphs.iter().map(|p| p.len() + 8).sum::<usize>() + 512,
                );
                let title = heading.as_deref().unwrap_or(&self.title);
                xhtml::begin(&mut doc, &self.lang, title, STYLESHEETS);
                // The primary language subtag picks the paragraph style (indented for zh, ja).
                let primary = self.lang.split('-').next().unwrap_or("");
                doc.push_str("<div class=\"");
                escape_into(&mut doc, primary);
                doc.push_str("\">\n");
                if let Some(heading) = &heading {
                    doc.push_str("<h1>");
                    escape_into(&mut doc, heading);
                    doc.push_str("</h1>\n");
                }
                for paragraph in &paragraphs {
                    doc.push_str("<p>");
                    escape_into(&mut doc, paragraph);
                    doc.push_str("</p>\n");
                }
                doc.push_str("</div>\n");
                xhtml::end(&mut doc);
                doc
            }
            Body::Xhtml(body) => {
                let title = section.toc_title.as_deref().unwrap_or(&self.title);
                xhtml::document(&self.lang, title, STYLESHEETS, &body)
            }
        };
        self.digest.update(doc.as_bytes());
        self.put_text(&file, doc)?;
        self.docs.push(Doc { file, toc_title: section.toc_title });
        Ok(())
    }

    fn image(&mut self, image: Image) -> Result<(), EbookError> {
        self.zip.put(&format!("{DIR}images/{}", image.name), image.data, Method::Stored)?;
        self.images.push(ManifestImage {
            name: image.name,
            media_type: image.media_type,
            is_cover: image.is_cover,
        });
        Ok(())
    }
}

/// The table-of-contents name of the n-th section of a book without headings.
fn part_label(lang: &str, n: usize) -> String {
    if lang.starts_with("zh") {
        format!("第{n}部分")
    } else {
        format!("Part {n}")
    }
}

/// A name-based (version 5 style) UUID URN from a digest of the content, so the
/// same book always gets the same identifier.
fn uuid_from(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0F) | 0x50;
    b[8] = (b[8] & 0x3F) | 0x80;
    let hex = crate::digest::hex(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebook::epub_read::EpubBook;
    use crate::temp_dir::TempDir;
    use std::io::Read;

    /// Sections of a book of about `kilobytes` KB, varied enough that every
    /// chapter compresses differently, with an image every 20 chapters.
    fn write_book(writer: &mut EpubWriter, part: &str, kilobytes: usize) {
        let words = ["夜色渐深", "长安城外", "一骑快马", "疾驰而来", "心中暗道", "不妙", "<&\"'>"];
        let mut written = 0;
        let mut n = 0usize;
        while written < kilobytes * 1024 {
            n += 1;
            let paragraphs: Vec<String> = (0..40)
                .map(|i| (0..12).map(|j| words[(n * 7 + i * 3 + j * j) % words.len()]).collect())
                .collect();
            written += paragraphs.iter().map(String::len).sum::<usize>();
            let heading = format!("第{n}章 风雪");
            writer
                .section(Section {
                    toc_title: Some(heading.clone()),
                    body: Body::Text { heading: Some(heading), paragraphs },
                })
                .unwrap();
            if n.is_multiple_of(20) {
                let mut data = b"\xFF\xD8\xFF\xE0".to_vec();
                data.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> (n % 24)) as u8));
                let image = Image {
                    name: format!("{part}{n}.jpg"),
                    media_type: "image/jpeg",
                    data,
                    is_cover: false,
                };
                writer.image(image).unwrap();
            }
        }
    }

    /// Every entry of a zip: name, method, compressed bytes, content.
    fn entries(path: &Path) -> Vec<(String, zip::CompressionMethod, Vec<u8>, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut raw = Vec::new();
                archive.by_index_raw(i).unwrap().read_to_end(&mut raw).unwrap();
                let mut entry = archive.by_index(i).unwrap();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                if entry.name().ends_with(".opf") {
                    // The modification time is the one thing that may differ.
                    let text = String::from_utf8(content).unwrap();
                    let at = text.find("dcterms:modified").unwrap();
                    content = [&text[..at], &text[at + 40..]].concat().into_bytes();
                    raw.clear();
                }
                (entry.name().to_string(), entry.compression(), raw, content)
            })
            .collect()
    }

    #[test]
    fn a_large_book_compressed_on_workers_is_the_book_compressed_in_line() {
        let dir = TempDir::new("epub-parallel");
        let meta = BookMeta { title: "书".into(), author: Some("某".into()), lang: "zh".into() };
        let mut written = Vec::new();
        for (label, parallel_from, workers) in [("serial", u64::MAX, 1), ("parallel", 64 << 10, 1)]
        {
            let path = dir.path().join(format!("{label}.epub"));
            let zip = EntryWriter::with_workers(
                File::create(&path).unwrap(),
                &path,
                parallel_from,
                workers,
            );
            let mut writer = EpubWriter::create_with(zip, &path, &meta).unwrap();
            write_book(&mut writer, "a", 1536);
            // An entry copied in, already compressed, takes its turn too.
            let note = Packer::default()
                .pack("OEBPS/note.txt".into(), b"in order".to_vec(), Method::Deflated)
                .unwrap();
            writer.zip.copy("OEBPS/note.txt", note.info, &mut &note.data[..]).unwrap();
            assert_eq!(writer.zip.pool.is_some(), label == "parallel", "{label}");
            write_book(&mut writer, "b", 256);
            let image = || Image {
                name: "b20.jpg".into(),
                media_type: "image/jpeg",
                data: vec![0xFF, 0xD8],
                is_cover: false,
            };
            let err = writer.image(image()).err().unwrap();
            assert!(err.to_string().contains("Duplicate filename"), "{label}: {err}");
            writer.finish(&meta).unwrap();
            written.push(path);
        }
        let (serial, parallel) = (entries(&written[0]), entries(&written[1]));
        assert!(serial.len() > 200, "{} entries", serial.len());
        let names: Vec<&str> = parallel.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names[..2], ["mimetype", "META-INF/container.xml"]);
        for (s, p) in serial.iter().zip(&parallel) {
            assert!(s == p, "{} differs between the serial and the parallel EPUB", s.0);
        }
        assert_eq!(serial.len(), parallel.len());

        let mut read = Vec::new();
        for path in &written {
            let mut book = EpubBook::open(path).unwrap();
            let mut sink = Collect::default();
            book.pump(&mut sink).unwrap();
            read.push(sink.0);
        }
        assert!(read[0].len() > 100 && read[0] == read[1]);
    }

    /// The XHTML bodies a reader gives back.
    #[derive(Default)]
    struct Collect(Vec<String>);

    impl BookSink for Collect {
        fn section(&mut self, section: Section) -> Result<(), EbookError> {
            match section.body {
                Body::Text { paragraphs, .. } => self.0.push(paragraphs.concat()),
                Body::Xhtml(body) => self.0.push(body),
            }
            Ok(())
        }
    }

    #[test]
    fn uuids_have_the_required_shape() {
        let uuid = uuid_from(&[0xAB; 32]);
        assert_eq!(uuid, "urn:uuid:abababab-abab-5bab-abab-abababababab");
    }
}
