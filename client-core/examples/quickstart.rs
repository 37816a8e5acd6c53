//! Connect, create, read, update, list, transact, delete.
//!
//! ```text
//! cargo run -p corral-client --example quickstart -- 127.0.0.1:2181
//! ```

use corral_client::{Client, CreateOptions, Error, Op};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let hosts = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2181".into());
    let client = Client::connect(&hosts).await?;
    println!(
        "connected to {:?}, session 0x{:x}, timeout {:?}",
        client.connected_host(),
        client.session_id(),
        client.session_timeout()
    );

    // Create a node (or reuse it), then read and update it.
    match client
        .create("/quickstart", b"hello", &CreateOptions::default())
        .await
    {
        Ok(path) => println!("created {path}"),
        Err(Error::NodeExists) => println!("/quickstart already exists"),
        Err(e) => return Err(e),
    }
    let (data, stat) = client.get_data("/quickstart").await?;
    println!(
        "data {:?}, version {}",
        String::from_utf8_lossy(&data),
        stat.version
    );
    let stat = client
        .set_data("/quickstart", b"world", Some(stat.version))
        .await?;
    println!("updated to version {}", stat.version);

    // Sequential and ephemeral children.
    for _ in 0..3 {
        let p = client
            .create(
                "/quickstart/item-",
                b"",
                &CreateOptions::ephemeral_sequential(),
            )
            .await?;
        println!("created {p}");
    }
    println!("children: {:?}", client.get_children("/quickstart").await?);

    // A transaction: all or nothing.
    let results = client
        .multi(vec![
            Op::check("/quickstart", Some(stat.version)),
            Op::create(
                "/quickstart/tx",
                b"in a multi".to_vec(),
                CreateOptions::default(),
            ),
            Op::delete("/quickstart/tx", None),
        ])
        .await?;
    println!("multi: {results:?}");

    // Clean up: ephemerals go with the session; the node goes by hand.
    for child in client.get_children("/quickstart").await? {
        client.delete(&format!("/quickstart/{child}"), None).await?;
    }
    client.delete("/quickstart", None).await?;
    client.close().await;
    println!("closed: {:?}", client.state());
    Ok(())
}
