//! robots.txt as any site serves it: never a panic, and a file with no
//! Disallow rule disallows nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zatan::crawler::robots::Rules;

const PATHS: [&str; 4] = ["/", "/opds?page=2", "/books/a%20b.epub", "/robots.txt"];

fuzz_target!(|text: &str| {
    let rules = Rules::parse(text, "zatan");
    let may_disallow = text.to_ascii_lowercase().contains("disallow");
    for path in PATHS {
        let allowed = rules.allows(path);
        assert!(allowed || may_disallow, "{path} disallowed without a Disallow rule");
    }
});
