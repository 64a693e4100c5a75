//! # till-http: how Till's servers take connections
//!
//! `axum::serve` waits forever for a client that connects and says nothing,
//! and takes as many connections as the process has file descriptors. A
//! store's LAN has tablets that sleep mid-request, and the OMS may face the
//! internet: both servers go through [`serve`] instead, which
//!
//! - closes a connection whose request head has not fully arrived within
//!   [`Limits::header_read`] (also an idle keep-alive connection, which is
//!   waiting for its next request head);
//! - answers 408 (a JSON error) to a request not handled within
//!   [`Limits::request`] (a body trickling in, a handler stuck);
//! - gives one peer address at most [`Limits::per_peer`] of them: one
//!   more from it is closed at once, so one host cannot hold them all;
//! - serves at most [`Limits::connections`] connections at once; more wait
//!   in the kernel's accept queue until one closes. The process's soft
//!   open-file limit is raised to fit them (to the hard limit), and the
//!   connection limit lowered, with a warning, where it cannot be;
//! - on shutdown stops accepting, lets requests in flight finish (at most
//!   [`Limits::drain`]), then returns;
//! - says `X-Content-Type-Options: nosniff` and `Referrer-Policy:
//!   no-referrer` on every answer, whatever route or error produced it,
//!   and over TLS `Strict-Transport-Security` (a year);
//! - speaks HTTPS when given a [`tls::TlsAcceptor`] (the TLS handshake must
//!   also end within [`Limits::header_read`]);
//! - gives handlers the peer's address (`ConnectInfo<SocketAddr>`).

pub mod exposure;
pub mod secret;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use till_core::api::ApiError;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;
use tower_http::set_header::SetResponseHeaderLayer;

/// The limits of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time for a request head (the request line and headers) to arrive,
    /// and for the next one on a kept-alive connection.
    pub header_read: Duration,
    /// Time for a request to be read and answered.
    pub request: Duration,
    /// Connections served at once.
    pub connections: usize,
    /// Connections one peer (an IP address) holds at once: most of
    /// `connections`, the rest kept for everyone else. One more from that
    /// peer is closed at once.
    pub per_peer: usize,
    /// Time for requests in flight to finish at shutdown.
    pub drain: Duration,
}

impl Default for Limits {
    /// A store's servers: a tablet on Wi-Fi sends a request head in well
    /// under 10 s; the largest answer (a 20,000-product catalog page) takes
    /// far less than 60 s. A store has tens of registers: the connection
    /// limit is there so that a flood of silent sockets (each shed after
    /// 10 s) cannot take the last file descriptor the database needs.
    fn default() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(60),
            connections: 4096,
            per_peer: 3072,
            drain: Duration::from_secs(10),
        }
    }
}

/// Answers 408 (JSON) when the inner service has not answered in time.
async fn request_deadline(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            Json(ApiError::new(
                "request_timeout",
                format!(
                    "the request was not read and answered within {} s; send it again",
                    limit.as_secs()
                ),
            )),
        )
            .into_response(),
    }
}

/// Why a server could not start, or stopped serving: a sentence for the
/// person who started it ([`main`] prints it under the program's name).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// An argument, a setting or a file's content that does not work, or
    /// a store that refused: said with what it is about.
    #[error("{0}")]
    Config(String),
    /// The machine refused (a port taken, a folder not writable).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The TLS set-up (a certificate that does not go with its key).
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// Making a certificate.
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
}

impl From<String> for ServerError {
    fn from(said: String) -> ServerError {
        ServerError::Config(said)
    }
}

impl From<&str> for ServerError {
    fn from(said: &str) -> ServerError {
        ServerError::Config(said.to_owned())
    }
}

/// What every server's `main` does: logs to stderr (`RUST_LOG`, else
/// `default_filter`; colours only on a terminal), runs, and on an error
/// says it under the program's name and exits with 2.
pub async fn main(
    name: &str,
    default_filter: &str,
    run: impl Future<Output = Result<(), ServerError>>,
) -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// A bound, not yet running server: its listener, its routes, its limits
/// and, for HTTPS, its certificate. The OMS and the bridge build their
/// routes and serve through one (the terminal, with two listeners, calls
/// [`serve`] itself).
pub struct Server {
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<tls::TlsAcceptor>,
}

