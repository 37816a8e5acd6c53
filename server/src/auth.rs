//! Authentication schemes (world, digest, ip, auth, super) and ACL checks,
//! as ZooKeeper's auth providers and `ZooKeeperServer.checkACL`.

use base64::Engine;
use corral_protocol::{Acl, ErrorCode, Id};
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// `DigestAuthenticationProvider.generateDigest`: `user:base64(sha1(user:password))`.
pub fn digest(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// The ids a connection gains from an `auth` packet, or `AuthFailed`.
pub fn authenticate(
    scheme: &str,
    credentials: &[u8],
    peer: IpAddr,
    super_digest: Option<&str>,
) -> Result<Vec<Id>, ErrorCode> {
    match scheme {
        "digest" => {
            let text = std::str::from_utf8(credentials).map_err(|_| ErrorCode::AuthFailed)?;
            if !text.contains(':') {
                return Err(ErrorCode::AuthFailed);
            }
            let d = digest(text);
            let mut ids = Vec::new();
            if super_digest == Some(d.as_str()) {
                ids.push(Id::new("super", ""));
            }
            ids.push(Id::new("digest", &d));
            Ok(ids)
        }
        "ip" => Ok(vec![Id::new("ip", &peer.to_string())]),
        _ => Err(ErrorCode::AuthFailed),
    }
}

/// Whether `ids` grant `perm` on a node with `acl`.
pub fn check(acl: &[Acl], perm: i32, ids: &[Id]) -> Result<(), ErrorCode> {
    if ids.iter().any(|id| id.scheme == "super") || acl.is_empty() {
        return Ok(());
    }
    for a in acl.iter().filter(|a| a.perms & perm != 0) {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return Ok(());
        }
        for id in ids.iter().filter(|id| id.scheme == a.id.scheme) {
            let matched = match id.scheme.as_str() {
                "ip" => ip_matches(&a.id.id, &id.id),
                _ => a.id.id == id.id,
            };
            if matched {
                return Ok(());
            }
        }
    }
    Err(ErrorCode::NoAuth)
}

/// `PrepRequestProcessor.fixupACL`: validates an ACL list, drops duplicates
/// and expands `auth` entries into the caller's authenticated ids.
pub fn fixup_acl(acl: &[Acl], ids: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    if acl.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::with_capacity(acl.len());
    let mut push = |a: Acl| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for a in acl {
        match a.id.scheme.as_str() {
            "world" if a.id.id == "anyone" => push(a.clone()),
            "auth" => {
                let authenticated: Vec<&Id> =
                    ids.iter().filter(|id| id.scheme == "digest").collect();
                if authenticated.is_empty() {
                    return Err(ErrorCode::InvalidAcl);
                }
                for id in authenticated {
                    push(Acl::new(a.perms, id.clone()));
                }
            }
            "digest" if a.id.id.split(':').count() == 2 => push(a.clone()),
            "ip" if parse_ip_acl(&a.id.id).is_some() => push(a.clone()),
            _ => return Err(ErrorCode::InvalidAcl),
        }
    }
    Ok(out)
}

fn parse_ip_acl(spec: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match spec.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (spec, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => b.parse::<u32>().ok().filter(|b| *b <= max)?,
        None => max,
    };
    Some((addr, bits))
}

fn ip_matches(spec: &str, client: &str) -> bool {
    let (Some((net, bits)), Ok(client)) = (parse_ip_acl(spec), client.parse::<IpAddr>()) else {
        return false;
    };
    match (net, client) {
        (IpAddr::V4(n), IpAddr::V4(c)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(c) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(c)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(c) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_protocol::perms;

    #[test]
    fn digest_matches_zookeeper() {
        // DigestAuthenticationProvider.generateDigest("super:test")
        assert_eq!(digest("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }

    #[test]
    fn acl_checks() {
        let user = Id::new("digest", &digest("u:p"));
        let acl = vec![Acl::new(perms::READ, user.clone())];
        assert_eq!(
            check(&acl, perms::READ, std::slice::from_ref(&user)),
            Ok(())
        );
        assert_eq!(check(&acl, perms::WRITE, &[user]), Err(ErrorCode::NoAuth));
        assert_eq!(check(&acl, perms::READ, &[]), Err(ErrorCode::NoAuth));
        assert_eq!(check(&acl, perms::WRITE, &[Id::new("super", "")]), Ok(()));
        let ip = vec![Acl::new(perms::ALL, Id::new("ip", "10.1.0.0/16"))];
        assert_eq!(
            check(&ip, perms::READ, &[Id::new("ip", "10.1.2.3")]),
            Ok(())
        );
        assert!(check(&ip, perms::READ, &[Id::new("ip", "10.2.2.3")]).is_err());
    }

    #[test]
    fn fixup() {
        let me = Id::new("digest", &digest("u:p"));
        let out = fixup_acl(&Acl::creator_all(), std::slice::from_ref(&me)).unwrap();
        assert_eq!(out, vec![Acl::new(perms::ALL, me)]);
        assert_eq!(
            fixup_acl(&Acl::creator_all(), &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(fixup_acl(&[], &[]), Err(ErrorCode::InvalidAcl));
        let bad = vec![Acl::new(perms::ALL, Id::new("world", "someone"))];
        assert_eq!(fixup_acl(&bad, &[]), Err(ErrorCode::InvalidAcl));
        let dup = [Acl::open_unsafe(), Acl::open_unsafe()].concat();
        assert_eq!(fixup_acl(&dup, &[]).unwrap().len(), 1);
    }
}
