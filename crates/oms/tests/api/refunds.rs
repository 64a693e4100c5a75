//! `PUT /api/v1/refunds/{id}`: refunds stored by the order's version rule,
//! checked against their order and its other refunds in the transaction
//! that stores them, and shown with their order.

use crate::helpers::*;
use serde_json::Value;
use std::sync::Arc;
use till_core::order::{CardDetails, Order, Tender};
use till_core::payment::PaymentRef;
use till_core::refund::{
    default_tenders, price_return, refundable, NewRefund, Refund, RefundId, RefundReason, Returned,
};
use till_core::time::Timestamp;
use tokio::task::JoinSet;
use uuid::Uuid;

const T: i64 = 1_795_766_600_000;

/// Order `n` of `register`, paid: in cash, or by card.
pub(crate) fn paid_of(register: &str, n: u128, by_card: bool) -> Order {
    let mut o = order_of(register, n);
    let at = Timestamp::from_millis(T);
    let due = o.due().unwrap();
    if by_card {
        let card = CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "A1".into(),
            masked_pan: None,
            psp_reference: None,
            tip: None,
        };
        o.record_card(due, reference(900 + n), card, at).unwrap();
    } else {
        o.add_tender(Tender::cash(due, due).unwrap(), at).unwrap();
    }
    o
}

fn paid(n: u128) -> Order {
    paid_of("R1", n, false)
}

fn refund_id(n: u128) -> RefundId {
    RefundId::from_uuid(Uuid::from_u128(
        0x0192_0000_0000_7000_8000_0000_0000_0000 | n,
    ))
    .unwrap()
}

/// Refund `n` by `register` of `returns` of `order`, after `earlier`, back
/// to the order's tenders (cash first); card parts pending.
pub(crate) fn refund_by(
    register: &str,
    n: u128,
    order: &Order,
    earlier: &[Refund],
    returns: &[Returned],
) -> Refund {
    let (_, totals) = price_return(order, earlier, returns).unwrap();
    let left = refundable(order, earlier).unwrap();
    let tenders = default_tenders(&left, totals.total, |_| {
        PaymentRef::from_uuid(Uuid::from_u128(0xabc0 + n))
    });
    let new = NewRefund {
        id: refund_id(n),
        number: format!("{register}-20261127-{:04}", 5000 + n)
            .parse()
            .unwrap(),
        reason: Some(RefundReason::Damaged),
        cashier: None,
        approval: None,
        shift: None,
        tip: false,
        now: Timestamp::from_millis(T + n as i64),
    };
    Refund::create(new, order, earlier, returns, tenders).unwrap()
}

fn refund(n: u128, order: &Order, earlier: &[Refund], returns: &[Returned]) -> Refund {
    refund_by("R1", n, order, earlier, returns)
}

pub(crate) fn whole(order: &Order) -> Vec<Returned> {
    (0..order.lines.len())
        .map(|line| Returned {
            line,
            quantity: order.lines[line].quantity,
        })
        .collect()
}

async fn put_refund_as(app: &TestApp, token: &str, refund: &Refund) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/refunds/{}", refund.id)))
        .bearer_auth(token)
        .json(refund)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn put_refund(app: &TestApp, refund: &Refund) -> reqwest::Response {
    put_refund_as(app, REGISTER_TOKEN, refund).await
}

async fn stored(app: &TestApp, order: &Order) -> Value {
    let r = app.get(&format!("/api/v1/orders/{}", order.id)).await;
    assert_eq!(r.status(), 200);
    body_as(r, "OrderLookup").await
}

