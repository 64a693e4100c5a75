//! The bridge's HTTP API (`/v1`).
//!
//! Every request needs the pairing token in `X-Pairing-Token`; the register
//! learns it once, when it is paired. Errors are the JSON `ApiError` body;
//! a cancel that comes too late is a 409 whose body is the real status.

use crate::calls::{self, ABORT_WAIT, FRESH_WAIT};
use crate::journal::{BridgeError, CancelOutcome, Start, Started};
use crate::pairing::Access;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::atomic::Ordering;
use subtle::ConstantTimeEq;
use till_core::api::{
    ApiError, PaymentStatusResponse, StartPayment, StartRefund, PAIRING_HEADER, UNPAIRED_CODE,
};
use till_core::money::Money;
use till_core::payment::PaymentRef;
use till_core::time::Timestamp;

mod pairing;
pub use pairing::{admin_page, local_admin, new_code, on_this_machine, pair};
pub use till_http::now;

pub struct Error(StatusCode, ApiError);

impl Error {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Error {
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
                format!("payment {s} is already known with another order or amount"),
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
                    "payment {s} was already answered \"never received\": it can no longer be started"
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
            e @ BridgeError::NotYours(_) => Error::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("{e}: only the register that started a payment may ask about, cancel or refund it"),
            ),
            BridgeError::RefundRefused(why) => {
                Error::new(StatusCode::CONFLICT, till_core::api::REFUND_REFUSED_CODE, why)
            }
            e @ BridgeError::TooManyUnknown(_) => Error::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_unknown",
                e.to_string(),
            ),
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

/// An answer to the register about a payment: its status and JSON body.
/// The handlers send it; the simulator hands it to its register through
/// the same reading the browser does ([`till_core::edge`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl Answer {
    fn json(status: StatusCode, body: &impl serde::Serialize) -> Answer {
        let body = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
        Answer { status, body }
    }

    /// The body as it crosses the wire.
    pub fn text(&self) -> String {
        self.body.to_string()
    }
}

impl From<BridgeError> for Answer {
    fn from(e: BridgeError) -> Answer {
        let Error(status, body) = Error::from(e);
        Answer::json(status, &body)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// A start: 202 with where the payment stands; "never received" as a 409
/// with that status (final: the register knows nothing was charged); a
/// refusal as its error.
pub fn start_answer(started: Result<PaymentStatusResponse, BridgeError>) -> Answer {
    match started {
        Ok(answer) => Answer::json(StatusCode::ACCEPTED, &answer),
        Err(BridgeError::Tombstoned(reference)) => Answer::json(
            StatusCode::CONFLICT,
            &PaymentStatusResponse {
                reference,
                status: till_core::payment::BridgeStatus::NeverReceived,
            },
        ),
        Err(e) => e.into(),
    }
}

/// A status: 200 with where the payment stands, or the error.
pub fn status_answer(answer: Result<PaymentStatusResponse, BridgeError>) -> Answer {
    match answer {
        Ok(answer) => Answer::json(StatusCode::OK, &answer),
        Err(e) => e.into(),
    }
}

/// A decided cancel: 200 when the payment is cancelled (or was never
/// received); too late, a 409 with the real status, so the popup can show it.
pub fn cancel_answer(decided: Result<(bool, PaymentStatusResponse), BridgeError>) -> Answer {
    match decided {
        Ok((true, answer)) => Answer::json(StatusCode::OK, &answer),
        Ok((false, answer)) => Answer::json(StatusCode::CONFLICT, &answer),
        Err(e) => e.into(),
    }
}

/// Checks the pairing token; applies the faults of `/_faults`.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(PAIRING_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match admitted(&state, &presented).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
        }
        Err(refused) => {
            // The security log: who was refused, never the token.
            let peer = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default();
            tracing::warn!(peer, path = %req.uri().path(), why = %refused.1.message, "token refused");
            return refused.into_response();
        }
    }
    let Some(faults) = state.faults.clone() else {
        return next.run(req).await;
    };
    if req.uri().path().starts_with("/_faults") {
        return next.run(req).await;
    }
    if faults.down.load(Ordering::SeqCst) {
        // Gone, as far as the register can tell: nothing is received.
        crate::faults::drop_connection("bridge down (a test's fault)");
    }
    let latency = faults.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let response = next.run(req).await;
    if crate::faults::take(&faults.drop_replies) {
        // Done, but the answer is lost on the way back.
        crate::faults::drop_connection("reply dropped (a test's fault)");
    }
    response
}

/// Who asks: a pairing's id, or the shared development token. Questions
/// about references the bridge never received are counted per caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The pairing's id: tombstones are counted per pairing.
    pub pairing: String,
    /// The register it was made for: payments belong to their register.
    pub register: String,
}

/// The caller of the shared development token.
const SHARED_CALLER: &str = "shared-token";

