//! Typed, spanned reading of a parsed TOML table, for the config and the rules
//! file.
//!
//! toml's parse tree (`toml::de::DeTable`) is read key by key instead of
//! through serde: each derived `Deserialize` instantiated toml's serde
//! deserializer again (127 KB of the static binary for zatan's structs). The
//! errors keep serde's wording (`invalid type: string "a", expected a
//! sequence`, `unknown field `x`, expected one of ...`), and each carries the
//! byte offset of the key or value it is about.

use std::ops::Range;
use std::path::PathBuf;

use toml::de::{DeInteger, DeTable, DeValue};
pub use toml::Spanned;

/// A value of the parse tree, with its span in the text.
pub type Item<'i> = Spanned<DeValue<'i>>;

/// What is wrong, at a byte offset of the text (None: toml gave no place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlError {
    pub at: Option<usize>,
    pub message: String,
}

impl TomlError {
    pub fn new(at: usize, message: impl Into<String>) -> Self {
        TomlError { at: Some(at), message: message.into() }
    }
}

/// Whatever a key's value is read as.
pub trait FromToml: Sized {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError>;
}

/// The value as serde names what it did not expect: `string "a"`, `integer `5``.
fn unexpected(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("string {s:?}"),
        DeValue::Integer(i) => {
            format!("integer `{}`", integer(i).map_or(i.to_string(), |n| n.to_string()))
        }
        DeValue::Float(f) => {
            let shown = f.as_str().parse::<f64>().map_or(f.as_str().to_string(), |f| {
                let shown = f.to_string();
                if f.is_finite() && !shown.contains('.') {
                    format!("{shown}.0")
                } else {
                    shown
                }
            });
            format!("floating point `{shown}`")
        }
        DeValue::Boolean(b) => format!("boolean `{b}`"),
        DeValue::Datetime(d) => format!("datetime `{d}`"),
        DeValue::Array(_) => "sequence".into(),
        DeValue::Table(_) => "map".into(),
    }
}

/// `invalid type: <what it is>, expected <expected>` at the value.
pub fn invalid_type(item: &Item<'_>, expected: &str) -> TomlError {
    TomlError::new(
        item.span().start,
        format!("invalid type: {}, expected {expected}", unexpected(item.get_ref())),
    )
}

/// serde's list of names: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".into(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => format!(
            "one of {}",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn integer(i: &DeInteger<'_>) -> Option<i128> {
    i128::from_str_radix(i.as_str(), i.radix()).ok()
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromToml for $t {
            fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
                let DeValue::Integer(i) = item.get_ref() else {
                    return Err(invalid_type(&item, stringify!($t)));
                };
                let at = item.span().start;
                let n = integer(i).ok_or_else(|| TomlError::new(at, "integer number overflowed"))?;
                <$t>::try_from(n).map_err(|_| {
                    TomlError::new(
                        at,
                        format!("invalid value: integer `{n}`, expected {}", stringify!($t)),
                    )
                })
            }
        }
    )*};
}

integers!(u64, u32, usize, i64);

impl FromToml for bool {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        item.get_ref().as_bool().ok_or_else(|| invalid_type(&item, "a boolean"))
    }
}

impl FromToml for String {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        string(item, "a string")
    }
}

impl FromToml for PathBuf {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        string(item, "path string").map(PathBuf::from)
    }
}

/// The string of `item`, or serde's type error naming `expected`.
pub fn string(item: Item<'_>, expected: &str) -> Result<String, TomlError> {
    let span = item.span();
    match item.into_inner() {
        DeValue::String(s) => Ok(s.into_owned()),
        other => Err(invalid_type(&Spanned::new(span, other), expected)),
    }
}

impl<T: FromToml> FromToml for Vec<T> {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        let span = item.span();
        match item.into_inner() {
            DeValue::Array(items) => items.into_iter().map(T::from_toml).collect(),
            other => Err(invalid_type(&Spanned::new(span, other), "a sequence")),
        }
    }
}

impl<T: FromToml> FromToml for Spanned<T> {
    fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
        let span = item.span();
        T::from_toml(item).map(|value| Spanned::new(span, value))
    }
}

