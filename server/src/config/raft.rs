//! Raft timings of an ensemble: the `raft.*` keys of zoo.cfg. ZooKeeper's
//! own failure detection counts `syncLimit` ticks (seconds with the usual
//! tickTime=2000); these are Corral's, in milliseconds, with LAN defaults
//! that do not depend on tickTime.

use super::properties::Properties;
use super::ConfigError;
use std::time::Duration;

pub(super) const HEARTBEAT: &[&str] = &["raft.heartbeatMs"];
pub(super) const ELECTION_TIMEOUT_MIN: &[&str] = &["raft.electionTimeoutMinMs"];
pub(super) const ELECTION_TIMEOUT_MAX: &[&str] = &["raft.electionTimeoutMaxMs"];

/// How often the leader reaches its followers, and how long a voter goes
/// without hearing from a leader before it asks the others for a pre-vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftTimings {
    /// Between two heartbeats of the leader. How long the leader waits for
    /// a follower to answer one append-entries call (its fsync included) is
    /// `election_timeout_max` (see `raft_runtime`).
    pub heartbeat: Duration,
    /// A voter grants a pre-vote only when it has not heard from a leader
    /// for this long; no voter stands for election sooner.
    pub election_timeout_min: Duration,
    /// The voters' election timeouts are spread over `min..max` by rank of
    /// id, so the survivors of a leader do not stand at once.
    pub election_timeout_max: Duration,
}

impl Default for RaftTimings {
    fn default() -> Self {
        RaftTimings {
            heartbeat: Duration::from_millis(25),
            election_timeout_min: Duration::from_millis(100),
            election_timeout_max: Duration::from_millis(200),
        }
    }
}

impl RaftTimings {
    /// How long a leader (or a follower) that has no word from a quorum
    /// (or from its leader) still counts itself as serving clients.
    pub fn lease(&self) -> Duration {
        self.election_timeout_max * 2
    }

    pub(super) fn read(&mut self, props: &Properties) -> Result<(), ConfigError> {
        if let Some(s) = props.get(HEARTBEAT) {
            self.heartbeat = s.positive_millis()?;
        }
        if let Some(s) = props.get(ELECTION_TIMEOUT_MIN) {
            self.election_timeout_min = s.positive_millis()?;
        }
        if let Some(s) = props.get(ELECTION_TIMEOUT_MAX) {
            self.election_timeout_max = s.positive_millis()?;
        }
        Ok(())
    }

    /// A voter must be able to miss a heartbeat without standing for
    /// election, and the range must not be empty.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let ms = |d: Duration| d.as_millis();
        let (heartbeat, min, max) = (
            ms(self.heartbeat),
            ms(self.election_timeout_min),
            ms(self.election_timeout_max),
        );
        let reason = if min < 2 * heartbeat {
            format!(
                "raft.electionTimeoutMinMs ({min} ms) must be at least twice \
                 raft.heartbeatMs ({heartbeat} ms)"
            )
        } else if max <= min {
            format!(
                "raft.electionTimeoutMaxMs ({max} ms) must be larger than \
                 raft.electionTimeoutMinMs ({min} ms)"
            )
        } else {
            return Ok(());
        };
        Err(ConfigError::Inconsistent { reason })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, ServerConfig};
    use std::time::Duration;

    #[test]
    fn defaults_do_not_depend_on_tick_time() {
        for cfg in ["", "tickTime=2000", "tickTime=50"] {
            let c = ServerConfig::from_cfg_str(cfg).unwrap();
            assert_eq!(c.raft.heartbeat, Duration::from_millis(25));
            assert_eq!(c.raft.election_timeout_min, Duration::from_millis(100));
            assert_eq!(c.raft.election_timeout_max, Duration::from_millis(200));
            assert_eq!(c.raft.lease(), Duration::from_millis(400));
        }
    }

    #[test]
    fn keys_set_the_timings() {
        let c = ServerConfig::from_cfg_str(
            "raft.heartbeatMs=100\nraft.electionTimeoutMinMs = 1000\nraft.electionTimeoutMaxMs: 3000\n",
        )
        .unwrap();
        assert_eq!(c.raft.heartbeat, Duration::from_millis(100));
        assert_eq!(c.raft.election_timeout_min, Duration::from_millis(1000));
        assert_eq!(c.raft.election_timeout_max, Duration::from_millis(3000));
        assert_eq!(c.raft.lease(), Duration::from_millis(6000));
        assert_eq!(c.raw["raft.heartbeatMs"], "100");
    }

    #[test]
    fn bad_values_are_refused_with_their_line() {
        for (cfg, line) in [
            ("raft.heartbeatMs=0", 1),
            ("tickTime=2000\nraft.electionTimeoutMinMs=-5", 2),
            ("raft.electionTimeoutMaxMs=soon", 1),
        ] {
            match ServerConfig::from_cfg_str(cfg) {
                Err(ConfigError::Invalid { at, key, .. }) => {
                    assert_eq!(at, format!("zoo.cfg:{line}"), "{cfg}");
                    assert!(key.starts_with("raft."), "{key}");
                }
                other => panic!("{cfg}: {other:?}"),
            }
        }
    }

    #[test]
    fn inconsistent_timings_are_refused() {
        for (cfg, needle) in [
            ("raft.heartbeatMs=60", "at least twice"),
            (
                "raft.electionTimeoutMinMs=300\nraft.electionTimeoutMaxMs=300",
                "must be larger",
            ),
            ("raft.electionTimeoutMaxMs=90", "must be larger"),
        ] {
            match ServerConfig::from_cfg_str(cfg) {
                Err(e @ ConfigError::Inconsistent { .. }) => {
                    assert!(e.to_string().contains(needle), "{cfg}: {e}")
                }
                other => panic!("{cfg}: {other:?}"),
            }
        }
    }
}
