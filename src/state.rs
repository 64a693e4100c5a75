//! The app's state, shared through context: plain domain types in signals
//! (`RwSignal<Cart>`), derived values in memos. Effects only talk to the
//! outside world.

use crate::store::repo::{CatalogMeta, Settings};
use crate::store::Db;
use leptos::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use till_core::cart::Cart;
use till_core::catalog::{Catalog, Category, Product, ProductId};
use till_core::search::SearchIndex;

/// The catalog as the register uses it: the checked catalog for cart
/// rules, its active products in name order (a search slot is an index
/// into `order`), and the search index.
pub struct CatalogView {
    pub catalog: Catalog,
    order: Vec<ProductId>,
    pub index: SearchIndex,
    pub by_category: HashMap<String, Vec<usize>>,
    pub categories: Vec<Category>,
    pub meta: CatalogMeta,
}

impl CatalogView {
    /// Builds the view; products that break the catalog's rules are left
    /// out, never trusted.
    pub fn build(meta: CatalogMeta, stored: Vec<Product>) -> Result<CatalogView, String> {
        let products: Vec<Product> = stored
            .into_iter()
            .filter(|p| p.validate().is_ok())
            .collect();
        let catalog = Catalog::new(
            meta.currency,
            meta.categories.clone(),
            meta.tax_rates.clone(),
            products,
        )
        .map_err(|e| {
            format!("the stored catalog is inconsistent ({e}); it will be downloaded again")
        })?;
        let mut active: Vec<&Product> = catalog.products().filter(|p| p.active).collect();
        active.sort_by_cached_key(|p| (p.name.to_lowercase(), p.id.clone()));
        let index = SearchIndex::build(active.iter().copied());
        let mut by_category: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in active.iter().enumerate() {
            by_category
                .entry(p.category.to_string())
                .or_default()
                .push(i);
        }
        let order = active.iter().map(|p| p.id.clone()).collect();
        let categories = meta
            .categories
            .iter()
            .filter(|c| by_category.contains_key(c.id.as_str()))
            .cloned()
            .collect();
        Ok(CatalogView {
            catalog,
            order,
            index,
            by_category,
            categories,
            meta,
        })
    }

    /// The product in search slot `slot` (name order).
    pub fn product(&self, slot: usize) -> &Product {
        self.catalog
            .product(&self.order[slot])
            .expect("slots are built from the catalog's own products")
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// How the back office looks from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Unknown,
    Online,
    Offline,
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: RwSignal<Option<Settings>>,
    pub catalog: RwSignal<Option<Arc<CatalogView>>>,
    pub cart: RwSignal<Cart>,
    /// (done, total) while a catalog download runs.
    pub download: RwSignal<Option<(u64, u64)>>,
    pub oms: RwSignal<Reach>,
    pub bridge: RwSignal<Reach>,
    pub persistent: RwSignal<Option<bool>>,
    pub unsynced: RwSignal<usize>,
    /// A problem the cashier must see (storage, network, bad data).
    pub alert: RwSignal<Option<String>>,
    /// Whether this tab owns the register (Web Locks); `None` while asking.
    pub owner: RwSignal<Option<bool>>,
    /// A new version has installed and waits for "reload".
    pub update_available: RwSignal<bool>,
    /// The order of the sale in progress (created at the first payment).
    pub order: RwSignal<Option<till_core::order::Order>>,
    /// The card payment popup's session.
    pub card: crate::payment::Card,
    /// What the payment page says after a card attempt ended (declined,
    /// cancelled, failed).
    pub pay_message: RwSignal<Option<String>>,
    /// A message for the register page (an order closed unpaid).
    pub notice: RwSignal<Option<String>>,
    /// Where to go next (set by code outside components; the shell navigates).
    pub goto: RwSignal<Option<String>>,
    /// (sent, total) while the sync worker drains the outbox.
    pub sync_progress: RwSignal<Option<(usize, usize)>>,
    /// Bumped to wake the sync worker (a new sale, the network is back).
    pub sync_wake: RwSignal<u64>,
    /// Outbox entries the OMS refused, kept for a person to look at.
    pub parked: RwSignal<usize>,
}

impl AppState {
    /// The state of a register that has just opened its database.
    pub fn new(db: Db) -> AppState {
        AppState {
            db,
            settings: RwSignal::new(None),
            catalog: RwSignal::new(None),
            cart: RwSignal::new(Cart::new(till_core::money::Currency::EUR)),
            download: RwSignal::new(None),
            oms: RwSignal::new(Reach::Unknown),
            bridge: RwSignal::new(Reach::Unknown),
            persistent: RwSignal::new(None),
            unsynced: RwSignal::new(0),
            alert: RwSignal::new(None),
            owner: RwSignal::new(None),
            update_available: RwSignal::new(false),
            order: RwSignal::new(None),
            card: Default::default(),
            pay_message: RwSignal::new(None),
            notice: RwSignal::new(None),
            goto: RwSignal::new(None),
            sync_progress: RwSignal::new(None),
            sync_wake: RwSignal::new(0),
            parked: RwSignal::new(0),
        }
    }
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}
