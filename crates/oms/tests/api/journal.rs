//! The registers' journals at the back office: a key registered once,
//! entries verified as they arrive in the batch, a break refused for that
//! register alone and kept, `till-oms journal verify` finding a row edited
//! in the database, and the export; on both engines.

use crate::helpers::*;
use serde_json::{json, Value};
use till_core::journal::{Draft, Entry, EntryKind, Head, RecordKind, RecordRef, GENESIS};
use till_core::order::RegisterId;
use till_core::staff::StaffId;
use till_core::testing::journal::{signer, Signer};
use till_core::time::Timestamp;

const T: i64 = 1_795_766_600_000;

/// `n` entries of `register` signed by `s`: sales, a refund approved by
/// Dana every fifth.
fn entries(s: &Signer, register: &str, n: u64) -> Vec<Entry> {
    let mut head = Head::genesis();
    (1..=n)
        .map(|i| {
            let refund = i % 5 == 0;
            let e = s.append(
                &head,
                Draft {
                    register: RegisterId::new(register).unwrap(),
                    time: Timestamp::from_millis(T + i as i64 * 60_000),
                    kind: if refund {
                        EntryKind::Refund
                    } else {
                        EntryKind::SalePaid
                    },
                    record: Some(RecordRef {
                        kind: RecordKind::Order,
                        id: order_id(i as u128).to_string(),
                        version: 2,
                        sha256: "ab".repeat(32),
                    }),
                    actor: Some(StaffId::new("sam").unwrap()),
                    approver: refund.then(|| StaffId::new("dana").unwrap()),
                    amount: Some(eur(100 * i as i64)),
                },
            );
            head = e.head();
            e
        })
        .collect()
}

async fn register_key(app: &TestApp, token: &str, s: &Signer) -> reqwest::Response {
    app.client
        .put(app.url("/api/v1/journal/key"))
        .bearer_auth(token)
        .json(&json!({"public_key": s.public().encoded()}))
        .send()
        .await
        .unwrap()
}

