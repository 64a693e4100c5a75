//! The Payment page: what is due, cash with change, card through the
//! terminal (the "Card payment" popup), split tender.

use crate::payment;
use crate::platform;
use crate::sale;
use crate::state::{use_app, AppState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::money::Money;
use till_core::order::{check_cash, quick_cash, Tender};
use till_core::payment::{AttemptState, Event};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    None,
    Cash,
}

#[component]
pub fn PayPage() -> impl IntoView {
    let app = use_app();
    let method = RwSignal::new(Method::None);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // The order exists from the first payment on; until then, the cart says what is due.
    let due = Memo::new(move |_| match app.order.get() {
        Some(o) => o.due().ok(),
        None => app.cart.with(|c| c.totals().ok().map(|t| t.total)),
    });
    let paid_so_far = move || app.order.get().map(|o| o.tenders).unwrap_or_default();

    let card_click = {
        let app = app.clone();
        move |_| {
            let app = app.clone();
            error.set(None);
            app.pay_message.set(None);
            busy.set(true);
            spawn_local(async move {
                let result = match sale::ensure_order(&app).await {
                    Ok(order) => payment::start(app.clone(), order).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    error.set(Some(e));
                }
                busy.set(false);
            });
        }
    };

    view! {
        <section class="page pay">
            <h1>"Payment"</h1>
            {move || app.pay_message.get().map(|m| view! { <p class="pay-message" role="alert">{m}</p> })}
            {move || app.order.get().map(|o| view! { <p class="order-number">"Order " {o.number.to_string()}</p> })}
            <p class="due">"Amount due: " <strong aria-label="Amount due">{move || due.get().map(|d| d.to_string()).unwrap_or_default()}</strong></p>
            {move || {
                let tenders = paid_so_far();
                (!tenders.is_empty()).then(|| view! {
                    <ul class="tenders" aria-label="Paid so far">
                        {tenders.into_iter().map(|t| view! { <li>{tender_text(&t)}</li> }).collect_view()}
                    </ul>
                })
            }}
            <div class="methods" role="group" aria-label="Payment method">
                <button on:click=move |_| { method.set(Method::Cash); error.set(None); } aria-pressed=move || (method.get() == Method::Cash).to_string()>"Cash"</button>
                <button on:click=card_click disabled=move || busy.get()>"Card (mPOS)"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Show when=move || method.get() == Method::Cash>
                <CashPanel due=due/>
            </Show>
            <a class="button" href="/">"Back to Register"</a>
            <CardDialog/>
        </section>
    }
}

pub fn tender_text(t: &Tender) -> String {
    match t {
        Tender::Cash { amount, received } => format!("Cash {amount} (received {received})"),
        Tender::Card { amount, card, .. } => {
            format!("Card {amount} ({} •••• {})", card.brand, card.last4)
        }
    }
}

#[component]
fn CashPanel(due: Memo<Option<Money>>) -> impl IntoView {
    let app = use_app();
    let tendered = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let parsed = move || -> Result<Money, String> {
        let due = due.get().ok_or("Nothing is due")?;
        let text = tendered.get();
        if text.trim().is_empty() {
            return Err("Enter the amount tendered".into());
        }
        let m = Money::parse(&text, due.currency()).map_err(|e| e.to_string())?;
        check_cash(m, due).map_err(|e| e.to_string())?;
        Ok(m)
    };
    let change = move || {
        let (Ok(m), Some(d)) = (parsed(), due.get()) else {
            return None;
        };
        m.checked_sub(d).ok().filter(|c| !c.is_negative())
    };
    let confirm = {
        let app = app.clone();
        move |_| {
            let received = match parsed() {
                Ok(m) => m,
                Err(e) => return error.set(Some(e)),
            };
            let app = app.clone();
            spawn_local(async move {
                match pay_cash(&app, received).await {
                    Ok(()) => tendered.set(String::new()),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    view! {
        <div class="cash" role="group" aria-label="Cash">
            <label class="field">
                <span>"Amount tendered"</span>
                <input type="text" inputmode="decimal" autocomplete="off"
                    prop:value=move || tendered.get()
                    on:input=move |ev| { tendered.set(event_target_value(&ev)); error.set(None); }/>
            </label>
            <div class="quick">
                {move || due.get().map(|d| quick_cash(d).into_iter().map(|m| {
                    let text = m.to_plain_string();
                    view! { <button on:click=move |_| tendered.set(text.clone())>{m.to_string()}</button> }
                }).collect_view())}
            </div>
            <p class="change">"Change due: " <strong aria-label="Change due">{move || change().map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</strong></p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button class="confirm" on:click=confirm>"Confirm"</button>
        </div>
    }
}

async fn pay_cash(app: &AppState, received: Money) -> Result<(), String> {
    let mut order = sale::ensure_order(app).await?;
    let due = order.due().map_err(|e| e.to_string())?;
    let tender = Tender::cash(received, due).map_err(|e| e.to_string())?;
    order
        .add_tender(tender, platform::now())
        .map_err(|e| e.to_string())?;
    let paid = order.status == till_core::order::OrderStatus::Paid;
    let id = order.id;
    sale::record(app, order).await.map_err(|e| e.to_string())?;
    app.pay_message.set(None);
    if paid {
        app.goto.set(Some(format!("/receipt/{id}")));
    }
    Ok(())
}

/// The "Card payment" popup: renders the session's view, sends the buttons.
#[component]
fn CardDialog() -> impl IntoView {
    let app = use_app();
    // The countdown needs the clock: tick while the popup is open.
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
    let card = app.card;
    let open = move || card.is_open();
    let app2 = app.clone();
    let body = move || {
        tick.track();
        let v = card.view()?;
        let app = app2.clone();
        let (a1, a2, a3) = (app.clone(), app.clone(), app.clone());
        let title = match &v.state {
            AttemptState::ResultUnknown => "Payment result not received",
            AttemptState::Cancelling => "Cancelling…",
            AttemptState::Requested => "Sending to the terminal…",
            _ => "Processing…",
        };
        Some(view! {
            <p class="card-state" role="status">{title}</p>
            {v.note.clone().map(|n| view! { <p class="note">{n}</p> })}
            {matches!(v.state, AttemptState::Processing | AttemptState::Requested | AttemptState::Cancelling)
                .then(|| view! { <p>"Ask the customer to present their card on the terminal."</p> })}
            {v.cancel_secs_left.map(|s| view! {
                <button class="cancel" on:click=move |_| payment::feed(a1.clone(), Event::CancelPressed)>{format!("Cancel ({s} s)")}</button>
            })}
            {v.resyncs_left.map(|left| view! {
                <button class="resync" disabled=v.resync_running on:click=move |_| payment::feed(a2.clone(), Event::ResyncPressed)>
                    {format!("Re-sync ({left} left)")}
                </button>
            })}
            {v.can_close.then(|| view! {
                <button class="close" on:click=move |_| payment::feed(a3.clone(), Event::ClosePressed)>"Close & back to Register"</button>
            })}
        })
    };
    view! {
        <Show when=open>
            <div class="backdrop">
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="card-title">
                    <h2 id="card-title">"Card payment"</h2>
                    {body.clone()}
                </div>
            </div>
        </Show>
    }
}