#[tokio::test]
async fn a_refund_is_stored_once_by_its_version_and_shown_with_its_order() {
    let app = spawn_app().await;
    let order = paid_of("R1", 1, true);
    assert_eq!(app.put_order(&order).await.status(), 200);
    let mut r = refund(
        1,
        &order,
        &[],
        &[Returned {
            line: 0,
            quantity: 1,
        }],
    );
    for _ in 0..2 {
        let answer = put_refund(&app, &r).await;
        assert_eq!(answer.status(), 200);
        let v = body_as(answer, "Refund").await;
        assert_eq!(v, serde_json::to_value(&r).unwrap());
    }
    assert_eq!(app.count("SELECT count(*) FROM refunds"), 1);
    // The terminal approved the card part: version 2 replaces version 1.
    let first = r.clone();
    let card = r.pending_cards().next().unwrap();
    assert!(r.settle_card(card, true, Timestamp::from_millis(T + 100)));
    assert_eq!(put_refund(&app, &r).await.status(), 200);
    // Version 1 again, late: the newer one stays and is the answer.
    let late = put_refund(&app, &first).await;
    assert_eq!(late.status(), 200);
    assert_eq!(body_as(late, "Refund").await["version"], 2);
    // The same version with another body is a conflict.
    let mut other = r.clone();
    other.reason = Some(RefundReason::Other);
    assert_error(put_refund(&app, &other).await, 409, "conflict").await;
    let v = stored(&app, &order).await;
    assert_eq!(v["refunds"], serde_json::to_value([&r]).unwrap());
    let day = body_as(
        app.get("/api/v1/registers/R1/orders?date=2026-11-27").await,
        "OrderList",
    )
    .await;
    assert_eq!(day["orders"][0]["refunds"][0]["id"], r.id.to_string());
    // The order's own answer carries its refunds too.
    let put = body_as(app.put_order(&order).await, "StoredOrder").await;
    assert_eq!(put["refunds"][0]["version"], 2);
}

#[tokio::test]
async fn a_refund_never_moves_to_another_order() {
    let app = spawn_app().await;
    let first = paid(1);
    let second = paid(2);
    for o in [&first, &second] {
        assert_eq!(app.put_order(o).await.status(), 200);
    }
    let r = refund(1, &first, &[], &whole(&first));
    assert_eq!(put_refund(&app, &r).await.status(), 200);
    // A later version naming the other order, which would free the first
    // to be refunded in full again.
    let mut moved = r.clone();
    moved.order_id = Some(second.id);
    moved.order_number = Some(second.number.clone());
    moved.version += 1;
    assert_error(put_refund(&app, &moved).await, 409, "refund_moved").await;
    let mut unreceipted = r.clone();
    unreceipted.order_id = None;
    unreceipted.order_number = None;
    unreceipted.version += 1;
    assert_error(put_refund(&app, &unreceipted).await, 409, "refund_moved").await;
    let again = refund(2, &first, &[], &whole(&first));
    assert_error(put_refund(&app, &again).await, 409, "refund_exceeds_order").await;
    assert_eq!(
        stored(&app, &first).await["refunds"],
        serde_json::to_value([&r]).unwrap()
    );
    let theirs = stored(&app, &second).await;
    assert!(theirs.get("refunds").is_none(), "{theirs}");
}

#[tokio::test]
async fn a_refund_beyond_what_was_paid_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let order = paid(2);
    assert_eq!(app.put_order(&order).await.status(), 200);
    // Two whole refunds of one order, each made as if it were the first
    // (two registers, offline): the second would pay the order back twice.
    let a = refund(2, &order, &[], &whole(&order));
    let b = refund(3, &order, &[], &whole(&order));
    assert_eq!(put_refund(&app, &a).await.status(), 200);
    let v = assert_error(put_refund(&app, &b).await, 409, "refund_exceeds_order").await;
    assert!(
        v["message"].as_str().unwrap().contains("only 0 more"),
        "{v}"
    );
    assert_eq!(app.count("SELECT count(*) FROM refunds"), 1);
    // A partial refund made after the first is still refused: nothing left.
    let c = refund(
        4,
        &order,
        &[],
        &[Returned {
            line: 1,
            quantity: 1,
        }],
    );
    assert_error(put_refund(&app, &c).await, 409, "refund_exceeds_order").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_of_one_order_sent_at_once_are_decided_one_at_a_time() {
    let app = Arc::new(spawn_app().await);
    let order = paid(5);
    assert_eq!(app.put_order(&order).await.status(), 200);
    let mut sent = JoinSet::new();
    for n in 0..12u128 {
        let (app, r) = (app.clone(), refund(10 + n, &order, &[], &whole(&order)));
        sent.spawn(async move { put_refund(&app, &r).await.status().as_u16() });
    }
    let mut statuses = sent.join_all().await;
    statuses.sort();
    assert_eq!(
        statuses,
        [vec![200], vec![409; 11]].concat(),
        "exactly one whole refund"
    );
    assert_eq!(app.count("SELECT count(*) FROM refunds"), 1);
}

