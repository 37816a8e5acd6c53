//! EventEmitter-style listeners (`on`, `once`, `off`, ...) for the classes
//! that emit events (`Client`, `LeaderLatch`, `TreeCache`).
//!
//! Events come from the core's tasks (any thread) through the JS thread's
//! queue (`batch.rs`), so they reach the JS thread in the order they were
//! emitted, and before the Promises settled after them; there every
//! listener of the event is called, in the order it was added, as Node's
//! EventEmitter does. Listeners never keep the process alive by themselves.

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::UnknownReturnValue;

use crate::batch::Events;
use crate::convert::WatchEvent;
use crate::recipes::tree_cache::TreeChange;

/// What an event carries to its listeners.
#[derive(Clone)]
pub enum Payload {
    Nothing,
    Str(String),
    Watch(WatchEvent),
    Tree(TreeChange),
}

impl ToNapiValue for Payload {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        match val {
            Payload::Nothing => <()>::to_napi_value(env, ()),
            Payload::Str(s) => String::to_napi_value(env, s),
            Payload::Watch(w) => WatchEvent::to_napi_value(env, w),
            Payload::Tree(t) => TreeChange::to_napi_value(env, t),
        }
    }
}

type ListenerRef = FunctionRef<Payload, UnknownReturnValue>;

struct Entry {
    event: String,
    once: bool,
    func: ListenerRef,
}

/// The listeners; touched on the JS thread only (the Mutex makes the
/// emitter `Send` for the classes that hold it).
#[derive(Default)]
struct Listeners {
    list: Mutex<Vec<(u64, Entry)>>,
    next: Mutex<u64>,
}

/// Sends events from any thread to an [`Emitter`]'s listeners. Events sent
/// before the first listener was added are dropped.
#[derive(Clone, Default)]
pub struct EventSender {
    sink: Arc<Mutex<Option<Sink>>>,
}

/// Where the events go, once the emitter has a listener.
type Sink = (Events, Arc<Listeners>);

impl EventSender {
    pub fn emit(&self, event: &str, payload: Payload) {
        let sink = self.sink.lock().unwrap().clone();
        if let Some((events, listeners)) = sink {
            let event = event.to_owned();
            events.send(Box::new(move |env| {
                dispatch(env, &listeners, &event, payload)
            }));
        }
    }
}

/// The listeners of one JS object.
#[derive(Default)]
pub struct Emitter {
    listeners: Arc<Listeners>,
    sender: EventSender,
}

impl Emitter {
    pub fn sender(&self) -> EventSender {
        self.sender.clone()
    }

    /// Adds a listener (JS thread).
    pub fn add(
        &self,
        env: &Env,
        event: String,
        func: Function<Payload, UnknownReturnValue>,
        once: bool,
    ) -> Result<()> {
        self.ensure_sink(env)?;
        let entry = Entry {
            event,
            once,
            func: func.create_ref()?,
        };
        let mut next = self.listeners.next.lock().unwrap();
        *next += 1;
        self.listeners.list.lock().unwrap().push((*next, entry));
        Ok(())
    }

    /// Removes the most recently added registration of `func` for `event`.
    pub fn remove(
        &self,
        env: &Env,
        event: &str,
        func: Function<Payload, UnknownReturnValue>,
    ) -> Result<()> {
        let target = func.to_unknown();
        let mut list = self.listeners.list.lock().unwrap();
        let mut found = None;
        for (i, (_, e)) in list.iter().enumerate().rev() {
            if e.event == event && env.strict_equals(e.func.borrow_back(env)?, target)? {
                found = Some(i);
                break;
            }
        }
        if let Some(i) = found {
            let removed = list.remove(i);
            drop(list);
            drop(removed);
        }
        Ok(())
    }

    /// Removes every listener of `event`, or every listener.
    pub fn remove_all(&self, event: Option<&str>) {
        let removed: Vec<_> = {
            let mut list = self.listeners.list.lock().unwrap();
            let (gone, kept) = std::mem::take(&mut *list)
                .into_iter()
                .partition(|(_, e)| event.is_none_or(|ev| e.event == ev));
            *list = kept;
            gone
        };
        drop(removed);
    }

    pub fn count(&self, event: &str) -> u32 {
        let list = self.listeners.list.lock().unwrap();
        list.iter().filter(|(_, e)| e.event == event).count() as u32
    }

    fn ensure_sink(&self, env: &Env) -> Result<()> {
        let mut sink = self.sender.sink.lock().unwrap();
        if sink.is_some() {
            return Ok(());
        }
        *sink = Some((Events::get(env)?, self.listeners.clone()));
        Ok(())
    }
}

