//! Which character encoding a text file is in, and decoding it a chunk at a time.
//!
//! Order of trust: a byte-order mark; then UTF-8 if the whole file is (nearly) valid
//! UTF-8; then chardetng's guess over the first few megabytes (short samples guess
//! wrong, so never just the first kilobyte). GBK is decoded as its superset GB18030.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, Encoding, GB18030, GBK, UTF_8};

const CHUNK: usize = 64 * 1024;
/// How much of the file chardetng sees.
const DETECTOR_SAMPLE: usize = 4 * 1024 * 1024;
/// A file with at most one invalid sequence per this many valid multi-byte
/// characters is UTF-8 with a few damaged bytes, not some other encoding.
const UTF8_ERRORS_TOLERATED_PER: u64 = 100;

/// Decide the encoding of everything `reader` yields (reads it to the end).
pub fn detect(mut reader: impl Read) -> io::Result<&'static Encoding> {
    let mut buf = vec![0u8; CHUNK];
    let mut utf8 = Utf8Tally::default();
    let mut detector = chardetng::EncodingDetector::new();
    let mut fed = 0usize;
    let mut first = true;
    loop {
        let n = read_full(&mut reader, &mut buf)?;
        if first {
            if let Some((encoding, _)) = Encoding::for_bom(&buf[..n]) {
                return Ok(encoding);
            }
            first = false;
        }
        if n == 0 {
            break;
        }
        utf8.feed(&buf[..n]);
        if fed < DETECTOR_SAMPLE {
            detector.feed(&buf[..n], false);
            fed += n;
        }
    }
    utf8.finish();
    if utf8.errors == 0 || utf8.errors * UTF8_ERRORS_TOLERATED_PER <= utf8.multibyte {
        return Ok(UTF_8);
    }
    detector.feed(&[], true);
    let guess = detector.guess(None, false);
    Ok(if guess == GBK { GB18030 } else { guess })
}

/// Counts valid multi-byte characters and invalid sequences across chunk boundaries.
#[derive(Default)]
struct Utf8Tally {
    carry: Vec<u8>,
    errors: u64,
    multibyte: u64,
}

impl Utf8Tally {
    fn feed(&mut self, chunk: &[u8]) {
        if self.carry.is_empty() {
            self.scan(chunk)
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(chunk);
            self.scan(&joined)
        }
    }

    fn scan(&mut self, mut bytes: &[u8]) {
        loop {
            match std::str::from_utf8(bytes) {
                Ok(valid) => {
                    self.count(valid.as_bytes());
                    return;
                }
                Err(e) => {
                    let (valid, rest) = bytes.split_at(e.valid_up_to());
                    self.count(valid);
                    match e.error_len() {
                        Some(len) => {
                            self.errors += 1;
                            bytes = &rest[len..];
                        }
                        None => {
                            self.carry = rest.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn count(&mut self, valid: &[u8]) {
        self.multibyte += valid.iter().filter(|&&b| b >= 0xC0).count() as u64;
    }

    /// A sequence cut off by the end of the file is an error too.
    fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.errors += 1;
            self.carry.clear();
        }
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Decodes a byte stream to UTF-8 text a chunk at a time, so memory stays flat.
pub struct ChunkDecoder<R> {
    reader: R,
    decoder: Decoder,
    buf: Vec<u8>,
    done: bool,
}

impl<R: Read> ChunkDecoder<R> {
    pub fn new(reader: R, encoding: &'static Encoding) -> Self {
        ChunkDecoder {
            reader,
            decoder: encoding.new_decoder_with_bom_removal(),
            buf: vec![0u8; CHUNK],
            done: false,
        }
    }

    /// Append the next chunk of text to `out`; `false` once the input is exhausted.
    pub fn next_into(&mut self, out: &mut String) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let n = read_full(&mut self.reader, &mut self.buf)?;
        let last = n == 0;
        let mut input = &self.buf[..n];
        loop {
            let room =
                self.decoder.max_utf8_buffer_length(input.len()).unwrap_or(input.len() * 3 + 16);
            out.reserve(room);
            let (result, read, _) = self.decoder.decode_to_string(input, out, last);
            input = &input[read..];
            if result == CoderResult::InputEmpty {
                break;
            }
        }
        self.done = last;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn novel() -> String {
        "第一章 山雨欲来\n　　夜色渐深，长安城外的官道上，一骑快马疾驰而来。马上之人披着斗篷，看不清面目。\n".repeat(200)
    }

    fn detect_bytes(bytes: &[u8]) -> &'static Encoding {
        detect(bytes).unwrap()
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let text = novel();
        assert_eq!(detect_bytes(text.as_bytes()), UTF_8);
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(text.as_bytes());
        assert_eq!(detect_bytes(&with_bom), UTF_8);
        assert_eq!(detect_bytes(b"plain ascii"), UTF_8);
    }

    #[test]
    fn utf16_by_bom() {
        let mut le = vec![0xFF, 0xFE];
        for unit in "第一章".encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(detect_bytes(&le), encoding_rs::UTF_16LE);
        assert_eq!(detect_bytes(&[0xFE, 0xFF, 0x7B, 0x2C]), encoding_rs::UTF_16BE);
    }

    #[test]
    fn gbk_is_read_as_gb18030_and_big5_as_big5() {
        let text = novel();
        let (gbk, _, _) = GBK.encode(&text);
        assert_eq!(detect_bytes(&gbk), GB18030);
        let traditional = "第一章 山雨欲來\n　　夜色漸深，長安城外的官道上，一騎快馬疾馳而來。馬上之人披著斗篷，看不清面目。\n".repeat(200);
        let (big5, _, _) = encoding_rs::BIG5.encode(&traditional);
        assert_eq!(detect_bytes(&big5), encoding_rs::BIG5);
    }

    #[test]
    fn a_few_damaged_bytes_keep_utf8() {
        let mut bytes = novel().into_bytes();
        bytes[1000] = 0xFF;
        assert_eq!(detect_bytes(&bytes), UTF_8);
    }

    #[test]
    fn chunked_decoding_matches_whole_decoding_across_boundaries() {
        let text = novel().repeat(10);
        let (gbk, _, _) = GBK.encode(&text);
        let mut decoder = ChunkDecoder::new(&gbk[..], GB18030);
        let mut out = String::new();
        while decoder.next_into(&mut out).unwrap() {}
        assert_eq!(out, text);
    }

    #[test]
    fn utf8_tally_counts_across_chunk_boundaries() {
        let text = "中文".repeat(10);
        let mut tally = Utf8Tally::default();
        for piece in text.as_bytes().chunks(4) {
            tally.feed(piece);
        }
        tally.finish();
        assert_eq!((tally.errors, tally.multibyte), (0, 20));
    }
}
