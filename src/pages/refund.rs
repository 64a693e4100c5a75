//! Refunds: Register Sales → the order → Options → Refund. The cashier
//! chooses the lines and quantities coming back (or the whole order) and a
//! reason; the screen shows what goes back and where, by till-core's rules
//! ([`till_core::refund::preview`]); Confirm writes the refund (one
//! transaction with its outbox entry) and says what to give back. The
//! refund receipt is printable on 58 and 80 mm paper.

use crate::error::AppError;
use crate::pages::receipt::ReceiptFrame;
use crate::runner::{act, new_refund_id};
use crate::state::use_app;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use till_core::money::Money;
use till_core::order::Order;
use till_core::refund::{
    ensure_refundable, preview, refundable, Refund, RefundId, RefundReason, RefundTender, Returned,
    TenderKey,
};
use till_core::register::Action;
use till_core::update::register_tenders;

#[derive(Clone)]
struct RefundData {
    order: Order,
    refunds: Vec<Refund>,
}

async fn load(app: &crate::state::AppState, id: &str) -> Result<Option<RefundData>, AppError> {
    let Some(order) = app.db().order(id).await? else {
        return Ok(None);
    };
    let refunds = app.db().refunds_of(&order.id).await?;
    Ok(Some(RefundData { order, refunds }))
}