/// The variant of `variants` that the string `item` names.
pub fn variant<T: Copy>(item: Item<'_>, variants: &[(&str, T)]) -> Result<T, TomlError> {
    let names: Vec<&str> = variants.iter().map(|(name, _)| *name).collect();
    let Some(name) = item.get_ref().as_str() else {
        return Err(invalid_type(&item, &one_of(&names)));
    };
    variants.iter().find(|(n, _)| *n == name).map(|(_, value)| *value).ok_or_else(|| {
        TomlError::new(
            item.span().start,
            format!("unknown variant `{name}`, expected {}", one_of(&names)),
        )
    })
}

/// A struct read from the table `item` (or a type error naming `expected`):
/// its `Default`, with `read` setting what the table has; other keys are errors.
pub fn read_table<T: Default>(
    item: Item<'_>,
    expected: &str,
    read: impl FnOnce(&mut Table<'_>, &mut T) -> Result<(), TomlError>,
) -> Result<T, TomlError> {
    let mut table = Table::from_item(item, expected)?;
    let mut value = T::default();
    read(&mut table, &mut value)?;
    table.finish()?;
    Ok(value)
}

/// A table being read: each key is taken at most once, and `finish` refuses
/// the keys no one took.
pub struct Table<'i> {
    entries: DeTable<'i>,
    span: Range<usize>,
    /// The keys asked for, in the order asked: serde's "expected one of".
    asked: Vec<&'static str>,
}

