//! Refunds at the bridge: money back to the card of an approved payment,
//! idempotent by the refund's own reference, never beyond what the payment
//! charged (counting refunds whose result is not known), reported to the
//! OMS as `refunded`, and listed by the simulated terminal with their
//! payment.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

fn refund_body(reference: &str, original: &str, amount: i64) -> Value {
    json!({
        "reference": reference,
        "original": original,
        "order_id": order_id_for(original),
        "amount": amount,
        "currency": "EUR",
    })
}

async fn refund(b: &TestBridge, reference: &str, original: &str, amount: i64) -> reqwest::Response {
    b.post("/v1/refunds", &refund_body(reference, original, amount))
        .await
}

/// Polls a refund's status until `want`.
async fn wait_refund(b: &TestBridge, reference: &str, want: &str) -> Value {
    let path = format!("/v1/refunds/{reference}");
    let end = std::time::Instant::now() + SOON;
    loop {
        let r = b.get(&path).await;
        assert_eq!(r.status(), 200);
        let s = body_as(r, "PaymentStatus").await;
        if s["status"] == want {
            return s;
        }
        assert!(
            std::time::Instant::now() < end,
            "refund {reference} is {s}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An approved payment of `amount`: its reference.
async fn approved(b: &TestBridge, amount: i64) -> String {
    let p = new_reference();
    assert_eq!(b.start(&p, amount).await.status(), 202);
    b.wait_for(&p, "approved", SOON).await;
    p
}

#[tokio::test]
async fn a_refund_goes_back_to_an_approved_payment_once_and_is_reported() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    let p = approved(&b, 1000).await;
    let r = new_reference();
    let first = refund(&b, &r, &p, 400).await;
    assert_eq!(first.status(), 202);
    assert_eq!(
        body_as(first, "PaymentStatus").await["status"],
        "processing"
    );
    let done = wait_refund(&b, &r, "approved").await;
    assert_eq!(done["amount"], 400);
    // The same refund again: the same answer, nothing new on the terminal.
    let again = refund(&b, &r, &p, 400).await;
    assert_eq!(again.status(), 202);
    assert_eq!(body_as(again, "PaymentStatus").await["status"], "approved");
    let charges = b.charges().await;
    assert_eq!(charges.len(), 2, "{charges:?}");
    assert_eq!(
        (
            charges[1]["reference"].as_str(),
            charges[1]["refund_of"].as_str()
        ),
        (Some(r.as_str()), Some(p.as_str()))
    );
    assert_eq!(charges[1]["amount"], 400);
    assert!(charges[0].get("refund_of").is_none());
    // Back to the payment's card.
    let paid = b.status(&p).await;
    assert_eq!(
        (done["brand"].clone(), done["last4"].clone()),
        (paid["brand"].clone(), paid["last4"].clone())
    );
    // The OMS hears of it as a refund of that payment.
    b.wait_until(
        || async { oms.payments_of(&order_id_for(&p)).await.len() == 2 },
        SOON,
    )
    .await;
    let reports = oms.payments_of(&order_id_for(&p)).await;
    let reported = reports
        .iter()
        .find(|x| x["reference"] == r.as_str())
        .unwrap();
    assert_eq!(
        (reported["status"].as_str(), reported["original"].as_str()),
        (Some("refunded"), Some(p.as_str()))
    );
}

#[tokio::test]
async fn refunds_beyond_the_payment_or_of_no_approved_payment_are_refused() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let p = approved(&b, 1000).await;
    let a = new_reference();
    assert_eq!(refund(&b, &a, &p, 700).await.status(), 202);
    wait_refund(&b, &a, "approved").await;
    let refused =
        |body: Value| async move { assert_eq!(body["error"], "refund_refused", "{body}") };
    let over = refund(&b, &new_reference(), &p, 301).await;
    assert_eq!(over.status(), 409);
    refused(over.json().await.unwrap()).await;
    let unknown = refund(&b, &new_reference(), &new_reference(), 100).await;
    assert_eq!(unknown.status(), 409);
    refused(unknown.json().await.unwrap()).await;
    // A declined payment charged nothing: nothing to give back.
    let declined = new_reference();
    b.start(&declined, 1051).await;
    b.wait_for(&declined, "declined", SOON).await;
    let r = refund(&b, &new_reference(), &declined, 100).await;
    assert_eq!(r.status(), 409);
    // Another order's refund of this payment.
    let mut body = refund_body(&new_reference(), &p, 100);
    body["order_id"] = order_id_for(&new_reference()).into();
    assert_eq!(b.post("/v1/refunds", &body).await.status(), 409);
    // The same reference with another amount is a conflict, not a second refund.
    let clash = refund(&b, &a, &p, 300).await;
    assert_eq!(clash.status(), 409);
    assert_eq!(clash.json::<Value>().await.unwrap()["error"], "conflict");
    assert_eq!(
        b.journal_count("SELECT count(*) FROM payments WHERE refund_of IS NOT NULL"),
        1
    );
    // What is left can still go back.
    let rest = new_reference();
    assert_eq!(refund(&b, &rest, &p, 300).await.status(), 202);
    wait_refund(&b, &rest, "approved").await;
}

#[tokio::test]
async fn a_declined_refund_gives_nothing_back_and_one_in_doubt_counts() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let p = approved(&b, 2000).await;
    // Ends in 51: the terminal declines the refund.
    let declined = new_reference();
    refund(&b, &declined, &p, 551).await;
    let s = wait_refund(&b, &declined, "declined").await;
    assert_eq!(s["reason"], "insufficient funds");
    // Ends in 54: no answer, then unknown: it may have gone back.
    let lost = new_reference();
    refund(&b, &lost, &p, 554).await;
    wait_refund(&b, &lost, "unknown").await;
    // 2000 charged, 5.54 perhaps given back: 14.47 is too much, 14.46 fits.
    assert_eq!(refund(&b, &new_reference(), &p, 1447).await.status(), 409);
    let rest = new_reference();
    assert_eq!(refund(&b, &rest, &p, 1446).await.status(), 202);
    wait_refund(&b, &rest, "approved").await;
    let refunds: Vec<Value> = b
        .charges()
        .await
        .into_iter()
        .filter(|c| c.get("refund_of").is_some())
        .collect();
    assert_eq!(
        refunds.len(),
        1,
        "only the approved refund moved money: {refunds:?}"
    );
}

