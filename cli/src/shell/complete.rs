//! Tab completion: command names for the first word, znode paths (the
//! children of the typed parent, asked of the server) for words that
//! start with `/`.

use std::time::Duration;

use corral_client::Client;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::Helper;
use tokio::runtime::Handle;

use crate::commands::NAMES;

/// How long completion waits for the server.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

pub struct ShellHelper {
    client: Client,
    runtime: Handle,
}

impl ShellHelper {
    pub fn new(client: Client, runtime: Handle) -> ShellHelper {
        ShellHelper { client, runtime }
    }

    /// Children of `parent` whose names start with `prefix`, sorted.
    fn children(&self, parent: &str, prefix: &str) -> Vec<String> {
        let lookup =
            async { tokio::time::timeout(LOOKUP_TIMEOUT, self.client.get_children(parent)).await };
        let mut names = match self.runtime.block_on(lookup) {
            Ok(Ok(names)) => names,
            _ => return Vec::new(),
        };
        names.retain(|n| n.starts_with(prefix));
        names.sort();
        names
    }
}

/// Splits a typed path into the parent to list and the name prefix:
/// `/a/b` -> (`/a`, `b`), `/a/` -> (`/a`, ``), `/x` -> (`/`, `x`).
pub fn split_path(word: &str) -> (&str, &str) {
    let slash = word.rfind('/').unwrap_or(0);
    let parent = if slash == 0 { "/" } else { &word[..slash] };
    (parent, &word[slash + 1..])
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        if start == 0 {
            let mut names: Vec<&str> = NAMES
                .iter()
                .copied()
                .filter(|n| n.starts_with(word))
                .collect();
            names.sort_unstable();
            let pairs = names
                .into_iter()
                .map(|n| Pair {
                    display: n.to_owned(),
                    replacement: format!("{n} "),
                })
                .collect();
            return Ok((0, pairs));
        }
        if !word.starts_with('/') {
            return Ok((start, Vec::new()));
        }
        let (parent, prefix) = split_path(word);
        let pairs = self
            .children(parent, prefix)
            .into_iter()
            .map(|name| Pair {
                replacement: crate::tree::join(parent, &name),
                display: name,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(split_path("/"), ("/", ""));
        assert_eq!(split_path("/x"), ("/", "x"));
        assert_eq!(split_path("/a/b"), ("/a", "b"));
        assert_eq!(split_path("/a/"), ("/a", ""));
    }
}
