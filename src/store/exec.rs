//! The register's storage transactions in IndexedDB: one
//! [`StoreTx`] is one transaction, meaning exactly what till-core's
//! reference store (`till_core::memstore`) means by it.
//!
//! Each function opens its transaction *before* its first await, so
//! transactions start in the order the register issued them (IndexedDB runs
//! read-write transactions over the same stores in creation order). Inside
//! a transaction only IndexedDB requests are awaited; the decision in
//! between is till-core's, synchronous ([`plan`], the outbox's rules).
//! Writes use strict durability: committed means on disk.

use super::schema::{BY_SHIFT, META, ORDERS, OUTBOX, OUTBOX_BY_STATE, PAYMENTS, REFUNDS, SHIFTS};
use super::{from_js, to_js, Db, StoreError};
use idb::{CursorDirection, KeyCursor, KeyRange, Query, Transaction};
use std::cell::RefCell;
use std::future::IntoFuture;
use std::rc::Rc;
use till_core::desk::DeskRecord;
use till_core::ids::RecordId;
use till_core::order::{BusinessDate, Order, OrderId};
use till_core::outbox::{Outbox, OutboxChange, OutboxEntry, RecordKind};
use till_core::park::{plan_park, plan_resume, ParkError, ParkedCart};
use till_core::payment::{Attempt, AttemptState};
use till_core::refund::{Refund, RefundId};
use till_core::register::{Loaded, StorageFault, StoreFailure, StoreTx, Stored};
use till_core::shift::{Shift, ShiftId};
use till_core::shift_plan::{plan_shift, ShiftChange, ShiftRequest, ShiftSnapshot};
use till_core::sync::{DueBatch, OutboxSummary, Record};
use till_core::update::{
    check_sale_save, plan, plan_card_refund, plan_give_owed, plan_refund, plan_return,
    CardRefundSnapshot, RefundPlan, RefundRequest, RefundSnapshot, ReturnRequest, Sale, Snapshot,
    UpdateError, UpdateRequest,
};
use wasm_bindgen::JsValue;

/// The current sale's record in `meta`.
pub const SALE_KEY: &str = "sale";
/// The carts parked on this register, as one list beside the sale.
pub const PARKED_KEY: &str = "parked";
/// Who is at the register: the staff list, the cashier, the PIN tries.
pub const DESK_KEY: &str = "desk";
/// The id of the register's open shift (absent when none is open).
pub const SHIFT_KEY: &str = "shift";
/// What the first slice kept instead (read once, when `sale` is absent).
const LEGACY_CART_KEY: &str = "cart";
const LEGACY_ORDER_KEY: &str = "current_order";

