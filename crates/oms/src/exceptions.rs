//! The exceptions report: the records of a day a register sent that the
//! back office cannot bear out ([`till_core::audit`]): a sale by someone
//! unknown or disabled, an approval by someone who is not a manager, a
//! void, refund or no-sale by a cashier with no approval, a Z report whose
//! cash figures the records naming its shift do not give, a card payment
//! no terminal report confirms, a card refund no refund record gives, a
//! return without a receipt priced away from the catalog, a journal entry
//! refused (received that day, UTC) or a record held otherwise than its
//! journal entry pinned it. Each
//! record is stored all the same (an offline register's records must
//! land); the report is read by `GET /api/v1/exceptions` (back-office
//! token) and `till-oms exceptions`.
//!
//! A day is a business date: its orders and refunds, and the shifts they
//! name or that opened on that date (UTC).

use crate::api::blocking;
use crate::auth::Caller;
use crate::error::AppError;
use crate::store::{Store, StoreError};
use crate::stores::Stores;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use till_core::audit::{
    audit_card_reports, audit_close, audit_journal_record, audit_order, audit_refund,
    audit_return_prices, audit_shift, journal_break, Exception,
};
use till_core::order::{BusinessDate, RegisterId};
use till_core::shift::Shift;
use till_core::time::Duration;

/// `?date=&store=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionsQuery {
    date: String,
    store: Option<String>,
}

/// How many records of the day were checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    pub orders: usize,
    pub refunds: usize,
    pub shifts: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionReport {
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    pub checked: Checked,
    pub exceptions: Vec<Exception>,
}

/// Checks these registers' records of `date` against the staff list,
/// each person judged for the store its register is in (`stores`).
pub fn exceptions_of_day(
    store: &dyn Store,
    stores: &Stores,
    registers: &[RegisterId],
    date: BusinessDate,
) -> Result<(Checked, Vec<Exception>), StoreError> {
    let staff = store.staff_standing()?;
    let orders = store.orders_of_day(registers, date, None, usize::MAX - 1)?;
    let refunds = store.refunds_of_day(registers, date)?;
    let shifts = shifts_of_day(store, registers, date, &orders, &refunds)?;
    let of = |register: &RegisterId| stores.store_of(register);
    let mut found = Vec::new();
    for o in &orders {
        found.extend(audit_order(&o.order, &staff, of(o.order.register())));
        found.extend(audit_card_reports(o));
    }
    for r in &refunds {
        found.extend(audit_refund(r, &staff, of(r.number.register())));
        found.extend(return_prices(store, r)?);
    }
    for s in &shifts {
        found.extend(audit_shift(s, &staff, of(&s.register)));
        if s.close.is_some() {
            let (orders, refunds) = store.records_of_shift(&s.id)?;
            found.extend(audit_close(s, &orders, &refunds));
        }
    }
    found.extend(journal_findings(store, registers, date)?);
    found.sort_by_key(|e| e.at);
    let checked = Checked {
        orders: orders.len(),
        refunds: refunds.len(),
        shifts: shifts.len(),
    };
    Ok((checked, found))
}

/// A return without a receipt's items against the catalog in force.
fn return_prices(
    store: &dyn Store,
    refund: &till_core::refund::Refund,
) -> Result<Vec<Exception>, StoreError> {
    if refund.order_id.is_some() {
        return Ok(Vec::new());
    }
    let mut prices = std::collections::BTreeMap::new();
    for item in &refund.items {
        let price = store.product(&item.product_id)?.map(|p| p.price);
        prices.insert(item.product_id.clone(), price);
    }
    Ok(audit_return_prices(refund, |id| {
        prices.get(id).copied().flatten()
    }))
}

/// The journal's part of a day (UTC): the entries refused that day, and
/// each entry of the day whose record the back office holds at another
/// digest than the entry pinned.
fn journal_findings(
    store: &dyn Store,
    registers: &[RegisterId],
    date: BusinessDate,
) -> Result<Vec<Exception>, StoreError> {
    let from = date.midnight_utc();
    let to = from + Duration::from_secs(86_400);
    let mut found = Vec::new();
    for r in store.journal_refusals(from, to)? {
        if registers.contains(&r.register) {
            found.push(journal_break(
                &r.register,
                r.at_seq,
                &r.reason,
                r.received_at,
            ));
        }
    }
    for entry in store.journal_between(registers, from, to)? {
        let Some(pinned) = &entry.record else {
            continue;
        };
        let held = crate::journal::held_digest(store, pinned)?;
        found.extend(audit_journal_record(&entry, held.as_deref()));
    }
    Ok(found)
}

/// The shifts the day's records name, and those opened on its date (UTC).
fn shifts_of_day(
    store: &dyn Store,
    registers: &[RegisterId],
    date: BusinessDate,
    orders: &[till_core::api::StoredOrder],
    refunds: &[till_core::refund::Refund],
) -> Result<Vec<Shift>, StoreError> {
    let from = date.midnight_utc();
    let mut shifts = store.shifts_opened(registers, from, from + Duration::from_secs(86_400))?;
    let seen: BTreeSet<_> = shifts.iter().map(|s| s.id).collect();
    let named: BTreeSet<_> = orders
        .iter()
        .filter_map(|o| o.order.shift)
        .chain(refunds.iter().filter_map(|r| r.shift))
        .filter(|id| !seen.contains(id))
        .collect();
    for id in named {
        shifts.extend(store.shift(&id)?);
    }
    Ok(shifts)
}

/// `GET /exceptions?date=&store=`: a day's exceptions, of a store's
/// registers or (without `store`) of every register, for the back office.
pub async fn get_exceptions(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ExceptionsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ExceptionReport>, AppError> {
    caller.reader()?;
    caller.back_office()?;
    let Query(q) = query?;
    let date: BusinessDate = q.date.parse().map_err(|e: till_core::order::OrderError| {
        AppError::invalid("invalid_query", e.to_string()).with_field("date")
    })?;
    let registers = match &q.store {
        Some(s) => state
            .stores
            .registers(s)
            .ok_or_else(|| {
                AppError::not_found(format!("no store {s:?} is configured on this OMS"))
            })?
            .to_vec(),
        None => blocking(&state.store, all_registers).await?,
    };
    let stores = state.stores.clone();
    let (checked, exceptions) = blocking(&state.store, move |s| {
        exceptions_of_day(s, &stores, &registers, date)
    })
    .await?;
    Ok(Json(ExceptionReport {
        date: date.to_string(),
        store: q.store,
        checked,
        exceptions,
    }))
}

/// Every register the back office has heard of.
pub fn all_registers(store: &dyn Store) -> Result<Vec<RegisterId>, StoreError> {
    let mut all = store.known_registers()?;
    for r in store.journal_registers()? {
        if !all.contains(&r) {
            all.push(r);
        }
    }
    Ok(all)
}
