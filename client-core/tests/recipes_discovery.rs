//! ServiceDiscovery: Curator x-discovery's layout and JSON; list and watch
//! instances; an instance is registered again after its session is lost.
//! Against corral-server and ZooKeeper.

mod support;

use std::time::Duration;

use corral_client::recipes::service_discovery::{
    ServiceDiscovery, ServiceInstance, ServiceType, UriSpec, UriSpecPart,
};
use corral_client::{Client, CreateOptions, SessionState};
use serde_json::json;
use support::{within, Kind, Proxy, Server};

const WAIT: Duration = Duration::from_secs(30);

async fn connect(hosts: &str) -> Client {
    Client::builder(hosts)
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

/// What Curator's `JsonInstanceSerializer` writes (field for field).
const CURATOR_JSON: &str = r#"{"name":"test","id":"ca2fff8e-d756-480c-b59e-8297ff88624b","address":"10.20.30.40","port":1234,"sslPort":null,"payload":{"@class":"java.util.LinkedHashMap","zone":"a"},"registrationTimeUTC":1325129459728,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"http://","variable":false},{"value":"address","variable":true}]},"enabled":true}"#;

async fn register_and_list(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let c = connect(&server.hosts()).await;
    let discovery = ServiceDiscovery::new(c.clone(), "/services");
    assert!(discovery.service_names().await.unwrap().is_empty());
    let mut cache = discovery.cache("api").await.unwrap();
    assert!(cache.instances().is_empty());

    let mut a = ServiceInstance::new("api", "10.0.0.1", 8080).with_payload(json!({"zone": "a"}));
    a.uri_spec = Some(UriSpec {
        parts: vec![
            UriSpecPart {
                value: "http://".into(),
                variable: false,
            },
            UriSpecPart {
                value: "address".into(),
                variable: true,
            },
        ],
    });
    let b = ServiceInstance::new("api", "10.0.0.2", 8080);
    discovery.register(&a).await.unwrap();
    discovery.register(&b).await.unwrap();
    let other = ServiceInstance::new("db", "10.0.0.3", 5432);
    discovery.register(&other).await.unwrap();

    // Curator's layout and JSON field names; ephemeral for DYNAMIC.
    let (raw, stat) = c
        .get_data(&format!("/services/api/{}", a.id))
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, c.session_id());
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "address",
            "enabled",
            "id",
            "name",
            "payload",
            "port",
            "registrationTimeUTC",
            "serviceType",
            "sslPort",
            "uriSpec"
        ]
    );
    assert_eq!(v["serviceType"], "DYNAMIC");
    assert_eq!(v["sslPort"], serde_json::Value::Null);
    assert_eq!(v["payload"], json!({"zone": "a"}));
    assert_eq!(v["uriSpec"]["parts"][1]["variable"], true);

    assert_eq!(discovery.service_names().await.unwrap(), ["api", "db"]);
    let mut listed = discovery.instances("api").await.unwrap();
    listed.sort_by(|x, y| x.address.cmp(&y.address));
    assert_eq!(listed, vec![a.clone(), b.clone()]);
    assert_eq!(
        discovery.instance("db", &other.id).await.unwrap(),
        Some(other.clone())
    );

    // An instance written by Curator reads back.
    c.create(
        "/services/api/ca2fff8e-d756-480c-b59e-8297ff88624b",
        CURATOR_JSON.as_bytes(),
        &CreateOptions::ephemeral(),
    )
    .await
    .unwrap();
    let curator = discovery
        .instance("api", "ca2fff8e-d756-480c-b59e-8297ff88624b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(curator.port, Some(1234));
    assert_eq!(curator.service_type, ServiceType::Dynamic);
    assert_eq!(curator.registration_time_utc, 1325129459728);
    assert_eq!(curator.payload.as_ref().unwrap()["zone"], "a");
    // Round trip: the same JSON value.
    let ours: serde_json::Value = serde_json::from_slice(&curator.to_json().unwrap()).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(CURATOR_JSON).unwrap();
    assert_eq!(ours, theirs);

    // The cache follows registrations, updates and removals.
    let n =
        |cache: &corral_client::recipes::service_discovery::ServiceCache| cache.instances().len();
    while n(&cache) != 3 {
        assert!(
            cache.changed(WAIT).await.unwrap(),
            "cache saw the registrations"
        );
    }
    let mut a2 = a.clone();
    a2.port = Some(9090);
    discovery.update(&a2).await.unwrap();
    while !cache.instances().iter().any(|i| i.port == Some(9090)) {
        assert!(cache.changed(WAIT).await.unwrap(), "cache saw the update");
    }
    discovery.unregister("api", &b.id).await.unwrap();
    while n(&cache) != 2 {
        assert!(cache.changed(WAIT).await.unwrap(), "cache saw the removal");
    }
    // Drain what is queued; then the view is stable.
    while cache.changed(Duration::from_millis(200)).await.unwrap() {}
    let mut ids: Vec<String> = cache.instances().into_iter().map(|i| i.id).collect();
    ids.sort();
    let mut expected = vec![
        a.id.clone(),
        "ca2fff8e-d756-480c-b59e-8297ff88624b".to_string(),
    ];
    expected.sort();
    assert_eq!(ids, expected);
    cache.close().await;

    // close() unregisters what this handle registered.
    discovery.close().await;
    assert_eq!(discovery.instances("db").await.unwrap(), vec![]);
    c.close().await;
}

async fn reregister_after_loss(kind: Kind) {
    support::init_tracing();
    let server = Server::start(kind);
    let proxy = Proxy::start(server.port).await;
    let builder = Client::builder(&proxy.hosts()).session_timeout(Duration::from_millis(1500));
    let service_client = builder.clone().connect().await.unwrap();
    let discovery =
        ServiceDiscovery::new(service_client.clone(), "/services").renew_sessions(builder);
    let me = ServiceInstance::new("api", "10.0.0.9", 80);
    discovery.register(&me).await.unwrap();

    let observer = ServiceDiscovery::new(connect(&server.hosts()).await, "/services");
    let mut cache = observer.cache("api").await.unwrap();
    assert_eq!(cache.instances(), vec![me.clone()]);

    proxy.cut();
    support::wait_state(&service_client, SessionState::Lost, WAIT).await;
    // The server expires the session: the instance goes...
    while !cache.instances().is_empty() {
        assert!(cache.changed(WAIT).await.unwrap(), "instance removed");
    }
    proxy.restore();
    // ...and comes back with the new session.
    while cache.instances().is_empty() {
        assert!(
            cache.changed(WAIT).await.unwrap(),
            "instance registered again"
        );
    }
    assert_eq!(cache.instances(), vec![me.clone()]);
    let renewed = discovery.client();
    assert_ne!(renewed.session_id(), service_client.session_id());
    let (_, stat) = renewed
        .get_data(&format!("/services/api/{}", me.id))
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, renewed.session_id());
    within(WAIT, "close", discovery.close()).await;
    assert_eq!(observer.instances("api").await.unwrap(), vec![]);
    cache.close().await;
    renewed.close().await;
    observer.client().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_list_corral() {
    register_and_list(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_list_zookeeper() {
    register_and_list(Kind::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reregister_after_loss_corral() {
    reregister_after_loss(Kind::Corral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reregister_after_loss_zookeeper() {
    reregister_after_loss(Kind::ZooKeeper).await;
}