/// Sends entries in a batch; the results.
async fn send(app: &TestApp, token: &str, entries: &[Entry]) -> Vec<Value> {
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            token,
            &json!({"orders": [], "journal": entries}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v = body_as(r, "BatchResponse").await;
    v["results"].as_array().unwrap().clone()
}

fn statuses(results: &[Value]) -> Vec<u64> {
    results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

async fn head(app: &TestApp, token: &str, register: &str) -> Value {
    let r = app
        .get_as(token, &format!("/api/v1/registers/{register}/journal"))
        .await;
    assert_eq!(r.status(), 200);
    body_as(r, "JournalHead").await
}

#[tokio::test]
async fn a_key_is_registered_once_and_never_replaced() {
    let app = spawn_app().await;
    let (mine, other) = (signer(1), signer(2));
    assert_eq!(
        register_key(&app, REGISTER_TOKEN, &mine).await.status(),
        201
    );
    let r = register_key(&app, REGISTER_TOKEN, &mine).await;
    assert_eq!(r.status(), 200);
    let v = body_as(r, "JournalHead").await;
    assert_eq!(
        (v["seq"].as_u64(), v["hash"].as_str()),
        (Some(0), Some(GENESIS))
    );
    assert_error(
        register_key(&app, REGISTER_TOKEN, &other).await,
        409,
        "journal_key_taken",
    )
    .await;
    assert_error(
        register_key(&app, ADMIN_TOKEN, &mine).await,
        403,
        "forbidden",
    )
    .await;
    let junk = app
        .client
        .put(app.url("/api/v1/journal/key"))
        .bearer_auth(REGISTER_TOKEN)
        .json(&json!({"public_key": "AAAA"}))
        .send()
        .await
        .unwrap();
    assert_error(junk, 422, "invalid_key").await;
    assert!(
        app.execute("DELETE FROM register_keys").is_err(),
        "a key is never removed"
    );
}

#[tokio::test]
async fn entries_extend_the_chain_and_a_batch_sent_again_is_taken_once() {
    let app = spawn_app().await;
    let s = signer(1);
    let all = entries(&s, "R1", 6);
    for e in &all {
        assert_schema("JournalEntry", &serde_json::to_value(e).unwrap());
    }
    let r = send(&app, REGISTER_TOKEN, &all[..2]).await;
    assert_eq!(statuses(&r), [409, 409], "no key yet: {r:?}");
    assert_eq!(r[0]["error"]["error"], "journal_key_missing");

    register_key(&app, REGISTER_TOKEN, &s).await;
    let r = send(&app, REGISTER_TOKEN, &all[..4]).await;
    assert_eq!(statuses(&r), [200; 4]);
    assert_eq!(r[3]["id"], "R1/4");
    let r = send(&app, REGISTER_TOKEN, &all[2..]).await;
    assert_eq!(statuses(&r), [200; 4], "seq 3 and 4 again, then 5 and 6");
    let h = head(&app, REGISTER_TOKEN, "R1").await;
    assert_eq!(h["seq"], 6);
    assert_eq!(h["hash"], all[5].hash);
    assert_eq!(h["key_registered"], true);
    assert_eq!(app.count("SELECT COUNT(*) FROM journal"), 6);
    let other = app
        .get_as(OTHER_REGISTER_TOKEN, "/api/v1/registers/R1/journal")
        .await;
    assert_eq!(other.status(), 403);
}

#[tokio::test]
async fn a_gap_or_a_bad_signature_is_refused_for_that_register_only_and_kept() {
    let app = spawn_app().await;
    let (s1, s2) = (signer(1), signer(2));
    register_key(&app, REGISTER_TOKEN, &s1).await;
    register_key(&app, OTHER_REGISTER_TOKEN, &s2).await;
    let r1 = entries(&s1, "R1", 5);
    let r2 = entries(&s2, "R2", 3);
    assert_eq!(
        statuses(&send(&app, REGISTER_TOKEN, &r1[..2]).await),
        [200, 200]
    );

    // Seq 3 never arrives: 4 is refused as a gap at seq 3, 5 after it.
    let r = send(&app, REGISTER_TOKEN, &r1[3..]).await;
    assert_eq!(statuses(&r), [409, 409]);
    assert_eq!(r[0]["error"]["error"], "journal_break");
    let said = r[0]["error"]["message"].as_str().unwrap();
    assert!(said.contains("seq 3: missing"), "{said}");

    // R2 signs with R1's key (a stolen token without the tablet): refused
    // at its seq 1; R1's chain is untouched.
    let forged = entries(&s1, "R2", 1);
    let r = send(&app, OTHER_REGISTER_TOKEN, &forged).await;
    assert_eq!(statuses(&r), [409]);
    let said = r[0]["error"]["message"].as_str().unwrap();
    assert!(said.contains("seq 1: the signature"), "{said}");
    assert_eq!(
        statuses(&send(&app, OTHER_REGISTER_TOKEN, &r2).await),
        [200; 3]
    );
    assert_eq!(
        statuses(&send(&app, REGISTER_TOKEN, &r1[2..]).await),
        [200; 3]
    );

    assert_eq!(app.count("SELECT COUNT(*) FROM journal"), 8, "nothing lost");
    assert_eq!(
        app.row("SELECT register, at_seq, seq FROM journal_refused ORDER BY register"),
        ["R1", "3", "4"]
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM journal_refused"), 2);
    // Another register's entry with this token: 403, nothing kept.
    let r = send(&app, REGISTER_TOKEN, &r2[..1]).await;
    assert_eq!(statuses(&r), [403]);
}

#[tokio::test]
async fn an_entry_for_a_stored_seq_with_other_content_is_a_fork() {
    let app = spawn_app().await;
    let s = signer(1);
    register_key(&app, REGISTER_TOKEN, &s).await;
    let all = entries(&s, "R1", 3);
    send(&app, REGISTER_TOKEN, &all).await;
    let mut other = entries(&s, "R1", 2).pop().unwrap();
    other = s.append(
        &all[0].head(),
        Draft {
            register: other.register.clone(),
            time: other.time,
            kind: EntryKind::Void,
            record: other.record.take(),
            actor: other.actor.take(),
            approver: None,
            amount: other.amount,
        },
    );
    let r = send(&app, REGISTER_TOKEN, &[other]).await;
    assert_eq!(statuses(&r), [409]);
    let said = r[0]["error"]["message"].as_str().unwrap();
    assert!(
        said.contains("seq 2: another entry is already held for this seq (a fork)"),
        "{said}"
    );
    assert_eq!(head(&app, REGISTER_TOKEN, "R1").await["seq"], 3);
}

#[tokio::test]
async fn journal_verify_finds_a_row_edited_in_the_database() {
    let app = spawn_app().await;
    let s = signer(1);
    register_key(&app, REGISTER_TOKEN, &s).await;
    send(&app, REGISTER_TOKEN, &entries(&s, "R1", 5)).await;

    let out = oms_command(&app)
        .args(["journal", "verify"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("R1: 5 entries, verified; head seq 5"),
        "{said}"
    );

    // Someone with the database changes seq 3's amount.
    assert!(
        app.execute("UPDATE journal SET body = body WHERE seq = 3")
            .is_err(),
        "the journal is append-only"
    );
    let drop = match app.database {
        till_oms::Database::Sqlite => "DROP TRIGGER journal_no_update",
        _ => "ALTER TABLE journal DISABLE TRIGGER journal_no_change",
    };
    app.execute(drop).unwrap();
    app.execute(
        "UPDATE journal SET body = REPLACE(body, '\"amount\":300', '\"amount\":30') WHERE seq = 3",
    )
    .unwrap();
    let out = oms_command(&app)
        .args(["journal", "verify", "--register", "R1"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a break fails the command");
    assert!(
        said.contains("R1: BREAKS at seq 3: its hash does not match its content (edited); verified up to head seq 2"),
        "{said}"
    );
}

#[tokio::test]
async fn the_export_has_every_field_an_auditor_needs() {
    let app = spawn_app().await;
    let s = signer(1);
    register_key(&app, REGISTER_TOKEN, &s).await;
    let all = entries(&s, "R1", 5);
    send(&app, REGISTER_TOKEN, &all).await;
    let prefix = app.data.join("audit");
    let out = oms_command(&app)
        .args([
            "journal",
            "export",
            "--from",
            "2026-11-27",
            "--to",
            "2026-11-27",
            "--out",
        ])
        .arg(&prefix)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.starts_with("5 entries written to"), "{said}");
    let lines = std::fs::read_to_string(prefix.with_extension("jsonl")).unwrap();
    let back: Vec<Entry> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(back, all, "each entry as signed");
    let csv = std::fs::read_to_string(prefix.with_extension("csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "register,seq,time,kind,record_kind,record_id,record_version,record_sha256,amount_minor,currency,actor,approver,prev,hash,sig,verified"
    );
    let fifth = rows[5];
    assert!(fifth.starts_with("R1,5,2026-11-27T"), "{fifth}");
    assert!(fifth.contains(",refund,order,"), "{fifth}");
    assert!(fifth.contains(",500,EUR,sam,dana,"), "{fifth}");
    assert!(
        fifth.ends_with(&format!("{},{},true", all[4].hash, all[4].sig)),
        "{fifth}"
    );
}

#[tokio::test]
async fn a_refused_entry_is_in_that_days_exceptions_report() {
    let app = spawn_app().await;
    let s = signer(1);
    register_key(&app, REGISTER_TOKEN, &s).await;
    let all = entries(&s, "R1", 3);
    let mut edited = all[1].clone();
    edited.amount = Some(eur(1));
    // The back office files it under the UTC day it received it on: the
    // day before sending and the day after (the same, unless midnight
    // passed in between).
    let before = utc_today();
    let r = send(&app, REGISTER_TOKEN, &[all[0].clone(), edited]).await;
    assert_eq!(statuses(&r), [200, 409]);
    let mut days = vec![before, utc_today()];
    days.dedup();
    let mut found = Vec::new();
    for date in days {
        let r = app
            .get_as(
                ADMIN_TOKEN,
                &format!("/api/v1/exceptions?date={date}&store=S01"),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v = body_as(r, "ExceptionReport").await;
        found.extend(
            v["exceptions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["finding"] == "journal_break")
                .cloned(),
        );
    }
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["record"]["id"], "R1/2");
    let said = found[0]["message"].as_str().unwrap();
    assert!(
        said.contains("Register R1's journal does not verify at seq 2: its hash does not match its content (edited)"),
        "{said}"
    );
}

fn utc_today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (y, m, d) = till_core::time::civil_date(Timestamp::from_millis(now), 0);
    format!("{y:04}-{m:02}-{d:02}")
}

#[tokio::test]
async fn a_record_stored_otherwise_than_its_journal_entry_pinned_it_is_flagged() {
    use till_core::journal::record_digest;
    let app = spawn_app().await;
    let s = signer(1);
    register_key(&app, REGISTER_TOKEN, &s).await;
    let (kept, changed) = (order(1), order(2));
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({"orders": [kept, changed]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // The register journaled order 1 as sent, and order 2 as it was
    // before someone with the token sent another content at version 1.
    let mut journaled = changed.clone();
    journaled.lines.truncate(1);
    let mut head = Head::genesis();
    let pins = [
        (&kept, record_digest(&kept).unwrap()),
        (&changed, record_digest(&journaled).unwrap()),
    ];
    let mut signed = Vec::new();
    for (o, sha256) in pins {
        let e = s.append(
            &head,
            Draft {
                register: o.register().clone(),
                time: Timestamp::from_millis(T),
                kind: EntryKind::SalePaid,
                record: Some(RecordRef {
                    kind: RecordKind::Order,
                    id: o.id.to_string(),
                    version: o.version,
                    sha256,
                }),
                actor: None,
                approver: None,
                amount: None,
            },
        );
        head = e.head();
        signed.push(e);
    }
    assert_eq!(
        statuses(&send(&app, REGISTER_TOKEN, &signed).await),
        [200, 200]
    );
    let r = app
        .get_as(ADMIN_TOKEN, "/api/v1/exceptions?date=2026-11-27&store=S01")
        .await;
    let v = body_as(r, "ExceptionReport").await;
    let found: Vec<&Value> = v["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["finding"] == "record_differs")
        .collect();
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(found[0]["record"]["id"], changed.id.to_string());
    let said = found[0]["message"].as_str().unwrap();
    assert!(
        said.contains("is not the one register R1's journal signed at seq 2"),
        "{said}"
    );
    let out = oms_command(&app)
        .args(["journal", "verify"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    let expected = format!(
        "R1: 2 entries, verified; head seq 2 {}; 1 record(s) held otherwise than the journal pinned them (first: seq 2: order {} version 1)",
        &signed[1].hash[..16],
        changed.id
    );
    assert!(said.contains(&expected), "{said}");
}
