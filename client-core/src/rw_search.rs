//! While connected to a server in read-only mode: look for a read-write
//! server in the background, as ZooKeeper's Java client does
//! (`ClientCnxn.pingRwServer`): every so often the next other host of the
//! connect string is asked the four-letter word `isro`; the first that
//! answers `rw` is where the session task reconnects. The wait between two
//! probes doubles from 100 ms up to 60 s (ZooKeeper's `minPingRwTimeout`,
//! `maxPingRwTimeout`).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tracing::debug;

use crate::connect_string::HostPort;

const FIRST_WAIT: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The search from one read-only connection.
pub(crate) struct RwSearch {
    hosts: Vec<HostPort>,
    /// The host the read-only connection is to (not probed).
    current: usize,
    next: usize,
    wait: Duration,
    probe_timeout: Duration,
}

impl RwSearch {
    /// `probe_timeout` bounds one probe (connect, ask, read the answer).
    pub fn new(hosts: Vec<HostPort>, current: usize, probe_timeout: Duration) -> RwSearch {
        RwSearch {
            next: current + 1,
            hosts,
            current,
            wait: FIRST_WAIT,
            probe_timeout,
        }
    }

    /// Probes the other hosts in turn, waiting longer each time, until one
    /// is read-write; returns its index. Never returns when there is no
    /// other host.
    pub async fn find(&mut self) -> usize {
        if self.hosts.len() < 2 {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(self.wait).await;
            self.wait = (self.wait * 2).min(MAX_WAIT);
            let i = self.next % self.hosts.len();
            self.next = i + 1;
            if i == self.current {
                continue;
            }
            let host = &self.hosts[i];
            match timeout(self.probe_timeout, isro(host)).await {
                Ok(Ok(answer)) if answer == "rw" => return i,
                Ok(Ok(answer)) => debug!(%host, %answer, "not a read-write server"),
                Ok(Err(e)) => debug!(%host, error = %e, "isro probe failed"),
                Err(_) => debug!(%host, "isro probe timed out"),
            }
        }
    }
}

/// Asks a server `isro`: "rw", "ro", or "null" (not serving).
async fn isro(host: &HostPort) -> std::io::Result<String> {
    let mut stream = TcpStream::connect((host.host.as_str(), host.port)).await?;
    stream.write_all(b"isro").await?;
    let mut answer = Vec::new();
    stream.take(64).read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers every connection with `answer`.
    async fn answering(answer: &'static str) -> HostPort {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut word = [0u8; 4];
                if s.read_exact(&mut word).await.is_ok() && &word == b"isro" {
                    let _ = s.write_all(answer.as_bytes()).await;
                }
            }
        });
        HostPort {
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[tokio::test]
    async fn finds_the_read_write_host_and_skips_the_current_one() {
        let hosts = vec![
            answering("rw").await, // current: never probed
            answering("ro").await,
            answering("null").await,
            answering("rw").await,
        ];
        let mut search = RwSearch::new(hosts, 0, Duration::from_secs(1));
        assert_eq!(search.find().await, 3);
    }

    #[tokio::test]
    async fn a_single_host_is_never_probed() {
        let hosts = vec![answering("rw").await];
        let mut search = RwSearch::new(hosts, 0, Duration::from_secs(1));
        let found = timeout(Duration::from_millis(500), search.find()).await;
        assert!(found.is_err());
    }
}
