//! `ServiceDiscovery`: services register their instances; clients list and
//! watch them (Curator's `x-discovery`, same layout and JSON, so Curator
//! and Corral services find each other).
//!
//! Layout: `<base>/<service name>/<instance id>`, one node per instance,
//! whose data is the instance as Curator's `JsonInstanceSerializer` writes
//! it:
//!
//! ```json
//! {"name":"api","id":"4f1c…","address":"10.0.0.7","port":8080,"sslPort":null,
//!  "payload":{"zone":"a"},"registrationTimeUTC":1700000000000,
//!  "serviceType":"DYNAMIC","uriSpec":null,"enabled":true}
//! ```
//!
//! `DYNAMIC` instances are ephemeral nodes (gone when the registering
//! session ends); `STATIC` and `PERMANENT` ones are persistent. The payload
//! is any JSON value, passed through as is (a Java reader with a typed
//! payload class expects Jackson's `"@class"` property in it).
//!
//! Failure behaviour: while Suspended, registrations stay (the session may
//! live). After Reconnected every registration is checked and re-created
//! if missing. If the session is Lost, the ephemeral instances are gone;
//! with [`ServiceDiscovery::renew_sessions`] a new session is opened
//! (retrying with backoff) and every instance registered again; without
//! it, registration stops and calls fail with SessionExpired.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::barrier::{delete_if_exists, ensure_path, join_path};
use super::tree_cache::{connect_with_backoff, TreeCache, TreeCacheEvent, TreeCacheEvents};
use crate::types::CreateOptions;
use crate::{Client, ClientBuilder, Error, ListenerId, Result, SessionState};

/// Curator's `ServiceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceType {
    /// Ephemeral: lives as long as the registering session.
    Dynamic,
    /// Persistent (Curator's discovery server purges it after a while).
    Static,
    /// Persistent, removed only explicitly.
    Permanent,
    /// Ephemeral sequential in Curator; not supported by
    /// [`ServiceDiscovery::register`] (BadArguments), but read.
    DynamicSequential,
}

/// One part of a [`UriSpec`]: literal text or a `{variable}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UriSpecPart {
    pub value: String,
    pub variable: bool,
}

/// Curator's `UriSpec` as serialized: its parsed parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UriSpec {
    pub parts: Vec<UriSpecPart>,
}

/// A service instance, in Curator's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstance {
    pub name: String,
    pub id: String,
    pub address: Option<String>,
    pub port: Option<i32>,
    pub ssl_port: Option<i32>,
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    #[serde(rename = "registrationTimeUTC", default)]
    pub registration_time_utc: i64,
    pub service_type: ServiceType,
    #[serde(default)]
    pub uri_spec: Option<UriSpec>,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

impl ServiceInstance {
    /// A `DYNAMIC` instance of `name` with a random id, registered now.
    pub fn new(name: &str, address: &str, port: i32) -> ServiceInstance {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        ServiceInstance {
            name: name.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            address: Some(address.to_owned()),
            port: Some(port),
            ssl_port: None,
            payload: None,
            registration_time_utc: now,
            service_type: ServiceType::Dynamic,
            uri_spec: None,
            enabled: true,
        }
    }

    pub fn with_payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = Some(payload);
        self
    }

    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::BadArguments(format!("instance JSON: {e}")))
    }

    pub fn from_json(data: &[u8]) -> Result<ServiceInstance> {
        serde_json::from_slice(data).map_err(|e| Error::BadArguments(format!("instance JSON: {e}")))
    }
}

/// Registers and finds service instances under a base path; cheap to
/// clone. See the module docs.
///
/// ```no_run
/// # use corral_client::{Client, recipes::service_discovery::{ServiceDiscovery, ServiceInstance}};
/// # async fn demo(client: Client) -> corral_client::Result<()> {
/// let discovery = ServiceDiscovery::new(client, "/services");
/// let me = ServiceInstance::new("api", "10.0.0.7", 8080)
///     .with_payload(serde_json::json!({"zone": "a"}));
/// discovery.register(&me).await?;
/// let peers = discovery.instances("api").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServiceDiscovery {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    client: Mutex<Client>,
    renew: Mutex<Option<ClientBuilder>>,
    /// What we registered, by (name, id): re-registered after a new session.
    registered: Mutex<BTreeMap<(String, String), ServiceInstance>>,
    /// Started with the first registration; stops when dropped.
    watcher: Mutex<Option<oneshot::Sender<()>>>,
}

impl ServiceDiscovery {
    pub fn new(client: Client, base_path: &str) -> ServiceDiscovery {
        ServiceDiscovery {
            inner: Arc::new(Inner {
                base: base_path.to_owned(),
                client: Mutex::new(client),
                renew: Mutex::new(None),
                registered: Mutex::new(BTreeMap::new()),
                watcher: Mutex::new(None),
            }),
        }
    }

