//! `LeaderLatch` (with `'isLeader'` / `'notLeader'` events) and `Election`
//! (run a function while leader).

use std::sync::{Arc, Mutex};

use corral_client::recipes::leader_election::{
    Election as CoreElection, ElectionState, LeaderElection, Leadership as CoreLeadership,
};
use corral_client::recipes::leader_latch::{LatchState, LeaderLatch as CoreLatch, Participant};
use corral_client::Client as CoreClient;
use futures::StreamExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{
    ThreadsafeFunction, ThreadsafeFunctionCallMode, UnknownReturnValue,
};
use napi_derive::napi;
use tokio::sync::oneshot;

use crate::emitter::{Emitter, Payload};
use crate::errors::bad_args;
use crate::promise::{self, millis, Rt, WaitOptions};

/// A participant of a leader latch.
#[napi(object)]
pub struct LatchParticipant {
    pub id: String,
    pub node: String,
    pub is_leader: bool,
}

fn participant(p: Participant) -> LatchParticipant {
    LatchParticipant {
        id: p.id,
        node: p.node,
        is_leader: p.is_leader,
    }
}

/// A leader latch participant (Curator's `LeaderLatch` layout). `start()`
/// joins; events `'isLeader'` and `'notLeader'` tell leadership changes
/// (`'notLeader'` as soon as the connection is lost), `'closed'` the end.
#[napi]
pub struct LeaderLatch {
    inner: Arc<Rt<CoreLatch>>,
    emitter: Emitter,
}

impl LeaderLatch {
    pub fn new(client: &CoreClient, path: &str, id: &str) -> LeaderLatch {
        LeaderLatch {
            inner: Arc::new(Rt::new(CoreLatch::new(client, path, id))),
            emitter: Emitter::default(),
        }
    }
}

fn latch_event(s: LatchState) -> &'static str {
    match s {
        LatchState::Leader => "isLeader",
        LatchState::NotLeader => "notLeader",
        LatchState::Closed => "closed",
    }
}

#[napi]
impl LeaderLatch {
    /// Joins the latch (creating our node); leadership is then followed in
    /// the background.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn start<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let latch = self.inner.clone();
        let sender = self.emitter.sender();
        promise::spawn_value(env, async move {
            let mut events = latch.events();
            tokio::spawn(async move {
                while let Some(s) = events.next().await {
                    sender.emit(latch_event(s), Payload::Nothing);
                    if s == LatchState::Closed {
                        break;
                    }
                }
            });
            latch.start().await
        })
    }

    /// Whether we are the leader now (and connected).
    #[napi(getter)]
    pub fn has_leadership(&self) -> bool {
        self.inner.has_leadership()
    }

    #[napi(getter, ts_return_type = "'leader' | 'not_leader' | 'closed'")]
    pub fn state(&self) -> String {
        match self.inner.state() {
            LatchState::Leader => "leader",
            LatchState::NotLeader => "not_leader",
            LatchState::Closed => "closed",
        }
        .to_owned()
    }

    /// Waits until we lead: true, or false if `timeout` (ms) passed first or
    /// the latch was closed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn await_leadership<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, bool>> {
        let latch = self.inner.clone();
        let timeout = millis(options.unwrap_or_default().timeout);
        promise::spawn_value(env, async move { latch.await_leadership(timeout).await })
    }

    /// Every participant, the leader first.
    #[napi(ts_return_type = "Promise<LatchParticipant[]>")]
    pub fn participants<'env>(
        &self,
        env: &'env Env,
    ) -> Result<PromiseRaw<'env, Vec<LatchParticipant>>> {
        let latch = self.inner.clone();
        promise::spawn(env, async move { latch.participants().await }, |_, list| {
            Ok(list.into_iter().map(participant).collect())
        })
    }

    /// Leaves the latch (deleting our node); final.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let latch = self.inner.clone();
        promise::spawn_value(env, async move { latch.close().await })
    }
}

crate::emitter_methods!(
    LeaderLatch,
    "event: 'isLeader' | 'notLeader' | 'closed', listener: () => void",
    "event?: 'isLeader' | 'notLeader' | 'closed'",
    "event: 'isLeader' | 'notLeader' | 'closed'"
);

/// What the function run by `Election.run` is given.
#[napi(object)]
pub struct Leadership {
    /// Our node (the leader's).
    pub node: String,
    /// Its creation zxid: increases with every new leader.
    pub epoch: i64,
}

/// The function run while leader: may return a Promise, awaited.
type Task = ThreadsafeFunction<Leadership, Unknown<'static>, Leadership, Status, false>;

/// A candidate in a leader election (Curator's `LeaderSelector`, kazoo's
/// `Election`): `run(fn)` waits to be elected, runs `fn` and gives up the
/// leadership when it is done.
#[napi]
pub struct Election {
    client: CoreClient,
    path: String,
    id: String,
    state: Arc<Mutex<ElectionState>>,
    /// While `run` is running: asks it to leave, and tells when it has.
    cancel: Arc<Mutex<Option<oneshot::Sender<oneshot::Sender<()>>>>>,
}

