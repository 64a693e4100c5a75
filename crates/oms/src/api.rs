//! The handlers of `/api/v1`. Each parses its input into till-core types
//! (which validate themselves), checks who is calling, and hands the work to
//! the store on the blocking pool. Nothing here knows SQL; the store knows
//! nothing of HTTP.

use crate::auth::Caller;
use crate::batch;
use crate::error::{AppError, AppJson};
use crate::faults;
use crate::schema::Schemas;
use crate::store::{DayCursor, HistoryEntry, PaymentWrite, Store, StoreError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;
use till_core::api::{
    BatchRequest, BatchResponse, Health, OrderList, OrderLookup, PaymentReport, ReportedStatus,
    StoredOrder, CATALOG_PAGE_SIZE,
};
use till_core::order::{BusinessDate, Order, OrderId, RegisterId};
use till_core::outbox::BATCH_MAX;
use till_core::refund::{Refund, RefundId};
use till_core::shift::{Shift, ShiftId};

/// The largest catalog page a client may ask for.
const CATALOG_PAGE_MAX: usize = 20_000;

pub use till_http::now;

/// Runs store work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, AppError> {
    crate::with_store(store, f)
        .await
        .map_err(AppError::internal)
}

pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// The store's active staff, for registers to sign people in offline.
#[derive(Serialize)]
struct StaffOut {
    staff: Vec<till_core::staff::StaffMember>,
}

/// The people a register may sign in: the store's active staff.
/// The active staff a register of `of_store` gets
/// ([`crate::store::StaffRow::works_in`]).
pub fn active_staff<S: Store + ?Sized>(
    store: &S,
    of_store: Option<&str>,
) -> Result<Vec<till_core::staff::StaffMember>, StoreError> {
    let rows = store.staff(false)?.into_iter();
    Ok(rows
        .filter(|r| r.works_in(of_store))
        .map(|r| r.member)
        .collect())
}

/// `GET /staff`: the active staff of the register's own store.
pub async fn staff(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    caller.register()?;
    let of_store = match &caller {
        Caller::Register(register, _) => state.stores.store_of(register).map(str::to_owned),
        _ => None,
    };
    let staff = blocking(&state.store, move |s| active_staff(s, of_store.as_deref())).await?;
    let mut response = Json(StaffOut { staff }).into_response();
    // PIN hashes: never kept by a shared cache.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub const OPENAPI: &str = include_str!("../openapi.json");

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

/// The catalog page as sent: products embedded as stored.
#[derive(Serialize)]
struct CatalogPageOut<'a> {
    catalog_version: &'a str,
    currency: &'a str,
    categories: &'a RawValue,
    tax_rates: &'a RawValue,
    products: &'a [Box<RawValue>],
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
    products_total: u64,
}

pub async fn catalog(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<CatalogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    caller.reader()?;
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(CATALOG_PAGE_SIZE);
    if limit == 0 || limit > CATALOG_PAGE_MAX {
        return Err(AppError::invalid(
            "invalid_query",
            format!("limit must be 1 to {CATALOG_PAGE_MAX}"),
        )
        .with_field("limit"));
    }
    let Some(meta) = blocking(&state.store, |s| s.catalog_meta()).await? else {
        return Err(AppError::not_found("no catalog yet"));
    };
    let etag = format!("\"{}\"", meta.version);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let etag_value = HeaderValue::from_str(&etag).map_err(AppError::internal)?;
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
    }
    let cursor = q.cursor;
    let page = blocking(&state.store, move |s| {
        s.catalog_page(cursor.as_deref(), limit)
    })
    .await?
    .ok_or_else(|| AppError::not_found("no catalog yet"))?;
    let body = serde_json::to_vec(&CatalogPageOut {
        catalog_version: &page.meta.version,
        currency: page.meta.currency.code(),
        categories: &page.categories,
        tax_rates: &page.tax_rates,
        products: &page.products,
        next_cursor: page.next_cursor.as_deref(),
        products_total: page.meta.products_total,
    })
    .map_err(AppError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response())
}

/// One record's JSON, naming the field at fault: malformed JSON is 400;
/// then the document's schema (`check`: unknown fields, bounds), then the
/// record's shape, refused as `code`. Its own rules are the caller's.
fn parse_record<T: serde::de::DeserializeOwned>(
    text: &str,
    check: impl FnOnce(&Value) -> Result<(), AppError>,
    code: &'static str,
) -> Result<T, AppError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| AppError::bad_request(format!("malformed JSON: {e}")))?;
    check(&value)?;
    // The record the schema let through nearly always fits its type: read
    // it without tracking paths, and only again, with them, to name the
    // field of one that does not.
    if let Ok(record) = T::deserialize(&value) {
        return Ok(record);
    }
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let field = e.path().to_string();
        AppError::invalid(code, format!("{field}: {}", e.inner())).with_field(field)
    })
}