    /// After the session is lost, connect a new one with `builder` (owned
    /// by this discovery) and register every instance again; caches made
    /// by [`ServiceDiscovery::cache`] renew theirs the same way.
    pub fn renew_sessions(self, builder: ClientBuilder) -> Self {
        *self.inner.renew.lock().unwrap() = Some(builder);
        self
    }

    /// The client of the current session.
    pub fn client(&self) -> Client {
        self.inner.client.lock().unwrap().clone()
    }

    fn instance_path(&self, name: &str, id: &str) -> String {
        join_path(&join_path(&self.inner.base, name), id)
    }

    /// Registers (or re-registers, replacing the data) an instance. It is
    /// remembered and registered again after reconnections and session
    /// renewal — also if this call failed with a connection or session
    /// error — until [`ServiceDiscovery::unregister`] or
    /// [`ServiceDiscovery::close`].
    pub async fn register(&self, instance: &ServiceInstance) -> Result<()> {
        check_name(&instance.name)?;
        check_name(&instance.id)?;
        if instance.service_type == ServiceType::DynamicSequential {
            return Err(Error::BadArguments(
                "DYNAMIC_SEQUENTIAL registration is not supported".into(),
            ));
        }
        instance.to_json()?; // fail before remembering it
        self.inner.registered.lock().unwrap().insert(
            (instance.name.clone(), instance.id.clone()),
            instance.clone(),
        );
        self.start_watcher();
        write_instance(&self.client(), &self.inner.base, instance).await
    }

    /// Updates a registered instance's data.
    pub async fn update(&self, instance: &ServiceInstance) -> Result<()> {
        let key = (instance.name.clone(), instance.id.clone());
        if !self.inner.registered.lock().unwrap().contains_key(&key) {
            return Err(Error::NoNode);
        }
        self.register(instance).await
    }

    /// Removes an instance (ours or not). Ok if it is not registered.
    pub async fn unregister(&self, name: &str, id: &str) -> Result<()> {
        self.inner
            .registered
            .lock()
            .unwrap()
            .remove(&(name.to_owned(), id.to_owned()));
        delete_if_exists(&self.client(), &self.instance_path(name, id)).await
    }

