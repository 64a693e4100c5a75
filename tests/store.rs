//! The IndexedDB store in headless Chromium: schema, round trips, strict
//! durability, what happens when a write fails, and the register's
//! transactions meaning exactly what till-core's reference store means.
#![cfg(target_arch = "wasm32")]

use till::store::exec::execute;
use till::store::repo::CatalogMeta;
use till::store::schema::{
    META, ORDERS, OUTBOX, PAYMENTS, PRODUCTS, PRODUCTS_B, REFUNDS, SETTINGS, SHIFTS,
};
use till::store::{from_dom_error, Db, StoreError, DB_VERSION};
use till_core::catalog::{fixtures, ProductId};
use till_core::drawer::MovementKind;
use till_core::ids::RecordId;
use till_core::money::Currency;
use till_core::outbox::{EntryState, OutboxChange, OutboxEntry, RecordKind};
use till_core::payment::{BridgeStatus, PaymentConfig, Reply, Request};
use till_core::refund::{RefundReason, Returned};
use till_core::register::settings::SettingsRecord;
use till_core::register::*;
use till_core::shift::CashCount;
use till_core::testing::{eur, register_config, MemStore};
use till_core::time::{Duration, Timestamp};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh database per test: a unique name.
async fn fresh() -> Db {
    let name = format!("till-test-{}", js_sys::Math::random());
    Db::open(&name).await.unwrap()
}

#[wasm_bindgen_test]
async fn an_empty_database_is_upgraded_to_the_current_schema() {
    let db = fresh().await;
    assert_eq!(db.version(), DB_VERSION);
    let mut names = db.store_names();
    names.sort();
    let mut expected = vec![
        META, ORDERS, OUTBOX, PAYMENTS, PRODUCTS, PRODUCTS_B, REFUNDS, SETTINGS, SHIFTS,
    ];
    expected.sort();
    assert_eq!(names, expected);
}

#[wasm_bindgen_test]
async fn settings_round_trip() {
    let db = fresh().await;
    assert_eq!(db.settings().await.unwrap(), None);
    let s = SettingsRecord {
        oms_url: "http://127.0.0.1:8080".into(),
        register_id: "R1".into(),
        register_token: "dev-register-token".into(),
        bridge_url: "http://127.0.0.1:7878".into(),
        pairing_token: "dev-pairing-token".into(),
        pairing_id: Some("p-7kq2mx4w".into()),
        paired_at_ms: Some(1_796_686_200_000),
        result_wait_secs: Some(5),
        auto_print: true,
        returns_without_receipt: false,
        idle_lock_mins: Some(10),
        manager_discount_bp: Some(1_500),
        paid_out_limit_minor: Some(7_500),
        ask_tip: true,
    }
    .try_into()
    .expect("settings that pass their checks");
    db.save_settings(&s).await.unwrap();
    assert_eq!(db.settings().await.unwrap(), Some(s));
}

/// Settings stored damaged (an address that is not one) read as an error
/// the cashier sees, never as settings to run with.
#[wasm_bindgen_test]
async fn damaged_settings_are_an_error_not_settings() {
    let db = fresh().await;
    let damaged = SettingsRecord {
        oms_url: "back office".into(),
        register_id: "R1".into(),
        register_token: "t".into(),
        ..SettingsRecord::default()
    };
    db.put_keyed(till::store::schema::SETTINGS, "settings", &damaged)
        .await
        .unwrap();
    let err = db.settings().await.expect_err("damaged settings were read");
    assert!(err.to_string().contains("The OMS URL"), "{err}");
}

fn meta_for(
    c: &till_core::catalog::Catalog,
    version: &str,
    total: usize,
    store: &str,
) -> CatalogMeta {
    CatalogMeta {
        version: version.into(),
        currency: Currency::EUR,
        categories: c.categories().to_vec(),
        tax_rates: vec![fixtures::vat_standard()],
        products_total: total as u64,
        store: store.into(),
        paged: true,
        text_pages: true,
    }
}