/// Parses one order, naming the field at fault, against the document's
/// schema (unknown fields, bounds); [`batch::check_order`] then applies
/// till-core's rules.
fn parse_order(schemas: &Schemas, json: &str) -> Result<Order, AppError> {
    parse_record(json, |v| schemas.check_order(v), "invalid_order")
}

pub async fn put_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<StoredOrder>, AppError> {
    caller.writer()?;
    let id: OrderId = parse_id(&id)?;
    let text =
        std::str::from_utf8(&body).map_err(|_| AppError::bad_request("the body is not UTF-8"))?;
    let order = parse_order(&state.schemas, text)?;
    batch::validate_order(&order)?;
    if order.id != id {
        return Err(AppError::invalid(
            "invalid_order",
            format!("the body is order {}, the path says {id}", order.id),
        )
        .with_field("id"));
    }
    let writer = caller.writer()?;
    batch::check_writer(&order, &writer)?;
    let now = now();
    let mut results = blocking(&state.store, move |s| {
        s.upsert_orders(std::slice::from_ref(&order), &writer, now)
    })
    .await?;
    if state
        .faults
        .as_ref()
        .is_some_and(|f| f.take_drop_after_commit())
    {
        faults::drop_connection();
    }
    Ok(Json(batch::upsert_answer(results.remove(0))?))
}

#[derive(Deserialize)]
struct IdOnly {
    id: Option<String>,
}

/// What the document says of a batch as a whole: at most 500 items, each a
/// JSON object. An item that is an object is then judged alone.
fn check_batch_shape(batch: &RawBatch) -> Result<(), AppError> {
    let items = batch.orders.len() + batch.refunds.len() + batch.shifts.len() + batch.journal.len();
    if items > BATCH_MAX {
        return Err(AppError::invalid(
            "batch_too_large",
            format!("at most {BATCH_MAX} orders, refunds, shifts and journal entries per batch"),
        )
        .with_field("orders"));
    }
    let all = [
        ("orders", &batch.orders),
        ("refunds", &batch.refunds),
        ("shifts", &batch.shifts),
        ("journal", &batch.journal),
    ];
    for (name, items) in all {
        if let Some(i) = items.iter().position(|raw| !raw.get().starts_with('{')) {
            return Err(AppError::invalid(
                "invalid_batch",
                format!("{name}[{i}] is not a JSON object; each item of a batch is one record"),
            )
            .with_field(format!("{name}[{i}]")));
        }
    }
    Ok(())
}

type RawBatch = BatchRequest<Box<RawValue>, Box<RawValue>, Box<RawValue>, Box<RawValue>>;

fn parse_shift(schemas: &Schemas, text: &str) -> Result<Shift, AppError> {
    parse_record(text, |v| schemas.check_shift(v), "invalid_shift")
}

