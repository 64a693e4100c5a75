use crate::helpers::*;
use serde_json::json;
use till_core::order::Tender;
use till_core::time::Timestamp;

#[tokio::test]
async fn put_creates_and_the_same_put_again_answers_the_same() {
    let app = spawn_app().await;
    let o = order(1);
    let first = app.put_order(&o).await;
    assert_eq!(first.status(), 200);
    let first = body_as(first, "StoredOrder").await;
    let again = app.put_order(&o).await;
    assert_eq!(again.status(), 200);
    assert_eq!(body_as(again, "StoredOrder").await, first);
    assert_eq!(app.count("SELECT count(*) FROM orders"), 1);
}

#[tokio::test]
async fn a_higher_version_replaces_and_a_lower_one_changes_nothing() {
    let app = spawn_app().await;
    let v1 = order(2);
    let mut v2 = v1.clone();
    v2.add_tender(
        Tender::cash(eur(1000), v2.due().unwrap()).unwrap(),
        Timestamp::from_millis(v1.created_at.as_millis() + 10),
    )
    .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(app.put_order(&v1).await.status(), 200);
    let r = body_as(app.put_order(&v2).await, "StoredOrder").await;
    assert_eq!(r["order"]["version"], 2);
    assert_eq!(r["order"]["status"]["state"], "paid");
    // The old version arrives late: 200 with the stored newer order.
    let late = app.put_order(&v1).await;
    assert_eq!(late.status(), 200);
    let late = body_as(late, "StoredOrder").await;
    assert_eq!(late["order"]["version"], 2);
    assert_eq!(app.count("SELECT version FROM orders"), 2);
}

#[tokio::test]
async fn the_same_version_with_another_body_is_a_conflict() {
    let app = spawn_app().await;
    let o = order(3);
    assert_eq!(app.put_order(&o).await.status(), 200);
    let mut other = o.clone();
    other.updated_at = Timestamp::from_millis(o.updated_at.as_millis() + 1);
    assert_error(app.put_order(&other).await, 409, "conflict").await;
    let stored = app.row("SELECT body FROM orders").remove(0);
    assert_eq!(
        stored,
        serde_json::to_string(&o).unwrap(),
        "the stored order is untouched"
    );
}

async fn assert_invalid(app: &TestApp, body: serde_json::Value, field: &str) {
    let id = body["id"]
        .as_str()
        .unwrap_or("0191d5a8-7c3e-7000-8000-000000000001")
        .to_owned();
    let r = app.put_json(&format!("/api/v1/orders/{id}"), &body).await;
    let e = assert_error(r, 422, "invalid_order").await;
    assert_eq!(e["field"], field, "{e}");
}

#[tokio::test]
async fn invalid_orders_get_422_naming_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let good = serde_json::to_value(order(4)).unwrap();

    let mut v = good.clone();
    v["totals"]["total"]["amount"] = json!(1);
    assert_invalid(&app, v, "totals.total").await;

    let mut v = good.clone();
    v["currency"] = json!("XXX");
    assert_invalid(&app, v, "currency").await;

    let mut v = good.clone();
    v["lines"][0]["unit_price"]["amount"] = json!(-350);
    assert_invalid(&app, v, "lines[0].unit_price.amount").await;

    let mut v = good.clone();
    v["lines"] = json!([]);
    assert_invalid(&app, v, "lines").await;

    let mut v = good.clone();
    v["number"] = json!("R1-2026-1");
    assert_invalid(&app, v, "number").await;

    let mut v = good.clone();
    v["lines"][0]["quantity"] = json!("two");
    assert_invalid(&app, v, "lines[0].quantity").await;

    let mut v = good.clone();
    v["tenders"] = json!([{"method": "card", "amount": {"amount": 545, "currency": "EUR"},
        "reference": "9b2f3c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5e", "brand": "VISA", "last4": "4242424242424242", "auth_code": "X"}]);
    assert_invalid(&app, v, "tenders[0].last4").await;

    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
}

#[tokio::test]
async fn the_path_and_the_body_must_name_the_same_order() {
    let app = spawn_app().await;
    let o = order(5);
    let r = app
        .put_json(
            &format!("/api/v1/orders/{}", order_id(6)),
            &serde_json::to_value(&o).unwrap(),
        )
        .await;
    assert_eq!(assert_error(r, 422, "invalid_order").await["field"], "id");
    let r = app
        .put_json(
            "/api/v1/orders/not-a-uuid",
            &serde_json::to_value(&o).unwrap(),
        )
        .await;
    assert_error(r, 422, "invalid_id").await;
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
}

#[tokio::test]
async fn a_register_writes_only_its_own_orders() {
    let app = spawn_app().await;
    let theirs = order_of("R2", 7);
    assert_error(app.put_order(&theirs).await, 403, "forbidden").await;
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
}

