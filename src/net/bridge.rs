//! The bridge client: the card terminal's side of the store's LAN. Every
//! answer becomes a till-core [`Reply`] for the payment session: a body that
//! does not parse, a 5xx, a timeout or a dropped connection is "no answer"
//! (the request may or may not have arrived), never a result.

use super::{deadline, BRIDGE_TIMEOUT_MS};
use gloo_net::http::{Request, RequestBuilder, Response};
use till_core::api::{
    ApiError, PaymentStatusResponse, StartPayment, StartRefund, LIVE_PAYMENT_CODE, PAIRING_HEADER,
    REFUND_REFUSED_CODE,
};
use till_core::payment::{PaymentRef, Reply};

#[derive(Debug, Clone)]
pub struct Bridge {
    pub base: String,
    pub token: String,
}

/// The status in a body, if it is about this reference.
async fn status_of(r: Response, reference: &PaymentRef) -> Reply {
    match r.json::<PaymentStatusResponse>().await {
        // An answer about another payment is no answer about this one.
        Ok(body) if body.reference == *reference => Reply::Status(body.status),
        _ => Reply::Unreachable,
    }
}

/// A 409 to a start: "never received", for good (a PaymentStatus body);
/// another payment of this order still on the terminal (refused before
/// anything was journaled: nothing charged); a refund the bridge will not
/// send (beyond what the payment charged: nothing went back); any other
/// conflict is no answer the register can trust.
async fn start_conflict(r: Response, reference: &PaymentRef) -> Reply {
    let Ok(text) = r.text().await else {
        return Reply::Unreachable;
    };
    if let Ok(body) = serde_json::from_str::<PaymentStatusResponse>(&text) {
        if body.reference == *reference {
            return Reply::Status(body.status);
        }
    }
    match serde_json::from_str::<ApiError>(&text) {
        Ok(e) if e.error == LIVE_PAYMENT_CODE || e.error == REFUND_REFUSED_CODE => {
            Reply::Refused { reason: e.message }
        }
        _ => Reply::Unreachable,
    }
}

async fn refused(r: Response) -> Reply {
    let status = r.status();
    let reason = match status {
        401 => "the bridge refused this register's pairing token: check Settings".to_owned(),
        _ => r
            .json::<ApiError>()
            .await
            .map(|e| e.message)
            .unwrap_or_else(|_| format!("HTTP {status}")),
    };
    Reply::Refused { reason }
}

impl Bridge {
    fn url(&self, path: &str) -> String {
        format!("{}/v1{path}", self.base.trim_end_matches('/'))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        Request::get(&self.url(path)).header(PAIRING_HEADER, &self.token)
    }

    fn post(&self, path: &str) -> RequestBuilder {
        Request::post(&self.url(path)).header(PAIRING_HEADER, &self.token)
    }

    /// Reachable and paired.
    pub async fn health(&self) -> bool {
        matches!(self.probe().await, Reply::Accepted)
    }

    /// Asked before a start: `Accepted` when the bridge answers and accepts
    /// the pairing token; `Refused` when it answers no (nothing will be
    /// sent); `Unreachable` when it does not answer at all.
    pub async fn probe(&self) -> Reply {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        match self
            .get("/health")
            .abort_signal(signal.as_ref())
            .send()
            .await
        {
            Err(_) => Reply::Unreachable,
            Ok(r) if r.ok() => Reply::Accepted,
            Ok(r) if (400..500).contains(&r.status()) => refused(r).await,
            Ok(_) => Reply::Unreachable,
        }
    }

    /// `POST /v1/payments`.
    pub async fn start(&self, req: &StartPayment) -> Reply {
        self.begin("/payments", req, &req.reference).await
    }

    /// `POST /v1/refunds`: answered as a payment's start is.
    pub async fn start_refund(&self, req: &StartRefund) -> Reply {
        self.begin("/refunds", req, &req.reference).await
    }

    async fn begin<T: serde::Serialize>(
        &self,
        path: &str,
        req: &T,
        reference: &PaymentRef,
    ) -> Reply {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        let Ok(sent) = self.post(path).abort_signal(signal.as_ref()).json(req) else {
            return Reply::Refused {
                reason: "the request could not be encoded".into(),
            };
        };
        match sent.send().await {
            Err(_) => Reply::Unreachable,
            Ok(r) if r.status() == 202 || r.status() == 200 => Reply::Accepted,
            Ok(r) if r.status() == 409 => start_conflict(r, reference).await,
            Ok(r) if matches!(r.status(), 400 | 401 | 413 | 422) => refused(r).await,
            Ok(_) => Reply::Unreachable,
        }
    }

    /// `GET /v1/payments/{reference}`.
    pub async fn status(&self, reference: &PaymentRef) -> Reply {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        let path = format!("/payments/{reference}");
        match self.get(&path).abort_signal(signal.as_ref()).send().await {
            Ok(r) if r.status() == 200 => status_of(r, reference).await,
            _ => Reply::Unreachable,
        }
    }

    /// `POST /v1/payments/{reference}/cancel`: cancelled, never received,
    /// or (409) the real status.
    pub async fn cancel(&self, reference: &PaymentRef) -> Reply {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        let path = format!("/payments/{reference}/cancel");
        match self.post(&path).abort_signal(signal.as_ref()).send().await {
            Ok(r) if r.status() == 200 || r.status() == 409 => status_of(r, reference).await,
            _ => Reply::Unreachable,
        }
    }
}