impl<'i> Table<'i> {
    /// The document `text`, with toml's own message and place when it is not TOML.
    pub fn parse(text: &'i str) -> Result<Table<'i>, TomlError> {
        let root = toml::de::DeTable::parse(text).map_err(|e| TomlError {
            at: e.span().map(|s| s.start),
            message: e.message().to_string(),
        })?;
        let span = root.span();
        Ok(Table { entries: root.into_inner(), span, asked: Vec::new() })
    }

    /// The table `item`, or a type error naming `expected` (like "struct ServerConfig").
    pub fn from_item(item: Item<'i>, expected: &str) -> Result<Table<'i>, TomlError> {
        let span = item.span();
        match item.into_inner() {
            DeValue::Table(entries) => Ok(Table { entries, span, asked: Vec::new() }),
            other => Err(invalid_type(&Spanned::new(span, other), expected)),
        }
    }

    /// Where the table is: its `[header]`, or its first key when it has none.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The raw value of `key`, if the table has it.
    pub fn take(&mut self, key: &'static str) -> Option<Item<'i>> {
        if !self.asked.contains(&key) {
            self.asked.push(key);
        }
        self.entries.remove(key)
    }

    /// The value of `key` with its span, if the table has it.
    pub fn get<T: FromToml>(&mut self, key: &'static str) -> Result<Option<Spanned<T>>, TomlError> {
        self.take(key).map(Spanned::<T>::from_toml).transpose()
    }

    /// The value of `key`, if the table has it.
    pub fn value<T: FromToml>(&mut self, key: &'static str) -> Result<Option<T>, TomlError> {
        self.take(key).map(T::from_toml).transpose()
    }

    /// `slot` (a default) replaced by the value of `key`, if the table has it.
    pub fn set<T: FromToml>(&mut self, key: &'static str, slot: &mut T) -> Result<(), TomlError> {
        if let Some(value) = self.value(key)? {
            *slot = value;
        }
        Ok(())
    }

    /// The value of `key`, which the table must have.
    pub fn required<T: FromToml>(&mut self, key: &'static str) -> Result<T, TomlError> {
        let at = self.span.start;
        self.value(key)?.ok_or_else(|| TomlError::new(at, format!("missing field `{key}`")))
    }

    /// Done: a key no one asked for is an error at that key.
    pub fn finish(self) -> Result<(), TomlError> {
        match self.entries.keys().next() {
            None => Ok(()),
            Some(key) => {
                let expected = if self.asked.is_empty() {
                    "there are no fields".to_string()
                } else {
                    format!("expected {}", one_of(&self.asked))
                };
                Err(TomlError::new(
                    key.span().start,
                    format!("unknown field `{}`, {expected}", key.get_ref()),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of reading `key` of `text` as a `T`, with the text at its place.
    fn error_of<T: FromToml>(text: &str, key: &'static str) -> (String, String) {
        let mut table = Table::parse(text).unwrap();
        let Err(e) = table.value::<T>(key) else { panic!("{text}: {key} must be refused") };
        (e.message, text[e.at.expect("a place")..].to_string())
    }

    #[test]
    fn values_of_each_type_with_their_spans() {
        let text = "s = \"a\"\nn = 5\nb = true\np = \"/x\"\nl = [\"a\", 'b']\n";
        let mut t = Table::parse(text).unwrap();
        let s = t.get::<String>("s").unwrap().unwrap();
        assert_eq!((s.get_ref().as_str(), &text[s.span()]), ("a", "\"a\""));
        let n = t.get::<u32>("n").unwrap().unwrap();
        assert_eq!((*n.get_ref(), &text[n.span()]), (5, "5"));
        assert_eq!(t.value::<bool>("b").unwrap(), Some(true));
        assert_eq!(t.value::<PathBuf>("p").unwrap(), Some(PathBuf::from("/x")));
        let l = t.get::<Vec<Spanned<String>>>("l").unwrap().unwrap();
        assert_eq!(&text[l.span()], "[\"a\", 'b']");
        let items: Vec<(&str, &str)> =
            l.get_ref().iter().map(|s| (s.get_ref().as_str(), &text[s.span()])).collect();
        assert_eq!(items, [("a", "\"a\""), ("b", "'b'")]);
        assert_eq!(t.value::<String>("absent").unwrap(), None);
        t.finish().unwrap();
    }

    #[test]
    fn defaults_stay_unless_the_key_is_there() {
        let mut t = Table::parse("a = 7").unwrap();
        let (mut a, mut b) = (1u64, 2u64);
        t.set("a", &mut a).unwrap();
        t.set("b", &mut b).unwrap();
        assert_eq!((a, b), (7, 2));
        t.finish().unwrap();
    }

    #[test]
    fn integers_in_every_radix_and_with_underscores() {
        let mut t =
            Table::parse("h = 0xff\no = 0o17\nb = 0b101\nd = 1_000_000\nn = -3\np = +4").unwrap();
        assert_eq!(t.value::<u64>("h").unwrap(), Some(255));
        assert_eq!(t.value::<u32>("o").unwrap(), Some(15));
        assert_eq!(t.value::<usize>("b").unwrap(), Some(5));
        assert_eq!(t.value::<u64>("d").unwrap(), Some(1_000_000));
        assert_eq!(t.value::<i64>("n").unwrap(), Some(-3));
        assert_eq!(t.value::<i64>("p").unwrap(), Some(4));
        t.finish().unwrap();
    }

    #[test]
    fn integers_out_of_range_are_invalid_values() {
        for (text, message) in [
            ("k = -1", "invalid value: integer `-1`, expected u32"),
            ("k = 4294967296", "invalid value: integer `4294967296`, expected u32"),
            ("k = 0xffffffffff", "invalid value: integer `1099511627775`, expected u32"),
        ] {
            assert_eq!(error_of::<u32>(text, "k"), (message.to_string(), text[4..].to_string()));
        }
        assert_eq!(error_of::<u64>("k = -5", "k").0, "invalid value: integer `-5`, expected u64");
        let mut t = Table::parse("k = 4294967295\nm = 9223372036854775807").unwrap();
        assert_eq!(t.value::<u32>("k").unwrap(), Some(u32::MAX));
        assert_eq!(t.value::<i64>("m").unwrap(), Some(i64::MAX));
    }

    #[test]
    fn type_mismatches_are_worded_like_serde_at_the_value() {
        for (text, message) in [
            ("k = \"a\"", "invalid type: string \"a\", expected a sequence"),
            ("k = 5", "invalid type: integer `5`, expected a sequence"),
            ("k = 1.5", "invalid type: floating point `1.5`, expected a sequence"),
            ("k = 2.0", "invalid type: floating point `2.0`, expected a sequence"),
            ("k = true", "invalid type: boolean `true`, expected a sequence"),
            ("k = 1979-05-27", "invalid type: datetime `1979-05-27`, expected a sequence"),
            ("k = {}", "invalid type: map, expected a sequence"),
        ] {
            assert_eq!(
                error_of::<Vec<String>>(text, "k"),
                (message.to_string(), text[4..].to_string())
            );
        }
        let expected = [
            (error_of::<String>("k = 5", "k").0, "invalid type: integer `5`, expected a string"),
            (error_of::<String>("k = [1]", "k").0, "invalid type: sequence, expected a string"),
            (error_of::<u64>("k = \"5\"", "k").0, "invalid type: string \"5\", expected u64"),
            (error_of::<bool>("k = 1", "k").0, "invalid type: integer `1`, expected a boolean"),
            (
                error_of::<PathBuf>("k = 1", "k").0,
                "invalid type: integer `1`, expected path string",
            ),
        ];
        for (got, want) in expected {
            assert_eq!(got, want);
        }
        // An element of the wrong type is refused at the element.
        let (message, rest) = error_of::<Vec<String>>("k = [\"a\", 2]", "k");
        assert_eq!(
            (message.as_str(), rest.as_str()),
            ("invalid type: integer `2`, expected a string", "2]")
        );
    }

    #[test]
    fn variants_are_names_from_a_list() {
        let variants = [("tls", 1), ("starttls", 2), ("plain", 3)];
        let mut t = Table::parse("a = \"plain\"\nb = \"ssl\"\nc = 5").unwrap();
        assert_eq!(variant(t.take("a").unwrap(), &variants).unwrap(), 3);
        let e = variant(t.take("b").unwrap(), &variants).unwrap_err();
        assert_eq!(e.message, "unknown variant `ssl`, expected one of `tls`, `starttls`, `plain`");
        assert_eq!(e.at, Some(16));
        let e = variant(t.take("c").unwrap(), &variants[..2]).unwrap_err();
        assert_eq!(e.message, "invalid type: integer `5`, expected `tls` or `starttls`");
    }

    #[test]
    fn keys_not_taken_are_unknown_fields_at_the_key() {
        let text = "alpha = 1\nbeta = 2\ngamma = 3\n";
        let mut t = Table::parse(text).unwrap();
        t.value::<u64>("alpha").unwrap();
        t.value::<u64>("delta").unwrap();
        t.value::<u64>("gamma").unwrap();
        let e = t.finish().unwrap_err();
        assert_eq!(e.message, "unknown field `beta`, expected one of `alpha`, `delta`, `gamma`");
        assert_eq!(&text[e.at.unwrap()..], "beta = 2\ngamma = 3\n");
        let mut t = Table::parse("x = 1").unwrap();
        t.value::<u64>("y").unwrap();
        assert_eq!(t.finish().unwrap_err().message, "unknown field `x`, expected `y`");
        let t = Table::parse("x = 1").unwrap();
        assert_eq!(t.finish().unwrap_err().message, "unknown field `x`, there are no fields");
    }

    /// `[server]` read as a table with one key `listen`.
    struct Server {
        listen: Option<String>,
    }

    impl FromToml for Server {
        fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
            let mut t = Table::from_item(item, "struct Server")?;
            let listen = t.value("listen")?;
            t.finish()?;
            Ok(Server { listen })
        }
    }

    /// `[[source]]`, whose `name` must be there.
    struct Source {
        name: String,
    }

    impl FromToml for Source {
        fn from_toml(item: Item<'_>) -> Result<Self, TomlError> {
            let mut t = Table::from_item(item, "struct Source")?;
            let name = t.required("name")?;
            t.finish()?;
            Ok(Source { name })
        }
    }

    fn read(text: &str) -> Result<(Option<Server>, Vec<Spanned<Source>>), TomlError> {
        let mut t = Table::parse(text)?;
        let server = t.value("server")?;
        let sources = t.value("source")?.unwrap_or_default();
        t.finish()?;
        Ok((server, sources))
    }

    #[test]
    fn nested_tables_and_arrays_of_tables() {
        let text =
            "[server]\nlisten = \"a\"\n\n[[source]]\nname = \"x\"\n[[source]]\nname = \"y\"\n";
        let (server, sources) = read(text).unwrap();
        assert_eq!(server.unwrap().listen.as_deref(), Some("a"));
        let names: Vec<(&str, &str)> =
            sources.iter().map(|s| (s.get_ref().name.as_str(), &text[s.span()])).collect();
        assert_eq!(names, [("x", "[[source]]"), ("y", "[[source]]")]);
        assert_eq!(sources[1].span().start, text.rfind("[[source]]").unwrap());
        let (server, sources) = read("").unwrap();
        assert!(server.is_none() && sources.is_empty());
    }

    #[test]
    fn unknown_keys_deep_inside_are_refused_at_the_key() {
        for (text, message, at) in [
            ("[server]\nlisen = \"a\"\n", "unknown field `lisen`, expected `listen`", "lisen"),
            ("server.lisen = 1\n", "unknown field `lisen`, expected `listen`", "lisen"),
            (
                "[[source]]\nname = \"x\"\n[[source]]\nname = \"y\"\nnmae = \"z\"\n",
                "unknown field `nmae`, expected `name`",
                "nmae",
            ),
            ("[[sources]]\n", "unknown field `sources`, expected `server` or `source`", "sources"),
            ("[[source]]\nurl = \"u\"\n", "missing field `name`", "[[source]]"),
            ("\n[[source]]\nname = \"a\"\n[[source]]\n", "missing field `name`", "[[source]]\n"),
            ("server = 5\n", "invalid type: integer `5`, expected struct Server", "5"),
            ("source = [1]\n", "invalid type: integer `1`, expected struct Source", "1]"),
            ("source = {}\n", "invalid type: map, expected a sequence", "{}"),
        ] {
            let e = read(text).err().unwrap_or_else(|| panic!("{text} must be refused"));
            assert_eq!(e.message, message, "{text}");
            assert!(text[e.at.unwrap()..].starts_with(at), "{text}: at {:?}", e.at);
        }
        let e = read("\n[[source]]\nname = \"a\"\n[[source]]\n").err().unwrap();
        assert_eq!(e.at, Some(23), "the second table's header");
    }

    #[derive(Debug, PartialEq)]
    struct Limits {
        pages: u64,
        depth: u64,
    }

    impl Default for Limits {
        fn default() -> Self {
            Limits { pages: 10, depth: 3 }
        }
    }

    fn limits(text: &str) -> Result<Limits, TomlError> {
        let mut t = Table::parse(text)?;
        let item = t.take("limits").expect("a [limits] table");
        read_table(item, "struct Limits", |t, l: &mut Limits| {
            t.set("pages", &mut l.pages)?;
            t.set("depth", &mut l.depth)
        })
    }

    #[test]
    fn read_table_starts_from_the_default_and_refuses_other_keys() {
        assert_eq!(
            limits(
                "[limits]
"
            )
            .unwrap(),
            Limits { pages: 10, depth: 3 }
        );
        assert_eq!(
            limits(
                "[limits]
depth = 5"
            )
            .unwrap(),
            Limits { pages: 10, depth: 5 }
        );
        let e = limits(
            "[limits]
pages = 1
deep = 5",
        )
        .unwrap_err();
        assert_eq!(e.message, "unknown field `deep`, expected `pages` or `depth`");
        assert_eq!(e.at, Some(19));
        let e = limits("limits = \"many\"").unwrap_err();
        assert_eq!(e.message, "invalid type: string \"many\", expected struct Limits");
        assert_eq!(e.at, Some(9));
    }

    #[test]
    fn text_that_is_not_toml_keeps_tomls_message_and_place() {
        let Err(e) = Table::parse("a = \"x\nb = 1\n") else { panic!("must be refused") };
        assert!(e.message.contains("invalid basic string"), "{}", e.message);
        assert_eq!(e.at, Some(6));
        let Err(e) = Table::parse("a = 1\na = 2\n") else { panic!("must be refused") };
        assert!(e.message.contains("duplicate key"), "{}", e.message);
        assert_eq!(e.at, Some(6));
    }
}
