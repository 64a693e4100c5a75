//! The staff list: the demo staff on a first start, `GET /v1/staff` for
//! registers only (it carries PIN hashes), disabled people left out, ids
//! never reused; on both engines.

use crate::helpers::*;
use serde_json::Value;
use till_core::staff::{hash_pin_with, Role, StaffId, StaffMember};

async fn staff_sent(app: &TestApp) -> Vec<StaffMember> {
    let r = app.get("/api/v1/staff").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_schema("StaffList", &body);
    serde_json::from_value(body["staff"].clone()).unwrap()
}

#[tokio::test]
async fn a_first_start_has_the_demo_staff_and_their_pins_check() {
    let app = spawn_app().await;
    let staff = staff_sent(&app).await;
    let names: Vec<(&str, Role)> = staff.iter().map(|m| (m.name.as_str(), m.role)).collect();
    assert_eq!(
        names,
        [
            ("Alex", Role::Cashier),
            ("Dana", Role::Manager),
            ("Jo", Role::Cashier)
        ]
    );
    for (id, _, _, pin) in till_oms::demo::DEMO_STAFF {
        let m = staff.iter().find(|m| m.id.as_str() == *id).unwrap();
        assert_eq!(m.pin_matches(pin), Ok(true), "{id}");
        assert_eq!(m.pin_matches("0000"), Ok(false), "{id}");
    }
    let salts: std::collections::BTreeSet<_> = staff
        .iter()
        .map(|m| m.pin_hash.split('$').nth(4).unwrap().to_owned())
        .collect();
    assert_eq!(salts.len(), 3, "each hash has its own salt");
}

