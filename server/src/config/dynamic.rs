//! The dynamic configuration: who is in the ensemble, as ZooKeeper 3.5+
//! keeps it in the `/zookeeper/config` znode. The text is
//! `QuorumMaj.toString`'s: one `server.N=host:quorumPort:electionPort:role[;clientHost:clientPort]`
//! line per member, ordered by id, then `version=<hex>` (the zxid of the txn
//! that wrote it). Reconfig requests edit it ([`DynamicConfig::incremental`],
//! [`DynamicConfig::non_incremental`]); errors are the reasons ZooKeeper
//! gives BadArguments for.

use super::builder::parse_peer;
use super::PeerEntry;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct DynamicConfig {
    pub members: BTreeMap<u64, PeerEntry>,
    /// The `version=` line (hex), 0 if the text has none.
    pub version: i64,
}

impl DynamicConfig {
    /// The members as zoo.cfg's `server.N` lines give them. A member's
    /// line without a client address gets `client` (this server's own
    /// clientPortAddress:clientPort), as ZooKeeper fills in its own.
    pub fn from_static(servers: &[PeerEntry], me: u64, client: (String, u16)) -> DynamicConfig {
        let members = servers
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if p.id == me && p.client.is_none() {
                    p.client = Some(client.clone());
                }
                (p.id, p)
            })
            .collect();
        DynamicConfig {
            members,
            version: 0,
        }
    }

    /// Reads `/zookeeper/config`'s text. Keys other than `server.N` and
    /// `version` are ignored, as ZooKeeper's dynamic file readers do.
    pub fn parse(text: &str) -> Result<DynamicConfig, String> {
        let mut config = DynamicConfig {
            members: BTreeMap::new(),
            version: 0,
        };
        for line in text.lines().map(str::trim) {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            if key == "version" {
                config.version = i64::from_str_radix(value, 16)
                    .map_err(|_| format!("version {value:?} is not a hexadecimal number"))?;
            } else if let Some(id) = key.strip_prefix("server.") {
                let peer = server_line(id, value)?;
                config.members.insert(peer.id, peer);
            }
        }
        Ok(config)
    }

    /// The member lines, each ending in a newline (the text without its
    /// version line).
    pub fn member_lines(&self) -> String {
        self.members
            .values()
            .map(|p| format!("server.{}={p}\n", p.id))
            .collect()
    }

    pub fn voters(&self) -> impl Iterator<Item = &PeerEntry> {
        self.members.values().filter(|p| !p.observer)
    }

    /// `joining`: comma-separated `server.N=spec` entries, each replacing
    /// the member with its id (that is how an observer becomes a
    /// participant); `leaving`: comma-separated ids. Empty means none.
    pub fn incremental(&self, joining: &str, leaving: &str) -> Result<DynamicConfig, String> {
        let mut next = self.members.clone();
        for id in leaving.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let id: u64 = id
                .parse()
                .map_err(|_| format!("leaving server id {id:?} is not a number"))?;
            next.remove(&id);
        }
        for joiner in joining.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, spec) = joiner
                .split_once('=')
                .ok_or_else(|| "Wrong format of server string".to_owned())?;
            let id = key.trim();
            let id = id.rsplit_once('.').map_or(id, |(_, n)| n);
            let peer = server_line(id, spec.trim())?;
            if peer.client.is_none() {
                return Err(
                    "Wrong format of server string - each server should have 3 ports specified"
                        .to_owned(),
                );
            }
            next.insert(peer.id, peer);
        }
        DynamicConfig::checked(next)
    }

    /// A whole new member list: `server.N=spec` entries separated by
    /// commas or newlines.
    pub fn non_incremental(new_members: &str) -> Result<DynamicConfig, String> {
        let mut next = BTreeMap::new();
        for entry in new_members
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with('#'))
        {
            let (key, spec) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not a server.N=... entry"))?;
            let key = key.trim();
            if key == "version" {
                continue;
            }
            let id = key
                .strip_prefix("server.")
                .ok_or_else(|| format!("unexpected key {key:?} in the new members"))?;
            let peer = server_line(id, spec.trim())?;
            next.insert(peer.id, peer);
        }
        DynamicConfig::checked(next)
    }

    /// ZooKeeper's checks of a new configuration: a voter at least, no
    /// two members on one quorum address.
    fn checked(members: BTreeMap<u64, PeerEntry>) -> Result<DynamicConfig, String> {
        if !members.values().any(|p| !p.observer) {
            return Err(
                "Reconfig failed - new configuration must include at least 1 follower".to_owned(),
            );
        }
        let mut seen = BTreeMap::new();
        for p in members.values() {
            let addr = (p.host.as_str(), p.peer_port);
            if let Some(other) = seen.insert(addr, p.id) {
                return Err(format!(
                    "servers {other} and {} have the same quorum address {}:{}",
                    p.id, p.host, p.peer_port
                ));
            }
        }
        Ok(DynamicConfig {
            members,
            version: 0,
        })
    }
}

