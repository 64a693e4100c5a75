//! Shifts through `POST /api/v1/orders:batch` and `GET /api/v1/shifts/{id}`:
//! stored by the orders' version rule, their figures checked, one
//! register's alone; on both engines.

use crate::helpers::*;
use serde_json::{json, Value};
use till_core::drawer::{CashMovement, MovementKind};
use till_core::money::Currency;
use till_core::order::{BusinessDate, Order, RegisterId, Tender};
use till_core::shift::{shift_report, CashCount, Shift, ShiftId};
use till_core::staff::{StaffId, StaffRef};
use till_core::time::Timestamp;
use uuid::Uuid;

const T: i64 = 1_795_766_600_000;

fn dana() -> StaffRef {
    StaffRef {
        id: StaffId::new("dana").unwrap(),
        name: "Dana".into(),
    }
}

/// Shift `n` of `register`: €100.00 float, €5.00 paid out, a cash sale of
/// order 1; closed with €100.00 counted when `closed`.
pub(crate) fn shift_of(register: &str, n: u128, closed: bool) -> Shift {
    let id = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0000 | n);
    let at = Timestamp::from_millis(T);
    let mut s = Shift::open(
        ShiftId::from_uuid(id).unwrap(),
        RegisterId::new(register).unwrap(),
        Currency::EUR,
        dana(),
        CashCount::Total {
            amount: eur(10_000),
        },
        at,
    )
    .unwrap();
    let out = CashMovement::new(MovementKind::PaidOut, eur(500), "milk", at, dana()).unwrap();
    s.move_cash(out).unwrap();
    if closed {
        let sale = shift_sale(&s);
        let date = BusinessDate::new(2026, 11, 27).unwrap();
        let x = shift_report(
            &s,
            date,
            &[sale],
            &[],
            till_core::report::Pending::default(),
        )
        .unwrap();
        let count = CashCount::Total {
            amount: eur(10_000),
        };
        s.close(count, &x, dana(), at).unwrap();
    }
    s
}

/// The cash sale a closed [`shift_of`] counts: its register's order 1.
pub(crate) fn shift_sale(shift: &Shift) -> Order {
    let mut sale = order_of(shift.register.as_str(), 1);
    let due = sale.due().unwrap();
    let at = Timestamp::from_millis(T);
    sale.add_tender(Tender::cash(due, due).unwrap(), at)
        .unwrap();
    sale.shift = Some(shift.id);
    sale
}

