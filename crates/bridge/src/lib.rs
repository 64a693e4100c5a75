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
//! The terminal is a separate device on the LAN, driven over the Terminal
//! API (nexo, local integration; [`terminal`]), one operation at a time by
//! a sans-IO [`driver`] whose state lives in the [`journal`]. The bridge
//! contains no simulator: in development and tests it drives
//! `till-terminal`, a simulated device that speaks the same protocol.

pub mod api;
pub mod calls;
pub mod driver;
pub mod faults;
pub mod journal;
pub mod pairing;
pub mod reporter;
pub mod terminal;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::{get, post};
use axum::Router;
use journal::Journal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
pub use till_http::Limits;
use tokio::sync::Notify;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The journal file inside the data folder.
pub const JOURNAL_FILE: &str = "bridge.sqlite3";

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
    /// The card terminal.
    pub terminal: terminal::TerminalConfig,
    /// Enable `/_faults`, the API's fault controls (tests only).
    pub faults: bool,
    /// References the bridge never received that one pairing may ask
    /// about (each leaves a tombstone kept for good).
    pub tombstones_per_caller: u64,
}

/// [`Config::tombstones_per_caller`] in a store: far more than a register's
/// in-doubt payments in years, far fewer than fill a disk.
pub const TOMBSTONES_PER_CALLER: u64 = 10_000;

/// The shortest pairing token accepted at start.
pub const TOKEN_LEN_MIN: usize = 16;

#[derive(Clone)]
pub struct AppState {
    pub journal: Arc<Journal>,
    pub link: Arc<terminal::TerminalLink>,
    pub pairing_token: Option<Arc<str>>,
    pub pairings: Arc<pairing::Pairings>,
    pub faults: Option<Arc<faults::Faults>>,
    pub wake_reporter: Arc<Notify>,
    /// Counts the journal's changes from the terminal's answers: what a
    /// cancel or a Re-sync waits on.
    pub changes: Arc<tokio::sync::watch::Sender<u64>>,
    pub tombstones_per_caller: u64,
}

pub struct Application {
    server: till_http::Server,
    state: AppState,
    oms: Option<reporter::OmsTarget>,
    client: reqwest::Client,
}

/// Its address and URL come from its [`till_http::Server`].
impl std::ops::Deref for Application {
    type Target = till_http::Server;
    fn deref(&self) -> &till_http::Server {
        &self.server
    }
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, till_http::ServerError> {
        if let Some(token) = &config.pairing_token {
            check_shared_token(token, config.oms.as_ref())?;
        }
        std::fs::create_dir_all(&config.data)
            .map_err(|e| format!("data folder {}: {e}", config.data.display()))?;
        let pairings = Arc::new(pairing::Pairings::open(
            &config.data.join(pairing::PAIRINGS_FILE),
        )?);
        let link = Arc::new(terminal::TerminalLink::new(&config.terminal)?);
        let journal = Arc::new(Journal::open(
            &config.data.join(JOURNAL_FILE),
            driver_config(&config.terminal),
        )?);
        let state = AppState {
            journal,
            link,
            pairing_token: config.pairing_token.clone().map(Into::into),
            pairings,
            faults: config.faults.then(|| Arc::new(faults::Faults::default())),
            wake_reporter: Arc::new(Notify::new()),
            changes: Arc::new(tokio::sync::watch::channel(0).0),
            tombstones_per_caller: config.tombstones_per_caller,
        };
        let server = till_http::Server::bind(config.listen, router(&config, state.clone())).await?;
        Ok(Application {
            server,
            state,
            client: reporter::client(config.oms.as_ref())?,
            oms: config.oms,
        })
    }

    /// The pairings: codes and registers' tokens.
    pub fn pairings(&self) -> Arc<pairing::Pairings> {
        self.state.pairings.clone()
    }

    /// Serves HTTPS with this certificate ([`till_http::tls::acceptor`]).
    pub fn with_tls(self, tls: till_http::tls::TlsAcceptor) -> Application {
        Application {
            server: self.server.with_tls(tls),
            ..self
        }
    }

    /// Serves within other limits than a store's ([`Limits::default`]).
    pub fn with_limits(self, limits: Limits) -> Application {
        Application {
            server: self.server.with_limits(limits),
            ..self
        }
    }

    /// Serves, and runs the reporter beside it.
    pub async fn run(self) -> std::io::Result<()> {
        // The reporter lives exactly as long as the server: also when this
        // future is dropped (a crashed or aborted server reports nothing more).
        let _reporter = AbortOnDrop(tokio::spawn(reporter::run(
            self.state.clone(),
            self.client,
            self.oms.clone(),
        )));
        self.server.run().await
    }
}

/// What the driver knows of the terminal.
pub fn driver_config(t: &terminal::TerminalConfig) -> driver::DriverConfig {
    driver::DriverConfig {
        poi_id: t.poi_id.clone(),
        sale_id: t.sale_id.clone(),
        terminal_timeout: t.timeout,
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

pub use till_http::secret::made_up_token;

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
    if config.faults {
        routes = routes.merge(faults::routes());
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
        .route("/pair", get(api::admin_page).post(api::new_code))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        // Outside the guard, so that preflight requests (which carry no
        // token) are answered before the token check.
        .layer(cors)
        .with_state(state)
}
