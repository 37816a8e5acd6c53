//! The ZooKeeper operations of `Client`: each maps its arguments, runs the
//! core's operation and converts the result.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::client::Client;
use crate::convert::{acls, bytes, create_options, version, Acl, CreateOptions, Stat};
use crate::promise;
use crate::transaction::Transaction;
use crate::watch::{
    add_watch_mode, deliver, watcher_type, Callback, PersistentWatch, WatchOptions,
};

/// The result of `getData`.
// Made into a JS object by `objects.rs`.
#[napi(object, object_to_js = false)]
pub struct DataResult {
    pub data: Buffer,
    pub stat: Stat,
}

/// The result of `getACL`.
#[napi(object)]
pub struct AclResult {
    pub acl: Vec<Acl>,
    pub stat: Stat,
}

/// Options of `delete`.
#[napi(object)]
#[derive(Default)]
pub struct DeleteOptions {
    /// Delete the node's descendants first (`version` is then ignored).
    pub recursive: Option<bool>,
}

/// One identity of the session (`whoAmI`).
#[napi(object)]
pub struct ClientInfo {
    pub auth_scheme: String,
    pub user: String,
}

#[napi]
impl Client {
    /// Creates a node; resolves to its path (with the sequence suffix for
    /// sequential modes).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn create<'env>(
        &self,
        env: &'env Env,
        path: String,
        data: Option<Either<Buffer, String>>,
        options: Option<CreateOptions>,
    ) -> Result<PromiseRaw<'env, String>> {
        let c = self.core();
        let data = bytes(data);
        let opts = options.unwrap_or_default();
        let makepath = opts.makepath.unwrap_or(false);
        let core_opts = create_options(&opts);
        promise::spawn_value(env, async move {
            let o = core_opts?;
            if makepath {
                c.ensure_path(corral_client::parent_path(&path), &o.acl)
                    .await?;
            }
            c.create(&path, &data, &o).await
        })
    }

    /// The node's data and stat.
    #[napi(ts_return_type = "Promise<DataResult>")]
    pub fn get_data<'env>(
        &self,
        env: &'env Env,
        path: String,
        options: Option<WatchOptions>,
    ) -> Result<PromiseRaw<'env, DataResult>> {
        let c = self.core();
        let watch = options.unwrap_or_default().watch;
        promise::spawn_with(
            env,
            move || async move {
                match watch {
                    Some(cb) => c.get_data_cb(&path, move |ev| deliver(&cb, ev)).await,
                    None => c.get_data(&path).await,
                }
            },
            |_, (data, stat)| {
                Ok(DataResult {
                    data: data.into(),
                    stat: stat.into(),
                })
            },
        )
    }

    /// Sets the node's data if `version` matches (-1: any); resolves to the
    /// new stat.
    #[napi(ts_return_type = "Promise<Stat>")]
    pub fn set_data<'env>(
        &self,
        env: &'env Env,
        path: String,
        data: Option<Either<Buffer, String>>,
        version: Option<i32>,
    ) -> Result<PromiseRaw<'env, Stat>> {
        let c = self.core();
        let data = bytes(data);
        let v = self::version(version);
        promise::spawn_with(
            env,
            move || async move { c.set_data(&path, &data, v).await },
            |_, s| Ok(s.into()),
        )
    }

    /// Deletes the node if `version` matches (-1: any); with
    /// `{ recursive: true }` its descendants too (a missing node is then
    /// fine).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete<'env>(
        &self,
        env: &'env Env,
        path: String,
        version: Option<i32>,
        options: Option<DeleteOptions>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let c = self.core();
        let v = self::version(version);
        let recursive = options.unwrap_or_default().recursive.unwrap_or(false);
        promise::spawn_value(env, async move {
            if recursive {
                c.delete_recursive(&path).await
            } else {
                c.delete(&path, v).await
            }
        })
    }

    /// The node's stat, or null if it does not exist (a watch then fires on
    /// its creation).
    #[napi(ts_return_type = "Promise<Stat | null>")]
    pub fn exists<'env>(
        &self,
        env: &'env Env,
        path: String,
        options: Option<WatchOptions>,
    ) -> Result<PromiseRaw<'env, Option<Stat>>> {
        let c = self.core();
        let watch = options.unwrap_or_default().watch;
        promise::spawn_with(
            env,
            move || async move {
                match watch {
                    Some(cb) => c.exists_cb(&path, move |ev| deliver(&cb, ev)).await,
                    None => c.exists(&path).await,
                }
            },
            |_, s| Ok(s.map(Stat::from)),
        )
    }

    /// The names of the node's children.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn get_children<'env>(
        &self,
        env: &'env Env,
        path: String,
        options: Option<WatchOptions>,
    ) -> Result<PromiseRaw<'env, Vec<String>>> {
        let c = self.core();
        let watch = options.unwrap_or_default().watch;
        promise::spawn_value(env, async move {
            match watch {
                Some(cb) => Ok(c
                    .get_children_cb(&path, move |ev| deliver(&cb, ev))
                    .await?
                    .0),
                None => c.get_children(&path).await,
            }
        })
    }

    /// Creates the node and its missing ancestors (empty, persistent); fine
    /// if it exists.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn ensure_path<'env>(
        &self,
        env: &'env Env,
        path: String,
        acl: Option<Vec<Acl>>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let c = self.core();
        let acl = acls(acl);
        promise::spawn_value(env, async move { c.ensure_path(&path, &acl).await })
    }

    /// Waits until the connected server has caught up with the leader;
    /// resolves to the path.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn sync<'env>(&self, env: &'env Env, path: String) -> Result<PromiseRaw<'env, String>> {
        let c = self.core();
        promise::spawn_value(env, async move { c.sync(&path).await })
    }

    /// The node's ACL and stat.
    #[napi(js_name = "getACL", ts_return_type = "Promise<AclResult>")]
    pub fn get_acl<'env>(
        &self,
        env: &'env Env,
        path: String,
    ) -> Result<PromiseRaw<'env, AclResult>> {
        let c = self.core();
        promise::spawn(
            env,
            async move { c.get_acl(&path).await },
            |_, (acl, stat)| {
                Ok(AclResult {
                    acl: acl.into_iter().map(Acl::from).collect(),
                    stat: stat.into(),
                })
            },
        )
    }

    /// Sets the node's ACL if `version` (its `aversion`) matches (-1: any).
    #[napi(js_name = "setACL", ts_return_type = "Promise<Stat>")]
    pub fn set_acl<'env>(
        &self,
        env: &'env Env,
        path: String,
        acl: Vec<Acl>,
        version: Option<i32>,
    ) -> Result<PromiseRaw<'env, Stat>> {
        let c = self.core();
        let acl = acls(Some(acl));
        let v = self::version(version);
        promise::spawn(
            env,
            async move { c.set_acl(&path, &acl, v).await },
            |_, s| Ok(s.into()),
        )
    }

    /// Adds credentials to the session (sent again on every reconnection),
    /// e.g. `addAuth('digest', 'user:password')`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn add_auth<'env>(
        &self,
        env: &'env Env,
        scheme: String,
        auth: Either<Buffer, String>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let c = self.core();
        let auth = bytes(Some(auth));
        promise::spawn_value(env, async move { c.add_auth(&scheme, &auth).await })
    }

    /// A transaction: chain `create`, `delete`, `setData`, `check`, then
    /// `commit()`; all ops are applied or none.
    #[napi]
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self.core())
    }

    /// Adds a persistent (or persistent recursive) watch: `listener` gets
    /// every event on the node (recursive: on the node and its descendants,
    /// without `'node_children_changed'`) until the watch is removed.
    #[napi(
        ts_args_type = "path: string, mode: 'persistent' | 'persistent_recursive', listener: (event: WatchEvent) => void",
        ts_return_type = "Promise<PersistentWatch>"
    )]
    pub fn add_watch<'env>(
        &self,
        env: &'env Env,
        path: String,
        mode: String,
        listener: Callback,
    ) -> Result<PromiseRaw<'env, PersistentWatch>> {
        let c = self.core();
        promise::spawn_value(env, async move {
            let stream = c.add_watch(&path, add_watch_mode(&mode)?).await?;
            Ok(PersistentWatch::start(c, stream, listener))
        })
    }

    /// Removes this session's watches of a type on the node; their callbacks
    /// get a `'data_watch_removed'` / `'child_watch_removed'` /
    /// `'persistent_watch_removed'` event. Rejects with NOWATCHER if there
    /// is none.
    #[napi(
        ts_args_type = "path: string, type: 'data' | 'children' | 'any' | 'persistent' | 'persistent_recursive'",
        ts_return_type = "Promise<void>"
    )]
    pub fn remove_watches<'env>(
        &self,
        env: &'env Env,
        path: String,
        kind: String,
    ) -> Result<PromiseRaw<'env, ()>> {
        let c = self.core();
        promise::spawn_value(env, async move {
            c.remove_watches(&path, watcher_type(&kind)?).await
        })
    }

    /// The session's ephemeral nodes under `prefix` (default `/`).
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn get_ephemerals<'env>(
        &self,
        env: &'env Env,
        prefix: Option<String>,
    ) -> Result<PromiseRaw<'env, Vec<String>>> {
        let c = self.core();
        let prefix = prefix.unwrap_or_else(|| "/".into());
        promise::spawn_value(env, async move { c.get_ephemerals(&prefix).await })
    }

    /// The number of descendants of the node.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn get_all_children_number<'env>(
        &self,
        env: &'env Env,
        path: String,
    ) -> Result<PromiseRaw<'env, i32>> {
        let c = self.core();
        promise::spawn_value(env, async move { c.get_all_children_number(&path).await })
    }

    /// The identities the server associates with this session.
    #[napi(ts_return_type = "Promise<ClientInfo[]>")]
    pub fn who_am_i<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<ClientInfo>>> {
        let c = self.core();
        promise::spawn(env, async move { c.who_am_i().await }, |_, list| {
            Ok(list
                .into_iter()
                .map(|i| ClientInfo {
                    auth_scheme: i.auth_scheme,
                    user: i.user,
                })
                .collect())
        })
    }
}