#[component]
pub fn RefundPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    app.refund_done.set(None);
    // Read once: the refund this screen writes must not rebuild the form
    // under the cashier (its answer is shown in place of it).
    let loaded = LocalResource::new(move || {
        let app = app;
        let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
        async move { load(&app, &id).await }
    });
    // One id per screen: a repeated Confirm names the same refund.
    let refund_id = new_refund_id(&app);
    view! {
        <section class="page refund">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || loaded.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">{format!("The order could not be read: {e}")}</p> }.into_any(),
                    Ok(None) => view! { <p role="alert">"No such order on this register."</p> }.into_any(),
                    Ok(Some(d)) => view! { <RefundForm data=d id=refund_id/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

fn reason_from(value: &str) -> Option<RefundReason> {
    RefundReason::ALL
        .into_iter()
        .find(|r| format!("{r:?}") == value)
}

#[component]
fn RefundForm(data: RefundData, id: Option<RefundId>) -> impl IntoView {
    let app = use_app();
    let RefundData { order, refunds } = data;
    let title = format!("Refund order {}", order.number);
    if let Err(e) = ensure_refundable(&order) {
        return view! {
            <h1>{title}</h1>
            <p role="alert" class="error">{format!("This order cannot be refunded: {e}")}</p>
            <a class="button" href=format!("/sales/{}", order.id)>"Back to the order"</a>
        }
        .into_any();
    }
    let left = match refundable(&order, &refunds) {
        Ok(l) => l,
        Err(e) => {
            return view! { <h1>{title}</h1><p role="alert" class="error">{e.to_string()}</p> }
                .into_any()
        }
    };
    let quantities = RwSignal::new(vec![0u32; order.lines.len()]);
    let reason = RwSignal::new(None::<RefundReason>);
    let order = StoredValue::new(order);
    let refunds = StoredValue::new(refunds);
    let returns = move || -> Vec<Returned> {
        quantities
            .get()
            .iter()
            .enumerate()
            .filter(|(_, q)| **q > 0)
            .map(|(line, quantity)| Returned {
                line,
                quantity: *quantity,
            })
            .collect()
    };
    let shown = move || {
        let r = returns();
        (!r.is_empty()).then(|| {
            order.with_value(|o| {
                refunds.with_value(|rs| {
                    preview(o, rs, &r).and_then(|p| register_tenders(&p).map(|_| p))
                })
            })
        })
    };
    let whole: Vec<u32> = left.lines.iter().map(|l| l.left).collect();
    let confirm = move |_| {
        let (Some(id), r) = (id, returns()) else {
            return;
        };
        app.refund_message.set(None);
        let order_id = order.with_value(|o| o.id);
        act(
            &app,
            Action::Refund {
                id,
                order_id,
                returns: r,
                reason: reason.get_untracked(),
            },
        );
    };
    let refused = move || {
        app.refund_message
            .get()
            .filter(|(r, _)| Some(*r) == id)
            .map(|(_, m)| m)
    };
    let done = move || app.refund_done.get().filter(|r| Some(r.id) == id);
    let lines = order.with_value(|o| o.lines.clone());
    view! {
        <h1>{title}</h1>
        <Show when=move || done().is_none() fallback=move || view! { <RefundDone refund=done().expect("shown when done")/> }>
            <fieldset class="refund-lines">
                <legend>"Items coming back"</legend>
                <button class="secondary" on:click={let whole = whole.clone(); move |_| quantities.set(whole.clone())}>"Whole order"</button>
                <ul>
                    {lines.iter().zip(&left.lines).enumerate().map(|(i, (l, w))| {
                        let label = format!("Quantity to return: {}", l.name);
                        let max = w.left;
                        view! {
                            <li>
                                <span class="name">{l.name.clone()}</span>
                                <span class="sold">{format!("sold {} · refunded {}", w.sold, w.refunded)}</span>
                                <input type="number" inputmode="numeric" min="0" max=max.to_string() aria-label=label disabled=max == 0
                                    prop:value=move || quantities.with(|q| q[i].to_string())
                                    on:input=move |ev| {
                                        let n = event_target_value(&ev).trim().parse::<u32>().unwrap_or(0).min(max);
                                        quantities.update(|q| q[i] = n);
                                    }/>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </fieldset>
            <label class="field reason">
                <span>"Reason (optional)"</span>
                <select on:change=move |ev| reason.set(reason_from(&event_target_value(&ev)))>
                    <option value="">"—"</option>
                    {RefundReason::ALL.into_iter().map(|r| view! { <option value=format!("{r:?}")>{r.label()}</option> }).collect_view()}
                </select>
            </label>
            {move || match shown() {
                None => view! { <p class="hint">"Choose what comes back."</p> }.into_any(),
                Some(Err(e)) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(p)) => view! {
                    <div class="refund-summary" aria-label="Refund summary">
                        <p>"Refund total: " <strong>{p.totals.total.to_string()}</strong></p>
                        <ul aria-label="Money back">
                            {p.tenders.into_iter().map(|(key, label, amount)| view! { <li>{money_back(key, &label, amount)}</li> }).collect_view()}
                        </ul>
                        <button class="primary" on:click=confirm>{format!("Refund {}", p.totals.total)}</button>
                    </div>
                }.into_any(),
            }}
            {move || refused().map(|m| view! { <p role="alert" class="error">{m}</p> })}
        </Show>
    }
    .into_any()
}

/// One line of "Money back": "Cash: give back €2.40", "VISA •••• 4242: €4.40".
fn money_back(key: TenderKey, label: &str, amount: Money) -> String {
    match key {
        TenderKey::Cash => format!("Cash: give back {amount}"),
        TenderKey::Card(_) => format!("To {label}: {amount}"),
    }
}

#[component]
fn RefundDone(refund: Refund) -> impl IntoView {
    let cash = refund
        .tenders
        .iter()
        .filter_map(|t| match t {
            RefundTender::Cash { amount } => Some(*amount),
            RefundTender::Card { .. } => None,
        })
        .fold(None, |sum: Option<Money>, a| {
            Some(sum.and_then(|s| s.checked_add(a).ok()).unwrap_or(a))
        });
    view! {
        <div class="refund-done" role="status">
            {cash.map(|c| view! { <p class="give-back">"Give back " <strong>{c.to_string()}</strong> " in cash."</p> })}
            <p>{format!("Refund {} is recorded ({}).", refund.number, refund.status().label())}</p>
            <a class="button" href=format!("/refund/{}", refund.id)>"Print refund receipt"</a>
            <a class="button" href=format!("/sales/{}", refund.order_id)>"Back to the order"</a>
        </div>
    }
}

#[component]
pub fn RefundReceiptPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let found = LocalResource::new(move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        let db = app.db();
        async move { db.refund(&id).await }
    });
    view! {
        <ReceiptFrame title="Refund receipt">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || found.get().map(|r| match r {
                    Ok(Some(refund)) => view! { <RefundReceipt refund=refund/> }.into_any(),
                    Ok(None) => view! { <p role="alert">"No such refund on this register."</p> }.into_any(),
                    Err(e) => view! { <p role="alert">{format!("The refund could not be read: {e}")}</p> }.into_any(),
                })}
            </Suspense>
        </ReceiptFrame>
    }
}

#[component]
pub fn RefundReceipt(refund: Refund) -> impl IntoView {
    let t = refund.totals.clone();
    view! {
        <article class="receipt" aria-label="Refund receipt">
            <header>
                <strong>"Till"</strong>
                <div class="refund-mark">"REFUND"</div>
                <div>"Refund " {refund.number.to_string()}</div>
                <div>"For order " {refund.order_number.to_string()}</div>
                {refund.reason.map(|r| view! { <div>{format!("Reason: {}", r.label())}</div> })}
            </header>
            <table>
                <tbody>
                    {refund.lines.iter().map(|l| view! {
                        <tr><td>{format!("{} × {}", l.quantity, l.name)}</td><td class="amount">{format!("-{}", l.amount)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <dl>
                {t.taxes.iter().map(|x| view! {
                    <div class="sub"><dt>{format!("{} {}", x.name, if x.mode == till_core::catalog::TaxMode::Inclusive { "incl." } else { "" })}</dt><dd>{format!("-{}", x.tax)}</dd></div>
                }).collect_view()}
                <div class="total"><dt>"Refund total"</dt><dd>{format!("-{}", t.total)}</dd></div>
                {refund.tenders.iter().map(|tender| view! {
                    <div><dt>{match tender {
                        RefundTender::Cash { .. } => "Cash back".to_string(),
                        RefundTender::Card { state, .. } => format!("Back to card ({state:?})").to_lowercase(),
                    }}</dt><dd>{tender.amount().to_string()}</dd></div>
                }).collect_view()}
            </dl>
        </article>
    }
}