pub(crate) async fn send(app: &TestApp, token: &str, shift: Value) -> Value {
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            token,
            &json!({"orders": [], "shifts": [shift]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    body_as(r, "BatchResponse").await["results"][0].clone()
}

#[tokio::test]
async fn a_shift_is_stored_by_its_version_and_read_back_with_its_z_report() {
    let app = spawn_app().await;
    let open = shift_of("R1", 1, false);
    let closed = shift_of("R1", 1, true);
    assert_schema("Shift", &serde_json::to_value(&closed).unwrap());
    let r = send(&app, REGISTER_TOKEN, serde_json::to_value(&open).unwrap()).await;
    assert_eq!(
        (r["status"].as_u64(), r["version"].as_u64()),
        (Some(200), Some(2))
    );
    let r = send(&app, REGISTER_TOKEN, serde_json::to_value(&closed).unwrap()).await;
    assert_eq!(r["version"], 3);
    // The older version again (a lost answer, resent): the newer one stays.
    let r = send(&app, REGISTER_TOKEN, serde_json::to_value(&open).unwrap()).await;
    assert_eq!(
        (r["status"].as_u64(), r["version"].as_u64()),
        (Some(200), Some(3))
    );
    let path = format!("/api/v1/shifts/{}", closed.id);
    for token in [REGISTER_TOKEN, ADMIN_TOKEN] {
        let r = app.get_as(token, &path).await;
        assert_eq!(r.status(), 200);
        let stored: Shift = serde_json::from_value(body_as(r, "Shift").await).unwrap();
        assert_eq!(stored, closed, "the count, the over/short and the Z report");
    }
    assert_error(
        app.get_as(OTHER_REGISTER_TOKEN, &path).await,
        403,
        "forbidden",
    )
    .await;
    assert_error(app.get_as(BRIDGE_TOKEN, &path).await, 403, "forbidden").await;
    let missing = format!("/api/v1/shifts/{}", shift_of("R1", 9, false).id);
    assert_error(app.get(&missing).await, 404, "not_found").await;
    assert_error(
        app.get("/api/v1/shifts/not-a-uuid").await,
        422,
        "invalid_id",
    )
    .await;
}

#[tokio::test]
async fn a_shift_whose_figures_do_not_add_up_or_of_another_register_is_refused() {
    let app = spawn_app().await;
    let mut hidden = serde_json::to_value(shift_of("R1", 2, true)).unwrap();
    hidden["close"]["over_short"]["amount"] = json!(0);
    let r = send(&app, REGISTER_TOKEN, hidden).await;
    assert_eq!(
        (r["status"].as_u64(), r["error"]["error"].as_str()),
        (Some(422), Some("invalid_shift"))
    );
    let mut unknown = serde_json::to_value(shift_of("R1", 3, false)).unwrap();
    unknown["drawer"] = json!("open");
    let r = send(&app, REGISTER_TOKEN, unknown).await;
    assert_eq!(r["error"]["field"], "drawer", "{r}");
    let theirs = serde_json::to_value(shift_of("R2", 4, false)).unwrap();
    let r = send(&app, REGISTER_TOKEN, theirs.clone()).await;
    assert_eq!(r["status"], 403);
    // Its own register stores it; the other one then cannot take it over.
    assert_eq!(
        send(&app, OTHER_REGISTER_TOKEN, theirs).await["status"],
        200
    );
    let mut taken = serde_json::to_value(shift_of("R1", 4, false)).unwrap();
    taken["version"] = json!(9);
    assert_eq!(send(&app, REGISTER_TOKEN, taken).await["status"], 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM shifts"), 1);
}

#[tokio::test]
async fn a_closed_shift_takes_no_new_version_and_an_open_one_only_grows() {
    let app = spawn_app().await;
    let open = shift_of("R1", 5, false);
    let closed = shift_of("R1", 5, true);
    let r = send(&app, REGISTER_TOKEN, serde_json::to_value(&open).unwrap()).await;
    assert_eq!(r["status"], 200, "{r}");
    // The paid out taken back out of an open shift's record.
    let mut skimmed = open.clone();
    skimmed.movements.clear();
    skimmed.version += 1;
    let r = send(
        &app,
        REGISTER_TOKEN,
        serde_json::to_value(&skimmed).unwrap(),
    )
    .await;
    assert_eq!(
        (r["status"].as_u64(), r["error"]["error"].as_str()),
        (Some(409), Some("shift_rewritten")),
        "{r}"
    );
    let r = send(&app, REGISTER_TOKEN, serde_json::to_value(&closed).unwrap()).await;
    assert_eq!(r["status"], 200, "the close itself: {r}");
    // A later version of the closed shift: another count, another Z report.
    let mut recount = closed.clone();
    recount.version += 1;
    let close = recount.close.as_mut().unwrap();
    close.count = CashCount::Total {
        amount: eur(10_500),
    };
    close.counted = eur(10_500);
    close.over_short = till_core::drawer::over_short(&close.report.expected, eur(10_500)).unwrap();
    let r = send(
        &app,
        REGISTER_TOKEN,
        serde_json::to_value(&recount).unwrap(),
    )
    .await;
    assert_eq!(
        (r["status"].as_u64(), r["error"]["error"].as_str()),
        (Some(409), Some("shift_closed")),
        "{r}"
    );
    // The same close sent again is still fine, and the close stays as counted.
    let r = send(&app, REGISTER_TOKEN, serde_json::to_value(&closed).unwrap()).await;
    assert_eq!(r["status"], 200, "{r}");
    let r = app.get(&format!("/api/v1/shifts/{}", closed.id)).await;
    let stored: Shift = serde_json::from_value(body_as(r, "Shift").await).unwrap();
    assert_eq!(stored, closed);
}
