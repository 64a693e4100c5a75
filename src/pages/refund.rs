//! Refunds: Register Sales → the order → Options → Refund. The cashier
//! chooses the lines and quantities coming back (or the whole order) and a
//! reason; the screen shows what goes back and where, by till-core's rules
//! ([`till_core::refund::preview`]), and the cashier may split it between
//! the order's cash and its card ([`till_core::refund::check_choice`]).
//! Confirm writes the refund (one transaction with its outbox entry); a
//! part going back to the card opens the card popup, as a payment does,
//! and the refund is written (that part pending) before the request leaves
//! for the terminal. The screen then says what to give back. The refund
//! receipt is printable on 58 and 80 mm paper.

use crate::components::receipt::ReceiptFrame;
use crate::error::AppError;
use crate::runner::{act, new_refund_id};
use crate::state::{use_app, AppState, Screen};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use till_core::money::Money;
use till_core::order::Order;
use till_core::refund::{
    check_choice, ensure_refundable, preview, refundable, Refund, RefundError, RefundId,
    RefundPreview, RefundReason, RefundTender, Refundable, Returned, TenderKey, TenderLeft,
};
use till_core::register::answers::Answer;
use till_core::register::{Action, UiEvent};

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
    app.clear(Answer::Refunded);
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

/// "Reason (optional)": damaged, wrong item, changed mind, other.
#[component]
pub fn ReasonSelect(reason: RwSignal<Option<RefundReason>>) -> impl IntoView {
    view! {
        <label class="field reason">
            <span>"Reason (optional)"</span>
            <select on:change=move |ev| reason.set(reason_from(&event_target_value(&ev)))>
                <option value="">"—"</option>
                {RefundReason::ALL.into_iter().map(|r| view! { <option value=format!("{r:?}")>{r.label()}</option> }).collect_view()}
            </select>
        </label>
    }
}

fn reason_from(value: &str) -> Option<RefundReason> {
    RefundReason::ALL
        .into_iter()
        .find(|r| format!("{r:?}") == value)
}

/// What the form shows under the lines: nothing chosen, why the choice
/// does not work, or the refund and where its money goes.
type Shown = Option<Result<(RefundPreview, Parts), RefundError>>;
type Parts = Vec<(TenderKey, Money)>;

/// What the cashier chose on the form.
#[derive(Clone, Copy)]
struct Choice {
    quantities: RwSignal<Vec<u32>>,
    /// "Give back the tip": all the order's tips not given back yet.
    tip: RwSignal<bool>,
    /// What the cashier typed for each tender; `None`: as suggested.
    amounts: RwSignal<Option<Vec<String>>>,
    reason: RwSignal<Option<RefundReason>>,
}

impl Choice {
    fn new(lines: usize) -> Choice {
        Choice {
            quantities: RwSignal::new(vec![0; lines]),
            tip: RwSignal::new(false),
            amounts: RwSignal::new(None),
            reason: RwSignal::new(None),
        }
    }

    fn returns(self) -> Vec<Returned> {
        let q = self.quantities.get();
        let chosen = q.iter().enumerate().filter(|(_, q)| **q > 0);
        chosen
            .map(|(line, quantity)| Returned {
                line,
                quantity: *quantity,
            })
            .collect()
    }

    fn anything(self) -> bool {
        !self.returns().is_empty() || self.tip.get()
    }
}

/// The order being refunded, and what is left to give back.
#[derive(Clone, Copy)]
struct Refunding {
    order: StoredValue<Order>,
    refunds: StoredValue<Vec<Refund>>,
    /// The tenders with something left, one field each.
    rows: StoredValue<Vec<TenderLeft>>,
    left: StoredValue<Refundable>,
}

impl Refunding {
    fn new(order: Order, refunds: Vec<Refund>, left: Refundable) -> Refunding {
        let rows = left.tenders.iter().filter(|t| !t.left.is_zero()).cloned();
        Refunding {
            order: StoredValue::new(order),
            refunds: StoredValue::new(refunds),
            rows: StoredValue::new(rows.collect()),
            left: StoredValue::new(left),
        }
    }