#[wasm_bindgen_test]
async fn a_download_fills_the_store_not_in_use_and_one_write_swaps_it_in() {
    let db = fresh().await;
    let c = fixtures::small();
    let mut products: Vec<_> = c.products().cloned().collect();
    products.sort_by(|a, b| a.id.cmp(&b.id));

    // The first catalog.
    let staging = db.stage_catalog().await.unwrap();
    db.stage_products(staging, 0, &products[..2]).await.unwrap();
    db.stage_products(staging, 1, &products[2..]).await.unwrap();
    assert_eq!(
        db.catalog_meta().await.unwrap(),
        None,
        "nothing in use until swapped in"
    );
    let first = meta_for(&c, "c-1", products.len(), staging);
    db.activate_catalog(&first).await.unwrap();
    assert_eq!(db.catalog_meta().await.unwrap(), Some(first.clone()));
    let mut back = db.products().await.unwrap();
    back.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(back, products);

    // A second download goes to the other store; the first stays in use
    // through every page, and an abandoned download changes nothing.
    let next = db.stage_catalog().await.unwrap();
    assert_ne!(next, staging);
    db.stage_products(next, 0, &products[..1]).await.unwrap();
    assert_eq!(db.catalog_meta().await.unwrap(), Some(first.clone()));
    assert_eq!(db.products().await.unwrap().len(), products.len());

    // The next download starts that store afresh, and its swap empties the old.
    let again = db.stage_catalog().await.unwrap();
    assert_eq!(again, next);
    assert_eq!(db.count(again).await.unwrap(), 0);
    db.stage_products(again, 0, &products[..2]).await.unwrap();
    db.activate_catalog(&meta_for(&c, "c-2", 2, again))
        .await
        .unwrap();
    assert_eq!(db.products().await.unwrap().len(), 2);
    assert_eq!(
        db.count(staging).await.unwrap(),
        0,
        "the old catalog's store is emptied"
    );
}

#[wasm_bindgen_test]
async fn a_catalog_stored_before_v2_is_in_the_first_product_store() {
    let db = fresh().await;
    let old = serde_json::json!({
        "version": "c-old", "currency": "EUR", "categories": [], "tax_rates": [], "products_total": 0
    });
    db.put_keyed(META, "catalog", &old).await.unwrap();
    assert_eq!(db.catalog_meta().await.unwrap().unwrap().store, PRODUCTS);
}

/// A catalog downloaded before pages (one record per product, no `paged`
/// in its meta) still loads, so a register updated offline keeps selling.
#[wasm_bindgen_test]
async fn a_catalog_stored_one_record_per_product_still_loads() {
    let db = fresh().await;
    let c = fixtures::small();
    let mut products: Vec<_> = c.products().cloned().collect();
    products.sort_by(|a, b| a.id.cmp(&b.id));
    let tx = db.write_strict(&[PRODUCTS]).unwrap();
    for p in &products {
        let store = tx.object_store(PRODUCTS).unwrap();
        store.put(&till::store::to_js(p).unwrap(), None).unwrap();
    }
    tx.commit().unwrap().await.unwrap();
    let mut old = serde_json::to_value(meta_for(&c, "c-old", products.len(), PRODUCTS)).unwrap();
    old.as_object_mut().unwrap().remove("paged");
    db.put_keyed(META, "catalog", &old).await.unwrap();
    let meta = db.catalog_meta().await.unwrap().unwrap();
    assert!(!meta.paged);
    let mut back = db.products().await.unwrap();
    back.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(back, products);
}

/// A catalog stored as pages of objects (before pages held one JSON text)
/// still loads.
#[wasm_bindgen_test]
async fn a_catalog_stored_as_pages_of_objects_still_loads() {
    let db = fresh().await;
    let c = fixtures::small();
    let mut products: Vec<_> = c.products().cloned().collect();
    products.sort_by(|a, b| a.id.cmp(&b.id));
    let tx = db.write_strict(&[PRODUCTS]).unwrap();
    for (n, chunk) in products.chunks(3).enumerate() {
        let page = till::store::repo::ProductPage {
            id: format!("page:{n:06}"),
            products: std::borrow::Cow::Borrowed(chunk),
        };
        let store = tx.object_store(PRODUCTS).unwrap();
        store
            .put(&till::store::to_js(&page).unwrap(), None)
            .unwrap();
    }
    tx.commit().unwrap().await.unwrap();
    let mut old = serde_json::to_value(meta_for(&c, "c-old", products.len(), PRODUCTS)).unwrap();
    old.as_object_mut().unwrap().remove("text_pages");
    db.put_keyed(META, "catalog", &old).await.unwrap();
    assert!(!db.catalog_meta().await.unwrap().unwrap().text_pages);
    assert_eq!(db.products().await.unwrap(), products);
}

