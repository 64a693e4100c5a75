//! The tests' controls (`--sim-controls ADDRESS`, plain HTTP on a listener
//! of their own, so they answer while the terminal is "off"):
//!
//! - `POST /_sim/next` {behaviour}: what the next payment (or refund) does;
//! - `POST /_sim/payments/{reference}/reveal`: a hidden result is shown;
//! - `POST /_sim/payments/{reference}/report`: the vendor's notification
//!   of it is sent now;
//! - `GET /_sim/charges`: every operation the terminal made on a card;
//! - `POST /_sim/busy|drop-answers|cut|lose|bad-mac` {"count": N}: the
//!   next N payments Busy, Payment answers dropped, calls reset mid-call,
//!   requests lost before the terminal sees them, answers with a wrong Hmac;
//! - `POST /_sim/latency` {"ms": N}: every answer that much later;
//! - `POST /_sim/off`, `/_sim/on`: connections refused, and accepted again;
//! - `POST /_sim/hold`, `/_sim/release`: answers wait until released (how
//!   many wait: `GET /_sim/faults`, `held`);
//! - `POST /_sim/reset`: every fault lifted, a next behaviour forgotten;
//! - `GET /_sim/faults`: what is in force.

use crate::behaviour::Behaviour;
use crate::faults::{FaultsView, LATENCY_MAX_MS};
use crate::server::{now, Shared};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::atomic::Ordering;

/// What turns the terminal off and on (the server's supervisor listens).
#[derive(Clone)]
pub struct Controls {
    pub shared: Shared,
    /// On (`true`) or off, as the tests want it.
    pub power: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// Whether the nexo listener is bound, as the supervisor says.
    pub listening: tokio::sync::watch::Receiver<bool>,
}

pub fn router(controls: Controls) -> Router {
    Router::new()
        .route("/_sim/next", post(next))
        .route("/_sim/payments/{reference}/reveal", post(reveal))
        .route("/_sim/payments/{reference}/report", post(report))
        .route("/_sim/charges", get(charges))
        .route("/_sim/busy", post(busy))
        .route("/_sim/drop-answers", post(drop_answers))
        .route("/_sim/cut", post(cut))
        .route("/_sim/lose", post(lose))
        .route("/_sim/bad-mac", post(bad_mac))
        .route("/_sim/latency", post(latency))
        .route("/_sim/off", post(off))
        .route("/_sim/hold", post(hold))
        .route("/_sim/release", post(release))
        .route("/_sim/on", post(on))
        .route("/_sim/reset", post(reset))
        .route("/_sim/faults", get(faults))
        .with_state(controls)
}

/// A control refused: its status and JSON error body.
struct Refused(StatusCode, till_core::api::ApiError);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    Refused(status, till_core::api::ApiError::new(code, message)).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Refused> {
    serde_json::from_slice(body).map_err(|e| {
        let body = till_core::api::ApiError::new("invalid_control", e.to_string());
        Refused(StatusCode::UNPROCESSABLE_ENTITY, body)
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    count: u32,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Millis {
    ms: u64,
}

async fn next(State(c): State<Controls>, body: Bytes) -> Result<Json<Behaviour>, Refused> {
    let behaviour: Behaviour = parse(&body)?;
    c.shared.lock().set_next(behaviour.clone());
    Ok(Json(behaviour))
}

fn device_error(e: crate::device::DeviceError) -> Response {
    tracing::error!("{e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

async fn reveal(State(c): State<Controls>, Path(reference): Path<String>) -> Response {
    match c.shared.lock().reveal(&reference) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the terminal has no such operation",
        ),
        Err(e) => device_error(e),
    }
}

async fn report(State(c): State<Controls>, Path(reference): Path<String>) -> Response {
    let sent = c.shared.lock().report_now(&reference, now());
    match sent {
        Ok(true) => StatusCode::ACCEPTED.into_response(),
        Ok(false) => error(
            StatusCode::CONFLICT,
            "not_decided",
            "the terminal has not decided it yet",
        ),
        Err(e) => device_error(e),
    }
}

async fn charges(State(c): State<Controls>) -> Response {
    match c.shared.lock().charges() {
        Ok(list) => Json(list).into_response(),
        Err(e) => device_error(e),
    }
}

async fn busy(State(c): State<Controls>, body: Bytes) -> Result<StatusCode, Refused> {
    let Count { count } = parse(&body)?;
    c.shared.lock().set_busy(count);
    Ok(StatusCode::NO_CONTENT)
}

async fn drop_answers(State(c): State<Controls>, body: Bytes) -> Result<StatusCode, Refused> {
    let Count { count } = parse(&body)?;
    c.shared.faults.drop_answers.store(count, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

async fn cut(State(c): State<Controls>, body: Bytes) -> Result<StatusCode, Refused> {
    let Count { count } = parse(&body)?;
    c.shared.faults.cut.store(count, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

async fn lose(State(c): State<Controls>, body: Bytes) -> Result<StatusCode, Refused> {
    let Count { count } = parse(&body)?;
    c.shared.faults.lose.store(count, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

async fn bad_mac(State(c): State<Controls>, body: Bytes) -> Result<StatusCode, Refused> {
    let Count { count } = parse(&body)?;
    c.shared.faults.bad_mac.store(count, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

async fn latency(State(c): State<Controls>, body: Bytes) -> Result<StatusCode, Refused> {
    let Millis { ms } = parse(&body)?;
    if ms > LATENCY_MAX_MS {
        let why = format!("ms must be at most {LATENCY_MAX_MS}");
        let body = till_core::api::ApiError::new("invalid_control", why);
        return Err(Refused(StatusCode::UNPROCESSABLE_ENTITY, body));
    }
    c.shared.faults.latency_ms.store(ms, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

async fn off(State(c): State<Controls>) -> StatusCode {
    c.shared.faults.off.store(true, Ordering::SeqCst);
    c.shared.cut_held();
    c.power.send_replace(false);
    StatusCode::NO_CONTENT
}

async fn on(State(c): State<Controls>) -> StatusCode {
    c.shared.faults.off.store(false, Ordering::SeqCst);
    c.power.send_replace(true);
    crate::wait_listening(&c).await;
    StatusCode::NO_CONTENT
}

async fn hold(State(c): State<Controls>) -> StatusCode {
    c.shared.faults.hold.send_replace(true);
    StatusCode::NO_CONTENT
}

async fn release(State(c): State<Controls>) -> StatusCode {
    c.shared.faults.hold.send_replace(false);
    StatusCode::NO_CONTENT
}

async fn reset(State(c): State<Controls>) -> StatusCode {
    c.shared.lock().clear_next();
    c.shared.lock().set_busy(0);
    c.shared.faults.lift_all();
    c.power.send_replace(true);
    crate::wait_listening(&c).await;
    StatusCode::NO_CONTENT
}

async fn faults(State(c): State<Controls>) -> Json<FaultsView> {
    Json(c.shared.faults.view())
}