/// A transaction's failure: a refusal by a rule, or the storage.
enum TxError {
    Refused(UpdateError),
    Store(StoreError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> TxError {
        TxError::Store(e)
    }
}

impl From<idb::Error> for TxError {
    fn from(e: idb::Error) -> TxError {
        TxError::Store(e.into())
    }
}

impl From<TxError> for StoreFailure {
    fn from(e: TxError) -> StoreFailure {
        match e {
            TxError::Refused(e) => StoreFailure::Refused(e),
            TxError::Store(e) => io(e),
        }
    }
}

fn io(e: StoreError) -> StoreFailure {
    StoreFailure::Io(StorageFault::from(&e))
}

/// Runs one transaction of the register.
pub async fn execute(db: &Db, tx: &StoreTx) -> Result<Stored, StoreFailure> {
    match tx {
        StoreTx::Load => load(db)
            .await
            .map(|l| Stored::Loaded(Box::new(l)))
            .map_err(io),
        StoreTx::SaveSale { sale, replaces } => save_sale(db, sale, *replaces).await,
        StoreTx::SaveDesk(desk) => save_desk(db, desk).await,
        StoreTx::Update(req) => update(db, req).await,
        StoreTx::Shift(req) => shift(db, req).await,
        StoreTx::Refund(req) => refund(db, req).await,
        StoreTx::CardRefund(attempt) => card_refund(db, attempt).await,
        StoreTx::Return(req) => return_without_receipt(db, req).await,
        StoreTx::GiveOwed(attempt) => give_owed(db, attempt).await,
        StoreTx::LoadDue { limit, now } => due(db, *limit, *now).await.map(Stored::Due).map_err(io),
        StoreTx::ApplyOutbox(changes) => outbox_write(db, Changes::Settled(changes.clone())).await,
        StoreTx::RetryNow { now } => {
            let now = *now;
            outbox_write(db, Changes::Decided(Box::new(move |o| o.retry_now(now)))).await
        }
        StoreTx::Unpark {
            record_id,
            version,
            now,
        } => {
            let (id, v, now) = (*record_id, *version, *now);
            let decide = Box::new(move |o: &mut Outbox| o.unpark(id, v, now));
            outbox_write(db, Changes::Decided(decide)).await
        }
        StoreTx::Park { cart, next } => {
            let (cart, next) = ((**cart).clone(), next.clone());
            park_or_resume(db, move |sale, parked| {
                plan_park(sale, parked, &cart, &next)
            })
            .await
        }
        StoreTx::Resume { id, current } => {
            let (id, current) = (*id, *current);
            park_or_resume(db, move |sale, parked| {
                plan_resume(sale, parked, id, current)
            })
            .await
        }
        StoreTx::RaiseSequence { date, seen } => raise_sequence(db, *date, *seen)
            .await
            .map(|()| Stored::Done)
            .map_err(io),
    }
}

fn seq_key(date: BusinessDate) -> JsValue {
    JsValue::from_str(&format!("seq:{}", date.compact()))
}

fn outbox_key(record_id: &RecordId, version: u32) -> JsValue {
    js_sys::Array::of2(
        &JsValue::from_str(&record_id.to_string()),
        &JsValue::from(version),
    )
    .into()
}

async fn get<T: serde::de::DeserializeOwned>(
    tx: &Transaction,
    store: &str,
    key: JsValue,
) -> Result<Option<T>, StoreError> {
    match tx.object_store(store)?.get(key)?.await? {
        Some(v) => Ok(Some(from_js(v)?)),
        None => Ok(None),
    }
}

/// The current sale; from the first slice's cart and current order when
/// this register has not written one yet.
async fn read_sale(tx: &Transaction) -> Result<Option<Sale>, StoreError> {
    let meta = tx.object_store(META)?;
    let sale = meta.get(JsValue::from_str(SALE_KEY))?.into_future();
    let cart = meta.get(JsValue::from_str(LEGACY_CART_KEY))?.into_future();
    let id = meta.get(JsValue::from_str(LEGACY_ORDER_KEY))?.into_future();
    Ok(sale_or_legacy(
        parse(sale.await?)?,
        parse(cart.await?)?,
        parse(id.await?)?,
    ))
}

async fn all_outbox(tx: &Transaction) -> Result<Vec<OutboxEntry>, StoreError> {
    parse_all(tx.object_store(OUTBOX)?.get_all(None, None)?.await?)
}

/// Attempts live or in doubt, through the `state` index (one query per
/// such state, all issued at once), not the whole history of attempts.
async fn open_attempts(tx: &Transaction) -> Result<Vec<Attempt>, StoreError> {
    let index = tx.object_store(PAYMENTS)?.index("state")?;
    let mut pending = Vec::new();
    for state in AttemptState::RELOADED {
        let query = Query::Key(JsValue::from_str(state));
        pending.push(index.get_all(Some(query), None)?.into_future());
    }
    let mut out = Vec::new();
    for p in pending {
        out.extend(parse_all::<Attempt>(p.await?)?);
    }
    Ok(out)
}

async fn load(db: &Db) -> Result<Loaded, StoreError> {
    let tx = db.read(&[META, ORDERS, OUTBOX, PAYMENTS, SHIFTS])?;
    let sale = read_sale(&tx).await?;
    let sale_order = match &sale {
        Some(s) => get::<Order>(&tx, ORDERS, JsValue::from_str(&s.id.to_string())).await?,
        None => None,
    };
    let attempts = open_attempts(&tx).await?;
    let outbox = outbox_summary(&tx).await?;
    let parked = get::<Vec<ParkedCart>>(&tx, META, JsValue::from_str(PARKED_KEY))
        .await?
        .unwrap_or_default();
    let desk = get::<DeskRecord>(&tx, META, JsValue::from_str(DESK_KEY)).await?;
    let shift = open_shift(&tx).await?;
    Ok(Loaded {
        sale,
        sale_order,
        attempts,
        outbox,
        parked,
        desk,
        shift,
    })
}

/// The register's open shift: `meta` names it, `shifts` holds it.
async fn open_shift(tx: &Transaction) -> Result<Option<Shift>, StoreError> {
    match get::<ShiftId>(tx, META, JsValue::from_str(SHIFT_KEY)).await? {
        Some(id) => get::<Shift>(tx, SHIFTS, JsValue::from_str(&id.to_string())).await,
        None => Ok(None),
    }
}

/// The records of shift `id` in `store` (its `shift` index), issued now.
fn of_shift(
    tx: &Transaction,
    store: &str,
    id: ShiftId,
) -> Result<impl std::future::Future<Output = Result<Vec<JsValue>, idb::Error>>, StoreError> {
    let key = Query::Key(JsValue::from_str(&id.to_string()));
    Ok(tx
        .object_store(store)?
        .index(BY_SHIFT)?
        .get_all(Some(key), None)?
        .into_future())
}

/// What a write to a shift needs, read inside its transaction: the open
/// shift, the shift named, its outbox entries and (for a close) its
/// orders and refunds.
async fn shift_snapshot(tx: &Transaction, req: &ShiftRequest) -> Result<ShiftSnapshot, StoreError> {
    let stored = tx
        .object_store(SHIFTS)?
        .get(JsValue::from_str(&req.id.to_string()))?
        .into_future();
    let outbox = outbox_of(tx, &req.id.record_id())?;
    let (orders, refunds) = match req.change {
        ShiftChange::Close { .. } => (
            parse_all(of_shift(tx, ORDERS, req.id)?.await?)?,
            parse_all(of_shift(tx, REFUNDS, req.id)?.await?)?,
        ),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(ShiftSnapshot {
        open: open_shift(tx).await?,
        stored: parse(stored.await?)?,
        orders,
        refunds,
        outbox: parse_all(outbox.await?)?,
    })
}

/// A shift, its outbox entry and the register's open shift: one
/// transaction, decided by till-core's `plan_shift`.
async fn shift(db: &Db, req: &ShiftRequest) -> Result<Stored, StoreFailure> {
    let req = req.clone();
    let stores = [META, ORDERS, OUTBOX, REFUNDS, SHIFTS];
    let shift = strict(db, &stores, async move |tx| {
        let snap = shift_snapshot(tx, &req).await?;
        let plan = plan_shift(&req, &snap).map_err(|e| TxError::Refused(e.into()))?;
        let meta = tx.object_store(META)?;
        let key = JsValue::from_str(SHIFT_KEY);
        let write = match &plan.write {
            Some(shift) => Some(
                tx.object_store(SHIFTS)?
                    .put(&to_js(shift)?, None)?
                    .into_future(),
            ),
            None => None,
        };
        match plan.open {
            Some(id) => {
                meta.put(&to_js(&id)?, Some(&key))?.await?;
            }
            None => meta.delete(key)?.await?,
        }
        if let Some(w) = write {
            w.await?;
        }
        apply_changes(tx, &plan.outbox, false).await?;
        Ok(plan.shift)
    })
    .await?;
    Ok(Stored::Shift(Box::new(shift)))
}

async fn save_desk(db: &Db, desk: &DeskRecord) -> Result<Stored, StoreFailure> {
    db.put_keyed(META, DESK_KEY, desk).await.map_err(io)?;
    Ok(Stored::Done)
}

async fn save_sale(
    db: &Db,
    sale: &Sale,
    replaces: Option<OrderId>,
) -> Result<Stored, StoreFailure> {
    let value = to_js(sale).map_err(io)?;
    let sale = sale.clone();
    let t = db.write_strict(&[META]).map_err(io)?;
    db.commit(t, |tx| async move {
        let r = async {
            let stored = get::<Sale>(&tx, META, JsValue::from_str(SALE_KEY))
                .await?
                .map(|s| s.id);
            check_sale_save(stored, &sale, replaces).map_err(TxError::Refused)?;
            tx.object_store(META)?
                .put(&value, Some(&JsValue::from_str(SALE_KEY)))?
                .await?;
            Ok::<(), TxError>(())
        }
        .await;
        (tx, r)
    })
    .await
    .map_err(StoreFailure::from)?;
    Ok(Stored::Done)
}

/// A park or a resume: the sale and the parked list, read and written in
/// one strict transaction by till-core's plan.
async fn park_or_resume(
    db: &Db,
    plan: impl FnOnce(Option<&Sale>, &[ParkedCart]) -> Result<(Sale, Vec<ParkedCart>), ParkError>
        + 'static,
) -> Result<Stored, StoreFailure> {
    let (sale, parked) = strict(db, &[META], async move |tx| {
        let sale = get::<Sale>(tx, META, JsValue::from_str(SALE_KEY)).await?;
        let parked = get::<Vec<ParkedCart>>(tx, META, JsValue::from_str(PARKED_KEY))
            .await?
            .unwrap_or_default();
        let (sale, parked) =
            plan(sale.as_ref(), &parked).map_err(|e| TxError::Refused(e.into()))?;
        let meta = tx.object_store(META)?;
        let a = meta
            .put(&to_js(&sale)?, Some(&JsValue::from_str(SALE_KEY)))?
            .into_future();
        let b = meta
            .put(&to_js(&parked)?, Some(&JsValue::from_str(PARKED_KEY)))?
            .into_future();
        a.await?;
        b.await?;
        Ok((sale, parked))
    })
    .await?;
    Ok(Stored::Parked { sale, parked })
}

/// What the update path needs, read inside its transaction. Every read is
/// issued before the first await (one round trip, not seven); each
/// request's handlers are attached as it is issued (`into_future`), so no
/// answer can arrive before someone listens for it.
async fn snapshot(tx: &Transaction, req: &UpdateRequest) -> Result<Snapshot, StoreError> {
    let id = JsValue::from_str(&req.order_id.to_string());
    let order = tx.object_store(ORDERS)?.get(id.clone())?.into_future();
    let attempts = tx
        .object_store(PAYMENTS)?
        .index("order")?
        .get_all(Some(Query::Key(id)), None)?
        .into_future();
    let range = KeyRange::bound(
        &outbox_key(&req.order_id.record_id(), 0),
        &outbox_key(&req.order_id.record_id(), u32::MAX),
        None,
        None,
    )?;
    let outbox = tx
        .object_store(OUTBOX)?
        .get_all(Some(Query::KeyRange(range)), None)?
        .into_future();
    let refunds = refunds_of(tx, &req.order_id)?;
    let meta = tx.object_store(META)?;
    let seq = match req.sequence_day() {
        Some(d) => Some(meta.get(seq_key(d))?.into_future()),
        None => None,
    };
    // Issues its own reads at once, while the ones above are in flight.
    let sale = read_sale(tx).await?;
    let last_seq = match seq {
        Some(f) => parse::<u32>(f.await?)?.unwrap_or(0),
        None => 0,
    };
    Ok(Snapshot {
        order: parse(order.await?)?,
        attempts: parse_all(attempts.await?)?,
        outbox: parse_all(outbox.await?)?,
        sale,
        last_seq,
        refunds: parse_all(refunds.await?)?,
    })
}

fn parse<T: serde::de::DeserializeOwned>(v: Option<JsValue>) -> Result<Option<T>, StoreError> {
    v.map(from_js).transpose()
}

fn parse_all<T: serde::de::DeserializeOwned>(values: Vec<JsValue>) -> Result<Vec<T>, StoreError> {
    from_js(values.into_iter().collect::<js_sys::Array>().into())
}

fn sale_or_legacy(
    sale: Option<Sale>,
    cart: Option<till_core::cart::Cart>,
    id: Option<OrderId>,
) -> Option<Sale> {
    sale.or(match (id, cart) {
        (Some(id), Some(cart)) => Some(Sale { id, cart }),
        _ => None,
    })
}

/// Runs `work` in one strict read-write transaction over `stores`: all
/// of it commits, or (on any error) none of it.
async fn strict<T: 'static>(
    db: &Db,
    stores: &[&str],
    work: impl AsyncFnOnce(&Transaction) -> Result<T, TxError> + 'static,
) -> Result<T, StoreFailure> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    let t = db.write_strict(stores).map_err(io)?;
    db.commit(t, |tx| async move {
        let r = work(&tx).await.map(|v| *out.borrow_mut() = Some(v));
        (tx, r)
    })
    .await
    .map_err(StoreFailure::from)?;
    let done = slot.borrow_mut().take();
    done.ok_or_else(|| {
        StoreFailure::Io(StorageFault::Failed("the transaction wrote nothing".into()))
    })
}

