//! The app's state, shared through context. The register's state lives in
//! till-core's [`Register`] (one machine, driven by [`crate::runner`],
//! held by a [`RegisterHandle`]); pages read it through
//! [`AppState::register`], which re-runs a view after every input. What the
//! register said to each screen is one [`Answers`], keyed by the kind of
//! event: a page reads the kind it shows. Moving to another screen is
//! [`AppState::go`] with a typed [`Screen`].

mod handle;
mod routes;

pub use handle::RegisterHandle;
pub use routes::Screen;

use crate::store::repo::CatalogMeta;
use crate::store::Db;
use leptos::prelude::*;
use routes::Navigator;
use std::collections::HashMap;
use std::sync::Arc;
use till_core::cart::Cart;
use till_core::catalog::{Catalog, Category, Product, ProductId};
use till_core::register::answers::{Answer, Answers};
use till_core::register::settings::RegisterSettings;
use till_core::register::{Register, UiEvent};
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
    pub settings: RwSignal<Option<RegisterSettings>>,
    pub catalog: RwSignal<Option<Arc<CatalogView>>>,
    /// (done, total) while a catalog download runs.
    pub download: RwSignal<Option<(u64, u64)>>,
    pub persistent: RwSignal<Option<bool>>,
    /// Whether this tab owns the register (Web Locks); `None` while asking.
    pub owner: RwSignal<Option<bool>>,
    /// A new version has installed and waits for "reload".
    pub update_available: RwSignal<bool>,
    /// Bumped when a catalog's search index is ready.
    pub indexed: RwSignal<u64>,
    /// The register of this tab: every rule of the till, as one sans-IO
    /// machine, with its timer.
    pub till: RegisterHandle,
    /// The register's last word to each screen (and the app's own alerts).
    answers: RwSignal<Answers>,
    /// Moves the cashier to another screen (the router's, once mounted).
    navigator: StoredValue<Navigator, LocalStorage>,
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
            owner: RwSignal::new(None),
            update_available: RwSignal::new(false),
            indexed: RwSignal::new(0),
            till: RegisterHandle::new(),
            answers: RwSignal::new(Answers::default()),
            navigator: StoredValue::new_local(Navigator::default()),
        }
    }

    /// The register's database (a handle: cheap to clone).
    pub fn db(&self) -> Db {
        self.db.get_value()
    }

    /// Reads the register (tracked: re-runs after every input). `None`
    /// before it is started.
    pub fn register<T>(&self, f: impl FnOnce(&Register) -> T) -> Option<T> {
        self.till.read(f)
    }

    /// Puts `event` on screen as its kind's answer.
    pub fn show(&self, event: UiEvent) {
        self.answers.update(|a| a.show(event));
    }

    /// Something the cashier must see wherever they are.
    pub fn alert(&self, text: impl Into<String>) {
        self.show(UiEvent::Alert(text.into()));
    }

    /// Takes the answer of `kind` off the screen.
    pub fn clear(&self, kind: Answer) {
        self.answers.maybe_update(|a| a.clear(kind));
    }

    /// Reads the answer of `kind` (tracked).
    pub fn answer<T>(&self, kind: Answer, read: impl FnOnce(&UiEvent) -> Option<T>) -> Option<T> {
        self.answers.with(|a| a.get(kind).and_then(read))
    }

    /// The sentence the answer of `kind` says (tracked).
    pub fn said(&self, kind: Answer) -> Option<String> {
        self.answers.with(|a| a.text(kind).map(str::to_owned))
    }

    /// Which event the answer of `kind` is: read it in a `Memo` to act on
    /// each new one (and not on the other kinds').
    pub fn answered(&self, kind: Answer) -> u64 {
        self.answers.with(|a| a.number(kind))
    }

    /// [`AppState::answered`] without tracking (an event handler's question).
    pub fn answered_now(&self, kind: Answer) -> u64 {
        self.answers.with_untracked(|a| a.number(kind))
    }

    /// Takes the answer of `kind` once (a receipt to print).
    pub fn take(&self, kind: Answer) -> Option<UiEvent> {
        let mut taken = None;
        self.answers.maybe_update(|a| {
            taken = a.take(kind);
            taken.is_some()
        });
        taken
    }

    /// Moves the cashier to `screen`.
    pub fn go(&self, screen: Screen) {
        let navigate = self
            .navigator
            .try_update_value(|n| n.route(screen))
            .flatten();
        if let Some(navigate) = navigate {
            navigate(&screen.href());
        }
    }

    /// The router's navigation, once it is mounted: a move asked for
    /// before then happens now.
    pub fn set_navigator(&self, navigate: impl Fn(&str) + 'static) {
        let navigate: routes::Navigate = std::rc::Rc::new(navigate);
        let waiting = self
            .navigator
            .try_update_value(|n| n.mount(navigate.clone()))
            .flatten();
        if let Some(screen) = waiting {
            navigate(&screen.href());
        }
    }

    /// The current sale's cart (empty before the register has loaded).
    pub fn cart(&self) -> Cart {
        let currency = self.currency();
        self.register(|r| r.sale().map(|s| s.cart.clone()))
            .flatten()
            .unwrap_or_else(|| Cart::new(currency))
    }

    /// The settings, or the error that says the register is not set up.
    pub fn set_up(&self) -> Result<RegisterSettings, crate::error::AppError> {
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
