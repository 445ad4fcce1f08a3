//! The HTTP front's request head and target parsing, on any bytes a client
//! sends: never a panic, and the properties the connection relies on (see
//! `zatan::http::fuzzing`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| zatan::http::fuzzing::request_head(bytes));
