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

use super::schema::{META, ORDERS, OUTBOX, PAYMENTS};
use super::{from_js, to_js, Db, StoreError};
use idb::{KeyRange, Query, Transaction};
use std::cell::RefCell;
use std::future::IntoFuture;
use std::rc::Rc;
use till_core::order::{BusinessDate, Order, OrderId};
use till_core::outbox::{Outbox, OutboxChange, OutboxEntry};
use till_core::payment::Attempt;
use till_core::register::{Loaded, StoreFailure, StoreTx, Stored};
use till_core::sync::DueBatch;
use till_core::update::{plan, Sale, Snapshot, UpdateError, UpdateRequest};
use wasm_bindgen::JsValue;

/// The current sale's record in `meta`.
pub const SALE_KEY: &str = "sale";
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
            TxError::Store(e) => StoreFailure::Io(e.to_string()),
        }
    }
}

fn io(e: StoreError) -> StoreFailure {
    StoreFailure::Io(e.to_string())
}

/// Runs one transaction of the register.
pub async fn execute(db: &Db, tx: &StoreTx) -> Result<Stored, StoreFailure> {
    match tx {
        StoreTx::Load => load(db)
            .await
            .map(|l| Stored::Loaded(Box::new(l)))
            .map_err(io),
        StoreTx::SaveSale { sale, replaces } => save_sale(db, sale, *replaces).await,
        StoreTx::Update(req) => update(db, req).await,
        StoreTx::LoadDue { limit, now } => due(db, *limit, *now).await.map(Stored::Due).map_err(io),
        StoreTx::ApplyOutbox(changes) => {
            let changes = changes.clone();
            outbox_write(db, move |_| changes, true).await
        }
        StoreTx::RetryNow { now } => {
            let now = *now;
            outbox_write(db, move |o| o.retry_now(now), false).await
        }
        StoreTx::Unpark {
            order_id,
            version,
            now,
        } => {
            let (id, v, now) = (*order_id, *version, *now);
            outbox_write(db, move |o| o.unpark(id, v, now), false).await
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

fn outbox_key(order_id: &OrderId, version: u32) -> JsValue {
    js_sys::Array::of2(
        &JsValue::from_str(&order_id.to_string()),
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
    for state in [
        "requested",
        "processing",
        "cancelling",
        "result_unknown",
        "closed_unpaid",
    ] {
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
    let tx = db.read(&[META, ORDERS, OUTBOX, PAYMENTS])?;
    let sale = read_sale(&tx).await?;
    let sale_order = match &sale {
        Some(s) => get::<Order>(&tx, ORDERS, JsValue::from_str(&s.id.to_string())).await?,
        None => None,
    };
    let attempts = open_attempts(&tx).await?;
    let outbox = Outbox::new(all_outbox(&tx).await?);
    Ok(Loaded {
        sale,
        sale_order,
        attempts,
        outbox: outbox.summary(),
    })
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
            // A finished sale never comes back (the same rule as memstore).
            let allowed = match (stored, replaces) {
                (None, _) => true,
                (Some(id), None) => id == sale.id,
                (Some(id), Some(old)) => id == old || id == sale.id,
            };
            if !allowed {
                return Err(TxError::Refused(UpdateError::SaleFinished));
            }
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
        &outbox_key(&req.order_id, 0),
        &outbox_key(&req.order_id, u32::MAX),
        None,
        None,
    )?;
    let outbox = tx
        .object_store(OUTBOX)?
        .get_all(Some(Query::KeyRange(range)), None)?
        .into_future();
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

async fn update(db: &Db, req: &UpdateRequest) -> Result<Stored, StoreFailure> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    let req = req.clone();
    let t = db
        .write_strict(&[META, ORDERS, OUTBOX, PAYMENTS])
        .map_err(io)?;
    db.commit(t, |tx| async move {
        let r = async {
            let snap = snapshot(&tx, &req).await?;
            let plan = plan(&req, &snap, req.at).map_err(TxError::Refused)?;
            write_plan(&tx, &plan).await?;
            *out.borrow_mut() = Some(plan.outcome);
            Ok::<(), TxError>(())
        }
        .await;
        (tx, r)
    })
    .await
    .map_err(StoreFailure::from)?;
    let outcome = slot.borrow_mut().take();
    outcome
        .map(|u| Stored::Updated(Box::new(u)))
        .ok_or_else(|| StoreFailure::Io("the update wrote nothing".into()))
}

/// Issues every write of a plan, then waits for them all.
async fn write_plan(tx: &Transaction, plan: &till_core::update::Plan) -> Result<(), TxError> {
    let mut pending = Vec::new();
    if let Some(order) = &plan.order {
        pending.push(
            tx.object_store(ORDERS)?
                .put(&to_js(order)?, None)?
                .into_future(),
        );
    }
    if let Some(attempt) = &plan.attempt {
        pending.push(
            tx.object_store(PAYMENTS)?
                .put(&to_js(attempt)?, None)?
                .into_future(),
        );
    }
    let meta = tx.object_store(META)?;
    if let Some(sale) = &plan.sale {
        pending.push(
            meta.put(&to_js(sale)?, Some(&JsValue::from_str(SALE_KEY)))?
                .into_future(),
        );
    }
    if let Some((date, seq)) = plan.seq {
        pending.push(meta.put(&to_js(&seq)?, Some(&seq_key(date)))?.into_future());
    }
    let outbox = tx.object_store(OUTBOX)?;
    let mut deletes = Vec::new();
    for c in &plan.outbox {
        match c {
            OutboxChange::Put(e) => pending.push(outbox.put(&to_js(e)?, None)?.into_future()),
            OutboxChange::Delete { order_id, version } => {
                deletes.push(outbox.delete(outbox_key(order_id, *version))?.into_future())
            }
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

/// Writes outbox changes; with `existing_only`, a `Put` updates only an
/// entry that still exists (a sale may have superseded it meanwhile).
async fn apply_changes(
    tx: &Transaction,
    changes: &[OutboxChange],
    existing_only: bool,
) -> Result<(), TxError> {
    let store = tx.object_store(OUTBOX)?;
    for c in changes {
        match c {
            OutboxChange::Put(e) => {
                if existing_only
                    && store
                        .get(outbox_key(&e.order_id, e.version))?
                        .await?
                        .is_none()
                {
                    continue;
                }
                store.put(&to_js(e)?, None)?.await?;
            }
            OutboxChange::Delete { order_id, version } => {
                store.delete(outbox_key(order_id, *version))?.await?;
            }
        }
    }
    Ok(())
}

async fn due(
    db: &Db,
    limit: usize,
    now: till_core::time::Timestamp,
) -> Result<DueBatch, StoreError> {
    let tx = db.read(&[ORDERS, OUTBOX])?;
    let outbox = Outbox::new(all_outbox(&tx).await?);
    let due: Vec<OutboxEntry> = outbox.due(now, usize::MAX).into_iter().cloned().collect();
    // Every order's read is issued before the first is awaited: one round
    // trip for the batch, not one per order.
    let orders = tx.object_store(ORDERS)?;
    let mut pending = Vec::with_capacity(due.len().min(limit));
    for e in due.iter().take(limit) {
        let key = JsValue::from_str(&e.order_id.to_string());
        pending.push((e.clone(), orders.get(key)?.into_future()));
    }
    let mut entries = Vec::with_capacity(pending.len());
    for (e, order) in pending {
        entries.push((e, parse::<Order>(order.await?)?));
    }
    Ok(DueBatch {
        entries,
        due_total: due.len(),
        summary: outbox.summary(),
    })
}

/// Reads the outbox, lets till-core decide the changes, writes them and
/// answers the summary after them: one transaction.
async fn outbox_write(
    db: &Db,
    decide: impl FnOnce(&mut Outbox) -> Vec<OutboxChange> + 'static,
    existing_only: bool,
) -> Result<Stored, StoreFailure> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    let t = db.write_strict(&[OUTBOX]).map_err(io)?;
    db.commit(t, |tx| async move {
        let r = async {
            let mut outbox = Outbox::new(all_outbox(&tx).await?);
            let changes = decide(&mut outbox);
            apply_changes(&tx, &changes, existing_only).await?;
            let after = Outbox::new(all_outbox(&tx).await?);
            *out.borrow_mut() = Some(after.summary());
            Ok::<(), TxError>(())
        }
        .await;
        (tx, r)
    })
    .await
    .map_err(StoreFailure::from)?;
    let summary = slot.borrow_mut().take().unwrap_or_default();
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
