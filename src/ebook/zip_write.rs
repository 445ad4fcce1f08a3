//! Writing a zip archive, the little of it an EPUB needs: entries stored or
//! deflated, one after another, then the central directory. No encryption, no
//! extra fields (an EPUB's `mimetype` entry must have none). Past 65,535 entries
//! the end record is the zip64 one; an archive past 4 GiB is refused (no book
//! zatan accepts comes near it).
//!
//! Entries are packed (checksummed and compressed) apart from the archive, on
//! any thread, with a deflater each thread keeps: its state is a few hundred
//! kilobytes, cleared for each entry rather than allocated.

use std::io::{self, Read, Write};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
    /// Another method's number: entries copied from another zip as they are.
    Other(u16),
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated => 8,
            Method::Other(code) => code,
        }
    }

    /// The version of the zip format an extractor needs (2.0 for deflate).
    fn version_needed(self) -> u16 {
        match self {
            Method::Stored => 10,
            Method::Deflated | Method::Other(_) => 20,
        }
    }
}

/// A modification time as zip headers keep it (MS-DOS format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosTime {
    pub time: u16,
    pub date: u16,
}

impl DosTime {
    /// 1980-01-01 00:00:00, the earliest there is: what the zip crate writes
    /// by default, and so what zatan's EPUBs always said.
    pub const EPOCH: DosTime = DosTime { time: 0, date: (1 << 5) | 1 };
}

/// What a header says of an entry's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryInfo {
    pub method: Method,
    pub modified: DosTime,
    pub crc32: u32,
    /// Bytes as extracted.
    pub size: u64,
    /// Bytes in the archive.
    pub packed_size: u64,
}

/// An entry packed and ready to be written.
pub struct Packed {
    pub name: String,
    pub info: EntryInfo,
    pub data: Vec<u8>,
}

/// Packs entries, one deflater reused for all of them.
pub struct Packer {
    deflater: Compress,
}

impl Default for Packer {
    fn default() -> Self {
        Packer { deflater: Compress::new(Compression::default(), false) }
    }
}

impl Packer {
    pub fn pack(&mut self, name: String, data: Vec<u8>, method: Method) -> io::Result<Packed> {
        let mut crc = Crc::new();
        crc.update(&data);
        let size = data.len() as u64;
        let data = match method {
            Method::Stored => data,
            Method::Deflated => self.deflate(&data)?,
            Method::Other(code) => {
                let why =
                    format!("{name}: zatan compresses with deflate only, not zip method {code}");
                return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
            }
        };
        let packed_size = data.len() as u64;
        let info =
            EntryInfo { method, modified: DosTime::EPOCH, crc32: crc.sum(), size, packed_size };
        Ok(Packed { name, info, data })
    }

    fn deflate(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        self.deflater.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let used = (self.deflater.total_in() as usize).min(data.len());
            let status = self
                .deflater
                .compress_vec(&data[used..], &mut out, FlushCompress::Finish)
                .map_err(io::Error::other)?;
            if status == Status::StreamEnd {
                return Ok(out);
            }
            out.reserve(out.capacity().max(64));
        }
    }
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY: u32 = 0x0606_4b50;
const ZIP64_END_LOCATOR: u32 = 0x0706_4b50;
/// Made by Unix (3), format 4.5 (the one with zip64).
const VERSION_MADE_BY: u16 = (3 << 8) | 45;
/// Names are UTF-8 (general purpose flag bit 11).
const UTF8_NAMES: u16 = 1 << 11;
/// A regular file, rw-r--r--, in the Unix half of the external attributes.
const FILE_ATTRIBUTES: u32 = 0o100644 << 16;

/// A zip being written to `out`.
pub struct ZipOut<W: Write> {
    out: W,
    /// Bytes written so far: where the next local header starts.
    offset: u64,
    central: Vec<u8>,
    entries: u64,
}

