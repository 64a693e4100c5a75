//! The status bar on every page: is the back office there, how much has not
//! reached it, is the bridge there, will the browser keep our data. Also
//! where alerts and the catalog download's progress show.

use crate::state::{use_app, Screen};
use leptos::prelude::*;
use till_core::money::grouped;
use till_core::register::answers::Answer;
use till_core::register::{Reach, Status};

#[component]
pub fn StatusBar() -> impl IntoView {
    let app = use_app();
    view! {
        // The live status is its own element: `status` is not a role a
        // <header> may take (axe: aria-allowed-role), and the pages' links
        // are not status.
        <header class="status-bar">
            <a class="brand" href=Screen::Register.href()>"Till"</a>
            <StatusPills/>
            <CashierNav/>
        </header>
        {move || app.download.get().map(|(done, total)| view! {
            <div class="download">
                <label for="catalog-progress">{format!("Downloading catalog {} / {}", grouped(done), grouped(total))}</label>
                <progress id="catalog-progress" max=total.to_string() value=done.to_string()></progress>
            </div>
        })}
        {move || app.update_available.get().then(|| view! {
            <div class="update" role="status">
                <span>"A new version of Till is ready."</span>
                <button on:click=move |_| crate::pwa::apply_update()>"Update available — reload"</button>
            </div>
        })}
        {move || app.said(Answer::Alert).map(|msg| view! {
            <div class="alert" role="alert">
                <span>{msg}</span>
                <button on:click=move |_| app.clear(Answer::Alert)>"Dismiss"</button>
            </div>
        })}
    }
}

/// The back office, the unsynced count, the bridge and the storage.
#[component]
fn StatusPills() -> impl IntoView {
    let app = use_app();
    let status = Memo::new(move |_| -> Status {
        app.register(|r| r.status()).unwrap_or(Status {
            oms: Reach::Unknown,
            bridge: till_core::lan::BridgeLink::Unknown,
            unsynced: 0,
            parked: 0,
            progress: None,
        })
    });
    let oms = move || match status.get().oms {
        Reach::Online => ("Online", "ok"),
        Reach::Offline => ("Offline", "bad"),
        Reach::Unknown => ("Checking…", "unknown"),
        Reach::Removed => (till_core::api::REGISTER_REMOVED, "bad"),
    };
    let bridge = move || status.get().bridge.label();
    let storage = move || match app.persistent.get() {
        Some(true) => "Storage: persistent",
        Some(false) => "Storage: not persistent",
        None => "Storage: unknown",
    };
    let unsynced = move || {
        let s = status.get();
        match s.progress {
            Some(p) => {
                let (done, total) = (grouped(p.done as u64), grouped(p.total as u64));
                format!("Syncing {done} / {total}")
            }
            None => format!("{} unsynced", s.unsynced),
        }
    };
    view! {
        <div class="status" role="status" aria-label="Status">
            <span class=move || format!("pill {}", oms().1)>{move || oms().0}</span>
            <a class="pill" href=Screen::Safety.href() aria-label=move || format!("Data safety: {}", unsynced())>{unsynced}</a>
            <span class="pill">{bridge}</span>
            <span class="pill">{storage}</span>
        </div>
    }
}

/// The pages and who is signed in, while someone is.
#[component]
fn CashierNav() -> impl IntoView {
    let app = use_app();
    // Redrawn when the person changes, not at every answer the register gets.
    let cashier = Memo::new(move |_| {
        app.register(|r| r.cashier().map(|c| c.name.clone()))
            .flatten()
    });
    move || {
        cashier.get().map(|name| view! {
            <nav class="nav" aria-label="Pages">
                <a href=Screen::Register.href()>"Register"</a>
                <a href=Screen::Sales.href()>"Register Sales"</a>
                <a href=Screen::Shift.href()>"Shift"</a>
                <a href=Screen::DayEnd.href()>"Day end"</a>
                <a href=Screen::Settings.href()>"Settings"</a>
            </nav>
            <div class="cashier">
                <span aria-label=format!("Signed in: {name}")>{name.clone()}</span>
                <button type="button" on:click=move |_| switch_cashier(app)>"Switch cashier"</button>
            </div>
        })
    }
}

/// "Switch cashier": back to the sign-in screen (the sale stays); the
/// register downloads the staff list again (someone added or disabled since).
fn switch_cashier(app: crate::state::AppState) {
    crate::runner::act(&app, till_core::register::Action::SignOut);
    app.go(Screen::Register);
}
