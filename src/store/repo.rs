//! Typed operations on the stores, one logical operation per transaction.

use super::schema::{META, ORDERS, OUTBOX, PAYMENTS, PRODUCTS, SETTINGS};
use super::{from_js, to_js, Db, StoreError};
use serde::{Deserialize, Serialize};
use till_core::cart::Cart;
use till_core::catalog::{Category, Product, TaxRate};
use till_core::money::Currency;
use till_core::order::Order;
use till_core::outbox::{OutboxChange, OutboxEntry};
use till_core::payment::Attempt;
use wasm_bindgen::JsValue;

/// What the register needs to reach the back office and the bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub oms_url: String,
    pub register_id: String,
    pub register_token: String,
    pub bridge_url: String,
    pub pairing_token: String,
    /// Seconds the card popup waits for a result; till-core's default when absent.
    #[serde(default)]
    pub result_wait_secs: Option<u64>,
}

/// The catalog's header, stored beside its products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMeta {
    /// The ETag of the last complete download.
    pub version: String,
    pub currency: Currency,
    pub categories: Vec<Category>,
    pub tax_rates: Vec<TaxRate>,
    pub products_total: u64,
}

const SETTINGS_KEY: &str = "settings";
const CATALOG_KEY: &str = "catalog";
const CART_KEY: &str = "cart";
const CURRENT_ORDER_KEY: &str = "current_order";

impl Db {
    pub async fn settings(&self) -> Result<Option<Settings>, StoreError> {
        self.get(SETTINGS, &JsValue::from_str(SETTINGS_KEY)).await
    }

    pub async fn save_settings(&self, s: &Settings) -> Result<(), StoreError> {
        self.put_keyed(SETTINGS, SETTINGS_KEY, s).await
    }

    pub async fn catalog_meta(&self) -> Result<Option<CatalogMeta>, StoreError> {
        self.get(META, &JsValue::from_str(CATALOG_KEY)).await
    }

