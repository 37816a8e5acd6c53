//! The ZooKeeper operations: each validates its paths (adding the chroot),
//! encodes a `Request`, sends it to the session task and decodes the reply
//! (removing the chroot from paths in it).

use corral_protocol::multi::decode_multi_results;
use corral_protocol::{
    AddWatchRequest, CheckVersionRequest, CheckWatchesRequest, Create2Response, CreateRequest,
    CreateResponse, CreateTtlRequest, DeleteRequest, ErrorCode, ExistsRequest, GetAclRequest,
    GetAclResponse, GetAllChildrenNumberRequest, GetAllChildrenNumberResponse,
    GetChildren2Response, GetChildrenRequest, GetChildrenResponse, GetDataRequest, GetDataResponse,
    GetEphemeralsRequest, GetEphemeralsResponse, MultiOp, MultiResult, OpCode, Reader,
    RemoveWatchesRequest, Request, SetAclRequest, SetDataRequest, SyncRequest, SyncResponse,
    WhoAmIResponse,
};
use tokio::sync::{mpsc, oneshot};

use crate::client::{decode, Client};
use crate::error::{Error, Result};
use crate::types::{
    Acl, AddWatchMode, ClientInfo, CreateMode, CreateOptions, Op, OpResult, Stat, WatchedEvent,
    WatcherType,
};
use crate::watches::{PersistentWatch, Watch, WatchReg, Watcher};

/// Which reply shape a create request gets.
enum CreateShape {
    PathOnly,
    WithStat,
}

impl Client {
    fn create_request(
        &self,
        path: &str,
        data: &[u8],
        opts: &CreateOptions,
        want_stat: bool,
    ) -> Result<(Request, CreateShape)> {
        let server_path = self.server_path(path, opts.mode.is_sequential())?;
        let data = Some(data.to_vec());
        let acl = opts.acl.clone();
        let flags = opts.mode.flags();
        if opts.mode.is_ttl() {
            let ttl = match opts.ttl {
                Some(t) if t > 0 => t,
                _ => {
                    return Err(Error::BadArguments(format!(
                        "{:?} needs a TTL > 0",
                        opts.mode
                    )))
                }
            };
            let req = CreateTtlRequest {
                path: server_path,
                data,
                acl,
                flags,
                ttl,
            };
            return Ok((Request::CreateTtl(req), CreateShape::WithStat));
        }
        if opts.ttl.is_some() {
            return Err(Error::BadArguments(format!(
                "a TTL needs a TTL mode, not {:?}",
                opts.mode
            )));
        }
        let req = CreateRequest {
            path: server_path,
            data,
            acl,
            flags,
        };
        Ok(if opts.mode == CreateMode::Container {
            (Request::CreateContainer(req), CreateShape::WithStat)
        } else if want_stat {
            (Request::Create2(req), CreateShape::WithStat)
        } else {
            (Request::Create(req), CreateShape::PathOnly)
        })
    }

    async fn create_inner(
        &self,
        path: &str,
        data: &[u8],
        opts: &CreateOptions,
        want_stat: bool,
    ) -> Result<(String, Option<Stat>)> {
        let (req, shape) = self.create_request(path, data, opts, want_stat)?;
        // Never retried: after a ConnectionLoss the node may exist.
        let body = self.call(req, None).await?;
        Ok(match shape {
            CreateShape::PathOnly => {
                let r: CreateResponse = decode(&body)?;
                (self.client_path(&r.path), None)
            }
            CreateShape::WithStat => {
                let r: Create2Response = decode(&body)?;
                (self.client_path(&r.path), Some(r.stat))
            }
        })
    }

    /// Creates a node; returns its path (with the sequence suffix for
    /// sequential modes). Not retried by the retry policy.
    pub async fn create(&self, path: &str, data: &[u8], options: &CreateOptions) -> Result<String> {
        Ok(self.create_inner(path, data, options, false).await?.0)
    }

    /// Creates a node; returns its path and stat.
    pub async fn create2(
        &self,
        path: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> Result<(String, Stat)> {
        let (p, stat) = self.create_inner(path, data, options, true).await?;
        Ok((p, stat.unwrap_or_default()))
    }

    /// Deletes a node, if `version` is `None` or matches. Retried under the
    /// policy only with an explicit version.
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        let path = self.server_path(path, false)?;
        let req = Request::Delete(DeleteRequest {
            path,
            version: version.unwrap_or(-1),
        });
        if version.is_some() {
            self.retrying(|| async { self.call(req.clone(), None).await.map(drop) })
                .await
        } else {
            self.call(req, None).await.map(drop)
        }
    }

