//! Enrolment (a setup link's one-time secret for a register id and a
//! token of its own) and removal, over real sockets.

use crate::helpers::*;
use serde_json::{json, Value};
use std::sync::Arc;
use till_core::api::{REGISTER_REMOVED, REGISTER_REMOVED_CODE};
use till_core::order::RegisterId;
use till_core::time::{Duration, Timestamp};
use till_oms::enrol::make_enrolment;
use till_oms::store::registers::Revocation;
use till_oms::store::Store;

async fn store_of(app: &TestApp) -> Arc<dyn Store> {
    till_oms::open_store(&app.database, &app.data)
        .await
        .unwrap()
}

/// What `till-oms registers enrol` makes, as made at `at`.
async fn secret(app: &TestApp, register: Option<&str>, at: Timestamp) -> String {
    let store = store_of(app).await;
    let register = register.map(|r| RegisterId::new(r).unwrap());
    tokio::task::spawn_blocking(move || make_enrolment(store.as_ref(), register.as_ref(), at))
        .await
        .unwrap()
        .unwrap()
        .0
}

async fn enrol(app: &TestApp, secret: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/registers:enrol"))
        .json(&json!({ "secret": secret }))
        .send()
        .await
        .unwrap()
}

/// Enrols with a fresh secret: the register id and its token.
async fn enrolled(app: &TestApp, register: Option<&str>) -> (String, String) {
    let r = enrol(app, &secret(app, register, till_oms::api::now()).await).await;
    assert_eq!(r.status(), 201);
    let v = body_as(r, "Enrolled").await;
    (
        v["register"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn revoke(app: &TestApp, id: &str) -> Revocation {
    let store = store_of(app).await;
    let id = RegisterId::new(id).unwrap();
    let now = till_oms::api::now();
    tokio::task::spawn_blocking(move || store.revoke_register(&id, now))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn two_tablets_enrol_from_two_links_as_two_registers_and_a_link_works_once() {
    let app = spawn_app().await;
    let now = till_oms::api::now();
    let (first, second) = (secret(&app, None, now).await, secret(&app, None, now).await);
    let r = enrol(&app, &first).await;
    assert_eq!(r.status(), 201);
    let a: Value = body_as(r, "Enrolled").await;
    let b: Value = body_as(enrol(&app, &second).await, "Enrolled").await;
    // R1 and R2 are configured by token: the tablets get the next ids.
    assert_eq!(
        (a["register"].as_str(), b["register"].as_str()),
        (Some("R3"), Some("R4"))
    );
    let (ta, tb) = (a["token"].as_str().unwrap(), b["token"].as_str().unwrap());
    assert_ne!(ta, tb);
    assert!(ta.len() >= 40, "a token of its own, long: {ta}");
    // Each token is its own register's, and reads only its own orders.
    let day = "date=2026-12-07";
    let own = get_as(&app, ta, &format!("/api/v1/registers/R3/orders?{day}")).await;
    assert_eq!(own.status(), 200);
    let other = get_as(&app, ta, &format!("/api/v1/registers/R4/orders?{day}")).await;
    assert_error(other, 403, "forbidden").await;
    assert_eq!(get_as(&app, tb, "/api/v1/staff").await.status(), 200);
    // The link is used: nobody enrols with it again.
    let again = assert_error(enrol(&app, &first).await, 401, "enrolment_refused").await;
    assert!(
        again["message"].as_str().unwrap().contains("already used"),
        "{again}"
    );
    // The OMS keeps neither the secret nor the token.
    let kept = app.row("SELECT token_sha256 FROM registers WHERE id = 'R3'");
    assert_eq!(kept[0].len(), 64);
    assert_ne!(kept[0], ta);
}

#[tokio::test]
async fn a_link_is_refused_when_unknown_expired_or_its_id_is_taken() {
    let app = spawn_app().await;
    let unknown = assert_error(
        enrol(&app, "abcdefghjkmnpqrstuvwxyz234").await,
        401,
        "enrolment_refused",
    )
    .await;
    assert!(
        unknown["message"].as_str().unwrap().contains("not known"),
        "{unknown}"
    );
    let eleven_minutes_ago = till_oms::api::now() + Duration::from_millis(0);
    let old = Timestamp::from_millis(eleven_minutes_ago.as_millis() - 11 * 60_000);
    let expired = secret(&app, None, old).await;
    let said = assert_error(enrol(&app, &expired).await, 401, "enrolment_refused").await;
    assert!(
        said["message"].as_str().unwrap().contains("expired"),
        "{said}"
    );
    // The store chose an id: it is given, once; a configured one is taken.
    assert_eq!(enrolled(&app, Some("Till7")).await.0, "Till7");
    let now = till_oms::api::now();
    for taken in ["Till7", "R2"] {
        let s = secret(&app, Some(taken), now).await;
        let said = assert_error(enrol(&app, &s).await, 409, "conflict").await;
        assert!(
            said["message"].as_str().unwrap().contains("already taken"),
            "{said}"
        );
    }
    // A body that is not an enrolment is the client's mistake, not a 500.
    let r = app
        .client
        .post(app.url("/api/v1/registers:enrol"))
        .json(&json!({ "secret": 7 }))
        .send()
        .await
        .unwrap();
    assert_error(r, 422, "invalid_body").await;
}

#[tokio::test]
async fn a_removed_register_is_refused_says_so_and_its_id_is_never_given_again() {
    let app = spawn_app().await;
    let (id, token) = enrolled(&app, None).await;
    assert_eq!(id, "R3");
    assert_eq!(get_as(&app, &token, "/api/v1/catalog").await.status(), 200);
    assert_eq!(revoke(&app, "R3").await, Revocation::Revoked);
    assert_eq!(revoke(&app, "R3").await, Revocation::AlreadyRevoked);
    let said = assert_error(
        get_as(&app, &token, "/api/v1/catalog").await,
        401,
        REGISTER_REMOVED_CODE,
    )
    .await;
    assert_eq!(said["message"], REGISTER_REMOVED);
    // A register configured by token is removed the same way.
    assert_eq!(revoke(&app, "R1").await, Revocation::Revoked);
    let r = get_as(&app, REGISTER_TOKEN, "/api/v1/staff").await;
    assert_error(r, 401, REGISTER_REMOVED_CODE).await;
    assert_eq!(
        get_as(&app, OTHER_REGISTER_TOKEN, "/api/v1/staff")
            .await
            .status(),
        200
    );
    // The next tablet gets R4: R3's order numbers stay R3's.
    assert_eq!(enrolled(&app, None).await.0, "R4");
    let store = store_of(&app).await;
    let listed = tokio::task::spawn_blocking(move || store.registers())
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<(&str, bool)> = listed
        .iter()
        .map(|r| (r.id.as_str(), r.revoked_at.is_some()))
        .collect();
    assert_eq!(ids, [("R1", true), ("R3", true), ("R4", false)]);
}
