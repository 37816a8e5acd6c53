//! One benchmark session: keeps exactly `in_flight` requests outstanding on
//! its connection until the end of the run, timing each one.
//!
//! Replies come back in request order, so outstanding requests sit in a FIFO
//! and each reply must carry the xid at its head. A request counts when it
//! was sent after the warmup and answered before the end.
//!
//! A `--count` run shares a [`Budget`] between the sessions: a request is
//! only sent when the successes so far plus the requests outstanding stay
//! within the count, and a failed request gives its place back, so the run
//! ends after exactly that many successes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use corral_protocol::{CreateResponse, Decode, Reader};

use super::conn::Conn;
use super::stats::Stats;
use super::workload::{Mix, Op, Rng};

/// A connection that answers nothing for this long is considered dead.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// When the run's phases begin and end, shared by all sessions.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub measure_from: Instant,
    /// No request is sent from then on; `None`: no time limit (a `--count`
    /// run without `--duration`).
    pub end: Option<Instant>,
}

impl Plan {
    fn over(&self, now: Instant) -> bool {
        self.end.is_some_and(|end| now >= end)
    }
}

/// How many successful requests a `--count` run still may send.
#[derive(Debug)]
pub struct Budget {
    target: u64,
    /// Successes plus requests outstanding.
    reserved: AtomicU64,
}

impl Budget {
    pub fn new(target: u64) -> Budget {
        Budget {
            target,
            reserved: AtomicU64::new(0),
        }
    }

    /// Takes a place for one more request, if the count allows it.
    fn reserve(&self) -> bool {
        self.reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                (r < self.target).then_some(r + 1)
            })
            .is_ok()
    }

    /// Gives back the place of a request that failed.
    fn release(&self) {
        self.reserved.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Pending {
    xid: i32,
    op: Op,
    sent: Instant,
}

pub struct Session {
    id: usize,
    conn: Conn,
    mix: Arc<Mix>,
    in_flight: usize,
    rng: Rng,
    next_xid: i32,
    budget: Option<Arc<Budget>>,
}

impl Session {
    pub fn new(
        id: usize,
        conn: Conn,
        mix: Arc<Mix>,
        in_flight: usize,
        seed: u64,
        budget: Option<Arc<Budget>>,
    ) -> Session {
        Session {
            id,
            conn,
            mix,
            in_flight,
            rng: Rng::new(seed),
            next_xid: 1,
            budget,
        }
    }

    /// Whether another request may go out now.
    fn may_send(&self, plan: &Plan, now: Instant) -> bool {
        !plan.over(now) && self.budget.as_ref().is_none_or(|b| b.reserve())
    }

    fn xid(&mut self) -> i32 {
        let x = self.next_xid;
        self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
        x
    }

    fn send_one(&mut self, pending: &mut VecDeque<Pending>, now: Instant) {
        let xid = self.xid();
        let (op, frame) = self.mix.next(&mut self.rng);
        self.conn.queue_template(frame, xid);
        pending.push_back(Pending { xid, op, sent: now });
    }

    async fn fill(&mut self) -> Result<()> {
        tokio::time::timeout(STALL_TIMEOUT, self.conn.fill())
            .await
            .map_err(|_| anyhow!("no reply from the server for {STALL_TIMEOUT:?}"))?
    }

    /// Runs until `plan.end` (or the budget is spent), then drains what is
    /// outstanding and closes the session.
    pub async fn run(mut self, plan: Plan) -> Result<Stats> {
        let id = self.id;
        let stats = self
            .drive(plan)
            .await
            .with_context(|| format!("session {id}"))?;
        let xid = self.xid();
        self.conn.close(xid).await;
        Ok(stats)
    }

    async fn drive(&mut self, plan: Plan) -> Result<Stats> {
        let mut stats = Stats::default();
        let mut pending = VecDeque::with_capacity(self.in_flight);
        let now = Instant::now();
        for _ in 0..self.in_flight {
            if !self.may_send(&plan, now) {
                break;
            }
            self.send_one(&mut pending, now);
        }
        self.conn.flush().await?;
        // A `--count` run keeps the path of its newest create.
        let counted = self.budget.is_some();
        while !pending.is_empty() {
            self.fill().await?;
            let now = Instant::now();
            let over = plan.over(now);
            loop {
                let (reply, body) = if counted {
                    match self.conn.try_reply_with_body()? {
                        Some((reply, body)) => (reply, Some(body)),
                        None => break,
                    }
                } else {
                    match self.conn.try_reply()? {
                        Some(reply) => (reply, None),
                        None => break,
                    }
                };
                if reply.is_unsolicited() {
                    continue;
                }
                let Some(req) = pending.pop_front() else {
                    bail!("reply for xid {} not asked for", reply.xid);
                };
                if req.xid != reply.xid {
                    bail!("reply for xid {} while xid {} was next", reply.xid, req.xid);
                }
                if reply.err != 0 {
                    if let Some(budget) = &self.budget {
                        budget.release();
                    }
                } else if req.op == Op::Create {
                    stats.note_create(reply.zxid, || {
                        let body = body?;
                        CreateResponse::decode(&mut Reader::new(&body))
                            .ok()
                            .map(|r| r.path)
                    });
                }
                if req.sent >= plan.measure_from && !over {
                    let us = now.duration_since(req.sent).as_micros() as u64;
                    stats.record(req.op, us, reply.err);
                    stats.last_reply = Some(now);
                }
                if self.may_send(&plan, now) {
                    self.send_one(&mut pending, now);
                }
            }
            self.conn.flush().await?;
        }
        Ok(stats)
    }
}
