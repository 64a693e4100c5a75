//! Register Sales: today's orders of this register, merged from IndexedDB
//! and (when reachable) the back office's copy; each order's details, and
//! its Options: Download (the manual re-sync of the seed article), Print
//! receipt, Void.

use crate::net::oms::Oms;
use crate::pages::pay::tender_text;
use crate::platform;
use crate::sale;
use crate::state::use_app;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use std::collections::HashSet;
use till_core::order::{Order, OrderStatus, UnpaidReason};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Unpaid,
    NotSynced,
}

/// One row: the order, whether it still waits for the OMS, and whether it
/// only exists in the OMS's copy ("online data").
#[derive(Clone)]
struct Row {
    order: Order,
    unsynced: bool,
    online_only: bool,
}

pub fn status_text(o: &Order) -> String {
    match &o.status {
        OrderStatus::Unpaid {
            reason: UnpaidReason::PaymentFailed,
            ..
        } => "unpaid — payment failed, collect again".into(),
        OrderStatus::Unpaid { .. } => "unpaid".into(),
        s => s.label().into(),
    }
}

fn time_of(o: &Order) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        o.created_at.as_millis() as f64
    ));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

#[component]
pub fn SalesPage() -> impl IntoView {
    let app = use_app();
    let filter = RwSignal::new(Filter::All);
    let rows = LocalResource::new({
        let app = app.clone();
        move || {
            let app = app.clone();
            // Reload when a sale or a sync changes things.
            app.unsynced.track();
            app.sync_wake.track();
            async move {
                let Some(settings) = app.settings.get_untracked() else {
                    return Vec::new();
                };
                let today = sale::today();
                let mine = |o: &Order| {
                    o.number.date() == today && o.register().as_str() == settings.register_id
                };
                let outbox = app.db.unsynced_order_ids().await.unwrap_or_default();
                let mut rows: Vec<Row> = app
                    .db
                    .orders()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(mine)
                    .map(|o| Row {
                        unsynced: outbox.contains(&o.id.to_string()),
                        order: o,
                        online_only: false,
                    })
                    .collect();
                let oms = Oms {
                    base: settings.oms_url.clone(),
                    token: settings.register_token.clone(),
                };
                if let Ok(list) = oms.day(&settings.register_id, today).await {
                    let known: HashSet<_> = rows.iter().map(|r| r.order.id).collect();
                    rows.extend(
                        list.orders
                            .into_iter()
                            .filter(|s| !known.contains(&s.order.id))
                            .map(|s| Row {
                                order: s.order,
                                unsynced: false,
                                online_only: true,
                            }),
                    );
                }
                rows.sort_by(|a, b| {
                    b.order
                        .created_at
                        .cmp(&a.order.created_at)
                        .then(b.order.number.seq().cmp(&a.order.number.seq()))
                });
                rows
            }
        }
    });
    let filter_button = move |label: &'static str, f: Filter| {
        view! {
            <button role="tab" aria-selected=move || (filter.get() == f).to_string() on:click=move |_| filter.set(f)>{label}</button>
        }
    };
    view! {
        <section class="page sales">
            <h1>"Register Sales"</h1>
            <div class="tabs" role="tablist" aria-label="Show">
                {filter_button("All", Filter::All)}
                {filter_button("Unpaid", Filter::Unpaid)}
                {filter_button("Not synced", Filter::NotSynced)}
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || rows.get().map(|rows| {
                    let f = filter.get();
                    let shown: Vec<Row> = rows.into_iter().filter(|r| match f {
                        Filter::All => true,
                        Filter::Unpaid => matches!(r.order.status, OrderStatus::Unpaid { .. }),
                        Filter::NotSynced => r.unsynced,
                    }).collect();
                    if shown.is_empty() {
                        return view! { <p class="empty">"No orders to show."</p> }.into_any();
                    }
                    view! {
                        <table class="sales-table">
                            <thead><tr><th>"Order"</th><th>"Time"</th><th>"Total"</th><th>"Status"</th></tr></thead>
                            <tbody>
                                {shown.into_iter().map(|r| {
                                    let href = format!("/sales/{}", r.order.id);
                                    view! {
                                        <tr>
                                            <td><a href=href>{r.order.number.to_string()}</a></td>
                                            <td>{time_of(&r.order)}</td>
                                            <td>{r.order.totals.total.to_string()}</td>
                                            <td>
                                                <span class="status">{status_text(&r.order)}</span>
                                                {r.unsynced.then(|| view! { <span class="flag">" · not synced"</span> })}
                                                {r.online_only.then(|| view! { <span class="flag">" · online data"</span> })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let order = RwSignal::new(None::<Order>);
    let attempts = RwSignal::new(Vec::new());
    let message = RwSignal::new(None::<String>);
    let menu = RwSignal::new(false);
    let confirm_void = RwSignal::new(false);
    let load = {
        let app = app.clone();
        move || {
            let app = app.clone();
            let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
            spawn_local(async move {
                let o = app.db.order(&id).await.ok().flatten();
                if let Some(o) = &o {
                    attempts.set(crate::payment::attempts_of(&app, o).await);
                }
                order.set(o);
            });
        }
    };
    load();
    let download = {
        let app = app.clone();
        let load = load.clone();
        move |_| {
            let app = app.clone();
            let load = load.clone();
            menu.set(false);
            let Some(o) = order.get_untracked() else {
                return;
            };
            message.set(Some("Downloading…".into()));
            spawn_local(async move {
                let updated = crate::sync::reconcile_one(&app, &o.id).await;
                message.set(Some(match updated.map(|u| u.status) {
                    Some(OrderStatus::Paid) if o.status != OrderStatus::Paid => "Downloaded: the payment was found and the order is paid.".into(),
                    Some(OrderStatus::Unpaid { reason: UnpaidReason::PendingConfirmation, .. }) => {
                        "The back office has no payment for this order yet. Do not void it; try again later.".into()
                    }
                    Some(_) => "Downloaded: nothing changed.".into(),
                    None => "The order could not be downloaded.".into(),
                }));
                load();
            });
        }
    };
    let void = {
        let app = app.clone();
        let load = load.clone();
        move |_| {
            let app = app.clone();
            let load = load.clone();
            confirm_void.set(false);
            let Some(mut o) = order.get_untracked() else {
                return;
            };
            spawn_local(async move {
                match o.void(platform::now()) {
                    Ok(()) => match sale::save(&app, &o).await {
                        Ok(()) => message.set(Some(format!("Order {} was voided.", o.number))),
                        Err(e) => message.set(Some(e.to_string())),
                    },
                    Err(e) => message.set(Some(e.to_string())),
                }
                load();
            });
        }
    };
    view! {
        <section class="page order-detail">
            {move || order.get().map(|o| {
                let pending = o.status.is_pending_confirmation();
                let void_block = match (&o.status, o.tenders.iter().any(|t| matches!(t, till_core::order::Tender::Card { .. }))) {
                    (OrderStatus::Voided, _) => Some("Already voided"),
                    _ if pending => Some("Payment pending confirmation — do not void"),
                    (_, true) => Some("Refund the card payment before voiding"),
                    _ => None,
                };
                let receipt = format!("/receipt/{}", o.id);
                let download = download.clone();
                let void = void.clone();
                view! {
                    <h1>"Order " {o.number.to_string()}</h1>
                    <p class="status-line">"Status: " <strong aria-label="Order status">{status_text(&o)}</strong></p>
                    {move || message.get().map(|m| view! { <p role="status" class="message">{m}</p> })}
                    <div class="options">
                        <button aria-haspopup="menu" aria-expanded=move || menu.get().to_string() on:click=move |_| menu.update(|m| *m = !*m)>"Options"</button>
                        <Show when=move || menu.get()>
                            <div role="menu" class="menu">
                                <button role="menuitem" on:click=download.clone()>"Download"</button>
                                <a role="menuitem" class="button" href=receipt.clone()>"Print receipt"</a>
                                <button role="menuitem" disabled=void_block.is_some() title=void_block.unwrap_or("") on:click=move |_| { menu.set(false); confirm_void.set(true); }>"Void"</button>
                                {void_block.map(|r| view! { <p class="reason">{r}</p> })}
                            </div>
                        </Show>
                    </div>
                    <Show when=move || confirm_void.get()>
                        <div class="confirm" role="group" aria-label="Void this order?">
                            <span>"Void this order? It stays on record as voided."</span>
                            <button on:click=void.clone()>"Yes, void"</button>
                            <button on:click=move |_| confirm_void.set(false)>"Keep"</button>
                        </div>
                    </Show>
                    <h2>"Lines"</h2>
                    <ul>{o.lines.iter().map(|l| view! { <li>{format!("{} × {} — {}", l.quantity, l.name, l.unit_price)}</li> }).collect_view()}</ul>
                    <p>"Total: " {o.totals.total.to_string()}</p>
                    <h2>"Payments"</h2>
                    <ul aria-label="Payments">{o.tenders.iter().map(|t| view! { <li>{tender_text(t)}</li> }).collect_view()}</ul>
                    <h2>"Card payment attempts"</h2>
                    <ul aria-label="Card payment attempts">
                        {move || attempts.get().into_iter().map(|a| view! {
                            <li>{format!("{} — {} ({})", a.amount, a.state.label(), &a.reference.to_string()[..8])}</li>
                        }).collect_view()}
                    </ul>
                }
            })}
        </section>
    }
}
