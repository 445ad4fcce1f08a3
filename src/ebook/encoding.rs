//! Which character encoding a text file is in, and decoding it a chunk at a time.
//!
//! Order of trust: a byte-order mark; then UTF-8 if the whole file is (nearly) valid
//! UTF-8; then strict trial decodes of a bounded sample (BOM-less UTF-16, GB18030,
//! Big5), with chardetng only where the trials leave more than one candidate or
//! none. chardetng is slow (a few MB/s), so it never sees more than
//! `DETECTOR_SAMPLE`; the trials are cheap and see `TRIAL_SAMPLE`. GBK is decoded
//! as its superset GB18030.

use std::io::{self, Read};

use encoding_rs::{
    CoderResult, Decoder, DecoderResult, Encoding, BIG5, GB18030, GBK, UTF_16BE, UTF_16LE, UTF_8,
};

const CHUNK: usize = 64 * 1024;
/// How much of the file the strict trial decodes see.
const TRIAL_SAMPLE: usize = 256 * 1024;
/// How much of the file chardetng sees when the trials are not enough: tens of
/// thousands of characters, plenty to tell GBK from Big5 (a kilobyte is not).
const DETECTOR_SAMPLE: usize = 64 * 1024;
/// A file with at most one invalid sequence per this many valid multi-byte
/// characters is UTF-8 with a few damaged bytes, not some other encoding.
const UTF8_ERRORS_TOLERATED_PER: u64 = 100;
/// Invalid sequences after which a file is surely not UTF-8, whatever follows:
/// the UTF-8 tally stops there rather than reading the rest of the file.
const UTF8_ERRORS_DECISIVE: u64 = 4096;

/// Decide the encoding of what `reader` yields. Reads to the end only while the
/// file may still be UTF-8.
pub fn detect(mut reader: impl Read) -> io::Result<&'static Encoding> {
    let mut buf = vec![0u8; CHUNK];
    let mut utf8 = Utf8Tally::default();
    let mut sample = Vec::new();
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
        if sample.len() < TRIAL_SAMPLE {
            let take = n.min(TRIAL_SAMPLE - sample.len());
            sample.extend_from_slice(&buf[..take]);
        }
        utf8.feed(&buf[..n]);
        if sample.len() >= TRIAL_SAMPLE && utf8.errors >= UTF8_ERRORS_DECISIVE && !utf8.tolerable()
        {
            return Ok(legacy(&sample));
        }
    }
    utf8.finish();
    if utf8.tolerable() {
        return Ok(UTF_8);
    }
    Ok(legacy(&sample))
}

/// The encoding of a sample that is not UTF-8.
fn legacy(sample: &[u8]) -> &'static Encoding {
    for utf16 in [UTF_16LE, UTF_16BE] {
        if decodes_strictly(utf16, sample, |text| text.contains('\n') && !text.contains('\0')) {
            return utf16;
        }
    }
    let gb18030 = decodes_strictly(GB18030, sample, |_| true);
    let big5 = decodes_strictly(BIG5, sample, |_| true);
    match (gb18030, big5) {
        (true, false) => GB18030,
        (false, true) => BIG5,
        _ => {
            let mut detector = chardetng::EncodingDetector::new();
            detector.feed(&sample[..sample.len().min(DETECTOR_SAMPLE)], true);
            let guess = detector.guess(None, false);
            if guess == GBK {
                GB18030
            } else {
                guess
            }
        }
    }
}

/// Whether `sample` decodes in `encoding` without a single malformed sequence
/// (a sequence cut off by the sample's end does not count) and the text passes
/// `plausible`.
fn decodes_strictly(
    encoding: &'static Encoding,
    sample: &[u8],
    plausible: impl Fn(&str) -> bool,
) -> bool {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let Some(room) = decoder.max_utf8_buffer_length_without_replacement(sample.len()) else {
        return false;
    };
    let mut text = String::with_capacity(room);
    let (result, _) = decoder.decode_to_string_without_replacement(sample, &mut text, false);
    match result {
        DecoderResult::InputEmpty => plausible(&text),
        DecoderResult::Malformed(..) | DecoderResult::OutputFull => false,
    }
}

/// Counts valid multi-byte characters and invalid sequences across chunk boundaries.
#[derive(Default)]
struct Utf8Tally {
    carry: Vec<u8>,
    errors: u64,
    multibyte: u64,
    /// Bytes fed so far.
    fed: u64,
}

// A multi-byte character takes two bytes or more, so the trial sample holds
// too few of them to excuse UTF8_ERRORS_DECISIVE invalid sequences.
const _: () = assert!((TRIAL_SAMPLE as u64) / 2 < UTF8_ERRORS_DECISIVE * UTF8_ERRORS_TOLERATED_PER);

impl Utf8Tally {
    /// Whether the file is surely not UTF-8 already: as many invalid
    /// sequences as are decisive within the trial sample, where the valid
    /// characters that could still follow are too few to make them tolerable.
    /// (Counting on in a file that is all invalid sequences would cost a
    /// search per byte.)
    fn settled(&self) -> bool {
        self.errors >= UTF8_ERRORS_DECISIVE && self.fed <= TRIAL_SAMPLE as u64
    }

    fn feed(&mut self, chunk: &[u8]) {
        if self.settled() {
            return;
        }
        self.fed += chunk.len() as u64;
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
                            if self.settled() {
                                return;
                            }
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

    /// Few enough invalid sequences, for the multi-byte characters seen, to be UTF-8.
    fn tolerable(&self) -> bool {
        self.errors == 0 || self.errors * UTF8_ERRORS_TOLERATED_PER <= self.multibyte
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
    fn utf16_without_bom_by_trial_decode() {
        let text = novel();
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(detect_bytes(&le), encoding_rs::UTF_16LE);
        assert_eq!(detect_bytes(&be), encoding_rs::UTF_16BE);
    }

    #[test]
    fn latin1_text_is_not_taken_for_utf16() {
        let text = "Le café du coin était fermé; on rentra à pied.\n".repeat(300);
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        assert_eq!(detect_bytes(&latin), encoding_rs::WINDOWS_1252);
    }

    #[test]
    fn a_gbk_file_is_not_read_to_its_end() {
        struct Counting<'a>(&'a [u8], usize);
        impl Read for Counting<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.read(buf)?;
                self.1 += n;
                Ok(n)
            }
        }
        let text = novel().repeat(100);
        let (gbk, _, _) = GBK.encode(&text);
        assert!(gbk.len() > 4 * TRIAL_SAMPLE);
        let mut reader = Counting(&gbk, 0);
        assert_eq!(detect(&mut reader).unwrap(), GB18030);
        assert!(reader.1 < 2 * TRIAL_SAMPLE, "read {} of {} bytes", reader.1, gbk.len());
    }

    #[test]
    fn the_tally_of_a_gbk_sample_stops_once_it_is_decisive() {
        let text = novel().repeat(100);
        let (gbk, _, _) = GBK.encode(&text);
        let sample = &gbk[..TRIAL_SAMPLE];
        let mut tally = Utf8Tally::default();
        for chunk in sample.chunks(CHUNK) {
            tally.feed(chunk);
        }
        tally.finish();
        assert_eq!(tally.errors, UTF8_ERRORS_DECISIVE);
        assert!(!tally.tolerable());
        // Counted to the end, the sample is just as surely not UTF-8.
        let mut whole = Utf8Tally { fed: TRIAL_SAMPLE as u64 + 1, ..Utf8Tally::default() };
        whole.feed(sample);
        whole.finish();
        assert!(whole.errors > 10 * UTF8_ERRORS_DECISIVE && !whole.tolerable());
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
