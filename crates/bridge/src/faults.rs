//! Faults of the bridge's own API for tests, only when the bridge is
//! started with `--faults` (never in a store), as the OMS has them.
//!
//! They play the LAN between the tablet and the bridge; the terminal's own
//! faults are `till-terminal`'s. Each lasts until the test lifts it: no
//! test depends on an outage being long enough.
//!
//! - `POST /_faults/down`: every API request is dropped unanswered, before
//!   anything is done, until `POST /_faults/up` or `/_faults/reset`;
//! - `POST /_faults/latency {"ms": N}`: every API answer waits N ms;
//! - `POST /_faults/drop-replies {"count": N}`: the next N API requests are
//!   carried out, then their answers are lost;
//! - `POST /_faults/reset`: every fault lifted.

use crate::api::Error;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Longest latency a test may ask for: tests must end.
const LATENCY_MAX_MS: u64 = 60_000;

#[derive(Debug, Default)]
pub struct Faults {
    /// Every API request is dropped unanswered, before anything is done.
    pub down: AtomicBool,
    /// Every API answer waits this long.
    pub latency_ms: AtomicU64,
    /// The next N API requests are carried out, then their answers dropped.
    pub drop_replies: AtomicU32,
}

/// Raised to abandon a connection without answering: hyper drops the
/// connection of a request whose handler unwinds; `resume_unwind` skips
/// the panic hook, so nothing is printed as if it were a bug.
pub fn drop_connection(why: &'static str) -> ! {
    std::panic::resume_unwind(Box::new(why))
}

pub fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_faults/down", post(down))
        .route("/_faults/up", post(up))
        .route("/_faults/latency", post(latency))
        .route("/_faults/drop-replies", post(drop_replies))
        .route("/_faults/reset", post(reset))
}

fn faults(state: &AppState) -> &Faults {
    state
        .faults
        .as_deref()
        .expect("/_faults routes exist only with --faults")
}

async fn down(State(state): State<AppState>) -> StatusCode {
    faults(&state).down.store(true, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

async fn up(State(state): State<AppState>) -> StatusCode {
    faults(&state).down.store(false, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Millis {
    ms: u64,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    count: u32,
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fault",
            e.to_string(),
        )
    })
}

async fn latency(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, Error> {
    let Millis { ms } = parse(&body)?;
    if ms > LATENCY_MAX_MS {
        return Err(Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fault",
            format!("ms must be at most {LATENCY_MAX_MS}"),
        ));
    }
    faults(&state).latency_ms.store(ms, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

async fn drop_replies(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, Error> {
    let Count { count } = parse(&body)?;
    faults(&state).drop_replies.store(count, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

async fn reset(State(state): State<AppState>) -> StatusCode {
    let f = faults(&state);
    f.down.store(false, Ordering::SeqCst);
    f.latency_ms.store(0, Ordering::SeqCst);
    f.drop_replies.store(0, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}
