//! `POST /api/v1/notifications/terminal`: the card terminal's vendor
//! notifies the back office of every final payment and refund, in the
//! standard webhook form ([`till_nexo::notification`]).
//!
//! This is how a payment whose result was lost between the terminal and
//! the bridge still reaches its order: an approval notified here becomes
//! the same payment report the bridge would have sent, and reconciliation
//! (and "Download") reads it.
//!
//! The caller has no token: each item carries an HMAC signature under the
//! key configured with `TILL_WEBHOOK_HMAC_KEY`. A call whose items are not
//! all correctly signed (or any call, when no key is configured) is refused
//! with 401 and changes nothing. A notification that arrives twice is
//! stored once and acknowledged both times (`[accepted]`), as the vendor
//! expects; results that are not approvals are acknowledged and ignored.

use crate::error::AppError;
use crate::store::PaymentWrite;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use till_nexo::notification::{Notification, NotificationError, ITEMS_MAX};

pub async fn post_terminal(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, AppError> {
    let Some(key) = state.webhook_key.clone() else {
        return Err(AppError::unauthorized(
            "this back office takes no terminal notifications: no webhook key is configured",
        ));
    };
    let text =
        std::str::from_utf8(&body).map_err(|_| AppError::bad_request("the body is not UTF-8"))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let n: Notification = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            return AppError::bad_request(format!("malformed JSON: {}", e.inner()));
        }
        let field = e.path().to_string();
        AppError::invalid("invalid_notification", format!("{field}: {}", e.inner()))
            .with_field(field)
    })?;
    if n.notification_items.is_empty() || n.notification_items.len() > ITEMS_MAX {
        return Err(AppError::invalid(
            "invalid_notification",
            format!("a notification carries 1 to {ITEMS_MAX} items"),
        )
        .with_field("notificationItems"));
    }
    // Every item is checked before any is stored: all or nothing.
    let mut reports = Vec::new();
    for (i, entry) in n.notification_items.iter().enumerate() {
        key.verify(&entry.item).map_err(|e| {
            tracing::warn!("refused a terminal notification: {e}");
            AppError::unauthorized(e.to_string())
        })?;
        match entry.item.report() {
            Ok(Some(report)) => reports.push(report),
            Ok(None) => {}
            Err(NotificationError::Invalid(why)) => {
                let field = format!("notificationItems[{i}]");
                return Err(AppError::invalid("invalid_notification", why).with_field(field));
            }
            Err(e) => return Err(AppError::invalid("invalid_notification", e.to_string())),
        }
    }
    for report in reports {
        let now = crate::api::now();
        let r = report.clone();
        match crate::api::blocking(&state.store, move |s| s.record_payment(&r, now)).await? {
            PaymentWrite::Created | PaymentWrite::Unchanged => {}
            PaymentWrite::Conflict(stored) => tracing::error!(
                "the terminal's notification of payment {} differs from what the bridge reported ({stored:?}); the first is kept",
                report.reference
            ),
        }
    }
    Ok(till_nexo::notification::ACCEPTED.into_response())
}
