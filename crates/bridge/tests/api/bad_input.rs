use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn the_pairing_token_is_required() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = b
        .client
        .post(b.url("/v1/payments"))
        .json(&start_body(&new_reference(), 1000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "unauthorized");
    let r = b
        .client
        .get(b.url("/v1/payments/0190f1a2-0000-7000-8000-000000000001"))
        .header("X-Pairing-Token", "wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(b.journal_count("SELECT count(*) FROM payments"), 0);
}

#[tokio::test]
async fn cors_allows_the_apps_origin_only() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let preflight = |origin: &'static str| {
        b.client
            .request(reqwest::Method::OPTIONS, b.url("/v1/payments"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,x-pairing-token",
            )
            .send()
    };
    let ok = preflight(APP_ORIGIN).await.unwrap();
    assert_eq!(
        ok.headers().get("access-control-allow-origin").unwrap(),
        APP_ORIGIN
    );
    let other = preflight("http://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn bad_bodies_are_refused_and_nothing_is_written() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let send = |body: String| {
        b.client
            .post(b.url("/v1/payments"))
            .header("X-Pairing-Token", PAIRING)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = new_reference();
    let good = start_body(&r, 1000);
    let cases = [
        ("{not json".to_owned(), 400u16),
        (json!({"reference": r, "order_id": order_id_for(&r), "amount": "ten", "currency": "EUR"}).to_string(), 422),
        (json!({"reference": r, "order_id": order_id_for(&r), "amount": 0, "currency": "EUR"}).to_string(), 422),
        (json!({"reference": r, "order_id": order_id_for(&r), "amount": -5, "currency": "EUR"}).to_string(), 422),
        (json!({"reference": r, "order_id": order_id_for(&r), "amount": 10.5, "currency": "EUR"}).to_string(), 422),
        (json!({"reference": r, "order_id": order_id_for(&r), "amount": 100, "currency": "XXX"}).to_string(), 422),
        (json!({"reference": "nope", "order_id": order_id_for(&r), "amount": 100, "currency": "EUR"}).to_string(), 422),
        (json!({"reference": r, "amount": 100, "currency": "EUR"}).to_string(), 422),
        ({
            let mut v = good.clone();
            v["card_number"] = json!("4242424242424242");
            v.to_string()
        }, 422),
        (format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000)), 413),
    ];
    for (body, status) in cases {
        let resp = send(body.clone()).await.unwrap();
        assert_eq!(
            resp.status().as_u16(),
            status,
            "{}",
            &body[..body.len().min(120)]
        );
        if status != 413 {
            body_as(resp, "ApiError").await;
        }
    }
    assert_eq!(b.journal_count("SELECT count(*) FROM payments"), 0);
    let resp = b.get("/v1/payments/not-a-uuid").await;
    assert_eq!(resp.status(), 422);
    let resp = b.get("/v1/nope").await;
    assert_eq!(resp.status(), 404);
    let e: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(e["error"], "not_found");
}

#[test]
fn the_document_lists_the_currencies_core_knows() {
    let doc: serde_json::Value = serde_json::from_str(till_bridge::api::OPENAPI).unwrap();
    let listed: Vec<&str> = doc["components"]["schemas"]["Currency"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut known: Vec<&str> = till_core::money::Currency::KNOWN
        .iter()
        .map(|c| c.code())
        .collect();
    known.sort();
    assert_eq!(listed, known);
}

#[tokio::test]
async fn a_nil_reference_is_refused_as_the_document_says() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let nil = "00000000-0000-0000-0000-000000000000";
    let r = b.get(&format!("/v1/payments/{nil}")).await;
    assert_eq!(r.status(), 422);
    let doc: serde_json::Value = serde_json::from_str(till_bridge::api::OPENAPI).unwrap();
    let reference = &doc["components"]["schemas"]["StartPayment"]["properties"]["reference"];
    assert_eq!(
        reference["not"]["const"], nil,
        "the document refuses it too"
    );
}
