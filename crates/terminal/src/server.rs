//! `POST /nexo` over HTTPS: one sealed request per call, the sealed answer
//! in the same response, as a terminal's local integration serves it.
//!
//! A message that does not open (a wrong key, a MAC that does not verify,
//! a message that does not parse) is answered 400 and never acted on. A
//! Payment is held until the device decides it; the bridge's connection
//! waits. The wire faults of [`crate::faults`] are applied here.

use crate::device::{Device, Reply};
use crate::faults::{spoil_mac, take, WireFaults};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use till_nexo::message::Response as NexoResponse;
use till_nexo::{Codec, RequestBody, ServiceId};
use tokio::sync::{oneshot, Notify};

/// What a held Payment call waits for: its answer, or `None` (lost).
type Held = oneshot::Sender<Option<NexoResponse>>;

#[derive(Clone)]
pub struct Shared {
    pub device: Arc<Mutex<Device>>,
    pub codec: Arc<Codec>,
    pub faults: Arc<WireFaults>,
    pub held: Arc<Mutex<HashMap<ServiceId, Held>>>,
    /// Wakes the ticker: a request may have changed what is due.
    pub wake: Arc<Notify>,
}

pub use till_http::now;

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Device> {
        self.device.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<ServiceId, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every held call is cut (the terminal went off).
    pub fn cut_held(&self) {
        self.held().clear();
    }
}

/// Abandons the connection without an answer.
fn drop_connection(why: &'static str) -> ! {
    std::panic::resume_unwind(Box::new(why))
}

fn refused(status: StatusCode, why: String) -> Response {
    (status, axum::Json(serde_json::json!({"error": why}))).into_response()
}

/// `POST /nexo`.
pub async fn nexo(State(s): State<Shared>, body: Bytes) -> Response {
    if s.faults.off.load(Ordering::SeqCst) {
        drop_connection("the terminal is off (a test's fault)");
    }
    let request = match s.codec.open_request(&body) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("refused a request: {e}");
            return refused(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    if take(&s.faults.lose) {
        drop_connection("the request is lost on its way (a test's fault)");
    }
    let is_payment = matches!(request.body, RequestBody::Payment(_));
    let cut = take(&s.faults.cut);
    let (reply, held) = {
        let shared = s.clone();
        let handled = tokio::task::spawn_blocking(move || {
            let mut device = shared.lock();
            let reply = device.handle(request, now());
            // Registered under the device's lock: the ticker cannot answer
            // the call before it waits.
            let held = match &reply {
                Ok(Reply::Held(id)) => {
                    let (tx, rx) = oneshot::channel();
                    shared.held().insert(id.clone(), tx);
                    Some(rx)
                }
                _ => None,
            };
            (reply, held)
        })
        .await;
        match handled {
            Ok(r) => r,
            Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    };
    s.wake.notify_one();
    if cut {
        drop_connection("connection reset mid-call (a test's fault)");
    }
    let answer = match reply {
        Ok(Reply::Now(r)) => *r,
        Ok(Reply::Empty) => return answer_after_latency(&s, Vec::new()).await,
        Ok(Reply::Held(_)) => match held.expect("a held call waits").await {
            Ok(Some(r)) => r,
            // Lost on its way (the behaviour), or the terminal went off.
            Ok(None) | Err(_) => drop_connection("the answer is lost (a test's behaviour)"),
        },
        Err(e) => {
            tracing::error!("{e}");
            return refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
    };
    if is_payment && take(&s.faults.drop_answers) {
        drop_connection("the answer is dropped after the decision (a test's fault)");
    }
    let mut sealed = s.codec.seal_response(&answer, rand::random());
    if take(&s.faults.bad_mac) {
        sealed = spoil_mac(&sealed);
    }
    answer_after_latency(&s, sealed).await
}

async fn answer_after_latency(s: &Shared, body: Vec<u8>) -> Response {
    s.faults.wait_released().await;
    let latency = s.faults.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    if s.faults.off.load(Ordering::SeqCst) {
        drop_connection("the terminal is off (a test's fault)");
    }
    let content = [(axum::http::header::CONTENT_TYPE, "application/json")];
    (StatusCode::OK, content, body).into_response()
}

/// Decides what is due and answers the held calls, whenever something is.
pub async fn ticker(s: Shared) {
    loop {
        let shared = s.clone();
        let next = tokio::task::spawn_blocking(move || {
            let mut device = shared.lock();
            let finished = device.advance(now());
            if let Ok(finished) = &finished {
                let mut held = shared.held();
                for f in finished {
                    if let Some(tx) = held.remove(&f.service_id) {
                        let _ = tx.send(f.response.clone());
                    }
                }
            }
            finished.map(|_| device.poll_timeout())
        })
        .await;
        let wait = match next {
            Ok(Ok(Some(at))) => {
                std::time::Duration::from_millis(at.saturating_since(now()).as_millis())
            }
            Ok(Ok(None)) => std::time::Duration::from_secs(3600),
            Ok(Err(e)) => {
                tracing::error!("{e}");
                std::time::Duration::from_secs(1)
            }
            Err(e) => {
                tracing::error!("{e}");
                std::time::Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {},
            _ = s.wake.notified() => {},
        }
    }
}
