//! Keyword rules: the owner's own answers to words and events, read from the
//! TOML file `rules.file` and tried in file order before the built-in
//! commands. What the admin console's keyword replies did, which WeChat turns
//! off once the server URL is on.
//!
//! ```toml
//! [[rule]]
//! keywords = ["价格", "price"]      # match = "exact" (default) | "contains"
//! reply = "价格表见菜单"
//! [[rule]]
//! pattern = '^订单\s*(\d{4,})$'     # a regex; $1..$9 in the answer are its groups
//! reply = "订单 $1 已收到"
//! [[rule]]
//! on = "subscribe"                 # or "click:KEY", "scan:SCENE"
//! reply = "欢迎！"
//! ```
//!
//! Each rule answers in one way: `reply` (text), `image` (a file of
//! `pictures.dir`), `article` (an article's news card) or `command` (a built-in
//! command, as if the follower had sent it).

use std::fmt;
use std::path::{Path, PathBuf};

use regex_lite::Regex;

use super::{find, COMMANDS};
use crate::articles::front_matter::is_plain_file_name;
use crate::published::Published;
use crate::text::fold;
use crate::toml_table::{FromToml, Item, Spanned, Table, TomlError};

/// A rules file is a page of settings, not data: larger ones are refused.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The rules in file order; the default has none.
#[derive(Debug, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// The rules in force, as the rules service last published them.
pub type SharedRules = Published<Rules>;

#[derive(Debug)]
pub struct Rule {
    /// The line of the rule's `[[rule]]` in the file.
    pub line: usize,
    pub trigger: Trigger,
    pub action: Action,
}

/// When a rule answers.
#[derive(Debug)]
pub enum Trigger {
    /// The text, folded, is one of the keywords (as written, and folded).
    Exact(Vec<(String, String)>),
    /// The text, folded, holds one of the keywords.
    Contains(Vec<(String, String)>),
    /// The text, trimmed, matches the regex.
    Pattern(Regex),
    /// A new follower (however they came).
    Subscribe,
    /// A menu button with this key.
    Click(String),
    /// A parametric QR code with this scene: scanned by a follower, or
    /// followed through (EventKey `qrscene_SCENE`).
    Scan(String),
}

/// How a rule answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Reply(String),
    /// A file name in `pictures.dir`.
    Image(String),
    /// An article's slug (its file name without `.md`).
    Article(String),
    /// A built-in command line, such as `搜 三体`.
    Command(String),
}

