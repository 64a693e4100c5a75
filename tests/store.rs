//! The IndexedDB store in headless Chromium: schema, round trips, strict
//! durability, and what happens when a write fails.
#![cfg(target_arch = "wasm32")]

use till::store::repo::{CatalogMeta, Settings};
use till::store::schema::{META, ORDERS, OUTBOX, PAYMENTS, PRODUCTS, SETTINGS};
use till::store::{from_dom_error, Db, StoreError, DB_VERSION};
use till_core::cart::Cart;
use till_core::catalog::{fixtures, ProductId};
use till_core::money::Currency;
use till_core::order::{BusinessDate, Order, OrderId, OrderNumber, RegisterId};
use till_core::outbox::Outbox;
use till_core::time::Timestamp;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh database per test: a unique name.
async fn fresh() -> Db {
    let name = format!("till-test-{}", js_sys::Math::random());
    Db::open(&name).await.unwrap()
}

fn order(n: u128, seq: u32) -> Order {
    let c = fixtures::small();
    let mut cart = Cart::new(Currency::EUR);
    cart.add_by_id(&c, &ProductId::new("coffee").unwrap())
        .unwrap();
    let raw = n | 0x0191_0000_0000_7000_8000_0000_0000_0000;
    let id = OrderId::from_uuid(uuid::Uuid::from_u128(raw)).unwrap();
    let number = OrderNumber::new(
        RegisterId::new("R1").unwrap(),
        BusinessDate::new(2026, 11, 27).unwrap(),
        seq,
    )
    .unwrap();
    Order::from_cart(id, number, &cart, Timestamp::from_millis(1_000)).unwrap()
}

#[wasm_bindgen_test]
async fn an_empty_database_is_upgraded_to_the_current_schema() {
    let db = fresh().await;
    assert_eq!(db.version(), DB_VERSION);
    let mut names = db.store_names();
    names.sort();
    let mut expected = vec![META, ORDERS, OUTBOX, PAYMENTS, PRODUCTS, SETTINGS];
    expected.sort();
    assert_eq!(names, expected);
}

#[wasm_bindgen_test]
async fn settings_and_the_cart_round_trip() {
    let db = fresh().await;
    assert_eq!(db.settings().await.unwrap(), None);
    let s = Settings {
        oms_url: "http://127.0.0.1:8080".into(),
        register_id: "R1".into(),
        register_token: "dev-register-token".into(),
        bridge_url: "http://127.0.0.1:7878".into(),
        pairing_token: "dev-pairing-token".into(),
        result_wait_secs: Some(5),
    };
    db.save_settings(&s).await.unwrap();
    assert_eq!(db.settings().await.unwrap(), Some(s));

    let c = fixtures::small();
    let mut cart = Cart::new(Currency::EUR);
    cart.add_by_id(&c, &ProductId::new("mug").unwrap()).unwrap();
    db.save_cart(&cart).await.unwrap();
    assert_eq!(db.cart().await.unwrap(), Some(cart));
}

