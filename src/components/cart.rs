//! The cart: lines, discounts, totals, and the way to payment. Every change
//! goes through the register, which refuses it while part of the sale is
//! paid or a card payment is live (and says why).

use crate::runner::edit_cart;
use crate::state::{use_app, AppState, Screen};
use leptos::prelude::*;
use till_core::cart::{discount_field, parse_discount, Cart, CartError, CartLine, Totals};
use till_core::money::Money;

/// Edits the cart through the register; what it refuses shows in `error`.
#[derive(Clone, Copy)]
struct Editor {
    app: AppState,
    error: RwSignal<Option<String>>,
}

impl Editor {
    fn apply(self, change: impl FnOnce(&mut Cart) -> Result<(), CartError>) {
        match edit_cart(&self.app, change) {
            Ok(()) => self.error.set(None),
            Err(e) => self.error.set(Some(e.to_string())),
        }
    }
}

#[component]
pub fn CartPanel() -> impl IntoView {
    let app = use_app();
    let cart = Memo::new(move |_| app.cart());
    let totals = Memo::new(move |_| cart.with(Cart::totals));
    let error = RwSignal::new(None::<String>);
    let editor = Editor { app, error };
    // A discount or a price waiting for a manager, then cancelled, leaves the cart as
    // it was: the fields show the cart again when the request comes and goes.
    let waiting = Memo::new(move |_| {
        app.register(|r| r.awaiting_approval().is_some())
            .unwrap_or(false)
    });
    let lines = move || {
        let _ = waiting.get();
        let t = totals.get().ok();
        cart.get()
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                let total = t
                    .as_ref()
                    .and_then(|t| t.lines.get(i))
                    .and_then(|lt| lt.after_discount().ok());
                let total = total.map(|m| m.to_string()).unwrap_or_default();
                view! { <LineRow line total editor/> }
            })
            .collect_view()
    };
    let empty = Signal::derive(move || cart.with(Cart::is_empty));
    view! {
        <section class="cart" aria-label="Cart">
            <h2>"Cart"</h2>
            <Show when=move || empty.get()>
                <p class="empty">"The cart is empty. Tap a product or scan a barcode."</p>
            </Show>
            <ul class="lines">{lines}</ul>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <OrderDiscount cart waiting editor/>
            <CartTotals totals/>
            <PayButton empty totals/>
            <ClearCart cart editor/>
            <crate::components::park::ParkPanel empty/>
        </section>
    }
}

/// One line: its quantity, total, price and discount, and removing it.
#[component]
fn LineRow(line: CartLine, total: String, editor: Editor) -> impl IntoView {
    let id = StoredValue::new(line.product_id.clone());
    let q = line.quantity;
    let name = line.name.clone();
    let set_qty = move |q: u32| editor.apply(|c| c.set_quantity(&id.get_value(), q));
    let price_label = match line.list_price {
        Some(list) => format!("Price (list {list})"),
        None => "Price".to_owned(),
    };
    let currency = line.unit_price.currency();
    // Empty: the catalog's price back. Another price is a price override
    // (a cashier's waits for a manager).
    let set_price = move |v: String| {
        let price = match v.trim() {
            "" => Ok(None),
            v => Money::parse(v, currency).map(Some),
        };
        match price {
            Ok(p) => editor.apply(|c| c.set_price(&id.get_value(), p)),
            Err(e) => editor.error.set(Some(format!("The price: {e}"))),
        }
    };
    let set_discount = move |v: String| match parse_discount(&v) {
        Ok(d) => editor.apply(|c| c.set_line_discount(&id.get_value(), d)),
        Err(e) => editor.error.set(Some(e.to_string())),
    };
    view! {
        <li class="line">
            <span class="line-name">{name.clone()}</span>
            <span class="qty">
                <button aria-label=format!("Decrease {name}") on:click=move |_| set_qty(q.saturating_sub(1))>"−"</button>
                <span aria-label=format!("Quantity of {name}")>{q}</span>
                <button aria-label=format!("Increase {name}") on:click=move |_| set_qty(q + 1)>"+"</button>
            </span>
            <span class="line-total">{total}</span>
            <span class="line-discount">
                <label>
                    <span>{price_label}</span>
                    <input type="text" inputmode="decimal" aria-label=format!("Price of {name}")
                        prop:value=line.unit_price.to_plain_string()
                        on:change=move |ev| set_price(event_target_value(&ev))/>
                </label>
                <label>
                    <span>"% off"</span>
                    <input type="text" inputmode="decimal" aria-label=format!("Discount for {name} (%)")
                        prop:value=discount_field(line.discount.as_ref())
                        on:change=move |ev| set_discount(event_target_value(&ev))/>
                </label>
            </span>
            <button class="remove" aria-label=format!("Remove {name}") on:click=move |_| set_qty(0)>"✕"</button>
        </li>
    }
}

/// The discount on the whole order, in percent.
#[component]
fn OrderDiscount(cart: Memo<Cart>, waiting: Memo<bool>, editor: Editor) -> impl IntoView {
    let value = move || {
        let _ = waiting.get();
        cart.with(|c| discount_field(c.order_discount.as_ref()))
    };
    let set = move |v: String| match parse_discount(&v) {
        Ok(d) => editor.apply(|c| c.set_order_discount(d)),
        Err(e) => editor.error.set(Some(e.to_string())),
    };
    view! {
        <label class="order-discount">
            <span>"Order discount %"</span>
            <input type="text" inputmode="decimal" prop:value=value
                on:change=move |ev| set(event_target_value(&ev))/>
        </label>
    }
}

#[component]
fn CartTotals(totals: Memo<Result<Totals, CartError>>) -> impl IntoView {
    let row = move |label: &'static str, f: fn(&Totals) -> String| {
        view! {
            <div class="total-row">
                <dt>{label}</dt>
                <dd><output aria-label=label>{move || totals.get().map(|t| f(&t)).unwrap_or_default()}</output></dd>
            </div>
        }
    };
    view! {
        <dl class="totals">
            {row("Subtotal", |t| t.subtotal.to_string())}
            {row("Discounts", |t| t.discounts.to_string())}
            {row("Tax", |t| t.tax().map(|m| m.to_string()).unwrap_or_default())}
            {row("Total", |t| t.total.to_string())}
        </dl>
    }
}

#[component]
fn PayButton(empty: Signal<bool>, totals: Memo<Result<Totals, CartError>>) -> impl IntoView {
    let app = use_app();
    let total = move || {
        totals
            .get()
            .map(|t| t.total.to_string())
            .unwrap_or_default()
    };
    view! {
        <button class="pay-button" disabled=move || empty.get()
            on:click=move |_| app.go(Screen::Pay)>
            {move || format!("Pay {}", total())}
        </button>
    }
}

/// "Clear cart", asked twice.
#[component]
fn ClearCart(cart: Memo<Cart>, editor: Editor) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let clear = move |_| {
        editor.apply(|c| {
            c.clear();
            Ok(())
        });
        confirm.set(false);
    };
    view! {
        <Show
            when=move || confirm.get()
            fallback=move || view! {
                <button class="clear" disabled=move || cart.with(Cart::is_empty) on:click=move |_| confirm.set(true)>"Clear cart"</button>
            }
        >
            <div class="confirm" role="group" aria-label="Clear the cart?">
                <span>{move || format!("Remove all {} items?", cart.with(Cart::item_count))}</span>
                <button on:click=clear>"Yes, clear"</button>
                <button on:click=move |_| confirm.set(false)>"Keep"</button>
            </div>
        </Show>
    }
}
