//! Znode path rules, as ZooKeeper's `PathUtils.validatePath`.

use corral_protocol::ErrorCode;

/// Checks a path the way ZooKeeper does: absolute, no empty, `.` or `..`
/// segments, no trailing slash (except the root), no null or control chars.
pub fn validate(path: &str) -> Result<(), ErrorCode> {
    if !path.starts_with('/') {
        return Err(ErrorCode::BadArguments);
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(ErrorCode::BadArguments);
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(ErrorCode::BadArguments);
        }
    }
    if path.chars().any(invalid_char) {
        return Err(ErrorCode::BadArguments);
    }
    Ok(())
}

/// Validation of a create path: for sequential nodes the suffix is appended
/// later, so the path may end with `/`.
pub fn validate_for_create(path: &str, sequential: bool) -> Result<(), ErrorCode> {
    if sequential {
        validate(&format!("{path}1"))
    } else {
        validate(path)
    }
}

fn invalid_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// The parent of a valid non-root path (`/a/b` -> `/a`, `/a` -> `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last segment of a valid path (`/a/b` -> `b`).
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The proper ancestors of `path`, nearest first, ending with `/`.
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut cur = path;
    std::iter::from_fn(move || {
        if cur == "/" {
            return None;
        }
        cur = parent(cur);
        Some(cur)
    })
}

/// Whether `path` is `prefix` or below it.
pub fn is_within(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_paths() {
        for ok in ["/", "/a", "/a/b", "/a-b.c", "/zookeeper", "/a/.b", "/ü"] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "a", "/a/", "//", "/a//b", "/.", "/a/..", "/a\u{0}b", "/a\u{1}",
        ] {
            assert_eq!(validate(bad), Err(ErrorCode::BadArguments), "{bad:?}");
        }
        assert_eq!(validate_for_create("/a/", true), Ok(()));
        assert_eq!(
            validate_for_create("/a/", false),
            Err(ErrorCode::BadArguments)
        );
    }

    #[test]
    fn parents_names_ancestors() {
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/a/b/c"), "/a/b");
        assert_eq!(name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), ["/a/b", "/a", "/"]);
        assert!(ancestors("/").next().is_none());
        assert!(is_within("/a/b", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/x", "/"));
    }
}
