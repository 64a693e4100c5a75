//! Delivers approved payments to the back office, until acknowledged.
//!
//! A loop on a timer (or woken at once when a report is queued): it first
//! sends the terminal the status queries that are due (payments in doubt),
//! then the reports that are due. A 2xx is
//! delivered; a 5xx or a network error is retried with till-core's capped
//! backoff; a 4xx is parked and logged (the OMS refused the report itself,
//! retrying would not help). The queue lives in the journal, so it survives
//! restarts.

use crate::api::now;
use crate::journal::Delivery;
use crate::AppState;
use std::time::Duration;
use till_core::api::PaymentReport;
use till_core::outbox::Outcome;

/// How often payments are refreshed and reports retried.
pub const ROUND_INTERVAL: Duration = Duration::from_millis(250);
/// How long one report may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct OmsTarget {
    /// The OMS's origin, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub token: String,
    /// A CA certificate (PEM) to trust for an `https://` OMS, beside the
    /// system's roots: a store's own CA.
    pub ca: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for OmsTarget {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmsTarget")
            .field("url", &self.url)
            .field("token", &"<hidden>")
            .field("ca", &self.ca)
            .finish()
    }
}

/// The reporter's HTTP client: HTTPS with the system's roots, and the
/// OMS's CA file when there is one. A CA file that cannot be read or holds
/// no certificate is an error at start, not a report that never arrives.
pub fn client(oms: Option<&OmsTarget>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
    if let Some(path) = oms.and_then(|o| o.ca.as_ref()) {
        let pem = std::fs::read(path).map_err(|e| format!("OMS CA {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("OMS CA {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "OMS CA {}: no certificate in the file",
                path.display()
            ));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| format!("the reporter's HTTP client: {e}"))
}

pub async fn run(state: AppState, client: reqwest::Client, oms: Option<OmsTarget>) {
    let mut warned = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ROUND_INTERVAL) => {},
            _ = state.wake_reporter.notified() => {},
        }
        let journal = state.journal.clone();
        let due = tokio::task::spawn_blocking(move || {
            let now = now();
            Ok::<_, crate::journal::BridgeError>((journal.tick(now)?, journal.due_reports(now)?))
        })
        .await;
        let (asks, due) = match due {
            Ok(Ok(due)) => due,
            Ok(Err(e)) => {
                tracing::error!("reporter: {e}");
                continue;
            }
            Err(e) => {
                tracing::error!("reporter: {e}");
                continue;
            }
        };
        crate::calls::send_all(&state, asks);
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
            let journal = state.journal.clone();
            let jitter = rand::random_range(0..=1000u16);
            let _ = tokio::task::spawn_blocking(move || {
                journal.delivered(&report.reference, outcome, now(), jitter)
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
        Err(e) => Delivery::Retry(why(&e)),
    }
}

/// The error and its causes: "error sending request" alone does not say
/// that the OMS's certificate is not trusted.
pub fn why(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
