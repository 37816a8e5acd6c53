//! Connect strings (`h1:2181,h2:2181/chroot`), path validation (ZooKeeper's
//! `PathUtils.validatePath`) and chroot mapping.

use crate::error::{Error, Result};

/// ZooKeeper's default client port, used when a host has none.
pub const DEFAULT_PORT: u16 = 2181;

/// A parsed connect string: the hosts in the order given, and the chroot
/// (`None` for `/` or no chroot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    pub hosts: Vec<HostPort>,
    pub chroot: Option<String>,
}

/// One server address, as written in the connect string (resolved at each
/// connection attempt).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl ConnectString {
    /// Parses `host[:port][,host[:port]...][/chroot]`. IPv6 hosts go in
    /// brackets (`[::1]:2181`). Fails with [`Error::BadArguments`] on an
    /// empty host list, a bad port or an invalid chroot.
    pub fn parse(s: &str) -> Result<ConnectString> {
        let s = s.trim();
        let (hosts_part, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        let chroot = match chroot {
            None | Some("/") => None,
            Some(c) => {
                validate_path(c, false)
                    .map_err(|e| bad(format!("invalid chroot {c:?}: {}", reason(&e))))?;
                Some(c.to_owned())
            }
        };
        let mut hosts = Vec::new();
        for part in hosts_part.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            hosts.push(parse_host(part)?);
        }
        if hosts.is_empty() {
            return Err(bad(format!("no host in connect string {s:?}")));
        }
        Ok(ConnectString { hosts, chroot })
    }
}

fn parse_host(part: &str) -> Result<HostPort> {
    let (host, port) = if let Some(rest) = part.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| bad(format!("unclosed '[' in host {part:?}")))?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad(format!("bad host {part:?}"))),
        };
        (host, port)
    } else if part.matches(':').count() > 1 {
        // A bare IPv6 address without a port.
        (part, None)
    } else {
        match part.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (part, None),
        }
    };
    if host.is_empty() {
        return Err(bad(format!("empty host in {part:?}")));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(format!("bad port in {part:?}")))?,
    };
    Ok(HostPort {
        host: host.to_owned(),
        port,
    })
}

fn bad(reason: String) -> Error {
    Error::BadArguments(reason)
}

fn reason(e: &Error) -> String {
    match e {
        Error::BadArguments(r) => r.clone(),
        other => other.to_string(),
    }
}

/// Validates a znode path exactly as ZooKeeper's `PathUtils.validatePath`:
/// absolute, no trailing `/` (except for the root, or before the counter of
/// a sequential create when `sequential`), no empty, `.` or `..` segment, no
/// NUL, control (U+0001–U+001F, U+007F–U+009F), private-use
/// (U+E000–U+F8FF), U+FFF0–U+FFFF or non-BMP characters (those are
/// surrogates to Java).
pub fn validate_path(path: &str, sequential: bool) -> Result<()> {
    if sequential {
        // The server appends the counter: "/a/" becomes "/a/0000000001".
        let mut p = String::with_capacity(path.len() + 1);
        p.push_str(path);
        p.push('1');
        return validate_path(&p, false);
    }
    let invalid = |why: String| Err(bad(format!("invalid path {path:?}: {why}")));
    if path.is_empty() {
        return invalid("path length must be > 0".into());
    }
    if !path.starts_with('/') {
        return invalid("path must start with / character".into());
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return invalid("path must not end with / character".into());
    }
    // ASCII paths (the usual case) are checked byte by byte, without
    // collecting the chars: same rules, same indexes.
    if path.is_ascii() {
        check_path_chars(path, path.as_bytes())
    } else {
        check_path_chars(path, &path.chars().collect::<Vec<char>>())
    }
}

