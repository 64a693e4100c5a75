//! # till-oms: Till's reference back office
//!
//! The OMS is where orders end up: registers sync to it, the bridge reports
//! card payments to it, and it serves the built app to the tablets (so the
//! app and its API share one origin). Real deployments may point the app at
//! any back office that implements the same API, described in
//! `openapi.json` (served at `/api/v1/openapi.json`).
//!
//! Shape (after zero-to-production and the axum examples): a library with a
//! thin `main.rs`; [`Application::build`] binds first, so tests start the
//! real server on port 0 and talk to it over a socket; handlers ([`api`])
//! parse into till-core types and return one error type ([`error::AppError`]),
//! always a JSON body; storage sits behind a trait ([`store::Store`]) with a
//! SQLite implementation, so PostgreSQL can follow for chains of stores.
//!
//! Why the idempotency rules matter: a tablet on shop Wi-Fi loses answers.
//! It resends, and the OMS must store each order exactly once whatever
//! arrives twice, late or out of order. `PUT /orders/{id}` upserts by id and
//! version; `POST /orders:batch` does the same for up to 500 orders in one
//! transaction, each judged on its own.

pub mod api;
pub mod auth;
pub mod batch;
pub mod demo;
pub mod enrol;
pub mod error;
pub mod exceptions;
pub mod faults;
pub mod journal;
pub mod notifications;
pub mod schema;
pub mod statics;
pub mod store;
pub mod stores;
pub mod verify;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::routing::{any, get, post, put};
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use store::{PgStore, SqliteStore, Store};
use till_core::money::Currency;
pub use till_http::Limits;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// Largest request body: 500 orders fit easily; anything bigger is a mistake.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;
/// The database file inside the data folder.
pub const DATABASE_FILE: &str = "oms.sqlite3";

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The built app (Trunk's `dist/`); without it only the API is served.
    pub dist: Option<PathBuf>,
    /// The data folder; the SQLite database is created there on first start.
    pub data: PathBuf,
    /// Where orders are kept: SQLite in `data`, or a PostgreSQL database.
    pub database: Database,
    pub tokens: auth::Tokens,
    /// A chain's stores and their registers (empty for one store).
    pub stores: stores::Stores,
    /// The bridge's origin (`http://192.168.1.20:7878`), allowed in the
    /// app's Content-Security-Policy `connect-src`.
    pub bridge_origin: Option<String>,
    /// The currency of the demo catalog written on first start.
    pub currency: Currency,
    /// Enables `/_faults` (tests only).
    pub faults: bool,
    /// Writes the demo staff, with the PINs the README publishes, on a
    /// first start with the demo catalog (`--demo`: for trying Till).
    pub demo: bool,
    /// The key the card terminal's vendor signs its notifications with
    /// (`POST /api/v1/notifications/terminal`); without it they are refused.
    pub webhook_key: Option<till_nexo::notification::WebhookKey>,
}

/// Where the back office keeps its data.
#[derive(Clone, Default)]
pub enum Database {
    /// [`DATABASE_FILE`] in the data folder: one store's back office.
    #[default]
    Sqlite,
    /// A PostgreSQL database that any number of OMS processes share: a
    /// chain's back office.
    Postgres {
        /// `postgres://user@host:port/database`.
        url: String,
        /// Connections this process opens at most.
        pool_size: usize,
        /// The CA (PEM) a TLS connection (`sslmode=require`) trusts;
        /// without it, the system's roots.
        ca: Option<PathBuf>,
    },
}

impl std::fmt::Debug for Database {
    // Never the URL: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite => f.write_str("Sqlite"),
            Database::Postgres { pool_size, .. } => write!(f, "Postgres (pool of {pool_size})"),
        }
    }
}