#[tokio::test]
async fn refunds_an_order_does_not_allow_are_refused_saying_why() {
    let app = spawn_app().await;
    let order = paid(6);
    let r = refund(6, &order, &[], &whole(&order));
    let v = assert_error(put_refund(&app, &r).await, 409, "order_not_synced").await;
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("send the refund again after it"));
    // The register's copy is paid; the back office still holds an older,
    // open version: not refused for good, the paid version is on its way.
    let open = order_of("R1", 6);
    assert_eq!(app.put_order(&open).await.status(), 200);
    let v = assert_error(put_refund(&app, &r).await, 409, "order_not_synced").await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("not hold this order as paid yet"),
        "{v}"
    );
    // A voided order is refused for good.
    let mut voided = next_version(&open);
    voided
        .void([], None, None, Timestamp::from_millis(T))
        .unwrap();
    assert_eq!(app.put_order(&voided).await.status(), 200);
    assert_error(put_refund(&app, &r).await, 409, "order_not_refundable").await;
    assert_eq!(app.count("SELECT count(*) FROM refunds"), 0);
}

#[tokio::test]
async fn a_refund_is_written_by_its_own_register_for_an_order_of_its_store() {
    let app = spawn_app().await;
    let order = paid(7);
    assert_eq!(app.put_order(&order).await.status(), 200);
    // R2 is in R1's store: a return at the other till is allowed.
    let at_r2 = refund_by(
        "R2",
        7,
        &order,
        &[],
        &[Returned {
            line: 0,
            quantity: 1,
        }],
    );
    assert_error(put_refund(&app, &at_r2).await, 403, "forbidden").await;
    assert_eq!(
        put_refund_as(&app, OTHER_REGISTER_TOKEN, &at_r2)
            .await
            .status(),
        200
    );
    // The stored refund keeps its register: R1 cannot replace it.
    let mut next = at_r2.clone();
    next.version = 2;
    assert_error(put_refund(&app, &next).await, 403, "forbidden").await;
    assert_error(
        put_refund_as(&app, BRIDGE_TOKEN, &at_r2).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_bad_refund_body_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let order = paid(8);
    assert_eq!(app.put_order(&order).await.status(), 200);
    let r = refund(
        8,
        &order,
        &[],
        &[Returned {
            line: 0,
            quantity: 1,
        }],
    );
    let path = format!("/api/v1/refunds/{}", r.id);
    let good = serde_json::to_value(&r).unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut v = good.clone();
                v["colour"] = "red".into();
                v
            },
            "colour",
        ),
        (
            {
                let mut v = good.clone();
                v["lines"][0]["quantity"] = 0.into();
                v
            },
            "lines[0].quantity",
        ),
        (
            {
                let mut v = good.clone();
                v["totals"]["total"]["amount"] = 1.5.into();
                v
            },
            "totals.total.amount",
        ),
        (
            {
                let mut v = good.clone();
                v["lines"][0]["amount"]["amount"] = 9999.into();
                v
            },
            "totals",
        ),
        (
            {
                let mut v = good.clone();
                v["id"] = refund_id(99).to_string().into();
                v
            },
            "id",
        ),
    ];
    for (body, field) in cases {
        let v = assert_error(app.put_json(&path, &body).await, 422, "invalid_refund").await;
        assert_eq!(v["field"], field, "{v}");
    }
    let r = app.put_json("/api/v1/refunds/not-a-uuid", &good).await;
    assert_error(r, 422, "invalid_id").await;
    assert_eq!(app.count("SELECT count(*) FROM refunds"), 0);
}

