//! Enrolment: a tablet trades a setup link's one-time secret for a
//! register id and a token of its own (`POST /api/v1/registers:enrol`).
//!
//! The secret is made by the store's owner (`till-oms registers enrol`);
//! the rules (once, within 10 minutes, which id) are
//! [`crate::store::registers::decide_enrolment`].

use crate::api::{blocking, now};
use crate::auth::{fingerprint, Peer};
use crate::error::{AppError, AppJson};
use crate::store::registers::{EnrolRefusal, NewRegister, ENROLMENT_LIFE};
use crate::store::Store;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;
use till_core::api::{EnrolRequest, Enrolled};
use till_core::order::RegisterId;
use till_core::time::Timestamp;
use till_http::secret::{made_up_token, sha256_hex};

/// Characters of a secret: 26 of 31 letters and digits, 128 bits.
pub const SECRET_LEN: usize = 26;
/// Characters of a register's token: 43, 213 bits.
pub const REGISTER_TOKEN_LEN: usize = 43;

/// A new enrolment secret, kept (hashed) until `now` + 10 minutes, for
/// `register` or the next free id. Returns the secret and its expiry.
pub fn make_enrolment(
    store: &dyn Store,
    register: Option<&RegisterId>,
    now: Timestamp,
) -> Result<(String, Timestamp), crate::store::StoreError> {
    let secret = made_up_token(SECRET_LEN);
    let expires = now + ENROLMENT_LIFE;
    store.add_enrolment(&sha256_hex(&secret), register, now, expires)?;
    Ok((secret, expires))
}

/// `POST /api/v1/registers:enrol`.
pub async fn post_enrol(
    State(state): State<AppState>,
    Peer(peer): Peer,
    AppJson(req): AppJson<EnrolRequest>,
) -> Result<(StatusCode, Json<Enrolled>), AppError> {
    let token = made_up_token(REGISTER_TOKEN_LEN);
    let new = NewRegister {
        secret_sha256: sha256_hex(req.secret.trim()),
        token_sha256: sha256_hex(&token),
        fingerprint: fingerprint(&token),
    };
    let configured: Vec<RegisterId> = state.tokens.registers().cloned().collect();
    let store: Arc<dyn Store> = state.store.clone();
    let decided = blocking(&store, move |s| s.enrol(&new, &configured, now())).await?;
    match decided {
        Ok(register) => {
            tracing::info!(peer, register = %register, "register enrolled");
            Ok((StatusCode::CREATED, Json(Enrolled { register, token })))
        }
        Err(refusal) => {
            let why = refusal.message();
            tracing::warn!(peer, why, "enrolment refused");
            Err(match refusal {
                EnrolRefusal::Taken(_) => AppError::conflict(why),
                _ => AppError::new(StatusCode::UNAUTHORIZED, "enrolment_refused", why),
            })
        }
    }
}