/// A shift as stored: its float, cash movements and, once closed, its
/// count and Z report. A register reads its own; the back office all.
pub async fn get_shift(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Shift>, AppError> {
    caller.reader()?;
    let id: ShiftId = parse_id(&id)?;
    let found = blocking(&state.store, move |s| s.shift(&id)).await?;
    let shift = found.ok_or_else(|| AppError::not_found(format!("no shift {id}")))?;
    caller.may_read(&shift.register)?;
    Ok(Json(shift))
}

/// The id a batch's record gives, read even when the record is refused.
fn raw_id(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<IdOnly>(raw.get())
        .ok()
        .and_then(|x| x.id)
}

/// A batch's records parsed one by one; one that cannot be parsed is
/// refused on its own.
fn parse_batch(schemas: &Schemas, raw: &RawBatch) -> batch::Batch {
    fn each<T>(
        items: &[Box<RawValue>],
        parse: impl Fn(&str) -> Result<T, AppError>,
    ) -> Vec<batch::Item<T>> {
        items
            .iter()
            .map(|raw| {
                parse(raw.get()).map_err(|error| batch::Refused {
                    id: raw_id(raw),
                    error,
                })
            })
            .collect()
    }
    batch::Batch {
        orders: each(&raw.orders, |t| parse_order(schemas, t)),
        refunds: each(&raw.refunds, |t| parse_refund(schemas, t)),
        shifts: each(&raw.shifts, |t| parse_shift(schemas, t)),
        journal: raw
            .journal
            .iter()
            .map(|raw| parse_entry(raw.get()))
            .collect(),
    }
}

/// A journal entry of a batch, refused alone when it does not parse (its
/// id, `R1/12`, read when it can be).
fn parse_entry(text: &str) -> batch::Item<till_core::journal::Entry> {
    #[derive(serde::Deserialize)]
    struct Where {
        register: Option<String>,
        seq: Option<u64>,
    }
    serde_json::from_str(text).map_err(|e| {
        let id = serde_json::from_str::<Where>(text)
            .ok()
            .and_then(|w| Some(format!("{}/{}", w.register?, w.seq?)));
        batch::Refused {
            id,
            error: AppError::invalid("invalid_journal_entry", format!("a journal entry: {e}")),
        }
    })
}

/// `POST /orders:batch`: the records parsed here, answered by
/// [`batch::answer_orders`] and [`batch::answer_rest`] (which the
/// simulator runs too).
pub async fn post_batch(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(raw): AppJson<RawBatch>,
) -> Result<Json<BatchResponse>, AppError> {
    let writer = caller.writer()?;
    check_batch_shape(&raw)?;
    let batch::Batch {
        orders,
        refunds,
        shifts,
        journal,
    } = parse_batch(&state.schemas, &raw);
    let now = now();
    let w = writer.clone();
    let mut results = blocking(&state.store, move |s| {
        Ok(batch::answer_orders(s, &w, orders, now))
    })
    .await??;
    if state
        .faults
        .as_ref()
        .is_some_and(|f| f.take_drop_after_commit())
    {
        faults::drop_connection();
    }
    let stores = state.stores.clone();
    let journal_writer = writer.clone();
    let rest = blocking(&state.store, move |s| {
        Ok(batch::answer_rest(
            s, &stores, &writer, refunds, shifts, now,
        ))
    })
    .await?;
    results.extend(rest);
    let entries = blocking(&state.store, move |s| {
        Ok(crate::journal::answer_journal(
            s,
            &journal_writer,
            journal,
            now,
        ))
    })
    .await?;
    results.extend(entries);
    Ok(Json(BatchResponse { results }))
}

/// An order and its payments. A register reads only its own orders; an
/// order id the OMS holds no order for answers with the payments reported
/// for it (reconciliation asks before the order has synced; the id is a
/// random UUID only its register knows).
pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderLookup>, AppError> {
    caller.reader()?;
    let id = parse_id(&id)?;
    let found = blocking(&state.store, move |s| s.order(&id)).await?;
    if let Some(order) = &found.order {
        caller.may_read(order.register())?;
    }
    if found.order.is_none() && found.payments.is_empty() {
        return Err(AppError::not_found(format!(
            "no order {id} and no payment for it"
        )));
    }
    Ok(Json(found))
}

/// An id from the request's path (an order's, a refund's, a shift's).
fn parse_id<T: std::str::FromStr<Err = till_core::ids::IdError>>(id: &str) -> Result<T, AppError> {
    id.parse().map_err(|e: till_core::ids::IdError| {
        AppError::invalid("invalid_id", e.to_string()).with_field("id")
    })
}

/// Every version of an order the OMS stored, with who wrote it: the audit
/// trail (back-office token only).
pub async fn order_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderHistory>, AppError> {
    caller.back_office()?;
    let id = parse_id(&id)?;
    let versions = blocking(&state.store, move |s| s.order_history(&id)).await?;
    if versions.is_empty() {
        return Err(AppError::not_found(format!("no order {id}")));
    }
    Ok(Json(OrderHistory {
        order_id: id,
        versions,
    }))
}

#[derive(Serialize)]
pub struct OrderHistory {
    order_id: OrderId,
    versions: Vec<HistoryEntry>,
}

/// A page of a day: `?date=&after=&limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayPage {
    date: String,
    after: Option<String>,
    limit: Option<usize>,
}

/// The most orders one page of a day holds, and a store's page unless
/// asked for fewer. A register's day comes whole unless a limit is given.
pub const DAY_PAGE_MAX: usize = 1_000;
pub const STORE_DAY_PAGE: usize = 500;

fn query_error(field: &str, message: impl Into<String>) -> AppError {
    AppError::invalid("invalid_query", message).with_field(field)
}

