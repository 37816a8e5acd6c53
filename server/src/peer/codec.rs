//! openraft's RPC messages and txn outcomes as protobuf (`proto/peer.proto`).

use crate::raft::{NodeId, TypeConfig};
use crate::storage::codec::{
    entry_from_pb, entry_to_pb, log_id_from_pb, log_id_to_pb, membership_from_pb, membership_to_pb,
    InvalidRecord,
};
use crate::storage::pb;
use crate::txn::TxnOutcome;
use corral_protocol::ErrorCode;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{LogId, SnapshotMeta, StoredMembership, Vote};

pub fn vote_to_pb(v: &Vote<NodeId>) -> pb::Vote {
    pb::Vote {
        term: v.leader_id.term,
        node_id: v.leader_id.node_id,
        committed: v.is_committed(),
    }
}

pub fn vote_from_pb(v: Option<pb::Vote>) -> Result<Vote<NodeId>, InvalidRecord> {
    let v = v.ok_or(InvalidRecord("message without a vote"))?;
    let mut vote = Vote::new(v.term, v.node_id);
    if v.committed {
        vote.commit();
    }
    Ok(vote)
}

fn log_id_opt_to_pb(id: &Option<LogId<NodeId>>) -> Option<pb::LogId> {
    id.as_ref().map(log_id_to_pb)
}

fn log_id_opt_from_pb(id: &Option<pb::LogId>) -> Option<LogId<NodeId>> {
    id.as_ref().map(log_id_from_pb)
}

pub fn append_to_pb(r: &AppendEntriesRequest<TypeConfig>) -> pb::AppendEntriesRequest {
    pb::AppendEntriesRequest {
        vote: Some(vote_to_pb(&r.vote)),
        prev_log_id: log_id_opt_to_pb(&r.prev_log_id),
        entries: r.entries.iter().map(entry_to_pb).collect(),
        leader_commit: log_id_opt_to_pb(&r.leader_commit),
    }
}

pub fn append_from_pb(
    r: pb::AppendEntriesRequest,
) -> Result<AppendEntriesRequest<TypeConfig>, InvalidRecord> {
    Ok(AppendEntriesRequest {
        vote: vote_from_pb(r.vote)?,
        prev_log_id: log_id_opt_from_pb(&r.prev_log_id),
        entries: r
            .entries
            .into_iter()
            .map(entry_from_pb)
            .collect::<Result<_, _>>()?,
        leader_commit: log_id_opt_from_pb(&r.leader_commit),
    })
}

pub fn append_reply_to_pb(r: &AppendEntriesResponse<NodeId>) -> pb::AppendEntriesReply {
    use pb::append_entries_reply::Result as R;
    let result = match r {
        AppendEntriesResponse::Success => R::Success(pb::Blank {}),
        AppendEntriesResponse::PartialSuccess(id) => R::PartialSuccess(pb::PartialSuccess {
            log_id: log_id_opt_to_pb(id),
        }),
        AppendEntriesResponse::Conflict => R::Conflict(pb::Blank {}),
        AppendEntriesResponse::HigherVote(v) => R::HigherVote(vote_to_pb(v)),
    };
    pb::AppendEntriesReply {
        result: Some(result),
    }
}

pub fn append_reply_from_pb(
    r: pb::AppendEntriesReply,
) -> Result<AppendEntriesResponse<NodeId>, InvalidRecord> {
    use pb::append_entries_reply::Result as R;
    Ok(
        match r
            .result
            .ok_or(InvalidRecord("append reply without a result"))?
        {
            R::Success(_) => AppendEntriesResponse::Success,
            R::PartialSuccess(p) => {
                AppendEntriesResponse::PartialSuccess(log_id_opt_from_pb(&p.log_id))
            }
            R::Conflict(_) => AppendEntriesResponse::Conflict,
            R::HigherVote(v) => AppendEntriesResponse::HigherVote(vote_from_pb(Some(v))?),
        },
    )
}