async fn update(db: &Db, req: &UpdateRequest) -> Result<Stored, StoreFailure> {
    let req = req.clone();
    let stores = [META, ORDERS, OUTBOX, PAYMENTS, REFUNDS];
    let outcome = strict(db, &stores, async move |tx| {
        let snap = snapshot(tx, &req).await?;
        let plan = plan(&req, &snap, req.at).map_err(TxError::Refused)?;
        write_plan(tx, &plan).await?;
        Ok(plan.outcome)
    })
    .await?;
    Ok(Stored::Updated(Box::new(outcome)))
}

/// An order's refunds (the `order` index), issued now, awaited later.
fn refunds_of(
    tx: &Transaction,
    order_id: &OrderId,
) -> Result<impl std::future::Future<Output = Result<Vec<JsValue>, idb::Error>>, StoreError> {
    let key = Query::Key(JsValue::from_str(&order_id.to_string()));
    Ok(tx
        .object_store(REFUNDS)?
        .index("order")?
        .get_all(Some(key), None)?
        .into_future())
}

/// A record's outbox entries (every version), issued now, awaited later.
fn outbox_of(
    tx: &Transaction,
    id: &RecordId,
) -> Result<impl std::future::Future<Output = Result<Vec<JsValue>, idb::Error>>, StoreError> {
    let range = KeyRange::bound(&outbox_key(id, 0), &outbox_key(id, u32::MAX), None, None)?;
    Ok(tx
        .object_store(OUTBOX)?
        .get_all(Some(Query::KeyRange(range)), None)?
        .into_future())
}

