//! The hex fixtures of `tests/captures/` (written by `capture.py`): `#`
//! comment lines, then `> HEX` (client to server) and `< HEX` (server to
//! client) lines, one whole frame (length prefix included) per line.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Client,
    Server,
}

#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub comment: String,
    pub frames: Vec<(Dir, Vec<u8>)>,
}

impl Fixture {
    pub fn client(&self) -> impl Iterator<Item = &[u8]> {
        self.frames
            .iter()
            .filter(|(d, _)| *d == Dir::Client)
            .map(|(_, f)| f.as_slice())
    }

    pub fn server(&self) -> impl Iterator<Item = &[u8]> {
        self.frames
            .iter()
            .filter(|(d, _)| *d == Dir::Server)
            .map(|(_, f)| f.as_slice())
    }

    /// Whether the first exchange is the session handshake.
    pub fn is_connect(&self) -> bool {
        self.name.contains("connect")
    }
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures")
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() & 1, 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

pub fn parse(name: &str, text: &str) -> Fixture {
    let mut comment = String::new();
    let mut frames = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            comment.push_str(c.trim());
            comment.push('\n');
        } else if let Some(h) = line.strip_prefix("> ") {
            frames.push((Dir::Client, unhex(h.trim())));
        } else if let Some(h) = line.strip_prefix("< ") {
            frames.push((Dir::Server, unhex(h.trim())));
        } else {
            panic!("{name}: bad fixture line {line:?}");
        }
    }
    Fixture {
        name: name.to_owned(),
        comment,
        frames,
    }
}

pub fn load(name: &str) -> Fixture {
    let path = dir().join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (re-run capture.py?)", path.display()));
    parse(name, &text)
}

pub fn load_all() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("tests/captures")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "hex").then(|| p.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    names.sort();
    names.iter().map(|n| load(n)).collect()
}
