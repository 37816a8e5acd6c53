//! The JS thread's operations in flight, moved to and from napi's tokio
//! runtime in batches.
//!
//! - Submission: an operation started on the JS thread is queued; the
//!   first one queued schedules a microtask that hands everything queued
//!   by then to tokio as one task. Code that starts many operations in one
//!   go (a loop, or the continuations of many settled Promises) thus sends
//!   them together: the session task writes them in one syscall instead of
//!   one each.
//! - Completion: a finished operation puts its result in the thread's
//!   queue, as do events for listeners and watch callbacks; the first item
//!   queued after the thread last emptied the queue wakes the thread (one
//!   threadsafe-function call), which then delivers every queued event and
//!   settles the queued Promises, [`SETTLE_PER_TURN`] at a time: between
//!   two turns the continuations of those settled run, and the operations
//!   they start go out while the JS thread settles the rest, instead of all
//!   after the last one (a convoy: server and JS thread taking turns on one
//!   big batch, each idle while the other works).
//!
//! Like any pending I/O, an operation in flight keeps the event loop alive:
//! the threadsafe function is referenced while a Promise is pending.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::ptr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::errors;

/// Starts the future `make` makes (on a tokio thread: a call's future is
/// large, the closure that makes it small); returns the Promise of its
/// result, converted by `conv` on the JS thread.
pub fn start<T, V, M, F, C>(env: &Env, make: M, conv: C) -> Result<sys::napi_value>
where
    T: Send + 'static,
    V: ToNapiValue,
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = corral_client::Result<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<V> + 'static,
{
    let local = Local::get(env)?;
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    check_status!(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
    let queue = local.queue.clone();
    let deferred = JsThreadOnly(deferred);
    let conv = JsThreadOnly(conv);
    let op = move || -> BoxFuture<'static, ()> {
        async move {
            let r = AssertUnwindSafe(make()).catch_unwind().await;
            let settle = Settle {
                deferred,
                value: Box::new(move |env| {
                    let conv = conv.into_inner();
                    match r {
                        Ok(Ok(v)) => unsafe { V::to_napi_value(env.raw(), conv(env, v)?) },
                        Ok(Err(e)) => Err(errors::to_napi(env, &e)),
                        Err(_) => Err(Error::from_reason("panic in the client core")),
                    }
                }),
            };
            queue.push(|r| r.done.push(settle));
        }
        .boxed()
    };
    local.submit(env, Box::new(op))?;
    Ok(promise)
}

/// An operation not handed to tokio yet: makes its task.
type Op = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// A value made on the JS thread and used (normally also dropped) there,
/// carried through a tokio task meanwhile. Dropped elsewhere only if the
/// environment goes away with the operation in flight.
struct JsThreadOnly<T>(T);

// SAFETY: the value is only touched on the JS thread that made it: tokio
// tasks carry it, and `Settle::run` uses it on that thread.
unsafe impl<T> Send for JsThreadOnly<T> {}

impl<T> JsThreadOnly<T> {
    fn into_inner(self) -> T {
        self.0
    }
}

/// A finished operation: its Promise and how to get the value (or error)
/// to settle it with.
struct Settle {
    deferred: JsThreadOnly<sys::napi_deferred>,
    value: MakeValue,
}

/// Makes the value of a settled Promise (or its error), on the JS thread.
type MakeValue = Box<dyn FnOnce(&Env) -> Result<sys::napi_value> + Send>;

impl Settle {
    /// Resolves or rejects the Promise (JS thread).
    fn run(self, env: &Env) -> Result<()> {
        let raw = env.raw();
        let deferred = self.deferred.into_inner();
        check_status!(match (self.value)(env) {
            Ok(v) => unsafe { sys::napi_resolve_deferred(raw, deferred, v) },
            Err(e) => unsafe {
                sys::napi_reject_deferred(raw, deferred, JsError::from(e).into_value(raw))
            },
        })
    }
}

type Wake = ThreadsafeFunction<(), (), (), Status, false, true>;

