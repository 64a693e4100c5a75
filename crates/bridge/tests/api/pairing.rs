//! Pairing by code, revocation, and HTTPS on both ends: the bridge served
//! with a store's local CA, and its reports to an https:// OMS.

use crate::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use till_bridge::api::now;
use till_bridge::pairing::{Pairings, CODE_TRIES, PAIRINGS_FILE};
use till_bridge::reporter::OmsTarget;
use till_bridge::Application;
use till_http::tls::LocalCa;

const SOON: Duration = Duration::from_secs(15);

/// What `till-bridge pairings code` does: a code in the bridge's file.
fn new_code(data: &Path) -> String {
    let pairings = Pairings::open(&data.join(PAIRINGS_FILE)).unwrap();
    pairings.new_code(now()).unwrap().digits
}

async fn pair(client: &Client, base: &str, code: &str) -> reqwest::Response {
    client
        .post(format!("{base}/v1/pairings"))
        .json(&json!({"code": code, "register": "R1"}))
        .send()
        .await
        .unwrap()
}

async fn health(client: &Client, base: &str, token: &str) -> (StatusCode, Value) {
    let r = client
        .get(format!("{base}/v1/health"))
        .header("X-Pairing-Token", token)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_code_gives_a_register_its_own_token_until_it_is_revoked() {
    let (mut config, terminal) = test_config(temp_dir("till-bridge"), None).await;
    config.pairing_token = None;
    let b = spawn_with(config, terminal).await;
    let code = new_code(&b.data);

    let r = pair(&b.client, &b.address, &code).await;
    assert_eq!(r.status(), 201);
    let paired: Value = r.json().await.unwrap();
    assert_schema("PairResponse", &paired);
    let token = paired["token"].as_str().unwrap().to_owned();
    assert_eq!(health(&b.client, &b.address, &token).await.0, 200);
    // The code was used up.
    let again = pair(&b.client, &b.address, &code).await;
    assert_eq!(again.status(), 401);
    assert_eq!(again.json::<Value>().await.unwrap()["error"], "wrong_code");

    // A payment with the register's own token.
    let reference = new_reference();
    let started = b
        .client
        .post(b.url("/v1/payments"))
        .header("X-Pairing-Token", &token)
        .json(&start_body(&reference, 700))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);

    // Revoked from the command line's side: refused at the next request.
    let pairings = Pairings::open(&b.data.join(PAIRINGS_FILE)).unwrap();
    assert!(pairings
        .revoke(paired["id"].as_str().unwrap(), now())
        .unwrap());
    let (status, body) = health(&b.client, &b.address, &token).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unpaired");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("This register is no longer paired"),
        "{body}"
    );
    // No shared token was configured: the tests' one is no key here.
    assert_eq!(health(&b.client, &b.address, PAIRING).await.0, 401);
}

#[tokio::test]
async fn revoking_one_register_leaves_the_others_paired() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let r = pair(&b.client, &b.address, &new_code(&b.data)).await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        tokens.push((
            v["id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
        ));
    }
    assert_ne!(
        tokens[0].1, tokens[1].1,
        "each register has a token of its own"
    );
    let pairings = Pairings::open(&b.data.join(PAIRINGS_FILE)).unwrap();
    assert!(pairings.revoke(&tokens[0].0, now()).unwrap());
    assert_eq!(health(&b.client, &b.address, &tokens[0].1).await.0, 401);
    assert_eq!(health(&b.client, &b.address, &tokens[1].1).await.0, 200);
}

