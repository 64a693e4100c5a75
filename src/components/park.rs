//! "Park" and "Parked (n)": the current cart set aside with a label while
//! another customer is served, and resumed with one tap. The register
//! decides (nothing paid, a cart to park, an empty cart to resume into);
//! this panel sends the taps and lists what it says is parked.

use crate::runner::act;
use crate::state::use_app;
use leptos::prelude::*;
use till_core::park::{ParkedCart, PARK_LABEL_LEN_MAX};
use till_core::register::Action;

fn summary(p: &ParkedCart) -> String {
    let total = p
        .cart
        .totals()
        .map(|t| t.total.to_string())
        .unwrap_or_default();
    format!("{} · {} items · {total}", p.label, p.cart.item_count())
}

#[component]
pub fn ParkPanel(empty: Signal<bool>) -> impl IntoView {
    let app = use_app();
    let naming = RwSignal::new(false);
    let listing = RwSignal::new(false);
    let label = RwSignal::new(String::new());
    let parked = move || app.register(|r| r.parked().to_vec()).unwrap_or_default();
    let park = move || {
        act(
            &app,
            Action::Park {
                label: label.get_untracked(),
            },
        );
        label.set(String::new());
        naming.set(false);
    };
    view! {
        <div class="park" role="group" aria-label="Parked carts">
            <Show
                when=move || naming.get()
                fallback=move || view! {
                    <button class="secondary" disabled=empty on:click=move |_| naming.set(true)>"Park"</button>
                }
            >
                <form class="park-label" on:submit=move |ev| { ev.prevent_default(); park(); }>
                    <label class="field">
                        <span>"Label (optional)"</span>
                        <input type="text" maxlength=PARK_LABEL_LEN_MAX.to_string() autocomplete="off"
                            prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/>
                    </label>
                    <button type="submit">"Park cart"</button>
                    <button type="button" class="secondary" on:click=move |_| naming.set(false)>"Cancel"</button>
                </form>
            </Show>
            {move || {
                let n = parked().len();
                (n > 0).then(|| view! {
                    <button class="secondary" aria-expanded=move || listing.get().to_string() on:click=move |_| listing.update(|l| *l = !*l)>
                        {format!("Parked ({n})")}
                    </button>
                })
            }}
            <Show when=move || listing.get() && !parked().is_empty()>
                <ul class="parked-list" aria-label="Parked">
                    {move || parked().into_iter().map(|p| {
                        let id = p.id;
                        let name = format!("Resume {}", p.label);
                        view! {
                            <li>
                                <span>{summary(&p)}</span>
                                <button aria-label=name on:click=move |_| { listing.set(false); act(&app, Action::Resume { id }); }>"Resume"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
        </div>
    }
}
