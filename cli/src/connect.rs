//! Opening the session of the shell and of one-shot commands.

use std::time::Duration;

use corral_client::Client;

use crate::exit::Failure;

#[derive(Debug, Clone)]
pub struct Options {
    /// The connect string: `host:port[,host:port...][/chroot]`.
    pub hosts: String,
    /// For the connection and for each request.
    pub timeout: Duration,
    pub session_timeout: Duration,
}

pub async fn connect(options: &Options) -> Result<Client, Failure> {
    Client::builder(&options.hosts)
        .connect_timeout(options.timeout)
        .request_timeout(options.timeout)
        .session_timeout(options.session_timeout)
        .connect()
        .await
        .map_err(|e| match e {
            corral_client::Error::BadArguments(m) => {
                Failure::usage(format!("invalid server list {:?}: {m}", options.hosts))
            }
            error => Failure::Connect {
                hosts: options.hosts.clone(),
                error,
            },
        })
}
