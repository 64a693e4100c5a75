//! Day-end: the Z report of this register's business day, from its own
//! orders, offline or not; provisional while anything is unsynced.

use crate::sale;
use crate::state::use_app;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::report::{z_report, ZReport};

#[component]
pub fn DayEndPage() -> impl IntoView {
    let app = use_app();
    let report = RwSignal::new(None::<Result<ZReport, String>>);
    let close_day = {
        let app = app.clone();
        move |_| {
            let app = app.clone();
            spawn_local(async move {
                let Some(settings) = app.settings.get_untracked() else {
                    return;
                };
                let currency = app
                    .catalog
                    .get_untracked()
                    .map(|c| c.meta.currency)
                    .unwrap_or(app.cart.get_untracked().currency);
                let orders: Vec<_> = app
                    .db
                    .orders()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|o| o.register().as_str() == settings.register_id)
                    .collect();
                let unsynced = app.db.outbox().await.map(|e| e.len()).unwrap_or(0);
                report.set(Some(
                    z_report(sale::today(), currency, &orders, unsynced).map_err(|e| e.to_string()),
                ));
            });
        }
    };
    view! {
        <section class="page day-end">
            <div class="no-print">
                <h1>"Day end"</h1>
                <button on:click=close_day>"Close day"</button>
                <button on:click=move |_| { if let Some(w) = web_sys::window() { let _ = w.print(); } }>"Print"</button>
            </div>
            {move || report.get().map(|r| match r {
                Err(e) => view! { <p role="alert">{e}</p> }.into_any(),
                Ok(r) => view! {
                    <article class="receipt z-report" aria-label="Z report">
                        <header>
                            <strong>"Z report " {r.date.to_string()}</strong>
                            {r.provisional.then(|| view! { <div class="provisional">{format!("PROVISIONAL: {} not yet in the back office", r.unsynced)}</div> })}
                        </header>
                        <dl>
                            <div><dt>"Sales"</dt><dd aria-label="Sales count">{r.sales_count}</dd></div>
                            <div><dt>"Sales total"</dt><dd aria-label="Sales total">{r.sales_total.to_string()}</dd></div>
                            <div><dt>"Cash"</dt><dd aria-label="Cash total">{r.cash.to_string()}</dd></div>
                            <div><dt>"Card"</dt><dd aria-label="Card total">{r.card.to_string()}</dd></div>
                            {r.taxes.iter().map(|t| view! { <div class="sub"><dt>{format!("{} on {}", t.name, t.base)}</dt><dd>{t.tax.to_string()}</dd></div> }).collect_view()}
                            <div><dt>"Voids"</dt><dd aria-label="Voids">{format!("{} ({})", r.voids_count, r.voids_total)}</dd></div>
                            <div><dt>"Unpaid / pending"</dt><dd aria-label="Unpaid orders">{if r.unpaid.is_empty() { "none".to_owned() } else { r.unpaid.join(", ") }}</dd></div>
                            <div><dt>"Unsynced"</dt><dd aria-label="Unsynced">{r.unsynced}</dd></div>
                        </dl>
                    </article>
                }.into_any(),
            })}
        </section>
    }
}
