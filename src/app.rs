//! The app shell: opens the store, decides between first-run setup and the
//! register, starts the register in the tab that owns it, and keeps the
//! card popup and the receipt printer above every page.

use crate::components::card_dialog::CardDialog;
use crate::components::print_area::PrintArea;
use crate::components::status_bar::StatusBar;
use crate::pages::pay::PayPage;
use crate::pages::receipt::ReceiptPage;
use crate::pages::register::RegisterPage;
use crate::pages::settings::SettingsPage;
use crate::pages::signin::SignInPage;
use crate::state::{AppState, Screen};
use crate::store::{Db, DB_NAME};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

#[component]
pub fn App() -> impl IntoView {
    // An older Till's tab holding the database open keeps a newer one from
    // upgrading it: say so instead of "Opening…" forever.
    let blocked = RwSignal::new(false);
    let opened = LocalResource::new(move || async move {
        Db::open_or_wait(DB_NAME, move || blocked.set(true)).await
    });
    view! {
        <Suspense fallback=move || view! {
            <section class="page">
                <p class="loading">"Opening Till…"</p>
                <Show when=move || blocked.get()>
                    <p role="alert">"Till is open in another tab with an older version. Close that tab (or reload it) and Till opens here."</p>
                </Show>
            </section>
        }>
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
    provide_context(state);
    // A newer Till opened in another tab: this one lets go of the database.
    let replaced = RwSignal::new(false);
    db.on_replaced(move || replaced.set(true));
    crate::locks::acquire(state.owner);
    crate::pwa::register(state.update_available);
    let loaded = RwSignal::new(false);
    // Start: settings and the stored catalog.
    spawn_local(async move {
        match state.db().settings().await {
            Ok(s) => state.settings.set(s),
            Err(e) => state.alert(e.to_string()),
        }
        crate::catalog::load(&state).await;
        state.persistent.set(crate::platform::persisted().await);
        loaded.set(true);
    });
    start_when_owner(state, loaded);
    // The browser says the network is back: the register asks at once.
    let online = window_event_listener(leptos::ev::online, move |_| {
        crate::runner::dispatch(&state, till_core::register::Input::Online)
    });
    on_cleanup(move || online.remove());
    ask_before_leaving(state);
    view! {
        <Router>
            <Navigator/>
            <StatusBar/>
            <main class="till">
                <Show when=move || !replaced.get() fallback=|| view! {
                    <section class="page">
                        <h1>"Till was updated; reload"</h1>
                        <p>"A newer Till opened in another tab and took over this register's storage. Reload to continue with it."</p>
                        <button class="primary" on:click=|_| { let _ = window().location().reload(); }>"Reload"</button>
                    </section>
                }>
                <Show when=move || state.owner.get() != Some(false) fallback=|| view! {
                    <section class="page">
                        <h1>"Till is open in another tab"</h1>
                        <p>"Only one tab can sell at a time. Use the other tab, or close it: this one takes over by itself."</p>
                    </section>
                }>
                <Show when=move || loaded.get() && state.owner.get() == Some(true) fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    <Pages/>
                </Show>
                </Show>
                </Show>
            </main>
            // Above every page: a live card payment cannot be left behind by
            // navigating away, and a receipt prints from anywhere.
            <CardDialog/>
            <crate::pages::signin::ApprovalDialog/>
            <PrintArea/>
        </Router>
    }
}

/// Once this tab owns the register (Web Locks) and it is set up, the
/// register starts (and downloads the staff list and the catalog when it
/// wants them). Another tab waits (and reloads when it takes over).
fn start_when_owner(state: AppState, loaded: RwSignal<bool>) {
    let started = StoredValue::new(false);
    Effect::new(move |_| {
        let ready = loaded.get() && state.owner.get() == Some(true);
        if !ready || started.get_value() || state.settings.get_untracked().is_none() {
            return;
        }
        started.set_value(true);
        crate::runner::start(&state);
    });
}

/// Leaving with unsynced orders asks first: they live only here until synced.
fn ask_before_leaving(state: AppState) {
    let handle = window_event_listener(
        leptos::ev::beforeunload,
        move |e: web_sys::BeforeUnloadEvent| {
            let unsynced = state.till.peek(|r| r.status().unsynced).unwrap_or(0);
            if unsynced > 0 {
                e.prevent_default();
                e.set_return_value("Some orders have not reached the back office yet.");
            }
        },
    );
    on_cleanup(move || handle.remove());
}

/// The pages, once the register is set up and someone is signed in.
#[component]
fn Pages() -> impl IntoView {
    let state = crate::state::use_app();
    let configured = move || state.settings.get().is_some();
    // Nobody sells, refunds or voids signed out: every page but the card
    // popup and the printer waits behind the sign-in screen.
    // While the register restarts (Settings → Save) it keeps the answer it
    // had: the page on screen stays.
    let signed_in = Memo::new(move |before: Option<&bool>| {
        let now = state.register(|r| r.is_loaded().then(|| r.cashier().is_some()));
        now.flatten().unwrap_or(before.copied().unwrap_or(false))
    });
    let started = move || state.register(|r| r.is_loaded()).unwrap_or(false);
    view! {
        <Show when=configured fallback=|| view! { <SettingsPage first_run=true/> }>
        <Show when=move || signed_in.get() fallback=move || view! {
            <Show when=started fallback=|| view! { <p class="loading">"Loading…"</p> }>
                <SignInPage/>
            </Show>
        }>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=RegisterPage/>
                <Route path=path!("/pay") view=PayPage/>
                <Route path=path!("/receipt/:id") view=ReceiptPage/>
                <Route path=path!("/sales") view=crate::pages::sales::SalesPage/>
                <Route path=path!("/sales/:id") view=crate::pages::sales::OrderPage/>
                <Route path=path!("/sales/:id/refund") view=crate::pages::refund::RefundPage/>
                <Route path=path!("/refund/:id") view=crate::pages::refund::RefundReceiptPage/>
                <Route path=path!("/return") view=crate::pages::returns::ReturnPage/>
                <Route path=path!("/safety") view=crate::pages::safety::SafetyPage/>
                <Route path=path!("/day-end") view=crate::pages::dayend::DayEndPage/>
                <Route path=path!("/shift") view=crate::pages::shift::ShiftPage/>
                <Route path=path!("/settings") view=|| view! { <SettingsPage first_run=false/> }/>
            </Routes>
        </Show>
        </Show>
    }
}

/// Hands the router's navigation to the app state: code outside the
/// views moves the cashier with [`AppState::go`].
#[component]
fn Navigator() -> impl IntoView {
    let app = crate::state::use_app();
    let navigate = leptos_router::hooks::use_navigate();
    app.set_navigator(move |to| navigate(to, Default::default()));
}

/// An unknown address: say so, and offer the way back.
#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p><a href=Screen::Register.href()>"Back to Register"</a></p>
        </section>
    }
}
