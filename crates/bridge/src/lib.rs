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
pub mod pairing;
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
    /// One token every register may present (development and tests);
    /// in a store, registers pair by code and get tokens of their own.
    pub pairing_token: Option<String>,
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
    pub pairing_token: Option<Arc<str>>,
    pub pairings: Arc<pairing::Pairings>,
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
    client: reqwest::Client,
    limits: Limits,
    tls: Option<till_http::tls::TlsAcceptor>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, String> {
        if let Some(token) = &config.pairing_token {
            check_shared_token(token, config.oms.as_ref())?;
        }
        if config.sim_controls && config.simulator.is_none() {
            return Err("--sim-controls needs --simulator".into());
        }
        std::fs::create_dir_all(&config.data)
            .map_err(|e| format!("data folder {}: {e}", config.data.display()))?;
        let pairings = Arc::new(pairing::Pairings::open(
            &config.data.join(pairing::PAIRINGS_FILE),
        )?);
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
            pairing_token: config.pairing_token.clone().map(Into::into),
            pairings,
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
            client: reporter::client(config.oms.as_ref())?,
            oms: config.oms,
            limits: Limits::default(),
            tls: None,
        })
    }

    /// The pairings: codes and registers' tokens.
    pub fn pairings(&self) -> Arc<pairing::Pairings> {
        self.state.pairings.clone()
    }

    /// Serves HTTPS with this certificate ([`till_http::tls::acceptor`]).
    pub fn with_tls(mut self, tls: till_http::tls::TlsAcceptor) -> Application {
        self.tls = Some(tls);
        self
    }

    /// `https://address` when serving TLS, else `http://address`.
    pub fn url(&self) -> String {
        till_http::tls::base_url(self.local_addr(), self.tls.is_some())
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
            self.client,
            self.oms.clone(),
            self.state.wake_reporter.clone(),
        )));
        till_http::serve(
            self.listener,
            self.router,
            self.limits,
            self.tls,
            shutdown_signal(),
        )
        .await
    }
}

/// The shared development token: long enough, and never the bridge's own
/// key at the OMS.
fn check_shared_token(token: &str, oms: Option<&reporter::OmsTarget>) -> Result<(), String> {
    if token.chars().count() < TOKEN_LEN_MIN {
        return Err(format!(
            "the pairing token must be at least {TOKEN_LEN_MIN} characters"
        ));
    }
    if oms.is_some_and(|o| o.token == token) {
        return Err(
            "the pairing token and the token at the OMS must differ: a register would hold the bridge's key"
                .into(),
        );
    }
    Ok(())
}

/// A random token of `len` characters a person can read without confusing
/// 1, l and I or 0 and O.
pub fn made_up_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
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
        // Outside the guard: a register pairs before it has a token, and the
        // admin page answers only this machine.
        .route("/v1/pairings", post(api::pair))
        .route("/pair", get(api::admin_page))
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
