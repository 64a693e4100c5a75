//! The cart: lines, discounts, totals, and the way to payment. Every change
//! goes through the register, which refuses it while part of the sale is
//! paid or a card payment is live (and says why).

use crate::runner::edit_cart;
use crate::state::use_app;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use till_core::cart::{parse_percent, Discount};
use till_core::catalog::ProductId;
use till_core::money::percent_number;

/// One edit of the cart, checked by till-core's cart rules.
type CartChange = Box<dyn FnOnce(&mut till_core::cart::Cart) -> Result<(), String>>;

#[component]
pub fn CartPanel() -> impl IntoView {
    let app = use_app();
    let cart = Memo::new(move |_| app.cart());
    let totals = Memo::new(move |_| cart.with(|c| c.totals().map_err(|e| e.to_string())));
    let confirm_clear = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let edit = {
        move |change: CartChange| match edit_cart(&app, change) {
            Ok(()) => error.set(None),
            Err(e) => error.set(Some(e)),
        }
    };
    let set_qty = {
        move |id: ProductId, q: u32| {
            edit(Box::new(move |c| {
                c.set_quantity(&id, q).map_err(|e| e.to_string())
            }))
        }
    };
    // A discount or a price waiting for a manager, then cancelled, leaves the cart as
    // it was: the fields show the cart again when the request comes and goes.
    let waiting = Memo::new(move |_| {
        app.rev.get();
        app.register(|r| r.awaiting_approval().is_some())
            .unwrap_or(false)
    });
    let edit_line = edit;
    let lines = move || {
        let edit_line = edit_line;
        let set_qty = set_qty;
        waiting.track();
        let c = cart.get();
        let t = totals.get().ok();
        c.lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let id = l.product_id.clone();
                let (dec, inc, rm, disc, priced) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
                let (set_qty, set_qty2, set_qty3, edit_line) = (set_qty, set_qty, set_qty, edit_line);
                let q = l.quantity;
                let name = l.name.clone();
                let line_total = t.as_ref().and_then(|t| t.lines.get(i)).map(|lt| lt.after_discount().map(|m| m.to_string()).unwrap_or_default()).unwrap_or_default();
                let price_value = l.unit_price.to_plain_string();
                let price_label = match l.list_price {
                    Some(list) => format!("Price (list {list})"),
                    None => "Price".to_owned(),
                };
                let currency = l.unit_price.currency();
                let discount_value = match l.discount {
                    Some(Discount::Percent { basis_points }) => percent_number(basis_points),
                    _ => String::new(),
                };
                view! {
                    <li class="line">
                        <span class="line-name">{name.clone()}</span>
                        <span class="qty">
                            <button aria-label=format!("Decrease {name}") on:click=move |_| set_qty(dec.clone(), q.saturating_sub(1))>"−"</button>
                            <span aria-label=format!("Quantity of {name}")>{q}</span>
                            <button aria-label=format!("Increase {name}") on:click=move |_| set_qty2(inc.clone(), q + 1)>"+"</button>
                        </span>
                        <span class="line-total">{line_total}</span>
                        <span class="line-discount">
                        <label>
                            <span>{price_label}</span>
                            <input
                                type="text"
                                inputmode="decimal"
                                aria-label=format!("Price of {name}")
                                prop:value=price_value
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    // Empty: the catalog's price back. Another price is a
                                    // price override (a cashier's waits for a manager).
                                    let price = if v.trim().is_empty() { Ok(None) } else { till_core::money::Money::parse(&v, currency).map(Some) };
                                    match price {
                                        Ok(p) => {
                                            let priced = priced.clone();
                                            edit_line(Box::new(move |c| c.set_price(&priced, p).map_err(|e| e.to_string())))
                                        }
                                        Err(e) => error.set(Some(format!("The price: {e}"))),
                                    }
                                }
                            />
                        </label>
                        <label>
                            <span>"% off"</span>
                            <input
                                type="text"
                                inputmode="decimal"
                                aria-label=format!("Discount for {name} (%)")
                                prop:value=discount_value
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    let d = if v.trim().is_empty() { Ok(None) } else { parse_percent(&v).map(|bp| Some(Discount::Percent { basis_points: bp })) };
                                    match d {
                                        Ok(d) => {
                                            let disc = disc.clone();
                                            edit_line(Box::new(move |c| c.set_line_discount(&disc, d).map_err(|e| e.to_string())))
                                        }
                                        Err(e) => error.set(Some(e.to_string())),
                                    }
                                }
                            />
                        </label>
                        </span>
                        <button class="remove" aria-label=format!("Remove {name}") on:click=move |_| set_qty3(rm.clone(), 0)>"✕"</button>
                    </li>
                }
            })
            .collect_view()
    };
    let order_discount_value = move || {
        waiting.track();
        match cart.get().order_discount {
            Some(Discount::Percent { basis_points }) => percent_number(basis_points),
            _ => String::new(),
        }
    };
    let total_text = move || {
        totals
            .get()
            .map(|t| t.total.to_string())
            .unwrap_or_default()
    };
    let row = move |label: &'static str, f: fn(&till_core::cart::Totals) -> String| {
        view! {
            <div class="total-row">
                <dt>{label}</dt>
                <dd><output aria-label=label>{move || totals.get().map(|t| f(&t)).unwrap_or_default()}</output></dd>
            </div>
        }
    };
    let edit_order = edit;
    let edit_clear = edit;
    view! {
        <section class="cart" aria-label="Cart">
            <h2>"Cart"</h2>
            <Show when=move || cart.with(|c| c.is_empty())>
                <p class="empty">"The cart is empty. Tap a product or scan a barcode."</p>
            </Show>
            <ul class="lines">{lines}</ul>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <label class="order-discount">
                <span>"Order discount %"</span>
                <input
                    type="text"
                    inputmode="decimal"
                    prop:value=order_discount_value
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let d = if v.trim().is_empty() { Ok(None) } else { parse_percent(&v).map(|bp| Some(Discount::Percent { basis_points: bp })) };
                        match d {
                            Ok(d) => edit_order(Box::new(move |c| c.set_order_discount(d).map_err(|e| e.to_string()))),
                            Err(e) => error.set(Some(e.to_string())),
                        }
                    }
                />
            </label>
            <dl class="totals">
                {row("Subtotal", |t| t.subtotal.to_string())}
                {row("Discounts", |t| t.discounts.to_string())}
                {row("Tax", |t| t.tax().map(|m| m.to_string()).unwrap_or_default())}
                {row("Total", |t| t.total.to_string())}
            </dl>
            <button
                class="pay-button"
                disabled=move || cart.with(|c| c.is_empty())
                on:click=move |_| navigate("/pay", Default::default())
            >
                {move || format!("Pay {}", total_text())}
            </button>
            <Show
                when=move || confirm_clear.get()
                fallback=move || view! {
                    <button class="clear" disabled=move || cart.with(|c| c.is_empty()) on:click=move |_| confirm_clear.set(true)>"Clear cart"</button>
                }
            >
                <div class="confirm" role="group" aria-label="Clear the cart?">
                    <span>{move || format!("Remove all {} items?", cart.with(|c| c.item_count()))}</span>
                    <button on:click=move |_| { edit_clear(Box::new(|c| { c.clear(); Ok(()) })); confirm_clear.set(false); }>"Yes, clear"</button>
                    <button on:click=move |_| confirm_clear.set(false)>"Keep"</button>
                </div>
            </Show>
            <crate::components::park::ParkPanel empty=Signal::derive(move || cart.with(|c| c.is_empty()))/>
        </section>
    }
}
