//! Keep working across server failures: give the client every server of an
//! ensemble, a retry policy for what is safe to retry, and watch the
//! session state. Kill the server the client is on (the example prints
//! it): the client moves to another one with the same session.
//!
//! ```text
//! cargo run -p corral-client --example failover -- 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
//! ```

use std::time::Duration;

use corral_client::{Client, CreateOptions, Error, RetryPolicy, SessionState};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hosts = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183".into());
    let policy = RetryPolicy::exponential(Duration::from_millis(50), Duration::from_secs(2), 20);
    let client = Client::builder(&hosts)
        .session_timeout(Duration::from_secs(10))
        .retry(policy.clone())
        .connect()
        .await?;
    println!(
        "session 0x{:x} on {:?}",
        client.session_id(),
        client.connected_host()
    );

    let mut states = client.state_changes();
    let watcher = client.clone();
    tokio::spawn(async move {
        while let Some(state) = states.next().await {
            println!("state {state:?}, now on {:?}", watcher.connected_host());
        }
    });

    match client
        .create("/failover-demo", b"", &CreateOptions::ephemeral())
        .await
    {
        Ok(_) | Err(Error::NodeExists) => {}
        Err(e) => return Err(e),
    }

    // Increment a counter once a second. set_data with a version is retried
    // by the client's policy; the read-modify-write loop itself is run under
    // the policy with the `retry` helper.
    for _ in 0..60 {
        let n = corral_client::retry(&policy, || async {
            let (data, stat) = client.get_data("/failover-demo").await?;
            let n: u64 = String::from_utf8_lossy(&data).parse().unwrap_or(0) + 1;
            client
                .set_data(
                    "/failover-demo",
                    n.to_string().as_bytes(),
                    Some(stat.version),
                )
                .await?;
            Ok(n)
        })
        .await;
        match n {
            Ok(n) => println!("counter {n} (via {:?})", client.connected_host()),
            Err(e) => println!("failed: {e}"),
        }
        if client.state() == SessionState::Lost {
            println!("session lost: a new Client is needed");
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    client.close().await;
    Ok(())
}
