//! Day-end: the Z report of this register's business day, from its own
//! orders, offline or not. The day is closed when the last shift of the day
//! closes; provisional while anything is unsynced or a card payment is in
//! doubt (till-core's `day_close`). A failed read is an error, never a
//! report of zero.

use crate::error::AppError;
use crate::state::{use_app, AppState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::report::{z_report, Pending, ZReport};
use till_core::shift::{day_close, DayClose};

async fn build(app: &AppState) -> Result<ZReport, AppError> {
    let settings = app.set_up()?;
    let today = app.business_day()?;
    let orders: Vec<_> = app
        .db()
        .orders()
        .await?
        .into_iter()
        .filter(|o| *o.register() == settings.register_id)
        .collect();
    let refunds: Vec<_> = app
        .db()
        .refunds()
        .await?
        .into_iter()
        .filter(|r| *r.number.register() == settings.register_id)
        .collect();
    let unsynced = app.db().outbox().await?.len();
    let in_doubt = app
        .db()
        .attempts()
        .await?
        .iter()
        .filter(|a| a.state.is_in_doubt())
        .count();
    Ok(z_report(
        today,
        app.currency(),
        &orders,
        &refunds,
        Pending { unsynced, in_doubt },
    )?)
}

#[component]
pub fn DayEndPage() -> impl IntoView {
    let app = use_app();
    let report = RwSignal::new(None::<Result<ZReport, AppError>>);
    let close_day = move |_| {
        let app = app;
        spawn_local(async move { report.set(Some(build(&app).await)) });
    };
    view! {
        <section class="page day-end">
            <div class="no-print">
                <h1>"Day end"</h1>
                <button on:click=close_day>"Close day"</button>
                <button on:click=move |_| { if let Some(w) = web_sys::window() { let _ = w.print(); } }>"Print"</button>
            </div>
            {move || report.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{format!("The Z report could not be made: {e}")}</p> }.into_any(),
                Ok(r) => view! {
                    <article class="receipt z-report" aria-label="Z report">
                        <header>
                            <strong>"Z report " {r.date.to_string()}</strong>
                            {match day_close(&r, app.register(|m| m.shift().cloned()).flatten().as_ref()) {
                                DayClose::ShiftOpen => view! { <div class="provisional" aria-label="Day state">"NOT CLOSED: a shift is still open. The day closes when the last shift closes (Shift → Close shift)."</div> }.into_any(),
                                DayClose::Provisional => view! { <div class="provisional" aria-label="Day state">{format!("PROVISIONAL: {} not yet in the back office, {} card payments in doubt", r.unsynced, r.in_doubt)}</div> }.into_any(),
                                DayClose::Closed => view! { <div aria-label="Day state">"Day closed: every shift is closed and everything is in the back office."</div> }.into_any(),
                            }}
                        </header>
                        <dl>
                            <div><dt>"Sales"</dt><dd aria-label="Sales count">{r.sales_count}</dd></div>
                            <div><dt>"Sales total"</dt><dd aria-label="Sales total">{r.sales_total.to_string()}</dd></div>
                            <div><dt>"Cash"</dt><dd aria-label="Cash total">{r.cash.to_string()}</dd></div>
                            <div><dt>"Card"</dt><dd aria-label="Card total">{r.card.to_string()}</dd></div>
                            {r.tips.map(|tips| view! { <div><dt>"Tips (on cards, not sales)"</dt><dd aria-label="Tips">{tips.to_string()}</dd></div> })}
                            {r.taxes.iter().map(|t| view! { <div class="sub"><dt>{format!("{} on {}", t.name, t.base)}</dt><dd>{t.tax.to_string()}</dd></div> }).collect_view()}
                            <div><dt>"Refunds"</dt><dd aria-label="Refunds">{format!("{} ({})", r.refunds_count, r.refunds_total)}</dd></div>
                            <div class="sub"><dt>"Refunds in cash"</dt><dd aria-label="Refunds in cash">{r.refunds_cash.to_string()}</dd></div>
                            <div class="sub"><dt>"Refunds to card"</dt><dd aria-label="Refunds to card">{r.refunds_card.to_string()}</dd></div>
                            {r.tips_refunded.map(|tips| view! { <div class="sub"><dt>"Tips given back"</dt><dd aria-label="Tips refunded">{tips.to_string()}</dd></div> })}
                            {r.refund_taxes.iter().map(|t| view! { <div class="sub"><dt>{format!("{} refunded on {}", t.name, t.base)}</dt><dd>{format!("-{}", t.tax)}</dd></div> }).collect_view()}
                            <div class="total"><dt>"Net (sales less refunds)"</dt><dd aria-label="Net total">{r.net_total.to_string()}</dd></div>
                            <div><dt>"Cash in drawer (beyond float)"</dt><dd aria-label="Cash in drawer">{r.cash_in_drawer.to_string()}</dd></div>
                            <div><dt>"Voids"</dt><dd aria-label="Voids">{format!("{} ({})", r.voids_count, r.voids_total)}</dd></div>
                            <div><dt>"Unpaid / pending"</dt><dd aria-label="Unpaid orders">{if r.unpaid.is_empty() { "none".to_owned() } else { r.unpaid.join(", ") }}</dd></div>
                            <div><dt>"Refund due"</dt><dd aria-label="Refund due">{r.refund_due.to_string()}</dd></div>
                            <div><dt>"Card payments in doubt"</dt><dd aria-label="Payments in doubt">{r.in_doubt}</dd></div>
                            <div><dt>"Unsynced"</dt><dd aria-label="Unsynced">{r.unsynced}</dd></div>
                        </dl>
                    </article>
                }.into_any(),
            })}
        </section>
    }
}
