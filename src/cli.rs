//! Command-line parsing. The names here are a contract: packaging and docs use them.

use std::path::PathBuf;

use crate::ebook::ConvertOptions;

pub const USAGE: &str = "\
zatan — a WeChat Official Account server for small boxes

USAGE:
    zatan serve    [--config FILE]                 run the server (no config: a demo on 127.0.0.1:8080, token `zatan`)
    zatan check    [--config FILE]                 validate the config and the rules file, print them (secrets masked), check directories
    zatan simulate [--config FILE] [--from OPENID] TEXT
                                                   print the reply the server would give TEXT (rules, commands),
                                                   and on stderr what answered; changes nothing
    zatan convert  IN OUT [--title T] [--author A] [--lang L]
                                                   convert an e-book (.txt .epub .mobi .azw3 -> .epub .txt)
    zatan menu push FILE.json | show | delete [--config FILE]
                                                   set, print or remove the account's custom menu
    zatan books list | add FILE | remove ID | scan | revoke-links [--config FILE]
                                                   show or change the e-book library; revoke-links
                                                   ends every download link given so far
    zatan crawl    [--config FILE] [--source NAME] [--once]
                                                   fill the library from the configured OPDS catalogs
    zatan --version                                print the version
    zatan help                                     print this help

Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.
Logging goes to stderr; ZATAN_LOG=debug overrides log.level.";

pub enum Cli {
    Serve { config: Option<PathBuf> },
    Check { config: Option<PathBuf> },
    Simulate { config: Option<PathBuf>, from: String, text: String },
    Convert { input: PathBuf, output: PathBuf, options: ConvertOptions },
    Menu { config: Option<PathBuf>, action: MenuAction },
    Books { config: Option<PathBuf>, action: BooksAction },
    Crawl { config: Option<PathBuf>, source: Option<String>, once: bool },
    Version,
    Help,
}

/// What `zatan menu` is asked to do.
pub enum MenuAction {
    Push(PathBuf),
    Show,
    Delete,
}

/// What `zatan books` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BooksAction {
    List,
    Add(PathBuf),
    Remove(String),
    Scan,
    /// A new key for download links: every link given before stops working.
    RevokeLinks,
}

/// A usage error: what was wrong, worded for the person at the terminal.
#[derive(Debug, PartialEq)]
pub struct UsageError(pub String);

pub const DEFAULT_SIMULATE_OPENID: &str = "simulated-follower";

/// Parse the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Cli, UsageError> {
    let Some((command, rest)) = args.split_first() else {
        return Err(UsageError(
            "no command given; try `zatan serve` for the demo or `zatan help`".into(),
        ));
    };
    let mut flags = Flags::parse(rest)?;
    let cli = match command.as_str() {
        "serve" => Cli::Serve { config: flags.take_path("--config")? },
        "check" => Cli::Check { config: flags.take_path("--config")? },
        "simulate" => {
            let config = flags.take_path("--config")?;
            let from = flags.take("--from")?.unwrap_or_else(|| DEFAULT_SIMULATE_OPENID.into());
            let text = flags.positional.join(" ");
            flags.positional.clear();
            if text.trim().is_empty() {
                return Err(UsageError(
                    "simulate needs the TEXT a follower would send, e.g. `zatan simulate 帮助`"
                        .into(),
                ));
            }
            Cli::Simulate { config, from, text }
        }
        "convert" => {
            let options = ConvertOptions {
                title: flags.take("--title")?,
                author: flags.take("--author")?,
                lang: flags.take("--lang")?,
            };
            let [input, output] = <[String; 2]>::try_from(std::mem::take(&mut flags.positional))
                .map_err(|_| {
                    UsageError(
                        "convert needs IN and OUT, e.g. `zatan convert book.txt book.epub`".into(),
                    )
                })?;
            Cli::Convert { input: input.into(), output: output.into(), options }
        }
        "menu" => {
            let config = flags.take_path("--config")?;
            let words = std::mem::take(&mut flags.positional);
            let action = match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["push", file] => MenuAction::Push(file.into()),
                ["show"] => MenuAction::Show,
                ["delete"] => MenuAction::Delete,
                _ => {
                    return Err(UsageError(
                        "menu needs `push FILE.json`, `show` or `delete`".into(),
                    ))
                }
            };
            Cli::Menu { config, action }
        }
        "books" => {
            let config = flags.take_path("--config")?;
            let words = std::mem::take(&mut flags.positional);
            let action = match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["list"] => BooksAction::List,
                ["add", file] => BooksAction::Add(file.into()),
                ["remove", id] => BooksAction::Remove(id.into()),
                ["scan"] => BooksAction::Scan,
                ["revoke-links"] => BooksAction::RevokeLinks,
                _ => {
                    return Err(UsageError(
                        "books needs `list`, `add FILE`, `remove ID`, `scan` or `revoke-links`"
                            .into(),
                    ))
                }
            };
            Cli::Books { config, action }
        }
        "crawl" => Cli::Crawl {
            config: flags.take_path("--config")?,
            source: flags.take("--source")?,
            once: flags.take_switch("--once")?,
        },
        "--version" | "-V" | "version" => Cli::Version,
        "help" | "--help" | "-h" => Cli::Help,
        other => return Err(UsageError(format!("unknown command `{other}`; see `zatan help`"))),
    };
    flags.finish(command)?;
    Ok(cli)
}

/// Flags that take no value.
const SWITCHES: [&str; 1] = ["--once"];

