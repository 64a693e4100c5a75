//! # till-oms: Till's reference back office
//!
//! The OMS is where orders end up: the registers sync to it, the bridge
//! reports card payments to it, and it serves the built app to the tablets
//! (so the app and its API share one origin). Real deployments may point the
//! app at any back office that implements the same API.
//!
//! This crate is a library with a thin `main.rs`, so that tests start the
//! real server on port 0 ([`Application::build`]) and talk to it over a real
//! socket.
//!
//! Today it serves the app and answers `GET /api/v1/health`; the order,
//! catalog and payment API follows the OpenAPI description of ARCHITECTURE §5.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::path::PathBuf;
use till_core::api::{ApiError, Health};
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The built app (Trunk's `dist/`).
    pub dist: PathBuf,
}

/// A bound, not yet running server: binding first lets a test ask for port 0
/// and learn the real port before serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Application {
            listener,
            router: router(&config),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub async fn run(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

fn router(config: &Config) -> Router {
    let index = config.dist.join("index.html");
    // App routes (/, /pay, /sales, /settings) all answer with index.html;
    // the app's router takes it from there.
    let app = ServeDir::new(&config.dist).fallback(ServeFile::new(index));
    let api = Router::new()
        .route("/health", get(health))
        .fallback(api_not_found);
    Router::new()
        .nest("/api/v1", api)
        .fallback_service(app)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

async fn api_not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(ApiError::new("not_found", "no such API route")),
    )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
