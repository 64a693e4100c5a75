//! The exceptions report (`GET /api/v1/exceptions`, `till-oms exceptions`):
//! records a register's token wrote that the staff list does not bear
//! out are stored all the same, and listed; on both engines.

use crate::helpers::*;
use crate::refunds::{paid_of, refund_by, whole};
use crate::shifts::{send, shift_of, shift_sale};
use serde_json::Value;
use till_core::order::Order;
use till_core::shift::DrawerOpen;
use till_core::staff::{Approval, Guarded, StaffId, StaffRef};
use till_core::time::{Duration, Timestamp};

const T: i64 = 1_795_766_400_000;
const DAY: &str = "/api/v1/exceptions?date=2026-11-27";

fn who(id: &str) -> StaffRef {
    StaffRef {
        id: StaffId::new(id).unwrap(),
        name: id.to_uppercase(),
    }
}

fn approval(by: &str, what: Guarded) -> Approval {
    Approval {
        by: who(by),
        at: Timestamp::from_millis(T),
        what,
        lines: Vec::new(),
    }
}

/// Order `n`, rung up by `cashier` and voided by them with `approval`.
fn voided(n: u128, cashier: &str, approval: Option<Approval>) -> Order {
    let mut o = order_of("R1", n);
    o.cashier = Some(who(cashier));
    let at = Timestamp::from_millis(T + 1_000);
    o.void([], Some(who(cashier)), approval, at).unwrap();
    o
}

/// The report's `(kind, number or id, finding, staff)`, in its order.
fn found(report: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    report["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = &e["record"];
            let name = r.get("number").unwrap_or(&r["id"]);
            (s(&r["kind"]), s(name), s(&e["finding"]), s(&e["staff"]))
        })
        .collect()
}

fn row(kind: &str, name: &str, finding: &str, staff: &str) -> (String, String, String, String) {
    (kind.into(), name.into(), finding.into(), staff.into())
}

#[tokio::test]
async fn a_forged_approval_and_what_a_cashier_did_alone_land_in_the_exceptions_report() {
    let app = spawn_app().await;
    let forged = voided(1, "alex", Some(approval("jo", Guarded::Void)));
    let alone = voided(2, "alex", None);
    let approved = voided(3, "alex", Some(approval("dana", Guarded::Void)));
    let sold = paid_of("R1", 4, false);
    for o in [&forged, &alone, &approved, &sold] {
        assert_eq!(app.put_order(o).await.status(), 200, "stored all the same");
    }
    let mut refund = refund_by("R1", 1, &sold, &[], &whole(&sold));
    refund.cashier = Some(who("alex"));
    refund.approved_by = Some(approval("zed", Guarded::Refund));
    let put = crate::refunds::put_refund(&app, &refund).await;
    assert_eq!(put.status(), 200);
    let mut shift = shift_of("R1", 1, false);
    shift
        .no_sale(DrawerOpen {
            at: Timestamp::from_millis(T + 2_000),
            by: who("alex"),
            approval: None,
        })
        .unwrap();
    let sent = send(&app, REGISTER_TOKEN, serde_json::to_value(&shift).unwrap()).await;
    assert_eq!(sent["status"], 200);

    let r = app.get_as(ADMIN_TOKEN, DAY).await;
    assert_eq!(r.status(), 200);
    let report = body_as(r, "ExceptionReport").await;
    assert_eq!(
        found(&report),
        [
            // In the order they happened: the approvals at T, then the
            // void at T + 1 s, then the no-sale at T + 2 s.
            row("order", "R1-20261127-0001", "approver_not_manager", "jo"),
            row("refund", &refund.number.to_string(), "unknown_staff", "zed"),
            row("order", "R1-20261127-0002", "unapproved", "alex"),
            row("shift", &shift.id.to_string(), "unapproved", "alex"),
        ]
    );
    assert_eq!(
        report["checked"],
        serde_json::json!({"orders": 4, "refunds": 1, "shifts": 1})
    );
    let message = report["exceptions"][2]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "Void the order by ALEX, a cashier, with no manager's approval"
    );
    // Only the back office reads it.
    assert_error(app.get_as(REGISTER_TOKEN, DAY).await, 403, "forbidden").await;
    let bad = "/api/v1/exceptions?date=2026-02-30";
    assert_error(app.get_as(ADMIN_TOKEN, bad).await, 422, "invalid_query").await;
    let unknown = format!("{DAY}&store=S99");
    assert_error(app.get_as(ADMIN_TOKEN, &unknown).await, 404, "not_found").await;
}

