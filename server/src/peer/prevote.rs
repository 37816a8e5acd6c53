//! Elections with Raft's pre-vote, which openraft 0.9 does not have.
//!
//! openraft's own election timer is off for every voter. Ours runs here: a
//! voter that has not heard from a leader for its election timeout first
//! asks the other voters whether they would vote for it ([`grants`]), and
//! only with a majority of yeses calls openraft's election, which raises
//! its term. A member cut off from the others therefore keeps its term, and
//! when it comes back the leader's next append-entries simply reaches it;
//! without pre-vote its higher term would depose a healthy leader. Asking
//! and answering change nothing that openraft persists.

use super::network::Links;
use crate::config::RaftTimings;
use crate::raft::{NodeId, Raft};
use crate::storage::codec::{log_id_from_pb, log_id_to_pb};
use crate::storage::log::DiskLog;
use crate::storage::pb::{self, peer_reply, peer_request};
use openraft::storage::RaftLogStorage;
use openraft::{LogId, ServerState};
use parking_lot::Mutex;
use rand::Rng;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

/// How long a member that just started waits before it may stand for
/// election: the leader's retries reach it first, so a restart does not
/// disrupt a healthy ensemble. It answers pre-votes meanwhile.
const STARTUP_QUIET: Duration = Duration::from_millis(1000);

/// A candidate's question, as the asked voter sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    /// Whether the candidate is a voter of the asked one's membership (a
    /// removed server must not disturb the ones that remain).
    pub candidate_is_voter: bool,
    pub last_log_id: Option<LogId<NodeId>>,
}

/// What the asked voter knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    pub term: u64,
    pub last_log_id: Option<LogId<NodeId>>,
    pub heard: Heard,
}

/// How long ago the asked voter last had word of a live leader (`None`:
/// never).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Heard {
    /// It leads: when a quorum last acknowledged it.
    Leading { quorum_ack: Option<Duration> },
    /// When it last had an append-entries from its leader.
    Following { leader: Option<Duration> },
}

/// The grant rule: yes only when there is no live leader as far as this
/// voter knows (a follower heard from none for `election_timeout_min`; a
/// leader lost its quorum for its whole lease), so a healthy leader keeps
/// its followers; and when the candidate's log is at least as up to date.
/// Terms are not compared: a candidate whose term is behind learns the
/// higher one when its real vote is refused, and stands again (refusing
/// it here could leave two voters refusing each other for ever, one for
/// its log, the other for its term).
pub fn grants(ask: &Ask, local: &Local, timings: &RaftTimings) -> bool {
    let leader_alive = match local.heard {
        Heard::Leading { quorum_ack } => quorum_ack.is_some_and(|ago| ago <= timings.lease()),
        Heard::Following { leader } => leader.is_some_and(|ago| ago < timings.election_timeout_min),
    };
    ask.candidate_is_voter && !leader_alive && ask.last_log_id >= local.last_log_id
}

/// Whether `granted` holds a majority of every configuration (two while a
/// membership change is under way).
fn is_quorum(configs: &[BTreeSet<NodeId>], granted: &BTreeSet<NodeId>) -> bool {
    configs
        .iter()
        .all(|c| c.intersection(granted).count() * 2 > c.len())
}

/// When this member last heard from a leader, and when its election
/// timeout last started over.
struct Contact {
    leader: Option<Instant>,
    reset: Instant,
}

struct Attached {
    me: NodeId,
    raft: Raft,
    log: DiskLog,
}

/// One per ensemble member: its election timer and its answers to pre-votes.
pub struct Election {
    timings: RaftTimings,
    contact: Mutex<Contact>,
    attached: OnceLock<Attached>,
}

impl Election {
    pub fn new(timings: RaftTimings) -> Election {
        Election {
            timings,
            contact: Mutex::new(Contact {
                leader: None,
                reset: Instant::now(),
            }),
            attached: OnceLock::new(),
        }
    }