/// What a refund needs, read inside its transaction, every read issued
/// before the first await.
async fn refund_snapshot(
    tx: &Transaction,
    req: &RefundRequest,
) -> Result<RefundSnapshot, StoreError> {
    let order = tx
        .object_store(ORDERS)?
        .get(JsValue::from_str(&req.order_id.to_string()))?
        .into_future();
    let refunds = refunds_of(tx, &req.order_id)?;
    let outbox = outbox_of(tx, &req.id.record_id())?;
    let seq = tx.object_store(META)?.get(seq_key(req.date))?.into_future();
    let mut refunds: Vec<Refund> = parse_all(refunds.await?)?;
    till_core::sorted::sort_by_key(&mut refunds, |r| (r.created_at, r.id));
    Ok(RefundSnapshot {
        order: parse(order.await?)?,
        refunds,
        outbox: parse_all(outbox.await?)?,
        last_seq: parse::<u32>(seq.await?)?.unwrap_or(0),
    })
}

/// A refund, its outbox entry, the day's sequence and (for a card refund)
/// its card part's attempt: one transaction.
async fn refund(db: &Db, req: &RefundRequest) -> Result<Stored, StoreFailure> {
    let req = req.clone();
    let stores = [META, ORDERS, OUTBOX, PAYMENTS, REFUNDS];
    refund_tx(db, &stores, async move |tx| {
        let snap = refund_snapshot(tx, &req).await?;
        plan_refund(&req, &snap).map_err(TxError::Refused)
    })
    .await
}

