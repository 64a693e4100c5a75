//! Typed reads of the stores (what the pages show), and the settings and
//! catalog, which are not the register's decisions. Every write the register
//! decides goes through [`super::exec`].

use super::schema::{META, ORDERS, OUTBOX, PAYMENTS, PRODUCTS, PRODUCTS_B, REFUNDS, SETTINGS};
use super::{from_js, to_js, Db, StoreError};
use idb::Query;
use serde::{Deserialize, Serialize};
use till_core::catalog::{Category, Product, TaxRate};
use till_core::money::Currency;
use till_core::order::{Order, OrderId};
use till_core::outbox::OutboxEntry;
use till_core::payment::Attempt;
use till_core::refund::Refund;
use till_core::register::settings::RegisterSettings;
use wasm_bindgen::JsValue;

/// The catalog's header, stored beside its products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMeta {
    /// The ETag of the last complete download.
    pub version: String,
    pub currency: Currency,
    pub categories: Vec<Category>,
    pub tax_rates: Vec<TaxRate>,
    pub products_total: u64,
    /// The product store this catalog is in (`products` before v2).
    #[serde(default = "first_product_store")]
    pub store: String,
    /// Whether the store holds the catalog in pages (one record per
    /// downloaded page, [`ProductPage`]) rather than one record per product,
    /// as catalogs downloaded before pages did.
    #[serde(default)]
    pub paged: bool,
    /// Whether each page holds its products as one JSON text ([`TextPage`])
    /// rather than as objects ([`ProductPage`], as pages were first
    /// stored): read back without building and re-encoding 100,000 objects.
    #[serde(default)]
    pub text_pages: bool,
}

/// One downloaded page of the catalog as pages were first stored (the
/// products as objects); still read. A download writes a hundred records
/// for 100,000 products, not 100,000.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductPage<'a> {
    /// `page:` and the page's number in the download, zero-padded.
    pub id: String,
    pub products: std::borrow::Cow<'a, [Product]>,
}

/// A stored page's fields, as [`Db::stage_products`] writes them: `id` (the
/// store's key) and `json`, the page's products as one JSON text.
const PAGE_ID: &str = "id";
const PAGE_JSON: &str = "json";

/// One downloaded page of the catalog as it is stored now: the products as
/// one JSON text (IndexedDB clones one string, not thousands of objects).
pub struct TextPage;

impl TextPage {
    fn record(page: u32, products: &[Product]) -> Result<JsValue, StoreError> {
        let json =
            serde_json::to_string(products).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let record = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&record, &JsValue::from_str(k), &v);
        set(PAGE_ID, JsValue::from_str(&format!("page:{page:06}")))
            .and_then(|_| set(PAGE_JSON, JsValue::from_str(&json)))
            .map_err(|e| StoreError::Corrupt(format!("{e:?}")))?;
        Ok(record.into())
    }

    /// The products of a stored page; a page without its text is corrupt.
    fn products(record: &JsValue) -> Result<Vec<Product>, StoreError> {
        let json = js_sys::Reflect::get(record, &JsValue::from_str(PAGE_JSON))
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| StoreError::Corrupt("a catalog page without its products".into()))?;
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("a catalog page: {e}")))
    }
}

fn first_product_store() -> String {
    PRODUCTS.into()
}

/// The product store a download goes to while `store` is in use.
fn other_product_store(store: &str) -> &'static str {
    if store == PRODUCTS_B {
        PRODUCTS
    } else {
        PRODUCTS_B
    }
}

const SETTINGS_KEY: &str = "settings";
const CATALOG_KEY: &str = "catalog";

impl Db {
    /// The register's settings; a stored record that fails their checks is
    /// [`StoreError::Corrupt`], never settings to run with.
    pub async fn settings(&self) -> Result<Option<RegisterSettings>, StoreError> {
        self.get(SETTINGS, &JsValue::from_str(SETTINGS_KEY)).await
    }

    pub async fn save_settings(&self, s: &RegisterSettings) -> Result<(), StoreError> {
        self.put_keyed(SETTINGS, SETTINGS_KEY, s).await
    }

    pub async fn catalog_meta(&self) -> Result<Option<CatalogMeta>, StoreError> {
        self.get(META, &JsValue::from_str(CATALOG_KEY)).await
    }