#[wasm_bindgen_test]
async fn the_catalog_is_stored_in_chunks_and_complete_only_with_its_meta() {
    let db = fresh().await;
    let c = fixtures::small();
    let mut products: Vec<_> = c.products().cloned().collect();
    products.sort_by(|a, b| a.id.cmp(&b.id));
    db.store_catalog_chunk(&products[..2], true, None)
        .await
        .unwrap();
    assert_eq!(
        db.catalog_meta().await.unwrap(),
        None,
        "incomplete until the last chunk"
    );
    let meta = CatalogMeta {
        version: "c-1".into(),
        currency: Currency::EUR,
        categories: c.categories().to_vec(),
        tax_rates: vec![fixtures::vat_standard()],
        products_total: products.len() as u64,
    };
    db.store_catalog_chunk(&products[2..], false, Some(&meta))
        .await
        .unwrap();
    assert_eq!(db.catalog_meta().await.unwrap(), Some(meta));
    let mut back = db.products().await.unwrap();
    back.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(back, products);
    // A new download starts by clearing the old catalog.
    db.store_catalog_chunk(&products[..1], true, None)
        .await
        .unwrap();
    assert_eq!(db.count(PRODUCTS).await.unwrap(), 1);
    assert_eq!(db.catalog_meta().await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn an_order_and_its_outbox_entry_are_written_together() {
    let db = fresh().await;
    let o = order(1, 1);
    let mut outbox = Outbox::default();
    let changes = outbox.enqueue(o.id, o.version, Timestamp::from_millis(1_000));
    db.save_order(&o, &changes).await.unwrap();
    assert_eq!(db.orders().await.unwrap(), vec![o.clone()]);
    assert_eq!(db.outbox().await.unwrap(), outbox.entries().to_vec());
}

#[wasm_bindgen_test]
async fn a_failed_write_aborts_and_loses_nothing_already_written() {
    let db = fresh().await;
    let first = order(1, 7);
    let mut outbox = Outbox::default();
    let changes = outbox.enqueue(first.id, 1, Timestamp::from_millis(1));
    db.save_order(&first, &changes).await.unwrap();

    // Another order with the same number violates the unique index: the
    // whole transaction (order and outbox entry) must be rolled back.
    let clash = order(2, 7);
    let changes = outbox.enqueue(clash.id, 1, Timestamp::from_millis(2));
    let err = db.save_order(&clash, &changes).await.unwrap_err();
    assert!(matches!(err, StoreError::Failed(_)), "{err:?}");
    assert_eq!(db.orders().await.unwrap(), vec![first]);
    assert_eq!(
        db.outbox().await.unwrap().len(),
        1,
        "the clash's outbox entry was not written"
    );
}

#[wasm_bindgen_test]
async fn strict_transactions_ask_for_strict_durability() {
    let db = fresh().await;
    let tx = db.write_strict(&[ORDERS]).unwrap();
    let raw: web_sys::IdbTransaction = tx.into();
    let durability = js_sys::Reflect::get(&raw, &"durability".into()).unwrap();
    assert_eq!(durability.as_string().as_deref(), Some("strict"));
    let relaxed: web_sys::IdbTransaction = db.write_relaxed(&[PRODUCTS]).unwrap().into();
    assert_ne!(
        js_sys::Reflect::get(&relaxed, &"durability".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("strict")
    );
    raw.abort().unwrap();
    relaxed.abort().unwrap();
}

#[wasm_bindgen_test]
fn quota_errors_become_the_stop_the_sale_error() {
    assert_eq!(
        from_dom_error("QuotaExceededError", "The quota has been exceeded."),
        StoreError::QuotaExceeded
    );
    assert!(StoreError::QuotaExceeded
        .to_string()
        .contains("out of storage"));
    assert!(matches!(
        from_dom_error("ConstraintError", "x"),
        StoreError::Failed(_)
    ));
}

#[wasm_bindgen_test]
async fn a_stored_record_that_does_not_parse_is_a_clear_error() {
    let db = fresh().await;
    // Write garbage where the settings live, as an old or damaged version might.
    let tx = db.write_relaxed(&[SETTINGS]).unwrap();
    tx.object_store(SETTINGS)
        .unwrap()
        .put(
            &JsValue::from_str("not settings"),
            Some(&JsValue::from_str("settings")),
        )
        .unwrap()
        .await
        .unwrap();
    tx.commit().unwrap().await.unwrap();
    let err = db.settings().await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[wasm_bindgen_test]
async fn outbox_rounds_update_entries_but_never_bring_back_a_superseded_one() {
    let db = fresh().await;
    let o = order(3, 3);
    let t = Timestamp::from_millis(1_000);
    let mut outbox = Outbox::default();
    db.save_order(&o, &outbox.enqueue(o.id, 1, t))
        .await
        .unwrap();

    // A sync round starts with v1 in memory...
    let mut round = Outbox::new(db.outbox().await.unwrap());
    // ...meanwhile the sale pays: v2 supersedes v1.
    let mut v2 = o.clone();
    v2.version = 2;
    let mut sale = Outbox::new(db.outbox().await.unwrap());
    db.save_order(&v2, &sale.enqueue(o.id, 2, t)).await.unwrap();
    // The round's retry of v1 must not resurrect it.
    let changes = round.record(
        o.id,
        1,
        till_core::outbox::Outcome::Retry {
            reason: "offline".into(),
        },
        t,
        500,
    );
    db.apply_outbox(&changes).await.unwrap();
    let stored: Vec<_> = db
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(stored, vec![2]);

    // A rejection parks the entry, kept and visible.
    let mut round = Outbox::new(db.outbox().await.unwrap());
    let changes = round.record(
        o.id,
        2,
        till_core::outbox::Outcome::from_http(422, "totals.total: wrong"),
        t,
        500,
    );
    db.apply_outbox(&changes).await.unwrap();
    let entries = db.outbox().await.unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].is_parked());

    // Stored removes it.
    let mut round = Outbox::new(entries);
    let changes = round.record(o.id, 2, till_core::outbox::Outcome::Stored, t, 500);
    db.apply_outbox(&changes).await.unwrap();
    assert!(db.outbox().await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn an_orders_outbox_entries_are_read_without_the_rest_of_the_queue() {
    let db = fresh().await;
    let t = Timestamp::from_millis(1_000);
    let (a, b) = (order(10, 10), order(11, 11));
    let mut outbox = Outbox::default();
    db.save_order(&a, &outbox.enqueue(a.id, 1, t))
        .await
        .unwrap();
    db.save_order(&b, &outbox.enqueue(b.id, 1, t))
        .await
        .unwrap();
    let mine = db.outbox_of(&a.id).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].order_id, a.id);
    assert_eq!(db.count(OUTBOX).await.unwrap(), 2);
}
