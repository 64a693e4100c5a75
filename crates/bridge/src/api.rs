//! The bridge's HTTP API (`/v1`) and the simulator's controls (`/_sim`).
//!
//! Every request needs the pairing token in `X-Pairing-Token`; the register
//! learns it once, when it is paired. Errors are the JSON `ApiError` body;
//! a cancel that comes too late is a 409 whose body is the real status.

use crate::journal::{BridgeError, Start, Started};
use crate::simulator::{Behaviour, Simulator};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::atomic::Ordering;
use subtle::ConstantTimeEq;
use till_core::api::{ApiError, PaymentStatusResponse, StartPayment, StartRefund, PAIRING_HEADER};
use till_core::money::Money;
use till_core::payment::PaymentRef;
use till_core::time::Timestamp;

pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

pub struct Error(StatusCode, ApiError);

impl Error {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Error {
        Error(status, ApiError::new(code, message))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<BridgeError> for Error {
    fn from(e: BridgeError) -> Error {
        match e {
            BridgeError::Conflict(s) => Error::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "payment {} is already known with another order or amount",
                    s.reference
                ),
            ),
            BridgeError::NotFound => Error::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no payment with this reference",
            ),
            BridgeError::Tombstoned(s) => Error::new(
                StatusCode::CONFLICT,
                "never_received",
                format!(
                    "payment {} was already answered \"never received\": it can no longer be started",
                    s.reference
                ),
            ),
            BridgeError::LivePayment(live) => Error::new(
                StatusCode::CONFLICT,
                till_core::api::LIVE_PAYMENT_CODE,
                format!(
                    "this order already has a payment in progress on the terminal: {live}; \
                     wait for its result or cancel it"
                ),
            ),
            BridgeError::TooLate(s) => {
                Error::new(StatusCode::CONFLICT, "too_late", format!("{s:?}"))
            }
            BridgeError::RefundRefused(why) => {
                Error::new(StatusCode::CONFLICT, till_core::api::REFUND_REFUSED_CODE, why)
            }
            BridgeError::Terminal(e) => Error::new(StatusCode::BAD_GATEWAY, "terminal_error", e),
            BridgeError::Storage(e) => {
                tracing::error!("{e}");
                Error::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the bridge failed; check its log",
                )
            }
        }
    }
}

/// Checks the pairing token; applies `/_sim/down`.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(PAIRING_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let matches: bool = presented
        .as_bytes()
        .ct_eq(state.pairing_token.as_bytes())
        .into();
    if !matches {
        let msg = if presented.is_empty() {
            "missing X-Pairing-Token: pair this register first"
        } else {
            "wrong pairing token"
        };
        return Error::new(StatusCode::UNAUTHORIZED, "unauthorized", msg).into_response();
    }
    if req.uri().path().starts_with("/_sim") {
        return next.run(req).await;
    }
    if state.faults.down.load(Ordering::SeqCst) {
        // Gone, as far as the register can tell: nothing is received.
        std::panic::resume_unwind(Box::new("bridge down (simulated)"));
    }
    let latency = state.faults.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let response = next.run(req).await;
    if take(&state.faults.drop_replies) {
        // Done, but the answer is lost on the way back.
        std::panic::resume_unwind(Box::new("reply dropped (simulated)"));
    }
    response
}

fn take(counter: &std::sync::atomic::AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn parse_ref(s: &str) -> Result<PaymentRef, Error> {
    s.parse().map_err(|e: till_core::payment::PaymentError| {
        Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reference",
            e.to_string(),
        )
    })
}

/// Runs journal work on the blocking pool.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&crate::journal::Bridge) -> Result<T, BridgeError> + Send + 'static,
) -> Result<T, Error> {
    let bridge = state.bridge.clone();
    tokio::task::spawn_blocking(move || f(&bridge))
        .await
        .map_err(|e| Error::from(BridgeError::Storage(e.to_string())))?
        .map_err(Error::from)
}

pub const OPENAPI: &str = include_str!("../openapi.json");

pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// Parses a start's body, naming the field at fault; `what` is the error
/// code's subject ("payment", "refund").
fn parse_start<T: serde::de::DeserializeOwned>(body: &Bytes, what: &str) -> Result<T, Error> {
    let text = std::str::from_utf8(body).map_err(|_| {
        Error::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body is not UTF-8",
        )
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            return Error::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("malformed JSON: {}", e.inner()),
            );
        }
        let field = e.path().to_string();
        Error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::new(format!("invalid_{what}"), format!("{field}: {}", e.inner()))
                .with_field(field),
        )
    })
}

fn check_amount(amount: Money, what: &str) -> Result<(), Error> {
    if amount.is_negative() || amount.is_zero() {
        return Err(Error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::new(format!("invalid_{what}"), "amount must be more than zero")
                .with_field("amount"),
        ));
    }
    Ok(())
}