    pub fn timings(&self) -> &RaftTimings {
        &self.timings
    }

    /// An append-entries (or snapshot chunk) from the current leader
    /// arrived at `at` (its answer may come later, after an fsync).
    pub fn heard_from_leader(&self, at: Instant) {
        let mut c = self.contact.lock();
        c.leader = Some(c.leader.map_or(at, |l| l.max(at)));
        c.reset = c.reset.max(at);
    }

    /// The election timeout starts over: this member voted for a candidate
    /// (which needs time to win), or stood itself, or cannot stand.
    pub fn restart_timer(&self) {
        let now = Instant::now();
        let mut c = self.contact.lock();
        c.reset = c.reset.max(now);
    }

    /// Whether a leader was heard from within `window`.
    pub fn leader_heard_within(&self, window: Duration) -> bool {
        self.contact
            .lock()
            .leader
            .is_some_and(|at| at.elapsed() <= window)
    }

    /// Starts the election timer of member `me` once its Raft runs.
    pub fn start(self: &Arc<Self>, me: NodeId, raft: Raft, log: DiskLog, links: Links) {
        // The start-up hold-off ends as if a leader had been heard
        // `election_timeout_min` before: the voters of a starting ensemble
        // then stand in the order of their timeouts, not all at once.
        let now = Instant::now();
        let quiet_end = now + STARTUP_QUIET;
        let reset = quiet_end
            .checked_sub(self.timings.election_timeout_min)
            .unwrap_or(now);
        self.contact.lock().reset = reset.max(now);
        if self.attached.set(Attached { me, raft, log }).is_ok() {
            tokio::spawn(self.clone().run(links));
        }
    }

    /// Answers a candidate's pre-vote; changes nothing here.
    pub async fn answer(&self, request: pb::PreVoteRequest) -> pb::PreVoteReply {
        let Some(a) = self.attached.get() else {
            return pb::PreVoteReply::default();
        };
        let metrics = a.raft.metrics().borrow().clone();
        let heard = if metrics.state == ServerState::Leader {
            Heard::Leading {
                quorum_ack: metrics.millis_since_quorum_ack.map(Duration::from_millis),
            }
        } else {
            Heard::Following {
                leader: self.contact.lock().leader.map(|at| at.elapsed()),
            }
        };
        let local = Local {
            term: metrics.current_term,
            last_log_id: last_log_id(&a.log).await,
            heard,
        };
        let ask = Ask {
            candidate_is_voter: metrics
                .membership_config
                .membership()
                .voter_ids()
                .any(|id| id == request.candidate),
            last_log_id: request.last_log_id.as_ref().map(log_id_from_pb),
        };
        let granted = grants(&ask, &local, &self.timings);
        debug!(
            candidate = request.candidate,
            term = request.term,
            granted,
            ?local,
            "pre-vote asked"
        );
        pb::PreVoteReply {
            granted,
            term: local.term,
        }
    }

    /// A random election timeout in this voter's part of `min..max`: the
    /// range is split by rank of id, so voters time out one after another.
    fn draw_timeout(&self, rank: usize, voters: usize) -> Duration {
        let (min, max) = (
            self.timings.election_timeout_min,
            self.timings.election_timeout_max,
        );
        let slot = (max - min) / voters.max(1) as u32;
        let jitter = rand::thread_rng().gen_range(Duration::ZERO..=slot);
        min + slot * rank.min(voters) as u32 + jitter
    }

