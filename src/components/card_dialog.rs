//! The "Card payment" popup (or "Card refund"), above every page while a
//! card payment or a card refund is live.
//! It renders till-core's view of the attempt and sends the cashier's
//! buttons to the register; it decides nothing.

use crate::platform;
use crate::runner::act;
use crate::state::use_app;
use leptos::prelude::*;
use till_core::register::Action;

#[component]
pub fn CardDialog() -> impl IntoView {
    let app = use_app();
    let open = move || app.register(|r| r.popup(platform::now()).is_some()) == Some(true);
    let heading = move || {
        app.register(|r| r.popup(platform::now()).map(|v| v.heading()))
            .flatten()
            .unwrap_or("Card payment")
    };
    view! {
        <Show when=open>
            <div class="backdrop">
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="card-title">
                    <h2 id="card-title">{heading}</h2>
                    <CardBody/>
                </div>
            </div>
        </Show>
    }
}

/// The popup's content. Mounted only while the popup is open, so its
/// countdown ticker runs only then.
#[component]
fn CardBody() -> impl IntoView {
    let app = use_app();
    let tick = RwSignal::new(0u64);
    let handle = set_interval_with_handle(
        move || tick.update(|t| *t += 1),
        std::time::Duration::from_millis(250),
    )
    .ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    move || {
        tick.track();
        let v = app.register(|r| r.popup(platform::now())).flatten()?;
        Some(view! {
            <p class="card-amount">{v.amount.to_string()}</p>
            <p class="card-state" role="status">{v.title()}</p>
            <p class="card-instruction">{v.instruction()}</p>
            {v.note.clone().map(|n| view! { <p class="note">{n}</p> })}
            {v.cancel_secs_left.map(|s| view! {
                <button class="cancel" on:click=move |_| act(&app, Action::CancelCard)>{format!("Cancel ({s} s)")}</button>
            })}
            {v.resyncs_left.map(|left| view! {
                <button class="resync" disabled=v.resync_running on:click=move |_| act(&app, Action::Resync)>
                    {format!("Re-sync ({left} left)")}
                </button>
            })}
            {v.can_close.then(|| view! {
                <button class="close" on:click=move |_| act(&app, Action::CloseCard)>"Close & back to Register"</button>
            })}
        })
    }
}
