//! The database schema and its upgrades.
//!
//! `upgrade` runs inside the browser's version-change transaction and
//! applies every step from the stored version to [`DB_VERSION`], so a
//! register that skipped releases still arrives at the current schema.
//! Never change a step that shipped: add the next one.

use super::StoreError;
use idb::{Database, DatabaseEvent, Factory, IndexParams, KeyPath, ObjectStoreParams};

pub const DB_NAME: &str = "till";
pub const DB_VERSION: u32 = 1;

pub const SETTINGS: &str = "settings";
pub const META: &str = "meta";
pub const PRODUCTS: &str = "products";
pub const ORDERS: &str = "orders";
pub const OUTBOX: &str = "outbox";
pub const PAYMENTS: &str = "payments";

pub async fn open(name: &str) -> Result<Database, StoreError> {
    let factory = Factory::new().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut request = factory
        .open(name, Some(DB_VERSION))
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    request.on_upgrade_needed(|event| {
        let old = event.old_version().unwrap_or(0);
        if let Ok(db) = event.database() {
            if let Err(e) = upgrade(&db, old) {
                web_sys::console::error_1(&format!("Till: database upgrade failed: {e:?}").into());
            }
        }
    });
    Ok(request.await?)
}

fn upgrade(db: &Database, old: u32) -> Result<(), idb::Error> {
    if old < 1 {
        v1(db)?;
    }
    Ok(())
}

fn v1(db: &Database) -> Result<(), idb::Error> {
    db.create_object_store(SETTINGS, ObjectStoreParams::new())?;
    db.create_object_store(META, ObjectStoreParams::new())?;

    let mut p = ObjectStoreParams::new();
    p.key_path(Some(KeyPath::new_single("id")));
    let products = db.create_object_store(PRODUCTS, p)?;
    products.create_index("sku", KeyPath::new_single("sku"), None)?;
    let mut multi = IndexParams::new();
    multi.multi_entry(true);
    products.create_index("barcode", KeyPath::new_single("barcodes"), Some(multi))?;
    products.create_index("category", KeyPath::new_single("category"), None)?;

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
