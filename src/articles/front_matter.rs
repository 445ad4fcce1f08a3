//! The small header of an article file: `key: value` lines between two `---`
//! lines at the very top. Parsed by hand: five keys need no YAML.
//!
//! ```text
//! ---
//! title: 春天的第一场雨
//! date: 2024-03-21
//! summary: 一句话介绍
//! cover: rain.jpg
//! draft: false
//! author: 小明
//! comments: true
//! ---
//! ```

use std::fmt;

/// A calendar day, as written in `date:` (`YYYY-MM-DD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let digits = |s: &str| {
            s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse::<u16>().ok()).flatten()
        };
        let (year, month, day) = (digits(y)?, digits(m)?, digits(d)?);
        let date = Date { year, month: u8::try_from(month).ok()?, day: u8::try_from(day).ok()? };
        (year >= 1
            && (1..=12).contains(&date.month)
            && date.day >= 1
            && date.day <= days_in_month(year, date.month))
        .then_some(date)
    }

    /// The day in Beijing time (UTC+8, WeChat's time zone) of a Unix time.
    pub fn beijing(unix_secs: u64) -> Date {
        let days = (unix_secs + 8 * 3600) / 86_400;
        civil_from_days(days as i64)
    }

    /// `2024年3月21日`
    pub fn chinese(&self) -> String {
        format!("{}年{}月{}日", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-since-1970 to calendar date.
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    Date { year, month, day }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub date: Option<Date>,
    pub summary: Option<String>,
    /// A file name in `pictures.dir`.
    pub cover: Option<String>,
    pub draft: bool,
    /// The author WeChat shows on the draft (else `articles.author`).
    pub author: Option<String>,
    /// Open the WeChat article to comments (`need_open_comment`).
    pub comments: bool,
}

pub const KEYS: &str = "title, date, summary, cover, draft, author, comments";

/// Splits `text` into its front matter and the markdown after it. A file
/// without a `---` first line has no front matter. The error names the line.
pub fn split(text: &str) -> Result<(FrontMatter, &str), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "---" => {}
        _ => return Ok((FrontMatter::default(), text)),
    }
    let mut matter = FrontMatter::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut offset = text.find('\n').map_or(text.len(), |at| at + 1);
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        offset += line.len();
        let line = line.trim();
        if line == "---" {
            return Ok((matter, &text[offset..]));
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!(
                "front matter line {number}: expected `key: value`, found {line:?}"
            ));
        };
        let key = key.trim();
        if seen.contains(&key) {
            return Err(format!("front matter line {number}: `{key}` is given twice"));
        }
        let value = unquote(value.trim());
        let text_value = || (!value.is_empty()).then(|| value.to_string());
        match key {
            "title" => matter.title = text_value(),
            "summary" => matter.summary = text_value(),
            "date" => {
                matter.date = Some(Date::parse(value).ok_or_else(|| {
                    format!(
                    "front matter line {number}: date {value:?} is not a day written YYYY-MM-DD"
                )
                })?)
            }
            "cover" => {
                if !value.is_empty() && !is_plain_file_name(value) {
                    return Err(format!(
                        "front matter line {number}: cover {value:?} must be the name of a file in pictures.dir, without a path"
                    ));
                }
                matter.cover = text_value();
            }
            "author" => matter.author = text_value(),
            "draft" | "comments" => {
                let yes = match value.to_ascii_lowercase().as_str() {
                    "true" | "yes" => true,
                    "false" | "no" | "" => false,
                    _ => {
                        return Err(format!(
                            "front matter line {number}: {key} {value:?} is not true or false"
                        ))
                    }
                };
                if key == "draft" {
                    matter.draft = yes;
                } else {
                    matter.comments = yes;
                }
            }
            _ => {
                return Err(format!(
                    "front matter line {number}: unknown key `{key}` (known keys: {KEYS})"
                ))
            }
        }
        seen.push(key);
    }
    Err("front matter has no closing `---` line".into())
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

/// A bare file name: no directory part, not hidden, nothing a path could
/// climb out with. What the pictures URL and the `cover` key accept.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys_and_the_body_after() {
        let text = "---\ntitle: 春雨\ndate: 2024-03-21\nsummary: \"一句话: 介绍\"\ncover: rain.jpg\ndraft: yes\nauthor: 小明\ncomments: true\n---\n# 正文\n";
        let (matter, body) = split(text).unwrap();
        assert_eq!(matter.title.as_deref(), Some("春雨"));
        assert_eq!(matter.date, Some(Date { year: 2024, month: 3, day: 21 }));
        assert_eq!(matter.summary.as_deref(), Some("一句话: 介绍"));
        assert_eq!(matter.cover.as_deref(), Some("rain.jpg"));
        assert!(matter.draft);
        assert_eq!(matter.author.as_deref(), Some("小明"));
        assert!(matter.comments);
        assert_eq!(body, "# 正文\n");
    }

    #[test]
    fn no_front_matter_is_all_body() {
        let (matter, body) = split("# Hello\n\ntext\n").unwrap();
        assert_eq!(matter, FrontMatter::default());
        assert_eq!(body, "# Hello\n\ntext\n");
        let (_, body) = split("\u{feff}---\r\ntitle: x\r\n---\r\nbody").unwrap();
        assert_eq!(body, "body");
    }

    #[test]
    fn bad_front_matter_says_which_line_and_why() {
        for (text, needle) in [
            ("---\ntitle: a\n", "no closing"),
            ("---\ntitel: a\n---\n", "line 2: unknown key `titel`"),
            ("---\ntitle: a\ndate: 2024-02-30\n---\n", "line 3: date"),
            ("---\ndate: 24-1-1\n---\n", "YYYY-MM-DD"),
            ("---\ncover: ../secret.jpg\n---\n", "without a path"),
            ("---\ndraft: maybe\n---\n", "draft"),
            ("---\ncomments: often\n---\n", "comments \"often\" is not true or false"),
            ("---\njust words\n---\n", "key: value"),
            ("---\ntitle: a\ntitle: b\n---\n", "twice"),
        ] {
            let err = split(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn dates_are_real_days() {
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("2024-13-01").is_none());
        assert!(Date::parse("2024-1-01").is_none());
        assert!(Date::parse("+024-01-01").is_none());
        assert!(Date::parse("2024-01-01") < Date::parse("2024-01-02"));
    }

    #[test]
    fn unix_times_become_beijing_days() {
        assert_eq!(Date::beijing(0).to_string(), "1970-01-01");
        // 2024-03-20 16:00 UTC is already the 21st in Beijing.
        assert_eq!(Date::beijing(1_710_950_400).to_string(), "2024-03-21");
        assert_eq!(Date::beijing(1_710_950_399).to_string(), "2024-03-20");
        assert_eq!(Date::beijing(951_782_400).to_string(), "2000-02-29");
        assert_eq!(Date { year: 2024, month: 3, day: 1 }.chinese(), "2024年3月1日");
    }

    #[test]
    fn plain_file_names_only() {
        for ok in ["a.jpg", "春天 1.png"] {
            assert!(is_plain_file_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b.jpg", "..\\x", "a\0b", "/etc/passwd"] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }
}
