//! What the four-letter words report about the process and the machine:
//! file descriptors (`mntr`), directory sizes (`conf`, `dirs`) and the
//! environment (`envi`). Read from `/proc` and the file system; anything
//! that cannot be read is left out by the caller, never guessed.

use std::fs;
use std::path::Path;

/// Open file descriptors of this process, as the JVM's
/// `getOpenFileDescriptorCount` counts them (`/proc/self/fd`, without the
/// descriptor used to list it).
pub fn open_fd_count() -> Option<u64> {
    let entries = fs::read_dir("/proc/self/fd").ok()?;
    Some((entries.count() as u64).saturating_sub(1))
}

/// The soft limit on open files (`RLIMIT_NOFILE`), from `/proc/self/limits`.
pub fn max_fd_count() -> Option<u64> {
    max_open_files(&fs::read_to_string("/proc/self/limits").ok()?)
}

/// Parses the soft limit from the text of `/proc/<pid>/limits`; `None` when
/// it is `unlimited` or missing.
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The total size of the files under `dir`, recursively, as ZooKeeper's
/// `getDirSize` sums them; 0 when it does not exist. Symbolic links to
/// files count with their target's size; links to directories are not
/// followed.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            total += dir_size(&entry.path());
        } else if let Ok(meta) = fs::metadata(entry.path()) {
            if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
}

/// `envi`'s entries under the names of Java's system properties (the
/// `java.*` and JVM memory entries have no counterpart and are left out).
pub fn environment(version: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("zookeeper.version", version.to_owned())];
    if let Some(host) = host_name() {
        out.push(("host.name", host));
    }
    out.push(("os.name", os_name().to_owned()));
    out.push(("os.arch", os_arch().to_owned()));
    if let Some(release) = read_trimmed("/proc/sys/kernel/osrelease") {
        out.push(("os.version", release));
    }
    let account = uid().and_then(|uid| {
        let passwd = fs::read_to_string("/etc/passwd").ok()?;
        passwd_entry(&passwd, uid)
    });
    let (name, home) = match account {
        Some((name, home)) => (Some(name), Some(home)),
        None => (std::env::var("USER").ok(), std::env::var("HOME").ok()),
    };
    if let Some(name) = name {
        out.push(("user.name", name));
    }
    if let Some(home) = home {
        out.push(("user.home", home));
    }
    if let Ok(dir) = std::env::current_dir() {
        out.push(("user.dir", dir.display().to_string()));
    }
    out
}

/// The machine's host name (not resolved to a canonical name, as Java's
/// `getCanonicalHostName` would).
fn host_name() -> Option<String> {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| read_trimmed("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty())
}

/// Java's `os.name`.
fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        "freebsd" => "FreeBSD",
        "windows" => "Windows",
        other => other,
    }
}

/// Java's `os.arch` (`amd64` where Rust says `x86_64`).
fn os_arch() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("macos", arch) => arch,
        (_, "x86_64") => "amd64",
        (_, "x86") => "i386",
        (_, "powerpc64") if cfg!(target_endian = "little") => "ppc64le",
        (_, "powerpc64") => "ppc64",
        (_, arch) => arch,
    }
}

/// The real user id of this process, from `/proc/self/status`.
fn uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// (name, home directory) of `uid` in the text of `/etc/passwd`.
fn passwd_entry(passwd: &str, uid: u32) -> Option<(String, String)> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() >= 6 && fields[2].parse() == Ok(uid) {
            Some((fields[0].to_owned(), fields[5].to_owned()))
        } else {
            None
        }
    })
}

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             unlimited            unlimited            processes \n\
                    Max open files            20000                1048576              files     \n";
        assert_eq!(max_open_files(text), Some(20000));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(max_open_files(unlimited), None);
        assert_eq!(max_open_files(""), None);
    }

    #[test]
    fn passwd() {
        let text = "root:x:0:0:root:/root:/bin/bash\n\
                    # comment\n\
                    zk:x:1001:1001:ZooKeeper,,,:/var/lib/zookeeper:/usr/sbin/nologin\n";
        assert_eq!(
            passwd_entry(text, 1001),
            Some(("zk".into(), "/var/lib/zookeeper".into()))
        );
        assert_eq!(passwd_entry(text, 0), Some(("root".into(), "/root".into())));
        assert_eq!(passwd_entry(text, 7), None);
    }

    #[test]
    fn sizes_of_directories() {
        let dir = std::env::temp_dir().join(format!("corral-4lw-dirs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("version-2/sub")).unwrap();
        fs::write(dir.join("a"), [0u8; 10]).unwrap();
        fs::write(dir.join("version-2/b"), [0u8; 100]).unwrap();
        fs::write(dir.join("version-2/sub/c"), [0u8; 1000]).unwrap();
        assert_eq!(dir_size(&dir), 1110);
        assert_eq!(dir_size(&dir.join("missing")), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_numbers() {
        let open = open_fd_count().unwrap();
        assert!(open >= 3, "{open}");
        assert!(max_fd_count().unwrap() >= open);
        let env = environment("v");
        assert_eq!(env[0], ("zookeeper.version", "v".to_owned()));
        let keys: Vec<&str> = env.iter().map(|(k, _)| *k).collect();
        for key in ["os.name", "os.arch", "os.version", "user.dir"] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
    }
}
