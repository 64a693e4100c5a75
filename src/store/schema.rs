//! The database schema and its upgrades.
//!
//! `upgrade` runs inside the browser's version-change transaction and
//! applies every step from the stored version to [`DB_VERSION`], so a
//! register that skipped releases still arrives at the current schema.
//! Never change a step that shipped: add the next one.

use super::StoreError;
use idb::{
    Database, DatabaseEvent, Event, Factory, IndexParams, KeyPath, ObjectStoreParams, Request,
    Transaction,
};

pub const DB_NAME: &str = "till";
pub const DB_VERSION: u32 = 5;

pub const SETTINGS: &str = "settings";
pub const META: &str = "meta";
pub const PRODUCTS: &str = "products";
/// The second product store (v2): a download fills the store not in use,
/// and the catalog's meta names the one in use.
pub const PRODUCTS_B: &str = "products_b";
pub const ORDERS: &str = "orders";
pub const OUTBOX: &str = "outbox";
pub const PAYMENTS: &str = "payments";
/// Refunds (v4), by id, with an `order` index: an order's refunds.
pub const REFUNDS: &str = "refunds";
/// Shifts (v5), by id. Orders and refunds gain a `shift` index: the
/// records a shift's X report is made of.
pub const SHIFTS: &str = "shifts";
/// The `shift` index of orders and refunds (v5).
pub const BY_SHIFT: &str = "shift";
/// The outbox's index on `[state, next_attempt_at]` (v3): pending entries
/// in the order they fall due, and the parked ones, without reading the
/// rest of the queue.
pub const OUTBOX_BY_STATE: &str = "state_due";

/// Opens `name`, upgrading it to [`DB_VERSION`]. A failed upgrade aborts
/// the browser's version-change transaction, so the open fails with the
/// database as it was (never half upgraded). `on_blocked` runs when a tab
/// of an older Till keeps the database open and the upgrade must wait.
pub async fn open(name: &str, on_blocked: impl FnOnce() + 'static) -> Result<Database, StoreError> {
    let factory = Factory::new().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut request = factory
        .open(name, Some(DB_VERSION))
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let failed = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
    let failure = failed.clone();
    request.on_upgrade_needed(move |event| {
        let old = event.old_version().unwrap_or(0);
        let tx = event.target().ok().and_then(|r| r.transaction());
        let result = match (event.database(), &tx) {
            (Ok(db), Some(tx)) => upgrade(&db, tx, old),
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(idb::Error::TransactionNotFound),
        };
        if let Err(e) = result {
            *failure.borrow_mut() = Some(format!("{e:?}"));
            if let Some(tx) = tx {
                let _ = tx.abort();
            }
        }
    });
    request.on_blocked(move |_| on_blocked());
    match request.await {
        Ok(db) => Ok(db),
        Err(e) => Err(match failed.borrow_mut().take() {
            Some(why) => StoreError::Failed(format!(
                "the database could not be upgraded to version {DB_VERSION} ({why}); it was left as it was"
            )),
            None => e.into(),
        }),
    }
}

fn upgrade(db: &Database, tx: &Transaction, old: u32) -> Result<(), idb::Error> {
    if old < 1 {
        v1(db)?;
    }
    if old < 2 {
        v2(db)?;
    }
    if old < 3 {
        v3(tx)?;
    }
    if old < 4 {
        v4(db)?;
    }
    if old < 5 {
        v5(db, tx)?;
    }
    Ok(())
}

/// A product store, with the look-ups the register uses.
fn product_store(db: &Database, name: &str) -> Result<(), idb::Error> {
    let mut p = ObjectStoreParams::new();
    p.key_path(Some(KeyPath::new_single("id")));
    let products = db.create_object_store(name, p)?;
    products.create_index("sku", KeyPath::new_single("sku"), None)?;
    let mut multi = IndexParams::new();
    multi.multi_entry(true);
    products.create_index("barcode", KeyPath::new_single("barcodes"), Some(multi))?;
    products.create_index("category", KeyPath::new_single("category"), None)?;
    Ok(())
}

fn v1(db: &Database) -> Result<(), idb::Error> {
    db.create_object_store(SETTINGS, ObjectStoreParams::new())?;
    db.create_object_store(META, ObjectStoreParams::new())?;

    product_store(db, PRODUCTS)?;

    let mut p = ObjectStoreParams::new();
    p.key_path(Some(KeyPath::new_single("id")));
    let orders = db.create_object_store(ORDERS, p)?;
    let mut unique = IndexParams::new();
    unique.unique(true);
    orders.create_index("number", KeyPath::new_single("number"), Some(unique))?;
    orders.create_index("status", KeyPath::new_single("status.state"), None)?;
    orders.create_index("created", KeyPath::new_single("created_at"), None)?;

    let mut p = ObjectStoreParams::new();
    p.key_path(Some(KeyPath::new_array(vec!["order_id", "version"])));
    let outbox = db.create_object_store(OUTBOX, p)?;
    outbox.create_index("due", KeyPath::new_single("next_attempt_at"), None)?;

    let mut p = ObjectStoreParams::new();
    p.key_path(Some(KeyPath::new_single("reference")));
    let payments = db.create_object_store(PAYMENTS, p)?;
    payments.create_index("order", KeyPath::new_single("order_id"), None)?;
    payments.create_index("state", KeyPath::new_single("state"), None)?;
    Ok(())
}

/// v2: a second product store, so that a catalog download never touches
/// the catalog the register sells from.
fn v2(db: &Database) -> Result<(), idb::Error> {
    product_store(db, PRODUCTS_B)
}

/// v3: the outbox by `[state, next_attempt_at]`, so a sync round reads one
/// batch and counts the rest instead of reading the whole queue. It
/// replaces v1's `due` index, which nothing reads (every index costs each
/// write of an entry).
fn v3(tx: &Transaction) -> Result<(), idb::Error> {
    let outbox = tx.object_store(OUTBOX)?;
    outbox.create_index(
        OUTBOX_BY_STATE,
        KeyPath::new_array(vec!["state", "next_attempt_at"]),
        None,
    )?;
    outbox.delete_index("due")
}

/// v4: refunds, a record of their own linked to their order.
fn v4(db: &Database) -> Result<(), idb::Error> {
    let mut p = ObjectStoreParams::new();
    p.key_path(Some(KeyPath::new_single("id")));
    let refunds = db.create_object_store(REFUNDS, p)?;
    refunds.create_index("order", KeyPath::new_single("order_id"), None)?;
    Ok(())
}

/// v5: shifts, and the orders and refunds of a shift (records without a
/// shift, from before, are simply not in the index).
fn v5(db: &Database, tx: &Transaction) -> Result<(), idb::Error> {
    let mut p = ObjectStoreParams::new();
    p.key_path(Some(KeyPath::new_single("id")));
    db.create_object_store(SHIFTS, p)?;
    for store in [ORDERS, REFUNDS] {
        tx.object_store(store)?
            .create_index(BY_SHIFT, KeyPath::new_single("shift"), None)?;
    }
    Ok(())
}
