//! The fault controls, and what a client sees through them.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_lost_response_is_answered_from_the_stored_result_on_retry() {
    let app = spawn_app().await;
    let o = order(1);
    app.fault("drop-after-commit", json!({"count": 1})).await;
    let lost = app
        .client
        .put(app.url(&format!("/api/v1/orders/{}", o.id)))
        .bearer_auth(REGISTER_TOKEN)
        .json(&o)
        .send()
        .await;
    assert!(
        lost.is_err(),
        "the connection is dropped without an answer: {lost:?}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM orders"),
        1,
        "but the order was committed"
    );

    let retry = app.put_order(&o).await;
    assert_eq!(retry.status(), 200);
    let v = body_as(retry, "StoredOrder").await;
    assert_eq!(v["order"]["version"], 1);
    assert_eq!(app.count("SELECT count(*) FROM orders"), 1, "stored once");
}

#[tokio::test]
async fn a_lost_batch_response_stores_each_order_once() {
    let app = spawn_app().await;
    let orders: Vec<_> = (10..20)
        .map(|n| serde_json::to_value(order(n)).unwrap())
        .collect();
    app.fault("drop-after-commit", json!({"count": 1})).await;
    let lost = app
        .client
        .post(app.url("/api/v1/orders:batch"))
        .bearer_auth(REGISTER_TOKEN)
        .json(&json!({"orders": orders}))
        .send()
        .await;
    assert!(lost.is_err());
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({"orders": orders}),
        )
        .await;
    let v = body_as(r, "BatchResponse").await;
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == 200));
    assert_eq!(app.count("SELECT count(*) FROM orders"), 10);
}

#[tokio::test]
async fn failing_requests_get_503_and_write_nothing() {
    let app = spawn_app().await;
    app.fault("fail", json!({"count": 2})).await;
    let o = order(2);
    assert_error(app.put_order(&o).await, 503, "unavailable").await;
    assert_error(app.put_order(&o).await, 503, "unavailable").await;
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
    assert_eq!(app.put_order(&o).await.status(), 200);
}

#[tokio::test]
async fn down_drops_every_connection_until_it_is_back() {
    let app = spawn_app().await;
    app.fault("down", json!(null)).await;
    // Down until lifted, however long the work under test takes.
    for _ in 0..3 {
        assert!(app
            .client
            .get(app.url("/api/v1/health"))
            .send()
            .await
            .is_err());
    }
    app.fault("up", json!(null)).await;
    assert_eq!(
        app.client
            .get(app.url("/api/v1/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn hang_holds_every_request_unanswered_until_it_is_lifted() {
    let app = spawn_app().await;
    app.fault("hang", json!(null)).await;
    let mut held = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url("/api/v1/health"));
        async move { client.get(url).send().await.map(|r| r.status()) }
    });
    // Unanswered while hanging (a health check answers in milliseconds;
    // this only proves that none came, so it cannot pass by luck).
    let early = tokio::time::timeout(std::time::Duration::from_millis(500), &mut held).await;
    assert!(early.is_err(), "answered while hanging: {early:?}");
    app.fault("up", json!(null)).await;
    assert_eq!(held.await.unwrap().unwrap(), 200, "answered once lifted");
}

#[tokio::test]
async fn latency_delays_answers() {
    let app = spawn_app().await;
    app.fault("latency", json!({"ms": 300})).await;
    let started = std::time::Instant::now();
    assert_eq!(
        app.client
            .get(app.url("/api/v1/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A lower bound only: the fault must have been applied.
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let r = app
        .client
        .post(app.url("/_faults/latency"))
        .json(&json!({"ms": 10_000_000}))
        .send()
        .await
        .unwrap();
    assert_error(r, 422, "invalid_fault").await;
}

#[tokio::test]
async fn fault_controls_exist_only_when_enabled() {
    let mut c = config(temp_dir("till-oms-nofaults"));
    c.faults = false;
    let app = spawn_with(c).await;
    let r = app
        .client
        .post(app.url("/_faults/fail"))
        .json(&json!({"count": 1}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
    assert_eq!(
        app.client
            .get(app.url("/api/v1/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn without_the_test_flag_there_are_no_fault_controls() {
    let mut c = config(temp_dir("till-oms-store"));
    c.faults = false;
    let app = spawn_with(c).await;
    for path in [
        "/_faults/down",
        "/_faults/drop-after-commit",
        "/_faults/fail",
    ] {
        let r = app
            .client
            .post(app.url(path))
            .json(&serde_json::json!({"count": 1}))
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 200, "{path}");
    }
    let r = app
        .client
        .get(app.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "still up");
}
