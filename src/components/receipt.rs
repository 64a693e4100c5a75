//! The receipt as it prints (print CSS for 58 and 80 mm paper): an order's
//! lines, totals and tenders, and at its foot the order number as a Code
//! 128 barcode, which a scanner reads into Register Sales → "Find order by
//! number" for a return. [`ReceiptFrame`] is the paper it prints on, which
//! refund receipts and shift reports share.

use crate::components::barcode::Barcode;
use leptos::prelude::*;
use till_core::order::Order;

/// A printable receipt's page: the paper width (58 or 80 mm), Print, and
/// the way back, none of which is printed.
#[component]
pub fn ReceiptFrame(title: &'static str, children: Children) -> impl IntoView {
    let paper = RwSignal::new("80");
    view! {
        <section class=move || format!("page receipt-page paper-{}", paper.get())>
            <div class="no-print receipt-actions">
                <h1>{title}</h1>
                <label class="field">
                    <span>"Paper"</span>
                    <select on:change=move |ev| paper.set(if event_target_value(&ev) == "58" { "58" } else { "80" })>
                        <option value="80">"80 mm"</option>
                        <option value="58">"58 mm"</option>
                    </select>
                </label>
                <button on:click=move |_| { if let Some(w) = web_sys::window() { let _ = w.print(); } }>"Print"</button>
                <a class="button" href=crate::state::Screen::Register.href()>"Back to Register"</a>
            </div>
            {children()}
        </section>
    }
}

#[component]
pub fn Receipt(order: Order) -> impl IntoView {
    let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        order.created_at.as_millis() as f64,
    ));
    let when = format!(
        "{} {:02}:{:02}",
        order.number.date(),
        when.get_hours(),
        when.get_minutes()
    );
    let t = order.totals.clone();
    let change = order.change().ok().filter(|c| !c.is_zero());
    view! {
        <article class="receipt" aria-label="Receipt">
            <header>
                <strong>"Till"</strong>
                <div>"Order " {order.number.to_string()}</div>
                <div>{when}</div>
                {order.cashier.as_ref().map(|c| view! { <div>"Served by " {c.name.clone()}</div> })}
                <div>{order.status.label().to_uppercase()}</div>
            </header>
            <table>
                <tbody>
                    {order.lines.iter().zip(&t.lines).map(|(l, lt)| view! {
                        <tr>
                            <td>{format!("{} × {}", l.quantity, l.name)}</td>
                            <td class="amount">{lt.gross.to_string()}</td>
                        </tr>
                        {(!lt.discount.is_zero()).then(|| view! { <tr class="sub"><td>"  discount"</td><td class="amount">{format!("-{}", lt.discount)}</td></tr> })}
                    }).collect_view()}
                </tbody>
            </table>
            <dl>
                {(!t.discounts.is_zero()).then(|| view! { <div><dt>"Discounts"</dt><dd>{format!("-{}", t.discounts)}</dd></div> })}
                {t.taxes.iter().map(|x| view! {
                    <div class="sub"><dt>{format!("{} {}", x.name, if x.mode == till_core::catalog::TaxMode::Inclusive { "incl." } else { "" })}</dt><dd>{x.tax.to_string()}</dd></div>
                }).collect_view()}
                <div class="total"><dt>"Total"</dt><dd>{t.total.to_string()}</dd></div>
                {order.tenders.iter().map(|tender| view! {
                    <div><dt>{tender.to_string()}</dt><dd></dd></div>
                    {match tender {
                        till_core::order::Tender::Card { reference, card, amount } => Some(view! {
                            {card.tip.map(|tip| view! {
                                <div class="tip"><dt>"Tip"</dt><dd>{tip.to_string()}</dd></div>
                                <div class="sub"><dt>"Charged to the card"</dt><dd>{card.charged(*amount).map(|m| m.to_string()).unwrap_or_default()}</dd></div>
                            })}
                            {card.masked_pan.clone().map(|pan| view! { <div class="sub"><dt>{format!("Card {pan}")}</dt><dd></dd></div> })}
                            <div class="sub"><dt>{format!("auth {} · ref {}", card.auth_code, &reference.to_string()[..8])}</dt><dd></dd></div>
                            {card.psp_reference.clone().map(|psp| view! { <div class="sub"><dt>{format!("PSP reference {psp}")}</dt><dd></dd></div> })}
                        }),
                        _ => None,
                    }}
                }).collect_view()}
                {change.map(|c| view! { <div><dt>"Change"</dt><dd>{c.to_string()}</dd></div> })}
            </dl>
            <Barcode text=order.number.to_string()/>
        </article>
    }
}