    async fn exists_inner(&self, path: &str, watcher: Option<Watcher>) -> Result<Option<Stat>> {
        let server_path = self.server_path(path, false)?;
        let watch = watcher.is_some();
        let reg = watcher.map(|w| WatchReg::Exists(server_path.clone(), w));
        let r = self
            .call_raw(
                Request::Exists(ExistsRequest {
                    path: server_path,
                    watch,
                }),
                reg,
            )
            .await?;
        match r.err {
            0 => Ok(Some(decode(&r.body)?)),
            e if e == ErrorCode::NoNode as i32 => Ok(None),
            e => Err(Error::from_code(e)),
        }
    }

    /// The node's stat, or `None` if it does not exist.
    pub async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        self.retrying(|| self.exists_inner(path, None)).await
    }

    /// `exists` and a one-shot watch: `NodeCreated` if it did not exist,
    /// else `NodeDataChanged` / `NodeDeleted`.
    pub async fn exists_w(&self, path: &str) -> Result<(Option<Stat>, Watch)> {
        self.retrying(|| async {
            let (tx, rx) = oneshot::channel();
            let stat = self.exists_inner(path, Some(Watcher::Oneshot(tx))).await?;
            Ok((stat, Watch::new(rx, self.state_rx())))
        })
        .await
    }

    /// `exists` with a callback watch, run on the client's dispatcher task.
    pub async fn exists_cb(
        &self,
        path: &str,
        callback: impl FnOnce(WatchedEvent) + Send + 'static,
    ) -> Result<Option<Stat>> {
        self.exists_inner(path, Some(Watcher::Callback(Box::new(callback))))
            .await
    }

    async fn get_data_inner(
        &self,
        path: &str,
        watcher: Option<Watcher>,
    ) -> Result<(Vec<u8>, Stat)> {
        let server_path = self.server_path(path, false)?;
        let watch = watcher.is_some();
        let reg = watcher.map(|w| WatchReg::Data(server_path.clone(), w));
        let body = self
            .call(
                Request::GetData(GetDataRequest {
                    path: server_path,
                    watch,
                }),
                reg,
            )
            .await?;
        let r: GetDataResponse = decode(&body)?;
        Ok((r.data.unwrap_or_default(), r.stat))
    }

    /// The node's data (null data reads as empty) and stat.
    pub async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)> {
        self.retrying(|| self.get_data_inner(path, None)).await
    }

    /// `get_data` and a one-shot watch (`NodeDataChanged` / `NodeDeleted`).
    pub async fn get_data_w(&self, path: &str) -> Result<(Vec<u8>, Stat, Watch)> {
        self.retrying(|| async {
            let (tx, rx) = oneshot::channel();
            let (data, stat) = self
                .get_data_inner(path, Some(Watcher::Oneshot(tx)))
                .await?;
            Ok((data, stat, Watch::new(rx, self.state_rx())))
        })
        .await
    }

    /// `get_data` with a callback watch, run on the client's dispatcher task.
    pub async fn get_data_cb(
        &self,
        path: &str,
        callback: impl FnOnce(WatchedEvent) + Send + 'static,
    ) -> Result<(Vec<u8>, Stat)> {
        self.get_data_inner(path, Some(Watcher::Callback(Box::new(callback))))
            .await
    }

    /// Sets the node's data if `version` is `None` or matches; returns the
    /// new stat. Retried under the policy only with an explicit version.
    pub async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        let path = self.server_path(path, false)?;
        let req = Request::SetData(SetDataRequest {
            path,
            data: Some(data.to_vec()),
            version: version.unwrap_or(-1),
        });
        let once = || async { decode::<Stat>(&self.call(req.clone(), None).await?) };
        if version.is_some() {
            self.retrying(once).await
        } else {
            once().await
        }
    }

    /// The node's ACL and stat.
    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat)> {
        let path = self.server_path(path, false)?;
        self.retrying(|| async {
            let body = self
                .call(Request::GetAcl(GetAclRequest { path: path.clone() }), None)
                .await?;
            let r: GetAclResponse = decode(&body)?;
            Ok((r.acl, r.stat))
        })
        .await
    }

    /// Sets the node's ACL if `version` (the `aversion`) is `None` or
    /// matches. Retried under the policy only with an explicit version.
    pub async fn set_acl(&self, path: &str, acl: &[Acl], version: Option<i32>) -> Result<Stat> {
        let path = self.server_path(path, false)?;
        let req = Request::SetAcl(SetAclRequest {
            path,
            acl: acl.to_vec(),
            version: version.unwrap_or(-1),
        });
        let once = || async { decode::<Stat>(&self.call(req.clone(), None).await?) };
        if version.is_some() {
            self.retrying(once).await
        } else {
            once().await
        }
    }

    async fn children_inner(
        &self,
        path: &str,
        watcher: Option<Watcher>,
        with_stat: bool,
    ) -> Result<(Vec<String>, Option<Stat>)> {
        let server_path = self.server_path(path, false)?;
        let watch = watcher.is_some();
        let reg = watcher.map(|w| WatchReg::Child(server_path.clone(), w));
        let req = GetChildrenRequest {
            path: server_path,
            watch,
        };
        if with_stat {
            let body = self.call(Request::GetChildren2(req), reg).await?;
            let r: GetChildren2Response = decode(&body)?;
            Ok((r.children, Some(r.stat)))
        } else {
            let body = self.call(Request::GetChildren(req), reg).await?;
            let r: GetChildrenResponse = decode(&body)?;
            Ok((r.children, None))
        }
    }

    /// The names of the node's children (in the server's order).
    pub async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        self.retrying(|| async { Ok(self.children_inner(path, None, false).await?.0) })
            .await
    }

    /// The children and the node's stat (getChildren2).
    pub async fn get_children2(&self, path: &str) -> Result<(Vec<String>, Stat)> {
        self.retrying(|| async {
            let (c, s) = self.children_inner(path, None, true).await?;
            Ok((c, s.unwrap_or_default()))
        })
        .await
    }

    /// `get_children2` and a one-shot watch (`NodeChildrenChanged` /
    /// `NodeDeleted`).
    pub async fn get_children_w(&self, path: &str) -> Result<(Vec<String>, Stat, Watch)> {
        self.retrying(|| async {
            let (tx, rx) = oneshot::channel();
            let (c, s) = self
                .children_inner(path, Some(Watcher::Oneshot(tx)), true)
                .await?;
            Ok((c, s.unwrap_or_default(), Watch::new(rx, self.state_rx())))
        })
        .await
    }

    /// `get_children2` with a callback watch, run on the dispatcher task.
    pub async fn get_children_cb(
        &self,
        path: &str,
        callback: impl FnOnce(WatchedEvent) + Send + 'static,
    ) -> Result<(Vec<String>, Stat)> {
        let (c, s) = self
            .children_inner(path, Some(Watcher::Callback(Box::new(callback))), true)
            .await?;
        Ok((c, s.unwrap_or_default()))
    }

    fn multi_op(&self, op: &Op) -> Result<MultiOp> {
        Ok(match op {
            Op::Create {
                path,
                data,
                options,
            } => match self.create_request(path, data, options, false)?.0 {
                Request::CreateTtl(r) => MultiOp::CreateTtl(r),
                Request::CreateContainer(r) => MultiOp::Create(OpCode::CreateContainer, r),
                Request::Create(r) => MultiOp::Create(OpCode::Create, r),
                _ => unreachable!("create_request returns a create"),
            },
            Op::Delete { path, version } => MultiOp::Delete(DeleteRequest {
                path: self.server_path(path, false)?,
                version: version.unwrap_or(-1),
            }),
            Op::SetData {
                path,
                data,
                version,
            } => MultiOp::SetData(SetDataRequest {
                path: self.server_path(path, false)?,
                data: Some(data.clone()),
                version: version.unwrap_or(-1),
            }),
            Op::Check { path, version } => MultiOp::Check(CheckVersionRequest {
                path: self.server_path(path, false)?,
                version: version.unwrap_or(-1),
            }),
            Op::GetData { path } => MultiOp::GetData(GetDataRequest {
                path: self.server_path(path, false)?,
                watch: false,
            }),
            Op::GetChildren { path } => MultiOp::GetChildren(GetChildrenRequest {
                path: self.server_path(path, false)?,
                watch: false,
            }),
        })
    }

    fn op_result(&self, r: MultiResult) -> OpResult {
        match r {
            MultiResult::Create { op, path, stat } => OpResult::Create {
                path: self.client_path(&path),
                stat: (op != OpCode::Create).then_some(stat),
            },
            MultiResult::Delete => OpResult::Delete,
            MultiResult::Check => OpResult::Check,
            MultiResult::SetData(stat) => OpResult::SetData(stat),
            MultiResult::GetChildren(c) => OpResult::GetChildren(c),
            MultiResult::GetData { data, stat } => OpResult::GetData {
                data: data.unwrap_or_default(),
                stat,
            },
            MultiResult::Error(code) => OpResult::Error(Error::from_code(code)),
        }
    }

    async fn multi_call(&self, req: Request) -> Result<Vec<MultiResult>> {
        let r = self.call_raw(req, None).await?;
        if r.err != 0 && r.body.is_empty() {
            return Err(Error::from_code(r.err));
        }
        decode_multi_results(&mut Reader::new(&r.body)).map_err(|e| {
            tracing::warn!(error = %e, "could not decode a multi reply");
            Error::MarshallingError
        })
    }

    /// Applies write ops (create, delete, set_data, check) atomically.
    ///
    /// On success, one [`OpResult`] per op. If any op fails nothing is
    /// applied and the result is `Err(Error::Multi { index, error })`: the
    /// first failing op and its error (as the Java client throws the first
    /// error); `err.root()` is that error. Read ops are rejected with
    /// BadArguments (use [`Client::multi_read`]). Not retried.
    pub async fn multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        if let Some(op) = ops.iter().find(|op| op.is_read()) {
            return Err(Error::BadArguments(format!(
                "read op on {} in multi (use multi_read)",
                op.path()
            )));
        }
        let req = Request::Multi(
            ops.iter()
                .map(|op| self.multi_op(op))
                .collect::<Result<_>>()?,
        );
        let results = self.multi_call(req).await?;
        if let Some((index, code)) = results.iter().enumerate().find_map(|(i, r)| match r {
            MultiResult::Error(c) if *c != 0 => Some((i, *c)),
            _ => None,
        }) {
            return Err(Error::Multi {
                index,
                error: Box::new(Error::from_code(code)),
            });
        }
        Ok(results.into_iter().map(|r| self.op_result(r)).collect())
    }

    /// Runs read ops (get_data, get_children) in one round trip. Each op
    /// succeeds or fails on its own: a failed read is an
    /// [`OpResult::Error`] in its place. Write ops are rejected with
    /// BadArguments.
    pub async fn multi_read(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        if let Some(op) = ops.iter().find(|op| !op.is_read()) {
            return Err(Error::BadArguments(format!(
                "write op on {} in multi_read (use multi)",
                op.path()
            )));
        }
        let req = Request::MultiRead(
            ops.iter()
                .map(|op| self.multi_op(op))
                .collect::<Result<_>>()?,
        );
        let results = self.retrying(|| self.multi_call(req.clone())).await?;
        Ok(results.into_iter().map(|r| self.op_result(r)).collect())
    }

    /// Waits until the server this client is connected to has caught up
    /// with the leader (as of the call); returns the path.
    pub async fn sync(&self, path: &str) -> Result<String> {
        let server_path = self.server_path(path, false)?;
        self.retrying(|| async {
            let body = self
                .call(
                    Request::Sync(SyncRequest {
                        path: server_path.clone(),
                    }),
                    None,
                )
                .await?;
            let r: SyncResponse = decode(&body)?;
            Ok(self.client_path(&r.path))
        })
        .await
    }

    /// The session's ephemeral nodes whose path starts with `prefix` (a
    /// path; `/` for all), as client paths.
    pub async fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix_path = self.server_path(prefix, false)?;
        self.retrying(|| async {
            let body = self
                .call(
                    Request::GetEphemerals(GetEphemeralsRequest {
                        prefix_path: prefix_path.clone(),
                    }),
                    None,
                )
                .await?;
            let r: GetEphemeralsResponse = decode(&body)?;
            Ok(r.ephemerals.iter().map(|p| self.client_path(p)).collect())
        })
        .await
    }

    /// The number of descendants of the node (not counting itself).
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32> {
        let path = self.server_path(path, false)?;
        self.retrying(|| async {
            let body = self
                .call(
                    Request::GetAllChildrenNumber(GetAllChildrenNumberRequest {
                        path: path.clone(),
                    }),
                    None,
                )
                .await?;
            Ok(decode::<GetAllChildrenNumberResponse>(&body)?.total_number)
        })
        .await
    }

    /// The identities the server associates with this session.
    pub async fn who_am_i(&self) -> Result<Vec<ClientInfo>> {
        self.retrying(|| async {
            let body = self.call(Request::WhoAmI, None).await?;
            let r: WhoAmIResponse = decode(&body)?;
            Ok(r.client_info
                .into_iter()
                .map(|c| ClientInfo {
                    auth_scheme: c.auth_scheme,
                    user: c.user,
                })
                .collect())
        })
        .await
    }

    /// Adds a persistent (or persistent-recursive) watch; its events come
    /// as a `Stream` (see [`PersistentWatch`] for what dropping it does).
    pub async fn add_watch(&self, path: &str, mode: AddWatchMode) -> Result<PersistentWatch> {
        let server_path = self.server_path(path, false)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let reg = WatchReg::Persistent {
            path: server_path.clone(),
            recursive: mode == AddWatchMode::PersistentRecursive,
            tx,
        };
        self.call(
            Request::AddWatch(AddWatchRequest {
                path: server_path,
                mode: mode as i32,
            }),
            Some(reg),
        )
        .await?;
        Ok(PersistentWatch {
            rx,
            path: path.to_owned(),
            mode,
            client: std::sync::Arc::downgrade(&self.inner),
            done: false,
        })
    }

    /// Removes this session's watches of `watcher_type` on the node, on the
    /// server and locally; local watchers get a `DataWatchRemoved`,
    /// `ChildWatchRemoved` or `PersistentWatchRemoved` event. NoWatcher if
    /// the server has none.
    ///
    /// `Persistent` and `PersistentRecursive` are understood by ZooKeeper
    /// 3.9+ and corral-server. Older servers (3.6–3.8) answer
    /// MarshallingError; the client then removes with `Any`, which on those
    /// servers is the only way to remove a persistent watch — and also
    /// removes this session's other watches on that path (their watchers are
    /// told, as above).
    pub async fn remove_watches(&self, path: &str, watcher_type: WatcherType) -> Result<()> {
        let server_path = self.server_path(path, false)?;
        match self.remove_watches_inner(&server_path, watcher_type).await {
            Err(Error::MarshallingError)
                if matches!(
                    watcher_type,
                    WatcherType::Persistent | WatcherType::PersistentRecursive
                ) =>
            {
                tracing::info!(
                    path,
                    "server does not know watcher type {watcher_type:?}: removing with Any"
                );
                self.remove_watches_inner(&server_path, WatcherType::Any)
                    .await
            }
            r => r,
        }
    }

    async fn remove_watches_inner(
        &self,
        server_path: &str,
        watcher_type: WatcherType,
    ) -> Result<()> {
        self.retrying(|| async {
            self.call(
                Request::RemoveWatches(RemoveWatchesRequest {
                    path: server_path.to_owned(),
                    watcher_type: watcher_type as i32,
                }),
                Some(WatchReg::Remove(server_path.to_owned(), watcher_type)),
            )
            .await
            .map(drop)
        })
        .await
    }

    /// Ok if this session has a watch of `watcher_type` on the node,
    /// NoWatcher otherwise.
    pub async fn check_watches(&self, path: &str, watcher_type: WatcherType) -> Result<()> {
        let server_path = self.server_path(path, false)?;
        self.retrying(|| async {
            self.call(
                Request::CheckWatches(CheckWatchesRequest {
                    path: server_path.clone(),
                    watcher_type: watcher_type as i32,
                }),
                None,
            )
            .await
            .map(drop)
        })
        .await
    }

    /// Adds credentials to the session (e.g. `("digest", b"user:pw")`); they
    /// are sent again on every reconnection. A rejected credential fails with
    /// AuthFailed and ends the session (state AuthFailed).
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        self.call_auth(scheme, auth).await
    }
}

impl PersistentWatch {
    /// The (client) path watched.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn mode(&self) -> AddWatchMode {
        self.mode
    }

    /// Removes the watch from the server (removeWatches with
    /// `Persistent` / `PersistentRecursive`; see [`Client::remove_watches`]
    /// for servers older than 3.9), and with it every local stream on this
    /// path and mode; they get `PersistentWatchRemoved`.
    pub async fn remove(self) -> Result<()> {
        let Some(inner) = self.client.upgrade() else {
            return Err(Error::Closed);
        };
        let client = Client { inner };
        let wtype = match self.mode {
            AddWatchMode::Persistent => WatcherType::Persistent,
            AddWatchMode::PersistentRecursive => WatcherType::PersistentRecursive,
        };
        client.remove_watches(&self.path, wtype).await
    }
}
