//! The Payment page: what is due, cash with change, card through the
//! terminal (the "Card payment" popup, shown above every page), split
//! tender. The register decides; this page sends the cashier's taps and
//! shows what the register says.

use crate::error::AppError;
use crate::runner::act;
use crate::state::{use_app, AppState, Screen};
use leptos::prelude::*;
use till_core::money::Money;
use till_core::order::{change_for, check_cash, quick_cash};
use till_core::register::answers::Answer;
use till_core::register::Action;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    None,
    Cash,
}

#[component]
pub fn PayPage() -> impl IntoView {
    let app = use_app();
    let method = RwSignal::new(Method::None);
    let due = Memo::new(move |_| app.register(|r| r.due()).flatten());
    let busy = { move || app.register(|r| r.is_busy()).unwrap_or(true) };
    let tenders = {
        move || {
            app.register(|r| r.sale_order().map(|o| o.tenders.clone()))
                .flatten()
                .unwrap_or_default()
        }
    };
    let number = {
        move || {
            app.register(|r| r.sale_order().map(|o| o.number.to_string()))
                .flatten()
        }
    };
    let card_click = {
        move |_| {
            app.clear(Answer::PayMessage);
            act(&app, Action::PayCard);
        }
    };
    let busy2 = busy;
    view! {
        <section class="page pay-page">
            <h1>"Payment"</h1>
            {move || app.said(Answer::PayMessage).map(|m| view! { <p class="pay-message" role="alert">{m}</p> })}
            {move || number().map(|n| view! { <p class="order-number">"Order " {n}</p> })}
            <p class="due">"Amount due: " <strong aria-label="Amount due">{move || due.get().map(|d| d.to_string()).unwrap_or_default()}</strong></p>
            {move || {
                let tenders = tenders();
                (!tenders.is_empty()).then(|| view! {
                    <ul class="tenders" aria-label="Paid so far">
                        {tenders.into_iter().map(|t| view! { <li>{t.to_string()}</li> }).collect_view()}
                    </ul>
                })
            }}
            <div class="methods" role="group" aria-label="Payment method">
                <button on:click=move |_| method.set(Method::Cash) aria-pressed=move || (method.get() == Method::Cash).to_string()>"Cash"</button>
                <button on:click=card_click disabled=busy2>"Card (mPOS)"</button>
            </div>
            <Show when=move || method.get() == Method::Cash>
                <CashPanel due=due/>
            </Show>
            <a class="button" href=Screen::Register.href()>"Back to Register"</a>
        </section>
    }
}

/// What the cashier typed, checked by till-core's rules.
fn parse_tendered(text: &str, due: Option<Money>) -> Result<Money, AppError> {
    let due = due.ok_or_else(|| AppError::Rule("Nothing is due".into()))?;
    if text.trim().is_empty() {
        return Err(AppError::Rule("Enter the amount tendered".into()));
    }
    let m = Money::parse(text, due.currency())?;
    check_cash(m, due)?;
    Ok(m)
}

fn confirm_cash(
    app: &AppState,
    text: RwSignal<String>,
    due: Option<Money>,
    error: RwSignal<Option<String>>,
) {
    match parse_tendered(&text.get_untracked(), due) {
        Ok(received) => {
            error.set(None);
            app.clear(Answer::PayMessage);
            act(app, Action::PayCash { received });
            text.set(String::new());
        }
        Err(e) => error.set(Some(e.to_string())),
    }
}

#[component]
fn CashPanel(due: Memo<Option<Money>>) -> impl IntoView {
    let app = use_app();
    let tendered = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let change = move || {
        let m = parse_tendered(&tendered.get(), due.get()).ok()?;
        change_for(m, due.get()?)
    };
    let busy = { move || app.register(|r| r.is_busy()).unwrap_or(true) };
    let confirm = move |_| confirm_cash(&app, tendered, due.get_untracked(), error);
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
            <button class="confirm" disabled=busy on:click=confirm>"Confirm"</button>
        </div>
    }
}