    /// The names of the services with a node under the base path.
    pub async fn service_names(&self) -> Result<Vec<String>> {
        match self.client().get_children(&self.inner.base).await {
            Ok(mut names) => {
                names.sort();
                Ok(names)
            }
            Err(Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The instances of service `name` now, by id. Nodes that do not parse
    /// as instances are skipped (with a warning).
    pub async fn instances(&self, name: &str) -> Result<Vec<ServiceInstance>> {
        let client = self.client();
        let service = join_path(&self.inner.base, name);
        let mut ids = match client.get_children(&service).await {
            Ok(ids) => ids,
            Err(Error::NoNode) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        ids.sort();
        let mut out = Vec::new();
        for id in ids {
            match client.get_data(&join_path(&service, &id)).await {
                Ok((data, _)) => out.extend(parse(&service, &data)),
                Err(Error::NoNode) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// One instance, if registered.
    pub async fn instance(&self, name: &str, id: &str) -> Result<Option<ServiceInstance>> {
        match self.client().get_data(&self.instance_path(name, id)).await {
            Ok((data, _)) => ServiceInstance::from_json(&data).map(Some),
            Err(Error::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A live view of service `name`'s instances (a [`TreeCache`] of depth
    /// 1 on its node).
    pub async fn cache(&self, name: &str) -> Result<ServiceCache> {
        let mut builder =
            TreeCache::builder(self.client(), &join_path(&self.inner.base, name)).max_depth(1);
        if let Some(renew) = self.inner.renew.lock().unwrap().clone() {
            builder = builder.renew_sessions(renew);
        }
        let (cache, events) = builder.start().await?;
        Ok(ServiceCache {
            root: join_path(&self.inner.base, name),
            cache,
            events,
        })
    }

    /// Unregisters every instance registered through this handle and stops
    /// re-registering.
    pub async fn close(&self) {
        drop(self.inner.watcher.lock().unwrap().take());
        let keys: Vec<(String, String)> =
            std::mem::take(&mut *self.inner.registered.lock().unwrap())
                .into_keys()
                .collect();
        let client = self.client();
        for (name, id) in keys {
            let _ = delete_if_exists(&client, &self.instance_path(&name, &id)).await;
        }
    }

    /// Starts the task that re-registers after reconnections and session
    /// loss (once).
    fn start_watcher(&self) {
        let mut slot = self.inner.watcher.lock().unwrap();
        if slot.is_some() {
            return;
        }
        let (stop_tx, stop_rx) = oneshot::channel();
        *slot = Some(stop_tx);
        tokio::spawn(watch_sessions(Arc::downgrade(&self.inner), stop_rx));
    }
}

/// Re-registers on Reconnected; renews the session on Lost (if configured).
async fn watch_sessions(inner: std::sync::Weak<Inner>, mut stop: oneshot::Receiver<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listen = |client: &Client| -> ListenerId {
        let tx = tx.clone();
        client.add_listener(move |s| {
            let _ = tx.send(s);
        })
    };
    let Some(first) = inner.upgrade() else { return };
    let mut client = first.client.lock().unwrap().clone();
    drop(first);
    let mut listener = listen(&client);
    loop {
        let state = tokio::select! {
            _ = &mut stop => break,
            s = rx.recv() => match s { Some(s) => s, None => break },
        };
        let Some(inner) = inner.upgrade() else { break };
        match state {
            SessionState::Reconnected => reregister_all(&inner, &client).await,
            SessionState::Lost => {
                let renew = inner.renew.lock().unwrap().clone();
                let Some(builder) = renew else { break };
                let fresh = tokio::select! {
                    _ = &mut stop => break,
                    c = connect_with_backoff(&builder) => c,
                };
                client.remove_listener(listener);
                client = fresh;
                *inner.client.lock().unwrap() = client.clone();
                listener = listen(&client);
                reregister_all(&inner, &client).await;
            }
            SessionState::Closed | SessionState::AuthFailed => break,
            _ => {}
        }
    }
    client.remove_listener(listener);
}

async fn reregister_all(inner: &Inner, client: &Client) {
    let all: Vec<ServiceInstance> = inner.registered.lock().unwrap().values().cloned().collect();
    for instance in all {
        if let Err(e) = write_instance(client, &inner.base, &instance).await {
            tracing::warn!(error = %e, id = %instance.id, "service discovery: re-registration failed");
        }
    }
}

/// Creates the instance's node, or replaces its data; an ephemeral left by
/// an older session of ours is deleted and created again (as Curator does).
async fn write_instance(client: &Client, base: &str, instance: &ServiceInstance) -> Result<()> {
    let service = join_path(base, &instance.name);
    let path = join_path(&service, &instance.id);
    let data = instance.to_json()?;
    let ephemeral = instance.service_type == ServiceType::Dynamic;
    let opts = if ephemeral {
        CreateOptions::ephemeral()
    } else {
        CreateOptions::default()
    };
    ensure_path(client, &service).await?;
    for _ in 0..5 {
        match client.create(&path, &data, &opts).await {
            Ok(_) => return Ok(()),
            Err(Error::NodeExists) => {
                let Some(stat) = client.exists(&path).await? else {
                    continue;
                };
                if ephemeral && stat.ephemeral_owner != client.session_id() {
                    match client.delete(&path, Some(stat.version)).await {
                        Ok(()) | Err(Error::NoNode) | Err(Error::BadVersion) => continue,
                        Err(e) => return Err(e),
                    }
                }
                match client.set_data(&path, &data, None).await {
                    Ok(_) => return Ok(()),
                    Err(Error::NoNode) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) if e.is_retryable() => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => return Err(e),
        }
    }
    Err(Error::ConnectionLoss)
}

fn parse(service: &str, data: &[u8]) -> Option<ServiceInstance> {
    match ServiceInstance::from_json(data) {
        Ok(i) => Some(i),
        Err(e) => {
            tracing::warn!(%service, error = %e, "service discovery: skipping a node");
            None
        }
    }
}

fn check_name(s: &str) -> Result<()> {
    if s.is_empty() || s.contains('/') {
        return Err(Error::BadArguments(format!(
            "{s:?} is not a valid service name or id"
        )));
    }
    Ok(())
}

/// A live view of one service's instances; see
/// [`ServiceDiscovery::cache`].
#[derive(Debug)]
pub struct ServiceCache {
    root: String,
    cache: TreeCache,
    events: TreeCacheEvents,
}

impl ServiceCache {
    /// The instances now (as cached), by id.
    pub fn instances(&self) -> Vec<ServiceInstance> {
        self.cache
            .children(&self.root)
            .unwrap_or_default()
            .iter()
            .filter_map(|id| {
                let node = self.cache.get(&join_path(&self.root, id))?;
                parse(&self.root, &node.data)
            })
            .collect()
    }

    /// Waits for the next change of the instances: `Ok(true)` after one,
    /// `Ok(false)` if `timeout` passed first; SessionExpired if the cache
    /// stopped (session lost without renewal).
    pub async fn changed(&mut self, timeout: Duration) -> Result<bool> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Err(_) => return Ok(false),
                Ok(None) => return Err(Error::SessionExpired),
                Ok(Some(
                    TreeCacheEvent::NodeAdded(n)
                    | TreeCacheEvent::NodeUpdated(n)
                    | TreeCacheEvent::NodeRemoved(n),
                )) if n.path != self.root => return Ok(true),
                Ok(Some(_)) => {}
            }
        }
    }

    pub async fn close(self) {
        self.cache.close().await;
    }
}