/// Calls the listeners of `event` (JS thread). A listener that throws
/// makes the exception uncaught, as with Node's EventEmitter.
fn dispatch(env: &Env, listeners: &Listeners, event: &str, payload: Payload) -> Result<()> {
    let calls: Vec<(u64, bool)> = {
        let list = listeners.list.lock().unwrap();
        list.iter()
            .filter(|(_, e)| e.event == event)
            .map(|(id, e)| (*id, e.once))
            .collect()
    };
    for (id, once) in calls {
        // Look each one up again: an earlier listener may have removed it.
        // A `once` listener is taken out before it is called.
        let (func, _removed) = {
            let mut list = listeners.list.lock().unwrap();
            let Some(i) = list.iter().position(|(i, _)| *i == id) else {
                continue;
            };
            let func = list[i].1.func.borrow_back(env)?;
            (func, once.then(|| list.remove(i)))
        };
        func.call(payload.clone())?;
    }
    Ok(())
}

/// The EventEmitter methods (`on`, `addListener`, `once`, `off`,
/// `removeListener`, `removeAllListeners`, `listenerCount`) of a class with
/// an `emitter: Emitter` field; the strings are their TypeScript
/// arguments: (event, listener), optional event, and event.
#[macro_export]
macro_rules! emitter_methods {
    ($ty:ident, $listen:tt, $opt_event:tt, $event:tt) => {
        #[napi_derive::napi]
        impl $ty {
            /// Adds a listener.
            #[napi(ts_args_type = $listen, ts_return_type = "this")]
            pub fn on<'a>(
                &self,
                env: &napi::Env,
                this: napi::bindgen_prelude::This<'a>,
                event: String,
                listener: napi::bindgen_prelude::Function<
                    $crate::emitter::Payload,
                    napi::threadsafe_function::UnknownReturnValue,
                >,
            ) -> napi::Result<napi::bindgen_prelude::This<'a>> {
                self.emitter.add(env, event, listener, false)?;
                Ok(this)
            }

            /// Same as `on`.
            #[napi(ts_args_type = $listen, ts_return_type = "this")]
            pub fn add_listener<'a>(
                &self,
                env: &napi::Env,
                this: napi::bindgen_prelude::This<'a>,
                event: String,
                listener: napi::bindgen_prelude::Function<
                    $crate::emitter::Payload,
                    napi::threadsafe_function::UnknownReturnValue,
                >,
            ) -> napi::Result<napi::bindgen_prelude::This<'a>> {
                self.emitter.add(env, event, listener, false)?;
                Ok(this)
            }

            /// Adds a listener called for the next event only.
            #[napi(ts_args_type = $listen, ts_return_type = "this")]
            pub fn once<'a>(
                &self,
                env: &napi::Env,
                this: napi::bindgen_prelude::This<'a>,
                event: String,
                listener: napi::bindgen_prelude::Function<
                    $crate::emitter::Payload,
                    napi::threadsafe_function::UnknownReturnValue,
                >,
            ) -> napi::Result<napi::bindgen_prelude::This<'a>> {
                self.emitter.add(env, event, listener, true)?;
                Ok(this)
            }

            /// Removes a listener (its latest registration).
            #[napi(ts_args_type = $listen, ts_return_type = "this")]
            pub fn off<'a>(
                &self,
                env: &napi::Env,
                this: napi::bindgen_prelude::This<'a>,
                event: String,
                listener: napi::bindgen_prelude::Function<
                    $crate::emitter::Payload,
                    napi::threadsafe_function::UnknownReturnValue,
                >,
            ) -> napi::Result<napi::bindgen_prelude::This<'a>> {
                self.emitter.remove(env, &event, listener)?;
                Ok(this)
            }

            /// Same as `off`.
            #[napi(ts_args_type = $listen, ts_return_type = "this")]
            pub fn remove_listener<'a>(
                &self,
                env: &napi::Env,
                this: napi::bindgen_prelude::This<'a>,
                event: String,
                listener: napi::bindgen_prelude::Function<
                    $crate::emitter::Payload,
                    napi::threadsafe_function::UnknownReturnValue,
                >,
            ) -> napi::Result<napi::bindgen_prelude::This<'a>> {
                self.emitter.remove(env, &event, listener)?;
                Ok(this)
            }

            /// Removes every listener (of `event`, if given).
            #[napi(ts_args_type = $opt_event, ts_return_type = "this")]
            pub fn remove_all_listeners<'a>(
                &self,
                this: napi::bindgen_prelude::This<'a>,
                event: Option<String>,
            ) -> napi::bindgen_prelude::This<'a> {
                self.emitter.remove_all(event.as_deref());
                this
            }

            /// The number of listeners of `event`.
            #[napi(ts_args_type = $event)]
            pub fn listener_count(&self, event: String) -> u32 {
                self.emitter.count(&event)
            }
        }
    };
}
