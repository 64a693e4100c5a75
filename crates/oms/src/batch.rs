//! `POST /api/v1/orders:batch`, decided in one place. The axum handler
//! parses the body's records and calls [`answer_orders`] and [`answer_rest`];
//! the whole-system simulator calls [`answer`] with the records its
//! registers send. So the batch's rules (each record judged alone, orders in
//! one transaction, refunds after the orders they name, the version rule,
//! whose register may write what) are the same code under both, and a bug in
//! them is a bug the simulator can find.
//!
//! The single-record routes (`PUT /orders/{id}`, `PUT /refunds/{id}`) use
//! the same checks and answers.

use crate::auth::Writer;
use crate::error::AppError;
use crate::store::{RefundOutcome, RefundResult, Store, Upsert, UpsertResult};
use crate::stores::Stores;
use axum::http::StatusCode;
use till_core::api::{BatchResult, StoredOrder, ORDER_NOT_SYNCED_CODE};
use till_core::journal::Entry;
use till_core::order::{Order, RegisterId};
use till_core::refund::{Refund, RefundError};
use till_core::shift::{Shift, ShiftError};
use till_core::time::Timestamp;

/// One record of a batch: parsed, or refused on its own with its answer
/// (and the id it gave, if any could be read).
pub type Item<T> = Result<T, Refused>;

/// A record refused before anything was stored.
#[derive(Debug)]
pub struct Refused {
    pub id: Option<String>,
    pub error: AppError,
}

/// A batch's records, in the order they came.
#[derive(Debug, Default)]
pub struct Batch {
    pub orders: Vec<Item<Order>>,
    pub refunds: Vec<Item<Refund>>,
    pub shifts: Vec<Item<Shift>>,
    pub journal: Vec<Item<Entry>>,
}

/// Answers a whole batch: one result per record, orders first, then
/// refunds, then shifts, then the journal's entries. `Err` only when the store fails the orders'
/// transaction (the batch is then answered 500 as a whole).
pub fn answer(
    store: &dyn Store,
    stores: &Stores,
    writer: &Writer,
    batch: Batch,
    now: Timestamp,
) -> Result<Vec<BatchResult>, AppError> {
    let mut results = answer_orders(store, writer, batch.orders, now)?;
    results.extend(answer_rest(
        store,
        stores,
        writer,
        batch.refunds,
        batch.shifts,
        now,
    ));
    results.extend(crate::journal::answer_journal(
        store,
        writer,
        batch.journal,
        now,
    ));
    Ok(results)
}

/// The orders of a batch: each checked alone, the good ones upserted in
/// one transaction.
pub fn answer_orders(
    store: &dyn Store,
    writer: &Writer,
    orders: Vec<Item<Order>>,
    now: Timestamp,
) -> Result<Vec<BatchResult>, AppError> {
    let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(orders.len());
    let (mut good, mut positions) = (Vec::new(), Vec::new());
    for (i, item) in orders.into_iter().enumerate() {
        let checked = item.and_then(|o| match check_order(&o, writer) {
            Ok(()) => Ok(o),
            Err(error) => Err(Refused {
                id: Some(o.id.to_string()),
                error,
            }),
        });
        match checked {
            Ok(order) => {
                positions.push(i);
                good.push(order);
                results.push(None);
            }
            Err(refused) => results.push(Some(item_result(refused.id, Err(refused.error)))),
        }
    }
    let stored = store
        .upsert_orders(&good, writer, now)
        .map_err(AppError::internal)?;
    for (pos, r) in positions.into_iter().zip(stored) {
        let id = Some(r.stored.order.id.to_string());
        let version = Some(r.stored.order.version);
        let mut result = item_result(id, upsert_answer(r).map(|o| o.order.version));
        result.version = version;
        results[pos] = Some(result);
    }
    Ok(results.into_iter().flatten().collect())
}

