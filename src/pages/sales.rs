//! Register Sales: today's orders of this register, and every earlier one
//! that still needs someone (a payment in doubt, a sync, a refund), merged
//! with the back office's copy when it answers; the manager's "Payments in
//! doubt" with their age; each order's details and Options: Download (the
//! manual re-sync of the seed article), Print receipt, Void. Which orders
//! show, what their status says and whether Void is allowed are till-core's
//! rules.

use crate::error::AppError;
use crate::platform;
use crate::runner::act;
use crate::state::{use_app, Screen};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::collections::HashSet;
use till_core::order::{Order, OrderId, OrderNumber};
use till_core::outbox::RecordKind;
use till_core::payment::{in_doubt, Attempt, InDoubt};
use till_core::refund::{
    ensure_refundable, refunded_state, refunds_label, void_refusal, Refund, RefundTender,
    RefundedState,
};
use till_core::register::answers::Answer;
use till_core::register::{Action, UiEvent};
use till_core::report::{register_sales, SalesRow};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Unpaid,
    NotSynced,
}

/// What the page shows: the rows, the back office's rows this register
/// does not hold ("online data"), and the payments in doubt.
#[derive(Clone)]
struct Listing {
    rows: Vec<SalesRow>,
    online: Vec<Order>,
    attempts: Vec<Attempt>,
    doubt: Vec<InDoubt>,
    /// Each order's refunds on this register.
    refunds: std::collections::HashMap<OrderId, Vec<Refund>>,
}

fn time_of(o: &Order) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        o.created_at.as_millis() as f64
    ));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

fn age_text(d: till_core::time::Duration) -> String {
    let mins = d.as_millis() / 60_000;
    match mins {
        0 => "less than a minute".into(),
        1..=119 => format!("{mins} min"),
        120..=2879 => format!("{} h", mins / 60),
        _ => format!("{} days", mins / 1440),
    }
}

async fn load(app: &crate::state::AppState) -> Result<Listing, AppError> {
    let settings = app.set_up()?;
    let today = app.business_day()?;
    let register = settings.register_id.clone();
    let attempts = app.db().attempts().await?;
    let unsynced: HashSet<OrderId> = app
        .db()
        .outbox()
        .await?
        .iter()
        .filter(|e| e.kind == RecordKind::Order)
        .map(|e| OrderId::from_record_id(e.record_id))
        .collect();
    let rows = register_sales(
        app.db().orders().await?,
        &attempts,
        &unsynced,
        &register,
        today,
    );
    // The back office's copy is extra information: when it does not
    // answer, the register's own list stands (the status bar says offline).
    let known: HashSet<OrderId> = rows.iter().map(|r| r.order.id).collect();
    let online = match crate::runner::oms_day(&settings, today).await {
        Ok(list) => list
            .orders
            .into_iter()
            .map(|s| s.order)
            .filter(|o| !known.contains(&o.id))
            .collect(),
        Err(_) => Vec::new(),
    };
    let doubt = in_doubt(&attempts, platform::now());
    let mut refunds: std::collections::HashMap<OrderId, Vec<Refund>> = Default::default();
    for r in app.db().refunds().await? {
        if let Some(order_id) = r.order_id {
            refunds.entry(order_id).or_default().push(r);
        }
    }
    Ok(Listing {
        rows,
        online,
        attempts,
        doubt,
        refunds,
    })
}

