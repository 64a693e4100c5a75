//! The sale in progress: turning the cart into an order, saving each new
//! version with its outbox entry, and finishing the sale. The rules are
//! till-core's; this module performs them against IndexedDB.

use crate::platform;
use crate::state::AppState;
use crate::store::StoreError;
use leptos::prelude::*;
use till_core::cart::Cart;
use till_core::order::{BusinessDate, Order, OrderNumber, RegisterId};
use till_core::outbox::{Outbox, OutboxChange};

/// The store's business day: the tablet's local date.
pub fn today() -> BusinessDate {
    let d = js_sys::Date::new_0();
    BusinessDate::new(
        d.get_full_year() as u16,
        (d.get_month() + 1) as u8,
        d.get_date() as u8,
    )
    .expect("the browser's date is a valid date")
}

/// The outbox changes for a new version of `order`.
async fn outbox_changes(app: &AppState, order: &Order) -> Result<Vec<OutboxChange>, StoreError> {
    let mut outbox = Outbox::new(app.db.outbox_of(&order.id).await?);
    Ok(outbox.enqueue(order.id, order.version, platform::now()))
}

async fn refresh_unsynced(app: &AppState) {
    if let Ok(n) = app.db.count(crate::store::schema::OUTBOX).await {
        app.unsynced.set(n as usize);
    }
    // A new order version: let the sync worker send it now.
    app.sync_wake.update(|n| *n += 1);
}

/// The order for the cart: the current one (updated if the cart changed and
/// nothing is paid yet), or a new one with the next number of the day.
pub async fn ensure_order(app: &AppState) -> Result<Order, String> {
    let cart = app.cart.get_untracked();
    if cart.is_empty() {
        return Err("The cart is empty.".into());
    }
    if let Some(mut order) = app.order.get_untracked() {
        if order.holds(&cart) || !order.tenders.is_empty() {
            return Ok(order);
        }
        order
            .replace_cart(&cart, platform::now())
            .map_err(|e| e.to_string())?;
        save(app, &order).await.map_err(|e| e.to_string())?;
        app.order.set(Some(order.clone()));
        return Ok(order);
    }
    let settings = app
        .settings
        .get_untracked()
        .ok_or("Set up the register first.")?;
    let register = RegisterId::new(settings.register_id).map_err(|e| e.to_string())?;
    let date = today();
    let now = platform::now();
    let id = platform::new_order_id();
    let order = app
        .db
        .create_order(&date.compact(), move |seq| {
            let number = OrderNumber::new(register, date, seq).map_err(|e| e.to_string())?;
            let order = Order::from_cart(id, number, &cart, now).map_err(|e| e.to_string())?;
            let mut outbox = Outbox::default();
            let changes = outbox.enqueue(order.id, order.version, now);
            Ok((order, changes))
        })
        .await
        .map_err(|e| e.to_string())?;
    app.order.set(Some(order.clone()));
    refresh_unsynced(app).await;
    Ok(order)
}

/// Saves a new version of the order with its outbox entry (strict).
pub async fn save(app: &AppState, order: &Order) -> Result<(), StoreError> {
    let changes = outbox_changes(app, order).await?;
    app.db.save_order(order, &changes).await?;
    refresh_unsynced(app).await;
    Ok(())
}

/// The sale is over: the order's last version is saved, the cart empties,
/// the register is ready for the next sale.
pub async fn finish(app: &AppState, order: &Order) -> Result<(), StoreError> {
    let changes = outbox_changes(app, order).await?;
    let empty = Cart::new(app.cart.get_untracked().currency);
    app.db.finish_sale(order, &changes, &empty).await?;
    app.order.set(None);
    app.cart.set(empty);
    refresh_unsynced(app).await;
    Ok(())
}

/// Records a new version of the current order: finishes the sale when it
/// is no longer open, otherwise saves it and keeps it current.
pub async fn record(app: &AppState, order: Order) -> Result<(), StoreError> {
    if order.status == till_core::order::OrderStatus::Open {
        save(app, &order).await?;
        app.order.set(Some(order));
        Ok(())
    } else {
        finish(app, &order).await
    }
}
