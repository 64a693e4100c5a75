//! The vendor's cloud, as far as Till's back office can tell: every final
//! payment and reversal is sent to the back office's notification endpoint
//! in the standard webhook form, signed with the configured key, until it
//! is acknowledged. A refused notification (a 4xx: a wrong key, say) is
//! parked and logged, not retried.

use crate::device::Delivery;
use crate::server::{now, Shared};
use std::time::Duration;
use till_core::outbox::{backoff, Outcome};
use till_nexo::notification::{Notification, NotificationEntry, NotificationItem, WebhookKey};

/// Notifications sent per round.
pub const NOTIFICATIONS_PER_ROUND: usize = 20;
/// How often the queue is looked at.
pub const ROUND_INTERVAL: Duration = Duration::from_millis(250);
/// How long one delivery may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where notifications go.
#[derive(Clone)]
pub struct NotifyTarget {
    /// `https://oms.example/api/v1/notifications/terminal`.
    pub url: String,
    pub key: WebhookKey,
    /// A CA (PEM) to trust beside the system's roots.
    pub ca: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for NotifyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyTarget")
            .field("url", &self.url)
            .field("ca", &self.ca)
            .finish_non_exhaustive()
    }
}

pub fn client(target: &NotifyTarget) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
    if let Some(path) = &target.ca {
        let pem =
            std::fs::read(path).map_err(|e| format!("notification CA {}: {e}", path.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("notification CA {}: {e}", path.display()))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| format!("the notifications' HTTP client: {e}"))
}

pub async fn run(shared: Shared, target: NotifyTarget, client: reqwest::Client) {
    loop {
        tokio::time::sleep(ROUND_INTERVAL).await;
        let due = shared
            .lock()
            .due_notifications(now(), NOTIFICATIONS_PER_ROUND);
        let due = match due {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("{e}");
                continue;
            }
        };
        for (id, item) in due {
            let how = deliver(&client, &target, item).await;
            let how = match how {
                Ok(()) => Delivery::Delivered,
                Err(Retry::Later(why)) => {
                    tracing::warn!("notification {id}: {why}; trying again later");
                    let attempts = shared.lock().notification_attempts(id).unwrap_or(0);
                    let jitter = rand::random_range(0..=1000u16);
                    Delivery::Retry(now() + backoff(attempts + 1, jitter))
                }
                Err(Retry::Never(why)) => {
                    tracing::error!("notification {id} refused by the back office: {why}");
                    Delivery::Parked(why)
                }
            };
            if let Err(e) = shared.lock().notification_sent(id, how, now()) {
                tracing::error!("{e}");
            }
        }
    }
}

enum Retry {
    Later(String),
    Never(String),
}

async fn deliver(
    client: &reqwest::Client,
    target: &NotifyTarget,
    mut item: NotificationItem,
) -> Result<(), Retry> {
    target.key.sign_in_place(&mut item);
    let body = Notification {
        live: "false".into(),
        notification_items: vec![NotificationEntry { item }],
    };
    let sent = client.post(&target.url).json(&body).send().await;
    let r = sent.map_err(|e| Retry::Later(e.to_string()))?;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    match Outcome::from_http(status, &text) {
        Outcome::Stored => Ok(()),
        Outcome::Retry { reason } => Err(Retry::Later(reason)),
        Outcome::Rejected { status, reason } => {
            Err(Retry::Never(format!("HTTP {status}: {reason}")))
        }
    }
}
