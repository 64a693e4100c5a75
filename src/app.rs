//! The app shell: opens the store, decides between first-run setup and the
//! register, and keeps the status bar current.

use crate::components::status_bar::StatusBar;
use crate::net::oms::{CatalogSync, Oms};
use crate::pages::pay::PayPage;
use crate::pages::receipt::ReceiptPage;
use crate::pages::register::RegisterPage;
use crate::pages::settings::SettingsPage;
use crate::state::{AppState, CatalogView, Reach};
use crate::store::{Db, DB_NAME};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use std::sync::Arc;
use std::time::Duration;

/// How often the back office is asked whether it is there: "Online" means
/// it answered within about this long.
const HEALTH_INTERVAL: Duration = Duration::from_secs(15);

#[component]
pub fn App() -> impl IntoView {
    let opened = LocalResource::new(|| async { Db::open(DB_NAME).await });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Opening Till…"</p> }>
            {move || opened.get().map(|r| match r {
                Ok(db) => view! { <Shell db=db/> }.into_any(),
                Err(e) => view! {
                    <section class="page"><h1>"Till cannot start"</h1><p role="alert">{e.to_string()}</p></section>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Shell(db: Db) -> impl IntoView {
    let state = AppState::new(db.clone());
    provide_context(state.clone());
    crate::locks::acquire(state.owner);
    crate::pwa::register(state.update_available);
    let loaded = RwSignal::new(false);

    // Start: settings, the stored catalog and cart, then the network.
    {
        let state = state.clone();
        spawn_local(async move {
            match state.db.settings().await {
                Ok(s) => state.settings.set(s),
                Err(e) => state.alert.set(Some(e.to_string())),
            }
            load_catalog(&state).await;
            match state.db.cart().await {
                Ok(Some(cart)) => state.cart.set(cart),
                Ok(None) => {}
                Err(e) => state
                    .alert
                    .set(Some(format!("The open cart could not be restored: {e}"))),
            }
            if let Ok(entries) = state.db.outbox().await {
                state.unsynced.set(entries.len());
            }
            match state.db.current_order().await {
                Ok(order) => state
                    .order
                    .set(order.filter(|o| o.status == till_core::order::OrderStatus::Open)),
                Err(e) => state.alert.set(Some(e.to_string())),
            }
            state
                .persistent
                .set(crate::components::status_bar::persisted().await);
            loaded.set(true);
            // Only the tab that owns the register resumes payments and
            // syncs; another tab waits (and reloads when it takes over).
            while state.owner.get_untracked().is_none() {
                gloo_timers::future::TimeoutFuture::new(20).await;
            }
            if state.owner.get_untracked() != Some(true) {
                return;
            }
            if state.settings.get_untracked().is_some() {
                // A card payment interrupted by a reload or crash comes back first.
                crate::payment::resume(state.clone()).await;
                sync_catalog(state.clone()).await;
            }
            crate::sync::start(state.clone());
        });
    }

    // Save the cart on every change, once it has been restored.
    {
        let state = state.clone();
        Effect::new(move |_| {
            let cart = state.cart.get();
            if !loaded.get() {
                return;
            }
            let db = state.db.clone();
            let alert = state.alert;
            spawn_local(async move {
                if let Err(e) = db.save_cart(&cart).await {
                    alert.set(Some(e.to_string()));
                }
            });
        });
    }

    // Are the back office and the bridge there? Now, whenever the settings
    // change, and on a timer.
    {
        let state = state.clone();
        Effect::new(move |_| {
            if state.settings.get().is_some() {
                spawn_local(check_reach(state.clone()));
            }
        });
    }
    {
        let state = state.clone();
        set_interval(
            move || spawn_local(check_reach(state.clone())),
            HEALTH_INTERVAL,
        );
    }

    // Leaving with unsynced orders asks first: they live only here until synced.
    {
        let unsynced = state.unsynced;
        let handle = window_event_listener(
            leptos::ev::beforeunload,
            move |e: web_sys::BeforeUnloadEvent| {
                if unsynced.get_untracked() > 0 {
                    e.prevent_default();
                    e.set_return_value("Some orders have not reached the back office yet.");
                }
            },
        );
        on_cleanup(move || handle.remove());
    }

    let configured = move || state.settings.get().is_some();
    let owner = state.owner;
    view! {
        <Router>
            <Navigator/>
            <StatusBar/>
            <main class="till">
                <Show when=move || owner.get() != Some(false) fallback=|| view! {
                    <section class="page">
                        <h1>"Till is open in another tab"</h1>
                        <p>"Only one tab can sell at a time. Use the other tab, or close it: this one takes over by itself."</p>
                    </section>
                }>
                <Show when=move || loaded.get() && owner.get() == Some(true) fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    <Show when=configured fallback=|| view! { <SettingsPage first_run=true/> }>
                        <Routes fallback=NotFound>
                            <Route path=path!("/") view=RegisterPage/>
                            <Route path=path!("/pay") view=PayPage/>
                            <Route path=path!("/receipt/:id") view=ReceiptPage/>
                            <Route path=path!("/sales") view=crate::pages::sales::SalesPage/>
                            <Route path=path!("/sales/:id") view=crate::pages::sales::OrderPage/>
                            <Route path=path!("/safety") view=crate::pages::safety::SafetyPage/>
                            <Route path=path!("/day-end") view=crate::pages::dayend::DayEndPage/>
                            <Route path=path!("/settings") view=|| view! { <SettingsPage first_run=false/> }/>
                        </Routes>
                    </Show>
                </Show>
                </Show>
            </main>
        </Router>
    }
}

/// Asks the back office and the bridge whether they are there.
pub async fn check_reach(state: AppState) {
    let Some(s) = state.settings.get_untracked() else {
        return;
    };
    let bridge = crate::net::bridge::Bridge {
        base: s.bridge_url.clone(),
        token: s.pairing_token.clone(),
    };
    let oms = Oms {
        base: s.oms_url,
        token: s.register_token,
    };
    state.oms.set(if oms.health().await.is_ok() {
        Reach::Online
    } else {
        Reach::Offline
    });
    state.bridge.set(if bridge.health().await.is_ok() {
        Reach::Online
    } else {
        Reach::Offline
    });
}

/// Loads the catalog stored in IndexedDB (works offline).
pub async fn load_catalog(state: &AppState) {
    let meta = match state.db.catalog_meta().await {
        Ok(Some(m)) => m,
        Ok(None) => return,
        Err(e) => {
            state.alert.set(Some(e.to_string()));
            return;
        }
    };
    match state.db.products().await {
        Ok(products) => match CatalogView::build(meta, products) {
            Ok(view) => {
                let currency = view.meta.currency;
                state.catalog.set(Some(Arc::new(view)));
                state.cart.update(|c| {
                    if c.is_empty() {
                        c.currency = currency;
                    }
                });
            }
            Err(e) => state.alert.set(Some(e)),
        },
        Err(e) => state.alert.set(Some(e.to_string())),
    }
}

/// Downloads the catalog if it changed, with progress, then loads it.
pub async fn sync_catalog(state: AppState) {
    let Some(s) = state.settings.get_untracked() else {
        return;
    };
    let oms = Oms {
        base: s.oms_url,
        token: s.register_token,
    };
    let download = state.download;
    let result = oms
        .sync_catalog(&state.db, move |done, total| {
            download.set(Some((done, total)))
        })
        .await;
    state.download.set(None);
    match result {
        Ok(CatalogSync::Unchanged) => state.oms.set(Reach::Online),
        Ok(CatalogSync::Downloaded { .. }) => {
            state.oms.set(Reach::Online);
            load_catalog(&state).await;
        }
        Err(crate::net::oms::NetError::Unreachable(_)) => state.oms.set(Reach::Offline),
        Err(e) => state.alert.set(Some(e.to_string())),
    }
}

/// Performs navigations asked for by code outside components.
#[component]
fn Navigator() -> impl IntoView {
    let app = crate::state::use_app();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(to) = app.goto.get() {
            app.goto.set(None);
            navigate(&to, Default::default());
        }
    });
}

/// An unknown address: say so, and offer the way back.
#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to Register"</a></p>
        </section>
    }
}
