//! The shift: open it with the float counted in the drawer, pay cash in
//! and out with a reason, open the drawer with no sale, read the X report
//! at any time, and close it with the cash counted: the register shows
//! expected against counted and the over/short, and the shift's Z report
//! prints on 58 or 80 mm paper. Nobody sells without an open shift. The
//! rules (the arithmetic, who may, what is refused) are till-core's
//! (`till_core::shift`); this page reads what the cashier types and shows
//! what the register answers.

use crate::components::receipt::ReceiptFrame;
use crate::error::AppError;
use crate::runner::act;
use crate::state::{use_app, AppState};
use leptos::prelude::*;
use till_core::drawer::denominations;
use till_core::drawer::MovementKind;
use till_core::money::Money;
use till_core::register::answers::Answer;
use till_core::register::{Action, UiEvent};
use till_core::shift::{count_from_entry, shift_report, CashCount, Shift, ShiftError, ShiftReport};

/// "1 sale", "2 sales".
fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// "14:05" on this tablet's clock.
fn clock(at: till_core::time::Timestamp) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.as_millis() as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

#[component]
pub fn ShiftPage() -> impl IntoView {
    let app = use_app();
    app.clear(Answer::ShiftRefused);
    app.clear(Answer::ShiftDone);
    // Redrawn when the shift changes, not at every answer the register gets.
    let open = Memo::new(move |_| app.register(|r| r.shift().cloned()).flatten());
    let closed = move || {
        app.answer(Answer::ShiftWritten, |e| match e {
            UiEvent::ShiftWritten(s) if !s.is_open() => Some((**s).clone()),
            _ => None,
        })
    };
    view! {
        <section class="page shift">
            <h1 class="no-print">"Shift"</h1>
            {move || app.said(Answer::ShiftRefused).map(|m| view! { <p class="error no-print" role="alert">{m}</p> })}
            {move || app.said(Answer::ShiftDone).map(|m| view! { <p class="notice no-print" role="status">{m}</p> })}
            {move || match open.get() {
                Some(shift) => view! { <OpenShift shift=shift/> }.into_any(),
                None => view! {
                    {closed().map(|s| view! { <ZReport shift=s/> })}
                    <OpenForm/>
                }.into_any(),
            }}
        </section>
    }
}

/// How many of each note and coin, or the total: what a count is typed as.
#[derive(Clone, Copy)]
struct CountEntry {
    notes: RwSignal<Vec<(i64, String)>>,
    total: RwSignal<String>,
}

impl CountEntry {
    fn new(app: &AppState) -> CountEntry {
        let notes = denominations(app.currency())
            .iter()
            .map(|v| (*v, String::new()))
            .collect();
        CountEntry {
            notes: RwSignal::new(notes),
            total: RwSignal::new(String::new()),
        }
    }

    fn count(&self, app: &AppState) -> Result<CashCount, ShiftError> {
        let notes = self.notes.get_untracked();
        count_from_entry(app.currency(), &notes, &self.total.get_untracked())
    }
}

/// The count's fields: one per note and coin, then the total.
#[component]
fn CountFields(entry: CountEntry, what: &'static str) -> impl IntoView {
    let app = use_app();
    let currency = app.currency();
    let rows = move || {
        entry
            .notes
            .get_untracked()
            .into_iter()
            .enumerate()
            .map(|(i, (value, _))| {
                let label = Money::new(value, currency).map(|m| m.to_string()).unwrap_or_default();
                view! {
                    <label class="note">
                        <span>{label.clone()}</span>
                        <input
                            type="number" inputmode="numeric" min="0" step="1"
                            aria-label=format!("{what}: how many {label}")
                            prop:value=move || entry.notes.with(|n| n[i].1.clone())
                            on:input=move |ev| entry.notes.update(|n| n[i].1 = event_target_value(&ev))
                        />
                    </label>
                }
            })
            .collect_view()
    };
    view! {
        <fieldset class="count">
            <legend>{format!("{what}: count note by note, or enter the total")}</legend>
            <div class="notes">{rows}</div>
            <label class="field">
                <span>{format!("{what} total")}</span>
                <input
                    type="text" inputmode="decimal" autocomplete="off"
                    prop:value=move || entry.total.get()
                    on:input=move |ev| entry.total.set(event_target_value(&ev))
                />
            </label>
        </fieldset>
    }
}

