//! `POST /api/v1/staff/verify`: a register asks the back office whether a
//! person's PIN is right, for an approval made while it is online. The
//! back office keeps a lock-out per person and per register
//! (till-core's [`PinLock`](till_core::staff::PinLock), stored), so a
//! stolen token can guess no faster than the keypad allows, and a register
//! cannot spread its guesses over everyone.

use crate::api::{active_staff, blocking, now};
use crate::auth::Caller;
use crate::error::{AppError, AppJson};
use crate::store::pins::{person_subject, register_subject};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use till_core::staff::{PinError, Role, StaffId};
use till_core::time::Timestamp;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyPin {
    pub staff: String,
    pub pin: String,
}

/// The person whose PIN was right, as the back office holds them now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffVerified {
    pub staff: StaffId,
    pub name: String,
    pub role: Role,
    /// When the back office checked it (its clock).
    pub at: Timestamp,
}

/// `POST /staff/verify`: 200 with the person when the PIN is theirs (an
/// active person of the register's store); 403 `pin_wrong` otherwise,
/// saying how many tries are left; 429 `pin_locked` while the person or the
/// register is locked out (with `Retry-After`).
pub async fn post_verify(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(req): AppJson<VerifyPin>,
) -> Result<Response, AppError> {
    let register = caller.writer()?.register;
    let id = StaffId::new(req.staff.as_str())
        .map_err(|e| AppError::invalid("invalid_staff", e.to_string()).with_field("staff"))?;
    let subjects = vec![
        person_subject(id.as_str()),
        register_subject(register.as_str()),
    ];
    let checked = subjects.clone();
    if let Err(e) = blocking(&state.store, move |s| s.pin_locked(&checked, now())).await? {
        return Ok(refused(e, now()));
    }
    let of_store = state.stores.store_of(&register).map(str::to_owned);
    let pin = req.pin;
    let (member, answer) = blocking(&state.store, move |s| {
        let member = active_staff(s, of_store.as_deref())?
            .into_iter()
            .find(|m| m.id == id);
        // A person unknown here, disabled, or of another store: wrong.
        let right = member
            .as_ref()
            .is_some_and(|m| m.pin_matches(&pin).unwrap_or(false));
        Ok((member, s.pin_entered(&subjects, right, now())?))
    })
    .await?;
    match (answer, member) {
        (Ok(()), Some(m)) => {
            tracing::info!(register = %register, staff = %m.id, "PIN verified");
            Ok(Json(StaffVerified {
                staff: m.id,
                name: m.name,
                role: m.role,
                at: now(),
            })
            .into_response())
        }
        (Err(e), _) => {
            tracing::warn!(register = %register, why = %e, "PIN refused");
            Ok(refused(e, now()))
        }
        (Ok(()), None) => Err(AppError::internal("a right PIN for nobody")),
    }
}

fn refused(e: PinError, now: Timestamp) -> Response {
    match e {
        PinError::Wrong { .. } => {
            AppError::new(StatusCode::FORBIDDEN, "pin_wrong", e.to_string()).into_response()
        }
        PinError::Locked { until, .. } => {
            let secs = until.saturating_since(now).as_secs_ceil().max(1);
            let mut r = AppError::new(StatusCode::TOO_MANY_REQUESTS, "pin_locked", e.to_string())
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}
