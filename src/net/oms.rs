//! The OMS client: what the register asks the back office, answered in
//! till-core's terms ([`NetFailure`], a sentence for the cashier). It
//! fetches and parses; what to do with an answer is the register's, and
//! storing a downloaded catalog is [`crate::catalog`]'s.

use super::{deadline, OMS_TIMEOUT_MS};
use gloo_net::http::{Request, RequestBuilder, Response};
use till_core::api::{
    ApiError, BatchRequest, BatchResponse, BatchResult, CatalogPage, OrderList, OrderLookup,
    CATALOG_PAGE_SIZE,
};
use till_core::order::{BusinessDate, Order, OrderId, OrderNumber};
use till_core::refund::Refund;
use till_core::staff::StaffMember;
use till_core::sync::NetFailure;

/// Sends with the back office's deadline; no answer is `Unreachable`.
async fn send(builder: RequestBuilder) -> Result<Response, NetFailure> {
    let (signal, _t) = deadline(OMS_TIMEOUT_MS);
    builder
        .abort_signal(signal.as_ref())
        .send()
        .await
        .map_err(|_| NetFailure::Unreachable)
}

/// An answer that does not parse.
fn unreadable(e: impl std::fmt::Display) -> NetFailure {
    NetFailure::BadAnswer(e.to_string())
}

#[derive(Debug, Clone)]
pub struct Oms {
    pub base: String,
    pub token: String,
}

impl Oms {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base.trim_end_matches('/'))
    }

    /// `POST /registers:enrol`: a setup link's one-time secret for this
    /// tablet's register id and token (the `token` of `self` is unused).
    /// Two strings each way: read and written by the browser's own JSON,
    /// not serde's, which would add to the first download.
    pub async fn enrol(&self, secret: &str) -> Result<(String, String), NetFailure> {
        let quoted =
            js_sys::JSON::stringify(&secret.into()).map_err(|_| unreadable("the secret"))?;
        let (signal, _t) = deadline(OMS_TIMEOUT_MS);
        let req = Request::post(&self.url("/registers:enrol"))
            .abort_signal(signal.as_ref())
            .header("Content-Type", "application/json")
            .body(format!("{{\"secret\":{}}}", String::from(quoted)))
            .map_err(unreadable)?;
        let r = req.send().await.map_err(|_| NetFailure::Unreachable)?;
        if r.status() != 201 {
            return Err(Self::refused(r).await);
        }
        let body = r.text().await.map_err(unreadable)?;
        let v = js_sys::JSON::parse(&body).map_err(|_| unreadable("the enrolment"))?;
        let field = |k: &str| {
            js_sys::Reflect::get(&v, &k.into())
                .ok()
                .and_then(|s| s.as_string())
        };
        match (field("register"), field("token")) {
            (Some(register), Some(token)) => Ok((register, token)),
            _ => Err(unreadable("the enrolment has no register or token")),
        }
    }

    /// Whether the back office answers (its health endpoint, no token).
    pub async fn health(&self) -> bool {
        matches!(send(Request::get(&self.url("/health"))).await, Ok(r) if r.ok())
    }

    /// `GET /catalog`: one page of the catalog (`None`: `304 Not Modified`,
    /// the catalog in use is the current one).
    pub async fn page(
        &self,
        cursor: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<Option<CatalogPage>, NetFailure> {
        let mut url = self.url(&format!("/catalog?limit={CATALOG_PAGE_SIZE}"));
        if let Some(c) = cursor {
            url.push_str("&cursor=");
            url.push_str(
                &js_sys::encode_uri_component(c)
                    .as_string()
                    .unwrap_or_default(),
            );
        }
        let mut req = Request::get(&url).header("Authorization", &self.auth());
        if let Some(etag) = if_none_match {
            req = req.header("If-None-Match", &format!("\"{etag}\""));
        }
        let r = send(req).await?;
        match r.status() {
            304 => Ok(None),
            200 => r.json::<CatalogPage>().await.map(Some).map_err(unreadable),
            _ => Err(Self::refused(r).await),
        }
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    async fn refused(r: Response) -> NetFailure {
        let status = r.status();
        let message = r
            .json::<ApiError>()
            .await
            .map(|e| e.message)
            .unwrap_or_else(|_| r.status_text());
        NetFailure::Refused { status, message }
    }

    /// `POST /orders:batch`: one result per order, in order, then one per
    /// refund, then one per shift.
    pub async fn send_batch(
        &self,
        orders: &[Order],
        refunds: &[Refund],
        shifts: &[till_core::shift::Shift],
    ) -> Result<Vec<BatchResult>, NetFailure> {
        let (signal, _t) = deadline(OMS_TIMEOUT_MS);
        let req = Request::post(&self.url("/orders:batch"))
            .header("Authorization", &self.auth())
            .abort_signal(signal.as_ref())
            .json(&BatchRequest {
                orders: orders.iter().collect::<Vec<_>>(),
                refunds: refunds.iter().collect::<Vec<_>>(),
                shifts: shifts.iter().collect::<Vec<_>>(),
                // The register keeps no journal yet: none is sent. (An
                // empty list of a type the batch already serializes adds
                // no code to the download.)
                journal: Vec::<&Order>::new(),
            })
            .map_err(unreadable)?;
        let r = req.send().await.map_err(|_| NetFailure::Unreachable)?;
        if r.status() != 200 {
            return Err(Self::refused(r).await);
        }
        let body: BatchResponse = r.json().await.map_err(unreadable)?;
        Ok(body.results)
    }

    /// `GET /orders/{id}`: the order and the payments reported for it;
    /// `None` when the OMS knows neither.
    pub async fn order(&self, id: &OrderId) -> Result<Option<OrderLookup>, NetFailure> {
        let r = send(
            Request::get(&self.url(&format!("/orders/{id}"))).header("Authorization", &self.auth()),
        )
        .await?;
        match r.status() {
            200 => r.json().await.map(Some).map_err(unreadable),
            404 => Ok(None),
            _ => Err(Self::refused(r).await),
        }
    }

    /// `GET /staff`: the store's active staff (a list with one unreadable
    /// person is refused whole: the one stored keeps serving).
    pub async fn staff(&self) -> Result<Vec<StaffMember>, NetFailure> {
        #[derive(serde::Deserialize)]
        struct StaffList {
            staff: Vec<StaffMember>,
        }
        let r =
            send(Request::get(&self.url("/staff")).header("Authorization", &self.auth())).await?;
        if r.status() != 200 {
            return Err(Self::refused(r).await);
        }
        let list: StaffList = r
            .json()
            .await
            .map_err(|e| NetFailure::BadAnswer(format!("the staff list: {e}")))?;
        Ok(list.staff)
    }

    /// `GET /registers/{register}/orders?date=`: the OMS's copy of a
    /// register's day.
    pub async fn day(&self, register: &str, date: BusinessDate) -> Result<OrderList, NetFailure> {
        let url = self.url(&format!("/registers/{register}/orders?date={date}"));
        let r = send(Request::get(&url).header("Authorization", &self.auth())).await?;
        if r.status() != 200 {
            return Err(Self::refused(r).await);
        }
        r.json().await.map_err(unreadable)
    }

    /// The numbers of a register's orders of a day (to align the sequence).
    pub async fn day_numbers(
        &self,
        register: &str,
        date: BusinessDate,
    ) -> Result<Vec<OrderNumber>, NetFailure> {
        let list = self.day(register, date).await?;
        Ok(list.orders.into_iter().map(|s| s.order.number).collect())
    }
}
