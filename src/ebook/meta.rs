//! Book metadata, and the guesses that fill it in: title and author from a file
//! name like `《书名》作者：某某.txt`, the author from a `作者：某某` line, the
//! language from the script the text is written in.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookMeta {
    pub title: String,
    pub author: Option<String>,
    /// A BCP 47 language tag: `zh`, `en`, `ja`, ...
    pub lang: String,
}

/// Title and author from a file stem. Recognises `《书名》…作者：某某`,
/// `书名 作者：某某`, `书名_作者：某某` and `Title by Author`.
pub fn from_file_stem(stem: &str) -> (String, Option<String>) {
    let stem = stem.trim();
    let author = ["作者：", "作者:", "作者"]
        .iter()
        .find_map(|marker| stem.find(marker).map(|at| (at, &stem[at + marker.len()..])))
        .map(|(at, rest)| (at, clean_author(rest)));
    let title = match (stem.find('《'), stem.find('》')) {
        (Some(open), Some(close)) if open < close => {
            stem[open + '《'.len_utf8()..close].trim().to_string()
        }
        _ => match author {
            Some((at, _)) => trim_separators(&stem[..at]).to_string(),
            None => stem.to_string(),
        },
    };
    if let Some((_, Some(author))) = author {
        return (fallback_title(title, stem), Some(author));
    }
    if let Some(at) = stem.rfind(" by ") {
        let (title, author) = (stem[..at].trim(), clean_author(&stem[at + 4..]));
        if !title.is_empty() && author.is_some() {
            return (title.to_string(), author);
        }
    }
    (fallback_title(title, stem), None)
}

/// The author named by a front-matter line such as `作者：某某` or `Author: Name`.
pub fn author_in_line(line: &str) -> Option<String> {
    let line = line.trim_matches(|c: char| c.is_whitespace());
    ["作者：", "作者:", "Author:", "author:", "作者 "]
        .iter()
        .find_map(|marker| line.strip_prefix(marker))
        .and_then(clean_author)
        .filter(|a| a.chars().count() <= 30)
}

fn clean_author(raw: &str) -> Option<String> {
    let end = raw.find(['（', '(', '[', '【', '_', '《', '|']).unwrap_or(raw.len());
    let author = raw[..end].trim_matches(|c: char| c.is_whitespace() || "：:，,。.-—".contains(c));
    (!author.is_empty()).then(|| author.to_string())
}

fn trim_separators(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || "_-—·,，".contains(c))
}

fn fallback_title(title: String, stem: &str) -> String {
    if title.is_empty() {
        stem.to_string()
    } else {
        title
    }
}

/// The language a text sample is most likely in, judged by its script.
pub fn detect_lang(sample: &str) -> &'static str {
    let (mut han, mut kana, mut hangul, mut latin) = (0usize, 0usize, 0usize, 0usize);
    for c in sample.chars() {
        match c {
            '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' => han += 1,
            '\u{3040}'..='\u{30FF}' => kana += 1,
            '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' => hangul += 1,
            // The cheap range test first: is_alphabetic looks up a table for
            // every other character (a book's punctuation).
            c if (c.is_ascii() || ('\u{C0}'..='\u{24F}').contains(&c)) && c.is_alphabetic() => {
                latin += 1
            }
            _ => {}
        }
    }
    // One CJK character carries about as much as a short Latin word.
    let cjk = han + kana + hangul;
    if cjk == 0 || cjk * 4 < latin {
        "en"
    } else if hangul > han + kana {
        "ko"
    } else if kana * 10 > cjk {
        "ja"
    } else {
        "zh"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(s: &str) -> (String, Option<String>) {
        from_file_stem(s)
    }

    #[test]
    fn file_name_patterns() {
        assert_eq!(stem("《三体》作者：刘慈欣"), ("三体".into(), Some("刘慈欣".into())));
        assert_eq!(
            stem("《诡秘之主》（校对版全本）作者：爱潜水的乌贼"),
            ("诡秘之主".into(), Some("爱潜水的乌贼".into()))
        );
        assert_eq!(
            stem("凡人修仙传 作者：忘语（精校）"),
            ("凡人修仙传".into(), Some("忘语".into()))
        );
        assert_eq!(stem("凡人修仙传_作者:忘语"), ("凡人修仙传".into(), Some("忘语".into())));
        assert_eq!(stem("《红楼梦》"), ("红楼梦".into(), None));
        assert_eq!(
            stem("Moby Dick by Herman Melville"),
            ("Moby Dick".into(), Some("Herman Melville".into()))
        );
        assert_eq!(stem("plain-name"), ("plain-name".into(), None));
        assert_eq!(stem("作者：某某"), ("作者：某某".into(), Some("某某".into())));
    }

    #[test]
    fn author_lines() {
        assert_eq!(author_in_line("　　作者：天蚕土豆"), Some("天蚕土豆".into()));
        assert_eq!(author_in_line("Author: Jane Austen"), Some("Jane Austen".into()));
        assert_eq!(
            author_in_line("作者说他明天再来，大家都笑了起来，然后一起去吃饭，吃完饭又去看电影。"),
            None
        );
        assert_eq!(author_in_line("他是作者：不是"), None);
    }

    #[test]
    fn language_by_script() {
        assert_eq!(detect_lang("第一章 山雨欲来。He said OK."), "zh");
        assert_eq!(detect_lang("It was the best of times, it was the worst of times."), "en");
        assert_eq!(
            detect_lang("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"),
            "ja"
        );
        assert_eq!(detect_lang("나는 고양이로소이다. 이름은 아직 없다."), "ko");
        assert_eq!(detect_lang("12345 ..."), "en");
    }
}
