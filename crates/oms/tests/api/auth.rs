use crate::helpers::*;

#[tokio::test]
async fn the_api_needs_a_known_token() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/api/v1/catalog"))
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    let r = app
        .client
        .get(app.url("/api/v1/catalog"))
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    let r = app
        .client
        .get(app.url("/api/v1/catalog"))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    let r = app
        .put_json(
            &format!("/api/v1/orders/{}", order_id(1)),
            &serde_json::json!({}),
        )
        .await;
    assert_ne!(r.status(), 401);
}

#[tokio::test]
async fn writes_without_a_token_write_nothing() {
    let app = spawn_app().await;
    let o = order(1);
    let r = app
        .client
        .put(app.url(&format!("/api/v1/orders/{}", o.id)))
        .json(&o)
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    assert_eq!(app.count("SELECT count(*) FROM orders"), 0);
}

#[tokio::test]
async fn the_bridge_token_only_reports_payments() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(BRIDGE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "forbidden").await;
    let o = order(2);
    let r = app
        .client
        .put(app.url(&format!("/api/v1/orders/{}", o.id)))
        .bearer_auth(BRIDGE_TOKEN)
        .json(&o)
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "forbidden").await;
}

#[tokio::test]
async fn health_and_the_document_need_no_token() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    body_as(r, "Health").await;
    let r = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}