#[component]
pub fn SalesPage() -> impl IntoView {
    let app = use_app();
    let filter = RwSignal::new(Filter::All);
    let written = Memo::new(move |_| app.answered(Answer::OrderWritten));
    let listing = LocalResource::new({
        move || {
            let app = app;
            // Read again when an order is written or a sync round ends.
            let _ = written.get();
            app.register(|r| r.status().unsynced);
            async move { load(&app).await }
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
            <FindOrder/>
            <a class="button secondary" href=Screen::Return.href()>"Return without receipt"</a>
            <div class="tabs" role="tablist" aria-label="Show">
                {filter_button("All", Filter::All)}
                {filter_button("Unpaid", Filter::Unpaid)}
                {filter_button("Not synced", Filter::NotSynced)}
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || listing.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">{format!("Register Sales could not be read: {e}")}</p> }.into_any(),
                    Ok(l) => view! { <SalesTable listing=l filter=filter.get()/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// A customer's receipt: its order number, scanned (a scanner types it and
/// Enter) or typed, opens the order (for a refund, a reprint, Download).
#[component]
fn FindOrder() -> impl IntoView {
    let app = use_app();
    let number = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let find = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = number.get_untracked().trim().to_owned();
        let parsed: Result<OrderNumber, _> = typed.parse();
        let Ok(parsed) = parsed else {
            message.set(Some(format!(
                "\"{typed}\" is not an order number (like R1-20261129-0042)."
            )));
            return;
        };
        let app = app;
        leptos::task::spawn_local(async move {
            match app.db().order_by_number(&parsed.to_string()).await {
                Ok(Some(o)) => {
                    message.set(None);
                    app.go(Screen::Sale(o.id));
                }
                Ok(None) => message.set(Some(format!("No order {parsed} on this register."))),
                Err(e) => message.set(Some(format!("The orders could not be read: {e}"))),
            }
        });
    };
    view! {
        <form class="find-order" on:submit=find>
            <label class="field">
                <span>"Find order by number"</span>
                <input type="search" autocomplete="off" prop:value=move || number.get() on:input=move |ev| number.set(event_target_value(&ev))/>
            </label>
            <button type="submit">"Open"</button>
        </form>
        {move || message.get().map(|m| view! { <p role="alert" class="error">{m}</p> })}
    }
}

#[component]
fn SalesTable(listing: Listing, filter: Filter) -> impl IntoView {
    let Listing {
        rows,
        online,
        attempts,
        doubt,
        refunds,
    } = listing;
    let shown: Vec<SalesRow> = rows
        .into_iter()
        .filter(|r| match filter {
            Filter::All => true,
            Filter::Unpaid => {
                matches!(r.order.status, till_core::order::OrderStatus::Unpaid { .. }) || r.in_doubt
            }
            Filter::NotSynced => r.unsynced,
        })
        .collect();
    let online = if filter == Filter::All {
        online
    } else {
        Default::default()
    };
    let table = if shown.is_empty() && online.is_empty() {
        view! { <p class="empty">"No orders to show."</p> }.into_any()
    } else {
        view! {
            <table class="sales-table">
                <thead><tr><th>"Order"</th><th>"Time"</th><th>"Total"</th><th>"Status"</th></tr></thead>
                <tbody>
                    {shown.into_iter().map(|r| {
                        let of = refunds.get(&r.order.id).map(Vec::as_slice).unwrap_or_default();
                        let status = status_text(&r.order, &attempts, of);
                        view! { <SaleRow order=r.order unsynced=r.unsynced earlier=r.earlier online=false status/> }
                    }).collect_view()}
                    {online.into_iter().map(|o| {
                        let status = o.status_text([]);
                        view! { <SaleRow order=o unsynced=false earlier=false online=true status/> }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        {table}
        <h2>"Payments in doubt"</h2>
        <DoubtList doubt/>
    }
}

/// One order in the table: its number, time (with its date when it is of
/// an earlier day), total and status.
#[component]
fn SaleRow(
    order: Order,
    unsynced: bool,
    earlier: bool,
    online: bool,
    status: String,
) -> impl IntoView {
    let href = Screen::Sale(order.id).href();
    let when = if earlier {
        format!("{} {}", order.number.date(), time_of(&order))
    } else {
        time_of(&order)
    };
    view! {
        <tr>
            <td><a href=href>{order.number.to_string()}</a></td>
            <td>{when}</td>
            <td>{order.totals.total.to_string()}</td>
            <td>
                <span class="status">{status}</span>
                {unsynced.then(|| view! { <span class="flag">" · not synced"</span> })}
                {online.then(|| view! { <span class="flag">" · online data"</span> })}
            </td>
        </tr>
    }
}

/// The card payments whose outcome is not known yet.
#[component]
fn DoubtList(doubt: Vec<InDoubt>) -> impl IntoView {
    if doubt.is_empty() {
        return view! { <p class="empty" aria-label="Payments in doubt">"None: every card payment's outcome is known."</p> }.into_any();
    }
    view! {
        <p>"The terminal may have charged these; each stays here until the terminal or the back office says what happened. Do not charge the customer again."</p>
        <ul class="doubt" aria-label="Payments in doubt">
            {doubt.into_iter().map(|d| {
                let href = Screen::Sale(d.order_id).href();
                view! {
                    <li>
                        <a href=href>{format!("{} — {}", d.amount, d.state)}</a>
                        <span class="doubt-detail">{format!(" (payment {}, {} ago)", d.reference.short(), age_text(d.age))}</span>
                        {d.note.map(|n| view! { <span class="note">{format!(" — {n}")}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[derive(Clone)]
struct Detail {
    order: Order,
    attempts: Vec<Attempt>,
    refunds: Vec<Refund>,
}

async fn detail(app: &crate::state::AppState, id: &str) -> Result<Option<Detail>, AppError> {
    let Some(order) = app.db().order(id).await? else {
        return Ok(None);
    };
    let attempts = app.db().attempts_of(&order.id).await?;
    let refunds = app.db().refunds_of(&order.id).await?;
    Ok(Some(Detail {
        order,
        attempts,
        refunds,
    }))
}

/// Why Refund is not offered, if it is not: till-core's rules.
fn refund_block(order: &Order, refunds: &[Refund]) -> Option<String> {
    if let Err(e) = ensure_refundable(order) {
        return Some(e.to_string());
    }
    (refunded_state(order, refunds) == RefundedState::Fully)
        .then(|| "Everything on this order is refunded already.".to_owned())
}

/// The order's status, and how much of it is refunded.
fn status_text(order: &Order, attempts: &[Attempt], refunds: &[Refund]) -> String {
    match refunds_label(order, refunds) {
        Some(r) => format!("{} · {r}", order.status_text(attempts)),
        None => order.status_text(attempts),
    }
}

fn refund_text(r: &Refund) -> String {
    let parts: Vec<String> = r
        .tenders
        .iter()
        .map(|t| match t {
            RefundTender::Cash { amount } => format!("{amount} cash"),
            RefundTender::Card { amount, .. } => format!("{amount} to card"),
        })
        .collect();
    format!(
        "{} — {} — {}",
        r.number,
        parts.join(" + "),
        r.status().label()
    )
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let written = Memo::new(move |_| app.answered(Answer::OrderWritten));
    let loaded = LocalResource::new({
        move || {
            let app = app;
            let _ = written.get();
            let id = params.with(|p| p.get("id").unwrap_or_default());
            async move { detail(&app, &id).await }
        }
    });
    view! {
        <section class="page order-detail">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || loaded.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">{format!("The order could not be read: {e}")}</p> }.into_any(),
                    Ok(None) => view! { <p role="alert">"No such order on this register."</p> }.into_any(),
                    Ok(Some(d)) => view! { <OrderDetail detail=d/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn OrderDetail(detail: Detail) -> impl IntoView {
    let app = use_app();
    let Detail {
        order: o,
        attempts,
        refunds,
    } = detail;
    let id = o.id;
    let status = status_text(&o, &attempts, &refunds);
    let open_shift = app.register(|r| r.shift().map(|s| s.id)).flatten();
    let message = move || {
        app.answer(Answer::OrderMessage, |e| match e {
            UiEvent::OrderMessage { order_id, text } if *order_id == id => Some(text.clone()),
            _ => None,
        })
    };
    view! {
        <h1>"Order " {o.number.to_string()}</h1>
        <p class="status-line">"Status: " <strong aria-label="Order status">{status}</strong></p>
        {o.cashier.as_ref().map(|c| view! { <p>"Rung up by " {c.name.clone()}</p> })}
        {o.voided_by.as_ref().map(|c| view! { <p>"Voided by " {c.name.clone()}</p> })}
        {o.approvals.iter().map(|a| view! { <p>{format!("Approved by {}: {}", a.by.name, a.what.label())}</p> }).collect_view()}
        {move || message().map(|m| view! { <p role="status" class="message">{m}</p> })}
        <OrderOptions void_block=void_refusal(&o, &attempts, &refunds, open_shift) refund_block=refund_block(&o, &refunds) id/>
        <h2>"Lines"</h2>
        <ul>{o.lines.iter().map(|l| view! { <li>{format!("{} × {} — {}", l.quantity, l.name, l.unit_price)}</li> }).collect_view()}</ul>
        <p>"Total: " {o.totals.total.to_string()}</p>
        <h2>"Payments"</h2>
        <ul aria-label="Payments">{o.tenders.iter().map(|t| view! { <li>{t.to_string()}</li> }).collect_view()}</ul>
        {(!o.refund_due.is_empty()).then(|| view! {
            <h2>"Refund due"</h2>
            <ul aria-label="Refund due">{o.refund_due.iter().map(|r| view! {
                <li>{format!("{} to {} •••• {} (card payment {} was approved after this order was settled)", r.amount, r.card.brand, r.card.last4, r.reference.short())}</li>
            }).collect_view()}</ul>
        })}
        {(!refunds.is_empty()).then(|| view! {
            <h2>"Refunds"</h2>
            <ul aria-label="Refunds">{refunds.iter().map(|r| {
                let href = Screen::RefundReceipt(r.id).href();
                view! { <li><a href=href>{refund_text(r)}</a></li> }
            }).collect_view()}</ul>
        })}
        <h2>"Card payment attempts"</h2>
        <ul aria-label="Card payment attempts">
            {attempts.iter().map(|a| view! {
                <li>{format!("{} — {} ({})", a.amount, a.state.label(), a.reference.short())}</li>
            }).collect_view()}
        </ul>
    }
}

/// Options: Download, Print receipt, Refund and Void (asked twice), each
/// with why it is not offered.
#[component]
fn OrderOptions(
    void_block: Option<String>,
    refund_block: Option<String>,
    id: OrderId,
) -> impl IntoView {
    let app = use_app();
    let menu = RwSignal::new(false);
    let confirm_void = RwSignal::new(false);
    let download = move |_| {
        menu.set(false);
        app.show(UiEvent::OrderMessage {
            order_id: id,
            text: "Downloading…".into(),
        });
        act(&app, Action::Download { order_id: id });
    };
    let void = move |_| {
        confirm_void.set(false);
        act(&app, Action::Void { order_id: id });
    };
    let refund = move || {
        match refund_block.clone() {
        None => view! { <a role="menuitem" class="button" href=Screen::RefundOf(id).href()>"Refund"</a> }.into_any(),
        Some(why) => view! {
            <button role="menuitem" disabled=true title=why.clone()>"Refund"</button>
            <p class="reason">{format!("Refund: {why}")}</p>
        }.into_any(),
    }
    };
    view! {
        <div class="options">
            <button aria-haspopup="menu" aria-expanded=move || menu.get().to_string() on:click=move |_| menu.update(|m| *m = !*m)>"Options"</button>
            <Show when=move || menu.get()>
                <div role="menu" class="menu">
                    <button role="menuitem" on:click=download>"Download"</button>
                    <a role="menuitem" class="button" href=Screen::Receipt(id).href()>"Print receipt"</a>
                    {refund()}
                    <button role="menuitem" disabled=void_block.is_some() title=void_block.clone().unwrap_or_default() on:click=move |_| { menu.set(false); confirm_void.set(true); }>"Void"</button>
                    {void_block.clone().map(|r| view! { <p class="reason">{r}</p> })}
                </div>
            </Show>
        </div>
        <Show when=move || confirm_void.get()>
            <div class="confirm" role="group" aria-label="Void this order?">
                <span>"Void this order? It stays on record as voided."</span>
                <button on:click=void>"Yes, void"</button>
                <button on:click=move |_| confirm_void.set(false)>"Keep"</button>
            </div>
        </Show>
    }
}