/// Opens (creating and migrating if needed) the database: `database`, or
/// SQLite in the folder `data`.
pub async fn open_store(
    database: &Database,
    data: &std::path::Path,
) -> Result<Arc<dyn Store>, String> {
    match database {
        Database::Sqlite => {
            std::fs::create_dir_all(data)
                .map_err(|e| format!("data folder {}: {e}", data.display()))?;
            let path = data.join(DATABASE_FILE);
            let store = SqliteStore::open(&path)
                .map_err(|e| format!("database {}: {e}", path.display()))?;
            Ok(Arc::new(store))
        }
        Database::Postgres { url, pool_size, ca } => {
            let store = PgStore::connect(url, *pool_size, ca.as_deref())
                .await
                .map_err(|e| format!("database: {e}"))?;
            Ok(Arc::new(store))
        }
    }
}

/// Runs a store method off the async workers (a store may block).
pub async fn with_store<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, store::StoreError> + Send + 'static,
) -> Result<T, String> {
    let store = store.clone();
    let answer = tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| format!("a store task stopped: {e}"))?;
    answer.map_err(|store::StoreError(said)| said)
}

/// Writes the demo catalog into a database that has none.
async fn ensure_catalog(store: &Arc<dyn Store>, currency: Currency) -> Result<(), String> {
    if with_store(store, |s| s.catalog_meta()).await?.is_some() {
        return Ok(());
    }
    let meta = with_store(store, move |s| {
        s.replace_catalog(&demo::demo_catalog(currency))
    })
    .await?;
    tracing::info!(
        "first start: wrote the demo catalog ({} products, {})",
        meta.products_total,
        meta.currency
    );
    Ok(())
}

