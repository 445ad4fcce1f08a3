//! An article file (front matter and markdown) and the WeChat draft renderer:
//! never a panic, and with raw HTML off neither the page nor the draft ever
//! carries a script element or a `javascript:` link from the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zatan::articles::{parse, wechat_html, LoadOptions};

fn assert_inert(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script element: {html}");
    assert!(!lower.contains("href=\"javascript:"), "a javascript: link: {html}");
}

fuzz_target!(|text: &str| {
    if let Ok(article) = parse("fuzz", text, 0, LoadOptions::default()) {
        assert_inert(&article.page.html);
        assert!(!article.title.is_empty());
    }
    let image_url = |dest: &str| Some(format!("https://mmbiz.qpic.cn/{}", dest.len()));
    let draft = wechat_html::render(text, None, &image_url, Some("https://zatan.example"));
    assert!(draft.starts_with("<section") && draft.ends_with("</section>"));
    assert_inert(&draft);
});