/// A stored page that lost its text is an error, never an empty catalog.
#[wasm_bindgen_test]
async fn a_catalog_page_without_its_text_is_an_error_not_an_empty_catalog() {
    let db = fresh().await;
    let c = fixtures::small();
    let products: Vec<_> = c.products().cloned().collect();
    db.stage_products(PRODUCTS, 0, &products).await.unwrap();
    let broken = js_sys::Object::new();
    js_sys::Reflect::set(&broken, &"id".into(), &"page:000001".into()).unwrap();
    let tx = db.write_strict(&[PRODUCTS]).unwrap();
    tx.object_store(PRODUCTS)
        .unwrap()
        .put(&broken.into(), None)
        .unwrap();
    tx.commit().unwrap().await.unwrap();
    let meta = meta_for(&c, "c-1", products.len() + 1, PRODUCTS);
    db.put_keyed(META, "catalog", &meta).await.unwrap();
    let e = db.products().await.unwrap_err();
    assert!(
        e.to_string()
            .contains("a catalog page without its products"),
        "{e}"
    );
}

/// A database at version 1 that already has what v2 creates: the upgrade
/// to v2 fails half way.
async fn a_v1_database_v2_cannot_upgrade(name: &str) {
    let factory = idb::Factory::new().unwrap();
    let mut request = factory.open(name, Some(1)).unwrap();
    request.on_upgrade_needed(|event| {
        use idb::DatabaseEvent;
        let db = event.database().unwrap();
        db.create_object_store(SETTINGS, idb::ObjectStoreParams::new())
            .unwrap();
        db.create_object_store(PRODUCTS_B, idb::ObjectStoreParams::new())
            .unwrap();
    });
    request.await.unwrap().close();
}

#[wasm_bindgen_test]
async fn a_failed_upgrade_fails_the_open_and_leaves_the_database_as_it_was() {
    let name = format!("till-test-{}", js_sys::Math::random());
    a_v1_database_v2_cannot_upgrade(&name).await;
    let e = Db::open(&name)
        .await
        .err()
        .expect("the upgrade failed, so the open fails");
    assert!(e.to_string().contains("could not be upgraded"), "{e}");
    let raw = idb::Factory::new()
        .unwrap()
        .open(&name, None)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(raw.version().unwrap(), 1, "left at the version it had");
    let mut names = raw.store_names();
    names.sort();
    assert_eq!(
        names,
        vec![PRODUCTS_B.to_string(), SETTINGS.to_string()],
        "nothing half done"
    );
    raw.close();
}