#[tokio::test]
async fn the_bridge_reports_a_card_refund_naming_its_payment() {
    let app = spawn_app().await;
    let order = paid_of("R1", 9, true);
    let mut refunded = report(&order, 77);
    refunded.status = till_core::api::ReportedStatus::Refunded;
    let post = |body: Value| {
        let app = &app;
        async move { app.post_json("/api/v1/payments", BRIDGE_TOKEN, &body).await }
    };
    // A refund names its payment, and only a refund does.
    let v = assert_error(
        post(serde_json::to_value(&refunded).unwrap()).await,
        422,
        "invalid_payment",
    )
    .await;
    assert_eq!(v["field"], "original");
    let mut charge_naming = report(&order, 78);
    charge_naming.original = Some(reference(900 + 9));
    assert_error(
        post(serde_json::to_value(&charge_naming).unwrap()).await,
        422,
        "invalid_payment",
    )
    .await;
    refunded.original = Some(reference(900 + 9));
    let r = post(serde_json::to_value(&refunded).unwrap()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body_as(r, "PaymentReport").await["status"], "refunded");
    let payments = stored(&app, &order).await["payments"].clone();
    assert_eq!(payments[0]["original"], reference(909).to_string());
}

#[tokio::test]
async fn a_batch_carries_refunds_after_its_orders() {
    let app = spawn_app().await;
    let order = paid(10);
    let r = refund(
        10,
        &order,
        &[],
        &[Returned {
            line: 0,
            quantity: 1,
        }],
    );
    let alone = serde_json::json!({ "orders": [], "refunds": [r] });
    let v = body_as(
        app.post_json("/api/v1/orders:batch", REGISTER_TOKEN, &alone)
            .await,
        "BatchResponse",
    )
    .await;
    assert_eq!(v["results"][0]["status"], 409);
    assert_eq!(v["results"][0]["error"]["error"], "order_not_synced");
    // The order and its refund in one batch: the order first, then the refund.
    let both = serde_json::json!({ "orders": [order], "refunds": [r] });
    let v = body_as(
        app.post_json("/api/v1/orders:batch", REGISTER_TOKEN, &both)
            .await,
        "BatchResponse",
    )
    .await;
    let statuses: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200]);
    assert_eq!(v["results"][1]["id"], r.id.to_string());
    assert_eq!(v["results"][1]["version"], 1);
    // A bad refund gets its own result; the order still goes in.
    let mut bad = serde_json::to_value(&r).unwrap();
    bad["lines"][0]["quantity"] = 0.into();
    let next = next_version(&order);
    let mixed = serde_json::json!({ "orders": [next], "refunds": [bad, "not an object"] });
    let v = assert_error(
        app.post_json("/api/v1/orders:batch", REGISTER_TOKEN, &mixed)
            .await,
        422,
        "invalid_batch",
    )
    .await;
    assert_eq!(v["field"], "refunds[1]");
    let mixed = serde_json::json!({ "orders": [next], "refunds": [bad] });
    let v = body_as(
        app.post_json("/api/v1/orders:batch", REGISTER_TOKEN, &mixed)
            .await,
        "BatchResponse",
    )
    .await;
    assert_eq!(v["results"][0]["status"], 200);
    assert_eq!(
        (
            v["results"][1]["status"].as_u64(),
            v["results"][1]["error"]["field"].as_str()
        ),
        (Some(422), Some("lines[0].quantity"))
    );
}

/// Return `n` of R1 without a receipt: a mug and two coffees, in cash.
fn return_without_receipt(n: u128) -> Refund {
    use till_core::catalog::{fixtures::small, ProductId};
    let mut cart = till_core::cart::Cart::new(till_core::money::Currency::EUR);
    for p in ["mug", "coffee", "coffee"] {
        cart.add_by_id(&small(), &ProductId::new(p).unwrap())
            .unwrap();
    }
    let new = NewRefund {
        id: refund_id(n),
        number: format!("R1-20261127-{:04}", 7000 + n).parse().unwrap(),
        reason: Some(RefundReason::Other),
        cashier: None,
        approval: None,
        shift: None,
        tip: false,
        now: Timestamp::from_millis(T + n as i64),
    };
    Refund::without_receipt(new, &cart).unwrap()
}

