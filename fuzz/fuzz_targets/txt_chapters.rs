//! A TXT book in any encoding: the chapter split keeps every visible
//! character in order, and the reader pumps all of the decoded text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| zatan::ebook::fuzzing::txt(bytes));