#[tokio::test]
async fn a_bad_refund_body_is_refused_naming_the_field() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let p = new_reference();
    let good = refund_body(&new_reference(), &p, 100);
    for (field, value) in [
        ("original", json!("nope")),
        ("amount", json!(0)),
        ("amount", json!(1.5)),
        ("currency", json!("EURO")),
    ] {
        let mut body = good.clone();
        body[field] = value;
        let r = b.post("/v1/refunds", &body).await;
        assert_eq!(r.status(), 422, "{field}");
        let v = body_as(r, "ApiError").await;
        assert_eq!(v["error"], "invalid_refund");
    }
    let mut extra = good.clone();
    extra["card_number"] = json!("4242424242424242");
    assert_eq!(b.post("/v1/refunds", &extra).await.status(), 422);
    assert_eq!(b.journal_count("SELECT count(*) FROM payments"), 0);
}

/// A store that asks for tips: the customer's tip comes back apart from the
/// sale, a refund may give back the sale and the tip (never more), and the
/// bridge's reports agree with the terminal's own notifications (the back
/// office parks none as a conflict).
#[tokio::test]
async fn a_tip_is_reported_apart_and_refundable_up_to_what_the_card_was_charged() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    b.next(
        json!({"outcome": "approve", "delay_ms": 0, "tip_minor": 200, "report_to_oms_after_ms": 0}),
    )
    .await;
    let p = new_reference();
    let mut body = start_body(&p, 1000);
    body["ask_tip"] = json!(true);
    assert_eq!(b.post("/v1/payments", &body).await.status(), 202);
    let paid = b.wait_for(&p, "approved", SOON).await;
    assert_eq!(paid["amount"], 1000, "the sale's amount");
    assert_eq!(paid["tip"], json!({"amount": 200, "currency": "EUR"}));
    let charges = b.charges().await;
    assert_eq!(
        (
            charges[0]["amount"].clone(),
            charges[0]["tip_minor"].clone()
        ),
        (json!(1200), json!(200))
    );
    // Not asked, no tip: the customer is never prompted.
    b.next(json!({"outcome": "approve", "delay_ms": 0, "tip_minor": 200}))
        .await;
    let plain = approved(&b, 500).await;
    assert!(b.status(&plain).await.get("tip").is_none());
    // The sale and its tip go back; a cent more does not.
    let r = new_reference();
    assert_eq!(refund(&b, &r, &p, 1200).await.status(), 202);
    let done = wait_refund(&b, &r, "approved").await;
    assert!(done.get("tip").is_none(), "a refund carries no tip: {done}");
    let more = refund(&b, &new_reference(), &p, 1).await;
    assert_eq!(more.status(), 409);
    b.wait_until(
        || async {
            b.journal_count("SELECT count(*) FROM reports WHERE delivered_at IS NULL") == 0
                && oms.payments_of(&order_id_for(&p)).await.len() == 2
        },
        SOON,
    )
    .await;
    assert_eq!(
        b.journal_count("SELECT count(*) FROM reports WHERE parked IS NOT NULL"),
        0
    );
    let reports = oms.payments_of(&order_id_for(&p)).await;
    let payment = reports
        .iter()
        .find(|x| x["reference"] == p.as_str())
        .unwrap();
    assert_eq!(
        (payment["amount"].clone(), payment["tip"].clone()),
        (json!(1000), json!({"amount": 200, "currency": "EUR"}))
    );
}
