//! A store's bridge: no way to force an outcome, and tokens that are not
//! guessable or shared.

use crate::helpers::*;
use serde_json::json;
use till_bridge::reporter::OmsTarget;
use till_bridge::Application;

#[tokio::test]
async fn without_the_test_flag_no_fault_can_be_forced_and_there_is_no_simulator() {
    let (mut c, terminal) = test_config(temp_dir("till-bridge-store"), None).await;
    c.faults = false;
    let b = spawn_with(c, terminal).await;
    for path in [
        "/_faults/down",
        "/_faults/reset",
        "/_faults/drop-replies",
        "/_sim/next",
    ] {
        let r = b.post(path, &json!({"count": 1})).await;
        assert_eq!(r.status(), 404, "{path} answers only with --faults");
    }
    assert_eq!(b.get("/_sim/charges").await.status(), 404);
    // The terminal itself still works.
    let r = b.start(&new_reference(), 1000).await;
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn weak_or_shared_tokens_are_refused_at_start() {
    let short = {
        let (mut c, _terminal) = test_config(temp_dir("till-bridge-short"), None).await;
        c.pairing_token = Some("short-token".into());
        c
    };
    let e = Application::build(short).await.err().unwrap();
    assert!(e.to_string().contains("at least 16 characters"), "{e}");

    let shared = {
        let (mut c, _terminal) = test_config(temp_dir("till-bridge-shared"), None).await;
        c.oms = Some(OmsTarget {
            ca: None,
            url: "http://127.0.0.1:9".into(),
            token: PAIRING.into(),
        });
        c
    };
    let e = Application::build(shared).await.err().unwrap();
    assert!(e.to_string().contains("must differ"), "{e}");

    let plain = {
        let (mut c, _terminal) = test_config(temp_dir("till-bridge-plain"), None).await;
        c.terminal.url = c.terminal.url.replace("https://", "http://");
        c
    };
    let e = Application::build(plain).await.err().unwrap();
    assert!(e.to_string().contains("over HTTPS"), "{e}");
}

/// The terminal's certificate must chain to the configured CA and name the
/// configured POIID, whatever address it is reached at.
#[tokio::test]
async fn a_terminal_not_named_by_its_certificate_is_never_sent_a_payment() {
    let (mut c, terminal) = test_config(temp_dir("till-bridge-poi"), None).await;
    c.terminal.poi_id = "V400m-999999999".into();
    let b = spawn_with(c, terminal).await;
    let r = new_reference();
    b.start(&r, 1000).await;
    let s = b
        .wait_for(&r, "not_started", std::time::Duration::from_secs(10))
        .await;
    assert!(
        s["reason"].as_str().unwrap().contains("cannot be reached"),
        "{s}"
    );
    assert!(b.charges().await.is_empty());
}

#[tokio::test]
async fn every_answer_says_nosniff_and_no_referrer() {
    let b = spawn_bridge(temp_dir("till-bridge-headers"), None).await;
    for r in [
        b.get("/v1/health").await,
        b.get("/v1/nowhere").await,
        b.client.get(b.url("/v1/health")).send().await.unwrap(),
    ] {
        let h = r.headers();
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_beside_two_thousand_idle_sockets_and_a_trickling_request() {
    use till_bridge::Limits;
    use till_http::testing::answer_beside_idle_and_trickling;
    let (config, _terminal) = test_config(temp_dir("till-bridge-data"), None).await;
    let app = Application::build(config)
        .await
        .unwrap()
        .with_limits(Limits {
            header_read: std::time::Duration::from_secs(2),
            ..Limits::default()
        });
    let addr = app.local_addr();
    tokio::spawn(app.run());
    // Without the pairing token the answer is 401: answered all the same.
    let answer = answer_beside_idle_and_trickling(addr, "/v1/health", 2_000).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

/// Each question about a reference the bridge never received leaves a
/// tombstone kept for good: one register asking about random references
/// could fill the disk. A caller may leave only so many; past that it gets
/// 429 and nothing is written, while known payments and other callers are
/// still answered.
#[tokio::test]
async fn questions_about_unknown_references_are_capped_per_caller() {
    let (mut c, terminal) = test_config(temp_dir("till-bridge-tombstones"), None).await;
    c.tombstones_per_caller = 3;
    let b = spawn_with(c, terminal).await;
    let known = new_reference();
    assert_eq!(b.start(&known, 500).await.status(), 202);
    for _ in 0..2 {
        let unknown = new_reference();
        assert_eq!(b.status(&unknown).await["status"], "never_received");
    }
    let cancelled = b
        .post(
            &format!("/v1/payments/{}/cancel", new_reference()),
            &json!({}),
        )
        .await;
    assert_eq!(
        cancelled.status(),
        200,
        "the third: never received, cancelled"
    );
    // The cap is reached: no fourth tombstone, and no answer to trust.
    let fourth = new_reference();
    for r in [
        b.get(&format!("/v1/payments/{fourth}")).await,
        b.post(&format!("/v1/payments/{fourth}/cancel"), &json!({}))
            .await,
    ] {
        assert_eq!(r.status(), 429);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_schema("ApiError", &body);
        assert_eq!(body["error"], "too_many_unknown");
    }
    // Not tombstoned: the reference can still be started.
    assert_eq!(b.start(&fourth, 700).await.status(), 202);
    // What the caller knows about is still answered.
    assert_ne!(b.status(&known).await["status"], "never_received");
}