impl<W: Write> ZipOut<W> {
    pub fn new(out: W) -> Self {
        ZipOut { out, offset: 0, central: Vec::new(), entries: 0 }
    }

    pub fn add(&mut self, entry: &Packed) -> io::Result<()> {
        self.add_from(&entry.name, entry.info, &mut &entry.data[..])
    }

    /// An entry whose data, packed as `info` says, is read from `data`
    /// (exactly `info.packed_size` bytes of it).
    pub fn add_from(&mut self, name: &str, info: EntryInfo, data: &mut dyn Read) -> io::Result<()> {
        let offset = fits_u32(self.offset)?;
        let (size, packed_size) = (fits_u32(info.size)?, fits_u32(info.packed_size)?);
        let name_len = u16::try_from(name.len()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "an entry name over 64 KiB")
        })?;
        let flags = if name.is_ascii() { 0 } else { UTF8_NAMES };
        // The fields the local and the central header share, from "version needed" on.
        let mut common = Vec::with_capacity(26);
        let (version, method) = (info.method.version_needed(), info.method.code());
        for field in [version, flags, method, info.modified.time, info.modified.date] {
            common.extend_from_slice(&field.to_le_bytes());
        }
        for field in [info.crc32, packed_size, size] {
            common.extend_from_slice(&field.to_le_bytes());
        }
        common.extend_from_slice(&name_len.to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // no extra field

        let mut local = Vec::with_capacity(30 + name.len());
        local.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        local.extend_from_slice(&common);
        local.extend_from_slice(name.as_bytes());
        self.out.write_all(&local)?;
        let copied = io::copy(&mut data.take(info.packed_size), &mut self.out)?;
        if copied != info.packed_size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name}: {copied} of {} bytes of data", info.packed_size),
            ));
        }
        self.offset += local.len() as u64 + copied;

        self.central.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
        self.central.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
        self.central.extend_from_slice(&common);
        // No comment, disk 0, no internal attributes.
        self.central.extend_from_slice(&[0; 6]);
        self.central.extend_from_slice(&FILE_ATTRIBUTES.to_le_bytes());
        self.central.extend_from_slice(&offset.to_le_bytes());
        self.central.extend_from_slice(name.as_bytes());
        self.entries += 1;
        Ok(())
    }

    /// Writes the central directory and the end records; `out` back, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        let directory_at = self.offset;
        let directory_len = self.central.len() as u64;
        self.out.write_all(&self.central)?;
        let mut end = Vec::with_capacity(98);
        let small = |n: u64, max: u64| (n < max).then_some(n);
        let (entries, len, at) = match (
            small(self.entries, 0xFFFF),
            small(directory_len, 0xFFFF_FFFF),
            small(directory_at, 0xFFFF_FFFF),
        ) {
            (Some(entries), Some(len), Some(at)) => (entries as u16, len as u32, at as u32),
            _ => {
                let zip64_end_at = directory_at + directory_len;
                end.extend_from_slice(&ZIP64_END_OF_CENTRAL_DIRECTORY.to_le_bytes());
                end.extend_from_slice(&44u64.to_le_bytes()); // the size of what follows
                end.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
                end.extend_from_slice(&45u16.to_le_bytes());
                end.extend_from_slice(&[0; 8]); // this disk, the directory's disk
                for field in [self.entries, self.entries, directory_len, directory_at] {
                    end.extend_from_slice(&field.to_le_bytes());
                }
                end.extend_from_slice(&ZIP64_END_LOCATOR.to_le_bytes());
                end.extend_from_slice(&0u32.to_le_bytes());
                end.extend_from_slice(&zip64_end_at.to_le_bytes());
                end.extend_from_slice(&1u32.to_le_bytes()); // disks
                (0xFFFF, 0xFFFF_FFFF, 0xFFFF_FFFF)
            }
        };
        end.extend_from_slice(&END_OF_CENTRAL_DIRECTORY.to_le_bytes());
        end.extend_from_slice(&[0; 4]); // this disk, the directory's disk
        end.extend_from_slice(&entries.to_le_bytes());
        end.extend_from_slice(&entries.to_le_bytes());
        end.extend_from_slice(&len.to_le_bytes());
        end.extend_from_slice(&at.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes()); // no comment
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn fits_u32(n: u64) -> io::Result<u32> {
    u32::try_from(n).ok().filter(|&n| n < u32::MAX).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the archive would pass 4 GiB (zip64 is not written)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::ZipArchive;

    fn written(entries: &[(&str, &[u8], Method)]) -> Vec<u8> {
        let mut zip = ZipOut::new(Vec::new());
        let mut packer = Packer::default();
        for (name, data, method) in entries {
            zip.add(&packer.pack(name.to_string(), data.to_vec(), *method).unwrap()).unwrap();
        }
        zip.finish().unwrap()
    }

    #[test]
    fn the_zip_crate_reads_back_what_is_written() {
        let text = "第一章 风雪夜归人\n".repeat(500);
        let bytes = written(&[
            ("mimetype", b"application/epub+zip", Method::Stored),
            ("OEBPS/c0001.xhtml", text.as_bytes(), Method::Deflated),
            ("OEBPS/图.jpg", b"\xFF\xD8\xFF\xE0", Method::Stored),
            ("OEBPS/empty.css", b"", Method::Deflated),
        ]);
        // The mimetype entry as OCF wants it: first, stored, no extra field.
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 0);
        assert_eq!(u16::from_le_bytes([bytes[28], bytes[29]]), 0);
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..58], b"application/epub+zip");

        let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
        let names: Vec<&str> = archive.file_names().collect();
        assert_eq!(names.len(), 4);
        let mut read = |name: &str| {
            let mut entry = archive.by_name(name).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (entry.compression(), data)
        };
        let (method, data) = read("OEBPS/c0001.xhtml");
        assert_eq!((method, data), (zip::CompressionMethod::Deflated, text.into_bytes()));
        let (method, data) = read("OEBPS/图.jpg");
        assert_eq!((method, &data[..]), (zip::CompressionMethod::Stored, &b"\xFF\xD8\xFF\xE0"[..]));
        assert!(read("OEBPS/empty.css").1.is_empty());
    }

    #[test]
    fn a_reused_packer_packs_each_entry_as_a_fresh_one_would() {
        let mut reused = Packer::default();
        for text in ["一二三四五六七八九十".repeat(300), "abc".repeat(20_000), String::new()]
        {
            let again =
                reused.pack("a".into(), text.clone().into_bytes(), Method::Deflated).unwrap();
            let fresh =
                Packer::default().pack("a".into(), text.into_bytes(), Method::Deflated).unwrap();
            assert_eq!(again.data, fresh.data);
            assert_eq!(again.info, fresh.info);
        }
    }

    #[test]
    fn more_entries_than_the_small_end_record_counts_get_the_zip64_one() {
        let mut zip = ZipOut::new(Vec::new());
        let mut packer = Packer::default();
        for i in 0..70_000u32 {
            zip.add(&packer.pack(format!("{i}"), vec![], Method::Stored).unwrap()).unwrap();
        }
        let bytes = zip.finish().unwrap();
        let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 70_000);
        assert_eq!(archive.by_index(69_999).unwrap().name(), "69999");
    }

    #[test]
    fn data_shorter_than_its_header_says_is_an_error() {
        let mut zip = ZipOut::new(Vec::new());
        let info = EntryInfo {
            method: Method::Stored,
            modified: DosTime::EPOCH,
            crc32: 0,
            size: 10,
            packed_size: 10,
        };
        let err = zip.add_from("short", info, &mut &b"12345"[..]).unwrap_err();
        assert!(err.to_string().contains("5 of 10 bytes"), "{err}");
    }
}
