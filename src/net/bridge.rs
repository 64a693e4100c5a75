//! The bridge client: the card terminal's side of the store's LAN. Every
//! answer is turned into a till-core [`Reply`] for the payment session; a
//! body that does not parse counts as no answer, never as a result.

use crate::net::oms::NetError;
use gloo_net::http::{Request, Response};
use till_core::api::{ApiError, PaymentStatusResponse, StartPayment, PAIRING_HEADER};
use till_core::payment::{BridgeStatus, PaymentRef, Reply};

#[derive(Debug, Clone)]
pub struct Bridge {
    pub base: String,
    pub token: String,
}

async fn status_of(r: Response, reference: &PaymentRef) -> Option<BridgeStatus> {
    let body = r.json::<PaymentStatusResponse>().await.ok()?;
    // An answer about another payment is no answer about this one.
    (body.reference == *reference).then_some(body.status)
}

impl Bridge {
    fn url(&self, path: &str) -> String {
        format!("{}/v1{path}", self.base.trim_end_matches('/'))
    }

    /// Reachable and paired (the pairing token is accepted).
    pub async fn health(&self) -> Result<(), NetError> {
        let r = Request::get(&self.url("/health"))
            .header(PAIRING_HEADER, &self.token)
            .send()
            .await
            .map_err(|e| NetError::Unreachable(e.to_string()))?;
        if r.ok() {
            Ok(())
        } else {
            Err(NetError::Refused {
                status: r.status(),
                message: r.status_text(),
            })
        }
    }

    /// `POST /v1/payments`.
    pub async fn start(&self, req: &StartPayment) -> Reply {
        let sent = Request::post(&self.url("/payments"))
            .header(PAIRING_HEADER, &self.token)
            .json(req);
        let Ok(sent) = sent else {
            return Reply::Refused {
                reason: "the payment could not be encoded".into(),
            };
        };
        match sent.send().await {
            Err(_) => Reply::Unreachable,
            Ok(r) if r.status() == 202 || r.status() == 200 => Reply::Accepted,
            Ok(r) if r.status() == 401 => Reply::Refused {
                reason: "the bridge refused the pairing token (check Settings)".into(),
            },
            Ok(r) if (400..500).contains(&r.status()) => {
                let reason = r
                    .json::<ApiError>()
                    .await
                    .map(|e| e.message)
                    .unwrap_or_else(|_| format!("HTTP {}", r.status()));
                Reply::Refused { reason }
            }
            Ok(_) => Reply::Unreachable,
        }
    }

    /// `GET /v1/payments/{reference}`.
    pub async fn status(&self, reference: &PaymentRef) -> Reply {
        match Request::get(&self.url(&format!("/payments/{reference}")))
            .header(PAIRING_HEADER, &self.token)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => status_of(r, reference)
                .await
                .map(Reply::Status)
                .unwrap_or(Reply::Unreachable),
            _ => Reply::Unreachable,
        }
    }

    /// `POST /v1/payments/{reference}/cancel`: cancelled, or (409) the real status.
    pub async fn cancel(&self, reference: &PaymentRef) -> Reply {
        match Request::post(&self.url(&format!("/payments/{reference}/cancel")))
            .header(PAIRING_HEADER, &self.token)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 || r.status() == 409 => status_of(r, reference)
                .await
                .map(Reply::Status)
                .unwrap_or(Reply::Unreachable),
            Ok(r) if r.status() == 404 => Reply::Status(BridgeStatus::NotFound),
            _ => Reply::Unreachable,
        }
    }
}
