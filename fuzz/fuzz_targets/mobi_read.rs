//! A MOBI/AZW3 (PDB records, MOBI and EXTH headers, PalmDOC text) as anyone
//! may upload it: never a panic, and PalmDOC decompression of any bytes never
//! yields more than five bytes per input byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| zatan::ebook::fuzzing::mobi(bytes));