/// A return without a receipt, its outbox entry and the day's sequence:
/// one transaction (a repeated Confirm finds it written).
async fn return_without_receipt(db: &Db, req: &ReturnRequest) -> Result<Stored, StoreFailure> {
    let req = req.clone();
    refund_tx(db, &[META, OUTBOX, REFUNDS], async move |tx| {
        let done = tx
            .object_store(REFUNDS)?
            .get(JsValue::from_str(&req.id.to_string()))?
            .into_future();
        let outbox = outbox_of(tx, &req.id.record_id())?;
        let seq = tx.object_store(META)?.get(seq_key(req.date))?.into_future();
        let snap = RefundSnapshot {
            order: None,
            refunds: parse::<Refund>(done.await?)?.into_iter().collect(),
            outbox: parse_all(outbox.await?)?,
            last_seq: parse::<u32>(seq.await?)?.unwrap_or(0),
        };
        plan_return(&req, &snap).map_err(TxError::Refused)
    })
    .await
}

/// A card part for what a refund owes, and its attempt: one transaction,
/// on a fresh read of the order and its refunds.
async fn give_owed(db: &Db, attempt: &Attempt) -> Result<Stored, StoreFailure> {
    let attempt = attempt.clone();
    let stores = [ORDERS, OUTBOX, PAYMENTS, REFUNDS];
    refund_tx(db, &stores, async move |tx| {
        let order = tx
            .object_store(ORDERS)?
            .get(JsValue::from_str(&attempt.order_id.to_string()))?
            .into_future();
        let refunds = refunds_of(tx, &attempt.order_id)?;
        let key = attempt.refund.map(|l| l.refund_id.record_id());
        let outbox = key.map(|k| outbox_of(tx, &k)).transpose()?;
        let mut refunds: Vec<Refund> = parse_all(refunds.await?)?;
        till_core::sorted::sort_by_key(&mut refunds, |r| (r.created_at, r.id));
        let snap = RefundSnapshot {
            order: parse(order.await?)?,
            refunds,
            outbox: match outbox {
                Some(f) => parse_all(f.await?)?,
                None => Vec::new(),
            },
            last_seq: 0,
        };
        plan_give_owed(&attempt, &snap).map_err(TxError::Refused)
    })
    .await
}

/// A card refund attempt's new state and its refund's card part: one
/// transaction.
async fn card_refund(db: &Db, attempt: &Attempt) -> Result<Stored, StoreFailure> {
    let attempt = attempt.clone();
    refund_tx(db, &[OUTBOX, PAYMENTS, REFUNDS], async move |tx| {
        let refund_id = attempt.refund.map(|l| l.refund_id);
        let key = refund_id.map(|id| JsValue::from_str(&id.to_string()));
        let refund = match key {
            Some(k) => Some(tx.object_store(REFUNDS)?.get(k)?.into_future()),
            None => None,
        };
        let stored = tx
            .object_store(PAYMENTS)?
            .get(JsValue::from_str(&attempt.reference.to_string()))?
            .into_future();
        let outbox = refund_id
            .map(|id| outbox_of(tx, &id.record_id()))
            .transpose()?;
        let snap = CardRefundSnapshot {
            refund: match refund {
                Some(f) => parse(f.await?)?,
                None => None,
            },
            attempt: parse(stored.await?)?,
            outbox: match outbox {
                Some(f) => parse_all(f.await?)?,
                None => Vec::new(),
            },
        };
        plan_card_refund(&attempt, &snap).map_err(TxError::Refused)
    })
    .await
}

/// One refund transaction: `plan` reads what it needs and decides (by
/// till-core's rules), then its writes are issued, all in one strict
/// transaction over `stores`; answered with the refund as it now stands.
async fn refund_tx(
    db: &Db,
    stores: &[&str],
    plan: impl AsyncFnOnce(&Transaction) -> Result<RefundPlan, TxError> + 'static,
) -> Result<Stored, StoreFailure> {
    let refund = strict(db, stores, async move |tx| {
        let plan = plan(tx).await?;
        write_refund_plan(tx, &plan).await?;
        Ok(plan.refund)
    })
    .await?;
    Ok(Stored::Refunded(Box::new(refund)))
}

