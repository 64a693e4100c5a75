//! The app's state, shared through context. The register's state lives in
//! till-core's [`Register`] (one machine, driven by [`crate::runner`]);
//! pages read it through [`AppState::register`], which tracks `rev` so a
//! view re-renders after every input. What only the screen needs (messages,
//! where to go next) sits in signals beside it.

use crate::store::repo::{CatalogMeta, Settings};
use crate::store::Db;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use till_core::cart::Cart;
use till_core::catalog::{Catalog, Category, Product, ProductId};
use till_core::order::OrderId;
use till_core::refund::{Refund, RefundId};
use till_core::register::{Notice, Register};
use till_core::search::SearchIndex;

/// The catalog as the register uses it: the checked catalog for cart
/// rules, its active products in name order (a search slot is an index
/// into `order`), and the search index once built: the tiles show before
/// it, and [`build_index`] builds it a segment at a time between frames.
pub struct CatalogView {
    pub catalog: Catalog,
    order: Vec<ProductId>,
    index: std::sync::OnceLock<SearchIndex>,
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
        Ok(CatalogView::from_catalog(meta, catalog))
    }

    /// The view of a catalog already checked (a download just swapped in).
    pub fn from_catalog(meta: CatalogMeta, catalog: Catalog) -> CatalogView {
        let mut active: Vec<&Product> = catalog.products().filter(|p| p.active).collect();
        active.sort_by_cached_key(|p| (p.name.to_lowercase(), p.id.clone()));
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
        CatalogView {
            catalog,
            order,
            index: std::sync::OnceLock::new(),
            by_category,
            categories,
            meta,
        }
    }

    /// The search index; `None` until [`build_index`] has built it.
    pub fn index(&self) -> Option<&SearchIndex> {
        self.index.get()
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

/// Every field is a signal or a stored value, so the state is `Copy`:
/// views and handlers capture it freely.
#[derive(Clone, Copy)]
pub struct AppState {
    db: StoredValue<Db, LocalStorage>,
    pub settings: RwSignal<Option<Settings>>,
    pub catalog: RwSignal<Option<Arc<CatalogView>>>,
    /// (done, total) while a catalog download runs.
    pub download: RwSignal<Option<(u64, u64)>>,
    pub persistent: RwSignal<Option<bool>>,
    /// A problem the cashier must see (storage, network, bad data).
    pub alert: RwSignal<Option<String>>,
    /// Whether this tab owns the register (Web Locks); `None` while asking.
    pub owner: RwSignal<Option<bool>>,
    /// A new version has installed and waits for "reload".
    pub update_available: RwSignal<bool>,
    /// The register: every rule of the till, as one sans-IO machine. `None`
    /// until this tab owns the register and it is set up.
    pub machine: StoredValue<Option<Register>, LocalStorage>,
    /// Bumped after every input to the register: views that read it re-render.
    pub rev: RwSignal<u64>,
    /// The register's one timer (dropping it cancels it).
    pub timer: StoredValue<Option<Timeout>, LocalStorage>,
    /// Which register answers belong to: a new one (Settings saved) does not
    /// take the answers to its predecessor's requests.
    pub generation: StoredValue<u64>,
    /// Why the last card payment ended, a refused cash amount: the payment page.
    pub pay_message: RwSignal<Option<String>>,
    /// Why the cart could not change: the register page.
    pub register_message: RwSignal<Option<String>>,
    /// The last sale ended (paid, or closed unpaid): the register page.
    pub notice: RwSignal<Option<Notice>>,
    /// Where to go next (set by code outside components; the shell navigates).
    pub goto: RwSignal<Option<String>>,
    /// An order's receipt to print now (the notice's button, or automatic).
    pub print: RwSignal<Option<OrderId>>,
    /// Bumped when an order is written: pages showing orders read them again.
    pub orders_rev: RwSignal<u64>,
    /// The answer to an action on one order (Void, Download).
    pub order_message: RwSignal<Option<(OrderId, String)>>,
    /// Bumped when a catalog's search index is ready.
    pub indexed: RwSignal<u64>,
    /// The refund just written (Confirm on the refund screen).
    pub refund_done: RwSignal<Option<Refund>>,
    /// Why a refund was not written.
    pub refund_message: RwSignal<Option<(RefundId, String)>>,
    /// Why the sign-in screen did not sign anyone in.
    pub sign_in_message: RwSignal<Option<String>>,
    /// Why a manager's PIN did not approve the action waiting for it.
    pub approval_message: RwSignal<Option<String>>,
    /// Bumped when Settings may be saved (a manager, or approved by one).
    pub settings_authorized: RwSignal<u64>,
    /// The shift as last written (a close shows its Z report).
    pub shift_done: RwSignal<Option<till_core::shift::Shift>>,
    /// Why a shift was not opened, changed or closed.
    pub shift_message: RwSignal<Option<String>>,
    /// What was done to the shift ("Drawer opened (no sale).").
    pub shift_notice: RwSignal<Option<String>>,
}

impl AppState {
    /// The state of a register that has just opened its database.
    pub fn new(db: Db) -> AppState {
        AppState {
            db: StoredValue::new_local(db),
            settings: RwSignal::new(None),
            catalog: RwSignal::new(None),
            download: RwSignal::new(None),
            persistent: RwSignal::new(None),
            alert: RwSignal::new(None),
            owner: RwSignal::new(None),
            update_available: RwSignal::new(false),
            machine: StoredValue::new_local(None),
            rev: RwSignal::new(0),
            timer: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            pay_message: RwSignal::new(None),
            register_message: RwSignal::new(None),
            notice: RwSignal::new(None),
            goto: RwSignal::new(None),
            print: RwSignal::new(None),
            orders_rev: RwSignal::new(0),
            order_message: RwSignal::new(None),
            indexed: RwSignal::new(0),
            refund_done: RwSignal::new(None),
            refund_message: RwSignal::new(None),
            sign_in_message: RwSignal::new(None),
            approval_message: RwSignal::new(None),
            settings_authorized: RwSignal::new(0),
            shift_done: RwSignal::new(None),
            shift_message: RwSignal::new(None),
            shift_notice: RwSignal::new(None),
        }
    }

    /// The register's database (a handle: cheap to clone).
    pub fn db(&self) -> Db {
        self.db.get_value()
    }

    /// Reads the register (tracked: re-runs after every input). `None`
    /// before it is started.
    pub fn register<T>(&self, f: impl FnOnce(&Register) -> T) -> Option<T> {
        self.rev.track();
        self.machine.with_value(|m| m.as_ref().map(f))
    }

    /// The current sale's cart (empty before the register has loaded).
    pub fn cart(&self) -> Cart {
        let currency = self.currency();
        self.register(|r| r.sale().map(|s| s.cart.clone()))
            .flatten()
            .unwrap_or_else(|| Cart::new(currency))
    }

    /// The settings, or the error that says the register is not set up.
    pub fn set_up(&self) -> Result<Settings, crate::error::AppError> {
        self.settings
            .get_untracked()
            .ok_or(crate::error::AppError::Rule(
                "Set up the register first.".into(),
            ))
    }

    /// Today's business day on this tablet's clock (a wrong clock is an
    /// error the cashier can fix, not a panic).
    pub fn business_day(&self) -> Result<till_core::order::BusinessDate, crate::error::AppError> {
        till_core::order::BusinessDate::at(
            crate::platform::now(),
            crate::platform::utc_offset_min(),
        )
        .map_err(crate::error::AppError::from)
    }

    /// The catalog's currency (what a new cart holds).
    pub fn currency(&self) -> till_core::money::Currency {
        self.catalog
            .with_untracked(|c| c.as_ref().map(|c| c.meta.currency))
            .unwrap_or(till_core::money::Currency::EUR)
    }
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

/// Builds `view`'s search index one segment at a time, yielding to the
/// browser between segments (each a few tens of milliseconds), so the
/// register stays responsive while a large catalog is indexed.
pub async fn build_index(state: AppState, view: Arc<CatalogView>) {
    let mut index = SearchIndex::default();
    let mut slot = 0;
    while slot < view.len() {
        let end = (slot + till_core::search::SEGMENT_LEN).min(view.len());
        let products: Vec<&Product> = (slot..end).map(|s| view.product(s)).collect();
        index.extend(&products);
        slot = end;
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
    let _ = view.index.set(index);
    state.indexed.update(|n| *n += 1);
}