#[tokio::test]
async fn without_demo_a_first_start_has_nobody_with_a_published_pin() {
    let mut c = config(temp_dir("oms-no-demo"));
    c.demo = false;
    let app = spawn_with(c).await;
    assert!(
        staff_sent(&app).await.is_empty(),
        "no demo staff unless asked"
    );
    let listed = oms_command(&app).args(["staff", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("no staff yet"));
}

#[tokio::test]
async fn only_registers_read_the_staff_list() {
    let app = spawn_app().await;
    for token in [BRIDGE_TOKEN, ADMIN_TOKEN] {
        let r = app.get_as(token, "/api/v1/staff").await;
        assert_error(r, 403, "forbidden").await;
    }
    let r = app.get_as("wrong-token-wrong-token", "/api/v1/staff").await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_disabled_person_is_not_sent_and_an_id_is_never_reused() {
    let app = spawn_app().await;
    let sam = StaffMember {
        id: StaffId::new("sam").unwrap(),
        name: "Sam".into(),
        role: Role::Manager,
        pin_hash: hash_pin_with("4321", [3; 16], 64, 1).unwrap(),
    };
    let now = till_oms::api::now();
    let other = StaffMember {
        name: "Other".into(),
        ..sam.clone()
    };
    on_store(&app, move |s| s.add_staff(&sam, &[], now))
        .await
        .unwrap();
    let again = on_store(&app, move |s| s.add_staff(&other, &[], now)).await;
    assert!(again.unwrap_err().contains("already taken (by Sam)"));
    let flip = |id: &'static str, active: bool| {
        on_store(&app, move |s| {
            s.set_staff_active(&StaffId::new(id).unwrap(), active, now)
        })
    };
    assert!(flip("alex", false).await.unwrap());
    assert!(!flip("nobody", false).await.unwrap());
    let sent: Vec<String> = staff_sent(&app)
        .await
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    assert_eq!(sent, ["dana", "jo", "sam"]);
    let all = on_store(&app, |s| s.staff(true)).await.unwrap();
    let listed: Vec<(String, bool)> = all
        .iter()
        .map(|r| (r.member.id.to_string(), r.active))
        .collect();
    assert_eq!(
        listed[0],
        ("alex".to_string(), false),
        "disabled, still listed"
    );
    assert_eq!(all.len(), 4);
    flip("alex", true).await.unwrap();
    assert_eq!(staff_sent(&app).await.len(), 4);
}

#[tokio::test]
async fn a_new_pin_is_set_from_the_environment_and_the_old_one_no_longer_signs_in() {
    let app = spawn_app().await;
    let set = |id: &str, pin: &str| {
        oms_command(&app)
            .args(["staff", "set-pin", id])
            .env("TILL_STAFF_PIN", pin)
            .output()
            .unwrap()
    };
    let out = set("dana", "975318");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dana = staff_sent(&app)
        .await
        .into_iter()
        .find(|m| m.id.as_str() == "dana")
        .unwrap();
    assert_eq!(dana.pin_matches("975318"), Ok(true));
    assert_eq!(
        dana.pin_matches("2468"),
        Ok(false),
        "the published PIN no longer works"
    );
    let said = |out: std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let nobody = set("nobody", "975318");
    assert!(!nobody.status.success());
    assert!(said(nobody).contains("nobody has the staff id \"nobody\""));
    let short = set("dana", "12");
    assert!(!short.status.success());
    assert!(said(short).contains("the PIN is refused: a PIN is 4 to 8 digits"));
    // A manager's PIN: 6 digits at least, nothing guessed first.
    for (pin, why) in [
        ("9753", "a manager's PIN is at least 6 digits"),
        ("654321", "a run of digits"),
        ("000000", "one digit repeated"),
    ] {
        let out = set("dana", pin);
        assert!(!out.status.success(), "{pin}");
        assert!(said(out).contains(why), "{pin}");
    }
    let out = set("alex", "2468");
    assert!(!out.status.success());
    assert!(
        said(out).contains("this PIN is published (a demo PIN)"),
        "a cashier may not take the demo manager's PIN either"
    );
    assert_eq!(
        set("alex", "4829").status.code(),
        Some(0),
        "a cashier's 4 digits"
    );
}

#[tokio::test]
async fn a_register_gets_only_the_staff_of_its_own_store() {
    let app = spawn_app().await;
    let add = |id: &str, store: &str| {
        oms_command(&app)
            .args([
                "staff", "add", "--id", id, "--name", id, "--role", "manager", "--store", store,
            ])
            .env("TILL_STAFF_PIN", "975318")
            .output()
            .unwrap()
    };
    // R1 is in store S01 (`--store S01=R1+R2`).
    for (id, store) in [("kim", "S01"), ("sam", "S02")] {
        let out = add(id, store);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sent: Vec<String> = staff_sent(&app)
        .await
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    assert_eq!(
        sent,
        ["alex", "dana", "jo", "kim"],
        "S02's manager is not sent to S01"
    );
    let bad = add("lee", "S 03");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a store id"));
    let listed = oms_command(&app).args(["staff", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    let line = |id: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap()
            .to_owned()
    };
    assert!(line("sam").ends_with("active    S02"), "{listed}");
    assert!(line("dana").ends_with("every store"), "{listed}");
}

async fn verify(app: &TestApp, token: &str, staff: &str, pin: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/staff/verify",
        token,
        &serde_json::json!({"staff": staff, "pin": pin}),
    )
    .await
}

#[tokio::test]
async fn the_back_office_checks_a_pin_and_locks_out_the_person_and_the_register() {
    let app = spawn_app().await;
    let r = verify(&app, REGISTER_TOKEN, "dana", "2468").await;
    assert_eq!(r.status(), 200);
    let v = body_as(r, "StaffVerified").await;
    assert_eq!(
        (v["staff"].as_str(), v["role"].as_str()),
        (Some("dana"), Some("manager"))
    );

    let wrong = verify(&app, REGISTER_TOKEN, "dana", "1111").await;
    let said = assert_error(wrong, 403, "pin_wrong").await;
    assert_eq!(
        said["message"],
        "wrong PIN: 4 tries left before a 5-minute lock"
    );
    for _ in 0..3 {
        assert_eq!(
            verify(&app, REGISTER_TOKEN, "dana", "1111").await.status(),
            403
        );
    }
    let locked = verify(&app, REGISTER_TOKEN, "dana", "1111").await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert_error(locked, 429, "pin_locked").await;
    // Locked: the right PIN does not get through, on this register for
    // anyone, nor for Dana on another register.
    assert_error(
        verify(&app, REGISTER_TOKEN, "dana", "2468").await,
        429,
        "pin_locked",
    )
    .await;
    assert_error(
        verify(&app, REGISTER_TOKEN, "alex", "1357").await,
        429,
        "pin_locked",
    )
    .await;
    assert_error(
        verify(&app, OTHER_REGISTER_TOKEN, "dana", "2468").await,
        429,
        "pin_locked",
    )
    .await;
    // Someone else on another register is not locked.
    assert_eq!(
        verify(&app, OTHER_REGISTER_TOKEN, "alex", "1357")
            .await
            .status(),
        200
    );
    // Nobody, a disabled person, the back office's token.
    assert_error(
        verify(&app, OTHER_REGISTER_TOKEN, "nobody", "2468").await,
        403,
        "pin_wrong",
    )
    .await;
    assert_error(
        verify(&app, ADMIN_TOKEN, "dana", "2468").await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        verify(&app, OTHER_REGISTER_TOKEN, "no one", "2468").await,
        422,
        "invalid_staff",
    )
    .await;
}