/// Issues a put of `value` into `store` (under `key` for a store without
/// key paths); the future waits for it.
fn put_in(
    tx: &Transaction,
    store: &str,
    value: JsValue,
    key: Option<&JsValue>,
) -> Result<impl std::future::Future<Output = Result<JsValue, idb::Error>>, TxError> {
    Ok(tx.object_store(store)?.put(&value, key)?.into_future())
}

/// Issues every write of a refund's plan, then waits for them all.
async fn write_refund_plan(tx: &Transaction, plan: &RefundPlan) -> Result<(), TxError> {
    let mut pending = Vec::new();
    if let Some(refund) = &plan.write {
        pending.push(put_in(tx, REFUNDS, to_js(refund)?, None)?);
    }
    if let Some(attempt) = &plan.attempt {
        pending.push(put_in(tx, PAYMENTS, to_js(attempt)?, None)?);
    }
    if let Some((date, seq)) = plan.seq {
        pending.push(put_in(tx, META, to_js(&seq)?, Some(&seq_key(date)))?);
    }
    for p in pending {
        p.await?;
    }
    apply_changes(tx, &plan.outbox, false).await
}

/// Issues every write of a plan, then waits for them all.
async fn write_plan(tx: &Transaction, plan: &till_core::update::Plan) -> Result<(), TxError> {
    let mut pending = Vec::new();
    if let Some(order) = &plan.order {
        pending.push(put_in(tx, ORDERS, to_js(order)?, None)?);
    }
    if let Some(attempt) = &plan.attempt {
        pending.push(put_in(tx, PAYMENTS, to_js(attempt)?, None)?);
    }
    if let Some(sale) = &plan.sale {
        pending.push(put_in(
            tx,
            META,
            to_js(sale)?,
            Some(&JsValue::from_str(SALE_KEY)),
        )?);
    }
    if let Some((date, seq)) = plan.seq {
        pending.push(put_in(tx, META, to_js(&seq)?, Some(&seq_key(date)))?);
    }
    let outbox = tx.object_store(OUTBOX)?;
    let mut deletes = Vec::new();
    for c in &plan.outbox {
        match c {
            OutboxChange::Put(e) => pending.push(put_in(tx, OUTBOX, to_js(e)?, None)?),
            OutboxChange::Delete { record_id, version } => deletes.push(
                outbox
                    .delete(outbox_key(record_id, *version))?
                    .into_future(),
            ),
        }
    }
    for p in pending {
        p.await?;
    }
    for d in deletes {
        d.await?;
    }
    Ok(())
}

/// Writes outbox changes with the effect of applying them in order; with
/// `existing_only`, a `Put` updates only an entry that still exists (a sale
/// may have superseded it meanwhile). The deletes go first, as one range
/// delete when nothing else lies in their range (a settled batch is
/// usually a run of consecutive entries); then the puts that survive
/// them. Every request of a step is issued before the first is awaited.
async fn apply_changes(
    tx: &Transaction,
    changes: &[OutboxChange],
    existing_only: bool,
) -> Result<(), TxError> {
    let store = tx.object_store(OUTBOX)?;
    let mut last_delete = std::collections::HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        if let OutboxChange::Delete { record_id, version } = c {
            last_delete.insert((*record_id, *version), i);
        }
    }
    // A put survives unless a later delete undoes it; with `existing_only`,
    // unless its entry is deleted at all (before it: gone when it comes).
    let puts: Vec<&OutboxEntry> = changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            OutboxChange::Put(e) => match last_delete.get(&e.key()) {
                Some(_) if existing_only => None,
                Some(&j) if j > i => None,
                _ => Some(e),
            },
            OutboxChange::Delete { .. } => None,
        })
        .collect();
    let mut checks = Vec::new();
    if existing_only {
        for e in &puts {
            let key = outbox_key(&e.record_id, e.version);
            checks.push(store.count(Some(Query::Key(key)))?.into_future());
        }
    }
    let mut doomed: Vec<(RecordId, u32)> = last_delete.into_keys().collect();
    till_core::sorted::sort_by(&mut doomed, Ord::cmp);
    delete_entries(&store, &doomed).await?;
    let mut there = Vec::with_capacity(checks.len());
    for c in checks {
        there.push(c.await? > 0);
    }
    let mut writes = Vec::with_capacity(puts.len());
    for (i, e) in puts.iter().enumerate() {
        if !existing_only || there[i] {
            writes.push(store.put(&to_js(*e)?, None)?.into_future());
        }
    }
    for w in writes {
        w.await?;
    }
    Ok(())
}

