//! What the bridge's HTTP answers mean to the register: one mapping from a
//! status and a body to a [`Reply`] (or a [`BridgeLink`]), which the
//! browser's bridge client and the simulator both call. A body that does
//! not parse, a 5xx or an answer about another payment is no answer (the
//! request may or may not have arrived), never a result; a 4xx that means
//! the bridge did nothing is a refusal, with its reason.

use crate::api::{
    ApiError, PaymentStatusResponse, LIVE_PAYMENT_CODE, REFUND_REFUSED_CODE, UNPAIRED_CODE,
};
use crate::lan::BridgeLink;
use crate::payment::{PaymentRef, Reply};

/// What the cashier reads when the bridge refused this register's token
/// for no reason it gave.
pub const TOKEN_REFUSED: &str =
    "the bridge refused this register's pairing token: pair it again in Settings";

fn api_error(body: &str) -> Option<ApiError> {
    serde_json::from_str(body).ok()
}

/// The status in a body, if it is about `reference`.
fn status_in(body: &str, reference: &PaymentRef) -> Reply {
    match serde_json::from_str::<PaymentStatusResponse>(body) {
        // An answer about another payment is no answer about this one.
        Ok(answer) if answer.reference == *reference => Reply::Status(answer.status),
        _ => Reply::Unreachable,
    }
}

/// A 4xx that means the bridge did nothing, with its reason: a 401's is
/// the bridge's own words when it revoked this register.
fn refused(status: u16, body: &str) -> Reply {
    let error = api_error(body);
    let reason = match (status, error) {
        (401, Some(e)) if e.error == UNPAIRED_CODE => e.message,
        (401, _) => TOKEN_REFUSED.to_owned(),
        (_, Some(e)) => e.message,
        (_, None) => format!("HTTP {status}"),
    };
    Reply::Refused { reason }
}

/// `GET /v1/health`: reachable and paired, or why not.
pub fn health_link(status: u16, body: &str, https: bool) -> BridgeLink {
    match status {
        200..=299 => BridgeLink::Connected,
        401 => match api_error(body) {
            Some(e) if e.error == UNPAIRED_CODE => BridgeLink::Unpaired,
            _ => BridgeLink::TokenRefused,
        },
        _ => BridgeLink::NoAnswer { https },
    }
}

/// `GET /v1/health` asked before a start: `Accepted` when the bridge
/// accepts the pairing token; `Refused` when it answers no (nothing will
/// be sent).
pub fn probe_reply(status: u16, body: &str) -> Reply {
    match status {
        200..=299 => Reply::Accepted,
        400..=499 => refused(status, body),
        _ => Reply::Unreachable,
    }
}

/// `POST /v1/payments` and `POST /v1/refunds`. A 409 is "never received",
/// for good (a status body); another payment of this order still on the
/// terminal, or a refund the bridge will not send (refused before anything
/// was journaled: nothing charged, nothing given back); any other conflict
/// is no answer the register can trust.
pub fn start_reply(status: u16, body: &str, reference: &PaymentRef) -> Reply {
    match status {
        200 | 202 => Reply::Accepted,
        409 => match status_in(body, reference) {
            Reply::Unreachable => match api_error(body) {
                Some(e) if e.error == LIVE_PAYMENT_CODE || e.error == REFUND_REFUSED_CODE => {
                    Reply::Refused { reason: e.message }
                }
                _ => Reply::Unreachable,
            },
            known => known,
        },
        400 | 401 | 413 | 422 => refused(status, body),
        _ => Reply::Unreachable,
    }
}

/// `GET /v1/payments/{reference}`.
pub fn status_reply(status: u16, body: &str, reference: &PaymentRef) -> Reply {
    match status {
        200 => status_in(body, reference),
        _ => Reply::Unreachable,
    }
}

/// `POST /v1/payments/{reference}/cancel`: cancelled or never received
/// (200), or too late (409, with the real status).
pub fn cancel_reply(status: u16, body: &str, reference: &PaymentRef) -> Reply {
    match status {
        200 | 409 => status_in(body, reference),
        _ => Reply::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::BridgeStatus;

    fn reference(n: u128) -> PaymentRef {
        PaymentRef::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn status_body(r: &PaymentRef, status: BridgeStatus) -> String {
        let answer = PaymentStatusResponse {
            reference: *r,
            status,
        };
        serde_json::to_string(&answer).unwrap()
    }

    fn error_body(code: &str, message: &str) -> String {
        serde_json::to_string(&ApiError::new(code, message)).unwrap()
    }

    #[test]
    fn a_start_is_taken_refused_never_received_or_unanswered() {
        let r = reference(1);
        assert_eq!(start_reply(202, "{}", &r), Reply::Accepted);
        let never = status_body(&r, BridgeStatus::NeverReceived);
        assert_eq!(
            start_reply(409, &never, &r),
            Reply::Status(BridgeStatus::NeverReceived)
        );
        let live = error_body(LIVE_PAYMENT_CODE, "payment x is in progress");
        assert_eq!(
            start_reply(409, &live, &r),
            Reply::Refused {
                reason: "payment x is in progress".into()
            }
        );
        let conflict = error_body("conflict", "known with another amount");
        assert_eq!(start_reply(409, &conflict, &r), Reply::Unreachable);
        assert_eq!(start_reply(500, "", &r), Reply::Unreachable);
        assert_eq!(
            start_reply(422, "not json", &r),
            Reply::Refused {
                reason: "HTTP 422".into()
            }
        );
    }

    #[test]
    fn an_answer_about_another_payment_is_no_answer() {
        let (r, other) = (reference(1), reference(2));
        let body = status_body(&other, BridgeStatus::Cancelled);
        assert_eq!(status_reply(200, &body, &r), Reply::Unreachable);
        assert_eq!(cancel_reply(409, &body, &r), Reply::Unreachable);
        assert_eq!(start_reply(409, &body, &r), Reply::Unreachable);
        let own = status_body(&r, BridgeStatus::Cancelled);
        assert_eq!(
            cancel_reply(409, &own, &r),
            Reply::Status(BridgeStatus::Cancelled)
        );
        assert_eq!(status_reply(404, &own, &r), Reply::Unreachable);
    }

    #[test]
    fn a_refused_token_says_why_in_the_bridges_words_or_ours() {
        let revoked = error_body(UNPAIRED_CODE, "this register was unpaired");
        assert_eq!(
            probe_reply(401, &revoked),
            Reply::Refused {
                reason: "this register was unpaired".into()
            }
        );
        assert_eq!(
            probe_reply(401, ""),
            Reply::Refused {
                reason: TOKEN_REFUSED.into()
            }
        );
        assert_eq!(health_link(401, &revoked, true), BridgeLink::Unpaired);
        assert_eq!(health_link(401, "", true), BridgeLink::TokenRefused);
        assert_eq!(health_link(200, "", true), BridgeLink::Connected);
        assert_eq!(
            health_link(503, "", true),
            BridgeLink::NoAnswer { https: true }
        );
        assert_eq!(probe_reply(503, ""), Reply::Unreachable);
    }
}