    /// The refund `c` makes, by till-core's rules.
    fn shown(self, c: Choice) -> Shown {
        let (r, with_tip) = (c.returns(), c.tip.get());
        c.anything().then(|| {
            let p = self
                .order
                .with_value(|o| self.refunds.with_value(|rs| preview(o, rs, &r, with_tip)))?;
            let typed = c.amounts.get();
            let parts = self
                .rows
                .with_value(|rows| chosen(rows, &p, typed.as_deref()))?;
            self.left
                .with_value(|l| check_choice(l, &parts, p.totals.total))?;
            Ok((p, parts))
        })
    }

    /// Confirm: the register writes the refund (and says how it went).
    fn confirm(self, app: AppState, id: Option<RefundId>, c: Choice, parts: Parts) {
        let (Some(id), returns) = (id, c.returns()) else {
            return;
        };
        app.clear(Answer::RefundRefused);
        let refund = Action::Refund {
            id,
            order_id: self.order.with_value(|o| o.id),
            returns,
            tip: c.tip.get_untracked(),
            reason: c.reason.get_untracked(),
            tenders: Some(parts),
        };
        act(&app, refund);
    }
}

/// What can still be given back, or why nothing can.
fn refund_left(order: &Order, refunds: &[Refund]) -> Result<Refundable, AnyView> {
    if let Err(e) = ensure_refundable(order) {
        return Err(view! {
            <p role="alert" class="error">{format!("This order cannot be refunded: {e}")}</p>
            <a class="button" href=Screen::Sale(order.id).href()>"Back to the order"</a>
        }
        .into_any());
    }
    refundable(order, refunds)
        .map_err(|e| view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any())
}

#[component]
fn RefundForm(data: RefundData, id: Option<RefundId>) -> impl IntoView {
    let app = use_app();
    let RefundData { order, refunds } = data;
    let title = format!("Refund order {}", order.number);
    let left = match refund_left(&order, &refunds) {
        Ok(l) => l,
        Err(why) => return view! { <h1>{title}</h1>{why} }.into_any(),
    };
    let c = Choice::new(order.lines.len());
    let lines = order.lines.clone();
    let (tip_left, lines_left) = (left.tip_left, left.lines.clone());
    let r = Refunding::new(order, refunds, left);
    let shown = Signal::derive(move || r.shown(c));
    let parts = Signal::derive(move || shown.get().and_then(Result::ok).map(|(_, parts)| parts));
    let confirm = move |parts: Parts| r.confirm(app, id, c, parts);
    let (refused, done) = crate::pages::refund::answers(app, id);
    view! {
        <h1>{title}</h1>
        <Show when=move || done().is_none() fallback=move || view! { <RefundDone refund=done().expect("shown when done")/> }>
            <LinesBack lines=lines.clone() lines_left=lines_left.clone() quantities=c.quantities amounts=c.amounts/>
            {(!tip_left.is_zero()).then(|| view! {
                <label class="field checkbox">
                    <input type="checkbox" prop:checked=move || c.tip.get()
                        on:change=move |ev| { c.tip.set(event_target_checked(&ev)); c.amounts.set(None); }/>
                    <span>{format!("Give back the tip ({tip_left})")}</span>
                </label>
            })}
            <ReasonSelect reason=c.reason/>
            <Show when=move || c.anything()>
                <SplitFields rows=r.rows amounts=c.amounts shown=parts/>
            </Show>
            <RefundSummary shown left=r.left confirm/>
        </Show>
        // Why a refund was refused, or why its card part ended without
        // giving anything back: under the form, or under the answer.
        {move || refused().map(|m| view! { <p role="alert" class="error">{m}</p> })}
    }
    .into_any()
}