#[tokio::test]
async fn a_return_without_a_receipt_is_stored_on_its_own_and_checked_against_its_items() {
    let app = spawn_app().await;
    let r = return_without_receipt(40);
    assert_eq!(r.tenders.len(), 1);
    let answer = put_refund(&app, &r).await;
    assert_eq!(answer.status(), 200);
    let v = body_as(answer, "Refund").await;
    assert!(v.get("order_id").is_none() && v["items"].as_array().unwrap().len() == 2);
    assert_eq!(
        app.count("SELECT count(*) FROM refunds WHERE order_id IS NULL"),
        1
    );
    assert_eq!(put_refund(&app, &r).await.status(), 200, "idempotent");
    // Amounts that are not what the items cost, a card part, an order's
    // refund that lists items: refused naming the field, nothing stored.
    let mut dearer = return_without_receipt(41);
    dearer.totals.total = till_core::money::Money::new(99_999, dearer.currency).unwrap();
    let v = assert_error(put_refund(&app, &dearer).await, 422, "invalid_refund").await;
    assert_eq!(v["field"], "totals");
    let mut to_card = return_without_receipt(42);
    to_card.tenders = vec![till_core::refund::RefundTender::Card {
        amount: to_card.totals.total,
        reference: reference(1),
        original: reference(2),
        state: till_core::refund::CardRefundState::Approved,
    }];
    let v = assert_error(put_refund(&app, &to_card).await, 422, "invalid_refund").await;
    assert_eq!(v["field"], "tenders");
    let order = paid(43);
    assert_eq!(app.put_order(&order).await.status(), 200);
    let mut mixed = refund(44, &order, &[], &whole(&order));
    mixed.items = return_without_receipt(45).items;
    let v = assert_error(put_refund(&app, &mixed).await, 422, "invalid_refund").await;
    assert_eq!(v["field"], "items");
    assert_eq!(app.count("SELECT count(*) FROM refunds"), 1);
}

#[tokio::test]
async fn a_return_without_a_receipt_priced_away_from_the_catalog_is_in_the_report() {
    use till_core::catalog::{fixtures::small, ProductId};
    let app = spawn_app().await;
    let catalog = small();
    let data = till_oms::store::CatalogData::from(&catalog);
    on_store(&app, move |s| s.replace_catalog(&data))
        .await
        .unwrap();
    // One at the catalog's price, one rung up dearer, one the catalog
    // does not have.
    let mut cart = till_core::cart::Cart::new(till_core::money::Currency::EUR);
    for p in ["mug", "coffee"] {
        cart.add_by_id(&catalog, &ProductId::new(p).unwrap())
            .unwrap();
    }
    cart.lines[1].unit_price = eur(990);
    let mut ghost = cart.lines[1].clone();
    ghost.product_id = ProductId::new("ghost").unwrap();
    ghost.name = "Ghost".into();
    cart.lines.push(ghost);
    let mut r = return_without_receipt(50);
    let new = NewRefund {
        id: r.id,
        number: r.number.clone(),
        reason: r.reason,
        cashier: None,
        approval: None,
        shift: None,
        tip: false,
        now: r.created_at,
    };
    r = Refund::without_receipt(new, &cart).unwrap();
    assert_eq!(put_refund(&app, &r).await.status(), 200);
    let report = app
        .get_as(ADMIN_TOKEN, "/api/v1/exceptions?date=2026-11-27&store=S01")
        .await;
    let v = body_as(report, "ExceptionReport").await;
    let found: Vec<String> = v["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["finding"] == "price_off_catalog")
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(found.len(), 2, "{v}");
    assert!(
        found[0].contains("at €9.90; the catalog's price is"),
        "{found:?}"
    );
    assert!(
        found[1].contains("(ghost), which the catalog does not have"),
        "{found:?}"
    );
}