/// The refunds and shifts of a batch, after its orders (a refund's order
/// may be in the same batch): each stored alone.
pub fn answer_rest(
    store: &dyn Store,
    stores: &Stores,
    writer: &Writer,
    refunds: Vec<Item<Refund>>,
    shifts: Vec<Item<Shift>>,
    now: Timestamp,
) -> Vec<BatchResult> {
    let refunds = refunds.into_iter().map(|item| match item {
        Ok(r) => {
            let id = Some(r.id.to_string());
            item_result(
                id,
                store_refund(store, stores, writer, &r, now).map(|r| r.version),
            )
        }
        Err(refused) => item_result(refused.id, Err(refused.error)),
    });
    let refunds: Vec<BatchResult> = refunds.collect();
    let shifts = shifts.into_iter().map(|item| match item {
        Ok(s) => {
            let id = Some(s.id.to_string());
            item_result(id, store_shift(store, writer, &s, now).map(|s| s.version))
        }
        Err(refused) => item_result(refused.id, Err(refused.error)),
    });
    refunds.into_iter().chain(shifts).collect()
}

/// One record's result: stored at a version, or its error.
fn item_result(id: Option<String>, stored: Result<u32, AppError>) -> BatchResult {
    match stored {
        Ok(version) => BatchResult {
            id,
            status: 200,
            version: Some(version),
            error: None,
        },
        Err(e) => BatchResult {
            id,
            status: e.status.as_u16(),
            version: None,
            error: Some(e.body),
        },
    }
}

/// An order as the back office takes it: valid by till-core's rules, and
/// the writing register's own.
pub fn check_order(order: &Order, writer: &Writer) -> Result<(), AppError> {
    validate_order(order)?;
    check_writer(order, writer)
}

/// An order by till-core's rules, naming the field at fault.
pub fn validate_order(order: &Order) -> Result<(), AppError> {
    order.validate().map_err(|e| {
        let err = AppError::invalid("invalid_order", e.to_string());
        match e.field() {
            Some(f) => err.with_field(f),
            None => err,
        }
    })
}

/// Only the order's own register writes it.
pub fn check_writer(order: &Order, writer: &Writer) -> Result<(), AppError> {
    if &writer.register != order.register() {
        return Err(AppError::forbidden(format!(
            "this token belongs to register {}; order {} is register {}'s",
            writer.register,
            order.number,
            order.register()
        )));
    }
    Ok(())
}

/// How an order's upsert is answered, by the version rule.
pub fn upsert_answer(result: UpsertResult) -> Result<StoredOrder, AppError> {
    match result.outcome {
        Upsert::Conflict => Err(AppError::conflict(format!(
            "order {} version {} is already stored with different content; send a new version",
            result.stored.order.id, result.stored.order.version
        ))),
        Upsert::OtherRegister => Err(AppError::forbidden(format!(
            "order {} belongs to register {}; nothing was changed",
            result.stored.order.id,
            result.stored.order.register()
        ))),
        _ => Ok(result.stored),
    }
}

/// A shift from a register: its own register's only, stored by the
/// orders' version rule.
pub fn store_shift(
    store: &dyn Store,
    writer: &Writer,
    shift: &Shift,
    now: Timestamp,
) -> Result<Shift, AppError> {
    shift
        .validate()
        .map_err(|e| AppError::invalid("invalid_shift", e.to_string()))?;
    if shift.register != writer.register {
        return Err(AppError::forbidden(format!(
            "this token belongs to register {}; shift {} is register {}'s",
            writer.register, shift.id, shift.register
        )));
    }
    let result = store
        .upsert_shift(shift, writer, now)
        .map_err(AppError::internal)?;
    if let Some(e) = result.refused {
        let code = match e {
            ShiftError::Closed => "shift_closed",
            _ => "shift_rewritten",
        };
        return Err(AppError::new(
            StatusCode::CONFLICT,
            code,
            format!(
                "shift {} version {}: {e}; nothing was changed",
                shift.id, shift.version
            ),
        ));
    }
    match result.outcome {
        Upsert::Conflict => Err(AppError::conflict(format!(
            "shift {} version {} is already stored with different content; send a new version",
            shift.id, shift.version
        ))),
        Upsert::OtherRegister => Err(AppError::forbidden(format!(
            "shift {} belongs to another register; nothing was changed",
            shift.id
        ))),
        _ => result
            .stored
            .ok_or_else(|| AppError::internal("no stored shift")),
    }
}