/// "Items coming back": a quantity per line, or the whole order.
#[component]
fn LinesBack(
    lines: Vec<till_core::cart::CartLine>,
    lines_left: Vec<till_core::refund::LineLeft>,
    quantities: RwSignal<Vec<u32>>,
    amounts: RwSignal<Option<Vec<String>>>,
) -> impl IntoView {
    let whole: Vec<u32> = lines_left.iter().map(|l| l.left).collect();
    view! {
        <fieldset class="refund-lines">
            <legend>"Items coming back"</legend>
            <button class="secondary" on:click=move |_| { quantities.set(whole.clone()); amounts.set(None); }>"Whole order"</button>
            <ul>
                {lines.iter().zip(&lines_left).enumerate().map(|(i, (l, w))| {
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
                                    amounts.set(None);
                                }/>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </fieldset>
    }
}

/// The refund's total, where its money goes, and Confirm.
#[component]
fn RefundSummary(
    shown: Signal<Shown>,
    left: StoredValue<Refundable>,
    confirm: impl Fn(Parts) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        match shown.get() {
        None => view! { <p class="hint">"Choose what comes back."</p> }.into_any(),
        Some(Err(e)) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
        Some(Ok((p, parts))) => view! {
            <div class="refund-summary" aria-label="Refund summary">
                <p>"Refund total: " <strong>{p.totals.total.to_string()}</strong></p>
                <ul aria-label="Money back">
                    {parts.iter().map(|(key, amount)| {
                        let label = left.with_value(|l| label_of(l, *key));
                        view! { <li>{money_back(*key, &label, *amount)}</li> }
                    }).collect_view()}
                </ul>
                <button class="primary" on:click=move |_| confirm(parts.clone())>{format!("Refund {}", p.totals.total)}</button>
            </div>
        }.into_any(),
    }
    }
}

/// The parts the cashier chose, one per tender row (an empty or zero
/// field gives nothing to that tender), or the suggestion when nothing was
/// typed.
fn chosen(
    rows: &[TenderLeft],
    p: &RefundPreview,
    typed: Option<&[String]>,
) -> Result<Vec<(TenderKey, Money)>, RefundError> {
    let Some(typed) = typed else {
        return Ok(p.tenders.iter().map(|(k, _, m)| (*k, *m)).collect());
    };
    let mut parts = Vec::new();
    for (row, text) in rows.iter().zip(typed) {
        if text.trim().is_empty() {
            continue;
        }
        let amount = Money::parse(text, row.left.currency()).map_err(|e| RefundError::Invalid {
            field: row.label.clone(),
            message: e.to_string(),
        })?;
        if !amount.is_zero() {
            parts.push((row.key, amount));
        }
    }
    Ok(parts)
}

fn label_of(left: &Refundable, key: TenderKey) -> String {
    left.tender(key)
        .map(|t| t.label.clone())
        .unwrap_or_default()
}

/// "Split the money back": one amount per tender of the order (the cash it
/// took, each card it was paid with), filled with the suggestion.
#[component]
fn SplitFields(
    rows: StoredValue<Vec<TenderLeft>>,
    amounts: RwSignal<Option<Vec<String>>>,
    shown: Signal<Option<Vec<(TenderKey, Money)>>>,
) -> impl IntoView {
    let count = rows.with_value(Vec::len);
    let keys: Vec<TenderKey> = rows.with_value(|r| r.iter().map(|t| t.key).collect());
    let keys = StoredValue::new(keys);
    (count > 1).then(|| {
        let value = move |i: usize, key: TenderKey| {
            amounts.get().map(|a| a[i].clone()).unwrap_or_else(|| {
                shown
                    .get()
                    .and_then(|parts| parts.iter().find(|(k, _)| *k == key).map(|(_, m)| m.to_plain_string()))
                    .unwrap_or_default()
            })
        };
        view! {
            <fieldset class="refund-split">
                <legend>"Split the money back"</legend>
                {rows.with_value(|list| list.iter().enumerate().map(|(i, row)| {
                    let key = row.key;
                    let label = format!("Amount back to {}", row.label);
                    let hint = format!("up to {}", row.left);
                    view! {
                        <label class="field">
                            <span>{label.clone()}</span>
                            <input type="text" inputmode="decimal" autocomplete="off"
                                prop:value=move || value(i, key)
                                on:input=move |ev| {
                                    let text = event_target_value(&ev);
                                    let now: Vec<String> = (0..count).map(|j| if j == i { text.clone() } else { value(j, keys.with_value(|k| k[j])) }).collect();
                                    amounts.set(Some(now));
                                }/>
                            <small>{hint}</small>
                        </label>
                    }
                }).collect_view())}
            </fieldset>
        }
    })
}

/// What the register answered about refund `id` (made when its screen
/// opened): why it was refused or ended without giving anything back, and
/// the refund once written.
pub fn answers(
    app: crate::state::AppState,
    id: Option<RefundId>,
) -> (
    impl Fn() -> Option<String> + Copy,
    impl Fn() -> Option<Refund> + Copy,
) {
    let refused = move || {
        app.answer(Answer::RefundRefused, |e| match e {
            UiEvent::RefundRefused { id: r, text } if Some(*r) == id => Some(text.clone()),
            _ => None,
        })
    };
    let done = move || {
        app.answer(Answer::Refunded, |e| match e {
            UiEvent::Refunded(r) if Some(r.id) == id => Some((**r).clone()),
            _ => None,
        })
    };
    (refused, done)
}

/// One line of "Money back": "Cash: give back €2.40", "VISA •••• 4242: €4.40".
fn money_back(key: TenderKey, label: &str, amount: Money) -> String {
    match key {
        TenderKey::Cash => format!("Cash: give back {amount}"),
        TenderKey::Card(_) => format!("To {label}: {amount}"),
    }
}

#[component]
pub fn RefundDone(refund: Refund) -> impl IntoView {
    let cash = refund.cash_back();
    view! {
        <div class="refund-done" role="status">
            {cash.map(|c| view! { <p class="give-back">"Give back " <strong>{c.to_string()}</strong> " in cash."</p> })}
            {refund.tenders.iter().filter_map(card_line).map(|t| view! { <p class="card-back">{t}</p> }).collect_view()}
            <p>{format!("Refund {} is recorded ({}).", refund.number, refund.status().label())}</p>
            <p>{refund.status().what_next()}</p>
            {again(&refund)}
            <a class="button" href=Screen::RefundReceipt(refund.id).href()>"Print refund receipt"</a>
            {match refund.order_id {
                Some(id) => view! { <a class="button" href=Screen::Sale(id).href()>"Back to the order"</a> }.into_any(),
                None => view! { <a class="button" href=Screen::Sales.href()>"Back to Register Sales"</a> }.into_any(),
            }}
        </div>
    }
}

/// "Refund €x to the card again", when a card part failed and the rest is
/// owed: a new card part, through the card popup.
fn again(refund: &Refund) -> Option<impl IntoView> {
    let app = use_app();
    let (original, amount) = refund.owed_to_card()?;
    let order_id = refund.order_id?;
    let refund_id = refund.id;
    let retry = move |_| {
        app.clear(Answer::RefundRefused);
        act(
            &app,
            Action::RetryRefundCard {
                refund_id,
                order_id,
                original,
                amount,
            },
        );
    };
    Some(view! {
        <p class="owed">{format!("Still owed to the customer: {amount}.")}</p>
        <button class="primary" on:click=retry>{format!("Refund {amount} to the card again")}</button>
    })
}

/// "€1.95 back to the card: approved".
fn card_line(t: &RefundTender) -> Option<String> {
    match t {
        RefundTender::Card { amount, state, .. } => {
            Some(format!("{amount} back to the card: {}", state.label()))
        }
        RefundTender::Cash { .. } => None,
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
                <div>{match &refund.order_number {
                    Some(n) => format!("For order {n}"),
                    None => "Return without receipt".to_string(),
                }}</div>
                {refund.reason.map(|r| view! { <div>{format!("Reason: {}", r.label())}</div> })}
                {refund.cashier.as_ref().map(|c| view! { <div>"Given back by " {c.name.clone()}</div> })}
                {refund.approved_by.as_ref().map(|a| view! { <div>"Approved by " {a.by.name.clone()}</div> })}
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
                {t.tip.map(|tip| view! { <div class="sub"><dt>"Tip given back"</dt><dd>{format!("-{tip}")}</dd></div> })}
                <div class="total"><dt>"Refund total"</dt><dd>{format!("-{}", t.total)}</dd></div>
                {refund.tenders.iter().map(|tender| view! {
                    <div><dt>{match tender {
                        RefundTender::Cash { .. } => "Cash back".to_string(),
                        RefundTender::Card { state, .. } => format!("Back to card ({})", state.label()),
                    }}</dt><dd>{tender.amount().to_string()}</dd></div>
                }).collect_view()}
            </dl>
        </article>
    }
}
