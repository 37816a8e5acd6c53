//! Read-only mode, as Apache ZooKeeper's `ReadOnlyZooKeeperServer` with
//! `readonlymode.enabled=true`: an ensemble member that has been without a
//! quorum for a while (ZooKeeper's `max(2 s, tickTime)`) serves the clients
//! that asked for read-only sessions. They read this member's copy of the
//! tree (possibly stale) and set watches; every state-changing request is
//! answered with NotReadOnly. Their sessions are local: never written to the
//! log, unknown to the other members, forgotten when the mode ends. Clients
//! that did not ask for read-only are refused, as are sessions of the
//! ensemble (ZooKeeper 3.8 refuses "global session reconnection in RO
//! mode"). When the quorum returns the mode ends and its connections are
//! closed, so their clients reconnect read-write.

use crate::server::Server;
use crate::tree::DataTree;
use crate::watches::{ConnId, Outbound, Outbox};
use corral_protocol::OpCode;
use parking_lot::Mutex;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// ZooKeeper's `ReadOnlyRequestProcessor`: what a read-only server refuses.
pub fn refuses(op: OpCode) -> bool {
    matches!(
        op,
        OpCode::Sync
            | OpCode::Create
            | OpCode::Create2
            | OpCode::CreateTtl
            | OpCode::CreateContainer
            | OpCode::Delete
            | OpCode::DeleteContainer
            | OpCode::SetData
            | OpCode::Reconfig
            | OpCode::SetAcl
            | OpCode::Multi
            | OpCode::Check
    )
}

/// Why a read-only handshake is refused (the connection is closed).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("read-only mode: refusing a client that did not ask for a read-only session")]
    NotReadOnlyClient,
    #[error("read-only mode: refusing to resume session 0x{0:x} of the ensemble")]
    GlobalSession(i64),
    #[error("read-only mode ended")]
    Ended,
}

/// A session granted in read-only mode.
#[derive(Debug, Clone)]
pub struct Granted {
    pub id: i64,
    pub passwd: Vec<u8>,
}

struct LocalSession {
    passwd: Vec<u8>,
    timeout: Duration,
    /// Set while a connection holds the session.
    conn: Option<(ConnId, Outbox)>,
    /// When the session's last connection went away.
    detached_at: Instant,
}

/// Whether this server is in read-only mode, and its sessions.
pub struct ReadOnlyMode {
    enabled: bool,
    active: AtomicBool,
    sessions: Mutex<HashMap<i64, LocalSession>>,
}

