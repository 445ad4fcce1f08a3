//! The e-book library on the real binary: `zatan books ...`, and the chat's
//! `搜`/`书` against a server watching its books directory (real inotify).

mod common;

use std::path::Path;
use std::time::Duration;

use common::wechat::say;
use common::{run_cli, wait_until, Server, TempDir};

const WAIT: Duration = Duration::from_secs(10);
/// The demo token: these configs set none.
const TOKEN: &str = "zatan";
const READER: &str = "o_reader";

fn novel(title_line: &str) -> String {
    let mut text = format!("{title_line}\n\n");
    for n in 1..=3 {
        text.push_str(&format!("第{n}章 开端\n\n　　第{n}章的正文，足够长的一段话。\n\n"));
    }
    text
}

fn write_book(dir: &Path, name: &str) {
    std::fs::write(dir.join(name), novel(name)).unwrap();
}

/// The id at the start of the first line of a search reply.
fn first_id(reply: &str) -> String {
    reply.split_whitespace().next().unwrap().to_string()
}

#[test]
fn books_cli_adds_lists_scans_and_removes() {
    let dir = TempDir::new("books-cli");
    let outside = dir.path().join("《三体》作者：刘慈欣.txt");
    write_book(dir.path(), "《三体》作者：刘慈欣.txt");

    let (code, out, err) = run_cli(dir.path(), &["books", "add", outside.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("added ") && out.contains("三体 — 刘慈欣"), "{out}");
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    assert!(dir.path().join("books/《三体》作者：刘慈欣.txt").exists());

    let (code, out, _) = run_cli(dir.path(), &["books", "add", outside.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.starts_with("already in the library"), "{out}");

    std::fs::write(dir.path().join("books/broken.epub"), "not a zip").unwrap();
    write_book(&dir.path().join("books"), "Moby Dick by Herman Melville.txt");
    let (code, out, _) = run_cli(dir.path(), &["books", "scan"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("added ") && out.contains("Moby Dick — Herman Melville"), "{out}");
    assert!(out.contains("refused broken.epub:"), "{out}");
    assert!(out.ends_with("2 books in books\n"), "{out}");

    let (_, list, _) = run_cli(dir.path(), &["books", "list"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains(&id), "{list}");

    let (code, out, _) = run_cli(dir.path(), &["books", "remove", &id]);
    assert_eq!(code, 0, "{out}");
    assert!(!dir.path().join("books/《三体》作者：刘慈欣.txt").exists());
    let (code, _, err) = run_cli(dir.path(), &["books", "remove", &id]);
    assert_eq!(code, 2);
    assert!(err.contains("no book has the id") && err.contains("books list"), "{err}");

    let (code, _, err) = run_cli(dir.path(), &["books", "add", "nowhere.pdf"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only .epub, .txt, .mobi and .azw3"), "{err}");
}

#[test]
fn chat_finds_books_dropped_into_the_watched_directory() {
    let server = Server::start("books-chat", "");
    let books = server.dir.path().join("books");
    assert_eq!(say(&server, TOKEN, READER, 1, "搜 三体").content(), "书库还是空的。");

    write_book(&books, "《三体II：黑暗森林》作者：刘慈欣.txt");
    write_book(&books, "Pride and Prejudice by Jane Austen.txt");
    let mut msg_id = 10;
    let found = wait_until(WAIT, || {
        msg_id += 1;
        Some(say(&server, TOKEN, READER, msg_id, "搜 黑暗").content())
            .filter(|r| r.contains("《三体II：黑暗森林》 — 刘慈欣"))
    })
    .expect("the new book is found without a restart");
    let id = first_id(&found);

    let english = wait_until(WAIT, || {
        msg_id += 1;
        Some(say(&server, TOKEN, READER, msg_id, "search ＰＲＩＤＥ austen").content())
            .filter(|r| r.contains("《Pride and Prejudice》 — Jane Austen"))
    });
    assert!(english.is_some(), "full-width and case folded");
    assert!(say(&server, TOKEN, READER, 100_001, "搜 金庸").content().contains("没有找到「金庸」"));

    let id_upper = id.to_uppercase();
    let details = say(&server, TOKEN, READER, 100_002, &format!("书 {id_upper}")).content();
    assert!(
        details.contains("《三体II：黑暗森林》")
            && details.contains("作者：刘慈欣")
            && details.contains("格式：txt"),
        "{details}"
    );
    assert!(details.contains(&format!("推送 {id}")), "{details}");

    // `books add` while the server holds the store: the file goes in, the server indexes it.
    let outside = server.dir.path().join("《球状闪电》作者：刘慈欣.txt");
    write_book(server.dir.path(), "《球状闪电》作者：刘慈欣.txt");
    let (code, out, err) = run_cli(
        server.dir.path(),
        &["books", "add", outside.to_str().unwrap(), "--config", "config.toml"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the running server indexes it"), "{out}");
    let (code, _, err) = run_cli(server.dir.path(), &["books", "list", "--config", "config.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("holds the store"), "{err}");
    assert!(wait_until(WAIT, || {
        msg_id += 1;
        say(&server, TOKEN, READER, msg_id, "搜 球状").content().contains("球状闪电").then_some(())
    })
    .is_some());

    std::fs::remove_file(books.join("《三体II：黑暗森林》作者：刘慈欣.txt")).unwrap();
    assert!(
        wait_until(WAIT, || {
            msg_id += 1;
            say(&server, TOKEN, READER, msg_id, "搜 黑暗")
                .content()
                .contains("没有找到")
                .then_some(())
        })
        .is_some(),
        "a deleted book is no longer offered"
    );
}