/// A client whose requests come from another address of this machine:
/// another peer, as far as the bridge counts.
fn from_peer(ip: &str) -> Client {
    Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_guessing_peer_cools_down_while_the_right_code_still_pairs_from_another() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let code = new_code(&b.data);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let guesser = from_peer("127.0.0.2");
    for n in 1..=CODE_TRIES {
        let r = pair(&guesser, &b.address, wrong).await;
        assert_eq!(r.status(), 401, "try {n}");
        let body: Value = r.json().await.unwrap();
        assert_schema("ApiError", &body);
        let says_wait = body["message"]
            .as_str()
            .unwrap()
            .contains("try again in 1 min");
        assert_eq!(says_wait, n == CODE_TRIES, "try {n}: {body}");
    }
    // Cooling down: the guesser is not even heard, right code or not.
    let r = pair(&guesser, &b.address, &code).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: Value = r.json().await.unwrap();
    assert_schema("ApiError", &body);
    assert_eq!(body["error"], "too_many_tries");
    // The code was not withdrawn: the cashier's tablet pairs with it.
    let r = pair(&from_peer("127.0.0.1"), &b.address, &code).await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn a_bad_pairing_body_is_refused_saying_why() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let send = |body: &'static str| {
        b.client
            .post(b.url("/v1/pairings"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(send("{").await.unwrap().status(), 400);
    let r = send(r#"{"code": "123456"}"#).await.unwrap();
    assert_eq!(r.status(), 422);
    let r = send(r#"{"code": "123456", "register": " "}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_register"
    );
}

#[tokio::test]
async fn the_pairing_page_shows_the_code_and_makes_one_only_when_asked() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let code_in_force = || {
        Pairings::open(&b.data.join(PAIRINGS_FILE))
            .unwrap()
            .code(now())
            .unwrap()
    };
    let page = b.client.get(b.url("/pair")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("No pairing code is in force"), "{html}");
    assert_eq!(code_in_force(), None, "reading the page makes no code");

    let no_redirects = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let made = no_redirects.post(b.url("/pair")).send().await.unwrap();
    assert_eq!(made.status(), 303);
    let code = code_in_force().expect("the button made a code");
    let html = b
        .client
        .get(b.url("/pair"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&code.spaced()), "{html}");
}

#[tokio::test]
async fn the_pairing_page_refuses_other_names_other_sites_and_proxies() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let port = b.address.rsplit(':').next().unwrap().to_owned();
    let refused = [
        ("host", "evil.example".to_owned()),
        ("host", format!("pos.evil.example:{port}")),
        ("x-forwarded-for", "192.168.1.66".to_owned()),
        ("forwarded", "for=192.168.1.66".to_owned()),
        ("origin", "https://evil.example".to_owned()),
    ];
    for (name, value) in refused {
        for post in [false, true] {
            let req = if post {
                b.client.post(b.url("/pair"))
            } else {
                b.client.get(b.url("/pair"))
            };
            let r = req.header(name, &value).send().await.unwrap();
            assert_eq!(r.status(), 403, "{name}: {value} (POST: {post})");
            assert_schema("ApiError", &r.json::<Value>().await.unwrap());
        }
    }
    assert!(Pairings::open(&b.data.join(PAIRINGS_FILE))
        .unwrap()
        .code(now())
        .unwrap()
        .is_none());
    // Its own names are fine.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let r = b
            .client
            .get(b.url("/pair"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
}

#[test]
fn the_pairing_page_answers_only_the_bridges_own_machine() {
    use till_bridge::api::on_this_machine;
    for own in ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.2"] {
        assert!(on_this_machine(own.parse().unwrap()), "{own}");
    }
    for other in [
        "192.168.1.20",
        "10.0.0.5",
        "::ffff:192.168.1.20",
        "fe80::1",
        "0.0.0.0",
    ] {
        assert!(!on_this_machine(other.parse().unwrap()), "{other}");
    }
}

/// A CA in a temporary folder and a certificate for 127.0.0.1.
fn local_ca() -> (LocalCa, till_http::tls::Issued) {
    let ca = LocalCa::open_or_create(&temp_dir("till-ca"), "Till test CA", &["127.0.0.1".into()])
        .unwrap();
    let issued = ca.issue("server", &["127.0.0.1".into()]).unwrap();
    (ca, issued)
}

fn trusting(ca: &LocalCa) -> Client {
    let pem = std::fs::read(ca.cert_file()).unwrap();
    Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_bridge_serves_https_with_a_stores_local_ca() {
    let (ca, issued) = local_ca();
    let (config, _terminal) = test_config(temp_dir("till-bridge"), None).await;
    let app = Application::build(config)
        .await
        .unwrap()
        .with_tls(till_http::tls::acceptor(&issued.cert, &issued.key).unwrap());
    let base = app.url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    tokio::spawn(app.run());

    assert_eq!(health(&trusting(&ca), &base, PAIRING).await.0, 200);
    // A client that does not trust the CA is refused by its own TLS.
    let err = Client::new()
        .get(format!("{base}/v1/health"))
        .send()
        .await
        .expect_err("an untrusted certificate");
    let mut why = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        why.push_str(&format!(": {s}"));
        source = s.source();
    }
    assert!(why.contains("UnknownIssuer"), "{why}");
}

#[tokio::test]
async fn a_certificate_and_key_that_do_not_go_together_are_refused_at_start() {
    let (_ca, issued) = local_ca();
    let (_ca2, other) = local_ca();
    let refused =
        |cert: &Path, key: &Path| till_http::tls::acceptor(cert, key).err().expect("refused");
    let err = refused(&issued.cert, &other.key);
    assert!(err.to_string().contains("does not go with"), "{err}");
    let err = refused(&issued.key, &issued.key);
    assert!(err.to_string().contains("no certificate"), "{err}");
    let err = refused(Path::new("/nonexistent.pem"), &issued.key);
    assert!(err.to_string().contains("/nonexistent.pem"), "{err}");
}

#[tokio::test]
async fn reports_reach_an_https_oms_whose_ca_the_bridge_is_given() {
    let (ca, issued) = local_ca();
    let oms =
        spawn_oms_with_tls(till_http::tls::acceptor(&issued.cert, &issued.key).unwrap()).await;
    assert!(oms.address.starts_with("https://"));
    let (mut config, terminal) = test_config(temp_dir("till-bridge"), Some(&oms)).await;
    if let Some(target) = config.oms.as_mut() {
        target.ca = Some(ca.cert_file());
    }
    let b = spawn_with(config, terminal).await;
    let r = new_reference();
    b.start(&r, 1200).await;
    b.wait_for(&r, "approved", SOON).await;
    let payments = oms
        .with_client(trusting(&ca))
        .wait_for_payment(&order_id_for(&r), SOON)
        .await;
    assert_eq!(payments.len(), 1);
}

#[tokio::test]
async fn an_oms_ca_file_without_a_certificate_stops_the_bridge_at_start() {
    let data = temp_dir("till-bridge");
    let bad = data.join("not-a-ca.pem");
    std::fs::write(&bad, "hello").unwrap();
    let (mut config, _terminal) = test_config(data, None).await;
    config.oms = Some(OmsTarget {
        url: "https://127.0.0.1:1".into(),
        token: OMS_BRIDGE_TOKEN.into(),
        ca: Some(bad),
    });
    let err = Application::build(config).await.err().expect("refused");
    assert!(err.to_string().contains("not-a-ca.pem"), "{err}");
}

/// A page of another site can POST `text/plain` without the browser asking
/// the bridge first: five wrong codes that way once withdrew the code in
/// force. Now they are refused unread, and the code still pairs.
#[tokio::test]
async fn a_pairing_not_sent_as_json_is_refused_and_uses_up_nothing() {
    let (mut config, terminal) = test_config(temp_dir("till-bridge"), None).await;
    config.pairing_token = None;
    let b = spawn_with(config, terminal).await;
    let code = new_code(&b.data);
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/plain; charset=utf-8",
    ] {
        for _ in 0..CODE_TRIES {
            let r = b
                .client
                .post(b.url("/v1/pairings"))
                .header("content-type", content_type)
                .body(r#"{"code": "000000", "register": "R1"}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 415, "{content_type}");
            let body: Value = r.json().await.unwrap();
            assert_schema("ApiError", &body);
            assert_eq!(body["error"], "unsupported_media_type");
        }
    }
    let r = pair(&b.client, &b.address, &code).await;
    assert_eq!(r.status(), 201, "the code in force still pairs");
}

/// A token paired for `register`, from a code made on the bridge's machine.
async fn paired_as(b: &TestBridge, register: &str) -> String {
    let r = b
        .client
        .post(b.url("/v1/pairings"))
        .json(&json!({"code": new_code(&b.data), "register": register}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn as_token(
    b: &TestBridge,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let req = match body {
        Some(body) => b.client.post(b.url(path)).json(&body),
        None => b.client.get(b.url(path)),
    };
    req.header("X-Pairing-Token", token).send().await.unwrap()
}

#[tokio::test]
async fn a_payment_belongs_to_the_register_that_started_it() {
    let b = spawn_bridge(temp_dir("till-bridge"), None).await;
    let r1 = paired_as(&b, "R1").await;
    let r2 = paired_as(&b, "R2").await;
    let p = new_reference();
    let started = as_token(&b, &r1, "/v1/payments", Some(start_body(&p, 700))).await;
    assert_eq!(started.status(), 202);
    let status = format!("/v1/payments/{p}");
    b.wait_until(
        || async {
            let r = as_token(&b, &r1, &status, None).await;
            r.status() == 200 && r.json::<Value>().await.unwrap()["status"] == "approved"
        },
        SOON,
    )
    .await;

    // R2's pairing can neither read, cancel, repeat nor refund it.
    let refund = json!({
        "reference": new_reference(), "original": p, "order_id": order_id_for(&p),
        "amount": 700, "currency": "EUR",
    });
    let tries = [
        (status.clone(), None),
        (format!("{status}/cancel"), Some(json!({}))),
        ("/v1/payments".to_owned(), Some(start_body(&p, 700))),
        ("/v1/refunds".to_owned(), Some(refund.clone())),
    ];
    for (path, body) in tries {
        let r = as_token(&b, &r2, &path, body).await;
        assert_eq!(r.status(), 403, "{path}");
        let e: Value = r.json().await.unwrap();
        assert_schema("ApiError", &e);
        assert_eq!(e["error"], "forbidden", "{path}: {e}");
    }
    let charges = b.charges().await;
    assert_eq!(
        charges.len(),
        1,
        "only R1's payment reached the terminal: {charges:?}"
    );

    // R1, paired again (a new token for the same register), still may.
    let r1_again = paired_as(&b, "R1").await;
    assert_eq!(as_token(&b, &r1_again, &status, None).await.status(), 200);
    let refunded = as_token(&b, &r1_again, "/v1/refunds", Some(refund)).await;
    assert_eq!(refunded.status(), 202);
}