#[component]
fn OpenForm() -> impl IntoView {
    let app = use_app();
    let entry = CountEntry::new(&app);
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match entry.count(&app) {
            Ok(float) => act(&app, Action::OpenShift { float }),
            Err(e) => app.show(UiEvent::ShiftRefused(e.to_string())),
        }
    };
    view! {
        <form class="shift-open no-print" on:submit=open>
            <h2>"Open a shift"</h2>
            <p>"Nobody sells until a shift is open. Count the float in the drawer."</p>
            <CountFields entry=entry what="Float"/>
            <button class="primary" type="submit">"Open shift"</button>
        </form>
    }
}

#[component]
fn OpenShift(shift: Shift) -> impl IntoView {
    let app = use_app();
    let since = format!(
        "Open since {} by {}, float {}",
        clock(shift.opened_at),
        shift.opened_by.name,
        shift.float
    );
    let entry = CountEntry::new(&app);
    let close = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match entry.count(&app) {
            Ok(count) => act(&app, Action::CloseShift { count }),
            Err(e) => app.show(UiEvent::ShiftRefused(e.to_string())),
        }
    };
    view! {
        <div class="no-print">
            <p class="shift-since">{since}</p>
            <CashMoves/>
            <button type="button" on:click=move |_| act(&app, Action::NoSale)>"No sale (open drawer)"</button>
            <XReport shift=shift/>
            <form class="shift-close" on:submit=close>
                <h2>"Close the shift"</h2>
                <CountFields entry=entry what="Counted"/>
                <button class="primary" type="submit">"Close shift"</button>
            </form>
        </div>
    }
}

/// Paid in and paid out, each with its reason.
#[component]
fn CashMoves() -> impl IntoView {
    let app = use_app();
    let amount = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let go = move |kind: MovementKind| {
        let refusals = app.answered_now(Answer::ShiftRefused);
        match Money::parse(&amount.get_untracked(), app.currency()) {
            Ok(amount) => act(
                &app,
                Action::MoveCash {
                    kind,
                    amount,
                    reason: reason.get_untracked(),
                },
            ),
            Err(e) => return app.show(UiEvent::ShiftRefused(format!("The amount: {e}"))),
        }
        // The register refused nothing: the fields are ready for the next.
        if app.answered_now(Answer::ShiftRefused) == refusals {
            amount.set(String::new());
            reason.set(String::new());
        }
    };
    view! {
        <fieldset class="cash-moves">
            <legend>"Paid in / paid out"</legend>
            <label class="field">
                <span>"Amount"</span>
                <input type="text" inputmode="decimal" autocomplete="off"
                    prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/>
            </label>
            <label class="field">
                <span>"Reason"</span>
                <input type="text" maxlength="200" autocomplete="off"
                    prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
            </label>
            <button type="button" on:click=move |_| go(MovementKind::PaidIn)>"Paid in"</button>
            <button type="button" on:click=move |_| go(MovementKind::PaidOut)>"Paid out"</button>
        </fieldset>
    }
}

