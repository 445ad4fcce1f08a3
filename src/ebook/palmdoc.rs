//! PalmDOC text records: the LZ77 variant MOBI and AZW3 compress text with, and
//! the trailing entries that follow each record's text.

/// Append the decompressed `src` to `out`. Every back-reference is checked, so
/// damaged data gives an error, never a panic.
pub fn decompress(src: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        i += 1;
        match c {
            0x01..=0x08 => {
                let n = usize::from(c);
                let literal =
                    src.get(i..i + n).ok_or("a literal run goes past the end of the record")?;
                out.extend_from_slice(literal);
                i += n;
            }
            0x00 | 0x09..=0x7F => {
                // Copied as they are, and usually followed by more of the same.
                let run = src[i..].iter().take_while(|&&b| matches!(b, 0x00 | 0x09..=0x7F)).count();
                out.extend_from_slice(&src[i - 1..i + run]);
                i += run;
            }
            0x80..=0xBF => {
                let next = *src.get(i).ok_or("a back-reference is cut off")?;
                i += 1;
                let pair = (usize::from(c) << 8) | usize::from(next);
                let distance = (pair >> 3) & 0x7FF;
                let length = (pair & 7) + 3;
                if distance == 0 || distance > out.len() {
                    return Err(format!(
                        "a back-reference points {distance} bytes back into {} bytes of text",
                        out.len()
                    ));
                }
                let from = out.len() - distance;
                if distance >= length {
                    out.extend_from_within(from..from + length);
                } else {
                    // Overlapping its own output: a repeating pattern, a byte at a time.
                    for at in from..from + length {
                        out.push(out[at]);
                    }
                }
            }
            0xC0..=0xFF => {
                out.push(b' ');
                out.push(c ^ 0x80);
            }
        }
    }
    Ok(())
}

/// The record without the trailing entries `extra_flags` (MOBI header 0xF2) says it carries.
pub fn strip_trailing_entries(record: &[u8], extra_flags: u16) -> &[u8] {
    let mut end = record.len();
    let mut flags = extra_flags >> 1;
    while flags != 0 {
        if flags & 1 != 0 {
            let size = trailing_entry_size(&record[..end]);
            end = end.saturating_sub(size);
        }
        flags >>= 1;
    }
    if extra_flags & 1 != 0 && end > 0 {
        let multibyte = usize::from(record[end - 1] & 0x3) + 1;
        end = end.saturating_sub(multibyte);
    }
    &record[..end]
}

/// The size of the last trailing entry: a variable-width integer read backwards
/// from the end, seven bits a byte, the byte with the high bit set ending it.
fn trailing_entry_size(data: &[u8]) -> usize {
    let mut result = 0usize;
    let mut shift = 0;
    for &byte in data.iter().rev() {
        result |= usize::from(byte & 0x7F) << shift;
        shift += 7;
        if byte & 0x80 != 0 || shift >= 28 {
            break;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_runs_spaces_and_back_references() {
        let mut out = Vec::new();
        // "abc", then 3 bytes from 3 back, then " A" (space + letter), then a 2-byte run.
        decompress(&[b'a', b'b', b'c', 0x80, 0x18, 0xC1, 0x02, 0xE4, 0xB8], &mut out).unwrap();
        assert_eq!(out, b"abcabc A\xE4\xB8");
    }

    #[test]
    fn back_references_overlapping_their_own_output_repeat_it() {
        let mut out = Vec::new();
        // "a", then 6 bytes from 1 back; "xy" (a run of plain bytes), then 5 from 2 back.
        decompress(&[b'a', 0x80, 0x0B, b'x', b'y', 0x80, 0x12], &mut out).unwrap();
        assert_eq!(out, b"aaaaaaaxyxyxyx");
    }

    #[test]
    fn damaged_data_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(decompress(&[0x80, 0x18], &mut out).is_err());
        assert!(decompress(&[0x05, b'a'], &mut out).is_err());
        assert!(decompress(&[b'a', 0x80], &mut out).is_err());
    }

    #[test]
    fn trailing_entries_are_stripped() {
        // Text "hello", one multibyte byte (count 1 → 2 bytes), then a 3-byte trailing entry.
        let record = [b'h', b'e', b'l', b'l', b'o', b'x', 0x01, 0xAA, 0xBB, 0x83];
        assert_eq!(strip_trailing_entries(&record, 0b11), b"hello");
        assert_eq!(strip_trailing_entries(&record, 0), &record[..]);
        assert_eq!(strip_trailing_entries(&[0x85], 0b10), b"");
    }
}