/// `--name value` pairs and positional words, taken out one by one so that
/// anything left over is reported instead of ignored.
struct Flags {
    named: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Flags {
    fn parse(args: &[String]) -> Result<Flags, UsageError> {
        let (mut named, mut positional) = (Vec::new(), Vec::new());
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "--" {
                positional.extend(iter.by_ref().cloned());
            } else if let Some((name, value)) =
                arg.split_once('=').filter(|_| arg.starts_with("--"))
            {
                named.push((name.to_string(), value.to_string()));
            } else if SWITCHES.contains(&arg.as_str()) {
                named.push((arg.clone(), String::new()));
            } else if arg.starts_with("--") {
                let value =
                    iter.next().ok_or_else(|| UsageError(format!("{arg} needs a value")))?;
                named.push((arg.clone(), value.clone()));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Flags { named, positional })
    }

    fn take(&mut self, name: &str) -> Result<Option<String>, UsageError> {
        let mut found: Vec<String> = Vec::new();
        self.named.retain(|(n, v)| {
            if n == name {
                found.push(v.clone());
                false
            } else {
                true
            }
        });
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(UsageError(format!("{name} given more than once"))),
        }
    }

    /// A flag without a value (one of [`SWITCHES`]).
    fn take_switch(&mut self, name: &str) -> Result<bool, UsageError> {
        Ok(self.take(name)?.is_some())
    }

    fn take_path(&mut self, name: &str) -> Result<Option<PathBuf>, UsageError> {
        Ok(self.take(name)?.map(PathBuf::from))
    }

    fn finish(self, command: &str) -> Result<(), UsageError> {
        if let Some((name, _)) = self.named.first() {
            return Err(UsageError(format!(
                "`zatan {command}` has no option {name}; see `zatan help`"
            )));
        }
        if let Some(word) = self.positional.first() {
            return Err(UsageError(format!(
                "`zatan {command}` takes no argument `{word}`; see `zatan help`"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &str) -> Result<Cli, UsageError> {
        parse(&words.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn commands_and_flags() {
        assert!(matches!(parse_words("serve"), Ok(Cli::Serve { config: None })));
        assert!(
            matches!(parse_words("check --config a.toml"), Ok(Cli::Check { config: Some(p) }) if p.as_path() == std::path::Path::new("a.toml"))
        );
        assert!(
            matches!(parse_words("serve --config=b.toml"), Ok(Cli::Serve { config: Some(p) }) if p.as_path() == std::path::Path::new("b.toml"))
        );
        assert!(matches!(
            parse_words("simulate --from o1 搜 三体"),
            Ok(Cli::Simulate { config: None, from, text }) if from == "o1" && text == "搜 三体"
        ));
        assert!(matches!(parse_words("--version"), Ok(Cli::Version)));
        assert!(matches!(parse_words("help"), Ok(Cli::Help)));
        assert!(
            matches!(parse_words("menu push m.json"), Ok(Cli::Menu { action: MenuAction::Push(p), .. }) if p.as_path() == std::path::Path::new("m.json"))
        );
        assert!(matches!(
            parse_words("menu show --config c"),
            Ok(Cli::Menu { action: MenuAction::Show, config: Some(_) })
        ));
        assert!(matches!(
            parse_words("books list"),
            Ok(Cli::Books { action: BooksAction::List, config: None })
        ));
        assert!(
            matches!(parse_words("books add a.epub"), Ok(Cli::Books { action: BooksAction::Add(p), .. }) if p.as_path() == std::path::Path::new("a.epub"))
        );
        assert!(
            matches!(parse_words("books remove k3xq7a --config c"), Ok(Cli::Books { action: BooksAction::Remove(id), config: Some(_) }) if id == "k3xq7a")
        );
        assert!(matches!(
            parse_words("books scan"),
            Ok(Cli::Books { action: BooksAction::Scan, .. })
        ));
        assert!(matches!(
            parse_words("crawl"),
            Ok(Cli::Crawl { config: None, source: None, once: false })
        ));
        assert!(matches!(
            parse_words("crawl --once --source gutenberg --config c"),
            Ok(Cli::Crawl { config: Some(_), source: Some(s), once: true }) if s == "gutenberg"
        ));
        let Cli::Convert { input, output, options } =
            parse_words("convert a.txt b.epub --title T --lang zh").unwrap()
        else {
            panic!("convert")
        };
        assert_eq!((input, output), ("a.txt".into(), "b.epub".into()));
        assert_eq!(
            (options.title.as_deref(), options.author, options.lang.as_deref()),
            (Some("T"), None, Some("zh"))
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (words, needle) in [
            ("", "no command"),
            ("serv", "unknown command `serv`"),
            ("serve --confg x", "--confg"),
            ("serve extra", "`extra`"),
            ("serve --config", "--config needs a value"),
            ("simulate", "needs the TEXT"),
            ("convert a.txt", "needs IN and OUT"),
            ("check --config a --config b", "more than once"),
            ("menu", "push FILE.json"),
            ("menu push", "push FILE.json"),
            ("menu show extra", "push FILE.json"),
            ("books", "`list`, `add FILE`"),
            ("books add", "`list`, `add FILE`"),
            ("books remove a b", "`list`, `add FILE`"),
            ("crawl --once --once", "more than once"),
            ("crawl --source", "--source needs a value"),
            ("crawl now", "takes no argument `now`"),
        ] {
            let Err(err) = parse_words(words) else { panic!("{words:?} must fail") };
            assert!(err.0.contains(needle), "{words:?}: {}", err.0);
        }
    }
}