#[wasm_bindgen_test]
async fn an_older_tab_lets_go_when_a_newer_till_opens_the_database() {
    let name = format!("till-test-{}", js_sys::Math::random());
    let db = Db::open(&name).await.unwrap();
    let replaced = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = replaced.clone();
    db.on_replaced(move || flag.set(true));
    // A newer Till: opens at a higher version. Not blocked, because the
    // older connection closed itself.
    let newer = idb::Factory::new()
        .unwrap()
        .open(&name, Some(DB_VERSION + 1))
        .unwrap()
        .await
        .unwrap();
    assert!(replaced.get(), "the older tab was told");
    assert_eq!(newer.version().unwrap(), DB_VERSION + 1);
    newer.close();
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

// ---- the register's transactions ----

/// 2026-11-27T09:00:00Z.
const T0: Timestamp = Timestamp::from_millis(1_795_770_000_000);

/// A register driven against till-core's reference store, recording every
/// transaction it ran and what the reference store answered.
struct Session {
    reg: Register,
    mem: MemStore,
    log: Vec<(StoreTx, Result<Stored, StoreFailure>)>,
    bridge: Vec<BridgeCall>,
    oms: Vec<OmsCall>,
    now: Timestamp,
}

impl Session {
    fn new() -> Session {
        let config = RegisterConfig {
            returns_without_receipt: true,
            ..register_config(60)
        };
        let mut reg = Register::new(config, [3; 32]);
        let first = reg.start(T0);
        let mut s = Session {
            reg,
            mem: MemStore::default(),
            log: Vec::new(),
            bridge: Vec::new(),
            oms: Vec::new(),
            now: T0,
        };
        s.run(first);
        // The staff list arrives and manager Dana signs in: both written
        // through the register, so the log replays them too.
        s.input(Input::Oms(till_core::register::OmsReply::Staff {
            result: Ok(till_core::testing::staff()),
        }));
        s.input(Input::Cashier(Action::SignIn {
            person: till_core::staff::StaffId::new("dana").unwrap(),
            pin: till_core::testing::MANAGER_PIN.into(),
        }));
        assert!(s.reg.cashier().is_some());
        // She opens the shift with €100.00 in the drawer.
        s.input(Input::Cashier(Action::OpenShift {
            float: till_core::shift::CashCount::Total {
                amount: eur(10_000),
            },
        }));
        assert!(s.reg.shift().is_some());
        s
    }

    fn run(&mut self, cmds: Vec<Effect>) {
        for c in cmds {
            match c {
                Effect::Store { op, tx } => {
                    let result = self.mem.execute(&tx);
                    self.log.push((tx, result.clone()));
                    let more = self.reg.handle(Input::Stored { op, result }, self.now);
                    self.run(more);
                }
                Effect::Bridge(b) => self.bridge.push(b),
                Effect::Oms(o) => self.oms.push(o),
                Effect::Ui(_) => {}
            }
        }
    }

    fn input(&mut self, i: Input) {
        self.now = self.now + Duration::from_millis(500);
        let cmds = self.reg.handle(i, self.now);
        self.run(cmds);
    }

    fn add(&mut self, product: &str) {
        let mut cart = self.reg.sale().unwrap().cart.clone();
        cart.add_by_id(&fixtures::small(), &ProductId::new(product).unwrap())
            .unwrap();
        self.input(Input::Cashier(Action::EditCart(cart)));
    }

    /// Answers the bridge's calls made so far with `reply`.
    fn answer_bridge(&mut self, reply: &impl Fn(&BridgeCall) -> Reply) {
        for call in std::mem::take(&mut self.bridge) {
            let (reference, to) = match &call {
                BridgeCall::Probe { reference } => (*reference, Request::Probe),
                BridgeCall::Start(s) => (s.reference, Request::Start),
                BridgeCall::StartRefund(s) => (s.reference, Request::Start),
                BridgeCall::Status { reference, to } => (*reference, *to),
                BridgeCall::Cancel { reference } => (*reference, Request::Cancel),
                BridgeCall::Health => continue,
            };
            let reply = reply(&call);
            self.input(Input::Bridge {
                reference,
                to,
                reply,
            });
        }
    }

    /// Stores every batch sent so far.
    fn answer_batches(&mut self) {
        for call in std::mem::take(&mut self.oms) {
            if let OmsCall::SendBatch {
                batch,
                orders,
                refunds,
                shifts,
            } = call
            {
                let stored = |id: String, version| till_core::api::BatchResult {
                    id: Some(id),
                    status: 200,
                    version: Some(version),
                    error: None,
                };
                let results = orders
                    .iter()
                    .map(|o| stored(o.id.to_string(), o.version))
                    .chain(refunds.iter().map(|r| stored(r.id.to_string(), r.version)))
                    .chain(shifts.iter().map(|s| stored(s.id.to_string(), s.version)))
                    .collect();
                self.input(Input::Oms(OmsReply::Batch {
                    batch,
                    result: Ok(results),
                }));
            }
        }
    }
}

fn approved(call: &BridgeCall) -> Reply {
    match call {
        BridgeCall::Status { .. } => Reply::Status(BridgeStatus::Approved {
            amount: eur(1200),
            card: till_core::testing::card(),
        }),
        _ => Reply::Accepted,
    }
}

/// Ticks until a session asks the bridge for a status (each input is 0.5 s later).
fn until_status(s: &mut Session) {
    for _ in 0..10 {
        if s.bridge
            .iter()
            .any(|c| matches!(c, BridgeCall::Status { .. }))
        {
            break;
        }
        s.input(Input::Tick);
    }
}

/// A croissant paid €1.00 in cash and the rest by card, then given back the
/// same way: the card part declined (the refund owes it), then sent to the
/// card again and approved; and a mug returned without a receipt.
fn card_sale_refunded_to_the_card(s: &mut Session) {
    s.add("croissant");
    let sale = s.reg.sale().unwrap().id;
    s.input(Input::Cashier(Action::PayCash { received: eur(100) }));
    let due = s.reg.due().unwrap();
    let answer = move |status: BridgeStatus| {
        move |call: &BridgeCall| match call {
            BridgeCall::Status { .. } => Reply::Status(status.clone()),
            _ => Reply::Accepted,
        }
    };
    let ok = answer(BridgeStatus::Approved {
        amount: due,
        card: till_core::testing::card(),
    });
    s.input(Input::Cashier(Action::PayCard));
    s.answer_bridge(&ok); // probe
    s.answer_bridge(&ok); // start
    until_status(s);
    s.answer_bridge(&ok); // approved
    let paid = match s.mem.orders[&sale].tenders.as_slice() {
        [_, till_core::order::Tender::Card { reference, .. }] => *reference,
        other => panic!("expected cash and a card, got {other:?}"),
    };
    let id = s.reg.new_refund_id(s.now);
    s.input(Input::Cashier(Action::Refund {
        id,
        order_id: sale,
        returns: vec![Returned {
            line: 0,
            quantity: 1,
        }],
        tip: false,
        reason: None,
        tenders: Some(vec![
            (till_core::refund::TenderKey::Cash, eur(100)),
            (till_core::refund::TenderKey::Card(paid), due),
        ]),
    }));
    let declined = answer(BridgeStatus::Declined {
        reason: "card expired".into(),
    });
    s.answer_bridge(&declined); // probe
    s.answer_bridge(&declined); // start: the refund is written before it leaves
    until_status(s);
    s.answer_bridge(&declined); // declined: the card's share is owed
    let (original, owed) = s.mem.refunds[&id].owed_to_card().unwrap();
    s.input(Input::Cashier(Action::RetryRefundCard {
        refund_id: id,
        order_id: sale,
        original,
        amount: owed,
    }));
    s.answer_bridge(&ok); // probe
    s.answer_bridge(&ok); // start: the new part is written before it leaves
    until_status(s);
    s.answer_bridge(&ok); // approved
    assert_eq!(
        s.mem.refunds[&id].status(),
        till_core::refund::RefundStatus::Completed
    );
    let mut cart = till_core::cart::Cart::new(Currency::EUR);
    cart.add_by_id(&fixtures::small(), &ProductId::new("mug").unwrap())
        .unwrap();
    let id = s.reg.new_refund_id(s.now);
    s.input(Input::Cashier(Action::ReturnWithoutReceipt {
        id,
        cart,
        reason: None,
    }));
}

/// A day of the register: cash, a cash refund (Confirm tapped twice), a
/// card sale left in doubt, a refused refund, a card sale closed unpaid, a
/// card sale refunded to the card, a refused void,
/// a void, a sync, an outage, a stale sale write, a reload.
fn a_day() -> Session {
    let mut s = Session::new();
    s.add("coffee");
    s.add("croissant");
    let cash = s.reg.sale().unwrap().id;
    s.input(Input::Cashier(Action::PayCash {
        received: eur(1000),
    }));
    s.answer_batches();
    s.add("croissant");
    s.add("croissant");
    let refunded = s.reg.sale().unwrap().id;
    s.input(Input::Cashier(Action::PayCash {
        received: eur(1000),
    }));
    let refund = Action::Refund {
        id: s.reg.new_refund_id(s.now),
        order_id: refunded,
        returns: vec![Returned {
            line: 0,
            quantity: 1,
        }],
        tip: false,
        reason: Some(RefundReason::Damaged),
        tenders: None,
    };
    s.input(Input::Cashier(refund.clone()));
    s.input(Input::Cashier(refund));
    s.answer_batches();
    s.add("mug");
    s.input(Input::Cashier(Action::PayCard));
    s.answer_bridge(&approved); // probe
    s.answer_bridge(&approved); // start
    until_status(&mut s);
    s.answer_bridge(&approved); // poll: approved
                                // The card sale's result does not match (the terminal reported 12.00
                                // for 13.07): in doubt, so a refund of it is refused.
    let in_doubt = s.mem.attempts.values().next().unwrap().order_id;
    let id = s.reg.new_refund_id(s.now);
    s.input(Input::Cashier(Action::Refund {
        id,
        order_id: in_doubt,
        returns: vec![Returned {
            line: 0,
            quantity: 1,
        }],
        tip: false,
        reason: None,
        tenders: None,
    }));
    s.add("coffee");
    s.input(Input::Cashier(Action::PayCard));
    s.answer_bridge(&|_: &BridgeCall| Reply::Accepted); // probe
    s.answer_bridge(&|_: &BridgeCall| Reply::Accepted); // start
    s.now = s.now + PaymentConfig::default().result_wait;
    s.input(Input::Tick);
    s.bridge.clear();
    s.input(Input::Cashier(Action::CloseCard));
    card_sale_refunded_to_the_card(&mut s);
    // A cart parked, a resume refused (the cart is not empty), then resumed.
    s.add("coffee");
    let parked = s.reg.sale().unwrap().id;
    s.input(Input::Cashier(Action::Park {
        label: "Table 4".into(),
    }));
    s.add("mug");
    s.input(Input::Cashier(Action::Resume { id: parked }));
    s.input(Input::Cashier(Action::EditCart(
        till_core::cart::Cart::new(Currency::EUR),
    )));
    s.input(Input::Cashier(Action::Resume { id: parked }));
    assert_eq!(s.reg.sale().unwrap().id, parked);
    s.input(Input::Cashier(Action::Park {
        label: "again".into(),
    }));
    let pending = s
        .mem
        .orders
        .values()
        .find(|o| o.status.is_pending_confirmation())
        .unwrap()
        .id;
    s.input(Input::Cashier(Action::Void { order_id: pending }));
    s.input(Input::Cashier(Action::Void { order_id: refunded }));
    s.input(Input::Cashier(Action::Void { order_id: cash }));
    // The drawer: paid out, a refused paid in (no reason), no sale; the
    // shift closes short and the next opens.
    for (kind, reason) in [(MovementKind::PaidOut, "milk"), (MovementKind::PaidIn, " ")] {
        s.input(Input::Cashier(Action::MoveCash {
            kind,
            amount: eur(500),
            reason: reason.into(),
        }));
    }
    s.input(Input::Cashier(Action::NoSale));
    let count = |minor| CashCount::Total { amount: eur(minor) };
    s.input(Input::Cashier(Action::CloseShift {
        count: count(8_000),
    }));
    assert!(s.reg.shift().is_none(), "closed");
    s.input(Input::Cashier(Action::OpenShift {
        float: count(9_000),
    }));
    s.input(Input::Oms(OmsReply::Health { reachable: false }));
    s.input(Input::Oms(OmsReply::Health { reachable: true }));
    s.answer_batches();
    s.run(vec![Effect::Store {
        op: 9_999,
        tx: StoreTx::SaveSale {
            sale: till_core::update::Sale {
                id: pending,
                cart: till_core::cart::Cart::new(Currency::EUR),
            },
            replaces: None,
        },
    }]);
    s.run(vec![Effect::Store {
        op: 10_000,
        tx: StoreTx::RaiseSequence {
            date: till_core::order::BusinessDate::new(2026, 11, 27).unwrap(),
            seen: 40,
        },
    }]);
    s.run(vec![Effect::Store {
        op: 10_001,
        tx: StoreTx::Load,
    }]);
    s
}

/// Results compared as values; a load's attempts in reference order.
fn normal(r: &Result<Stored, StoreFailure>) -> Result<Stored, StoreFailure> {
    match r {
        Ok(Stored::Loaded(l)) => {
            let mut l = l.clone();
            l.attempts.sort_by_key(|a| a.reference);
            Ok(Stored::Loaded(l))
        }
        other => other.clone(),
    }
}

#[wasm_bindgen_test]
async fn indexeddb_runs_the_registers_transactions_as_the_reference_store_does() {
    let day = a_day();
    assert!(
        day.log.len() > 20,
        "a day of many transactions: {}",
        day.log.len()
    );
    assert!(
        day.log
            .iter()
            .any(|(_, r)| matches!(r, Err(StoreFailure::Refused(_)))),
        "some refused"
    );
    let db = fresh().await;
    for (i, (tx, expected)) in day.log.iter().enumerate() {
        let got = execute(&db, tx).await;
        assert_eq!(normal(&got), normal(expected), "transaction {i}: {tx:?}");
    }
    let mut orders = db.orders().await.unwrap();
    orders.sort_by_key(|o| o.id);
    assert_eq!(orders, day.mem.orders.values().cloned().collect::<Vec<_>>());
    let mut attempts = db.attempts().await.unwrap();
    attempts.sort_by_key(|a| a.reference);
    assert_eq!(
        attempts,
        day.mem.attempts.values().cloned().collect::<Vec<_>>()
    );
    let mut outbox = db.outbox().await.unwrap();
    outbox.sort_by_key(|e| e.key());
    assert_eq!(outbox, day.mem.outbox.values().cloned().collect::<Vec<_>>());
    let mut refunds = db.refunds().await.unwrap();
    refunds.sort_by_key(|r| r.id);
    assert_eq!(
        refunds.len(),
        3,
        "the cash refund once, though Confirm was tapped twice, the split refund and the return"
    );
    assert_eq!(
        refunds,
        day.mem.refunds.values().cloned().collect::<Vec<_>>()
    );
    let shifts = db.shifts().await.unwrap();
    let mut theirs: Vec<_> = day.mem.shifts.values().cloned().collect();
    theirs.sort_by_key(|s| (s.opened_at, s.id));
    assert_eq!(shifts.len(), 2, "one closed, the next open");
    assert_eq!(shifts, theirs);
    let closed = shifts[0].close.as_ref().expect("the first is closed");
    // 100.00 float + 4.90 cash sales − 16.02 cash refunds − 5.00 paid out.
    assert_eq!(closed.expected().expected, eur(8_388), "{closed:?}");
    assert_eq!(closed.over_short, eur(-388), "counted 80.00: short");
    let refused = day.log.iter().filter(|(tx, r)| {
        matches!(tx, StoreTx::Refund(_)) && matches!(r, Err(StoreFailure::Refused(_)))
    });
    assert_eq!(
        refused.count(),
        1,
        "the refund of an order in doubt is refused"
    );
}

#[wasm_bindgen_test]
async fn a_refused_update_writes_nothing() {
    let db = fresh().await;
    let mut s = Session::new();
    s.add("coffee");
    s.input(Input::Cashier(Action::PayCash {
        received: eur(1000),
    }));
    for (tx, _) in &s.log {
        execute(&db, tx).await.unwrap();
    }
    let paid = s.mem.orders.values().next().unwrap().clone();
    // The same cash tap again (a double tap that got through): refused.
    let (tx, _) = s
        .log
        .iter()
        .find(|(tx, _)| matches!(tx, StoreTx::Update(_)))
        .unwrap();
    let again = execute(&db, tx).await;
    assert!(matches!(again, Err(StoreFailure::Refused(_))), "{again:?}");
    assert_eq!(db.orders().await.unwrap(), vec![paid]);
    let orders_queued = db.outbox().await.unwrap();
    let orders_queued = orders_queued.iter().filter(|e| e.kind == RecordKind::Order);
    assert_eq!(orders_queued.count(), 1);
}

#[wasm_bindgen_test]
async fn a_sale_of_the_first_slice_is_picked_up() {
    let db = fresh().await;
    // What the first slice stored: the open cart and the current order's id.
    let mut cart = till_core::cart::Cart::new(Currency::EUR);
    cart.add_by_id(&fixtures::small(), &ProductId::new("mug").unwrap())
        .unwrap();
    let id: till_core::order::OrderId = "0191d5a8-7c3e-7000-8000-000000000001".parse().unwrap();
    db.put_keyed(META, "cart", &cart).await.unwrap();
    db.put_keyed(META, "current_order", &id).await.unwrap();
    let Ok(Stored::Loaded(l)) = execute(&db, &StoreTx::Load).await else {
        panic!("loaded")
    };
    assert_eq!(l.sale, Some(till_core::update::Sale { id, cart }));
}

/// An outbox of `n` entries, one per order, as a long day offline leaves
/// it: queued in bursts (equal times), ids not in queue order, some
/// waiting out a backoff, some due exactly at `now`, some parked.
fn a_long_queue(n: u32, now: Timestamp) -> Vec<OutboxEntry> {
    let base = now.0 - 3_600_000;
    (0..n)
        .map(|i| {
            let scrambled = (i * 7_919) % n;
            let id = format!("01900000-0000-7000-8000-{scrambled:012x}");
            let mut e = OutboxEntry::new(
                RecordId::try_from(id).unwrap(),
                1 + i % 3,
                Timestamp(base + i64::from(i / 3)),
            );
            e.next_attempt_at = match i {
                i if i % 5 == 0 => Timestamp(now.0 + 60_000),
                i if i % 4 == 0 => now,
                i => Timestamp(base + i64::from(i % 97)),
            };
            if i % 11 == 0 {
                e.state = EntryState::Parked {
                    status: 422,
                    reason: "refused".into(),
                    at: now,
                };
            }
            e
        })
        .collect()
}

/// Stores outbox entries as they are, in one transaction.
async fn put_entries(db: &Db, entries: &[OutboxEntry]) {
    let tx = db.write_strict(&[OUTBOX]).unwrap();
    let store = tx.object_store(OUTBOX).unwrap();
    for e in entries {
        store.put(&till::store::to_js(e).unwrap(), None).unwrap();
    }
    tx.commit().unwrap().await.unwrap();
}

/// A sync round reads one batch through the outbox's `[state,
/// next_attempt_at]` index and counts the rest: its batch, total and
/// summary are exactly the reference store's, and so is what settling the
/// batch leaves behind.
#[wasm_bindgen_test]
async fn a_sync_round_reads_the_outbox_as_the_reference_store_does() {
    let now = Timestamp(1_795_000_000_000);
    let entries = a_long_queue(1_200, now);
    let db = fresh().await;
    put_entries(&db, &entries).await;
    let mut mem = MemStore::default();
    mem.outbox = entries.iter().map(|e| (e.key(), e.clone())).collect();
    for limit in [1, 7, 500, 5_000] {
        let tx = StoreTx::LoadDue { limit, now };
        assert_eq!(execute(&db, &tx).await, mem.execute(&tx), "limit {limit}");
    }
    let Ok(Stored::Due(batch)) = mem.execute(&StoreTx::LoadDue { limit: 500, now }) else {
        panic!("a batch");
    };
    assert!(batch.due_total > 500, "more due than one batch");
    // Settle it as an answer would: most stored, some retried, and puts
    // for entries that are gone (a sale superseded one; one deleted first).
    let mut changes = Vec::new();
    for (i, (e, _)) in batch.entries.iter().enumerate() {
        let mut later = e.clone();
        later.attempts += 1;
        later.next_attempt_at = Timestamp(now.0 + 5_000 + i as i64 % 7);
        match i % 4 {
            0 => changes.push(OutboxChange::Put(later)),
            1 => {
                changes.push(OutboxChange::Delete {
                    record_id: e.record_id,
                    version: e.version,
                });
                changes.push(OutboxChange::Put(later));
            }
            _ => changes.push(OutboxChange::Delete {
                record_id: e.record_id,
                version: e.version,
            }),
        }
    }
    let mut gone = entries[1].clone();
    gone.record_id =
        RecordId::try_from("01900000-0000-7000-8000-ffffffffffff".to_string()).unwrap();
    changes.push(OutboxChange::Put(gone));
    let tx = StoreTx::ApplyOutbox(changes);
    assert_eq!(execute(&db, &tx).await, mem.execute(&tx));
    let tx = StoreTx::RetryNow { now };
    assert_eq!(execute(&db, &tx).await, mem.execute(&tx));
    // A run of neighbouring entries settled at once (one range delete),
    // then a run with a stranger inside it (deleted one by one).
    let keys: Vec<(RecordId, u32)> = mem.outbox.keys().copied().collect();
    let settle = |keys: &[(RecordId, u32)]| {
        let deletes = keys
            .iter()
            .map(|(record_id, version)| OutboxChange::Delete {
                record_id: *record_id,
                version: *version,
            });
        StoreTx::ApplyOutbox(deletes.collect())
    };
    let tx = settle(&keys[..60]);
    assert_eq!(execute(&db, &tx).await, mem.execute(&tx));
    let stranger_inside = [&keys[60..80], &keys[81..120]].concat();
    let tx = settle(&stranger_inside);
    assert_eq!(execute(&db, &tx).await, mem.execute(&tx));
    assert!(mem.outbox.contains_key(&keys[80]), "the stranger stays");
    let mut stored = db.outbox().await.unwrap();
    stored.sort_by_key(|e| e.key());
    assert_eq!(stored, mem.outbox.values().cloned().collect::<Vec<_>>());
}

/// A register that queued orders under schema v2 (no outbox index) finds
/// them all after the upgrade: the index is built over what is stored.
#[wasm_bindgen_test]
async fn an_outbox_queued_before_the_index_is_read_through_it_after_the_upgrade() {
    let now = Timestamp(1_795_000_000_000);
    let entries = a_long_queue(40, now);
    let name = format!("till-test-{}", js_sys::Math::random());
    let mut request = idb::Factory::new().unwrap().open(&name, Some(2)).unwrap();
    request.on_upgrade_needed(|event| {
        use idb::DatabaseEvent;
        let mut p = idb::ObjectStoreParams::new();
        p.key_path(Some(idb::KeyPath::new_array(vec!["order_id", "version"])));
        let db = event.database().unwrap();
        let outbox = db.create_object_store(OUTBOX, p).unwrap();
        let due = idb::KeyPath::new_single("next_attempt_at");
        outbox.create_index("due", due, None).unwrap();
        let mut p = idb::ObjectStoreParams::new();
        p.key_path(Some(idb::KeyPath::new_single("id")));
        db.create_object_store(ORDERS, p).unwrap();
    });
    let v2 = request.await.unwrap();
    let tx = v2
        .transaction(&[OUTBOX], idb::TransactionMode::ReadWrite)
        .unwrap();
    for e in &entries {
        let store = tx.object_store(OUTBOX).unwrap();
        store.put(&till::store::to_js(e).unwrap(), None).unwrap();
    }
    tx.commit().unwrap().await.unwrap();
    v2.close();
    let db = Db::open(&name).await.unwrap();
    let mut mem = MemStore::default();
    mem.outbox = entries.iter().map(|e| (e.key(), e.clone())).collect();
    let tx = StoreTx::LoadDue { limit: 500, now };
    let got = execute(&db, &tx).await;
    assert_eq!(got, mem.execute(&tx));
    let Ok(Stored::Due(batch)) = got else {
        panic!("a batch")
    };
    assert_eq!(batch.summary.unsynced, 40);
    assert!(batch.summary.parked > 0 && !batch.entries.is_empty());
}
