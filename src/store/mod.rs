//! The register's IndexedDB: where everything lives first.
//!
//! One database, `till`, schema version 5 ([`DB_VERSION`]; see [`schema`]):
//!
//! | store | key | indexes | what |
//! |---|---|---|---|
//! | `settings` | `"settings"` | | OMS URL, register, tokens, bridge |
//! | `meta` | a name | | catalog ETag and version, the current sale (its id and cart), the order sequence per day |
//! | `products`, `products_b` | `id` | `sku`, `barcode` (multi-entry), `category` (unused since pages) | the catalog, one record per downloaded page (`page:000001`, its products as one JSON text; as objects in older catalogs, one record per product before pages): the meta names the store in use and its layout; a download fills the other |
//! | `orders` | `id` | `number` (unique), `status`, `created` | every order of this register |
//! | `outbox` | `[order_id, version]` | `state_due` (`[state, next_attempt_at]`) | what the OMS has not stored yet |
//! | `payments` | `reference` | `order`, `state` | card payment attempts and card refund attempts |
//! | `refunds` | `id` | `order`, `shift` | refunds and returns (v4) |
//! | `shifts` | `id` | | shifts: float, cash movements, no sales, the close (v5); orders gain a `shift` index |
//!
//! Every write the register decides goes through [`exec::execute`]: one
//! [`till_core::register::StoreTx`] is one transaction, with the same
//! meaning as till-core's in-memory reference store (`memstore`), which the
//! simulator and the register's tests use. A browser test runs the same
//! transactions against both and compares.
//!
//! Rules (STYLE, TOOLCHAIN): compute first, then open one transaction that
//! holds only IndexedDB requests, commit it explicitly, and abort it on the
//! error path (dropping a transaction does not abort it; awaiting anything
//! else inside it lets it auto-commit). Writes that must survive a power cut
//! (orders, outbox entries, payment attempts) use **strict durability**:
//! Chrome's default is relaxed, which may lose the last writes on a crash.

pub mod exec;
pub mod repo;
pub mod schema;

use idb::{Database, Error as IdbError, Transaction, TransactionMode, TransactionResult};
use js_sys::{Array, Function, Object, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbTransaction};

pub use schema::{DB_NAME, DB_VERSION};
use till_core::register::StorageFault;

/// Why a storage operation failed, in words a cashier can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The device is out of storage for this site: the sale must stop.
    QuotaExceeded,
    /// IndexedDB is not available (private mode, blocked storage).
    Unavailable(String),
    /// A stored record does not read back as expected.
    Corrupt(String),
    /// Anything else IndexedDB reported.
    Failed(String),
}

impl From<&StoreError> for StorageFault {
    fn from(e: &StoreError) -> StorageFault {
        match e {
            StoreError::QuotaExceeded => StorageFault::QuotaExceeded,
            StoreError::Unavailable(e) => StorageFault::Unavailable(e.clone()),
            StoreError::Corrupt(e) => StorageFault::Corrupt(e.clone()),
            StoreError::Failed(e) => StorageFault::Failed(e.clone()),
        }
    }
}

/// The cashier's words are till-core's ([`StorageFault`]).
impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        StorageFault::from(self).fmt(f)
    }
}

impl std::error::Error for StoreError {}

/// Maps a DOMException (by name) to a storage error.
pub fn from_dom_error(name: &str, message: &str) -> StoreError {
    match name {
        "QuotaExceededError" => StoreError::QuotaExceeded,
        "InvalidStateError" | "UnknownError" if message.to_lowercase().contains("quota") => {
            StoreError::QuotaExceeded
        }
        _ => StoreError::Failed(format!("{name}: {message}")),
    }
}

impl From<IdbError> for StoreError {
    fn from(e: IdbError) -> StoreError {
        let text = e.to_string();
        if text.contains("QuotaExceeded") {
            StoreError::QuotaExceeded
        } else {
            StoreError::Failed(text)
        }
    }
}

fn js_error(e: JsValue) -> StoreError {
    match e.dyn_ref::<web_sys::DomException>() {
        Some(d) => from_dom_error(&d.name(), &d.message()),
        None => StoreError::Failed(format!("{e:?}")),
    }
}

/// Rust values go in as plain JS objects (readable in DevTools, indexable),
/// by way of JSON: the app already carries serde_json for the network, and
/// one serializer instead of two keeps the download smaller.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, StoreError> {
    let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    js_sys::JSON::parse(&json).map_err(|e| StoreError::Corrupt(format!("{e:?}")))
}

pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, StoreError> {
    let json =
        js_sys::JSON::stringify(&value).map_err(|e| StoreError::Corrupt(format!("{e:?}")))?;
    serde_json::from_str(&String::from(json)).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// An open database.
#[derive(Clone)]
pub struct Db {
    raw: IdbDatabase,
}

impl Db {
    /// Opens (creating or upgrading) the database `name`.
    pub async fn open(name: &str) -> Result<Db, StoreError> {
        Db::open_or_wait(name, || {}).await
    }

    /// Opens `name`; `on_blocked` runs if an older Till's tab holds it open
    /// and the upgrade waits for that tab.
    pub async fn open_or_wait(
        name: &str,
        on_blocked: impl FnOnce() + 'static,
    ) -> Result<Db, StoreError> {
        let db = schema::open(name, on_blocked).await?;
        Ok(Db { raw: db.into() })
    }

    /// A newer Till (another tab) wants to upgrade the database: this
    /// connection closes at once, so as not to block it, and `replaced`
    /// runs (the page says "Till was updated; reload").
    pub fn on_replaced(&self, replaced: impl FnOnce() + 'static) {
        let raw = self.raw.clone();
        let closure = wasm_bindgen::closure::Closure::once_into_js(move |_: web_sys::Event| {
            raw.close();
            replaced();
        });
        self.raw.set_onversionchange(Some(closure.unchecked_ref()));
    }

    fn idb(&self) -> Database {
        Database::from(self.raw.clone())
    }

    pub fn close(&self) {
        self.raw.close();
    }

    pub fn version(&self) -> u32 {
        self.raw.version() as u32
    }

    pub fn store_names(&self) -> Vec<String> {
        self.idb().store_names()
    }

    /// A read-only transaction.
    pub fn read(&self, stores: &[&str]) -> Result<Transaction, StoreError> {
        Ok(self.idb().transaction(stores, TransactionMode::ReadOnly)?)
    }

    /// A read-write transaction with Chrome's default (relaxed) durability:
    /// for what can be downloaded again (the catalog).
    pub fn write_relaxed(&self, stores: &[&str]) -> Result<Transaction, StoreError> {
        Ok(self.idb().transaction(stores, TransactionMode::ReadWrite)?)
    }

    /// A read-write transaction with `durability: "strict"`: committed means
    /// on disk. web-sys exposes the options only as an unstable API, so the
    /// call goes through `Reflect`.
    pub fn write_strict(&self, stores: &[&str]) -> Result<Transaction, StoreError> {
        let names = Array::new();
        for s in stores {
            names.push(&JsValue::from_str(s));
        }
        let options = Object::new();
        Reflect::set(&options, &"durability".into(), &"strict".into()).map_err(js_error)?;
        let transaction: Function = Reflect::get(&self.raw, &"transaction".into())
            .map_err(js_error)?
            .dyn_into()
            .map_err(js_error)?;
        let tx = transaction
            .call3(&self.raw, &names, &"readwrite".into(), &options)
            .map_err(js_error)?;
        Ok(Transaction::from(
            tx.dyn_into::<IdbTransaction>().map_err(js_error)?,
        ))
    }

    /// Runs one logical write in one transaction: `ops` issues the requests;
    /// on its error the transaction is aborted (nothing of it is written);
    /// otherwise it is committed and awaited. `E` lets a caller carry its
    /// own refusals (a rule that said no) beside storage errors.
    pub async fn commit<F, Fut, E>(&self, tx: Transaction, ops: F) -> Result<(), E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: std::future::Future<Output = (Transaction, Result<(), E>)>,
        E: From<StoreError>,
    {
        let (tx, result) = ops(tx).await;
        if let Err(e) = result {
            let _ = tx.abort();
            return Err(e);
        }
        let raw: IdbTransaction = tx.into();
        let tx = Transaction::from(raw.clone());
        let committed = tx.commit().map_err(StoreError::from)?.await;
        let failed = |fallback: StoreError| {
            raw.error()
                .map(|d| from_dom_error(&d.name(), &d.message()))
                .unwrap_or(fallback)
        };
        match committed {
            Ok(TransactionResult::Committed) => Ok(()),
            Ok(TransactionResult::Aborted) => {
                Err(failed(StoreError::Failed("the transaction was aborted".into())).into())
            }
            Err(e) => Err(failed(e.into()).into()),
        }
    }

    /// Reads one value by key from `store`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        store: &str,
        key: &JsValue,
    ) -> Result<Option<T>, StoreError> {
        let tx = self.read(&[store])?;
        let value = tx.object_store(store)?.get(key.clone())?.await?;
        match value {
            Some(v) => Ok(Some(from_js(v)?)),
            None => Ok(None),
        }
    }

    /// Every value of `store`. One `JSON.stringify` of the whole list and one
    /// parse, rather than one per record: a 100,000-product catalog loads
    /// in a fraction of the time.
    pub async fn all<T: DeserializeOwned>(&self, store: &str) -> Result<Vec<T>, StoreError> {
        let array: Array = self.all_raw(store).await?.into_iter().collect();
        from_js(array.into())
    }

    /// Every record of a store as IndexedDB gives it, undecoded.
    pub async fn all_raw(&self, store: &str) -> Result<Vec<JsValue>, StoreError> {
        let tx = self.read(&[store])?;
        Ok(tx.object_store(store)?.get_all(None, None)?.await?)
    }

    pub async fn count(&self, store: &str) -> Result<u32, StoreError> {
        let tx = self.read(&[store])?;
        Ok(tx.object_store(store)?.count(None)?.await?)
    }

    /// Puts one value (out-of-line key) in a store, strictly.
    pub async fn put_keyed<T: Serialize>(
        &self,
        store: &str,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let v = to_js(value)?;
        let key = JsValue::from_str(key);
        let name = store.to_owned();
        self.commit(self.write_strict(&[store])?, |tx| async move {
            let r = async {
                tx.object_store(&name)?.put(&v, Some(&key))?.await?;
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }
}
