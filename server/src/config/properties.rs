//! A reader for `java.util.Properties` files, the syntax of ZooKeeper's
//! `zoo.cfg` (`QuorumPeerConfig` loads it with `Properties.load`): `#` and `!`
//! comments, `key=value`, `key: value` and `key value`, lines continued by a
//! trailing backslash, and backslash escapes including `\uXXXX`. Keys and
//! values are trimmed, as ZooKeeper trims them, and a later key overrides an
//! earlier one. What a value means is for the caller ([`super`]) to decide.

use super::ConfigError;
use std::collections::BTreeMap;

/// The keys of one properties file: key -> (value, line of the key).
#[derive(Debug)]
pub(super) struct Properties {
    file: String,
    entries: BTreeMap<String, (String, usize)>,
}

/// One setting as found in a file; `at` is `file:line`.
pub(super) struct Setting<'a> {
    pub(super) key: &'a str,
    pub(super) value: &'a str,
    pub(super) at: String,
}

impl Properties {
    /// Parses `text`; `file` names it in error messages (`file:line`).
    pub(super) fn parse(text: &str, file: String) -> Result<Properties, ConfigError> {
        let mut entries = BTreeMap::new();
        for (line, logical) in logical_lines(text) {
            let (key, value) = split_key_value(&logical);
            let decode = |s: &str| {
                unescape(s).map_err(|reason| ConfigError::Syntax {
                    at: format!("{file}:{line}"),
                    reason: reason.to_owned(),
                })
            };
            let key = decode(key)?.trim().to_owned();
            let value = decode(value)?.trim().to_owned();
            if !key.is_empty() {
                entries.insert(key, (value, line));
            }
        }
        Ok(Properties { file, entries })
    }

    /// The setting under any of `aliases`; the latest line wins.
    pub(super) fn get(&self, aliases: &[&str]) -> Option<Setting<'_>> {
        aliases
            .iter()
            .filter_map(|alias| self.entries.get_key_value(*alias))
            .max_by_key(|(_, (_, line))| *line)
            .map(|(key, (value, line))| self.setting(key, value, *line))
    }

    /// Every setting whose key starts with `prefix`, in key order.
    pub(super) fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = Setting<'a>> + 'a {
        self.entries
            .range(prefix.to_owned()..)
            .take_while(move |(key, _)| key.starts_with(prefix))
            .map(|(key, (value, line))| self.setting(key, value, *line))
    }

    /// Every key and value, in key order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(k, (v, _))| (k.as_str(), v.as_str()))
    }

    pub(super) fn into_entries(self) -> impl Iterator<Item = (String, String)> {
        self.entries.into_iter().map(|(k, (v, _))| (k, v))
    }

    fn setting<'a>(&self, key: &'a str, value: &'a str, line: usize) -> Setting<'a> {
        Setting {
            key,
            value,
            at: format!("{}:{line}", self.file),
        }
    }
}

impl Setting<'_> {
    pub(super) fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            at: self.at.clone(),
            key: self.key.to_owned(),
            value: self.value.to_owned(),
            reason: reason.into(),
        }
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// The logical lines of a properties file with the number of the natural
/// line each starts on: blank and comment lines dropped, leading whitespace
/// removed, lines ending in an odd number of backslashes joined to the next.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let mut natural = first.trim_start_matches(is_blank);
        if natural.is_empty() || natural.starts_with(['#', '!']) {
            continue;
        }
        let mut logical = String::new();
        loop {
            let backslashes = natural.len() - natural.trim_end_matches('\\').len();
            if backslashes % 2 == 0 {
                logical.push_str(natural);
                break;
            }
            logical.push_str(&natural[..natural.len() - 1]);
            match lines.next() {
                Some((_, next)) => natural = next.trim_start_matches(is_blank),
                None => break,
            }
        }
        out.push((index + 1, logical));
    }
    out
}

/// Splits at the first unescaped `=`, `:` or blank, then skips blanks and at
/// most one `=`/`:`, as `Properties.load` does. Both halves are still escaped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut has_separator = false;
    for (i, c) in line.char_indices() {
        if !escaped && (c == '=' || c == ':' || is_blank(c)) {
            key_end = i;
            value_start = i + 1;
            has_separator = c == '=' || c == ':';
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    let mut rest = &line[value_start..];
    loop {
        rest = rest.trim_start_matches(is_blank);
        match rest.strip_prefix(['=', ':']) {
            Some(after) if !has_separator => {
                has_separator = true;
                rest = after;
            }
            _ => break,
        }
    }
    (&line[..key_end], rest)
}

/// Resolves `Properties` escapes: `\t \n \r \f`, `\uXXXX` (surrogate pairs
/// included), and `\x` for any other `x`.
fn unescape(s: &str) -> Result<String, &'static str> {
    const MALFORMED: &str = "malformed \\uXXXX escape";
    let mut units: Vec<u16> = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let c = match c {
            '\\' => match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if hex.len() != 4 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                        return Err(MALFORMED);
                    }
                    units.push(u16::from_str_radix(&hex, 16).map_err(|_| MALFORMED)?);
                    continue;
                }
                Some('t') => '\t',
                Some('n') => '\n',
                Some('r') => '\r',
                Some('f') => '\x0c',
                Some(other) => other,
                None => break,
            },
            c => c,
        };
        let mut buf = [0u16; 2];
        units.extend_from_slice(c.encode_utf16(&mut buf));
    }
    String::from_utf16(&units).map_err(|_| "\\u escapes form an unpaired UTF-16 surrogate")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        Properties::parse(text, "t.properties".into())
            .unwrap()
            .into_entries()
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn separators_and_comments() {
        assert_eq!(
            parse("# c\n! c\n  a=1\nb : 2\nc 3\nd\t=\t4\ne==5\nf:=6\ng\n"),
            pairs(&[
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", "4"),
                ("e", "=5"),
                ("f", "=6"),
                ("g", ""),
            ])
        );
    }

    #[test]
    fn continuations_and_escapes() {
        assert_eq!(
            parse("a=one \\\n   two\nb=ends\\\\\nc=x\\=y\nk\\ e\\:y=v\nu=\\u0041\\t\\q\n"),
            pairs(&[
                ("a", "one two"),
                ("b", "ends\\"),
                ("c", "x=y"),
                ("k e:y", "v"),
                ("u", "A\tq"),
            ])
        );
        // A continuation on the last line ends the value.
        assert_eq!(parse("a=b\\"), pairs(&[("a", "b")]));
    }

    #[test]
    fn later_keys_win_and_lines_are_counted() {
        let p = Properties::parse("a=1\n\n# x\na=2\nb.1=x\nb.2=y\nc=z\n", "f".into()).unwrap();
        let s = p.get(&["a"]).unwrap();
        assert_eq!((s.value, s.at.as_str()), ("2", "f:4"));
        let s = p.get(&["b.2", "c", "b.1"]).unwrap();
        assert_eq!((s.key, s.at.as_str()), ("c", "f:7"));
        let keys: Vec<&str> = p.with_prefix("b.").map(|s| s.key).collect();
        assert_eq!(keys, ["b.1", "b.2"]);
        assert!(p.get(&["nope"]).is_none());
    }

    #[test]
    fn bad_escapes() {
        let e = Properties::parse("ok=1\nx=\\u00G1\n", "f".into()).unwrap_err();
        assert_eq!(e.to_string(), "f:2: malformed \\uXXXX escape");
        assert!(Properties::parse("x=\\uDC00", "f".into()).is_err());
    }
}