/// With `--demo`, the demo store gets the demo staff: a database whose
/// catalog is still the demo one and whose staff list was never written.
/// A store with nobody active is told so: no register can sign anyone in.
async fn ensure_staff(
    store: &Arc<dyn Store>,
    currency: Currency,
    demo: bool,
) -> Result<(), String> {
    let all = with_store(store, |s| s.staff(true)).await?;
    if all.is_empty() && demo && is_demo_catalog(store, currency).await? {
        write_demo_staff(store).await?;
        tracing::info!(
            "first start: wrote the demo staff ({})",
            demo::DEMO_STAFF
                .iter()
                .map(|(_, name, role, pin)| format!(
                    "{name}, {}, PIN {pin}",
                    role.label().to_lowercase()
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
    } else if all.is_empty() {
        tracing::warn!(
            "no staff yet: nobody can sign in on a register; add someone with `till-oms staff add` (or start with --demo to try Till with the demo staff)"
        );
    } else if !all.iter().any(|r| r.active) {
        tracing::warn!(
            "no active staff: nobody can sign in on a register; add someone with `till-oms staff add`"
        );
    }
    for (id, name) in demo::with_published_pins(&with_store(store, |s| s.staff(false)).await?) {
        tracing::warn!(
            "{name} ({id}) still has the demo PIN the README publishes: anyone can sign in as them{}; give them a PIN of their own with `till-oms staff set-pin {id}`, or `till-oms staff disable {id}`",
            if demo::is_manager(&id) { " and approve refunds and voids" } else { "" }
        );
    }
    Ok(())
}

/// Whether the catalog is still the demo one (only asked of a database
/// nobody was ever added to: it encodes the demo catalog to compare).
async fn is_demo_catalog(store: &Arc<dyn Store>, currency: Currency) -> Result<bool, String> {
    let Some(current) = with_store(store, |s| s.catalog_meta()).await? else {
        return Ok(false);
    };
    let demo = store::EncodedCatalog::new(&demo::demo_catalog(currency))
        .map_err(|e| format!("the demo catalog: {e}"))?
        .meta(currency);
    Ok(current.version == demo.version)
}

/// Adds the demo staff to an empty staff list (nothing when anyone was
/// ever added).
pub async fn add_demo_staff(store: &Arc<dyn Store>) -> Result<bool, String> {
    if !with_store(store, |s| s.staff(true)).await?.is_empty() {
        return Ok(false);
    }
    write_demo_staff(store).await?;
    Ok(true)
}

async fn write_demo_staff(store: &Arc<dyn Store>) -> Result<(), String> {
    let now = api::now();
    for m in demo::demo_staff() {
        with_store(store, move |s| s.add_staff(&m, &[], now)).await?;
    }
    Ok(())
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub schemas: Arc<schema::Schemas>,
    pub tokens: Arc<auth::Tokens>,
    pub stores: Arc<stores::Stores>,
    pub faults: Option<Arc<faults::Faults>>,
    pub webhook_key: Option<till_nexo::notification::WebhookKey>,
}

/// A bound, not yet running back office: a [`till_http::Server`] with the
/// OMS's routes (its address and URL come through `Deref`).
pub struct Application {
    server: till_http::Server,
}

impl std::ops::Deref for Application {
    type Target = till_http::Server;
    fn deref(&self) -> &till_http::Server {
        &self.server
    }
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, till_http::ServerError> {
        if let Some(origin) = &config.bridge_origin {
            statics::check_origin(origin)?;
        }
        let store = open_store(&config.database, &config.data).await?;
        ensure_catalog(&store, config.currency).await?;
        ensure_staff(&store, config.currency, config.demo).await?;
        let state = AppState {
            store,
            schemas: Arc::new(schema::Schemas::load()?),
            tokens: Arc::new(config.tokens.clone()),
            stores: Arc::new(config.stores.clone()),
            faults: config.faults.then(|| Arc::new(faults::Faults::default())),
            webhook_key: config.webhook_key.clone(),
        };
        let server = till_http::Server::bind(config.listen, router(&config, state)).await?;
        Ok(Application { server })
    }

    /// Serves HTTPS with this certificate ([`till_http::tls::acceptor`]).
    pub fn with_tls(self, tls: till_http::tls::TlsAcceptor) -> Application {
        Application {
            server: self.server.with_tls(tls),
        }
    }

    /// Serves within other limits than a store's ([`Limits::default`]).
    pub fn with_limits(self, limits: Limits) -> Application {
        Application {
            server: self.server.with_limits(limits),
        }
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.run().await
    }
}

fn router(config: &Config, state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(api::health))
        .route("/openapi.json", get(api::openapi))
        .route("/catalog", get(api::catalog))
        .route("/staff", get(api::staff))
        .route("/staff/verify", post(verify::post_verify))
        .route("/registers:enrol", post(enrol::post_enrol))
        .route("/registers/{register}/orders", get(api::register_day))
        .route("/stores/{store}/orders", get(api::store_day))
        .route("/orders:batch", post(api::post_batch))
        .route("/orders/{id}", put(api::put_order).get(api::get_order))
        .route("/orders/{id}/history", get(api::order_history))
        .route("/payments", post(api::post_payment))
        .route(
            "/notifications/terminal",
            post(notifications::post_terminal),
        )
        .route("/refunds/{id}", put(api::put_refund))
        .route("/shifts/{id}", get(api::get_shift))
        .route("/exceptions", get(exceptions::get_exceptions))
        .route("/journal/key", put(journal::put_key))
        .route("/registers/{register}/journal", get(journal::get_head))
        .fallback(api::api_not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));

    // Any other /api path is an API mistake, not an app route: JSON 404.
    let mut app = Router::new()
        .nest("/api/v1", api)
        .route("/api", any(api::api_not_found))
        .route("/api/{*rest}", any(api::api_not_found));
    if state.faults.is_some() {
        app = app.nest("/_faults", faults::routes());
    }
    let app = match &config.dist {
        Some(dist) => {
            let csp = statics::content_security_policy(dist, config.bridge_origin.as_deref());
            let csp = HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
            // The build writes .br and .gz beside each asset (tools/precompress.mjs):
            // served by Accept-Encoding, never compressed again per request.
            let index = ServeFile::new(dist.join("index.html"))
                .precompressed_br()
                .precompressed_gzip();
            let files = ServeDir::new(dist)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(tower::service_fn(move |req| {
                    statics::app_route(index.clone(), req)
                }));
            let files = Router::new()
                .fallback_service(files)
                .layer(axum::middleware::from_fn(move |req, next| {
                    statics::headers(csp.clone(), req, next)
                }));
            app.merge(files)
        }
        None => app,
    };
    app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        faults::inject,
    ))
    .layer(CompressionLayer::new())
    .with_state(state)
}