impl Server {
    /// Listens on `addr` (port 0: any free one) for `router`, within a
    /// store's [`Limits`], over plain HTTP until [`Server::with_tls`].
    pub async fn bind(addr: SocketAddr, router: Router) -> Result<Server, ServerError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        Ok(Server {
            listener,
            router,
            limits: Limits::default(),
            tls: None,
        })
    }

    /// Serves HTTPS with this certificate ([`tls::acceptor`]).
    pub fn with_tls(mut self, tls: tls::TlsAcceptor) -> Server {
        self.tls = Some(tls);
        self
    }

    /// Serves within other limits than a store's ([`Limits::default`]).
    pub fn with_limits(mut self, limits: Limits) -> Server {
        self.limits = limits;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// `https://address` when serving TLS, else `http://address`.
    pub fn url(&self) -> String {
        tls::base_url(self.local_addr(), self.tls.is_some())
    }

    /// Serves until the process is asked to stop ([`shutdown_signal`]).
    pub async fn run(self) -> std::io::Result<()> {
        serve(
            self.listener,
            self.router,
            self.limits,
            self.tls,
            shutdown_signal(),
        )
        .await
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<tls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = with_common_layers(router, limits.request, tls.is_some());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let permits = Arc::new(Semaphore::new(connections_that_fit(limits.connections)));
    let peers = Arc::new(Peers::default());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    while let Some((permit, stream, peer)) =
        next_connection(&listener, &permits, &mut shutdown).await?
    {
        let Some(slot) = peers.take(peer.ip(), limits.per_peer) else {
            // Closed at once: this peer holds its share already.
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            },
        ));
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        let handshake = limits.header_read;
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    watcher
                        .watch(conn)
                        .await
                        .map_err(|e| format!("HTTP with {peer}: {e}"))
                }
                Some(tls) => match tokio::time::timeout(handshake, tls.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        let conn = http.serve_connection(TokioIo::new(stream), service);
                        watcher
                            .watch(conn)
                            .await
                            .map_err(|e| format!("HTTPS with {peer}: {e}"))
                    }
                    Ok(Err(e)) => Err(format!("TLS handshake with {peer}: {e}")),
                    Err(_) => Err(format!("TLS handshake with {peer} timed out")),
                },
            };
            if let Err(e) = served {
                tracing::debug!("connection closed: {e}");
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    drain(graceful, limits.drain).await;
    Ok(())
}

/// How many connections each peer holds, and whether it was told it holds
/// its share (said once per time it reaches it, not per try).
#[derive(Default)]
struct Peers {
    held: std::sync::Mutex<std::collections::HashMap<IpAddr, (usize, bool)>>,
}

/// One connection's place in its peer's count, given back when dropped.
struct PeerSlot {
    peers: Arc<Peers>,
    ip: IpAddr,
}

type PeerCounts = std::collections::HashMap<IpAddr, (usize, bool)>;

impl Peers {
    fn held(&self) -> std::sync::MutexGuard<'_, PeerCounts> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more connection of `ip`, unless it holds `most`.
    fn take(self: &Arc<Self>, ip: IpAddr, most: usize) -> Option<PeerSlot> {
        let mut held = self.held();
        let (n, warned) = held.entry(ip).or_insert((0, false));
        if *n >= most {
            if !*warned {
                *warned = true;
                tracing::warn!(peer = %ip, "a peer holds {most} connections: more from it are closed");
            }
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut held = self.peers.held();
        if let Some((n, warned)) = held.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            *warned = false;
            if *n == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// The next connection to serve and the permit it holds (waiting while
/// every permit is in use); `None` once `shutdown` has come.
async fn next_connection<F: Future<Output = ()>>(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    shutdown: &mut std::pin::Pin<&mut F>,
) -> std::io::Result<Option<(OwnedSemaphorePermit, TcpStream, SocketAddr)>> {
    let permit = tokio::select! {
        p = permits.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
        () = shutdown.as_mut() => return Ok(None),
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => return Ok(Some((permit, stream, peer))),
                Err(e) => pause_after_accept_error(e).await,
            },
            () = shutdown.as_mut() => return Ok(None),
        }
    }
}

/// Lets the requests in flight finish, for at most `limit`.
async fn drain(graceful: GracefulShutdown, limit: Duration) {
    if tokio::time::timeout(limit, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {} s; stopping anyway",
            limit.as_secs()
        );
    }
}

/// `Strict-Transport-Security` over TLS: a year.
const HSTS: &str = "max-age=31536000";

/// The request deadline and the headers every answer carries (and HSTS
/// over TLS).
fn with_common_layers(router: Router, limit: Duration, tls: bool) -> Router {
    // Over TLS, browsers are told to come back over TLS only, for a year.
    let hsts = tls.then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        )
    });
    router
        .layer(axum::middleware::from_fn(move |req, next| {
            request_deadline(limit, req, next)
        }))
        .layer(tower::util::option_layer(hsts))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// File descriptors kept for the database, logs and the listener.
const FILES_RESERVED: u64 = 64;

/// Raises the soft open-file limit toward what `wanted` connections need;
/// the connections that fit in what it got.
fn connections_that_fit(wanted: usize) -> usize {
    let wanted = wanted.max(1);
    let need = wanted as u64 + FILES_RESERVED;
    let got = match rlimit::increase_nofile_limit(need) {
        Ok(got) => got,
        Err(e) => {
            tracing::warn!("cannot raise the open file limit: {e}");
            return wanted;
        }
    };
    if got >= need {
        return wanted;
    }
    let fit = got.saturating_sub(FILES_RESERVED).max(1) as usize;
    tracing::warn!(
        "the open file limit is {got}: serving at most {fit} connections at once instead of {wanted}"
    );
    fit
}

/// Out of file descriptors (or another passing failure): wait a moment
/// instead of spinning, as `axum::serve` does.
async fn pause_after_accept_error(e: std::io::Error) {
    tracing::warn!("accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The wall clock as till-core takes it: what a server reads once per
/// request and passes in (till-core reads no clock).
pub fn now() -> till_core::time::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    till_core::time::Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Resolves on Ctrl-C or SIGTERM: when a server starts its graceful
/// shutdown.
pub async fn shutdown_signal() {
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
