//! Delivers approved payments to the back office, until acknowledged.
//!
//! A loop on a timer (or woken at once when a report is queued): it first
//! brings processing payments up to date, then sends what is due. A 2xx is
//! delivered; a 5xx or a network error is retried with till-core's capped
//! backoff; a 4xx is parked and logged (the OMS refused the report itself,
//! retrying would not help). The queue lives in the journal, so it survives
//! restarts.

use crate::api::now;
use crate::journal::{Bridge, Delivery};
use std::sync::Arc;
use std::time::Duration;
use till_core::api::PaymentReport;
use till_core::outbox::Outcome;
use tokio::sync::Notify;

/// How often payments are refreshed and reports retried.
pub const ROUND_INTERVAL: Duration = Duration::from_millis(250);
/// How long one report may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct OmsTarget {
    /// The OMS's origin, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub token: String,
}

impl std::fmt::Debug for OmsTarget {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmsTarget")
            .field("url", &self.url)
            .field("token", &"<hidden>")
            .finish()
    }
}

pub async fn run(bridge: Arc<Bridge>, oms: Option<OmsTarget>, wake: Arc<Notify>) {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let mut warned = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ROUND_INTERVAL) => {},
            _ = wake.notified() => {},
        }
        let b = bridge.clone();
        let due = tokio::task::spawn_blocking(move || {
            let now = now();
            b.tick(now)?;
            b.due_reports(now)
        })
        .await;
        let due = match due {
            Ok(Ok(due)) => due,
            Ok(Err(e)) => {
                tracing::error!("reporter: {e:?}");
                continue;
            }
            Err(e) => {
                tracing::error!("reporter: {e}");
                continue;
            }
        };
        let Some(oms) = &oms else {
            if !due.is_empty() && !warned {
                tracing::warn!(
                    "{} payment report(s) wait for an OMS: start the bridge with --oms-url",
                    due.len()
                );
                warned = true;
            }
            continue;
        };
        for report in due {
            let outcome = deliver(&client, oms, &report).await;
            if outcome != Delivery::Delivered {
                tracing::warn!("report of payment {}: {outcome:?}", report.reference);
            }
            let b = bridge.clone();
            let jitter = rand::random_range(0..=1000u16);
            let _ = tokio::task::spawn_blocking(move || {
                b.delivered(&report.reference, outcome, now(), jitter)
            })
            .await;
        }
    }
}

async fn deliver(client: &reqwest::Client, oms: &OmsTarget, report: &PaymentReport) -> Delivery {
    let url = format!("{}/api/v1/payments", oms.url.trim_end_matches('/'));
    match client
        .post(url)
        .bearer_auth(&oms.token)
        .json(report)
        .send()
        .await
    {
        // The same classification as the register's outbox: 5xx, 408, 429
        // and 401/403 (a token to fix) are retried; other 4xx are parked.
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            match Outcome::from_http(status, &body) {
                Outcome::Stored => Delivery::Delivered,
                Outcome::Retry { reason } => Delivery::Retry(reason),
                Outcome::Rejected { status, reason } => {
                    Delivery::Parked(format!("HTTP {status}: {reason}"))
                }
            }
        }
        Err(e) => Delivery::Retry(e.to_string()),
    }
}
