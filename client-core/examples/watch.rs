//! One-shot watches (a future per read), a persistent recursive watch (a
//! stream) and session state changes.
//!
//! ```text
//! cargo run -p corral-client --example watch -- 127.0.0.1:2181
//! ```
//! Then change things under /watched with another client (e.g. zkCli.sh);
//! the example also makes a few changes itself.

use std::time::Duration;

use corral_client::{AddWatchMode, Client, CreateOptions, Error};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hosts = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2181".into());
    let client = Client::connect(&hosts).await?;
    client.add_listener(|state| println!("session state: {state:?}"));

    match client
        .create("/watched", b"0", &CreateOptions::default())
        .await
    {
        Ok(_) | Err(Error::NodeExists) => {}
        Err(e) => return Err(e),
    }

    // A one-shot watch comes with the read; it fires once.
    let (data, _stat, watch) = client.get_data_w("/watched").await?;
    println!(
        "/watched = {:?}; waiting for a change",
        String::from_utf8_lossy(&data)
    );

    // A persistent recursive watch is a stream of every change below.
    let mut events = client
        .add_watch("/watched", AddWatchMode::PersistentRecursive)
        .await?;
    let printer = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            println!("recursive: {:?} {}", event.event_type, event.path);
        }
    });

    // Make some changes ourselves.
    let writer = client.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = writer.set_data("/watched", b"1", None).await;
        let _ = writer
            .create("/watched/child", b"", &CreateOptions::ephemeral())
            .await;
        let _ = writer.delete("/watched/child", None).await;
    });

    let event = watch.await;
    println!("one-shot: {:?} {}", event.event_type, event.path);

    tokio::time::sleep(Duration::from_secs(1)).await;
    client.delete("/watched", None).await?;
    client.close().await; // the stream ends with a Closed session event
    let _ = printer.await;
    Ok(())
}