/// The per-character rules of `validate_path` over `path`'s characters
/// (`chars`: its bytes when it is ASCII, else its chars).
fn check_path_chars<C: Copy + Into<char>>(path: &str, chars: &[C]) -> Result<()> {
    let invalid = |why: String| Err(bad(format!("invalid path {path:?}: {why}")));
    let at = |i: usize| -> char { chars[i].into() };
    for i in 1..chars.len() {
        let c = at(i);
        let last = at(i - 1);
        let segment_end = i + 1 == chars.len() || at(i + 1) == '/';
        if c == '\0' {
            return invalid(format!("null character not allowed @{i}"));
        } else if c == '/' && last == '/' {
            return invalid(format!("empty node name specified @{i}"));
        } else if c == '.' && last == '.' {
            if i >= 2 && at(i - 2) == '/' && segment_end {
                return invalid(format!("relative paths not allowed @{i}"));
            }
        } else if c == '.' {
            if last == '/' && segment_end {
                return invalid(format!("relative paths not allowed @{i}"));
            }
        } else if ('\u{1}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{e000}'..='\u{f8ff}').contains(&c)
            || ('\u{fff0}'..='\u{ffff}').contains(&c)
            || c > '\u{ffff}'
        {
            return invalid(format!("invalid character @{i}"));
        }
    }
    Ok(())
}

/// Maps client paths to server paths and back for a chroot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chroot(Option<String>);

impl Chroot {
    pub fn new(chroot: Option<String>) -> Chroot {
        Chroot(chroot)
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The server path of a (valid) client path.
    pub fn prepend(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_owned(),
            Some(c) if path == "/" => c.clone(),
            Some(c) => format!("{c}{path}"),
        }
    }

    /// The client path of a server path; paths outside the chroot are
    /// returned unchanged.
    pub fn strip(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_owned(),
            Some(c) => {
                if path == c {
                    "/".to_owned()
                } else if let Some(rest) = path.strip_prefix(c.as_str()) {
                    if rest.starts_with('/') {
                        rest.to_owned()
                    } else {
                        path.to_owned()
                    }
                } else {
                    path.to_owned()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(h: &str, p: u16) -> HostPort {
        HostPort {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn parses_hosts_and_chroot() {
        let c = ConnectString::parse("a:1,b,[::1]:3,c:4/app/x").unwrap();
        assert_eq!(
            c.hosts,
            vec![hp("a", 1), hp("b", 2181), hp("::1", 3), hp("c", 4)]
        );
        assert_eq!(c.chroot.as_deref(), Some("/app/x"));
        assert_eq!(ConnectString::parse("a:1/").unwrap().chroot, None);
        assert_eq!(ConnectString::parse(" a:1 , b:2 ").unwrap().hosts.len(), 2);
        assert_eq!(
            ConnectString::parse("::1").unwrap().hosts,
            vec![hp("::1", 2181)]
        );
        assert_eq!(hp("::1", 3).to_string(), "[::1]:3");
        for bad in [
            "", "/x", "a:x", "a:0", "a:70000", "a:1/x/", "a:1//x", "[::1", ":5",
        ] {
            assert!(
                matches!(ConnectString::parse(bad), Err(Error::BadArguments(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn validates_like_path_utils() {
        for ok in [
            "/", "/a", "/a/b", "/a.b", "/.a", "/a..", "/...", "/a/.b/c", "/é",
        ] {
            validate_path(ok, false).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a\0",
            "/a\u{1}",
            "/a\u{7f}",
            "/a\u{9f}",
            "/\u{e000}",
            "/\u{fff0}",
            "/\u{1f600}",
        ] {
            assert!(validate_path(bad, false).is_err(), "{bad:?}");
        }
        validate_path("/a/", true).unwrap();
        validate_path("/a/x-", true).unwrap();
        assert!(validate_path("/a//", true).is_err());
    }

    #[test]
    fn chroot_maps_both_ways() {
        let c = Chroot::new(Some("/app".into()));
        assert_eq!(c.prepend("/"), "/app");
        assert_eq!(c.prepend("/x"), "/app/x");
        assert_eq!(c.strip("/app"), "/");
        assert_eq!(c.strip("/app/x"), "/x");
        assert_eq!(c.strip("/apple"), "/apple");
        assert_eq!(c.strip("/other"), "/other");
        let none = Chroot::default();
        assert_eq!(none.prepend("/x"), "/x");
        assert_eq!(none.strip("/x"), "/x");
    }
}