    /// Starts a catalog download: empties the product store not in use and
    /// names it. The catalog in use is not touched until
    /// [`Db::activate_catalog`].
    pub async fn stage_catalog(&self) -> Result<&'static str, StoreError> {
        let active = self.catalog_meta().await?.map(|m| m.store);
        let staging = other_product_store(active.as_deref().unwrap_or(PRODUCTS));
        self.clear_store(staging).await?;
        Ok(staging)
    }

    async fn clear_store(&self, store: &'static str) -> Result<(), StoreError> {
        self.commit(self.write_relaxed(&[store])?, |tx| async move {
            let r = async {
                tx.object_store(store)?.clear()?.await?;
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }

    /// Adds page number `page` of a download to the staging store: one
    /// record, one transaction.
    pub async fn stage_products(
        &self,
        staging: &'static str,
        page: u32,
        products: &[Product],
    ) -> Result<(), StoreError> {
        let value = TextPage::record(page, products)?;
        self.commit(self.write_relaxed(&[staging])?, |tx| async move {
            let r = async {
                tx.object_store(staging)?.put(&value, None)?.await?;
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await
    }

    /// Swaps a complete, checked download in: one durable write of the meta
    /// naming its store. Then the old catalog's store is emptied (a crash
    /// before that only leaves it for the next download to empty).
    pub async fn activate_catalog(&self, meta: &CatalogMeta) -> Result<(), StoreError> {
        let value = to_js(meta)?;
        self.commit(self.write_strict(&[META])?, |tx| async move {
            let r: Result<(), StoreError> = async {
                tx.object_store(META)?
                    .put(&value, Some(&JsValue::from_str(CATALOG_KEY)))?
                    .await?;
                Ok(())
            }
            .await;
            (tx, r)
        })
        .await?;
        // The download was staged in the store not in use: the other one
        // held the old catalog (or nothing).
        self.clear_store(other_product_store(&meta.store)).await
    }

    /// The products of the catalog in use.
    pub async fn products(&self) -> Result<Vec<Product>, StoreError> {
        match self.catalog_meta().await? {
            Some(meta) => self.products_of(&meta).await,
            None => Ok(Vec::new()),
        }
    }

    /// The products of the catalog `meta` describes.
    pub async fn products_of(&self, meta: &CatalogMeta) -> Result<Vec<Product>, StoreError> {
        let store = match meta.store.as_str() {
            PRODUCTS => PRODUCTS,
            PRODUCTS_B => PRODUCTS_B,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "the catalog names an unknown product store {other:?}"
                )))
            }
        };
        if !meta.paged {
            return self.all(store).await;
        }
        if meta.text_pages {
            let mut products = Vec::with_capacity(meta.products_total as usize);
            for record in self.all_raw(store).await? {
                products.extend(TextPage::products(&record)?);
            }
            return Ok(products);
        }
        let pages: Vec<ProductPage<'static>> = self.all(store).await?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.products.into_owned())
            .collect())
    }

    pub async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.get(ORDERS, &JsValue::from_str(id)).await
    }

    /// The order with this number (the unique `number` index), if any.
    pub async fn order_by_number(&self, number: &str) -> Result<Option<Order>, StoreError> {
        let tx = self.read(&[ORDERS])?;
        let found = tx
            .object_store(ORDERS)?
            .index("number")?
            .get(Query::Key(JsValue::from_str(number)))?
            .await?;
        found.map(from_js).transpose()
    }

    pub async fn orders(&self) -> Result<Vec<Order>, StoreError> {
        self.all(ORDERS).await
    }

    pub async fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.all(OUTBOX).await
    }

    /// The ids of the records (orders, refunds, shifts) the OMS has not
    /// stored yet (pending or parked).
    pub async fn unsynced_record_ids(
        &self,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        Ok(self
            .outbox()
            .await?
            .iter()
            .map(|e| e.record_id.to_string())
            .collect())
    }

    pub async fn attempts(&self) -> Result<Vec<Attempt>, StoreError> {
        self.all(PAYMENTS).await
    }

    /// The card attempts of one order (the `order` index).
    pub async fn attempts_of(&self, order_id: &OrderId) -> Result<Vec<Attempt>, StoreError> {
        self.of_order(PAYMENTS, order_id).await
    }

    /// The refunds of one order, oldest first (the `order` index).
    pub async fn refunds_of(&self, order_id: &OrderId) -> Result<Vec<Refund>, StoreError> {
        let mut refunds: Vec<Refund> = self.of_order(REFUNDS, order_id).await?;
        till_core::sorted::sort_by_key(&mut refunds, |r| (r.created_at, r.id));
        Ok(refunds)
    }

    /// The records of `store` that belong to one order (its `order` index).
    async fn of_order<T: serde::de::DeserializeOwned>(
        &self,
        store: &str,
        order_id: &OrderId,
    ) -> Result<Vec<T>, StoreError> {
        let tx = self.read(&[store])?;
        let values = tx
            .object_store(store)?
            .index("order")?
            .get_all(
                Some(Query::Key(JsValue::from_str(&order_id.to_string()))),
                None,
            )?
            .await?;
        let array: js_sys::Array = values.into_iter().collect();
        from_js(array.into())
    }

    /// One refund by its id.
    pub async fn refund(&self, id: &str) -> Result<Option<Refund>, StoreError> {
        self.get(REFUNDS, &JsValue::from_str(id)).await
    }

    /// Every refund on this register.
    pub async fn refunds(&self) -> Result<Vec<Refund>, StoreError> {
        self.all(REFUNDS).await
    }

    /// The orders and refunds of one shift (their `shift` index): its X
    /// report is made of them.
    pub async fn shift_records(
        &self,
        id: &till_core::shift::ShiftId,
    ) -> Result<(Vec<Order>, Vec<Refund>), StoreError> {
        use super::schema::{BY_SHIFT, ORDERS};
        let tx = self.read(&[ORDERS, REFUNDS])?;
        let key = || Query::Key(JsValue::from_str(&id.to_string()));
        let orders = tx
            .object_store(ORDERS)?
            .index(BY_SHIFT)?
            .get_all(Some(key()), None)?;
        let refunds = tx
            .object_store(REFUNDS)?
            .index(BY_SHIFT)?
            .get_all(Some(key()), None)?;
        let as_array =
            |v: Vec<JsValue>| -> JsValue { v.into_iter().collect::<js_sys::Array>().into() };
        let orders = from_js(as_array(orders.await?))?;
        let refunds = from_js(as_array(refunds.await?))?;
        Ok((orders, refunds))
    }

    /// Every shift on this register, oldest first.
    pub async fn shifts(&self) -> Result<Vec<till_core::shift::Shift>, StoreError> {
        let mut all: Vec<till_core::shift::Shift> = self.all(super::schema::SHIFTS).await?;
        till_core::sorted::sort_by_key(&mut all, |s| (s.opened_at, s.id));
        Ok(all)
    }
}
