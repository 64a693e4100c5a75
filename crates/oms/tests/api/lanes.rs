//! Registers stay in their own lane: an order keeps its register, a
//! register reads only its own orders, and every stored version is kept
//! with who wrote it.

use crate::helpers::*;
use crate::refunds::put_refund;
use serde_json::{json, Value};
use till_core::order::{Order, Tender};
use till_core::time::Timestamp;

/// `order` as register R2 would send it: same id, R2's number.
fn as_r2(order: &Order, version: u32) -> Order {
    let mut o = order_of("R2", 1);
    o.id = order.id;
    o.version = version;
    o
}

fn stored(app: &TestApp) -> (String, u32, String) {
    let r = app.row("SELECT register, version, body FROM orders");
    (r[0].clone(), r[1].parse().unwrap(), r[2].clone())
}

#[tokio::test]
async fn another_register_cannot_take_over_an_order() {
    let app = spawn_app().await;
    let mine = order(1);
    assert_eq!(app.put_order(&mine).await.status(), 200);
    let before = stored(&app);

    let theirs = as_r2(&mine, 9);
    let r = app.put_order_as(OTHER_REGISTER_TOKEN, &theirs).await;
    let e = assert_error(r, 403, "forbidden").await;
    assert!(
        e["message"].as_str().unwrap().contains("register R1"),
        "{e}"
    );
    // The same through a batch: that item is refused, nothing changes.
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            OTHER_REGISTER_TOKEN,
            &json!({ "orders": [theirs] }),
        )
        .await;
    let v = body_as(r, "BatchResponse").await;
    assert_eq!(v["results"][0]["status"], 403, "{v}");
    assert_eq!(stored(&app), before, "R1's order is untouched");

    // R1's next version is stored, not answered "stale".
    let next = next_version(&mine);
    let r = app.put_order(&next).await;
    let v = body_as(r, "StoredOrder").await;
    assert_eq!(v["order"]["version"], 2, "{v}");
    assert_eq!(stored(&app).1, 2);
}

