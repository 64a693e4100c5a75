//! The OMS client: what the register asks the back office. The register's
//! own calls answer in till-core's terms ([`NetFailure`]); the pages' calls
//! (the catalog, a day's orders) in [`NetError`], a sentence for the cashier.

use super::{deadline, OMS_TIMEOUT_MS};
use crate::store::repo::CatalogMeta;
use crate::store::{Db, StoreError};
use gloo_net::http::{Request, RequestBuilder, Response};
use till_core::api::{
    ApiError, BatchRequest, BatchResponse, BatchResult, CatalogPage, OrderList, OrderLookup,
    CATALOG_PAGE_SIZE,
};
use till_core::catalog::Catalog;
use till_core::download::{CatalogDownload, DownloadError};
use till_core::order::{BusinessDate, Order, OrderId, OrderNumber};
use till_core::refund::Refund;
use till_core::staff::StaffMember;
use till_core::sync::NetFailure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// No answer: offline, the server is down, or the request timed out.
    Unreachable(String),
    /// The server answered with an error.
    Refused {
        status: u16,
        message: String,
    },
    /// The answer does not parse.
    BadAnswer(String),
    /// A downloaded catalog failed its checks; the one in use stays.
    CatalogRefused(DownloadError),
    Store(StoreError),
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Unreachable(_) => f.write_str("The back office cannot be reached."),
            NetError::Refused { status: 401, .. } => {
                f.write_str("The back office refused the register token: check Settings.")
            }
            NetError::Refused { status, message } => {
                write!(f, "The back office answered {status}: {message}")
            }
            NetError::BadAnswer(e) => write!(f, "The back office's answer could not be read: {e}"),
            NetError::CatalogRefused(e) => write!(
                f,
                "The back office's new catalog was not taken ({e}). The register sells from the catalog it has and asks again at the next sync."
            ),
            NetError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for NetError {
    fn from(e: StoreError) -> NetError {
        NetError::Store(e)
    }
}

impl From<NetError> for NetFailure {
    fn from(e: NetError) -> NetFailure {
        match e {
            NetError::Unreachable(_) => NetFailure::Unreachable,
            NetError::Refused { status, message } => NetFailure::Refused { status, message },
            NetError::BadAnswer(m) => NetFailure::BadAnswer(m),
            NetError::CatalogRefused(e) => NetFailure::BadAnswer(e.to_string()),
            NetError::Store(e) => NetFailure::BadAnswer(e.to_string()),
        }
    }
}

/// Sends with the back office's deadline; no answer is `Unreachable`.
async fn send(builder: RequestBuilder) -> Result<Response, NetError> {
    let (signal, _t) = deadline(OMS_TIMEOUT_MS);
    builder
        .abort_signal(signal.as_ref())
        .send()
        .await
        .map_err(|e| NetError::Unreachable(e.to_string()))
}

#[derive(Debug, Clone)]
pub struct Oms {
    pub base: String,
    pub token: String,
}

/// The outcome of a catalog sync.
#[derive(Debug)]
pub enum CatalogSync {
    Unchanged,
    /// The new catalog, checked and swapped in: shown as it is, not read
    /// back from IndexedDB and checked again.
    Downloaded(Box<(CatalogMeta, Catalog)>),
}

