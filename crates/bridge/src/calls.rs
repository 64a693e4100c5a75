//! Carries out the journal's requests to the terminal: each is sent on its
//! own task, its end journaled, and what follows from it sent in turn.
//! Everyone waiting on a payment (a cancel, a Re-sync) is told when the
//! journal changes.

use crate::api::now;
use crate::journal::{BridgeError, Journal, Outgoing};
use crate::AppState;
use std::time::Duration;
use till_core::api::PaymentStatusResponse;
use till_core::payment::{BridgeStatus, PaymentRef};
use tokio::task::JoinHandle;

/// How long a Re-sync's answer waits for the terminal's status answer.
pub const FRESH_WAIT: Duration = Duration::from_secs(3);
/// How long a cancel's answer waits for the payment to end after the Abort.
pub const ABORT_WAIT: Duration = Duration::from_secs(5);

/// Sends each request on a task of its own.
pub fn send_all(state: &AppState, outs: Vec<Outgoing>) -> Vec<JoinHandle<()>> {
    outs.into_iter()
        .map(|o| spawn_call(state.clone(), o))
        .collect()
}

fn spawn_call(state: AppState, out: Outgoing) -> JoinHandle<()> {
    tokio::spawn(Box::pin(async move {
        let result = state.link.send(&out).await;
        let journal = state.journal.clone();
        let done = tokio::task::spawn_blocking(move || journal.answered(&out, result, now())).await;
        state.changes.send_modify(|n| *n += 1);
        match done {
            Ok(Ok(next)) => {
                for n in next {
                    spawn_call(state.clone(), n);
                }
            }
            Ok(Err(e)) => tracing::error!("journal: {e}"),
            Err(e) => tracing::error!("journal: {e}"),
        }
    }))
}

/// Waits (at most `within`) until `done` holds of the journal, looking
/// again at each change the terminal's answers make.
pub async fn wait_for(
    state: &AppState,
    within: Duration,
    done: impl Fn(&Journal) -> Result<bool, BridgeError> + Send + Sync + 'static,
) {
    let done = std::sync::Arc::new(done);
    let mut changes = state.changes.subscribe();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (journal, done) = (state.journal.clone(), done.clone());
        let ready = tokio::task::spawn_blocking(move || done(&journal)).await;
        if !matches!(ready, Ok(Ok(false))) {
            return;
        }
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Waits (at most `within`) until the payment is no longer processing;
/// returns its status then.
pub async fn settle(
    state: &AppState,
    reference: PaymentRef,
    within: Duration,
) -> Option<PaymentStatusResponse> {
    let mut changes = state.changes.subscribe();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let journal = state.journal.clone();
        let status = tokio::task::spawn_blocking(move || journal.status(&reference, now(), false))
            .await
            .ok()?
            .ok()?
            .0;
        if status.status != BridgeStatus::Processing {
            return Some(status);
        }
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return Some(status);
        }
    }
}
