//! The TOML config: a bad config must be an error, never a panic, and a
//! config that parses is checked without one too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zatan::config::Config;

fuzz_target!(|text: &str| {
    if let Ok(config) = Config::parse(text) {
        let _ = config.validate();
    }
});
