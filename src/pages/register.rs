//! The Register page: where a sale is rung up. Category tabs, a search box,
//! product tiles, barcode scanning, and the cart.

use crate::components::cart::CartPanel;
use crate::runner::edit_cart;
use crate::state::{use_app, AppState, Screen};
use leptos::ev;
use leptos::prelude::*;
use till_core::money::grouped;
use till_core::register::answers::Answer;
use till_core::register::UiEvent;
use till_core::search::RESULTS_MAX;

/// A scanner types a whole code within this many milliseconds between keys;
/// a person does not.
const SCAN_KEY_GAP_MS: f64 = 60.0;
/// Tiles shown for a category before asking to search (a search shows
/// till-core's [`RESULTS_MAX`]).
const CATEGORY_TILES_MAX: usize = 200;

/// Adds products to the cart through the register; what it refuses (or
/// what a scan added) shows in `notice`.
#[derive(Clone, Copy)]
struct Adder {
    app: AppState,
    notice: RwSignal<Option<String>>,
}

impl Adder {
    /// Why the cart may not change now: the register's rule (a payment
    /// made, a card payment live).
    fn locked(self) -> Option<String> {
        self.app
            .till
            .peek(|r| r.cart_locked().err())
            .flatten()
            .map(|e| e.to_string())
    }

    /// The product in search slot `slot`.
    fn slot(self, slot: usize) {
        if let Some(why) = self.locked() {
            return self.notice.set(Some(why));
        }
        let Some(view) = self.app.catalog.get_untracked() else {
            return;
        };
        let id = view.product(slot).id.clone();
        match edit_cart(&self.app, |c| c.add_by_id(&view.catalog, &id).map(|_| ())) {
            Ok(()) => self.notice.set(None),
            Err(e) => self.notice.set(Some(e.to_string())),
        }
    }

    /// The product a barcode names; whether one was added.
    fn barcode(self, code: &str) -> bool {
        if let Some(why) = self.locked() {
            self.notice.set(Some(why));
            return false;
        }
        let Some(view) = self.app.catalog.get_untracked() else {
            return false;
        };
        let mut name = String::new();
        let result = edit_cart(&self.app, |c| {
            c.add_by_barcode(&view.catalog, code)
                .map(|l| name = l.name.clone())
        });
        let added = result.is_ok();
        self.notice.set(Some(
            result.map_or_else(|e| e.to_string(), |()| format!("Added {name}")),
        ));
        added
    }
}

/// Scanners type digits then Enter, wherever the focus is. Keys typed
/// into a field stay that field's (the search box handles Enter itself).
fn listen_for_scanner(adder: Adder) {
    let buffer = StoredValue::new((String::new(), 0.0f64));
    let handle = window_event_listener(ev::keydown, move |e: web_sys::KeyboardEvent| {
        let in_field = e
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if in_field {
            return;
        }
        let now = js_sys::Date::now();
        let key = e.key();
        buffer.update_value(|(buf, last)| {
            if now - *last > SCAN_KEY_GAP_MS * 10.0 {
                buf.clear();
            }
            *last = now;
            if key.len() == 1 && key.chars().all(|c| c.is_ascii_alphanumeric()) {
                buf.push_str(&key);
            } else if key == "Enter" && buf.len() >= 4 {
                let code = std::mem::take(buf);
                adder.barcode(&code);
            } else if key != "Shift" {
                buf.clear();
            }
        });
    });
    on_cleanup(move || handle.remove());
}

/// What the tiles show, and how many matched.
type Shown = Memo<Option<(Vec<usize>, usize)>>;

