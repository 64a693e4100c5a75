//! Fault controls for tests, only when the OMS is started with `--faults`.
//!
//! `/_faults` lets a test make the back office misbehave on purpose, the way
//! real networks do, instead of relying on timing luck:
//!
//! - `POST /_faults/fail {"count": N}`: the next N API requests get 503;
//! - `POST /_faults/latency {"ms": N}`: every API request waits N ms first;
//! - `POST /_faults/drop-after-commit {"count": N}`: the next N order writes
//!   (`PUT /orders/{id}`, `POST /orders:batch`) commit, then the connection
//!   is dropped without an answer: the lost-response case;
//! - `POST /_faults/down`: every request (but `/_faults`) has its
//!   connection dropped, as if the server were gone, until `POST
//!   /_faults/up` or `/_faults/reset`. An outage lasts until the test lifts
//!   it: a test never depends on the work it waits for beating a clock;
//! - `POST /_faults/hang`: every request (but `/_faults`) is taken and never
//!   answered until `POST /_faults/up` or `/_faults/reset` (then it goes
//!   on): the back office that accepts connections and says nothing;
//! - `POST /_faults/reset`, `GET /_faults`.

use crate::error::{AppError, AppJson};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Longest latency a test may ask for: tests must end.
const FAULT_DURATION_MAX_MS: u64 = 120_000;

#[derive(Debug, Default)]
pub struct Faults {
    fail_next: AtomicU32,
    latency_ms: AtomicU64,
    drop_after_commit: AtomicU32,
    down: AtomicBool,
    /// Requests wait, unanswered, until `/_faults/up` (or reset).
    hang: AtomicBool,
    lifted: tokio::sync::Notify,
}

/// Raised to abandon a connection without answering. Hyper drops the
/// connection of a request whose handler unwinds; `resume_unwind` skips the
/// panic hook, so nothing is printed as if it were a bug.
struct DropConnection;

pub fn drop_connection() -> ! {
    std::panic::resume_unwind(Box::new(DropConnection))
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Faults {
    fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    /// Whether this order write must be committed and then left unanswered.
    pub fn take_drop_after_commit(&self) -> bool {
        take(&self.drop_after_commit)
    }
}

/// Applies the active faults to every request outside `/_faults`.
pub async fn inject(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(faults) = state.faults.clone() else {
        return next.run(req).await;
    };
    if req.uri().path().starts_with("/_faults") {
        return next.run(req).await;
    }
    if faults.is_down() {
        drop_connection();
    }
    while faults.hang.load(Ordering::SeqCst) {
        let lifted = faults.lifted.notified();
        if !faults.hang.load(Ordering::SeqCst) {
            break;
        }
        lifted.await;
    }
    let latency = faults.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if take(&faults.fail_next) {
        return AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "fault injected: 503",
        )
        .into_response();
    }
    next.run(req).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    count: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Millis {
    ms: u64,
}

#[derive(Serialize)]
struct FaultState {
    fail_next: u32,
    latency_ms: u64,
    drop_after_commit: u32,
    down: bool,
    hang: bool,
}

fn faults(state: &AppState) -> &Faults {
    state
        .faults
        .as_deref()
        .expect("the /_faults routes exist only with faults on")
}

fn bounded(ms: u64) -> Result<u64, AppError> {
    if ms > FAULT_DURATION_MAX_MS {
        Err(AppError::invalid(
            "invalid_fault",
            format!("at most {FAULT_DURATION_MAX_MS} ms"),
        ))
    } else {
        Ok(ms)
    }
}

async fn show(State(state): State<AppState>) -> Json<FaultState> {
    let f = faults(&state);
    Json(FaultState {
        fail_next: f.fail_next.load(Ordering::SeqCst),
        latency_ms: f.latency_ms.load(Ordering::SeqCst),
        drop_after_commit: f.drop_after_commit.load(Ordering::SeqCst),
        down: f.is_down(),
        hang: f.hang.load(Ordering::SeqCst),
    })
}

async fn fail(State(state): State<AppState>, AppJson(c): AppJson<Count>) -> Json<FaultState> {
    faults(&state).fail_next.store(c.count, Ordering::SeqCst);
    show(State(state)).await
}

async fn latency(
    State(state): State<AppState>,
    AppJson(m): AppJson<Millis>,
) -> Result<Json<FaultState>, AppError> {
    faults(&state)
        .latency_ms
        .store(bounded(m.ms)?, Ordering::SeqCst);
    Ok(show(State(state)).await)
}

async fn drop_after_commit(
    State(state): State<AppState>,
    AppJson(c): AppJson<Count>,
) -> Json<FaultState> {
    faults(&state)
        .drop_after_commit
        .store(c.count, Ordering::SeqCst);
    show(State(state)).await
}

async fn down(State(state): State<AppState>) -> Json<FaultState> {
    faults(&state).down.store(true, Ordering::SeqCst);
    show(State(state)).await
}

async fn up(State(state): State<AppState>) -> Json<FaultState> {
    let f = faults(&state);
    f.down.store(false, Ordering::SeqCst);
    f.hang.store(false, Ordering::SeqCst);
    f.lifted.notify_waiters();
    show(State(state)).await
}

async fn hang(State(state): State<AppState>) -> Json<FaultState> {
    faults(&state).hang.store(true, Ordering::SeqCst);
    show(State(state)).await
}

async fn reset(State(state): State<AppState>) -> Json<FaultState> {
    let f = faults(&state);
    f.fail_next.store(0, Ordering::SeqCst);
    f.latency_ms.store(0, Ordering::SeqCst);
    f.drop_after_commit.store(0, Ordering::SeqCst);
    f.down.store(false, Ordering::SeqCst);
    f.hang.store(false, Ordering::SeqCst);
    f.lifted.notify_waiters();
    show(State(state)).await
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(show))
        .route("/fail", post(fail))
        .route("/latency", post(latency))
        .route("/drop-after-commit", post(drop_after_commit))
        .route("/down", post(down))
        .route("/hang", post(hang))
        .route("/up", post(up))
        .route("/reset", post(reset))
}