    /// Stores one chunk of a download. The first chunk clears the old
    /// products; the meta is written with the last chunk, so an interrupted
    /// download is never taken for a complete catalog.
    pub async fn store_catalog_chunk(
        &self,
        products: &[Product],
        first: bool,
        meta: Option<&CatalogMeta>,
    ) -> Result<(), StoreError> {
        let values = products.iter().map(to_js).collect::<Result<Vec<_>, _>>()?;
        let meta = meta.map(to_js).transpose()?;
        self.commit(self.write_relaxed(&[PRODUCTS, META])?, |tx| async move {
            let r = async {
                let store = tx.object_store(PRODUCTS)?;
                let meta_store = tx.object_store(META)?;
                if first {
                    store.clear()?.await?;
                    meta_store.delete(JsValue::from_str(CATALOG_KEY))?.await?;
                }
                for v in &values {
                    store.put(v, None)?;
                }
                if let Some(m) = &meta {
                    meta_store
                        .put(m, Some(&JsValue::from_str(CATALOG_KEY)))?
                        .await?;
                }
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }

    pub async fn products(&self) -> Result<Vec<Product>, StoreError> {
        self.all(PRODUCTS).await
    }

    pub async fn cart(&self) -> Result<Option<Cart>, StoreError> {
        self.get(META, &JsValue::from_str(CART_KEY)).await
    }

    /// The open cart, saved on every change so a reload keeps it.
    pub async fn save_cart(&self, cart: &Cart) -> Result<(), StoreError> {
        self.put_keyed(META, CART_KEY, cart).await
    }

    /// An order and its outbox changes, in one strict transaction: the sale
    /// and the promise to sync it are written together or not at all.
    pub async fn save_order(
        &self,
        order: &Order,
        outbox: &[OutboxChange],
    ) -> Result<(), StoreError> {
        let order = to_js(order)?;
        let changes = outbox.to_vec();
        self.commit(self.write_strict(&[ORDERS, OUTBOX])?, |tx| async move {
            let r = async {
                tx.object_store(ORDERS)?.put(&order, None)?.await?;
                let out = tx.object_store(OUTBOX)?;
                for c in &changes {
                    apply_outbox_change(&out, c).await?;
                }
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }

    /// Creates the order for the open cart: takes the next sequence number
    /// of `date`, and writes the order, its outbox entry and the pointer to
    /// it in one strict transaction. `make` builds the order from the
    /// sequence number (pure: no other await inside the transaction).
    pub async fn create_order(
        &self,
        date_key: &str,
        make: impl FnOnce(u32) -> Result<(Order, Vec<OutboxChange>), String>,
    ) -> Result<Order, StoreError> {
        let seq_key = JsValue::from_str(&format!("seq:{date_key}"));
        let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
        let out = slot.clone();
        self.commit(
            self.write_strict(&[META, ORDERS, OUTBOX])?,
            |tx| async move {
                let r = async {
                    let meta = tx.object_store(META)?;
                    let last: u32 = match meta.get(seq_key.clone())?.await? {
                        Some(v) => from_js(v)?,
                        None => 0,
                    };
                    let (order, changes) = make(last + 1).map_err(StoreError::Failed)?;
                    meta.put(&to_js(&(last + 1))?, Some(&seq_key))?.await?;
                    meta.put(
                        &to_js(&order.id)?,
                        Some(&JsValue::from_str(CURRENT_ORDER_KEY)),
                    )?
                    .await?;
                    tx.object_store(ORDERS)?.put(&to_js(&order)?, None)?.await?;
                    let outbox = tx.object_store(OUTBOX)?;
                    for c in &changes {
                        apply_outbox_change(&outbox, c).await?;
                    }
                    *out.borrow_mut() = Some(order);
                    Ok(())
                }
                .await;
                (tx, r)
            },
        )
        .await?;
        let order = slot.borrow_mut().take();
        order.ok_or_else(|| StoreError::Failed("the order was not created".into()))
    }

    /// Raises the day's order sequence to at least `seen` (what the back
    /// office already holds for this register), so that a register whose
    /// storage was lost never hands out a number twice.
    pub async fn raise_sequence(&self, date_key: &str, seen: u32) -> Result<(), StoreError> {
        let key = JsValue::from_str(&format!("seq:{date_key}"));
        self.commit(self.write_strict(&[META])?, |tx| async move {
            let r = async {
                let meta = tx.object_store(META)?;
                let last: u32 = match meta.get(key.clone())?.await? {
                    Some(v) => from_js(v)?,
                    None => 0,
                };
                if seen > last {
                    meta.put(&to_js(&seen)?, Some(&key))?.await?;
                }
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }

    /// The order of the sale in progress, if any.
    pub async fn current_order(&self) -> Result<Option<Order>, StoreError> {
        let id: Option<String> = self
            .get(META, &JsValue::from_str(CURRENT_ORDER_KEY))
            .await?;
        match id {
            Some(id) => self.get(ORDERS, &JsValue::from_str(&id)).await,
            None => Ok(None),
        }
    }

    /// The sale is over (paid, or closed unpaid): the cart empties and the
    /// register is ready for the next one, in one transaction with the
    /// order's last version.
    pub async fn finish_sale(
        &self,
        order: &Order,
        outbox: &[OutboxChange],
        empty_cart: &Cart,
    ) -> Result<(), StoreError> {
        let order = to_js(order)?;
        let cart = to_js(empty_cart)?;
        let changes = outbox.to_vec();
        self.commit(
            self.write_strict(&[META, ORDERS, OUTBOX])?,
            |tx| async move {
                let r = async {
                    tx.object_store(ORDERS)?.put(&order, None)?.await?;
                    let out = tx.object_store(OUTBOX)?;
                    for c in &changes {
                        apply_outbox_change(&out, c).await?;
                    }
                    let meta = tx.object_store(META)?;
                    meta.delete(JsValue::from_str(CURRENT_ORDER_KEY))?.await?;
                    meta.put(&cart, Some(&JsValue::from_str(CART_KEY)))?.await?;
                    Ok(())
                }
                .await;
                (tx, r)
            },
        )
        .await
    }

    /// Writes back what a sync round learned, strictly. Only entries that
    /// still exist are updated: a sale may have superseded one while the
    /// round was on the network, and a stale copy must not come back.
    pub async fn apply_outbox(&self, changes: &[OutboxChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let changes = changes.to_vec();
        self.commit(self.write_strict(&[OUTBOX])?, |tx| async move {
            let r = async {
                let out = tx.object_store(OUTBOX)?;
                for c in &changes {
                    if let OutboxChange::Put(e) = c {
                        let key = js_sys::Array::of2(
                            &JsValue::from_str(&e.order_id.to_string()),
                            &JsValue::from(e.version),
                        );
                        if out.get(JsValue::from(key))?.await?.is_none() {
                            continue;
                        }
                    }
                    apply_outbox_change(&out, c).await?;
                }
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }

    pub async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.get(ORDERS, &JsValue::from_str(id)).await
    }

    pub async fn orders(&self) -> Result<Vec<Order>, StoreError> {
        self.all(ORDERS).await
    }

    pub async fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.all(OUTBOX).await
    }

    /// The ids of the orders the OMS has not stored yet (pending or parked).
    pub async fn unsynced_order_ids(
        &self,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        Ok(self
            .outbox()
            .await?
            .iter()
            .map(|e| e.order_id.to_string())
            .collect())
    }

    /// The outbox entries of one order (a key range on `[order_id, version]`),
    /// without reading the rest of the queue.
    pub async fn outbox_of(
        &self,
        order_id: &till_core::order::OrderId,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let id = JsValue::from_str(&order_id.to_string());
        let lower = js_sys::Array::of2(&id, &JsValue::from(0));
        let upper = js_sys::Array::of2(&id, &JsValue::from(u32::MAX));
        let range = idb::KeyRange::bound(&lower.into(), &upper.into(), None, None)?;
        let tx = self.read(&[OUTBOX])?;
        let values = tx
            .object_store(OUTBOX)?
            .get_all(Some(range.into()), None)?
            .await?;
        let array: js_sys::Array = values.into_iter().collect();
        from_js(array.into())
    }

    /// A card payment attempt, strictly: written before its request leaves.
    pub async fn save_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        let v = to_js(attempt)?;
        self.commit(self.write_strict(&[PAYMENTS])?, |tx| async move {
            let r = async {
                tx.object_store(PAYMENTS)?.put(&v, None)?.await?;
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }

    pub async fn attempts(&self) -> Result<Vec<Attempt>, StoreError> {
        self.all(PAYMENTS).await
    }

    /// Reads a raw record, for tests of stored-record handling.
    pub async fn raw(&self, store: &str, key: &JsValue) -> Result<Option<JsValue>, StoreError> {
        let tx = self.read(&[store])?;
        Ok(tx.object_store(store)?.get(key.clone())?.await?)
    }
}

/// Reads a stored value, turning a record that does not parse into a clear
/// error rather than a panic.
pub fn parse_record<T: serde::de::DeserializeOwned>(v: JsValue) -> Result<T, StoreError> {
    from_js(v)
}

async fn apply_outbox_change(
    store: &idb::ObjectStore,
    change: &OutboxChange,
) -> Result<(), StoreError> {
    match change {
        OutboxChange::Put(e) => {
            store.put(&to_js(e)?, None)?.await?;
        }
        OutboxChange::Delete { order_id, version } => {
            let key = js_sys::Array::of2(
                &JsValue::from_str(&order_id.to_string()),
                &JsValue::from(*version),
            );
            store.delete(JsValue::from(key))?.await?;
        }
    }
    Ok(())
}