impl ReadOnlyMode {
    pub fn new(enabled: bool) -> ReadOnlyMode {
        ReadOnlyMode {
            enabled,
            active: AtomicBool::new(false),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Grants a session to a client: a new local one, or the local session
    /// it resumes; `None` when the session is unknown or its password wrong
    /// (the client is told it expired).
    pub fn open_session(
        &self,
        tree: &DataTree,
        client_read_only: bool,
        session_id: i64,
        passwd: &[u8],
        new_id: impl FnOnce() -> i64,
        timeout_ms: i32,
    ) -> Result<Option<Granted>, Refused> {
        if !client_read_only {
            return Err(Refused::NotReadOnlyClient);
        }
        if session_id != 0 && tree.sessions.contains_key(&session_id) {
            return Err(Refused::GlobalSession(session_id));
        }
        let mut sessions = self.sessions.lock();
        if !self.is_active() {
            return Err(Refused::Ended);
        }
        if session_id != 0 {
            return Ok(sessions
                .get(&session_id)
                .filter(|s| s.passwd == passwd)
                .map(|s| Granted {
                    id: session_id,
                    passwd: s.passwd.clone(),
                }));
        }
        let id = new_id();
        let mut passwd = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut passwd);
        sessions.insert(
            id,
            LocalSession {
                passwd: passwd.clone(),
                timeout: Duration::from_millis(timeout_ms.max(0) as u64),
                conn: None,
                detached_at: Instant::now(),
            },
        );
        info!(
            session = format_args!("0x{id:x}"),
            timeout_ms, "read-only session created"
        );
        Ok(Some(Granted { id, passwd }))
    }

    /// Binds a session to its connection (closing the one that held it);
    /// false when the mode ended meanwhile or the session is gone.
    pub fn attach(&self, session: i64, conn: ConnId, outbox: Outbox) -> bool {
        let mut sessions = self.sessions.lock();
        if !self.is_active() {
            return false;
        }
        let Some(s) = sessions.get_mut(&session) else {
            return false;
        };
        if let Some((old, old_outbox)) = s.conn.replace((conn, outbox)) {
            if old != conn {
                let _ = old_outbox.send(Outbound::Close);
            }
        }
        true
    }

    pub fn detach(&self, session: i64, conn: ConnId) {
        let mut sessions = self.sessions.lock();
        if let Some(s) = sessions.get_mut(&session) {
            if s.conn.as_ref().is_some_and(|(c, _)| *c == conn) {
                s.conn = None;
                s.detached_at = Instant::now();
            }
        }
    }

    /// The client closed its session.
    pub fn close_session(&self, session: i64) {
        if self.sessions.lock().remove(&session).is_some() {
            info!(
                session = format_args!("0x{session:x}"),
                "read-only session closed by its client"
            );
        }
    }

    fn enter(&self) -> bool {
        let _sessions = self.sessions.lock();
        !self.active.swap(true, Ordering::AcqRel)
    }

    /// Ends the mode: forgets its sessions and closes their connections.
    /// Returns how many connections were closed, `None` if not active.
    fn leave(&self) -> Option<usize> {
        let mut sessions = self.sessions.lock();
        if !self.active.swap(false, Ordering::AcqRel) {
            return None;
        }
        let mut closed = 0;
        for (_, s) in sessions.drain() {
            if let Some((_, outbox)) = s.conn {
                let _ = outbox.send(Outbound::Close);
                closed += 1;
            }
        }
        Some(closed)
    }

    /// Forgets sessions without a connection for longer than their timeout.
    fn expire(&self, now: Instant) {
        self.sessions.lock().retain(|id, s| {
            let live = s.conn.is_some() || now.duration_since(s.detached_at) <= s.timeout;
            if !live {
                info!(
                    session = format_args!("0x{id:x}"),
                    "read-only session expired"
                );
            }
            live
        });
    }
}

/// Enters read-only mode once the quorum has been gone for ZooKeeper's
/// delay, leaves it when the quorum is back.
pub async fn run(server: Arc<Server>) {
    let mode = &server.read_only;
    if !mode.enabled || server.ensemble.is_none() {
        return;
    }
    let tick = server.core.config.tick_time;
    let delay = tick.max(Duration::from_secs(2));
    let period = (tick / 2).clamp(Duration::from_millis(20), Duration::from_millis(500));
    let mut ticker = tokio::time::interval(period);
    let mut quorum_lost_at: Option<Instant> = None;
    loop {
        ticker.tick().await;
        if server.has_quorum() {
            quorum_lost_at = None;
            if let Some(closed) = mode.leave() {
                info!(closed, "quorum back: read-only mode ended");
            }
            continue;
        }
        let since = *quorum_lost_at.get_or_insert_with(Instant::now);
        if since.elapsed() >= delay && mode.enter() {
            warn!("no quorum: serving read-only clients (readonlymode.enabled)");
        }
        mode.expire(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> (Outbox, tokio::sync::mpsc::UnboundedReceiver<Outbound>) {
        tokio::sync::mpsc::unbounded_channel()
    }

    #[test]
    fn refuses_what_zookeeper_refuses() {
        for op in [
            OpCode::Create,
            OpCode::SetData,
            OpCode::Multi,
            OpCode::Sync,
            OpCode::Reconfig,
        ] {
            assert!(refuses(op), "{op:?}");
        }
        for op in [
            OpCode::GetData,
            OpCode::Exists,
            OpCode::GetChildren2,
            OpCode::MultiRead,
            OpCode::SetWatches2,
            OpCode::Ping,
            OpCode::CloseSession,
        ] {
            assert!(!refuses(op), "{op:?}");
        }
    }

    #[test]
    fn local_sessions_live_while_the_mode_lasts() {
        let mode = ReadOnlyMode::new(true);
        let tree = DataTree::new();
        let open = |id, pw: &[u8]| mode.open_session(&tree, true, id, pw, || 77, 4000);
        assert!(matches!(open(0, &[]), Err(Refused::Ended)));
        assert!(mode.enter());
        assert!(matches!(
            mode.open_session(&tree, false, 0, &[], || 77, 4000),
            Err(Refused::NotReadOnlyClient)
        ));
        let granted = open(0, &[]).unwrap().unwrap();
        assert_eq!(granted.id, 77);
        assert!(open(77, b"wrong").unwrap().is_none());
        assert_eq!(open(77, &granted.passwd).unwrap().unwrap().id, 77);

        let (first, mut first_rx) = outbox();
        let (second, mut second_rx) = outbox();
        assert!(mode.attach(77, 1, first));
        assert!(mode.attach(77, 2, second));
        assert!(matches!(first_rx.try_recv(), Ok(Outbound::Close)));
        mode.expire(Instant::now() + Duration::from_secs(60));
        assert_eq!(mode.sessions.lock().len(), 1, "attached: kept");

        assert_eq!(mode.leave(), Some(1));
        assert!(matches!(second_rx.try_recv(), Ok(Outbound::Close)));
        assert!(mode.sessions.lock().is_empty());
        assert_eq!(mode.leave(), None);
        let (third, _rx) = outbox();
        assert!(!mode.attach(77, 3, third));
    }

    #[test]
    fn detached_sessions_expire_after_their_timeout() {
        let mode = ReadOnlyMode::new(true);
        let tree = DataTree::new();
        mode.enter();
        let granted = mode
            .open_session(&tree, true, 0, &[], || 5, 1000)
            .unwrap()
            .unwrap();
        let (out, _rx) = outbox();
        assert!(mode.attach(granted.id, 9, out));
        mode.detach(granted.id, 9);
        mode.expire(Instant::now());
        assert_eq!(mode.sessions.lock().len(), 1);
        mode.expire(Instant::now() + Duration::from_secs(2));
        assert!(mode.sessions.lock().is_empty());
    }
}
