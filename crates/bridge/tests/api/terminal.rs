//! The bridge against a terminal that misbehaves on the wire: busy, off,
//! answers lost or tampered with, connections reset, requests lost. Each
//! fault comes from the terminal's controls and lasts until it is used or
//! lifted; the tests wait for conditions, not times.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

#[tokio::test]
async fn busy_is_not_started_and_the_next_try_works() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    assert_eq!(
        b.terminal
            .control("/_sim/busy", &json!({"count": 1}))
            .await
            .status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    let s = b.wait_for(&r, "not_started", SOON).await;
    assert_eq!(s["reason"], "the terminal is busy with another payment");
    assert!(b.charges().await.is_empty());
    let again = new_reference();
    b.start(&again, 1000).await;
    b.wait_for(&again, "approved", SOON).await;
    assert_eq!(b.charges().await.len(), 1);
}

#[tokio::test]
async fn a_terminal_that_is_off_refuses_the_connection_and_nothing_is_charged() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    assert_eq!(
        b.terminal.control("/_sim/off", &json!(null)).await.status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    let s = b.wait_for(&r, "not_started", SOON).await;
    assert!(
        s["reason"].as_str().unwrap().contains("cannot be reached"),
        "{s}"
    );
    assert_eq!(
        b.terminal.control("/_sim/on", &json!(null)).await.status(),
        204
    );
    let again = new_reference();
    b.start(&again, 1000).await;
    b.wait_for(&again, "approved", SOON).await;
}

#[tokio::test]
async fn a_tampered_answer_is_refused_and_the_payment_stays_in_doubt_until_a_status_answers() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    // The Payment's answer, and the status after it, fail their MAC.
    assert_eq!(
        b.terminal
            .control("/_sim/bad-mac", &json!({"count": 2}))
            .await
            .status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_until(|| async { b.charges().await.len() == 1 }, SOON)
        .await;
    // Never "approved" on the word of a message that did not verify.
    let s = b.status(&r).await;
    assert_ne!(s["status"], "approved", "{s}");
    assert_ne!(s["status"], "declined", "{s}");
    b.wait_for(&r, "approved", SOON).await;
    assert_eq!(b.charges().await.len(), 1);
}

#[tokio::test]
async fn a_dropped_answer_after_approval_is_found_by_transaction_status() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    assert_eq!(
        b.terminal
            .control("/_sim/drop-answers", &json!({"count": 1}))
            .await
            .status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "approved", SOON).await;
    assert_eq!(
        b.charges().await.len(),
        1,
        "charged once; the bridge asked, never sent it again"
    );
}

#[tokio::test]
async fn a_connection_reset_mid_call_leaves_the_terminal_working_and_the_bridge_asking() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    assert_eq!(
        b.terminal
            .control("/_sim/cut", &json!({"count": 1}))
            .await
            .status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "approved", SOON).await;
    assert_eq!(b.charges().await.len(), 1);
}

#[tokio::test]
async fn an_answer_later_than_the_read_timeout_is_asked_about() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    // Past the bridge's wait for a Payment (3 s + 1 s in the tests).
    assert_eq!(
        b.terminal
            .control("/_sim/latency", &json!({"ms": 6000}))
            .await
            .status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_until(|| async { b.charges().await.len() == 1 }, SOON)
        .await;
    assert_eq!(
        b.terminal
            .control("/_sim/latency", &json!({"ms": 0}))
            .await
            .status(),
        204
    );
    b.wait_for(&r, "approved", Duration::from_secs(30)).await;
}

/// A request lost before the terminal saw it: "not found" is believed only
/// from a status asked after the terminal's own timeout; until then the
/// payment is in doubt. Then it is "not started", for good.
#[tokio::test]
async fn not_found_is_only_believed_after_the_terminals_timeout() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    assert_eq!(
        b.terminal
            .control("/_sim/lose", &json!({"count": 1}))
            .await
            .status(),
        204
    );
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "unknown", SOON).await;
    let s = b.wait_for(&r, "not_started", SOON).await;
    assert_eq!(s["reason"], "the terminal never received it");
    assert!(b.charges().await.is_empty());
    // The reference can never be started again.
    let again = b.start(&r, 1000).await;
    assert_eq!(again.status(), 202);
    assert_eq!(
        body_as(again, "PaymentStatus").await["status"],
        "not_started"
    );
    assert!(b.charges().await.is_empty());
}

/// A Re-sync right after a poll still asks the terminal (and waits for its
/// answer): the answer to a question asked before the result was found is
/// never the answer to this one.
#[tokio::test]
async fn a_resync_right_after_a_poll_asks_the_terminal_again() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    b.next(json!({"outcome": "approve", "delay_ms": 0, "hide_result": true, "report_to_oms_after_ms": 3_600_000}))
        .await;
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_until(|| async { b.charges().await.len() == 1 }, SOON)
        .await;
    let polled = b.status(&r).await;
    assert_ne!(polled["status"], "approved", "{polled}");
    let reveal = b
        .terminal
        .control(&format!("/_sim/payments/{r}/reveal"), &json!(null))
        .await;
    assert_eq!(reveal.status(), 204);
    assert_eq!(
        b.status(&r).await["status"],
        "approved",
        "the very next status asks"
    );
}
