//! The admin HTTP server (ZooKeeper's AdminServer): `GET /commands` lists
//! the commands, `GET /commands/<name>` runs one and answers JSON
//! ([`commands`]), `GET /metrics` answers the Prometheus text format
//! ([`metrics`]). It listens on `admin.serverPort` (default 8080) of
//! `admin.serverAddress` (default 0.0.0.0) when `admin.enableServer` is
//! true (the default). As in ZooKeeper, a port that cannot be bound is
//! logged and the server runs on without its admin server.

pub mod commands;
pub mod histogram;
pub mod metrics;

use crate::server::Server;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::{info, warn};

/// The routes, for serving on any listener (tests use their own).
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/commands", get(list))
        .route("/commands/", get(list))
        .route("/commands/{name}", get(command))
        .route("/metrics", get(scrape))
        .with_state(server)
}

/// Serves the admin routes on `listener` until the process ends.
pub async fn serve(server: Arc<Server>, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(server)).await
}

/// Where the admin server listens, from `admin.serverAddress` and
/// `admin.serverPort`; `None` when `admin.enableServer` is false.
pub fn address(server: &Server) -> Option<SocketAddr> {
    let config = &server.core.config;
    if !config.admin_enabled {
        return None;
    }
    let ip = config
        .raw
        .get("admin.serverAddress")
        .and_then(|a| a.parse::<IpAddr>().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    Some(SocketAddr::new(ip, config.admin_port))
}

/// Starts the admin server in the background if it is enabled. Failing to
/// bind is logged, not fatal.
pub async fn start(server: Arc<Server>) {
    let Some(addr) = address(&server) else {
        return;
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(error) => {
            warn!(%addr, %error, "cannot start the admin server; running without it");
            return;
        }
    };
    info!(%addr, "admin server listening (/commands, /metrics)");
    tokio::spawn(async move {
        if let Err(error) = serve(server, listener).await {
            warn!(%error, "admin server stopped");
        }
    });
}

async fn list() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "commands": commands::primary_names() }))
}

async fn command(State(server): State<Arc<Server>>, Path(name): Path<String>) -> Response {
    match commands::run(&server, &name) {
        Some(body) => Json(body).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "command": name,
                "error": format!("Unknown command: {name}"),
            })),
        )
            .into_response(),
    }
}

async fn scrape(State(server): State<Arc<Server>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::render(&server),
    )
        .into_response()
}
