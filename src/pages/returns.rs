//! A return without a receipt: Register Sales → "Return without receipt".
//! The cashier finds the items brought back (search, or a scanned
//! barcode typed into the field), sets how many of each, and gives the
//! money back in cash: the items at today's prices, priced by the sale's
//! rules ([`till_core::refund::Refund::without_receipt`]). The register
//! allows it only when its settings do, and says so otherwise.

use crate::pages::refund::{ReasonSelect, RefundDone};
use crate::runner::{act, new_refund_id};
use crate::state::{use_app, Screen};
use leptos::prelude::*;
use till_core::cart::{Cart, CartError};
use till_core::catalog::Catalog;
use till_core::refund::RefundReason;
use till_core::register::answers::Answer;
use till_core::register::{Action, RETURNS_NOT_ALLOWED};
use till_core::search::RESULTS_MAX;

/// Products listed for a search, at most: the cashier narrows it down.
const MATCHES_SHOWN: usize = 8;

#[component]
pub fn ReturnPage() -> impl IntoView {
    let app = use_app();
    app.clear(Answer::Refunded);
    let id = new_refund_id(&app);
    let allowed = untrack(|| app.register(|r| r.returns_allowed())).unwrap_or(false);
    view! {
        <section class="page refund return">
            <h1>"Return without receipt"</h1>
            {if allowed {
                view! { <ReturnForm id=id/> }.into_any()
            } else {
                view! {
                    <p role="alert" class="error">{RETURNS_NOT_ALLOWED}</p>
                    <a class="button" href=Screen::Sales.href()>"Back to Register Sales"</a>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn ReturnForm(id: Option<till_core::refund::RefundId>) -> impl IntoView {
    let app = use_app();
    let cart = RwSignal::new(Cart::new(app.currency()));
    let reason = RwSignal::new(None::<RefundReason>);
    let total = move || cart.with(|c| c.totals().ok().map(|t| t.total));
    let confirm = move |_| {
        let Some(id) = id else { return };
        app.clear(Answer::RefundRefused);
        act(
            &app,
            Action::ReturnWithoutReceipt {
                id,
                cart: cart.get_untracked(),
                reason: reason.get_untracked(),
            },
        );
    };
    let (refused, done) = crate::pages::refund::answers(app, id);
    view! {
        <Show when=move || done().is_none() fallback=move || view! { <RefundDone refund=done().expect("shown when done")/> }>
            <FindItem cart/>
            <fieldset class="refund-lines">
                <legend>"Items coming back"</legend>
                <ReturnLines cart=cart/>
            </fieldset>
            <ReasonSelect reason=reason/>
            {move || total().filter(|t| !t.is_zero()).map(|t| view! {
                <div class="refund-summary" aria-label="Refund summary">
                    <p>"Refund total: " <strong>{t.to_string()}</strong></p>
                    <ul aria-label="Money back"><li>{format!("Cash: give back {t}")}</li></ul>
                    <button class="primary" on:click=confirm>{format!("Refund {t}")}</button>
                </div>
            })}
        </Show>
        {move || refused().map(|m| view! { <p role="alert" class="error">{m}</p> })}
    }
}

/// "Find the item": a name lists what matches; a scanned barcode adds it.
#[component]
fn FindItem(cart: RwSignal<Cart>) -> impl IntoView {
    let app = use_app();
    let query = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let matches = move || {
        let view = app.catalog.get()?;
        let q = query.get();
        if q.trim().is_empty() {
            return None;
        }
        app.indexed.track();
        let (slots, _) = view.index()?.search(&q, RESULTS_MAX);
        let shown = slots.into_iter().take(MATCHES_SHOWN).map(|s| {
            let p = view.product(s as usize);
            (p.id.clone(), p.name.clone(), p.price.to_string())
        });
        Some(shown.collect::<Vec<_>>())
    };
    // Adds to the return what `add` finds in the catalog.
    let take =
        move |add: &dyn Fn(&mut Cart, &Catalog) -> Result<(), CartError>| -> Result<(), CartError> {
            let Some(view) = app.catalog.get_untracked() else {
                return Ok(());
            };
            let mut c = cart.get_untracked();
            add(&mut c, &view.catalog)?;
            cart.set(c);
            problem.set(None);
            query.set(String::new());
            Ok(())
        };
    let add = move |id: till_core::catalog::ProductId| {
        if let Err(e) = take(&|c, catalog| c.add_by_id(catalog, &id).map(|_| ())) {
            problem.set(Some(e.to_string()));
        }
    };
    let scan = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = query.get_untracked();
        // Not a barcode: the list below shows what the name matches.
        let _ = take(&|c, catalog| c.add_by_barcode(catalog, code.trim()).map(|_| ()));
    };
    view! {
        <form class="find-item" on:submit=scan>
            <label class="field">
                <span>"Find the item (name or barcode)"</span>
                <input type="search" autocomplete="off" prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
            </label>
        </form>
        <ul class="matches" aria-label="Matching products">
            {move || matches().unwrap_or_default().into_iter().map(|(pid, name, price)| {
                let label = format!("Add {name}");
                view! { <li><button class="secondary" aria-label=label on:click=move |_| add(pid.clone())>{format!("{name} · {price}")}</button></li> }
            }).collect_view()}
        </ul>
        {move || problem.get().map(|p| view! { <p role="alert" class="error">{p}</p> })}
    }
}

/// The items on the return, each with its quantity (0 takes it off).
#[component]
fn ReturnLines(cart: RwSignal<Cart>) -> impl IntoView {
    move || {
        let lines = cart.with(|c| c.lines.clone());
        if lines.is_empty() {
            return view! { <p class="hint">"Find the items the customer brings back."</p> }
                .into_any();
        }
        view! {
            <ul>
                {lines.into_iter().map(|l| {
                    let label = format!("Quantity to return: {}", l.name);
                    let pid = l.product_id.clone();
                    view! {
                        <li>
                            <span class="name">{l.name.clone()}</span>
                            <span class="sold">{l.unit_price.to_string()}</span>
                            <input type="number" inputmode="numeric" min="0" aria-label=label
                                prop:value=l.quantity.to_string()
                                on:change=move |ev| {
                                    let n = event_target_value(&ev).trim().parse::<u32>().unwrap_or(0);
                                    cart.update(|c| {
                                        let _ = if n == 0 { c.remove(&pid) } else { c.set_quantity(&pid, n) };
                                    });
                                }/>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }.into_any()
    }
}
