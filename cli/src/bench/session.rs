//! One benchmark session: keeps exactly `in_flight` requests outstanding on
//! its connection until the end of the run, timing each one.
//!
//! Replies come back in request order, so outstanding requests sit in a FIFO
//! and each reply must carry the xid at its head. A request counts when it
//! was sent after the warmup and answered before the end.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::conn::Conn;
use super::stats::Stats;
use super::workload::{Mix, Op, Rng};

/// A connection that answers nothing for this long is considered dead.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// When the run's phases begin and end, shared by all sessions.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub measure_from: Instant,
    pub end: Instant,
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
}

impl Session {
    pub fn new(id: usize, conn: Conn, mix: Arc<Mix>, in_flight: usize, seed: u64) -> Session {
        Session {
            id,
            conn,
            mix,
            in_flight,
            rng: Rng::new(seed),
            next_xid: 1,
        }
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

    /// Runs until `plan.end`, then drains what is outstanding and closes the
    /// session.
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
            self.send_one(&mut pending, now);
        }
        self.conn.flush().await?;
        while !pending.is_empty() {
            self.fill().await?;
            let now = Instant::now();
            let sending = now < plan.end;
            while let Some(reply) = self.conn.try_reply()? {
                if reply.is_unsolicited() {
                    continue;
                }
                let Some(req) = pending.pop_front() else {
                    bail!("reply for xid {} not asked for", reply.xid);
                };
                if req.xid != reply.xid {
                    bail!("reply for xid {} while xid {} was next", reply.xid, req.xid);
                }
                if req.sent >= plan.measure_from && sending {
                    let us = now.duration_since(req.sent).as_micros() as u64;
                    stats.record(req.op, us, reply.err);
                }
                if sending {
                    self.send_one(&mut pending, now);
                }
            }
            self.conn.flush().await?;
        }
        Ok(stats)
    }
}
