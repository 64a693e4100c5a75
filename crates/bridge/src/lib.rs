//! # till-bridge: the LAN bridge between the register and the card terminal
//!
//! The register in the browser cannot talk to a payment terminal directly;
//! the bridge, a small service on the store's LAN, does. Three promises:
//!
//! - **One reference, one charge.** The register picks a reference (a UUID)
//!   per attempt; the bridge journals it before the terminal is asked, and a
//!   repeated start with the same reference answers with the existing
//!   payment, even when ten identical requests arrive at once.
//! - **Answers that survive.** Status queries (what "Re-sync" asks) are
//!   answered from the journal and the terminal; a restart loses nothing.
//! - **The back office hears of every approval.** Approved payments are
//!   reported to the OMS with retry and backoff until acknowledged, so a
//!   result the register never heard of still reaches its order.
//!
//! The terminal sits behind [`terminal::Terminal`]; the built-in one is a
//! deterministic [`simulator::Simulator`] with fault controls for tests.

pub mod api;
pub mod journal;
pub mod reporter;
pub mod simulator;
pub mod terminal;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::{get, post};
use axum::Router;
use journal::Bridge;
use simulator::{SimConfig, Simulator};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::Arc;
pub use till_http::Limits;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The journal file inside the data folder.
pub const JOURNAL_FILE: &str = "bridge.sqlite3";
/// The simulated terminal's own memory, beside it.
pub const SIMULATOR_FILE: &str = "terminal-sim.sqlite3";

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub pairing_token: String,
    /// Origins of the app allowed by CORS (`http://192.168.1.10:8080`).
    pub allow_origins: Vec<String>,
    pub oms: Option<reporter::OmsTarget>,
    /// Use the simulated terminal.
    pub simulator: Option<SimConfig>,
    /// Enable `/_sim`, the simulator's controls (tests only: they force
    /// outcomes and faults). Needs `simulator`.
    pub sim_controls: bool,
}

/// The shortest pairing token accepted at start.
pub const TOKEN_LEN_MIN: usize = 16;

#[derive(Clone)]
pub struct AppState {
    pub bridge: Arc<Bridge>,
    pub simulator: Option<Arc<Simulator>>,
    pub pairing_token: Arc<str>,
    pub faults: Arc<Faults>,
    pub wake_reporter: Arc<Notify>,
}

/// Faults a test injects through `/_sim` (simulator only). Each lasts until
/// the test lifts it: no test depends on an outage being long enough.
#[derive(Debug, Default)]
pub struct Faults {
    /// Every API request is dropped unanswered, before anything is done.
    pub down: AtomicBool,
    /// Every API answer waits this long.
    pub latency_ms: AtomicU64,
    /// The next N API requests are carried out, then their answers dropped.
    pub drop_replies: AtomicU32,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    oms: Option<reporter::OmsTarget>,
    limits: Limits,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, String> {
        if config.pairing_token.chars().count() < TOKEN_LEN_MIN {
            return Err(format!(
                "the pairing token must be at least {TOKEN_LEN_MIN} characters"
            ));
        }
        if config
            .oms
            .as_ref()
            .is_some_and(|o| o.token == config.pairing_token)
        {
            return Err(
                "the pairing token and the token at the OMS must differ: a register would hold the bridge's key"
                    .into(),
            );
        }
        if config.sim_controls && config.simulator.is_none() {
            return Err("--sim-controls needs --simulator".into());
        }
        std::fs::create_dir_all(&config.data)
            .map_err(|e| format!("data folder {}: {e}", config.data.display()))?;
        let Some(sim_config) = config.simulator else {
            return Err("no terminal driver is configured: start with --simulator".into());
        };
        let simulator = Arc::new(Simulator::open(
            &config.data.join(SIMULATOR_FILE),
            sim_config,
        )?);
        let bridge = Arc::new(Bridge::open(
            &config.data.join(JOURNAL_FILE),
            simulator.clone(),
        )?);
        let state = AppState {
            bridge,
            simulator: Some(simulator),
            pairing_token: config.pairing_token.clone().into(),
            faults: Arc::new(Faults::default()),
            wake_reporter: Arc::new(Notify::new()),
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        Ok(Application {
            listener,
            router: router(&config, state.clone()),
            state,
            oms: config.oms,
            limits: Limits::default(),
        })
    }

    /// Serves within other limits than a store's ([`Limits::default`]).
    pub fn with_limits(mut self, limits: Limits) -> Application {
        self.limits = limits;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves, and runs the reporter beside it.
    pub async fn run(self) -> std::io::Result<()> {
        // The reporter lives exactly as long as the server: also when this
        // future is dropped (a crashed or aborted server reports nothing more).
        let _reporter = AbortOnDrop(tokio::spawn(reporter::run(
            self.state.bridge.clone(),
            self.oms.clone(),
            self.state.wake_reporter.clone(),
        )));
        till_http::serve(self.listener, self.router, self.limits, shutdown_signal()).await
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn router(config: &Config, state: AppState) -> Router {
    let mut routes = Router::new()
        .route("/v1/health", get(api::health))
        .route("/v1/openapi.json", get(api::openapi))
        .route("/v1/payments", post(api::start))
        .route("/v1/payments/{reference}", get(api::status))
        .route("/v1/payments/{reference}/cancel", post(api::cancel))
        .route("/v1/refunds", post(api::start_refund))
        .route("/v1/refunds/{reference}", get(api::status))
        .route("/v1/refunds/{reference}/cancel", post(api::cancel));
    if config.sim_controls && state.simulator.is_some() {
        routes = routes
            .route("/_sim/next", post(api::sim_next))
            .route("/_sim/payments/{reference}/reveal", post(api::sim_reveal))
            .route("/_sim/payments/{reference}/report", post(api::sim_report))
            .route("/_sim/down", post(api::sim_down))
            .route("/_sim/up", post(api::sim_up))
            .route("/_sim/latency", post(api::sim_latency))
            .route("/_sim/drop-replies", post(api::sim_drop_replies))
            .route("/_sim/reset", post(api::sim_reset))
            .route("/_sim/charges", get(api::sim_charges));
    }
    let origins: Vec<HeaderValue> = config
        .allow_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("x-pairing-token"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    routes
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        // Outside the guard, so that preflight requests (which carry no
        // token) are answered before the token check.
        .layer(cors)
        .with_state(state)
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
