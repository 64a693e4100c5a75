use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn approves_and_charges_once() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    let resp = b.start(&r, 1000).await;
    assert_eq!(resp.status(), 202);
    let v = body_as(resp, "PaymentStatus").await;
    assert_eq!(v["status"], "processing");
    let s = b.wait_for(&r, "approved", SOON).await;
    assert_eq!(s["amount"], 1000);
    assert_eq!(s["currency"], "EUR");
    assert_eq!(s["last4"].as_str().unwrap().len(), 4);
    assert!(s["brand"].is_string() && s["auth_code"].is_string());
    assert_eq!(b.charges().await.len(), 1);
}

#[tokio::test]
async fn declines_51_with_the_reason() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    b.start(&r, 1051).await;
    let s = b.wait_for(&r, "declined", SOON).await;
    assert_eq!(s["reason"], "insufficient funds");
    assert!(b.charges().await.is_empty());
}

#[tokio::test]
async fn hides_52_until_revealed() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    b.start(&r, 1052).await;
    // Wait for the capture itself (the terminal's charge list), not a time.
    b.wait_until(|| async { b.charges().await.len() == 1 }, SOON)
        .await;
    assert_eq!(
        b.status(&r).await["status"],
        "processing",
        "captured, but hidden"
    );
    assert_eq!(
        b.post(&format!("/_sim/payments/{r}/reveal"), &json!(null))
            .await
            .status(),
        204
    );
    b.wait_for(&r, "approved", SOON).await;
}

#[tokio::test]
async fn never_answers_54_and_then_is_unknown_never_forgotten() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    b.start(&r, 1054).await;
    assert_eq!(b.status(&r).await["status"], "processing");
    // The terminal gave up without a result: nobody knows whether the card
    // was charged. In doubt, and kept.
    b.wait_for(&r, "unknown", SOON).await;
    assert_eq!(b.start(&r, 1054).await.status(), 202, "still known");
    assert!(b.charges().await.is_empty());
}

#[tokio::test]
async fn a_result_found_after_unknown_is_recorded_and_reported() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    b.next(json!({"outcome": "approve", "delay_ms": 0, "bridge_never_learns": true}))
        .await;
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "unknown", SOON).await;
    assert_eq!(
        b.charges().await.len(),
        1,
        "charged, though the bridge does not know"
    );
    assert_eq!(
        b.post(&format!("/_sim/payments/{r}/reveal"), &json!(null))
            .await
            .status(),
        204
    );
    b.wait_for(&r, "approved", SOON).await;
    oms.wait_for_payment(&order_id_for(&r), SOON).await;
}

#[tokio::test]
async fn approves_late_like_55() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    b.next(json!({"outcome": "approve", "delay_ms": 1500}))
        .await;
    let r = new_reference();
    b.start(&r, 1055).await;
    assert_eq!(b.status(&r).await["status"], "processing");
    b.wait_for(&r, "approved", SOON).await;
}

#[tokio::test]
async fn ten_identical_starts_at_once_charge_once() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    let body = start_body(&r, 1200);
    let requests = (0..10).map(|_| {
        let client = b.client.clone();
        let url = b.url("/v1/payments");
        let body = body.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .header("X-Pairing-Token", PAIRING)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    for s in futures_join(requests).await {
        assert_eq!(s, 202);
    }
    b.wait_for(&r, "approved", SOON).await;
    let charges = b.charges().await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0]["reference"], r);
    assert_eq!(b.journal_count("SELECT count(*) FROM payments"), 1);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_known_reference_with_another_body_is_409() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    assert_eq!(b.start(&r, 1000).await.status(), 202);
    let resp = b.start(&r, 999).await;
    assert_eq!(resp.status(), 409);
    let e = body_as(resp, "ApiError").await;
    assert_eq!(e["error"], "conflict");
    assert_eq!(
        b.start(&r, 1000).await.status(),
        202,
        "the same body again is fine"
    );
}

#[tokio::test]
async fn cancel_inside_the_window_and_after_capture() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    b.next(json!({"outcome": "approve", "delay_ms": 5000}))
        .await;
    let r = new_reference();
    b.start(&r, 1000).await;
    let resp = b
        .post(&format!("/v1/payments/{r}/cancel"), &json!(null))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["status"],
        "cancelled"
    );
    assert_eq!(b.status(&r).await["status"], "cancelled");
    assert!(b.charges().await.is_empty());

    let r2 = new_reference();
    b.start(&r2, 1000).await;
    b.wait_for(&r2, "approved", SOON).await;
    let resp = b
        .post(&format!("/v1/payments/{r2}/cancel"), &json!(null))
        .await;
    assert_eq!(resp.status(), 409);
    let real = body_as(resp, "PaymentStatus").await;
    assert_eq!(real["status"], "approved", "the real result, not an error");

    let never = new_reference();
    let resp = b
        .post(&format!("/v1/payments/{never}/cancel"), &json!(null))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        body_as(resp, "PaymentStatus").await["status"],
        "never_received"
    );
    assert_eq!(
        b.start(&never, 1000).await.status(),
        409,
        "and never will be"
    );
}