impl Election {
    pub fn new(client: CoreClient, path: String, id: String) -> Election {
        Election {
            client,
            path,
            id,
            state: Arc::new(Mutex::new(ElectionState::Stopped)),
            cancel: Arc::default(),
        }
    }
}

/// Calls the JS function and waits for the Promise it returns (if any).
/// A function that throws or rejects: its error is kept for `run`.
async fn lead(task: Arc<Task>, l: CoreLeadership, failure: Arc<Mutex<Option<napi::Error>>>) {
    let arg = Leadership {
        node: l.node().to_owned(),
        epoch: l.epoch(),
    };
    let (tx, rx) = oneshot::channel();
    task.call_with_return_value(
        arg,
        ThreadsafeFunctionCallMode::NonBlocking,
        move |r, env| {
            // On the JS thread: a returned Promise is awaited below.
            let awaited = r.and_then(|v| {
                if v.is_promise()? {
                    let p = unsafe {
                        Promise::<UnknownReturnValue>::from_napi_value(env.raw(), v.raw())?
                    };
                    Ok(Some(p))
                } else {
                    Ok(None)
                }
            });
            let _ = tx.send(awaited);
            Ok(())
        },
    );
    let outcome = match rx.await {
        Ok(Ok(Some(p))) => p.await.map(drop),
        Ok(Ok(None)) | Err(_) => Ok(()),
        Ok(Err(e)) => Err(e),
    };
    if let Err(e) = outcome {
        failure.lock().unwrap().get_or_insert(e);
    }
}

/// Follows the candidate until it leaves by itself or is cancelled.
async fn follow(
    election: CoreElection,
    state: Arc<Mutex<ElectionState>>,
    cancel: oneshot::Receiver<oneshot::Sender<()>>,
) -> corral_client::Result<()> {
    let mut events = election.events();
    *state.lock().unwrap() = election.state();
    let stopped = async {
        while *state.lock().unwrap() != ElectionState::Stopped {
            match events.next().await {
                Some(s) => *state.lock().unwrap() = s,
                None => break,
            }
        }
    };
    let r = tokio::select! {
        _ = stopped => election.join().await,
        ack = cancel => {
            let r = election.stop().await;
            if let Ok(ack) = ack {
                let _ = ack.send(());
            }
            r
        }
    };
    *state.lock().unwrap() = ElectionState::Stopped;
    r
}

#[napi]
impl Election {
    /// Joins the election, waits to be elected and runs `fn` as leader;
    /// resolves when `fn` is done (its Promise settled) and the leadership
    /// given up. Leadership ends early (and `fn`'s Promise is no longer
    /// awaited) if the connection is lost or `cancel()` is called. Rejects
    /// with `fn`'s error if it threw, or with SESSIONEXPIRED / CLOSED if the
    /// session ended first.
    #[napi(
        ts_args_type = "fn: (leadership: Leadership) => Promise<unknown> | unknown",
        ts_return_type = "Promise<void>"
    )]
    pub fn run<'env>(&self, env: &'env Env, task: Task) -> Result<PromiseRaw<'env, ()>> {
        let task = Arc::new(task);
        let failure: Arc<Mutex<Option<napi::Error>>> = Arc::default();
        let f = failure.clone();
        let candidate = LeaderElection::new(&self.client, &self.path, &self.id);
        let state = self.state.clone();
        let slot = self.cancel.clone();
        let (cancel_tx, cancel_rx) = oneshot::channel();
        let busy = {
            let mut slot = slot.lock().unwrap();
            let busy = slot.is_some();
            if !busy {
                *slot = Some(cancel_tx);
            }
            busy
        };
        env.spawn_future_with_callback(
            async move {
                if busy {
                    return Ok(Err(bad_args("election already running")));
                }
                let election = candidate.start(move |l| lead(task.clone(), l, f.clone()));
                let r = follow(election, state, cancel_rx).await;
                slot.lock().unwrap().take();
                Ok(r)
            },
            move |env, r| match r {
                Ok(()) => match failure.lock().unwrap().take() {
                    Some(e) => Err(e),
                    None => Ok(()),
                },
                Err(e) => Err(crate::errors::to_napi(env, &e)),
            },
        )
    }

    /// Leaves the election (ending the leadership if leading, and deleting
    /// our node); `run` then resolves. Resolves at once if not running.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn cancel<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let cancel = self.cancel.lock().unwrap().take();
        promise::spawn_value(env, async move {
            if let Some(c) = cancel {
                let (ack, done) = oneshot::channel();
                if c.send(ack).is_ok() {
                    let _ = done.await;
                }
            }
            Ok(())
        })
    }

    /// Whether `fn` is running as leader now.
    #[napi(getter)]
    pub fn is_leader(&self) -> bool {
        *self.state.lock().unwrap() == ElectionState::Leader
    }

    /// `'candidate'`, `'leader'` or `'stopped'` (not running).
    #[napi(getter, ts_return_type = "'candidate' | 'leader' | 'stopped'")]
    pub fn state(&self) -> String {
        match *self.state.lock().unwrap() {
            ElectionState::Candidate => "candidate",
            ElectionState::Leader => "leader",
            ElectionState::Stopped => "stopped",
        }
        .to_owned()
    }
}
