use std::path::{Path, PathBuf};

use super::*;
use crate::ebook::ConvertOptions;
use crate::temp_dir::TempDir;

struct Shelf {
    _dir: TempDir,
    root: PathBuf,
    books: PathBuf,
    store: Store,
}

fn shelf(name: &str) -> Shelf {
    let dir = TempDir::new(&format!("library-{name}"));
    let root = dir.path().to_path_buf();
    let books = root.join("books");
    std::fs::create_dir_all(&books).unwrap();
    let store = Store::open(&root.join("data")).unwrap();
    Shelf { _dir: dir, root, books, store }
}

fn novel(chapters: usize) -> String {
    (1..=chapters).map(|n| format!("第{n}章 山雨\n\n　　他走进了第{n}座城。\n\n")).collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_txt_gets_title_and_author_from_its_name_and_a_stable_short_id() {
    let shelf = shelf("name");
    write(&shelf.books.join("《三体》作者：刘慈欣.txt"), &novel(3));
    let report = scan(&shelf.store, &shelf.books).unwrap();
    assert_eq!(report.books, 1);
    let book = &report.added[0];
    assert_eq!(
        (book.title.as_str(), book.author.as_deref(), book.lang.as_str()),
        ("三体", Some("刘慈欣"), "zh")
    );
    assert_eq!(book.id.len(), 6);
    assert_eq!(book.files[0].format, "txt");
    assert_eq!(
        book.files[0].hash,
        crate::digest::sha256_file_hex(&shelf.books.join("《三体》作者：刘慈欣.txt")).unwrap()
    );

    // Same id in a brand-new store: ids come from the work, not from the order of scans.
    let other = Store::open(&shelf.root.join("data2")).unwrap();
    assert_eq!(scan(&other, &shelf.books).unwrap().added[0].id, book.id);
    // A second scan of an unchanged directory adds nothing.
    assert!(scan(&shelf.store, &shelf.books).unwrap().added.is_empty());
}

#[test]
fn the_same_file_twice_is_one_book_and_other_formats_join_their_work() {
    let shelf = shelf("dupes");
    let txt = shelf.books.join("《三体》作者：刘慈欣.txt");
    write(&txt, &novel(3));
    // How a browser names a second download of the same file.
    std::fs::copy(&txt, shelf.books.join("《三体》作者：刘慈欣 (1).txt")).unwrap();
    let epub = shelf.root.join("三体.epub");
    let opts =
        ConvertOptions {
            title: Some("三体".into()), author: Some("刘慈欣".into()), lang: None
        };
    crate::ebook::convert(&txt, &epub, &opts).unwrap();
    std::fs::copy(&epub, shelf.books.join("santi.epub")).unwrap();
    write(&shelf.books.join("《球状闪电》作者：刘慈欣.txt"), &novel(2));

    let report = scan(&shelf.store, &shelf.books).unwrap();
    assert_eq!(report.books, 2, "{report:?}");
    let books = shelf.store.books().unwrap();
    let santi = books.iter().find(|b| b.title == "三体").unwrap();
    let mut formats: Vec<&str> = santi.files.iter().map(|f| f.format.as_str()).collect();
    formats.sort();
    assert_eq!(formats, ["epub", "txt"], "the copy is not a second file");
    assert_ne!(santi.id, books.iter().find(|b| b.title == "球状闪电").unwrap().id);
}

#[test]
fn deleted_and_changed_files_update_the_index() {
    let shelf = shelf("changes");
    let a = shelf.books.join("《甲》作者：某.txt");
    write(&a, &novel(2));
    let first = index_file(&shelf.store, &shelf.books, "《甲》作者：某.txt", None).unwrap();
    let old_hash = first.book().files[0].hash.clone();
    write(&a, &novel(4));
    let Added::New(changed) =
        index_file(&shelf.store, &shelf.books, "《甲》作者：某.txt", None).unwrap()
    else {
        panic!("changed content is new")
    };
    assert_eq!(changed.files.len(), 1);
    assert_ne!(changed.files[0].hash, old_hash);
    assert_eq!(shelf.store.book_by_hash(&old_hash).unwrap(), None, "the old content is forgotten");

    std::fs::remove_file(&a).unwrap();
    let gone = forget_file(&shelf.store, "《甲》作者：某.txt").unwrap().unwrap();
    assert!(gone.files.is_empty());
    assert!(shelf.store.books().unwrap().is_empty(), "a book without files is gone");
    assert_eq!(shelf.store.book_by_hash(&changed.files[0].hash).unwrap(), None);
    assert_eq!(shelf.store.book_by_file_name("《甲》作者：某.txt").unwrap(), None);
    assert!(forget_file(&shelf.store, "《甲》作者：某.txt").unwrap().is_none(), "forgotten once");
}

#[test]
fn add_copies_or_moves_in_under_a_clean_name_once() {
    let shelf = shelf("add");
    let outside = shelf.root.join("download.txt");
    write(&outside, &format!("作者：某某\n\n{}", novel(2)));
    let opts =
        ConvertOptions { title: Some("a/b: c?".into()), author: Some("某某".into()), lang: None };
    let epub = shelf.root.join("x.epub");
    crate::ebook::convert(&outside, &epub, &opts).unwrap();

    let Added::New(book) = add_file(&shelf.store, &shelf.books, &epub, Intake::Copy, None).unwrap()
    else {
        panic!("new")
    };
    assert_eq!(book.files[0].name, "《a_b_ c_》作者：某某.epub");
    assert!(shelf.books.join("《a_b_ c_》作者：某某.epub").exists());
    assert!(epub.exists(), "a copy leaves the original");

    let Added::Known(again) =
        add_file(&shelf.store, &shelf.books, &epub, Intake::Move, None).unwrap()
    else {
        panic!("known")
    };
    assert_eq!(again.id, book.id);
    assert!(!epub.exists(), "a known download is removed, not added twice");
    assert_eq!(crate::fsutil::list_files(&shelf.books).unwrap().len(), 1);

    // A TXT keeps its title and author in its new name: a later scan reads them back.
    let txt = shelf.root.join("《三体》作者：刘慈欣.txt");
    write(&txt, &novel(2));
    let added = add_file(&shelf.store, &shelf.books, &txt, Intake::Copy, None).unwrap();
    let fresh = Store::open(&shelf.root.join("fresh")).unwrap();
    let rescanned = scan(&fresh, &shelf.books).unwrap();
    let again =
        rescanned.added.iter().find(|b| b.title == "三体").expect("read back from the name");
    assert_eq!(
        (again.id.as_str(), again.author.as_deref()),
        (added.book().id.as_str(), Some("刘慈欣"))
    );
}

#[test]
fn provenance_is_kept_and_remove_deletes_the_files() {
    let shelf = shelf("remove");
    let incoming = shelf.root.join("dl.txt");
    write(&incoming, &novel(2));
    let provenance = Provenance {
        source: "gutenberg".into(),
        url: "https://example.org/1.txt".into(),
        entry_id: Some("urn:1".into()),
        rights: Some("Public domain".into()),
        fetched_at: 7,
    };
    let added =
        add_file(&shelf.store, &shelf.books, &incoming, Intake::Move, Some(provenance.clone()))
            .unwrap();
    let id = added.book().id.clone();
    assert_eq!(shelf.store.book(&id).unwrap().unwrap().files[0].provenance, Some(provenance));
    let removed = remove_book(&shelf.store, &shelf.books, &id).unwrap();
    assert!(!shelf.books.join(&removed.files[0].name).exists());
    assert!(shelf.store.book(&id).unwrap().is_none());
    assert!(matches!(
        remove_book(&shelf.store, &shelf.books, &id),
        Err(LibraryError::NoSuchBook(_))
    ));
}

#[test]
fn bad_files_are_refused_with_a_reason_and_the_rest_indexed() {
    let shelf = shelf("bad");
    write(&shelf.books.join("broken.epub"), "this is not a zip");
    write(&shelf.books.join("empty.txt"), "");
    write(&shelf.books.join("notes.pdf"), "%PDF-1.4");
    write(&shelf.books.join("《好书》作者：某.txt"), &novel(2));
    let report = scan(&shelf.store, &shelf.books).unwrap();
    assert_eq!(report.books, 1);
    let reasons: Vec<String> =
        report.refused.iter().map(|(name, why)| format!("{name}: {why}")).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("empty.txt: the file is empty")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("notes.pdf: only .epub")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("broken.epub: ")), "{reasons:?}");
}

#[test]
fn the_catalog_searches_titles_and_authors_and_finds_ids() {
    let shelf = shelf("catalog");
    write(&shelf.books.join("《三体II：黑暗森林》作者：刘慈欣.txt"), &novel(2));
    write(
        &shelf.books.join("Pride and Prejudice by Jane Austen.txt"),
        "It is a truth universally acknowledged.\n",
    );
    scan(&shelf.store, &shelf.books).unwrap();
    let catalog = Catalog::new(shelf.store.books().unwrap());
    assert_eq!(catalog.search("黑暗", 8)[0].title, "三体II：黑暗森林");
    assert_eq!(catalog.search("刘慈欣", 8).len(), 1);
    assert_eq!(catalog.search("ＰＲＩＤＥ austen", 8)[0].title, "Pride and Prejudice");
    assert!(catalog.search("金庸", 8).is_empty());
    let id = catalog.search("pride", 8)[0].id.clone();
    assert_eq!(
        catalog.get(&id.to_uppercase()).map(|b| b.title.as_str()),
        Some("Pride and Prejudice")
    );
}
