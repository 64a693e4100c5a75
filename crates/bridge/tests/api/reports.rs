use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

#[tokio::test]
async fn approvals_reach_the_oms() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "approved", SOON).await;
    let payments = oms.wait_for_payment(&order_id_for(&r), SOON).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["reference"], r);
    assert_eq!(payments[0]["amount"], 1000);
}

/// The terminal's vendor notifies the OMS by itself, signed: a result the
/// bridge never learns reaches its order anyway.
#[tokio::test]
async fn a_result_the_bridge_never_learns_is_notified_to_the_oms_by_the_terminal() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    b.next(json!({"outcome": "approve", "delay_ms": 100, "bridge_never_learns": true, "report_to_oms_after_ms": 500})).await;
    let r = new_reference();
    b.start(&r, 1053).await;
    let payments = oms.wait_for_payment(&order_id_for(&r), SOON).await;
    assert_eq!(payments[0]["reference"], r);
    assert_ne!(
        b.status(&r).await["status"],
        "approved",
        "the bridge still does not know"
    );
}

#[tokio::test]
async fn report_now_sends_a_hidden_approval() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    b.next(json!({"outcome": "approve", "delay_ms": 0, "hide_result": true, "report_to_oms_after_ms": 3_600_000}))
        .await;
    let r = new_reference();
    b.start(&r, 1052).await;
    // Reported as soon as the terminal has decided it.
    let path = format!("/_sim/payments/{r}/report");
    b.wait_until(
        || async { b.terminal.control(&path, &json!(null)).await.status() == 202 },
        SOON,
    )
    .await;
    oms.wait_for_payment(&order_id_for(&r), SOON).await;
}

/// The bridge's report and the terminal's notification of one payment are
/// stored once, and agree.
#[tokio::test]
async fn the_bridge_and_the_terminal_report_one_payment_the_same_and_it_is_stored_once() {
    let oms = spawn_oms().await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "approved", SOON).await;
    b.wait_until(
        || async {
            b.journal_count("SELECT count(*) FROM reports WHERE delivered_at IS NULL") == 0
        },
        SOON,
    )
    .await;
    b.wait_until(
        || async { oms.payments_of(&order_id_for(&r)).await.len() == 1 },
        SOON,
    )
    .await;
    let payments = oms.payments_of(&order_id_for(&r)).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(
        payments[0]["psp_reference"],
        b.status(&r).await["psp_reference"]
    );
}

#[tokio::test]
async fn reports_wait_while_the_oms_is_down_and_arrive_once_it_is_back() {
    let oms = spawn_oms().await;
    oms.fault("fail", json!({"count": 2})).await;
    let b = spawn_bridge(temp_dir("till-bridge"), Some(&oms)).await;
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "approved", SOON).await;
    let payments = oms.wait_for_payment(&order_id_for(&r), SOON).await;
    assert_eq!(payments.len(), 1);
}

#[tokio::test]
async fn a_pending_report_survives_a_bridge_restart() {
    let data = temp_dir("till-bridge-report-restart");
    // First life: no OMS configured, so the report waits in the journal.
    let b = spawn_bridge(data.clone(), None).await;
    let r = new_reference();
    b.start(&r, 1000).await;
    b.wait_for(&r, "approved", SOON).await;
    assert_eq!(
        b.journal_count("SELECT count(*) FROM reports WHERE delivered_at IS NULL"),
        1
    );
    b.kill().await;

    let oms = spawn_oms().await;
    let b = spawn_bridge(data, Some(&oms)).await;
    oms.wait_for_payment(&order_id_for(&r), SOON).await;
    // The delivery is marked once the OMS answered: wait for that mark.
    b.wait_until(
        || async {
            b.journal_count("SELECT count(*) FROM reports WHERE delivered_at IS NULL") == 0
        },
        SOON,
    )
    .await;
}
