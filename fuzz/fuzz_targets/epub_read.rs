//! An EPUB (zip, container, OPF, nav/NCX, XHTML) as anyone may upload it:
//! opened from a file of the fuzzer's bytes, every section read, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| zatan::ebook::fuzzing::epub(bytes));
