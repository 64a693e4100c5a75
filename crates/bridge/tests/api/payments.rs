use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn approves_and_charges_once_with_the_card_details() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    let resp = b.start(&r, 1000).await;
    assert_eq!(resp.status(), 202);
    let v = body_as(resp, "PaymentStatus").await;
    assert_eq!(v["status"], "processing");
    let s = b.wait_for(&r, "approved", SOON).await;
    assert_eq!(s["amount"], 1000);
    assert_eq!(s["currency"], "EUR");
    let last4 = s["last4"].as_str().unwrap();
    assert_eq!(last4.len(), 4);
    assert!(s["masked_pan"].as_str().unwrap().ends_with(last4), "{s}");
    assert!(
        s["psp_reference"].as_str().unwrap().starts_with("TL"),
        "{s}"
    );
    assert!(s["brand"].is_string() && s["auth_code"].is_string());
    let charges = b.charges().await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["reference"], r);
    assert_eq!(
        charges[0]["order_id"],
        order_id_for(&r),
        "the order reaches the terminal's metadata"
    );
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
async fn a_lost_answer_is_found_by_transaction_status_once_revealed() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    b.start(&r, 1052).await;
    // Wait for the charge itself (the terminal's list), not a time.
    b.wait_until(|| async { b.charges().await.len() == 1 }, SOON)
        .await;
    assert_eq!(
        b.status(&r).await["status"],
        "processing",
        "charged; the answer was lost and the terminal says in progress"
    );
    let reveal = b
        .terminal
        .control(&format!("/_sim/payments/{r}/reveal"), &json!(null))
        .await;
    assert_eq!(reveal.status(), 204);
    b.wait_for(&r, "approved", SOON).await;
}

#[tokio::test]
async fn never_answers_54_and_then_is_unknown_never_forgotten() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    b.start(&r, 1054).await;
    assert_eq!(b.status(&r).await["status"], "processing");
    // The terminal's timeout passed without a result: nobody knows whether
    // the card was charged. In doubt, and kept.
    b.wait_for(&r, "unknown", SOON).await;
    assert_eq!(b.start(&r, 1054).await.status(), 202, "still known");
    assert!(b.charges().await.is_empty());
}

#[tokio::test]
async fn a_result_found_after_unknown_is_recorded_and_reported() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    b.next(json!({"outcome": "approve", "delay_ms": 0, "bridge_never_learns": true, "report_to_oms_after_ms": 3_600_000}))
        .await;
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "unknown", SOON).await;
    assert_eq!(
        b.charges().await.len(),
        1,
        "charged, though the bridge does not know"
    );
    let reveal = b
        .terminal
        .control(&format!("/_sim/payments/{r}/reveal"), &json!(null))
        .await;
    assert_eq!(reveal.status(), 204);
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
async fn cancel_sends_an_abort_inside_the_window_and_is_too_late_after_approval() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    b.next(json!({"outcome": "approve", "delay_ms": 5000}))
        .await;
    let r = new_reference();
    b.start(&r, 1000).await;
    let resp = b
        .post(&format!("/v1/payments/{r}/cancel"), &json!(null))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body_as(resp, "PaymentStatus").await["status"], "cancelled");
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

/// The terminal approves before the Abort reaches it (its answers are held
/// until the test releases them, after the Abort arrived): the payment
/// stays approved, the cancel is answered with the real result, and the
/// approval is reported.
#[tokio::test]
async fn an_abort_that_arrives_after_approval_leaves_the_payment_approved_and_reported() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    b.next(json!({"outcome": "approve", "delay_ms": 0})).await;
    assert_eq!(
        b.terminal
            .control("/_sim/hold", &json!(null))
            .await
            .status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_until(|| async { b.charges().await.len() == 1 }, SOON)
        .await;
    let cancel = {
        let (client, url) = (b.client.clone(), b.url(&format!("/v1/payments/{r}/cancel")));
        tokio::spawn(async move {
            client
                .post(url)
                .header("X-Pairing-Token", PAIRING)
                .send()
                .await
        })
    };
    // The Payment's answer and the Abort's both wait at the terminal.
    b.wait_until(|| async { b.terminal.faults().await["held"] == 2 }, SOON)
        .await;
    assert_eq!(
        b.terminal
            .control("/_sim/release", &json!(null))
            .await
            .status(),
        204
    );
    let resp = cancel.await.unwrap().unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(body_as(resp, "PaymentStatus").await["status"], "approved");
    assert_eq!(b.status(&r).await["status"], "approved");
    oms.wait_for_payment(&order_id_for(&r), SOON).await;
    assert_eq!(b.charges().await.len(), 1);
}