/// Disabled for a while and enabled again: what they rang up meanwhile
/// stays an exception, what they rang up after does not, and the changes
/// of standing cannot be rewritten.
#[tokio::test]
async fn a_sale_while_someone_was_disabled_stays_an_exception_once_they_are_enabled_again() {
    let app = spawn_app().await;
    let now = till_oms::api::now();
    let minutes = |n: u64| now + Duration::from_secs(60 * n);
    let jo = || StaffId::new("jo").unwrap();
    for (active, at) in [(false, now), (false, minutes(1)), (true, minutes(5))] {
        assert!(
            on_store(&app, move |s| s.set_staff_active(&jo(), active, at))
                .await
                .unwrap()
        );
    }
    for (n, at) in [(1, minutes(2)), (2, minutes(6))] {
        let mut o = order_of("R1", n);
        o.created_at = at;
        o.updated_at = at;
        o.cashier = Some(who("jo"));
        assert_eq!(app.put_order(&o).await.status(), 200);
    }
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    assert_eq!(
        found(&report),
        [row("order", "R1-20261127-0001", "inactive_staff", "jo")]
    );
    assert_eq!(
        app.count("SELECT count(*) FROM staff_changes WHERE staff_id = 'jo'"),
        2,
        "a disable of someone disabled changes nothing"
    );
    for sql in [
        "UPDATE staff_changes SET active = TRUE",
        "DELETE FROM staff_changes",
    ] {
        let e = app.execute(sql).unwrap_err();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
}

#[tokio::test]
async fn a_sale_is_judged_by_the_staff_list_as_it_stood_and_the_command_lists_it() {
    let app = spawn_app().await;
    let before = order_of("R1", 1);
    let mut after = order_of("R1", 2);
    // Jo is disabled now: a sale Jo rang up before is fine, one made later
    // (by the register's clock) is an exception.
    let now = till_oms::api::now();
    let jo = StaffId::new("jo").unwrap();
    assert!(on_store(&app, move |s| s.set_staff_active(&jo, false, now))
        .await
        .unwrap());
    after.created_at = now + Duration::from_secs(60);
    after.updated_at = after.created_at;
    for mut o in [before, after] {
        o.cashier = Some(who("jo"));
        assert_eq!(app.put_order(&o).await.status(), 200);
    }
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    assert_eq!(
        found(&report),
        [row("order", "R1-20261127-0002", "inactive_staff", "jo")]
    );
    let out = oms_command(&app)
        .args(["exceptions", "--date", "2026-11-27"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("order R1-20261127-0002 v1  inactive_staff: A sale rung up by JO (jo), who was disabled by then"),
        "{said}"
    );
    assert!(
        said.contains("2026-11-27: 1 exception(s) in 2 orders, 0 refunds and 0 shifts checked"),
        "{said}"
    );
}

#[tokio::test]
async fn a_z_report_whose_cash_the_records_do_not_give_is_flagged() {
    let app = spawn_app().await;
    let shift = shift_of("R1", 1, true);
    let sent = send(&app, REGISTER_TOKEN, serde_json::to_value(&shift).unwrap()).await;
    assert_eq!(sent["status"], 200);
    // The Z counts a cash sale the back office has no record of.
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    let id = shift.id.to_string();
    assert_eq!(
        found(&report),
        [
            row("shift", &id, "z_report_differs", "dana"),
            row("shift", &id, "z_report_differs", "dana"),
        ]
    );
    let said = &shift.close.as_ref().unwrap().expected();
    let message = report["exceptions"][0]["message"].as_str().unwrap();
    assert_eq!(
        message,
        format!(
            "The Z report says cash sales {}; the records that name the shift say €0.00",
            said.cash_sales
        )
    );
    assert!(report["exceptions"][1]["message"]
        .as_str()
        .unwrap()
        .starts_with("The Z report says expected cash "));
    // Once the sale is there, the Z report and the records agree.
    assert_eq!(app.put_order(&shift_sale(&shift)).await.status(), 200);
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    assert_eq!(found(&report), []);
}

#[tokio::test]
async fn a_card_payment_no_terminal_confirmed_and_a_card_refund_no_record_gives_are_listed() {
    let app = spawn_app().await;
    let sale = paid_of("R1", 1, true);
    assert_eq!(app.put_order(&sale).await.status(), 200);
    let number = sale.number.to_string();
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    assert_eq!(
        found(&report),
        [row("order", &number, "card_unreported", "")]
    );
    // The bridge's report of the charge arrives: nothing to say.
    let charge = crate::helpers::report(&sale, 901);
    let post = |body| app.post_json("/api/v1/payments", BRIDGE_TOKEN, body);
    let body = serde_json::to_value(&charge).unwrap();
    assert_eq!(post(&body).await.status(), 200);
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    assert_eq!(found(&report), []);
    // The terminal gives the payment back, and no refund record says so.
    let back = till_core::api::PaymentReport {
        reference: reference(950),
        status: till_core::api::ReportedStatus::Refunded,
        original: Some(charge.reference),
        approved_at: Timestamp::from_millis(T + 60_000),
        ..charge
    };
    let body = serde_json::to_value(&back).unwrap();
    assert_eq!(post(&body).await.status(), 200);
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    assert_eq!(
        found(&report),
        [row("order", &number, "refund_unrecorded", "")]
    );
    assert!(report["exceptions"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("The terminal gave €"));
}

#[tokio::test]
async fn an_approval_by_a_manager_of_another_store_is_listed() {
    let app = spawn_app().await;
    // Lee manages store S02; R1 is in S01.
    let lee = till_oms::demo::staff_member("lee", "Lee", till_core::staff::Role::Manager, "97531")
        .unwrap();
    let now = till_oms::api::now();
    on_store(&app, move |s| s.add_staff(&lee, &["S02".to_owned()], now))
        .await
        .unwrap();
    let o = voided(1, "alex", Some(approval("lee", Guarded::Void)));
    assert_eq!(app.put_order(&o).await.status(), 200);
    let report = body_as(app.get_as(ADMIN_TOKEN, DAY).await, "ExceptionReport").await;
    assert_eq!(
        found(&report),
        [row("order", "R1-20261127-0001", "other_store", "lee")]
    );
    let message = report["exceptions"][0]["message"].as_str().unwrap();
    assert!(message.ends_with("who works only in S02"), "{message}");
}