pub async fn start(State(state): State<AppState>, body: Bytes) -> Result<Response, Error> {
    let req: StartPayment = parse_start(&body, "payment")?;
    check_amount(req.amount, "payment")?;
    begin(&state, Start::from(&req), "payment").await
}

/// `POST /v1/refunds`: money back to the card of an approved payment.
pub async fn start_refund(State(state): State<AppState>, body: Bytes) -> Result<Response, Error> {
    let req: StartRefund = parse_start(&body, "refund")?;
    check_amount(req.amount, "refund")?;
    begin(&state, Start::from(&req), "refund").await
}

async fn begin(state: &AppState, req: Start, what: &'static str) -> Result<Response, Error> {
    let now = now();
    let amount = req.amount;
    let started = blocking(state, move |b| {
        b.start(&req, now).map(Ok).or_else(|e| match e {
            BridgeError::Tombstoned(s) => Ok(Err(s)),
            other => Err(other),
        })
    })
    .await?;
    match started {
        Ok((started, answer)) => {
            if started == Started::New {
                tracing::info!("{what} {} started: {amount}", answer.reference);
            }
            Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
        }
        // "Never received" is final: 409 with that status, so the register
        // knows for certain that nothing was charged.
        Err(never) => Ok((StatusCode::CONFLICT, Json(never)).into_response()),
    }
}

pub async fn status(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<Json<PaymentStatusResponse>, Error> {
    let reference = parse_ref(&reference)?;
    let now = now();
    Ok(Json(
        blocking(&state, move |b| b.status(&reference, now)).await?,
    ))
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<Response, Error> {
    let reference = parse_ref(&reference)?;
    let now = now();
    match blocking(&state, move |b| {
        b.cancel(&reference, now).map(Ok).or_else(|e| match e {
            BridgeError::TooLate(s) => Ok(Err(s)),
            other => Err(other),
        })
    })
    .await?
    {
        Ok(cancelled) => Ok(Json(cancelled).into_response()),
        // Too late: 409 with the real status, so the popup can show it.
        Err(real) => Ok((StatusCode::CONFLICT, Json(real)).into_response()),
    }
}

pub async fn not_found() -> Error {
    Error::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

pub async fn method_not_allowed() -> Error {
    Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

// ---- /_sim: simulator controls ----

fn sim(state: &AppState) -> &Simulator {
    state
        .simulator
        .as_deref()
        .expect("/_sim routes exist only with the simulator")
}

pub async fn sim_next(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Behaviour>, Error> {
    let behaviour: Behaviour = serde_json::from_slice(&body).map_err(|e| {
        Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_behaviour",
            e.to_string(),
        )
    })?;
    sim(&state).set_next(behaviour.clone());
    Ok(Json(behaviour))
}

pub async fn sim_reveal(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<StatusCode, Error> {
    let reference = parse_ref(&reference)?;
    if sim(&state).reveal(&reference) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the terminal has no such payment",
        ))
    }
}

pub async fn sim_report(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> Result<StatusCode, Error> {
    let reference = parse_ref(&reference)?;
    let now = now();
    let report = sim(&state).report_now(&reference, now).ok_or_else(|| {
        Error::new(
            StatusCode::CONFLICT,
            "not_charged",
            "the terminal has not captured an approval for it",
        )
    })?;
    blocking(&state, move |b| b.queue(&report, now)).await?;
    state.wake_reporter.notify_one();
    Ok(StatusCode::ACCEPTED)
}

pub async fn sim_down(State(state): State<AppState>) -> StatusCode {
    state.faults.down.store(true, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

pub async fn sim_up(State(state): State<AppState>) -> StatusCode {
    state.faults.down.store(false, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// Longest latency a test may ask for: tests must end.
const LATENCY_MAX_MS: u64 = 60_000;

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

fn parse_sim<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fault",
            e.to_string(),
        )
    })
}

/// `POST /_sim/latency {"ms": N}`: every API answer waits N ms, until changed.
pub async fn sim_latency(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, Error> {
    let Millis { ms } = parse_sim(&body)?;
    if ms > LATENCY_MAX_MS {
        return Err(Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fault",
            format!("ms must be at most {LATENCY_MAX_MS}"),
        ));
    }
    state.faults.latency_ms.store(ms, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /_sim/drop-replies {"count": N}`: the next N API requests are
/// carried out, and their answers lost.
pub async fn sim_drop_replies(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let Count { count } = parse_sim(&body)?;
    state.faults.drop_replies.store(count, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /_sim/reset`: every fault lifted, and a next behaviour no payment
/// took is forgotten: the terminal is back to its defaults.
pub async fn sim_reset(State(state): State<AppState>) -> StatusCode {
    sim(&state).clear_next();
    state.faults.down.store(false, Ordering::SeqCst);
    state.faults.latency_ms.store(0, Ordering::SeqCst);
    state.faults.drop_replies.store(0, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

pub async fn sim_charges(State(state): State<AppState>) -> Json<Vec<crate::simulator::Charge>> {
    Json(sim(&state).charges())
}