/// Search results, or the chosen category. `None` while a search waits for
/// a large catalog's index to be built (the summary says so).
fn shown_slots(
    app: AppState,
    query: RwSignal<String>,
    category: RwSignal<Option<String>>,
) -> Shown {
    Memo::new(move |_| {
        let Some(view) = app.catalog.get() else {
            return Some((Vec::new(), 0));
        };
        let q = query.get();
        if !q.trim().is_empty() {
            app.indexed.track();
            let (slots, total) = view.index()?.search(&q, RESULTS_MAX);
            return Some((slots.into_iter().map(|s| s as usize).collect(), total));
        }
        let cat = category
            .get()
            .or_else(|| view.categories.first().map(|c| c.id.to_string()));
        let all = cat.and_then(|c| view.by_category.get(&c));
        Some(all.map_or((Vec::new(), 0), |all| {
            (
                all.iter().take(CATEGORY_TILES_MAX).copied().collect(),
                all.len(),
            )
        }))
    })
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let app = use_app();
    let query = RwSignal::new(String::new());
    let category = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let adder = Adder { app, notice };
    listen_for_scanner(adder);
    let shown = shown_slots(app, query, category);
    view! {
        <section class="page register" aria-labelledby="register-heading">
            <h1 id="register-heading">"Register"</h1>
            <SaleNotices/>
            <div class="register-layout">
                <div class="catalog">
                    <SearchBox query adder/>
                    <CategoryTabs query category/>
                    {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
                    <TilesSummary shown query/>
                    <ProductTiles shown adder/>
                </div>
                <CartPanel/>
            </div>
        </section>
    }
}

/// The last sale's notice, the register's word on the cart, and a missing
/// shift.
#[component]
fn SaleNotices() -> impl IntoView {
    let app = use_app();
    // Redrawn when a shift opens or closes, not at every answer.
    let no_shift = Memo::new(move |_| app.register(|r| r.shift().is_none()).unwrap_or(false));
    view! {
        {move || app.answer(Answer::Notice, |e| match e {
            UiEvent::Notice(n) => Some(n.clone()),
            _ => None,
        }).map(|n| {
            let receipt = n.receipt;
            view! {
                <div class="sale-notice" role="alert">
                    <span>{n.text.clone()}</span>
                    <span class="sale-notice-actions">
                        {receipt.map(|id| view! {
                            <button on:click=move |_| app.show(UiEvent::Print(id))>"Print receipt"</button>
                        })}
                        <button on:click=move |_| app.clear(Answer::Notice)>"OK"</button>
                    </span>
                </div>
            }
        })}
        {move || app.said(Answer::RegisterMessage).map(|m| view! {
            <p class="notice" role="status">{m}</p>
        })}
        {move || no_shift.get().then(|| view! {
            <div class="sale-notice no-shift" role="alert">
                <span>"No shift is open: nobody sells until one is."</span>
                <a class="button primary" href=Screen::Shift.href()>"Open shift"</a>
            </div>
        })}
    }
}

/// The search box; Enter on a code adds the product it names.
#[component]
fn SearchBox(query: RwSignal<String>, adder: Adder) -> impl IntoView {
    let enter = move |ev: web_sys::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        let q = query.get_untracked();
        let code = q.trim();
        if !code.is_empty()
            && code.bytes().all(|b| b.is_ascii_alphanumeric())
            && adder.barcode(code)
        {
            query.set(String::new());
        }
    };
    view! {
        <input
            class="search"
            type="search"
            aria-label="Search products"
            placeholder="Search products"
            autocomplete="off"
            prop:value=move || query.get()
            on:input=move |ev| query.set(event_target_value(&ev))
            on:keydown=enter
        />
    }
}

#[component]
fn CategoryTabs(query: RwSignal<String>, category: RwSignal<Option<String>>) -> impl IntoView {
    let app = use_app();
    let tabs = move || {
        let Some(view) = app.catalog.get() else {
            return ().into_any();
        };
        let first = view.categories.first().map(|c| c.id.to_string());
        view.categories
            .iter()
            .map(|c| {
                let id = c.id.to_string();
                let id2 = id.clone();
                let first = first.clone();
                let selected = move || category.get().or(first.clone()).as_deref() == Some(id.as_str()) && query.get().trim().is_empty();
                view! {
                    <button
                        role="tab"
                        class="tab"
                        aria-selected=move || selected().to_string()
                        on:click=move |_| { category.set(Some(id2.clone())); query.set(String::new()); }
                    >{c.name.clone()}</button>
                }
            })
            .collect_view()
            .into_any()
    };
    view! { <div class="tabs" role="tablist" aria-label="Categories">{tabs}</div> }
}

/// How many matched, when not all are shown.
#[component]
fn TilesSummary(shown: Shown, query: RwSignal<String>) -> impl IntoView {
    let summary = move || {
        let Some((slots, total)) = shown.get() else {
            return Some("Preparing search…".to_owned());
        };
        if total > slots.len() {
            Some(format!(
                "Showing {} of {}: type to narrow",
                grouped(slots.len() as u64),
                grouped(total as u64)
            ))
        } else if total == 0 && !query.get().trim().is_empty() {
            Some("No product matches".to_owned())
        } else {
            None
        }
    };
    view! { {move || summary().map(|s| view! { <p class="summary">{s}</p> })} }
}

#[component]
fn ProductTiles(shown: Shown, adder: Adder) -> impl IntoView {
    let app = use_app();
    // Keyed by (catalog, slot): a tile that stays from one keystroke to the
    // next keeps its element, so typing rebuilds only the tiles that change;
    // a new catalog makes new tiles.
    let tile_keys = move || {
        let Some(view) = app.catalog.get() else {
            return Vec::new();
        };
        let catalog = std::sync::Arc::as_ptr(&view) as usize;
        let (slots, _) = shown.get().unwrap_or_default();
        slots
            .into_iter()
            .map(|slot| (catalog, slot))
            .collect::<Vec<_>>()
    };
    let tile = move |(_, slot): (usize, usize)| {
        app.catalog.get_untracked().map(|view| {
            let p = view.product(slot);
            let name = p.name.clone();
            let label = name.clone();
            let price = p.price.to_string();
            view! {
                <button class="tile" aria-label=label on:click=move |_| adder.slot(slot)>
                    <span class="tile-name">{name}</span>
                    <span class="tile-price">{price}</span>
                </button>
            }
        })
    };
    view! {
        <Show
            when=move || app.catalog.get().is_some()
            fallback=move || view! {
                <p class="empty">{move || if app.download.get().is_some() { "Downloading the catalog…" } else { "No catalog yet: the register downloads it from the back office as soon as it is reachable." }}</p>
            }
        >
            <div class="tiles"><For each=tile_keys key=|k| *k children=tile/></div>
        </Show>
    }
}
