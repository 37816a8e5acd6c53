//! `include/corral.h` and `include/corral_ffi.h` are generated from this
//! crate by cbindgen and committed. This test generates them again and
//! fails when the committed ones differ; `CORRAL_BLESS=1` writes them
//! instead (`make -C bindings/c header`).

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen")
        .write(&mut out);
    String::from_utf8(out).expect("UTF-8 header")
}

/// The header without comments, preprocessor lines and C++-only blocks,
/// for PHP's `FFI::cdef`, which has no preprocessor.
fn for_ffi(header: &str) -> String {
    let mut text = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment");
        rest = &rest[start + end + 2..];
    }
    text.push_str(rest);
    let mut out = String::from("/* corral_ffi.h: corral.h for PHP FFI::cdef (generated). */\n");
    let mut depth_cpp_only = 0usize;
    let mut depth = 0usize;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("#if") {
            depth += 1;
            if depth_cpp_only == 0 && t == "#ifdef __cplusplus" {
                depth_cpp_only = depth;
            }
            continue;
        }
        if t.starts_with("#endif") {
            if depth_cpp_only == depth {
                depth_cpp_only = 0;
            }
            depth -= 1;
            continue;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with("//") || depth_cpp_only != 0 {
            continue;
        }
        out.push_str(line.trim_end());
        out.push('\n');
        // A blank line after each top-level declaration.
        if !line.starts_with(' ') && t.ends_with(';') {
            out.push('\n');
        }
    }
    out
}

fn check(path: &Path, want: &str, bless: bool) -> Option<String> {
    if bless {
        std::fs::write(path, want).expect("write header");
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(have) if have == want => None,
        _ => Some(format!("{} is stale", path.display())),
    }
}

#[test]
fn committed_headers_are_current() {
    let include = crate_dir().join("../../include");
    let header = generate();
    let bless = std::env::var_os("CORRAL_BLESS").is_some();
    let stale: Vec<String> = [
        check(&include.join("corral.h"), &header, bless),
        check(&include.join("corral_ffi.h"), &for_ffi(&header), bless),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        stale.is_empty(),
        "{}: regenerate with `make -C bindings/c header` and commit",
        stale.join(", ")
    );
}

#[test]
fn ffi_header_has_no_preprocessor_lines() {
    let ffi = for_ffi(&generate());
    assert!(!ffi.lines().any(|l| l.trim_start().starts_with('#')));
    assert!(ffi.contains("corral_result corral_get("));
    assert!(!ffi.contains("extern \"C\""));
}