/// Deletes outbox entries (`keys` sorted): one request for the range they
/// span when the range holds nothing else, one per entry otherwise.
async fn delete_entries(store: &idb::ObjectStore, keys: &[(RecordId, u32)]) -> Result<(), TxError> {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Ok(());
    };
    let lower = outbox_key(&first.0, first.1);
    let upper = outbox_key(&last.0, last.1);
    if keys.len() > 1 {
        let range = KeyRange::bound(&lower, &upper, None, None)?;
        let inside = store
            .get_all_keys(Some(Query::KeyRange(range.clone())), None)?
            .await?;
        let only_ours = inside.len() <= keys.len()
            && inside
                .iter()
                .all(|k| entry_key(k).is_some_and(|k| keys.binary_search(&k).is_ok()));
        if only_ours {
            store.delete(Query::KeyRange(range))?.await?;
            return Ok(());
        }
    }
    let mut pending = Vec::with_capacity(keys.len());
    for (id, version) in keys {
        pending.push(store.delete(outbox_key(id, *version))?.into_future());
    }
    for p in pending {
        p.await?;
    }
    Ok(())
}

/// An outbox key (`[record id, version]`) read back from IndexedDB.
fn entry_key(key: &JsValue) -> Option<(RecordId, u32)> {
    let parts = js_sys::Array::from(key);
    let id = parts.get(0).as_string()?;
    let version = parts.get(1).as_f64()?;
    Some((RecordId::try_from(id).ok()?, version as u32))
}

/// One sync round's read: the first `limit` due entries from the
/// `[state, next_attempt_at]` index (the order of `Outbox::due`), how
/// many are due in all, each entry's order, and the summary. The rest of
/// the queue is counted, never read.
async fn due(
    db: &Db,
    limit: usize,
    now: till_core::time::Timestamp,
) -> Result<DueBatch, StoreError> {
    let tx = db.read(&[ORDERS, OUTBOX, REFUNDS, SHIFTS])?;
    let index = tx.object_store(OUTBOX)?.index(OUTBOX_BY_STATE)?;
    let upto = now.0 as f64;
    let total = index
        .count(Some(state_range(PENDING, upto)?))?
        .into_future();
    let limit = limit.min(till_core::outbox::BATCH_MAX);
    let first = index
        .get_all(Some(state_range(PENDING, upto)?), Some(limit as u32))?
        .into_future();
    let summary = outbox_summary(&tx).await?;
    let due: Vec<OutboxEntry> = parse_all(first.await?)?;
    let ids: Vec<OrderId> = due
        .iter()
        .filter(|e| e.kind == RecordKind::Order)
        .map(|e| OrderId::from_record_id(e.record_id))
        .collect();
    let keys_of = |kind: RecordKind| -> Vec<String> {
        let of = due.iter().filter(|e| e.kind == kind);
        match kind {
            RecordKind::Shift => of
                .map(|e| ShiftId::from_record_id(e.record_id).to_string())
                .collect(),
            _ => of
                .map(|e| RefundId::from_record_id(e.record_id).to_string())
                .collect(),
        }
    };
    let mut orders = read_orders(&tx.object_store(ORDERS)?, &ids)
        .await?
        .into_iter();
    let mut refunds = read_keys(&tx, REFUNDS, keys_of(RecordKind::Refund))
        .await?
        .into_iter();
    let mut shifts = read_keys(&tx, SHIFTS, keys_of(RecordKind::Shift))
        .await?
        .into_iter();
    // In the order they fell due, as the reference store gives them.
    let mut entries = Vec::with_capacity(due.len());
    for e in due {
        let record = match e.kind {
            RecordKind::Order => parse::<Order>(orders.next().flatten())?.map(Record::Order),
            RecordKind::Refund => parse::<Refund>(refunds.next().flatten())?.map(Record::Refund),
            RecordKind::Shift => {
                parse::<Shift>(shifts.next().flatten())?.map(|s| Record::Shift(Box::new(s)))
            }
        };
        entries.push((e, record));
    }
    Ok(DueBatch {
        entries,
        due_total: total.await? as usize,
        summary,
    })
}

/// The stored orders of `ids` (in that order; `None` where missing). A
/// batch's orders are usually neighbours (ids are UUID v7, so in the
/// order they were made): when the range they span holds few others, one
/// `getAll` of the range; otherwise one `get` each, all issued before the
/// first is awaited.
async fn read_orders(
    orders: &idb::ObjectStore,
    ids: &[OrderId],
) -> Result<Vec<Option<JsValue>>, StoreError> {
    let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(Vec::new());
    };
    let range = KeyRange::bound(
        &JsValue::from_str(&lo.to_string()),
        &JsValue::from_str(&hi.to_string()),
        None,
        None,
    )?;
    let spanned = orders.count(Some(Query::KeyRange(range.clone())))?.await? as usize;
    if ids.len() > 1 && spanned <= 2 * ids.len() {
        let all = orders.get_all(Some(Query::KeyRange(range)), None)?.await?;
        let id_key = JsValue::from_str("id");
        let mut by_id = std::collections::HashMap::with_capacity(all.len());
        for order in all {
            let id = js_sys::Reflect::get(&order, &id_key)
                .ok()
                .and_then(|v| v.as_string());
            if let Some(id) = id {
                by_id.insert(id, order);
            }
        }
        return Ok(ids
            .iter()
            .map(|id| by_id.get(&id.to_string()).cloned())
            .collect());
    }
    let mut pending = Vec::with_capacity(ids.len());
    for id in ids {
        let key = JsValue::from_str(&id.to_string());
        pending.push(orders.get(key)?.into_future());
    }
    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        out.push(p.await?);
    }
    Ok(out)
}

