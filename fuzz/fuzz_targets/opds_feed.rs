//! An OPDS (Atom) feed as any catalog serves it: never a panic, parsing is
//! deterministic, and every link it yields is an absolute http(s) URL whose
//! text parses back to the same URL (the crawler fetches and remembers them
//! by that text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zatan::crawler::opds::parse;
use zatan::ebook::Format;
use zatan::url::Url;

fn check(url: &Url) {
    let text = url.to_string();
    assert!(text.starts_with("http://") || text.starts_with("https://"), "{text}");
    let again = Url::parse(&text).unwrap_or_else(|e| panic!("{text} does not parse: {e}"));
    assert_eq!(again.to_string(), text);
}

fuzz_target!(|bytes: &[u8]| {
    let base = Url::parse("https://catalog.example/opds/root.xml").expect("a valid base");
    let Ok(feed) = parse(bytes, &base) else { return };
    assert_eq!(parse(bytes, &base).as_ref(), Ok(&feed));
    feed.links.iter().for_each(|l| check(&l.href));
    feed.subsections().into_iter().for_each(check);
    for entry in &feed.entries {
        entry.links.iter().for_each(|l| check(&l.href));
        if let Some(acquisition) = entry.acquisition(&[Format::Epub, Format::Azw3, Format::Txt]) {
            assert!(!entry.key(&acquisition).is_empty() || entry.id.is_some());
        }
    }
});
