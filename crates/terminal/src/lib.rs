//! # till-terminal: a simulated card terminal, as a device of its own
//!
//! A store's card terminal is not part of the bridge: it is a device on the
//! LAN that speaks its vendor's protocol, answers late, drops connections,
//! is busy with another sale, and reports to its vendor's cloud by itself.
//! `till-terminal` is such a device, for development and tests, so that
//! everything Till proves about card payments is proven against the wire a
//! real terminal presents:
//!
//! - it serves the **Terminal API, local integration** (nexo 3.0 JSON,
//!   sealed with a shared key: [`till_nexo`]) at `POST /nexo` over HTTPS,
//!   with a certificate from the store's CA naming its POIID, as a real one
//!   does; the bridge is pointed at it exactly as at a real terminal;
//! - its memory is its own SQLite file: a restart loses no charge and
//!   forgets no ServiceID ([`device`]);
//! - it decides by the amount (or by what a test asks: [`behaviour`]), and
//!   plays the wire's faults behind `--sim-controls` ([`faults`],
//!   [`controls`]); tests read the charges it made instead of guessing;
//! - it notifies the back office of every final payment and reversal the
//!   way a vendor's cloud does, by a signed webhook ([`notifier`]).
//!
//! The device is a sans-IO state machine, so the whole-system simulator
//! runs the very same code with a simulated wire and clock.

pub mod behaviour;
pub mod controls;
pub mod device;
pub mod faults;
pub mod notifier;
pub mod server;

use axum::routing::post;
use axum::Router;
use device::{Device, DeviceConfig};
use server::Shared;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use till_nexo::{Codec, Key};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// The terminal's memory inside its data folder.
pub const MEMORY_FILE: &str = "terminal.sqlite3";

pub struct Config {
    /// Where `/nexo` is served (HTTPS).
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub device: DeviceConfig,
    /// The shared key (from the passphrase set on the terminal).
    pub key: Key,
    pub tls: till_http::tls::TlsAcceptor,
    /// The tests' controls (plain HTTP), never in a store.
    pub controls: Option<SocketAddr>,
    /// Where the vendor's notifications go.
    pub notify: Option<notifier::NotifyTarget>,
}

pub struct Application {
    listener: TcpListener,
    controls: Option<TcpListener>,
    shared: Shared,
    tls: till_http::tls::TlsAcceptor,
    notify: Option<(notifier::NotifyTarget, reqwest::Client)>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, till_http::ServerError> {
        std::fs::create_dir_all(&config.data)
            .map_err(|e| format!("data folder {}: {e}", config.data.display()))?;
        let device = Device::open(&config.data.join(MEMORY_FILE), config.device)
            .map_err(|e| format!("the terminal's memory: {e}"))?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let controls = match config.controls {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
            ),
            None => None,
        };
        let notify = match config.notify {
            Some(t) => Some((t.clone(), notifier::client(&t)?)),
            None => None,
        };
        let shared = Shared {
            device: Arc::new(Mutex::new(device)),
            codec: Arc::new(Codec::new(config.key)),
            faults: Arc::default(),
            held: Arc::new(Mutex::new(HashMap::new())),
            wake: Arc::new(Notify::new()),
        };
        Ok(Application {
            listener,
            controls,
            shared,
            tls: config.tls,
            notify,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// `https://address/nexo`.
    pub fn url(&self) -> String {
        format!(
            "{}{}",
            till_http::tls::base_url(self.local_addr(), true),
            till_nexo::NEXO_PATH
        )
    }

    pub fn controls_url(&self) -> Option<String> {
        let addr = self.controls.as_ref()?.local_addr().ok()?;
        Some(format!("http://{addr}"))
    }

    /// Serves until the process is stopped.
    pub async fn run(self) -> std::io::Result<()> {
        let Application {
            listener,
            controls,
            shared,
            tls,
            notify,
        } = self;
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(server::ticker(shared.clone()));
        if let Some((target, client)) = notify {
            tasks.spawn(notifier::run(shared.clone(), target, client));
        }
        let (power, _) = watch::channel(true);
        let power = Arc::new(power);
        let (listening_tx, listening) = watch::channel(false);
        tasks.spawn(supervise(
            listener,
            shared.clone(),
            tls,
            power.subscribe(),
            listening_tx,
        ));
        if let Some(l) = controls {
            let router = controls::router(controls::Controls {
                shared: shared.clone(),
                power,
                listening,
            });
            tasks.spawn(async move {
                let limits = till_http::Limits::default();
                if let Err(e) =
                    till_http::serve(l, router, limits, None, std::future::pending()).await
                {
                    tracing::error!("controls: {e}");
                }
            });
        }
        till_http::shutdown_signal().await;
        tasks.shutdown().await;
        Ok(())
    }
}

fn nexo_router(shared: Shared) -> Router {
    Router::new()
        .route(till_nexo::NEXO_PATH, post(server::nexo))
        .layer(axum::extract::DefaultBodyLimit::max(
            till_nexo::security::ENVELOPE_MAX_BYTES,
        ))
        .with_state(shared)
}

/// Serves `/nexo` while the terminal is on; off, the listener is closed
/// (connections are refused) until it is on again, at the same address.
async fn supervise(
    first: TcpListener,
    shared: Shared,
    tls: till_http::tls::TlsAcceptor,
    mut power: watch::Receiver<bool>,
    listening: watch::Sender<bool>,
) {
    let addr = first.local_addr().expect("a bound listener has an address");
    let mut listener = Some(first);
    loop {
        let l = match listener.take() {
            Some(l) => l,
            None => match TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("cannot listen on {addr} again: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        listening.send_replace(true);
        let mut off = power.clone();
        let turned_off = async move {
            let _ = off.wait_for(|on| !on).await;
        };
        let limits = till_http::Limits::default();
        let router = nexo_router(shared.clone());
        let _ = till_http::serve(l, router, limits, Some(tls.clone()), turned_off).await;
        listening.send_replace(false);
        if power.wait_for(|on| *on).await.is_err() {
            return;
        }
    }
}

/// Waits (a few seconds at most) until `/nexo` is listening again.
pub async fn wait_listening(c: &controls::Controls) {
    let mut l = c.listening.clone();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), l.wait_for(|up| *up)).await;
}
