//! A client's mistakes get a 4xx with a JSON body, never a 500, never a
//! partial write.

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/orders:batch"))
        .bearer_auth(REGISTER_TOKEN)
        .header("content-type", "application/json")
        .body("{\"orders\": [")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "bad_request").await;
    let r = app
        .client
        .put(app.url(&format!("/api/v1/orders/{}", order_id(1))))
        .bearer_auth(REGISTER_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "bad_request").await;
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
}

#[tokio::test]
async fn wrong_types_are_422() {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &serde_json::json!({"orders": "all of them"}),
        )
        .await;
    assert_error(r, 422, "invalid_body").await;
}

#[tokio::test]
async fn a_body_over_1_mib_is_413_and_writes_nothing() {
    let app = spawn_app().await;
    let big = "x".repeat(till_oms::BODY_LIMIT_BYTES + 1);
    let r = app
        .client
        .post(app.url("/api/v1/orders:batch"))
        .bearer_auth(REGISTER_TOKEN)
        .header("content-type", "application/json")
        .body(format!("{{\"orders\":[],\"pad\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large").await;
    let r = app
        .client
        .put(app.url(&format!("/api/v1/orders/{}", order_id(1))))
        .bearer_auth(REGISTER_TOKEN)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
}

#[tokio::test]
async fn a_batch_without_a_json_content_type_is_415() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/orders:batch"))
        .bearer_auth(REGISTER_TOKEN)
        .body("{\"orders\":[]}")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/nope").await, 404, "not_found").await;
    assert_error(app.get("/api/v2/orders").await, 404, "not_found").await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/orders/{}", order_id(1))))
        .bearer_auth(REGISTER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(r, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn unknown_query_parameters_are_refused() {
    let app = spawn_app().await;
    assert_error(
        app.get("/api/v1/catalog?limit=0").await,
        422,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/catalog?limit=many").await,
        400,
        "bad_request",
    )
    .await;
    assert_error(
        app.get("/api/v1/catalog?drop=table").await,
        400,
        "bad_request",
    )
    .await;
}