/// The shared development token, or a register's own that is not revoked.
async fn admitted(state: &AppState, presented: &str) -> Result<Caller, Error> {
    let unauthorized = |code: &str, msg: &str| Error::new(StatusCode::UNAUTHORIZED, code, msg);
    if presented.is_empty() {
        return Err(unauthorized(
            "unauthorized",
            "missing X-Pairing-Token: pair this register first",
        ));
    }
    if let Some(shared) = &state.pairing_token {
        if bool::from(presented.as_bytes().ct_eq(shared.as_bytes())) {
            return Ok(Caller {
                pairing: SHARED_CALLER.into(),
                register: SHARED_CALLER.into(),
            });
        }
    }
    let pairings = state.pairings.clone();
    let token = presented.to_owned();
    let access = tokio::task::spawn_blocking(move || pairings.check(&token))
        .await
        .map_err(|e| format!("the pairings check stopped: {e}"))
        .and_then(|r| r);
    match access {
        Ok(Access::Paired { id, register }) => Ok(Caller {
            pairing: id,
            register,
        }),
        Ok(Access::Revoked) => Err(unauthorized(
            UNPAIRED_CODE,
            "This register is no longer paired with the bridge: pair it again in Settings",
        )),
        Ok(Access::Unknown) => Err(unauthorized("unauthorized", "wrong pairing token")),
        Err(e) => {
            tracing::error!("{e}");
            Err(Error::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the bridge failed; check its log",
            ))
        }
    }
}

fn parse_ref(s: &str) -> Result<PaymentRef, Error> {
    s.parse().map_err(|e: till_core::ids::IdError| {
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
    f: impl FnOnce(&crate::journal::Journal) -> Result<T, BridgeError> + Send + 'static,
) -> Result<T, Error> {
    let bridge = state.journal.clone();
    tokio::task::spawn_blocking(move || f(&bridge))
        .await
        .map_err(|e| Error::from(BridgeError::Storage(e.to_string())))?
        .map_err(Error::from)
}

pub const OPENAPI: &str = include_str!("../../openapi.json");

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

pub async fn start(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Error> {
    let req: StartPayment = parse_start(&body, "payment")?;
    check_amount(req.amount, "payment")?;
    begin(&state, Start::from(&req).by(&caller.register), "payment").await
}

/// `POST /v1/refunds`: money back to the card of an approved payment.
pub async fn start_refund(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    body: Bytes,
) -> Result<Response, Error> {
    let req: StartRefund = parse_start(&body, "refund")?;
    check_amount(req.amount, "refund")?;
    begin(&state, Start::from(&req).by(&caller.register), "refund").await
}

async fn begin(state: &AppState, req: Start, what: &'static str) -> Result<Response, Error> {
    let now = now();
    let amount = req.amount;
    let started = blocking(state, move |b| Ok(b.start(&req, now))).await?;
    let started = started.map(|(started, answer, outs)| {
        if started == Started::New {
            tracing::info!("{what} {} started: {amount}", answer.reference);
        }
        calls::send_all(state, outs);
        answer
    });
    Ok(start_answer(started).into_response())
}

/// `GET /v1/payments/{reference}`: from the journal. A payment in doubt is
/// asked about at the terminal first (what a Re-sync wants): the answer
/// waits, a moment at most, for the terminal to answer a status asked now.
pub async fn status(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(reference): Path<String>,
) -> Result<Response, Error> {
    let reference = parse_ref(&reference)?;
    let asked = now();
    admit_question(&state, reference, caller, asked).await?;
    let (answer, outs) = blocking(&state, move |b| b.status(&reference, asked, true)).await?;
    if blocking(&state, move |b| b.answered_since(&reference, asked)).await? {
        return Ok(status_answer(Ok(answer)).into_response());
    }
    calls::send_all(&state, outs);
    calls::wait_for(&state, FRESH_WAIT, move |j| {
        j.answered_since(&reference, asked)
    })
    .await;
    let answer = blocking(&state, move |b| {
        Ok(b.status(&reference, now_after(asked), false))
    })
    .await?;
    Ok(status_answer(answer.map(|(answer, _)| answer)).into_response())
}

/// A question about `reference` may be answered: see
/// [`crate::journal::Journal::admit_question`].
async fn admit_question(
    state: &AppState,
    reference: PaymentRef,
    caller: Caller,
    now: Timestamp,
) -> Result<(), Error> {
    let cap = state.tombstones_per_caller;
    let admitted = blocking(state, move |b| {
        Ok(b.admit_question(&reference, (&caller.pairing, &caller.register), cap, now))
    })
    .await?;
    admitted.map_err(|e| {
        tracing::warn!("{e}");
        Error::from(e)
    })
}

/// The time now, never before `earlier`.
fn now_after(earlier: Timestamp) -> Timestamp {
    now().max(earlier)
}

/// `POST /v1/payments/{reference}/cancel`: an Abort to the terminal, while
/// the payment is still running; the answer waits (a moment) for how the
/// payment ended. Too late: 409 with the real status.
pub async fn cancel(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(reference): Path<String>,
) -> Result<Response, Error> {
    let reference = parse_ref(&reference)?;
    let now = now();
    admit_question(&state, reference, caller, now).await?;
    let (outcome, outs) = blocking(&state, move |b| b.cancel(&reference, now)).await?;
    let decided = match outcome {
        CancelOutcome::Cancelled(s) | CancelOutcome::NeverReceived(s) => Ok((true, s)),
        CancelOutcome::TooLate(s) => Ok((false, s)),
        CancelOutcome::AbortSent => {
            calls::send_all(&state, outs);
            match calls::settle(&state, reference, ABORT_WAIT).await {
                Some(s) => Ok((s.status == till_core::payment::BridgeStatus::Cancelled, s)),
                None => Err(BridgeError::Storage("the journal could not be read".into())),
            }
        }
    };
    Ok(cancel_answer(decided).into_response())
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
