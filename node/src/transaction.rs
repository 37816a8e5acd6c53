//! `Transaction`: a builder of a ZooKeeper multi. Ops are checked when
//! added; a bad argument makes `commit()` reject with `BADARGUMENTS`.

use std::sync::Mutex;

use corral_client::{Client as CoreClient, Op, OpResult as CoreOpResult};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{bytes, create_options, version, CreateOptions, Stat};
use crate::promise;

/// The result of one op of a committed transaction.
#[napi(object)]
pub struct OpResult {
    #[napi(
        js_name = "type",
        ts_type = "'create' | 'delete' | 'set_data' | 'check'"
    )]
    pub kind: String,
    /// `create`: the created path.
    pub path: Option<String>,
    /// `set_data` (and `create` of containers and TTL nodes): the stat.
    pub stat: Option<Stat>,
}

fn op_result(r: CoreOpResult) -> OpResult {
    let (kind, path, stat) = match r {
        CoreOpResult::Create { path, stat } => ("create", Some(path), stat),
        CoreOpResult::Delete => ("delete", None, None),
        CoreOpResult::SetData(stat) => ("set_data", None, Some(stat)),
        CoreOpResult::Check => ("check", None, None),
        // Only reads have other results; a transaction has none.
        _ => ("unknown", None, None),
    };
    OpResult {
        kind: kind.to_owned(),
        path,
        stat: stat.map(Stat::from),
    }
}

#[derive(Default)]
struct Pending {
    ops: Vec<Op>,
    error: Option<corral_client::Error>,
}

/// Ops to apply atomically; see `Client.transaction()`.
#[napi]
pub struct Transaction {
    client: CoreClient,
    pending: Mutex<Pending>,
}

impl Transaction {
    pub fn new(client: CoreClient) -> Transaction {
        Transaction {
            client,
            pending: Mutex::new(Pending::default()),
        }
    }

    fn push(&self, op: corral_client::Result<Op>) {
        let mut p = self.pending.lock().unwrap();
        match op {
            Ok(op) => p.ops.push(op),
            Err(e) => {
                p.error.get_or_insert(e);
            }
        }
    }
}

#[napi]
impl Transaction {
    /// Adds a create (`makepath` is not supported in a transaction).
    #[napi(ts_return_type = "this")]
    pub fn create<'a>(
        &self,
        this: This<'a>,
        path: String,
        data: Option<Either<Buffer, String>>,
        options: Option<CreateOptions>,
    ) -> This<'a> {
        let opts = options.unwrap_or_default();
        self.push(create_options(&opts).map(|o| Op::create(path, bytes(data), o)));
        this
    }

    /// Adds a delete if `version` matches (-1: any).
    #[napi(ts_return_type = "this")]
    pub fn delete<'a>(&self, this: This<'a>, path: String, version: Option<i32>) -> This<'a> {
        self.push(Ok(Op::delete(path, self::version(version))));
        this
    }

    /// Adds a setData if `version` matches (-1: any).
    #[napi(ts_return_type = "this")]
    pub fn set_data<'a>(
        &self,
        this: This<'a>,
        path: String,
        data: Option<Either<Buffer, String>>,
        version: Option<i32>,
    ) -> This<'a> {
        self.push(Ok(Op::set_data(path, bytes(data), self::version(version))));
        this
    }

    /// Adds a check that the node exists with `version` (-1: any).
    #[napi(ts_return_type = "this")]
    pub fn check<'a>(&self, this: This<'a>, path: String, version: Option<i32>) -> This<'a> {
        self.push(Ok(Op::check(path, self::version(version))));
        this
    }

    /// Applies the ops: resolves to one result per op, or rejects with the
    /// first failing op's error (its `index` property tells which) and
    /// nothing applied.
    #[napi(ts_return_type = "Promise<OpResult[]>")]
    pub fn commit<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<OpResult>>> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap());
        let c = self.client.clone();
        promise::spawn(
            env,
            async move {
                if let Some(e) = pending.error {
                    return Err(e);
                }
                c.multi(pending.ops).await
            },
            |_, results| Ok(results.into_iter().map(op_result).collect()),
        )
    }
}