#[tokio::test]
async fn never_received_is_final_a_late_start_is_refused_and_charges_nothing() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    let s = b.status(&r).await;
    assert_eq!(s["status"], "never_received");
    assert_schema("PaymentStatus", &s);
    // The start was delayed on the network and arrives now.
    let late = b.start(&r, 1000).await;
    assert_eq!(late.status(), 409);
    let body = body_as(late, "PaymentStatus").await;
    assert_eq!(body["status"], "never_received");
    assert_eq!(b.status(&r).await["status"], "never_received");
    assert!(b.charges().await.is_empty());
    assert_eq!(b.journal_count("SELECT count(*) FROM payments"), 0);
    assert_eq!(b.journal_count("SELECT count(*) FROM tombstones"), 1);
}

#[tokio::test]
async fn a_dropped_reply_is_carried_out_and_the_status_tells() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    assert_eq!(
        b.post("/_sim/drop-replies", &json!({"count": 1}))
            .await
            .status(),
        204
    );
    let r = new_reference();
    let lost = b
        .client
        .post(b.url("/v1/payments"))
        .header("X-Pairing-Token", PAIRING)
        .json(&start_body(&r, 1000))
        .send()
        .await;
    assert!(lost.is_err(), "the answer is lost");
    b.wait_for(&r, "approved", SOON).await;
    assert_eq!(b.charges().await.len(), 1);
    assert_eq!(
        b.post("/_sim/latency", &json!({"ms": 999_999}))
            .await
            .status(),
        422,
        "faults are bounded"
    );
    assert_eq!(b.post("/_sim/reset", &json!(null)).await.status(), 204);
}

#[tokio::test]
async fn a_restart_mid_payment_loses_nothing_and_charges_once() {
    let data = temp_dir("till-bridge-restart");
    let b = spawn_bridge(data.clone(), None).await;
    b.next(json!({"outcome": "approve", "delay_ms": 800})).await;
    let r = new_reference();
    assert_eq!(b.start(&r, 1000).await.status(), 202);
    b.kill().await;

    let b = spawn_bridge(data, None).await;
    b.wait_for(&r, "approved", SOON).await;
    assert_eq!(
        b.start(&r, 1000).await.status(),
        202,
        "the register's retry finds it"
    );
    assert_eq!(b.charges().await.len(), 1);
}

#[tokio::test]
async fn down_drops_connections_until_up() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    assert_eq!(b.post("/_sim/down", &json!(null)).await.status(), 204);
    let r = b
        .client
        .get(b.url("/v1/health"))
        .header("X-Pairing-Token", PAIRING)
        .send()
        .await;
    assert!(r.is_err(), "no answer while down");
    assert_eq!(b.post("/_sim/up", &json!(null)).await.status(), 204);
    assert_eq!(b.get("/v1/health").await.status(), 200);
}

#[tokio::test]
async fn the_served_document_is_the_one_the_tests_check_against() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let served: serde_json::Value = b.get("/v1/openapi.json").await.json().await.unwrap();
    let ours: serde_json::Value = serde_json::from_str(till_bridge::api::OPENAPI).unwrap();
    assert_eq!(served, ours);
    assert_eq!(served["openapi"], "3.1.0");
    assert!(served["info"]["description"]
        .as_str()
        .unwrap()
        .contains("| 53 |"));
}

#[tokio::test]
async fn reset_puts_the_terminal_back_to_its_defaults() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    b.next(json!({"outcome": "decline", "delay_ms": 0})).await;
    assert_eq!(b.post("/_sim/reset", &json!(null)).await.status(), 204);
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "approved", SOON).await;
}

/// One live payment per order: a second start with a new reference, while
/// the terminal is still working on the first, is refused before anything
/// is journaled, naming the live reference. Once the first has its result,
/// the order may be paid again (a split payment).
#[tokio::test]
async fn one_live_payment_per_order() {
    let mut c = config(temp_dir("till-bridge-live"), None);
    // The terminal waits as long as the test does: the result is revealed.
    c.simulator = Some(till_bridge::simulator::SimConfig {
        approve_delay: till_core::time::Duration::from_millis(0),
        terminal_timeout: till_core::time::Duration::from_secs(3600),
    });
    let b = spawn_with(c).await;
    let first = new_reference();
    let order = order_id_for(&first);
    b.next(json!({"outcome": "approve", "delay_ms": 0, "hide_result": true}))
        .await;
    assert_eq!(b.start(&first, 1000).await.status(), 202);

    let second = new_reference();
    let body = json!({"reference": second, "order_id": order, "amount": 500, "currency": "EUR"});
    let r = b.post("/v1/payments", &body).await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "payment_in_progress");
    assert!(e["message"].as_str().unwrap().contains(&first), "{e}");
    assert_eq!(
        b.journal_count(&format!(
            "SELECT count(*) FROM payments WHERE reference = '{second}'"
        )),
        0,
        "nothing journaled for the refused start"
    );

    assert_eq!(
        b.post(&format!("/_sim/payments/{first}/reveal"), &json!({}))
            .await
            .status(),
        204
    );
    b.wait_for(&first, "approved", Duration::from_secs(30))
        .await;
    assert_eq!(b.post("/v1/payments", &body).await.status(), 202);
}