impl Oms {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base.trim_end_matches('/'))
    }

    /// Whether the back office answers (its health endpoint, no token).
    pub async fn health(&self) -> bool {
        matches!(send(Request::get(&self.url("/health"))).await, Ok(r) if r.ok())
    }

    async fn page(
        &self,
        cursor: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<Option<CatalogPage>, NetError> {
        let mut url = self.url(&format!("/catalog?limit={CATALOG_PAGE_SIZE}"));
        if let Some(c) = cursor {
            url.push_str("&cursor=");
            url.push_str(
                &js_sys::encode_uri_component(c)
                    .as_string()
                    .unwrap_or_default(),
            );
        }
        let mut req = Request::get(&url).header("Authorization", &format!("Bearer {}", self.token));
        if let Some(etag) = if_none_match {
            req = req.header("If-None-Match", &format!("\"{etag}\""));
        }
        let r = send(req).await?;
        match r.status() {
            304 => Ok(None),
            200 => r
                .json::<CatalogPage>()
                .await
                .map(Some)
                .map_err(|e| NetError::BadAnswer(e.to_string())),
            status => {
                let message = r
                    .json::<ApiError>()
                    .await
                    .map(|e| e.message)
                    .unwrap_or_else(|_| r.status_text());
                Err(NetError::Refused { status, message })
            }
        }
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    async fn refused(r: Response) -> NetError {
        let status = r.status();
        let message = r
            .json::<ApiError>()
            .await
            .map(|e| e.message)
            .unwrap_or_else(|_| r.status_text());
        NetError::Refused { status, message }
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
            })
            .map_err(|e| NetFailure::BadAnswer(e.to_string()))?;
        let r = req.send().await.map_err(|_| NetFailure::Unreachable)?;
        if r.status() != 200 {
            return Err(Self::refused(r).await.into());
        }
        let body: BatchResponse = r
            .json()
            .await
            .map_err(|e| NetFailure::BadAnswer(e.to_string()))?;
        Ok(body.results)
    }

    /// `GET /orders/{id}`: the order and the payments reported for it;
    /// `None` when the OMS knows neither.
    pub async fn order(&self, id: &OrderId) -> Result<Option<OrderLookup>, NetError> {
        let r = send(
            Request::get(&self.url(&format!("/orders/{id}"))).header("Authorization", &self.auth()),
        )
        .await?;
        match r.status() {
            200 => r
                .json()
                .await
                .map(Some)
                .map_err(|e| NetError::BadAnswer(e.to_string())),
            404 => Ok(None),
            _ => Err(Self::refused(r).await),
        }
    }

    /// `GET /staff`: the store's active staff (a list with one unreadable
    /// person is refused whole: the one stored keeps serving).
    pub async fn staff(&self) -> Result<Vec<StaffMember>, NetError> {
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
            .map_err(|e| NetError::BadAnswer(format!("the staff list: {e}")))?;
        Ok(list.staff)
    }

    /// `GET /orders?register=&date=`: the OMS's copy of a register's day.
    pub async fn day(&self, register: &str, date: BusinessDate) -> Result<OrderList, NetError> {
        let url = self.url(&format!("/orders?register={register}&date={date}"));
        let r = send(Request::get(&url).header("Authorization", &self.auth())).await?;
        if r.status() != 200 {
            return Err(Self::refused(r).await);
        }
        r.json()
            .await
            .map_err(|e| NetError::BadAnswer(e.to_string()))
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

    /// Downloads the catalog when it changed, page by page into the product
    /// store not in use (each page one transaction), `progress(done, total)`
    /// after each. The whole is checked (till-core's [`CatalogDownload`])
    /// and only then swapped in and its version remembered: an interrupted
    /// or refused download leaves the catalog in use as it was.
    pub async fn sync_catalog(
        &self,
        db: &Db,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<CatalogSync, NetError> {
        let known = db.catalog_meta().await?.map(|m| m.version);
        let Some(mut page) = self.page(None, known.as_deref()).await? else {
            return Ok(CatalogSync::Unchanged);
        };
        let mut download = CatalogDownload::start(&page).map_err(NetError::CatalogRefused)?;
        let staging = db.stage_catalog().await?;
        let mut number = 0;
        loop {
            download.add(&page).map_err(NetError::CatalogRefused)?;
            // The next page is fetched while this one is stored.
            let cursor = page.next_cursor.take();
            let next = async {
                match &cursor {
                    Some(c) => self.page(Some(c), None).await.map(Some),
                    None => Ok(None),
                }
            };
            let stage = db.stage_products(staging, number, &page.products);
            number += 1;
            let (staged, next) = futures_util::future::join(stage, next).await;
            staged?;
            let (done, total) = download.progress();
            progress(done, total);
            let Some(next) = next? else {
                break;
            };
            page = next.ok_or_else(|| NetError::BadAnswer("304 for a later page".into()))?;
        }
        let done = download.finish().map_err(NetError::CatalogRefused)?;
        let meta = CatalogMeta {
            version: done.version,
            currency: done.currency,
            categories: done.categories,
            tax_rates: done.tax_rates,
            products_total: done.products_total,
            store: staging.into(),
            paged: true,
            text_pages: true,
        };
        db.activate_catalog(&meta).await?;
        Ok(CatalogSync::Downloaded(Box::new((meta, done.catalog))))
    }
}