/// The records of `keys` in `store` (one `get` each, all issued before
/// the first is awaited; a batch holds few refunds and shifts).
async fn read_keys(
    tx: &Transaction,
    store: &str,
    keys: Vec<String>,
) -> Result<Vec<Option<JsValue>>, StoreError> {
    let store = tx.object_store(store)?;
    let mut pending = Vec::with_capacity(keys.len());
    for key in keys {
        pending.push(store.get(JsValue::from_str(&key))?.into_future());
    }
    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        out.push(p.await?);
    }
    Ok(out)
}

/// The `state` an outbox entry is stored with (till-core's `EntryState`).
const PENDING: &str = "pending";
const PARKED: &str = "parked";

/// Keys of the `[state, next_attempt_at]` index: `state`, due at or
/// before `upto` (milliseconds; infinity for all).
fn state_range(state: &str, upto: f64) -> Result<Query, idb::Error> {
    let key = |at: f64| -> JsValue {
        js_sys::Array::of2(&JsValue::from_str(state), &JsValue::from_f64(at)).into()
    };
    KeyRange::bound(&key(f64::NEG_INFINITY), &key(upto), None, None).map(Query::KeyRange)
}

/// The outbox at a glance from its indexes (two counts and the two ends
/// of the pending range, all issued at once), without reading an entry:
/// what `Outbox::summary` says of the same entries.
async fn outbox_summary(tx: &Transaction) -> Result<OutboxSummary, StoreError> {
    let store = tx.object_store(OUTBOX)?;
    let index = store.index(OUTBOX_BY_STATE)?;
    let all = store.count(None)?.into_future();
    let parked = index
        .count(Some(state_range(PARKED, f64::INFINITY)?))?
        .into_future();
    let end = |direction| {
        index
            .open_key_cursor(Some(state_range(PENDING, f64::INFINITY)?), Some(direction))
            .map(IntoFuture::into_future)
    };
    let first = end(CursorDirection::Next)?;
    let last = end(CursorDirection::Prev)?;
    Ok(OutboxSummary {
        unsynced: all.await? as usize,
        parked: parked.await? as usize,
        next_due: due_at(first.await?)?,
        latest_due: due_at(last.await?)?,
    })
}

/// The `next_attempt_at` of a `[state, next_attempt_at]` index key.
fn due_at(cursor: Option<KeyCursor>) -> Result<Option<till_core::time::Timestamp>, StoreError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let key = js_sys::Array::from(&cursor.key()?);
    key.get(1)
        .as_f64()
        .map(|ms| Some(till_core::time::Timestamp(ms as i64)))
        .ok_or_else(|| StoreError::Corrupt("an outbox entry's due time is not a number".into()))
}

/// till-core's decision over the whole outbox as stored.
type Decision = Box<dyn FnOnce(&mut Outbox) -> Vec<OutboxChange>>;

/// Where an outbox write's changes come from.
enum Changes {
    /// Settled by a sync round's answer: a `Put` updates only an entry
    /// that still exists (a sale may have superseded it meanwhile).
    Settled(Vec<OutboxChange>),
    /// Decided by till-core from the whole outbox as stored.
    Decided(Decision),
}

/// Writes outbox changes and answers the summary after them: one
/// transaction. Only a decision reads the whole outbox.
async fn outbox_write(db: &Db, changes: Changes) -> Result<Stored, StoreFailure> {
    let summary = strict(db, &[OUTBOX], async move |tx| {
        let (changes, existing_only) = match changes {
            Changes::Settled(changes) => (changes, true),
            Changes::Decided(decide) => {
                let mut outbox = Outbox::new(all_outbox(tx).await?);
                (decide(&mut outbox), false)
            }
        };
        apply_changes(tx, &changes, existing_only).await?;
        Ok(outbox_summary(tx).await?)
    })
    .await?;
    Ok(Stored::Outbox(summary))
}

async fn raise_sequence(db: &Db, date: BusinessDate, seen: u32) -> Result<(), StoreError> {
    let key = seq_key(date);
    db.commit(db.write_strict(&[META])?, |tx| async move {
        let r = async {
            let last = get::<u32>(&tx, META, key.clone()).await?.unwrap_or(0);
            if seen > last {
                tx.object_store(META)?
                    .put(&to_js(&seen)?, Some(&key))?
                    .await?;
            }
            Ok(())
        }
        .await;
        (tx, r)
    })
    .await
}