fn server_line(id: &str, spec: &str) -> Result<PeerEntry, String> {
    let id: u64 = id
        .parse()
        .map_err(|_| format!("server id {id:?} is not a number"))?;
    parse_peer(id, spec).map_err(|reason| format!("server.{id}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
                        server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n\
                        server.3=127.0.0.1:2890:3890:observer;0.0.0.0:2183\n\
                        version=100000000";

    #[test]
    fn reads_and_writes_zookeepers_text() {
        let c = DynamicConfig::parse(TEXT).unwrap();
        assert_eq!(c.version, 0x100000000);
        assert_eq!(c.members.len(), 3);
        assert!(c.members[&3].observer);
        assert_eq!(c.voters().count(), 2);
        let lines = c.member_lines();
        assert_eq!(lines, TEXT.rsplit_once("version").unwrap().0);
    }

    #[test]
    fn incremental_adds_replaces_and_removes() {
        let c = DynamicConfig::parse(TEXT).unwrap();
        let next = c
            .incremental(
                "server.4=127.0.0.1:2891:3891;127.0.0.1:2184,\
                 server.3=127.0.0.1:2890:3890:participant;127.0.0.1:2183",
                "1",
            )
            .unwrap();
        assert_eq!(next.members.keys().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert!(!next.members[&3].observer);
        assert_eq!(
            next.members[&4].to_string(),
            "127.0.0.1:2891:3891:participant;127.0.0.1:2184"
        );
        assert_eq!(c.incremental("", "").unwrap().members, c.members);
    }

    #[test]
    fn incremental_needs_a_client_address_and_numbers() {
        let c = DynamicConfig::parse(TEXT).unwrap();
        assert!(c.incremental("server.4=127.0.0.1:2891:3891", "").is_err());
        assert!(c.incremental("127.0.0.1:2891:3891;2184", "").is_err());
        assert!(c.incremental("", "x").is_err());
        // Same quorum address as server 1.
        assert!(c
            .incremental("server.4=127.0.0.1:2888:3891;2184", "")
            .is_err());
        // No voter left.
        assert!(c.incremental("", "1,2").is_err());
    }

    #[test]
    fn non_incremental_takes_commas_or_newlines() {
        let next = DynamicConfig::non_incremental(
            "server.1=a:1:2;3,server.2=b:1:2:observer;3\nserver.5=c:1:2;3\n",
        )
        .unwrap();
        assert_eq!(next.members.keys().copied().collect::<Vec<_>>(), [1, 2, 5]);
        assert!(next.members[&2].observer);
        assert!(DynamicConfig::non_incremental("tickTime=2000").is_err());
        assert!(DynamicConfig::non_incremental("").is_err());
    }

    #[test]
    fn from_static_fills_in_its_own_client_address() {
        let c = DynamicConfig::parse(TEXT).unwrap();
        let mut servers: Vec<PeerEntry> = c.members.values().cloned().collect();
        servers[0].client = None;
        servers[1].client = None;
        let s = DynamicConfig::from_static(&servers, 1, ("0.0.0.0".into(), 2181));
        assert_eq!(s.members[&1].client, Some(("0.0.0.0".into(), 2181)));
        assert_eq!(s.members[&2].client, None);
    }
}
