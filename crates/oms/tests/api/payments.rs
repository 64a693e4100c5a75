use crate::helpers::*;

#[tokio::test]
async fn a_payment_reported_before_its_order_is_attached_when_it_arrives() {
    let app = spawn_app().await;
    let o = order(1);
    let p = report(&o, 1);
    let r = app
        .post_json(
            "/api/v1/payments",
            BRIDGE_TOKEN,
            &serde_json::to_value(&p).unwrap(),
        )
        .await;
    assert_eq!(r.status(), 200);
    body_as(r, "PaymentReport").await;

    // Download before the order arrived: the payment is known.
    let v = body_as(
        app.get(&format!("/api/v1/orders/{}", o.id)).await,
        "OrderLookup",
    )
    .await;
    assert!(v.get("order").is_none());
    assert_eq!(v["payments"][0]["reference"], p.reference.to_string());

    let stored = body_as(app.put_order(&o).await, "StoredOrder").await;
    assert_eq!(stored["payments"][0]["auth_code"], "A1");
    let v = body_as(
        app.get(&format!("/api/v1/orders/{}", o.id)).await,
        "OrderLookup",
    )
    .await;
    assert_eq!(v["order"]["id"], o.id.to_string());
    assert_eq!(v["payments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn reports_are_idempotent_by_reference() {
    let app = spawn_app().await;
    let o = order(2);
    let p = serde_json::to_value(report(&o, 2)).unwrap();
    for _ in 0..3 {
        assert_eq!(
            app.post_json("/api/v1/payments", BRIDGE_TOKEN, &p)
                .await
                .status(),
            200
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM payments"), 1);
    let mut other = p.clone();
    other["amount"] = serde_json::json!(1);
    assert_error(
        app.post_json("/api/v1/payments", BRIDGE_TOKEN, &other)
            .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM payments"), 1);
}

#[tokio::test]
async fn only_the_bridge_reports_and_never_a_card_number() {
    let app = spawn_app().await;
    let o = order(3);
    let p = serde_json::to_value(report(&o, 3)).unwrap();
    assert_error(
        app.post_json("/api/v1/payments", REGISTER_TOKEN, &p).await,
        403,
        "forbidden",
    )
    .await;

    let mut full_pan = p.clone();
    full_pan["last4"] = serde_json::json!("4242424242424242");
    let e = assert_error(
        app.post_json("/api/v1/payments", BRIDGE_TOKEN, &full_pan)
            .await,
        422,
        "invalid_payment",
    )
    .await;
    assert_eq!(e["field"], "last4");

    let mut extra = p.clone();
    extra["card_number"] = serde_json::json!("4242424242424242");
    assert_error(
        app.post_json("/api/v1/payments", BRIDGE_TOKEN, &extra)
            .await,
        422,
        "invalid_payment",
    )
    .await;

    let mut zero = p.clone();
    zero["amount"] = serde_json::json!(0);
    assert_error(
        app.post_json("/api/v1/payments", BRIDGE_TOKEN, &zero).await,
        422,
        "invalid_payment",
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM payments"), 0);
}