/// Work for the JS thread: an event to deliver (listeners, watch callbacks).
pub type Job = Box<dyn FnOnce(&Env) -> Result<()> + Send>;

/// What waits for the JS thread. Within one wake-up events go first, as
/// the core produced them before the replies that came with them (a watch
/// event before the reply of the change that fired it).
#[derive(Default)]
struct Ready {
    events: Vec<Job>,
    done: Vec<Settle>,
}

/// The JS thread's queue, filled from tokio's threads.
struct Queue {
    ready: Mutex<Ready>,
    wake: Wake,
}

impl Queue {
    fn push(&self, add: impl FnOnce(&mut Ready)) {
        let was_empty = {
            let mut ready = self.ready.lock().unwrap();
            let empty = ready.events.is_empty() && ready.done.is_empty();
            add(&mut ready);
            empty
        };
        if was_empty {
            self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// Sends events to the JS thread's queue, from any thread.
#[derive(Clone)]
pub struct Events(Arc<Queue>);

impl Events {
    /// The queue of the JS thread of `env` (call on that thread).
    pub fn get(env: &Env) -> Result<Events> {
        Ok(Events(Local::get(env)?.queue.clone()))
    }

    /// Runs `job` on the JS thread. An error it returns (a listener that
    /// threw) becomes an uncaught exception there.
    pub fn send(&self, job: Job) {
        self.0.push(|r| r.events.push(job));
    }
}

/// Promises settled in one turn of the JS thread before it lets their
/// continuations run.
const SETTLE_PER_TURN: usize = 64;

/// The JS thread's side.
struct Local {
    env: sys::napi_env,
    queue: Arc<Queue>,
    /// Promises not settled yet.
    pending: Cell<usize>,
    /// Operations started since the last flush.
    submitted: RefCell<Vec<Op>>,
    /// `queueMicrotask` and the function it is given to flush.
    queue_microtask: sys::napi_ref,
    flush: sys::napi_ref,
    /// What the last wake-up took from the queue and has not settled yet;
    /// once settled, its emptied buffers, handed back to the queue.
    backlog: RefCell<Ready>,
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

impl Local {
    /// This thread's state, made on first use (and again for a new
    /// environment on the same thread).
    fn get(env: &Env) -> Result<Rc<Local>> {
        if let Some(l) = LOCAL.with_borrow(|l| l.clone()) {
            if l.env == env.raw() {
                return Ok(l);
            }
        }
        let noop = env.create_function_from_closure::<(), (), _>("corralSettle", |_| Ok(()))?;
        let wake: Wake = noop
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(|ctx| drain(&ctx.env))?;
        let flush = env.create_function_from_closure::<(), (), _>("corralFlush", |_| {
            flush();
            Ok(())
        })?;
        let queue_microtask = env
            .get_global()?
            .get_named_property_unchecked::<Unknown>("queueMicrotask")?;
        let local = Rc::new(Local {
            env: env.raw(),
            queue: Arc::new(Queue {
                ready: Mutex::new(Ready::default()),
                wake,
            }),
            pending: Cell::new(0),
            submitted: RefCell::new(Vec::new()),
            queue_microtask: reference(env, queue_microtask.raw())?,
            flush: reference(env, flush.raw())?,
            backlog: RefCell::new(Ready::default()),
        });
        LOCAL.with_borrow_mut(|l| *l = Some(local.clone()));
        Ok(local)
    }

    /// Queues an operation; the first queued since the last flush
    /// schedules the next flush.
    fn submit(&self, env: &Env, task: Op) -> Result<()> {
        let first = {
            let mut submitted = self.submitted.borrow_mut();
            submitted.push(task);
            submitted.len() == 1
        };
        if first {
            let raw = env.raw();
            let (mut queue_microtask, mut flush) = (ptr::null_mut(), ptr::null_mut());
            let (mut undefined, mut ignored) = (ptr::null_mut(), ptr::null_mut());
            check_status!(unsafe {
                sys::napi_get_reference_value(raw, self.queue_microtask, &mut queue_microtask)
            })?;
            check_status!(unsafe { sys::napi_get_reference_value(raw, self.flush, &mut flush) })?;
            check_status!(unsafe { sys::napi_get_undefined(raw, &mut undefined) })?;
            check_status!(unsafe {
                sys::napi_call_function(raw, undefined, queue_microtask, 1, &flush, &mut ignored)
            })?;
        }
        let n = self.pending.get();
        if n == 0 {
            check_status!(unsafe {
                sys::napi_ref_threadsafe_function(env.raw(), self.queue.wake.raw())
            })?;
        }
        self.pending.set(n + 1);
        Ok(())
    }

    /// `n` Promises settled: when none is left, the loop may end.
    fn settled(&self, env: &Env, n: usize) -> Result<()> {
        let left = self.pending.get().saturating_sub(n);
        self.pending.set(left);
        if left == 0 {
            check_status!(unsafe {
                sys::napi_unref_threadsafe_function(env.raw(), self.queue.wake.raw())
            })?;
        }
        Ok(())
    }
}

fn reference(env: &Env, value: sys::napi_value) -> Result<sys::napi_ref> {
    let mut r = ptr::null_mut();
    check_status!(unsafe { sys::napi_create_reference(env.raw(), value, 1, &mut r) })?;
    Ok(r)
}

/// Hands the queued operations to tokio (JS thread, as a microtask).
fn flush() {
    let Some(local) = LOCAL.with_borrow(|l| l.clone()) else {
        return;
    };
    let mut batch = local.submitted.take();
    match batch.len() {
        0 => {}
        1 => {
            let op = batch.pop().expect("one");
            napi::bindgen_prelude::spawn(async move { op().await });
        }
        _ => {
            napi::bindgen_prelude::spawn(async move {
                let mut ops: FuturesUnordered<_> = batch.into_iter().map(|op| op()).collect();
                while ops.next().await.is_some() {}
            });
        }
    }
}

/// One turn of the JS thread, woken by the queue: takes what is queued
/// (unless an earlier turn left some to settle) and delivers its events,
/// then settles up to [`SETTLE_PER_TURN`] Promises; if more are left, wakes
/// itself for another turn.
fn drain(env: &Env) -> Result<()> {
    let Some(local) = LOCAL.with_borrow(|l| l.clone()) else {
        return Ok(());
    };
    let mut batch = local.backlog.take();
    if batch.done.is_empty() {
        std::mem::swap(&mut batch, &mut *local.queue.ready.lock().unwrap());
        for job in batch.events.drain(..) {
            in_scope(env, job);
        }
    }
    let n = batch.done.len().min(SETTLE_PER_TURN);
    for s in batch.done.drain(..n) {
        in_scope(env, |env| s.run(env));
    }
    let more = !batch.done.is_empty();
    *local.backlog.borrow_mut() = batch;
    if more {
        local
            .queue
            .wake
            .call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
    local.settled(env, n)
}

/// Runs `f` in its own handle scope; its error becomes an uncaught
/// exception (as an exception thrown by an EventEmitter's listener does).
fn in_scope(env: &Env, f: impl FnOnce(&Env) -> Result<()>) {
    let raw = env.raw();
    let mut scope = ptr::null_mut();
    if unsafe { sys::napi_open_handle_scope(raw, &mut scope) } != sys::Status::napi_ok {
        return;
    }
    if let Err(e) = f(env) {
        let mut pending = false;
        let mut exception = ptr::null_mut();
        unsafe {
            sys::napi_is_exception_pending(raw, &mut pending);
            if pending {
                sys::napi_get_and_clear_last_exception(raw, &mut exception);
            } else {
                exception = JsError::from(e).into_value(raw);
            }
            sys::napi_fatal_exception(raw, exception);
        }
    }
    unsafe { sys::napi_close_handle_scope(raw, scope) };
}