/// What in a message a rule can match.
#[derive(Debug, Clone, Copy)]
pub enum Said<'a> {
    Text(&'a str),
    /// `scene` is the QR code's scene when the follow came through one.
    Subscribe {
        scene: Option<&'a str>,
    },
    Click(&'a str),
    Scan(&'a str),
}

/// The rule that answers, and its action with a pattern's groups filled in.
pub struct Matched<'a> {
    pub rule: &'a Rule,
    pub action: Action,
}

/// Why a rules file cannot be used, with the place in it when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    pub path: PathBuf,
    /// Line and column (in characters), from 1.
    pub place: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Some((line, column)) => write!(
                f,
                "rules file {}: line {line}, column {column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "rules file {}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for RulesError {}

/// A problem at byte offset `at` of the text.
fn problem<T>(at: usize, message: impl Into<String>) -> Result<T, TomlError> {
    Err(TomlError::new(at, message))
}

/// The file's `[[rule]]` tables, each with its place, before they are checked.
struct RawFile {
    rule: Vec<Spanned<RawRule>>,
}

/// A `[[rule]]` as written: each key optional, others refused.
struct RawRule {
    keywords: Option<Spanned<Vec<Spanned<String>>>>,
    /// The key `match`.
    mode: Option<Spanned<String>>,
    pattern: Option<Spanned<String>>,
    on: Option<Spanned<String>>,
    reply: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    article: Option<Spanned<String>>,
    command: Option<Spanned<String>>,
}

impl RawFile {
    fn read(text: &str) -> Result<RawFile, TomlError> {
        let mut t = Table::parse(text)?;
        let rule = t.value("rule")?.unwrap_or_default();
        t.finish()?;
        Ok(RawFile { rule })
    }
}

impl FromToml for RawRule {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        let mut t = Table::from_item(item, "struct RawRule")?;
        let rule = RawRule {
            keywords: t.get("keywords")?,
            mode: t.get("match")?,
            pattern: t.get("pattern")?,
            on: t.get("on")?,
            reply: t.get("reply")?,
            image: t.get("image")?,
            article: t.get("article")?,
            command: t.get("command")?,
        };
        t.finish()?;
        Ok(rule)
    }
}

impl Rules {
    /// The rules of the file at `path`; None when there is no such file
    /// (no rules). The error says where in the file, and what to change.
    pub fn load(path: &Path) -> Result<Option<Rules>, RulesError> {
        let error =
            |place, message: String| RulesError { path: path.to_path_buf(), place, message };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(error(None, format!("cannot read it: {e}"))),
        };
        if meta.len() > MAX_FILE_BYTES {
            return Err(error(
                None,
                format!("{} bytes is over the {MAX_FILE_BYTES}-byte limit", meta.len()),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| error(None, format!("cannot read it: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| error(None, "it is not UTF-8 text; save it as UTF-8".into()))?;
        Rules::from_text(&text, path).map(Some)
    }

    /// The rules of `text`, the content of the file at `path`.
    pub fn from_text(text: &str, path: &Path) -> Result<Rules, RulesError> {
        Rules::parse(text).map_err(|p| RulesError {
            path: path.to_path_buf(),
            place: p.at.map(|at| line_and_column(text, at)),
            message: p.message,
        })
    }

    fn parse(text: &str) -> Result<Rules, TomlError> {
        let raw = RawFile::read(text).map_err(|mut e| {
            if e.message.contains("unknown field") {
                e.message.push_str("; a rule has keywords, match, pattern, on, reply, image, article, command (see the README)");
            }
            e
        })?;
        let rules = raw.rule.into_iter().map(|raw| rule(raw, text)).collect::<Result<_, _>>()?;
        Ok(Rules { rules })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// The first rule, in file order, that answers `said`.
    pub fn find(&self, said: Said) -> Option<Matched<'_>> {
        // Most accounts have no rules: then no folded copy of every message.
        if self.rules.is_empty() {
            return None;
        }
        let folded = match said {
            Said::Text(text) => fold(text),
            _ => String::new(),
        };
        self.rules.iter().find_map(|rule| {
            let matched = |action: Action| Some(Matched { rule, action });
            match (&rule.trigger, said) {
                (Trigger::Exact(words), Said::Text(_)) => {
                    words.iter().any(|(_, w)| *w == folded).then(|| rule.action.clone())
                }
                (Trigger::Contains(words), Said::Text(_)) => words
                    .iter()
                    .any(|(_, w)| folded.contains(w.as_str()))
                    .then(|| rule.action.clone()),
                (Trigger::Pattern(regex), Said::Text(text)) => {
                    let captures = regex.captures(text.trim())?;
                    let group = |n: usize| captures.get(n).map_or("", |m| m.as_str());
                    Some(match &rule.action {
                        Action::Reply(reply) => Action::Reply(fill(reply, group)),
                        Action::Command(line) => Action::Command(fill(line, group)),
                        other => other.clone(),
                    })
                }
                (Trigger::Subscribe, Said::Subscribe { .. }) => Some(rule.action.clone()),
                (Trigger::Click(key), Said::Click(clicked)) => {
                    (key == clicked).then(|| rule.action.clone())
                }
                (
                    Trigger::Scan(scene),
                    Said::Scan(scanned) | Said::Subscribe { scene: Some(scanned) },
                ) => (scene == scanned).then(|| rule.action.clone()),
                _ => None,
            }
            .and_then(matched)
        })
    }

    /// A warning for each rule that takes a built-in command's words (or a
    /// menu key that would run a command): followers get the rule's answer
    /// instead of the command.
    pub fn shadowing(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for rule in &self.rules {
            let line = rule.line;
            let mut shadowed = |what: String, command: &str| {
                warnings.push(format!(
                    "the rule at line {line} shadows the command {command}: {what} gets the rule's answer instead"
                ))
            };
            match &rule.trigger {
                Trigger::Exact(words) => {
                    for (word, _) in words {
                        if let Some((command, _)) = find(word) {
                            shadowed(format!("「{word}」"), command.names[0]);
                        }
                    }
                }
                Trigger::Contains(words) => {
                    for (word, folded) in words {
                        for command in COMMANDS {
                            if command.names.iter().any(|name| fold(name).contains(folded.as_str()))
                            {
                                shadowed(
                                    format!("every message holding 「{word}」"),
                                    command.names[0],
                                );
                            }
                        }
                    }
                }
                Trigger::Pattern(regex) => {
                    for command in COMMANDS {
                        if let Some(name) = command.names.iter().find(|name| regex.is_match(name)) {
                            shadowed(
                                format!("「{name}」 (the pattern matches it)"),
                                command.names[0],
                            );
                        }
                    }
                }
                Trigger::Click(key) => {
                    if let Some((command, _)) = find(key) {
                        shadowed(format!("the menu button with key {key:?}"), command.names[0]);
                    }
                }
                Trigger::Subscribe | Trigger::Scan(_) => {}
            }
        }
        warnings
    }

    /// The rule answering new followers, which takes the place of `wechat.welcome`.
    pub fn welcome(&self) -> Option<&Rule> {
        self.rules.iter().find(|r| matches!(r.trigger, Trigger::Subscribe))
    }
}

impl fmt::Display for Rule {
    /// `line 3: 价格, price (exact) → reply "价格表见菜单"`, for `zatan check`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = |words: &[(String, String)]| {
            words.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(", ")
        };
        write!(f, "line {}: ", self.line)?;
        match &self.trigger {
            Trigger::Exact(w) => write!(f, "{} (exact)", words(w))?,
            Trigger::Contains(w) => write!(f, "{} (contains)", words(w))?,
            Trigger::Pattern(regex) => write!(f, "pattern {:?}", regex.as_str())?,
            Trigger::Subscribe => f.write_str("on subscribe")?,
            Trigger::Click(key) => write!(f, "on click {key:?}")?,
            Trigger::Scan(scene) => write!(f, "on scan {scene:?}")?,
        }
        match &self.action {
            Action::Reply(text) => {
                let shown = crate::text::shorten(&text.replace('\n', " "), 60);
                write!(f, " → reply {shown:?}")
            }
            Action::Image(name) => write!(f, " → image {name:?}"),
            Action::Article(slug) => write!(f, " → article {slug:?}"),
            Action::Command(line) => write!(f, " → command {line:?}"),
        }
    }
}

fn rule(raw: Spanned<RawRule>, text: &str) -> Result<Rule, TomlError> {
    let at = raw.span().start;
    let line = line_and_column(text, at).0;
    let name = format!("the rule at line {line}");
    let raw = raw.into_inner();
    let trigger = match (raw.keywords, raw.pattern, raw.on) {
        (Some(keywords), None, None) => keyword_trigger(keywords, raw.mode)?,
        (None, Some(pattern), None) => pattern_trigger(&name, pattern, raw.mode)?,
        (None, None, Some(on)) => match raw.mode {
            Some(mode) => {
                return problem(
                    mode.span().start,
                    "`match` is for keywords; an `on` rule answers its event",
                )
            }
            None => event_trigger(on)?,
        },
        (None, None, None) => {
            return problem(
                at,
                format!("{name} needs `keywords`, `pattern` or `on` to say what it answers"),
            )
        }
        _ => {
            return problem(
                at,
                format!(
                "{name} has more than one of `keywords`, `pattern` and `on`; make one rule of each"
            ),
            )
        }
    };
    let actions: Vec<(&str, Spanned<String>)> = [
        ("reply", raw.reply),
        ("image", raw.image),
        ("article", raw.article),
        ("command", raw.command),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|v| (key, v)))
    .collect();
    let (key, value) = match <[_; 1]>::try_from(actions) {
        Ok([action]) => action,
        Err(actions) if actions.is_empty() => {
            return problem(
                at,
                format!("{name} needs one of `reply`, `image`, `article` or `command` to say how it answers"),
            )
        }
        Err(actions) => {
            let keys: Vec<&str> = actions.iter().map(|(key, _)| *key).collect();
            return problem(
                actions[1].1.span().start,
                format!("{name} has {}; a rule answers in one way only", keys.join(" and ")),
            );
        }
    };
    let value_at = value.span().start;
    let value = value.into_inner();
    let groups = match &trigger {
        Trigger::Pattern(regex) => Some(regex.captures_len() - 1),
        _ => None,
    };
    let check_groups = |template: &str| match groups {
        Some(groups) => {
            let mut highest = 0;
            fill(template, |n| {
                highest = highest.max(n);
                ""
            });
            if highest > groups {
                problem(
                    value_at,
                    format!("`{key}` uses ${highest}, but the pattern has {groups} groups"),
                )
            } else {
                Ok(())
            }
        }
        None => Ok(()),
    };
    let action = match key {
        "reply" => {
            if value.trim().is_empty() {
                return problem(value_at, "`reply` is empty; write the answer, or remove the rule");
            }
            check_groups(&value)?;
            Action::Reply(value)
        }
        "image" => {
            if !is_plain_file_name(&value) {
                return problem(value_at, "`image` is the name of a file in pictures.dir, such as \"qr.png\", without a directory");
            }
            Action::Image(value)
        }
        "article" => {
            if let Some(slug) = value.strip_suffix(crate::articles::EXTENSION) {
                return problem(
                    value_at,
                    format!("`article` is the article's name without .md: \"{slug}\""),
                );
            }
            if !is_plain_file_name(&value) {
                return problem(value_at, "`article` is the name of an article file in articles.dir without .md, such as \"spring-notes\"");
            }
            Action::Article(value)
        }
        _ => {
            check_groups(&value)?;
            if find(&value).is_none() {
                let usages: Vec<&str> = COMMANDS.iter().map(|c| c.usage).collect();
                return problem(
                    value_at,
                    format!(
                        "`command` {value:?} does not start with a built-in command; they are: {}",
                        usages.join("; ")
                    ),
                );
            }
            Action::Command(value)
        }
    };
    Ok(Rule { line, trigger, action })
}

fn keyword_trigger(
    keywords: Spanned<Vec<Spanned<String>>>,
    mode: Option<Spanned<String>>,
) -> Result<Trigger, TomlError> {
    let list_at = keywords.span().start;
    let keywords = keywords.into_inner();
    if keywords.is_empty() {
        return problem(list_at, "`keywords` is empty; list the words this rule answers");
    }
    let mut words = Vec::new();
    for keyword in keywords {
        let folded = fold(keyword.get_ref());
        if folded.is_empty() {
            return problem(keyword.span().start, "a keyword is empty");
        }
        words.push((keyword.into_inner(), folded));
    }
    match mode.as_ref().map(|m| (m.get_ref().as_str(), m.span().start)) {
        None | Some(("exact", _)) => Ok(Trigger::Exact(words)),
        Some(("contains", _)) => Ok(Trigger::Contains(words)),
        Some(("regex", at)) => {
            problem(at, "`match = \"regex\"` goes with `pattern = '...'` instead of `keywords`")
        }
        Some((other, at)) => {
            problem(at, format!("`match` is \"exact\", \"contains\" or \"regex\", not {other:?}"))
        }
    }
}

fn pattern_trigger(
    name: &str,
    pattern: Spanned<String>,
    mode: Option<Spanned<String>>,
) -> Result<Trigger, TomlError> {
    if let Some(mode) = mode.filter(|m| m.get_ref() != "regex") {
        return problem(
            mode.span().start,
            "`pattern` is a regex: leave `match` out, or write `match = \"regex\"`",
        );
    }
    let at = pattern.span().start;
    match Regex::new(pattern.get_ref()) {
        Ok(regex) => Ok(Trigger::Pattern(regex)),
        Err(e) => problem(at, format!("the pattern of {name} does not compile: {e}")),
    }
}

fn event_trigger(on: Spanned<String>) -> Result<Trigger, TomlError> {
    let at = on.span().start;
    let on = on.into_inner();
    let keyed = |prefix: &str| {
        on.get(..prefix.len())
            .filter(|p| p.eq_ignore_ascii_case(prefix))
            .map(|_| on[prefix.len()..].to_string())
    };
    if on.eq_ignore_ascii_case("subscribe") {
        return Ok(Trigger::Subscribe);
    }
    match (keyed("click:"), keyed("scan:")) {
        (Some(key), _) if !key.is_empty() => Ok(Trigger::Click(key)),
        (_, Some(scene)) if !scene.is_empty() => Ok(Trigger::Scan(scene)),
        _ => problem(
            at,
            format!("`on` is \"subscribe\", \"click:KEY\" (a menu button's key) or \"scan:SCENE\" (a QR code's scene), not {on:?}"),
        ),
    }
}

/// `template` with `$1`..`$9` replaced by `group(n)` and `$$` by `$`; any
/// other `$` stays as it is.
fn fill<'a>(template: &str, mut group: impl FnMut(usize) -> &'a str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some(d @ '1'..='9') => {
                chars.next();
                out.push_str(group(d as usize - '0' as usize));
            }
            _ => out.push('$'),
        }
    }
    out
}