#[tokio::test]
async fn a_register_reads_only_its_own_orders_and_the_back_office_reads_all() {
    let app = spawn_app().await;
    let mine = order(2);
    assert_eq!(app.put_order(&mine).await.status(), 200);
    let path = format!("/api/v1/orders/{}", mine.id);
    let list = "/api/v1/registers/R1/orders?date=2026-11-27";

    assert_error(
        app.get_as(OTHER_REGISTER_TOKEN, &path).await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.get_as(OTHER_REGISTER_TOKEN, list).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(app.get_as(REGISTER_TOKEN, &path).await.status(), 200);

    let v = body_as(app.get_as(ADMIN_TOKEN, &path).await, "OrderLookup").await;
    assert_eq!(v["order"]["id"], mine.id.to_string());
    let v = body_as(app.get_as(ADMIN_TOKEN, list).await, "OrderList").await;
    assert_eq!(v["orders"].as_array().unwrap().len(), 1);
    // The back office reads; it does not write orders.
    let next = next_version(&mine);
    assert_error(app.put_order_as(ADMIN_TOKEN, &next).await, 403, "forbidden").await;
    assert_eq!(stored(&app).1, 1);
}

#[tokio::test]
async fn every_stored_version_is_kept_with_who_wrote_it() {
    let app = spawn_app().await;
    // Paid in cash, then replaced by a cheaper open version.
    let mut paid = order(3);
    let due = paid.due().unwrap();
    paid.add_tender(
        Tender::cash(due, due).unwrap(),
        Timestamp::from_millis(paid.updated_at.as_millis() + 1),
    )
    .unwrap();
    assert_eq!(app.put_order(&paid).await.status(), 200);
    let mut cheaper = order(3);
    cheaper.lines.truncate(1);
    cheaper.totals =
        till_core::cart::compute_totals(cheaper.currency, &cheaper.lines, None).unwrap();
    cheaper.version = paid.version + 1;
    cheaper.updated_at = Timestamp::from_millis(paid.updated_at.as_millis() + 1);
    assert_eq!(app.put_order(&cheaper).await.status(), 200);
    // Neither a repeat nor a stale version adds to the history.
    assert_eq!(app.put_order(&cheaper).await.status(), 200);
    assert_eq!(app.put_order(&paid).await.status(), 200);

    let path = format!("/api/v1/orders/{}/history", paid.id);
    let v = body_as(app.get_as(ADMIN_TOKEN, &path).await, "OrderHistory").await;
    let versions = v["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{v:#}");
    assert_eq!(versions[0]["order"]["status"]["state"], "paid");
    assert_eq!(versions[0]["order"]["totals"]["total"]["amount"], 545);
    assert_eq!(versions[1]["order"]["status"]["state"], "open");
    assert_eq!(versions[1]["order"]["totals"]["total"]["amount"], 350);
    for e in versions {
        assert_eq!(e["register"], "R1");
        assert_eq!(e["token"], till_oms::auth::fingerprint(REGISTER_TOKEN));
    }
    assert!(
        !v.to_string().contains(REGISTER_TOKEN),
        "never the token itself"
    );

    assert_error(app.get_as(REGISTER_TOKEN, &path).await, 403, "forbidden").await;
    let none = format!("/api/v1/orders/{}/history", order_id(99));
    assert_error(app.get_as(ADMIN_TOKEN, &none).await, 404, "not_found").await;
}

#[tokio::test]
async fn the_history_cannot_be_rewritten() {
    let app = spawn_app().await;
    assert_eq!(app.put_order(&order(4)).await.status(), 200);
    for sql in [
        "UPDATE order_history SET body = '{}'",
        "DELETE FROM order_history",
    ] {
        let e = app.execute(sql).unwrap_err();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    assert_eq!(app.count("SELECT count(*) FROM order_history"), 1);
}

/// Refunds and shifts keep every version stored too, with the register
/// and token fingerprint that wrote it, and those histories cannot be
/// rewritten either.
#[tokio::test]
async fn refund_and_shift_histories_keep_each_version_and_its_writer() {
    let app = spawn_app().await;
    let sale = crate::refunds::paid_of("R1", 7, true);
    assert_eq!(app.put_order(&sale).await.status(), 200);
    let mut refund = crate::refunds::refund_by("R1", 7, &sale, &[], &crate::refunds::whole(&sale));
    assert_eq!(put_refund(&app, &refund).await.status(), 200);
    let card = refund.pending_cards().next().unwrap();
    assert!(refund.settle_card(card, true, Timestamp::from_millis(1_795_766_700_000)));
    assert_eq!(put_refund(&app, &refund).await.status(), 200);
    assert_eq!(
        put_refund(&app, &refund).await.status(),
        200,
        "the same version again"
    );
    let open = crate::shifts::shift_of("R1", 7, false);
    let closed = crate::shifts::shift_of("R1", 7, true);
    for s in [&open, &closed] {
        let r = crate::shifts::send(&app, REGISTER_TOKEN, serde_json::to_value(s).unwrap()).await;
        assert_eq!(r["status"], 200);
    }
    let fingerprint = till_oms::auth::fingerprint(REGISTER_TOKEN);
    for (table, id, versions) in [
        ("refund_history", "refund_id", "1,2"),
        ("shift_history", "shift_id", "2,3"),
    ] {
        let row = app.row(&format!(
            "SELECT count(*), min(register), min(token), max(token), min(version), max(version) FROM {table} WHERE {id} IS NOT NULL"
        ));
        let expected: Vec<&str> = versions.split(',').collect();
        assert_eq!(
            row,
            [
                "2".to_string(),
                "R1".into(),
                fingerprint.clone(),
                fingerprint.clone(),
                expected[0].into(),
                expected[1].into()
            ],
            "{table}"
        );
        for sql in [
            format!("UPDATE {table} SET body = '{{}}'"),
            format!("DELETE FROM {table}"),
        ] {
            let e = app.execute(&sql).unwrap_err();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
    }
}

/// A change to an order's JSON.
type Change = Box<dyn Fn(&mut Value)>;

async fn refused(app: &TestApp, body: Value, field: &str) {
    let id = body["id"].as_str().unwrap().to_owned();
    let r = app.put_json(&format!("/api/v1/orders/{id}"), &body).await;
    let e = assert_error(r, 422, "invalid_order").await;
    assert_eq!(e["field"], field, "{e}");
}

#[tokio::test]
async fn order_text_is_bounded_and_unknown_fields_are_refused() {
    let app = spawn_app().await;
    let good = serde_json::to_value(order(5)).unwrap();
    let cases: Vec<(&str, Change)> = vec![
        ("colour", Box::new(|v| v["colour"] = json!("red"))),
        (
            "lines[0].colour",
            Box::new(|v| v["lines"][0]["colour"] = json!(1)),
        ),
        (
            "totals.taxes[0].extra",
            Box::new(|v| v["totals"]["taxes"][0]["extra"] = json!(true)),
        ),
        (
            "lines[0].name",
            Box::new(|v| v["lines"][0]["name"] = json!("Coffee\u{7}")),
        ),
        (
            "lines[1].sku",
            Box::new(|v| v["lines"][1]["sku"] = json!("x".repeat(65))),
        ),
        (
            "lines[0].name",
            Box::new(|v| v["lines"][0]["name"] = json!("n".repeat(201))),
        ),
        (
            "lines[0].tax_rate.name",
            Box::new(|v| v["lines"][0]["tax_rate"]["name"] = json!("VAT\n")),
        ),
        (
            "lines",
            Box::new(|v| {
                let line = v["lines"][0].clone();
                v["lines"] = Value::Array(vec![line; 501]);
            }),
        ),
    ];
    for (field, change) in cases {
        let mut v = good.clone();
        change(&mut v);
        refused(&app, v, field).await;
    }
    // A tender's unknown field is named inside the tender its method chose.
    let mut v = good.clone();
    v["tenders"] = json!([{"method": "cash", "amount": {"amount": 545, "currency": "EUR"},
        "received": {"amount": 545, "currency": "EUR"}, "tip": 1}]);
    refused(&app, v, "tenders[0].tip").await;
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);

    // In a batch, the bad item gets its own 422 and the good one is stored.
    let mut bad = serde_json::to_value(order(6)).unwrap();
    bad["lines"][0]["colour"] = json!("red");
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({ "orders": [bad, order(7)] }),
        )
        .await;
    let v = body_as(r, "BatchResponse").await;
    assert_eq!(v["results"][0]["status"], 422);
    assert_eq!(v["results"][0]["error"]["field"], "lines[0].colour");
    assert_eq!(v["results"][1]["status"], 200);
    assert_eq!(app.count("SELECT count(*) FROM orders"), 1);
}
