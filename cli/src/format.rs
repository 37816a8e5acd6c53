//! How results look: stats, ACLs and data as zkCli.sh prints them, and as
//! JSON for `--json`.

use base64::Engine as _;
use corral_client::{perms, Acl, Id, Stat};
use serde_json::{json, Value};

/// zkCli.sh's `stat` lines.
pub fn stat_text(s: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\n\
         cversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\n\
         dataLength = {}\nnumChildren = {}\n",
        s.czxid,
        java_date(s.ctime),
        s.mzxid,
        java_date(s.mtime),
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children,
    )
}

pub fn stat_json(s: &Stat) -> Value {
    json!({
        "czxid": s.czxid,
        "mzxid": s.mzxid,
        "pzxid": s.pzxid,
        "ctime": s.ctime,
        "mtime": s.mtime,
        "version": s.version,
        "cversion": s.cversion,
        "aversion": s.aversion,
        "ephemeralOwner": s.ephemeral_owner,
        "dataLength": s.data_length,
        "numChildren": s.num_children,
    })
}

/// Data as zkCli prints it: the bytes as (lossy) UTF-8, `null` for none.
pub fn data_text(data: &[u8], stat: &Stat) -> String {
    if data.is_empty() && stat.data_length <= 0 {
        // zkCli prints "null" for null data; the client reads null as empty.
        return "null".to_owned();
    }
    String::from_utf8_lossy(data).into_owned()
}

/// Adds `data` (UTF-8 text) or `data_base64` to a JSON object.
pub fn put_data(obj: &mut Value, data: &[u8]) {
    match std::str::from_utf8(data) {
        Ok(text) => obj["data"] = json!(text),
        Err(_) => {
            obj["data_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(data));
        }
    }
}

/// The bytes of a JSON object written by [`put_data`] (none: empty).
pub fn get_data(obj: &Value) -> Result<Vec<u8>, String> {
    if let Some(text) = obj.get("data").and_then(Value::as_str) {
        return Ok(text.as_bytes().to_vec());
    }
    match obj.get("data_base64").and_then(Value::as_str) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("bad data_base64: {e}")),
        None => Ok(Vec::new()),
    }
}

/// `cdrwa` letters of a permission mask.
pub fn perms_text(p: i32) -> String {
    [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| p & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// zkCli's `getAcl` output: `'scheme,'id` then `: perms`, per entry.
pub fn acl_text(acl: &[Acl]) -> String {
    acl.iter()
        .map(|a| format!("'{},'{}\n: {}\n", a.id.scheme, a.id.id, perms_text(a.perms)))
        .collect()
}

pub fn acl_json(acl: &[Acl]) -> Value {
    Value::Array(
        acl.iter()
            .map(|a| json!({"scheme": a.id.scheme, "id": a.id.id, "perms": perms_text(a.perms)}))
            .collect(),
    )
}

pub fn acl_from_json(v: &Value) -> Result<Vec<Acl>, String> {
    let list = v.as_array().ok_or("acl is not a list")?;
    list.iter()
        .map(|a| {
            let field = |k: &str| {
                a.get(k)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("acl entry without {k}: {a}"))
            };
            Ok(Acl {
                perms: parse_perms(field("perms")?)?,
                id: Id::new(field("scheme")?, field("id")?),
            })
        })
        .collect()
}

pub fn parse_perms(s: &str) -> Result<i32, String> {
    s.chars().try_fold(0, |acc, c| {
        Ok(acc
            | match c {
                'c' => perms::CREATE,
                'd' => perms::DELETE,
                'r' => perms::READ,
                'w' => perms::WRITE,
                'a' => perms::ADMIN,
                _ => return Err(format!("unknown permission {c:?} in {s:?} (use cdrwa)")),
            })
    })
}

/// zkCli's ACL syntax: `scheme:id:perms[,scheme:id:perms...]`, the id
/// itself may contain `:` (digest, ip v6).
pub fn parse_acl(s: &str) -> Result<Vec<Acl>, String> {
    s.split(',')
        .map(|entry| {
            let first = entry.find(':').ok_or_else(|| bad_acl(entry))?;
            let last = entry.rfind(':').ok_or_else(|| bad_acl(entry))?;
            if first == last {
                return Err(bad_acl(entry));
            }
            Ok(Acl {
                perms: parse_perms(&entry[last + 1..])?,
                id: Id::new(&entry[..first], &entry[first + 1..last]),
            })
        })
        .collect()
}

fn bad_acl(entry: &str) -> String {
    format!("{entry} does not have the form scheme:id:perm")
}

/// Java's `List.toString`: `[a, b]`.
pub fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// Java's `Date.toString` in UTC, e.g. `Sun Nov 22 04:16:44 UTC 2026`.
pub fn java_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        DAYS[(days + 4).rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls() {
        let acl = parse_acl("world:anyone:cdrwa,digest:u:abc=:r").unwrap();
        assert_eq!(acl[0].perms, perms::ALL);
        assert_eq!(acl[1].id, Id::new("digest", "u:abc="));
        assert_eq!(acl_text(&acl[..1]), "'world,'anyone\n: cdrwa\n");
        assert_eq!(acl_from_json(&acl_json(&acl)).unwrap(), acl);
        assert!(parse_acl("world:anyone").is_err());
        assert!(parse_acl("world:anyone:x").is_err());
    }

    #[test]
    fn data_round_trip() {
        for data in [&b"hello"[..], &[0xff, 0x00, 0x80][..], &[][..]] {
            let mut v = json!({});
            put_data(&mut v, data);
            assert_eq!(get_data(&v).unwrap(), data);
        }
    }

    #[test]
    fn dates() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_321_004_999), "Sun Nov 22 04:16:44 UTC 2026");
    }
}