/// The line and column (in characters) of byte offset `at`, both from 1.
fn line_and_column(text: &str, at: usize) -> (usize, usize) {
    let at = crate::text::prefix(text, at).len();
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Rules {
        match Rules::parse(text) {
            Ok(rules) => rules,
            Err(p) => panic!("{}: {:?}", p.message, p.at.map(|at| line_and_column(text, at))),
        }
    }

    /// The error's line, column and message.
    fn error(text: &str) -> (usize, usize, String) {
        let Err(p) = Rules::parse(text) else { panic!("{text} must be refused") };
        let (line, column) = line_and_column(text, p.at.expect("a place"));
        (line, column, p.message)
    }

    fn answer(rules: &Rules, said: Said) -> Option<(usize, Action)> {
        rules.find(said).map(|m| (m.rule.line, m.action))
    }

    /// The example the README shows, kept in the sources for owners to copy.
    const EXAMPLE: &str = include_str!("../../rules.example.toml");

    #[test]
    fn every_kind_of_rule_matches_what_it_should() {
        let rules = parse(EXAMPLE);
        assert_eq!(rules.len(), 10);
        let reply = |line, text: &str| Some((line, Action::Reply(text.into())));
        assert_eq!(answer(&rules, Said::Text("价格")), reply(5, "价格表见菜单"));
        assert_eq!(answer(&rules, Said::Text("  ＰＲＩＣＥ ")), reply(5, "价格表见菜单"), "folded");
        assert_eq!(answer(&rules, Said::Text("价格呢")), None, "exact is exact");
        assert_eq!(answer(&rules, Said::Text("有优惠吗")), reply(9, "本周优惠：满百减十"));
        assert_eq!(answer(&rules, Said::Text("订单 12345")), reply(14, "订单 12345 已收到"));
        assert_eq!(answer(&rules, Said::Text("订单 123")), None);
        assert_eq!(
            answer(&rules, Said::Text("二维码")),
            Some((19, Action::Image("qr.png".into())))
        );
        assert_eq!(
            answer(&rules, Said::Text("最新")),
            Some((23, Action::Article("spring-notes".into())))
        );
        assert_eq!(
            answer(&rules, Said::Text("找书")),
            Some((27, Action::Command("搜 三体".into())))
        );
        assert_eq!(answer(&rules, Said::Scan("shop")), reply(31, "欢迎光临门店"));
        assert_eq!(answer(&rules, Said::Subscribe { scene: None }), reply(35, "欢迎！"));
        assert_eq!(answer(&rules, Said::Click("PRICE")), reply(39, "价格表：一本十元"));
        assert_eq!(answer(&rules, Said::Click("price")), None, "menu keys are exact");
        assert_eq!(answer(&rules, Said::Text("你好")), None);
        assert_eq!(rules.welcome().map(|r| r.line), Some(35));
    }

    #[test]
    fn the_first_rule_in_file_order_wins() {
        let rules = parse(
            "[[rule]]\non = \"scan:shop\"\nreply = \"扫码\"\n[[rule]]\non = \"subscribe\"\nreply = \"关注\"\n",
        );
        // A follow through the shop's QR code is a scan of that scene too.
        let said = Said::Subscribe { scene: Some("shop") };
        assert_eq!(answer(&rules, said), Some((1, Action::Reply("扫码".into()))));
        let said = Said::Subscribe { scene: Some("other") };
        assert_eq!(answer(&rules, said), Some((4, Action::Reply("关注".into()))));
    }

    #[test]
    fn regex_groups_fill_replies_and_commands() {
        let rules = parse(
            "[[rule]]\npattern = '^查\\s*(\\S+)\\s*(\\S*)$'\ncommand = \"搜 $1 $2\"\n\
             [[rule]]\npattern = '(?i)^hello (\\w+)'\nreply = \"hi $1, $$ and $x\"\n",
        );
        assert_eq!(
            answer(&rules, Said::Text("查 三体 刘")),
            Some((1, Action::Command("搜 三体 刘".into())))
        );
        assert_eq!(
            answer(&rules, Said::Text("HELLO Bob")),
            Some((4, Action::Reply("hi Bob, $ and $x".into())))
        );
    }

    #[test]
    fn mistakes_name_the_place_and_what_to_do() {
        for (text, place, words) in [
            ("[[rule]]\nkeywords = [\"a\"]\nrepyl = \"x\"\n", (3, 1), "unknown field `repyl`"),
            ("[[rule]]\nkeywords = [\"a\"]\nreply = \"x\n", (3, 11), "invalid basic string"),
            ("[[rule]]\nkeywords = \"a\"\nreply = \"x\"\n", (2, 12), "expected a sequence"),
            ("[[rules]]\n", (1, 3), "unknown field `rules`"),
            ("[[rule]]\nreply = \"x\"\n", (1, 1), "needs `keywords`, `pattern` or `on`"),
            ("[[rule]]\nkeywords = [\"a\"]\n", (1, 1), "needs one of `reply`, `image`"),
            (
                "[[rule]]\nkeywords = [\"a\"]\nreply = \"x\"\nimage = \"a.png\"\n",
                (4, 9),
                "has reply and image",
            ),
            (
                "[[rule]]\nkeywords = [\"a\"]\non = \"subscribe\"\nreply = \"x\"\n",
                (1, 1),
                "more than one of",
            ),
            ("[[rule]]\nkeywords = []\nreply = \"x\"\n", (2, 12), "`keywords` is empty"),
            (
                "[[rule]]\nkeywords = [\"a\", \"  \"]\nreply = \"x\"\n",
                (2, 18),
                "a keyword is empty",
            ),
            (
                "[[rule]]\nkeywords = [\"a\"]\nmatch = \"fuzzy\"\nreply = \"x\"\n",
                (3, 9),
                "\"exact\", \"contains\" or \"regex\"",
            ),
            (
                "[[rule]]\nkeywords = [\"a\"]\nmatch = \"regex\"\nreply = \"x\"\n",
                (3, 9),
                "goes with `pattern",
            ),
            (
                "\n[[rule]]\npattern = '^订单('\nreply = \"x\"\n",
                (3, 11),
                "the pattern of the rule at line 2 does not compile",
            ),
            (
                "[[rule]]\npattern = 'a(b)'\nmatch = \"contains\"\nreply = \"x\"\n",
                (3, 9),
                "leave `match` out",
            ),
            (
                "[[rule]]\npattern = 'a(b)'\nreply = \"$1 $2\"\n",
                (3, 9),
                "uses $2, but the pattern has 1 groups",
            ),
            ("[[rule]]\non = \"follow\"\nreply = \"x\"\n", (2, 6), "\"subscribe\", \"click:KEY\""),
            ("[[rule]]\non = \"click:\"\nreply = \"x\"\n", (2, 6), "not \"click:\""),
            (
                "[[rule]]\non = \"subscribe\"\nmatch = \"exact\"\nreply = \"x\"\n",
                (3, 9),
                "an `on` rule",
            ),
            ("[[rule]]\nkeywords = [\"a\"]\nreply = \"  \"\n", (3, 9), "`reply` is empty"),
            (
                "[[rule]]\nkeywords = [\"a\"]\nimage = \"../qr.png\"\n",
                (3, 9),
                "without a directory",
            ),
            (
                "[[rule]]\nkeywords = [\"a\"]\narticle = \"spring.md\"\n",
                (3, 11),
                "without .md: \"spring\"",
            ),
            (
                "[[rule]]\nkeywords = [\"a\"]\ncommand = \"买 书\"\n",
                (3, 11),
                "does not start with a built-in command",
            ),
            ("[[rule]]\n  keywords = [\"价格\"]\n  reply = 5\n", (3, 11), "expected a string"),
        ] {
            let (line, column, message) = error(text);
            assert_eq!((line, column), place, "{text}: {message}");
            assert!(message.contains(words), "{text}: {message}");
        }
    }

    #[test]
    fn a_missing_file_is_no_rules_and_a_bad_one_an_error_naming_it() {
        let tmp = crate::temp_dir::TempDir::new("rules-load");
        let path = tmp.path().join("rules.toml");
        assert!(Rules::load(&path).unwrap().is_none());
        std::fs::write(&path, "[[rule]]\nkeywords = [\"价格\"]\nreply = \n").unwrap();
        let err = Rules::load(&path).unwrap_err();
        assert_eq!(err.place, Some((3, 9)));
        assert!(
            err.to_string()
                .starts_with(&format!("rules file {}: line 3, column 9: ", path.display())),
            "{err}"
        );
        std::fs::write(&path, b"[[rule]]\nreply = \"\xff\"\n").unwrap();
        assert!(Rules::load(&path).unwrap_err().to_string().contains("UTF-8"));
        std::fs::write(&path, EXAMPLE).unwrap();
        assert_eq!(Rules::load(&path).unwrap().unwrap().len(), 10);
    }

    #[test]
    fn rules_that_take_a_commands_words_are_warned_about() {
        let rules = parse(
            "[[rule]]\nkeywords = [\"帮助\", \"fine\"]\nreply = \"x\"\n\
             [[rule]]\nkeywords = [\"搜\"]\nmatch = \"contains\"\nreply = \"x\"\n\
             [[rule]]\npattern = '^文'\nreply = \"x\"\n\
             [[rule]]\non = \"click:help\"\nreply = \"x\"\n\
             [[rule]]\nkeywords = [\"价格\"]\nreply = \"x\"\n",
        );
        let warnings = rules.shadowing();
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(
            warnings[0].contains("line 1")
                && warnings[0].contains("「帮助」")
                && warnings[0].contains("help")
        );
        assert!(warnings[1].contains("line 4") && warnings[1].contains("search"));
        assert!(warnings[2].contains("line 8") && warnings[2].contains("articles"));
        assert!(warnings[3].contains("line 11") && warnings[3].contains("menu button"));
    }

    #[test]
    fn rules_describe_themselves_for_check() {
        let rules = parse(EXAMPLE);
        let shown: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        assert_eq!(shown[0], "line 5: 价格, price (exact) → reply \"价格表见菜单\"");
        assert_eq!(
            shown[2],
            "line 14: pattern \"^订单\\\\s*(\\\\d{4,})$\" → reply \"订单 $1 已收到\""
        );
        assert_eq!(shown[5], "line 27: 找书 (exact) → command \"搜 三体\"");
        assert_eq!(shown[6], "line 31: on scan \"shop\" → reply \"欢迎光临门店\"");
        let warnings = rules.shadowing();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line 43 shadows the command help"), "{warnings:?}");
    }
}