    async fn run(self: Arc<Self>, links: Links) {
        let a = self
            .attached
            .get()
            .expect("attached before the timer starts");
        let mut warned = false;
        loop {
            let metrics = a.raft.metrics().borrow().clone();
            let membership = metrics.membership_config.membership().clone();
            let voters: Vec<NodeId> = membership.voter_ids().collect();
            let rank = voters.iter().position(|id| *id == a.me);
            let timeout = self.draw_timeout(rank.unwrap_or(0), voters.len());
            let deadline = self.contact.lock().reset + timeout;
            if Instant::now() < deadline {
                warned = false;
                tokio::time::sleep_until(deadline.into()).await;
                continue;
            }
            if metrics.state == ServerState::Leader {
                self.heard_from_leader(Instant::now());
                continue;
            }
            if rank.is_none() {
                // A learner never stands.
                self.restart_timer();
                continue;
            }
            let silent = self.contact.lock().leader.map(|at| at.elapsed());
            if !warned {
                warn!(
                    me = a.me,
                    silent_ms = silent.map(|d| d.as_millis() as u64),
                    "no word from a leader; asking the voters for a pre-vote"
                );
                warned = true;
            }
            let request = pb::PreVoteRequest {
                candidate: a.me,
                term: metrics.current_term + 1,
                last_log_id: last_log_id(&a.log).await.as_ref().map(log_id_to_pb),
            };
            if self.canvass(a.me, &membership, request, &links).await {
                info!(
                    me = a.me,
                    term = metrics.current_term + 1,
                    "pre-vote won; standing for election"
                );
                self.restart_timer();
                if a.raft.trigger().elect().await.is_err() {
                    return;
                }
            } else {
                // Ask again soon: asking changes nothing anywhere.
                let hb = self.timings.heartbeat;
                let pause = rand::thread_rng().gen_range(hb..=hb * 2);
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Sends the pre-vote to the other voters; true once a majority of
    /// every configuration (this voter included) said yes.
    async fn canvass(
        &self,
        me: NodeId,
        membership: &openraft::Membership<NodeId, openraft::BasicNode>,
        request: pb::PreVoteRequest,
        links: &Links,
    ) -> bool {
        let configs = membership.get_joint_config();
        let mut granted = BTreeSet::from([me]);
        if is_quorum(configs, &granted) {
            return true;
        }
        let wait = self.timings.election_timeout_min;
        let mut asks = JoinSet::new();
        for id in membership.voter_ids().filter(|id| *id != me) {
            let Some(node) = membership.get_node(&id) else {
                continue;
            };
            let link = links.get(&node.addr);
            let body = peer_request::Body::PreVote(request);
            asks.spawn(async move { (id, link.call(body, wait).await) });
        }
        while let Some(done) = asks.join_next().await {
            match done {
                Ok((id, Ok(peer_reply::Body::PreVote(reply)))) => {
                    debug!(
                        voter = id,
                        granted = reply.granted,
                        term = reply.term,
                        "pre-vote answer"
                    );
                    if reply.granted {
                        granted.insert(id);
                        if is_quorum(configs, &granted) {
                            return true;
                        }
                    }
                }
                Ok((id, other)) => debug!(voter = id, answer = ?other, "no pre-vote answer"),
                Err(_) => {}
            }
        }
        false
    }
}

async fn last_log_id(log: &DiskLog) -> Option<LogId<NodeId>> {
    let mut log = log.clone();
    log.get_log_state().await.ok()?.last_log_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    const T: RaftTimings = RaftTimings {
        heartbeat: Duration::from_millis(25),
        election_timeout_min: Duration::from_millis(100),
        election_timeout_max: Duration::from_millis(200),
    };

    fn log_id(term: u64, index: u64) -> Option<LogId<NodeId>> {
        Some(LogId::new(CommittedLeaderId::new(term, 1), index))
    }

    fn ask(last: Option<LogId<NodeId>>) -> Ask {
        Ask {
            candidate_is_voter: true,
            last_log_id: last,
        }
    }

    fn local(term: u64, last: Option<LogId<NodeId>>, heard_ms: Option<u64>) -> Local {
        Local {
            term,
            last_log_id: last,
            heard: Heard::Following {
                leader: heard_ms.map(Duration::from_millis),
            },
        }
    }

    #[test]
    fn a_follower_that_hears_a_live_leader_says_no() {
        let candidate = ask(log_id(3, 10));
        assert!(!grants(&candidate, &local(3, log_id(3, 10), Some(0)), &T));
        assert!(!grants(&candidate, &local(3, log_id(3, 10), Some(99)), &T));
        assert!(grants(&candidate, &local(3, log_id(3, 10), Some(100)), &T));
        assert!(grants(&candidate, &local(3, log_id(3, 10), Some(5000)), &T));
        // Never heard from a leader (a fresh ensemble, or just restarted).
        assert!(grants(&candidate, &local(3, log_id(3, 10), None), &T));
    }

    #[test]
    fn a_leader_says_no_while_a_quorum_follows_it() {
        let candidate = ask(log_id(3, 10));
        let leader = |ack_ms: Option<u64>| Local {
            term: 3,
            last_log_id: log_id(3, 10),
            heard: Heard::Leading {
                quorum_ack: ack_ms.map(Duration::from_millis),
            },
        };
        assert!(!grants(&candidate, &leader(Some(10)), &T));
        // Slow acknowledgements (a follower's fsync) do not depose it...
        assert!(!grants(&candidate, &leader(Some(400)), &T));
        // ...but a leader that lost its quorum for its whole lease does not
        // stand in the way of a new one.
        assert!(grants(&candidate, &leader(Some(401)), &T));
        assert!(grants(&candidate, &leader(None), &T));
    }

    #[test]
    fn the_candidates_log_must_be_at_least_as_up_to_date() {
        let me = local(3, log_id(3, 10), None);
        assert!(grants(&ask(log_id(3, 10)), &me, &T));
        assert!(grants(&ask(log_id(3, 11)), &me, &T));
        // A later term wins over a longer log, as in Raft.
        assert!(grants(&ask(log_id(4, 2)), &me, &T));
        assert!(!grants(&ask(log_id(3, 9)), &me, &T));
        assert!(!grants(&ask(log_id(2, 50)), &me, &T));
        assert!(!grants(&ask(None), &me, &T));
        assert!(grants(&ask(None), &local(0, None, None), &T));
    }

    #[test]
    fn terms_are_not_compared() {
        // This voter stood in term 5 and lost; a candidate with a longer
        // log but an older term must still be able to win it over.
        let me = local(5, log_id(3, 10), None);
        assert!(grants(&ask(log_id(3, 12)), &me, &T));
    }

    #[test]
    fn a_server_outside_the_membership_gets_no() {
        let mut candidate = ask(log_id(3, 10));
        candidate.candidate_is_voter = false;
        assert!(!grants(&candidate, &local(3, log_id(3, 10), None), &T));
    }

    #[test]
    fn a_quorum_is_a_majority_of_every_configuration() {
        let set = |ids: &[NodeId]| ids.iter().copied().collect::<BTreeSet<NodeId>>();
        let three = vec![set(&[1, 2, 3])];
        assert!(!is_quorum(&three, &set(&[1])));
        assert!(is_quorum(&three, &set(&[1, 3])));
        assert!(is_quorum(&[set(&[1])], &set(&[1])));
        let four = vec![set(&[1, 2, 3, 4])];
        assert!(!is_quorum(&four, &set(&[1, 2])));
        assert!(is_quorum(&four, &set(&[1, 2, 4])));
        let joint = vec![set(&[1, 2, 3]), set(&[3, 4, 5])];
        assert!(!is_quorum(&joint, &set(&[1, 2])));
        assert!(is_quorum(&joint, &set(&[1, 2, 3, 4])));
    }

    #[test]
    fn timeouts_are_spread_by_rank() {
        let election = Election::new(RaftTimings::default());
        for _ in 0..100 {
            let first = election.draw_timeout(0, 3);
            let second = election.draw_timeout(1, 3);
            let third = election.draw_timeout(2, 3);
            assert!(first >= T.election_timeout_min && first <= Duration::from_millis(134));
            assert!(second >= Duration::from_millis(133) && second <= Duration::from_millis(167));
            assert!(third >= Duration::from_millis(166) && third <= Duration::from_millis(200));
        }
    }
}
