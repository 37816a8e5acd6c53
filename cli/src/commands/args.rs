//! Splitting a command line into words and words into flags and operands.

use std::collections::BTreeMap;

use crate::exit::Failure;

/// Splits a line at whitespace; `"..."` and `'...'` keep spaces, and a
/// backslash escapes the next character outside single quotes.
pub fn split_words(line: &str) -> Result<Vec<String>, Failure> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(Failure::usage("unterminated quote"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Flags (`-s`, `-v 3`) and operands of one command.
#[derive(Debug, Default)]
pub struct Parsed {
    flags: BTreeMap<char, Option<String>>,
    pub operands: Vec<String>,
}

impl Parsed {
    /// `switches`: flags without a value; `valued`: flags with one. A word
    /// `--` ends the flags.
    pub fn new(
        words: &[String],
        switches: &str,
        valued: &str,
        usage: &str,
    ) -> Result<Parsed, Failure> {
        let bad = |what: String| Failure::usage(format!("{what}\nusage: {usage}"));
        let mut parsed = Parsed::default();
        let mut words = words.iter();
        while let Some(w) = words.next() {
            if w == "--" {
                parsed.operands.extend(words.cloned());
                break;
            }
            let flag = match w.strip_prefix('-') {
                Some(f) if f.len() == 1 && !f.starts_with(|c: char| c.is_ascii_digit()) => {
                    f.chars().next().unwrap_or('-')
                }
                _ => {
                    parsed.operands.push(w.clone());
                    continue;
                }
            };
            if switches.contains(flag) {
                parsed.flags.insert(flag, None);
            } else if valued.contains(flag) {
                let value = words
                    .next()
                    .ok_or_else(|| bad(format!("option -{flag} needs a value")))?;
                parsed.flags.insert(flag, Some(value.clone()));
            } else {
                return Err(bad(format!("unknown option -{flag}")));
            }
        }
        Ok(parsed)
    }

    pub fn has(&self, flag: char) -> bool {
        self.flags.contains_key(&flag)
    }

    pub fn value(&self, flag: char) -> Option<&str> {
        self.flags.get(&flag).and_then(|v| v.as_deref())
    }

    /// The value of `flag` as a number.
    pub fn number<T: std::str::FromStr>(&self, flag: char) -> Result<Option<T>, Failure> {
        match self.value(flag) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Failure::usage(format!("-{flag} needs a number, not {v:?}"))),
        }
    }

    /// Exactly `min..=max` operands.
    pub fn operands(&self, min: usize, max: usize, usage: &str) -> Result<&[String], Failure> {
        let n = self.operands.len();
        if n < min || n > max {
            return Err(Failure::usage(format!("usage: {usage}")));
        }
        Ok(&self.operands)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn splitting() {
        assert_eq!(
            split_words(r#"set /a "hello world" 'x y' b\ c"#).unwrap(),
            ["set", "/a", "hello world", "x y", "b c"]
        );
        assert_eq!(split_words("  ls   / ").unwrap(), ["ls", "/"]);
        assert_eq!(split_words(r#"set /a """#).unwrap(), ["set", "/a", ""]);
        assert!(split_words("get \"/a").is_err());
    }

    #[test]
    fn flags() {
        let p = Parsed::new(&words(&["-s", "/a", "-v", "3"]), "sw", "v", "u").unwrap();
        assert!(p.has('s') && !p.has('w'));
        assert_eq!(p.number::<i32>('v').unwrap(), Some(3));
        assert_eq!(p.operands, ["/a"]);
        assert!(Parsed::new(&words(&["-x"]), "s", "", "u").is_err());
        assert!(Parsed::new(&words(&["-v"]), "", "v", "u").is_err());
        let p = Parsed::new(&words(&["/a", "-1"]), "", "", "u").unwrap();
        assert_eq!(p.operands, ["/a", "-1"]);
        let p = Parsed::new(&words(&["--", "-s"]), "s", "", "u").unwrap();
        assert_eq!(p.operands, ["-s"]);
    }
}