#[tokio::test]
async fn never_received_is_final_a_late_start_is_refused_and_charges_nothing() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r = new_reference();
    let s = b.status(&r).await;
    assert_eq!(s["status"], "never_received");
    // The start was delayed on the network and arrives now.
    let late = b.start(&r, 1000).await;
    assert_eq!(late.status(), 409);
    assert_eq!(
        body_as(late, "PaymentStatus").await["status"],
        "never_received"
    );
    assert_eq!(b.status(&r).await["status"], "never_received");
    assert!(b.charges().await.is_empty());
    assert_eq!(b.journal_count("SELECT count(*) FROM payments"), 0);
    assert_eq!(b.journal_count("SELECT count(*) FROM tombstones"), 1);
}

#[tokio::test]
async fn a_dropped_reply_of_the_bridge_is_carried_out_and_the_status_tells() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let dropped = b.post("/_faults/drop-replies", &json!({"count": 1})).await;
    assert_eq!(dropped.status(), 204);
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
    let too_long = b.post("/_faults/latency", &json!({"ms": 999_999})).await;
    assert_eq!(too_long.status(), 422, "faults are bounded");
    assert_eq!(b.post("/_faults/reset", &json!(null)).await.status(), 204);
}

#[tokio::test]
async fn a_restart_mid_payment_asks_the_terminal_and_charges_once() {
    let data = temp_dir("till-bridge-restart");
    let b = spawn_bridge(data.clone(), None).await;
    b.next(json!({"outcome": "approve", "delay_ms": 800})).await;
    let r = new_reference();
    assert_eq!(b.start(&r, 1000).await.status(), 202);
    let terminal = b.kill().await;

    let b = spawn_with(config(data, None, &terminal), terminal).await;
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
    assert_eq!(b.post("/_faults/down", &json!(null)).await.status(), 204);
    let r = b
        .client
        .get(b.url("/v1/health"))
        .header("X-Pairing-Token", PAIRING)
        .send()
        .await;
    assert!(r.is_err(), "no answer while down");
    assert_eq!(b.post("/_faults/up", &json!(null)).await.status(), 204);
    assert_eq!(b.get("/v1/health").await.status(), 200);
}

#[tokio::test]
async fn the_served_document_is_the_one_the_tests_check_against() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let served: Value = b.get("/v1/openapi.json").await.json().await.unwrap();
    let ours: Value = serde_json::from_str(till_bridge::api::OPENAPI).unwrap();
    assert_eq!(served, ours);
    assert_eq!(served["openapi"], "3.1.0");
    assert!(served["info"]["description"]
        .as_str()
        .unwrap()
        .contains("not_started"));
}

/// One live payment per order: a second start with a new reference, while
/// the terminal is still working on the first, is refused before anything
/// is journaled, naming the live reference. Once the first has its result,
/// the order may be paid again (a split payment).
#[tokio::test]
async fn one_live_payment_per_order() {
    let terminal = spawn_terminal(None).await;
    let mut c = config(temp_dir("till-bridge-live"), None, &terminal);
    // The terminal works as long as the test does: the result is revealed.
    c.terminal.timeout = till_core::time::Duration::from_secs(3600);
    let b = spawn_with(c, terminal).await;
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
    let journaled = format!("SELECT count(*) FROM payments WHERE reference = '{second}'");
    assert_eq!(
        b.journal_count(&journaled),
        0,
        "nothing journaled for the refused start"
    );

    let reveal = b
        .terminal
        .control(&format!("/_sim/payments/{first}/reveal"), &json!({}))
        .await;
    assert_eq!(reveal.status(), 204);
    b.wait_for(&first, "approved", Duration::from_secs(30))
        .await;
    assert_eq!(b.post("/v1/payments", &body).await.status(), 202);
}