/// `GET /registers/{register}/orders`: a register's day, for that register
/// or the back office.
pub async fn register_day(
    State(state): State<AppState>,
    caller: Caller,
    Path(register): Path<String>,
    query: Result<Query<DayPage>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OrderList>, AppError> {
    caller.reader()?;
    let register = RegisterId::new(register.as_str())
        .map_err(|e| AppError::invalid("invalid_register", e.to_string()).with_field("register"))?;
    caller.may_read(&register)?;
    let Query(page) = query?;
    day_orders(&state, vec![register], page, usize::MAX - 1).await
}

/// `GET /stores/{store}/orders`: a store's day across its registers, for
/// the back office.
pub async fn store_day(
    State(state): State<AppState>,
    caller: Caller,
    Path(store): Path<String>,
    query: Result<Query<DayPage>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OrderList>, AppError> {
    caller.reader()?;
    caller.back_office()?;
    let registers = state.stores.registers(&store).ok_or_else(|| {
        AppError::not_found(format!("no store {store:?} is configured on this OMS"))
    })?;
    let registers = registers.to_vec();
    let Query(page) = query?;
    day_orders(&state, registers, page, STORE_DAY_PAGE).await
}

/// One page of these registers' day; `unasked` orders when the page names
/// no limit.
async fn day_orders(
    state: &AppState,
    registers: Vec<RegisterId>,
    page: DayPage,
    unasked: usize,
) -> Result<Json<OrderList>, AppError> {
    let date: BusinessDate = page
        .date
        .parse()
        .map_err(|e: till_core::order::OrderError| query_error("date", e.to_string()))?;
    let after: Option<DayCursor> = match &page.after {
        Some(a) => Some(a.parse().map_err(|e: String| query_error("after", e))?),
        None => None,
    };
    let limit = match page.limit {
        Some(n) if n == 0 || n > DAY_PAGE_MAX => {
            return Err(query_error(
                "limit",
                format!("a page holds 1 to {DAY_PAGE_MAX} orders"),
            ))
        }
        Some(n) => n,
        None => unasked,
    };
    let mut orders = blocking(&state.store, move |s| {
        s.orders_of_day(&registers, date, after.as_ref(), limit + 1)
    })
    .await?;
    let next_cursor = (orders.len() > limit).then(|| {
        orders.truncate(limit);
        orders
            .last()
            .map(|o| DayCursor::after(&o.order).to_string())
    });
    Ok(Json(OrderList {
        orders,
        next_cursor: next_cursor.flatten(),
    }))
}

pub async fn post_payment(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<PaymentReport>, AppError> {
    caller.bridge()?;
    let text =
        std::str::from_utf8(&body).map_err(|_| AppError::bad_request("the body is not UTF-8"))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| AppError::bad_request(format!("malformed JSON: {e}")))?;
    state.schemas.check_payment(&value)?;
    let report: PaymentReport = serde_path_to_error::deserialize(&value).map_err(|e| {
        let field = e.path().to_string();
        AppError::invalid("invalid_payment", format!("{field}: {}", e.inner())).with_field(field)
    })?;
    report
        .card
        .validate()
        .map_err(|e| AppError::invalid("invalid_payment", e.to_string()).with_field(e.field))?;
    if report.amount.is_negative() || report.amount.is_zero() {
        return Err(
            AppError::invalid("invalid_payment", "amount must be more than zero")
                .with_field("amount"),
        );
    }
    if (report.status == ReportedStatus::Refunded) != report.original.is_some() {
        return Err(AppError::invalid(
            "invalid_payment",
            "a refund names its original payment, and only a refund does",
        )
        .with_field("original"));
    }
    let now = now();
    let r = report.clone();
    match blocking(&state.store, move |s| s.record_payment(&r, now)).await? {
        PaymentWrite::Created | PaymentWrite::Unchanged => Ok(Json(report)),
        PaymentWrite::Conflict(_) => Err(AppError::conflict(format!(
            "payment {} is already recorded with different details",
            report.reference
        ))),
    }
}

/// Parses one refund, naming the field at fault: the document's schema,
/// then the shape of its numbers (the rest is checked against its order).
fn parse_refund(schemas: &Schemas, text: &str) -> Result<Refund, AppError> {
    parse_record(text, |v| schemas.check_refund(v), "invalid_refund")
}

pub async fn put_refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Refund>, AppError> {
    caller.writer()?;
    let id: RefundId = parse_id(&id)?;
    let text =
        std::str::from_utf8(&body).map_err(|_| AppError::bad_request("the body is not UTF-8"))?;
    let sent: Option<IdOnly> = serde_json::from_str(text).ok();
    if let Some(other) = sent.and_then(|s| s.id).filter(|s| *s != id.to_string()) {
        return Err(AppError::invalid(
            "invalid_refund",
            format!("the body is refund {other}, the path says {id}"),
        )
        .with_field("id"));
    }
    let writer = caller.writer()?;
    let refund = parse_refund(&state.schemas, text)?;
    let (stores, now) = (state.stores.clone(), now());
    let stored = blocking(&state.store, move |s| {
        Ok(batch::store_refund(s, &stores, &writer, &refund, now))
    })
    .await??;
    Ok(Json(stored))
}

pub async fn api_not_found() -> AppError {
    AppError::not_found("no such API route")
}

pub async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