#[tokio::test]
async fn batch_stores_the_good_and_answers_each() {
    let app = spawn_app().await;
    let good: Vec<_> = (10..15).map(order).collect();
    let mut bad = serde_json::to_value(order(15)).unwrap();
    bad["totals"]["total"]["amount"] = json!(2);
    let mut orders: Vec<_> = good
        .iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    orders.insert(2, bad);
    orders.push(json!({"garbage": true}));
    orders.push(serde_json::to_value(order_of("R2", 16)).unwrap());
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({ "orders": orders }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v = body_as(r, "BatchResponse").await;
    let statuses: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 200, 422, 200, 200, 200, 422, 403]);
    assert_eq!(v["results"][2]["id"], order_id(15).to_string());
    assert_eq!(v["results"][2]["error"]["field"], "totals.total");
    assert!(v["results"][6].get("id").is_none());
    assert_eq!(app.count("SELECT count(*) FROM orders"), 5);

    // The same batch again stores nothing new and answers the same.
    let again = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({ "orders": orders }),
        )
        .await;
    assert_eq!(body_as(again, "BatchResponse").await, v);
    assert_eq!(app.count("SELECT count(*) FROM orders"), 5);
}

#[tokio::test]
async fn a_batch_holds_at_most_500_orders() {
    let app = spawn_app().await;
    let one = serde_json::to_value(order(20)).unwrap();
    // 501 copies of a small order still fit in 1 MiB? No: keep them tiny.
    let orders: Vec<_> = (0..501).map(|_| json!({})).collect();
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({ "orders": orders }),
        )
        .await;
    assert_error(r, 422, "batch_too_large").await;
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({ "orders": [one] }),
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_batch_whose_items_are_not_orders_or_with_unknown_fields_is_refused_whole() {
    let app = spawn_app().await;
    let one = serde_json::to_value(order(21)).unwrap();
    for (body, code) in [
        (
            json!({ "orders": [one.clone(), [null, null]] }),
            "invalid_batch",
        ),
        (json!({ "orders": [one.clone(), 7] }), "invalid_batch"),
        (
            json!({ "orders": [one.clone()], "colour": "red" }),
            "invalid_body",
        ),
    ] {
        let r = app
            .post_json("/api/v1/orders:batch", REGISTER_TOKEN, &body)
            .await;
        let v = assert_error(r, 422, code).await;
        if code == "invalid_batch" {
            assert_eq!(v["field"], "orders[1]");
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
}

#[tokio::test]
async fn a_registers_day_lists_its_orders() {
    let app = spawn_app().await;
    for n in 30..33 {
        assert_eq!(app.put_order(&order(n)).await.status(), 200);
    }
    let r = app.get("/api/v1/registers/R1/orders?date=2026-11-27").await;
    assert_eq!(r.status(), 200);
    let v = body_as(r, "OrderList").await;
    assert_eq!(v["orders"].as_array().unwrap().len(), 3);
    let other_day = body_as(
        app.get("/api/v1/registers/R1/orders?date=2026-11-28").await,
        "OrderList",
    )
    .await;
    assert_eq!(other_day["orders"].as_array().unwrap().len(), 0);
    assert_error(
        app.get("/api/v1/registers/R1/orders?date=2026-13-01").await,
        422,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/registers/R1/orders?date=2026-02-29").await,
        422,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/registers/R-1/orders?date=2026-11-27")
            .await,
        422,
        "invalid_register",
    )
    .await;
    assert_error(
        app.get("/api/v1/registers/R1/orders").await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn orders_survive_a_restart() {
    let data = temp_dir("till-oms-restart");
    let o = order(40);
    {
        let app = spawn_with(config(data.clone())).await;
        assert_eq!(app.put_order(&o).await.status(), 200);
    }
    let app = spawn_with(config(data)).await;
    let v = body_as(
        app.get(&format!("/api/v1/orders/{}", o.id)).await,
        "OrderLookup",
    )
    .await;
    assert_eq!(v["order"]["id"], o.id.to_string());
}

#[tokio::test]
async fn an_unknown_order_is_404() {
    let app = spawn_app().await;
    assert_error(
        app.get(&format!("/api/v1/orders/{}", order_id(99))).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_order_with_a_refund_due_is_stored_and_documented() {
    let app = spawn_app().await;
    let mut o = order(40);
    let at = Timestamp::from_millis(o.created_at.as_millis() + 10);
    o.add_tender(Tender::cash(eur(1000), o.due().unwrap()).unwrap(), at)
        .unwrap();
    // The card approval arrived after the order was paid in cash.
    let card = report(&o, 41).card;
    o.record_card(o.totals.total, reference(41), card, at)
        .unwrap();
    assert_eq!(o.refund_due.len(), 1);
    let stored = body_as(app.put_order(&o).await, "StoredOrder").await;
    assert_eq!(
        stored["order"]["refund_due"][0]["amount"]["amount"],
        o.totals.total.minor()
    );
    assert_eq!(stored["order"]["status"]["state"], "paid");
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_till_oms_is_refused_untouched() {
    let data = temp_dir("till-oms-newer");
    let app = spawn_with(config(data.clone())).await;
    assert_eq!(app.put_order(&order(41)).await.status(), 200);
    // What a later release's migration would have recorded.
    app.execute(
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
         VALUES (99, 'from_the_future', '2027-01-01T00:00:00Z', '0')",
    )
    .unwrap();
    let c = config(data);
    crate::db::create(&c.database).await;
    let refused = till_oms::Application::build(c).await.err().unwrap();
    assert!(
        refused
            .to_string()
            .contains("schema version 99, newer than this till-oms"),
        "{refused}"
    );
    assert_eq!(app.count("SELECT count(*) FROM orders"), 1, "nothing lost");
}

/// A string schema of the document, as a validator.
fn documented(schema: &serde_json::Value) -> jsonschema::Validator {
    assert!(schema["pattern"].is_string(), "{schema}");
    jsonschema::validator_for(schema).unwrap()
}

/// The document's patterns for an order number and a business day say
/// exactly what the OMS takes, so a request the document allows is never
/// refused for its number or its day: every day of the years 1999 to 2401
/// (with months and days out of range), and sequences written every way.
#[test]
fn the_documented_number_and_day_patterns_are_the_servers_own_rules() {
    use till_core::order::{BusinessDate, OrderNumber};
    let doc: serde_json::Value = serde_json::from_str(till_oms::api::OPENAPI).unwrap();
    let number = documented(&doc["components"]["schemas"]["Order"]["properties"]["number"]);
    let refund_number = documented(&doc["components"]["schemas"]["Refund"]["properties"]["number"]);
    let params = doc["paths"]["/registers/{register}/orders"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let day = params.iter().find(|p| p["name"] == "date").unwrap();
    let day = documented(&day["schema"]);
    for y in 1999u16..=2401 {
        for m in 0u8..=13 {
            for d in 0u8..=32 {
                let server = BusinessDate::new(y, m, d).is_ok();
                let dashed = format!("{y:04}-{m:02}-{d:02}");
                assert_eq!(day.is_valid(&json!(dashed)), server, "{dashed}");
                assert_eq!(dashed.parse::<BusinessDate>().is_ok(), server, "{dashed}");
                let n = format!("R1-{y:04}{m:02}{d:02}-0042");
                assert_eq!(number.is_valid(&json!(n)), server, "{n}");
                assert_eq!(n.parse::<OrderNumber>().is_ok(), server, "{n}");
            }
        }
    }
    let seqs = [
        "0", "1", "42", "0000", "0001", "0042", "00042", "0999", "1000", "9999", "10000", "012345",
        "99999", "999999", "0999999", "1000000", "-001", "00a1",
    ];
    for seq in seqs {
        for register in ["R1", "Counter_2", "R-1", "", "ABCDEFGHIJKLMNOPQ"] {
            let n = format!("{register}-20261127-{seq}");
            let server = n.parse::<OrderNumber>().is_ok();
            assert_eq!(number.is_valid(&json!(n)), server, "{n}");
            assert_eq!(refund_number.is_valid(&json!(n)), server, "{n}");
        }
    }
}

/// An order whose discount a manager approved keeps the lines and money
/// off the approval named, as the register sent them.
#[tokio::test]
async fn an_approved_discount_is_stored_with_the_lines_it_approved() {
    use till_core::staff::{Approval, DiscountGrant, Guarded, StaffId, StaffRef};
    let app = spawn_app().await;
    let mut o = order(90);
    o.approvals.push(Approval {
        by: StaffRef {
            id: StaffId::new("dana").unwrap(),
            name: "Dana".into(),
        },
        at: o.created_at,
        what: Guarded::Discount {
            basis_points: 3_000,
        },
        lines: vec![DiscountGrant {
            product_id: till_core::catalog::ProductId::new("coffee").unwrap(),
            basis_points: 3_000,
            off: till_core::money::Money::new(105, till_core::money::Currency::EUR).unwrap(),
        }],
    });
    assert_eq!(app.put_order(&o).await.status(), 200);
    let r = app.get(&format!("/api/v1/orders/{}", o.id)).await;
    let stored = body_as(r, "StoredOrder").await;
    assert_eq!(
        stored["order"]["approvals"][0]["lines"][0]["product_id"],
        "coffee"
    );
    assert_eq!(
        stored["order"]["approvals"][0]["lines"][0]["off"]["amount"],
        105
    );
}
