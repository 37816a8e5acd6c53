//! The setup phase: the znodes a workload needs, created over one session.
//! Reruns are fine: NodeExists is expected, and an existing znode gets its
//! value reset to the requested size.

use anyhow::{bail, Result};
use corral_protocol::{
    Acl, CreateMode, CreateRequest, Decode, ErrorCode, GetDataRequest, GetDataResponse, Request,
    SetDataRequest,
};

use super::conn::Conn;
use super::workload::{create_parents, znode_path, BENCH_ROOT, CREATE_ROOT};

/// How many setup requests are pipelined at once.
const BATCH: usize = 256;

fn create(path: &str, data: &[u8]) -> Request {
    Request::Create(CreateRequest {
        path: path.to_owned(),
        data: Some(data.to_vec()),
        acl: Acl::open_unsafe(),
        flags: CreateMode::Persistent.flags(),
    })
}

fn check(path: &str, err: i32, allowed: &[ErrorCode]) -> Result<()> {
    if err == 0 || allowed.iter().any(|c| c.code() == err) {
        return Ok(());
    }
    let name = ErrorCode::from_i32(err).map_or("unknown error", ErrorCode::name);
    bail!("setup: {path}: server answered {name} ({err})")
}

/// Creates `path` (empty) unless it exists.
pub async fn ensure_parent(conn: &mut Conn, xid: &mut i32, path: &str) -> Result<()> {
    *xid += 1;
    let reply = conn.call(*xid, &create(path, &[])).await?;
    check(path, reply.err, &[ErrorCode::NodeExists])
}

/// Creates [`BENCH_ROOT`] and its `znodes` children with `value_size` bytes.
pub async fn mixed(conn: &mut Conn, znodes: usize, value_size: usize) -> Result<()> {
    let mut xid = 0;
    ensure_parent(conn, &mut xid, BENCH_ROOT).await?;
    let value = vec![b'x'; value_size];
    let paths: Vec<String> = (0..znodes).map(znode_path).collect();
    for chunk in paths.chunks(BATCH) {
        let first = xid + 1;
        for path in chunk {
            xid += 1;
            conn.queue(xid, &create(path, &value));
        }
        conn.flush().await?;
        let mut existing = Vec::new();
        for (i, path) in chunk.iter().enumerate() {
            let reply = conn.next_reply().await?;
            if reply.xid != first + i as i32 {
                bail!("setup: reply for xid {} out of order", reply.xid);
            }
            check(path, reply.err, &[ErrorCode::NodeExists])?;
            if reply.err == ErrorCode::NodeExists.code() {
                existing.push(path);
            }
        }
        for path in existing {
            xid += 1;
            let set = Request::SetData(SetDataRequest {
                path: path.clone(),
                data: Some(value.clone()),
                version: -1,
            });
            let reply = conn.call(xid, &set).await?;
            check(path, reply.err, &[])?;
        }
    }
    for path in [paths.first(), paths.last()].into_iter().flatten() {
        xid += 1;
        verify(conn, xid, path, &value).await?;
    }
    Ok(())
}

/// Reads `path` back: a server that answers without storing would make the
/// numbers meaningless.
async fn verify(conn: &mut Conn, xid: i32, path: &str, value: &[u8]) -> Result<()> {
    let get = Request::GetData(GetDataRequest {
        path: path.to_owned(),
        watch: false,
    });
    let (reply, body) = conn.call_with_body(xid, &get).await?;
    check(path, reply.err, &[])?;
    let got = GetDataResponse::decode(&mut corral_protocol::Reader::new(&body))
        .map_err(|e| anyhow::anyhow!("setup: {path}: malformed getData reply: {e}"))?;
    if got.data.as_deref().unwrap_or_default() != value {
        bail!(
            "setup: {path}: read back {} bytes, not the {} written",
            got.data.map_or(0, |d| d.len()),
            value.len()
        );
    }
    Ok(())
}

/// Creates [`CREATE_ROOT`] and the `parents` under it (see
/// [`create_parents`]).
pub async fn create_root(conn: &mut Conn, parents: usize) -> Result<()> {
    let mut xid = 0;
    ensure_parent(conn, &mut xid, CREATE_ROOT).await?;
    if parents > 0 {
        for parent in create_parents(parents) {
            ensure_parent(conn, &mut xid, &parent).await?;
        }
    }
    Ok(())
}
