//! The bridge client: the card terminal's side of the store's LAN. Every
//! answer becomes a till-core [`Reply`] for the payment session through
//! [`till_core::edge`] (which the simulator calls too): a body that does
//! not parse, a 5xx, a timeout or a dropped connection is "no answer" (the
//! request may or may not have arrived), never a result.

use super::{deadline, BRIDGE_TIMEOUT_MS};
use gloo_net::http::{Request, RequestBuilder, Response};
use till_core::api::{
    ApiError, PairRequest, PairResponse, StartPayment, StartRefund, PAIRING_HEADER,
};
use till_core::edge;
use till_core::lan::BridgeLink;
use till_core::payment::{PaymentRef, Reply};

#[derive(Debug, Clone)]
pub struct Bridge {
    pub base: String,
    pub token: String,
    /// The `targetAddressSpace` every request names (Local Network Access),
    /// from [`till_core::lan::target_address_space`].
    pub space: Option<&'static str>,
}

/// Sends `req`, naming the target's address space when there is one: a
/// request carries it from its `RequestInit`, so the built request is
/// copied into one that says it.
async fn send(req: Request, space: Option<&'static str>) -> Result<Response, gloo_net::Error> {
    let Some(space) = space else {
        return req.send().await;
    };
    let raw: web_sys::Request = req.into();
    let init = web_sys::RequestInit::new();
    let js = |e: wasm_bindgen::JsValue| gloo_net::Error::GlooError(format!("{e:?}"));
    js_sys::Reflect::set(&init, &"targetAddressSpace".into(), &space.into()).map_err(js)?;
    let raw = web_sys::Request::new_with_request_and_init(&raw, &init).map_err(js)?;
    Request::from(raw).send().await
}

/// `POST /v1/pairings`: the code the bridge shows, for this register's own
/// token; or what went wrong, in words for the person pairing.
pub async fn pair(
    base: &str,
    code: &str,
    register: &str,
    space: Option<&'static str>,
) -> Result<PairResponse, String> {
    let url = format!("{}/v1/pairings", base.trim_end_matches('/'));
    let body = PairRequest {
        code: code.trim().to_owned(),
        register: register.to_owned(),
    };
    let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
    let req = Request::post(&url)
        .abort_signal(signal.as_ref())
        .json(&body)
        .map_err(|e| format!("The pairing request could not be made: {e}"))?;
    let r = send(req, space).await.map_err(|_| {
        let mut why = format!("No answer from the bridge at {base}: check the address and that the bridge is on");
        if base.starts_with("https://") {
            why.push_str(", and that this tablet trusts its certificate (open the address in a new tab to see)");
        }
        why
    })?;
    match r.status() {
        201 => r.json::<PairResponse>().await.map_err(|_| {
            "The bridge's answer could not be read: is this Till's bridge?".to_owned()
        }),
        _ => Err(r
            .json::<ApiError>()
            .await
            .map(|e| e.message)
            .unwrap_or_else(|_| format!("The bridge refused: HTTP {}", r.status()))),
    }
}

/// A response's status and body; `None` when there was no answer (or its
/// body could not be read: as good as none).
async fn answer(sent: Result<Response, gloo_net::Error>) -> Option<(u16, String)> {
    let r = sent.ok()?;
    let status = r.status();
    Some((status, r.text().await.ok()?))
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

    async fn send(&self, req: RequestBuilder) -> Result<Response, gloo_net::Error> {
        send(req.build()?, self.space).await
    }

    /// Reachable and paired, or why not.
    pub async fn link(&self) -> BridgeLink {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        let sent = self.send(self.get("/health").abort_signal(signal.as_ref()));
        match answer(sent.await).await {
            Some((status, body)) => edge::health_link(status, &body, self.https()),
            None => BridgeLink::NoAnswer {
                https: self.https(),
            },
        }
    }

    fn https(&self) -> bool {
        self.base.starts_with("https://")
    }

    /// Asked before a start: `Accepted` when the bridge answers and accepts
    /// the pairing token; `Refused` when it answers no (nothing will be
    /// sent); `Unreachable` when it does not answer at all.
    pub async fn probe(&self) -> Reply {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        let sent = self.send(self.get("/health").abort_signal(signal.as_ref()));
        match answer(sent.await).await {
            Some((status, body)) => edge::probe_reply(status, &body),
            None => Reply::Unreachable,
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
        match answer(send(sent, self.space).await).await {
            Some((status, body)) => edge::start_reply(status, &body, reference),
            None => Reply::Unreachable,
        }
    }

    /// `GET /v1/payments/{reference}`.
    pub async fn status(&self, reference: &PaymentRef) -> Reply {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        let path = format!("/payments/{reference}");
        let sent = self.send(self.get(&path).abort_signal(signal.as_ref()));
        match answer(sent.await).await {
            Some((status, body)) => edge::status_reply(status, &body, reference),
            None => Reply::Unreachable,
        }
    }

    /// `POST /v1/payments/{reference}/cancel`: cancelled, never received,
    /// or (409) the real status.
    pub async fn cancel(&self, reference: &PaymentRef) -> Reply {
        let (signal, _t) = deadline(BRIDGE_TIMEOUT_MS);
        let path = format!("/payments/{reference}/cancel");
        let sent = self.send(self.post(&path).abort_signal(signal.as_ref()));
        match answer(sent.await).await {
            Some((status, body)) => edge::cancel_reply(status, &body, reference),
            None => Reply::Unreachable,
        }
    }
}