pub fn vote_request_to_pb(r: &VoteRequest<NodeId>) -> pb::VoteRequest {
    pb::VoteRequest {
        vote: Some(vote_to_pb(&r.vote)),
        last_log_id: log_id_opt_to_pb(&r.last_log_id),
    }
}

pub fn vote_request_from_pb(r: pb::VoteRequest) -> Result<VoteRequest<NodeId>, InvalidRecord> {
    Ok(VoteRequest {
        vote: vote_from_pb(r.vote)?,
        last_log_id: log_id_opt_from_pb(&r.last_log_id),
    })
}

pub fn vote_reply_to_pb(r: &VoteResponse<NodeId>) -> pb::VoteReply {
    pb::VoteReply {
        vote: Some(vote_to_pb(&r.vote)),
        granted: r.vote_granted,
        last_log_id: log_id_opt_to_pb(&r.last_log_id),
    }
}

pub fn vote_reply_from_pb(r: pb::VoteReply) -> Result<VoteResponse<NodeId>, InvalidRecord> {
    Ok(VoteResponse {
        vote: vote_from_pb(r.vote)?,
        vote_granted: r.granted,
        last_log_id: log_id_opt_from_pb(&r.last_log_id),
    })
}

pub fn snapshot_to_pb(r: &InstallSnapshotRequest<TypeConfig>) -> pb::InstallSnapshotRequest {
    pb::InstallSnapshotRequest {
        vote: Some(vote_to_pb(&r.vote)),
        last_log_id: log_id_opt_to_pb(&r.meta.last_log_id),
        membership_log_id: log_id_opt_to_pb(r.meta.last_membership.log_id()),
        membership: Some(membership_to_pb(r.meta.last_membership.membership())),
        snapshot_id: r.meta.snapshot_id.clone(),
        offset: r.offset,
        data: r.data.clone().into(),
        done: r.done,
    }
}

pub fn snapshot_from_pb(
    r: pb::InstallSnapshotRequest,
) -> Result<InstallSnapshotRequest<TypeConfig>, InvalidRecord> {
    let membership = r
        .membership
        .map(membership_from_pb)
        .ok_or(InvalidRecord("snapshot without a membership"))?;
    Ok(InstallSnapshotRequest {
        vote: vote_from_pb(r.vote)?,
        meta: SnapshotMeta {
            last_log_id: log_id_opt_from_pb(&r.last_log_id),
            last_membership: StoredMembership::new(
                log_id_opt_from_pb(&r.membership_log_id),
                membership,
            ),
            snapshot_id: r.snapshot_id,
        },
        offset: r.offset,
        data: r.data.to_vec(),
        done: r.done,
    })
}

pub fn snapshot_reply_to_pb(r: &InstallSnapshotResponse<NodeId>) -> pb::InstallSnapshotReply {
    pb::InstallSnapshotReply {
        vote: Some(vote_to_pb(&r.vote)),
    }
}

pub fn snapshot_reply_from_pb(
    r: pb::InstallSnapshotReply,
) -> Result<InstallSnapshotResponse<NodeId>, InvalidRecord> {
    Ok(InstallSnapshotResponse {
        vote: vote_from_pb(r.vote)?,
    })
}

pub fn outcome_to_pb(o: &TxnOutcome) -> pb::TxnOutcome {
    pb::TxnOutcome {
        zxid: o.zxid,
        err: o.err.map_or(0, |e| e as i32),
        body: o.body.clone().into(),
    }
}

pub fn outcome_from_pb(o: pb::TxnOutcome) -> TxnOutcome {
    TxnOutcome {
        zxid: o.zxid,
        err: match o.err {
            0 => None,
            code => Some(ErrorCode::from_i32(code).unwrap_or(ErrorCode::SystemError)),
        },
        body: o.body.to_vec(),
    }
}