/// The X report of the open shift, from the records that name it, read
/// again whenever an order or the shift is written.
#[component]
fn XReport(shift: Shift) -> impl IntoView {
    let app = use_app();
    let written = Memo::new(move |_| {
        (
            app.answered(Answer::OrderWritten),
            app.answered(Answer::ShiftWritten),
        )
    });
    let report = LocalResource::new(move || {
        let _ = written.get();
        let shift = shift.clone();
        async move { x_report(&app, &shift).await }
    });
    view! {
        <section class="x-report" aria-label="X report">
            <h2>"X report"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) => view! { <Figures report=r/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{format!("The X report could not be made: {e}")}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

async fn x_report(app: &AppState, shift: &Shift) -> Result<ShiftReport, AppError> {
    let today = app.business_day()?;
    let (orders, refunds) = app.db().shift_records(&shift.id).await?;
    Ok(shift_report(
        shift,
        today,
        &orders,
        &refunds,
        till_core::report::Pending::default(),
    )?)
}

/// A shift's figures: by tender, by cashier, and the cash expected.
#[component]
fn Figures(report: ShiftReport) -> impl IntoView {
    let t = report.totals;
    let e = report.expected;
    view! {
        <dl class="figures">
            <div><dt>"Sales"</dt><dd aria-label="Shift sales">{format!("{} ({})", t.sales_count, t.sales_total)}</dd></div>
            <div class="sub"><dt>"Cash"</dt><dd aria-label="Shift cash">{t.cash.to_string()}</dd></div>
            <div class="sub"><dt>"Card"</dt><dd aria-label="Shift card">{t.card.to_string()}</dd></div>
            {t.tips.map(|tips| view! { <div><dt>"Tips (on cards, not sales)"</dt><dd aria-label="Shift tips">{tips.to_string()}</dd></div> })}
            <div><dt>"Refunds"</dt><dd aria-label="Shift refunds">{format!("{} ({})", t.refunds_count, t.refunds_total)}</dd></div>
            {t.tips_refunded.map(|tips| view! { <div class="sub"><dt>"  tips given back"</dt><dd aria-label="Shift tips refunded">{tips.to_string()}</dd></div> })}
            <div><dt>"Voids"</dt><dd aria-label="Shift voids">{format!("{} ({})", t.voids_count, t.voids_total)}</dd></div>
            <div><dt>"Discounts"</dt><dd aria-label="Shift discounts">{report.discounts.to_string()}</dd></div>
            {(t.in_doubt > 0).then(|| view! {
                <div><dt>"Card payments in doubt (figures may change)"</dt><dd aria-label="Shift payments in doubt">{t.in_doubt}</dd></div>
            })}
            <div><dt>"By cashier"</dt><dd></dd></div>
            {report.by_cashier.into_iter().map(|c| {
                let name = c.cashier.map_or("Nobody signed in".to_owned(), |c| c.name);
                let sales = format!("{} {}", plural(c.sales_count, "sale"), c.sales_total);
                let refunds = (!c.refunds_total.is_zero()).then(|| view! { <div class="sub"><dt>"  refunds"</dt><dd>{c.refunds_total.to_string()}</dd></div> });
                let voids = (c.voids_count > 0).then(|| view! { <div class="sub"><dt>"  voids"</dt><dd>{c.voids_count}</dd></div> });
                view! { <div class="sub"><dt>{name}</dt><dd>{sales}</dd></div> {refunds} {voids} }
            }).collect_view()}
            <div><dt>"Float"</dt><dd>{e.float.to_string()}</dd></div>
            <div class="sub"><dt>"+ cash sales"</dt><dd>{e.cash_sales.to_string()}</dd></div>
            <div class="sub"><dt>"− cash refunds"</dt><dd>{e.cash_refunds.to_string()}</dd></div>
            <div class="sub"><dt>"+ paid in"</dt><dd>{e.paid_in.to_string()}</dd></div>
            <div class="sub"><dt>"− paid out"</dt><dd>{e.paid_out.to_string()}</dd></div>
            <div class="total"><dt>"Expected in drawer"</dt><dd aria-label="Expected cash">{e.expected.to_string()}</dd></div>
        </dl>
    }
}

/// A closed shift's Z report, as printed: the figures at the close,
/// counted against expected, and the over/short.
#[component]
fn ZReport(shift: Shift) -> impl IntoView {
    let Some(close) = shift.close.clone() else {
        return ().into_any();
    };
    let over_short = if close.over_short.is_negative() {
        let short = Money::zero(close.over_short.currency()).checked_sub(close.over_short);
        format!("Short {}", short.unwrap_or(close.over_short))
    } else if close.over_short.is_zero() {
        "Even".to_owned()
    } else {
        format!("Over {}", close.over_short)
    };
    let title = format!(
        "Shift Z report {}, {}–{}",
        close.report.totals.date,
        clock(shift.opened_at),
        clock(close.at)
    );
    view! {
        <ReceiptFrame title="Shift closed">
            <article class="receipt z-report" aria-label="Shift Z report">
                <header>
                    <strong>{title}</strong>
                    <div>{format!("{}, closed by {}", shift.register, close.by.name)}</div>
                </header>
                <Figures report=close.report.clone()/>
                <dl class="figures">
                    <div><dt>"Counted"</dt><dd aria-label="Counted cash">{close.counted.to_string()}</dd></div>
                    <div class="total"><dt>"Over / short"</dt><dd aria-label="Over or short">{over_short}</dd></div>
                    {shift.movements.iter().map(|m| view! {
                        <div class="sub"><dt>{format!("{} by {}: {}", if m.kind == MovementKind::PaidIn { "Paid in" } else { "Paid out" }, m.by.name, m.reason)}</dt><dd>{m.amount.to_string()}</dd></div>
                    }).collect_view()}
                    <div><dt>"No sale"</dt><dd aria-label="No sale count">{shift.no_sales.len()}</dd></div>
                </dl>
            </article>
        </ReceiptFrame>
    }
    .into_any()
}