/// Checks and stores one refund, answering as `PUT /refunds/{id}` does: the
/// writing register's own, for an order of its own store.
pub fn store_refund(
    store: &dyn Store,
    stores: &Stores,
    writer: &Writer,
    refund: &Refund,
    now: Timestamp,
) -> Result<Refund, AppError> {
    if refund.number.register() != &writer.register {
        return Err(AppError::forbidden(format!(
            "this token belongs to register {}; refund {} is register {}'s",
            writer.register,
            refund.number,
            refund.number.register()
        )));
    }
    if let Some(order_id) = refund.order_id {
        let found = store.order(&order_id).map_err(AppError::internal)?;
        check_refund_order(stores, &writer.register, found.order.as_ref())?;
    }
    let result = store
        .upsert_refund(refund, writer, now)
        .map_err(AppError::internal)?;
    refund_answer(result, refund)
}

/// How a refund its order does not allow is answered.
/// The status and code a refund its order does not allow is answered
/// with. An order held here as open or with its payment in doubt is an
/// older version than the register's (which refunded it as paid): the paid
/// version is on its way, so that is "not synced yet", retried, never a
/// refusal the register would park.
pub fn refund_refusal_code(e: &RefundError) -> (StatusCode, &'static str) {
    match e {
        RefundError::NotPaid(_) | RefundError::PaymentInDoubt => {
            (StatusCode::CONFLICT, ORDER_NOT_SYNCED_CODE)
        }
        RefundError::Voided => (StatusCode::CONFLICT, "order_not_refundable"),
        RefundError::Moved(_) => (StatusCode::CONFLICT, "refund_moved"),
        RefundError::TooMany { .. }
        | RefundError::TenderTooHigh { .. }
        | RefundError::TendersDoNotAddUp { .. }
        | RefundError::TooManyRefunds => (StatusCode::CONFLICT, "refund_exceeds_order"),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_refund"),
    }
}

fn refund_refusal(e: RefundError) -> AppError {
    let (status, code) = refund_refusal_code(&e);
    let message = match &e {
        RefundError::NotPaid(_) | RefundError::PaymentInDoubt => format!(
            "the back office does not hold this order as paid yet ({e}); send the refund again after the order"
        ),
        _ => e.to_string(),
    };
    let err = AppError::new(status, code, message);
    match e.field() {
        Some(f) => err.with_field(f),
        None => err,
    }
}

fn refund_answer(result: RefundResult, refund: &Refund) -> Result<Refund, AppError> {
    let stored = result.stored;
    match result.outcome {
        RefundOutcome::OrderUnknown => Err(AppError::new(
            StatusCode::CONFLICT,
            ORDER_NOT_SYNCED_CODE,
            format!(
                "order {} has not reached the back office yet; send the refund again after it",
                refund
                    .order_number
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        )),
        RefundOutcome::Refused(e) => Err(refund_refusal(e)),
        RefundOutcome::Upsert(Upsert::Conflict) => Err(AppError::conflict(format!(
            "refund {} version {} is already stored with different content; send a new version",
            refund.id, refund.version
        ))),
        RefundOutcome::Upsert(Upsert::OtherRegister) => Err(AppError::forbidden(format!(
            "refund {} belongs to another register; nothing was changed",
            refund.id
        ))),
        RefundOutcome::Upsert(_) => stored.ok_or_else(|| AppError::internal("no stored refund")),
    }
}

/// The order a refund gives money back for must be the caller's register's,
/// or a register's of the same store.
fn check_refund_order(
    stores: &Stores,
    writer: &RegisterId,
    order: Option<&Order>,
) -> Result<(), AppError> {
    let Some(order) = order else { return Ok(()) };
    let owner = order.register();
    let same_store = stores
        .store_of(owner)
        .is_some_and(|s| stores.store_of(writer) == Some(s));
    if owner == writer || same_store {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "order {} is register {owner}'s, of another store; register {writer} cannot refund it",
            order.number
        )))
    }
}
