//! Journal benchmarks, run by `cargo xtask bench journal`: the back office
//! verifying 100,000 stored entries of one register (read, parse, seq,
//! prev, hash recomputed, ES256 signature), next to bare ECDSA P-256
//! verifications of the same hashes in the same run; the ingest of those
//! entries through the store's verified append, in batches of 500; and the
//! cost of signing one entry natively (the register signs with WebCrypto).
//!
//! Figures are printed as a table and as one JSON line.

use serde_json::json;
use std::time::{Duration, Instant};
use till_core::journal::{hex, Draft, Entry, EntryKind, Head, PublicKey, RecordKind, RecordRef};
use till_core::money::{Currency, Money};
use till_core::order::RegisterId;
use till_core::staff::StaffId;
use till_core::testing::journal::signer;
use till_core::time::Timestamp;
use till_oms::auth::Writer;
use till_oms::journal::verify_register;
use till_oms::store::journal::JournalStore;
use till_oms::store::SqliteStore;
use till_oms::DATABASE_FILE;

#[path = "common/mod.rs"]
mod common;
use common::*;

fn draft(register: &RegisterId, i: u64) -> Draft {
    Draft {
        register: register.clone(),
        time: Timestamp::from_millis(1_795_766_400_000 + i as i64 * 1_000),
        kind: EntryKind::SalePaid,
        record: Some(RecordRef {
            kind: RecordKind::Order,
            id: format!("0191d5a8-7c3e-7000-8000-{i:012}"),
            version: 3,
            sha256: hex(&i.to_be_bytes().repeat(4)),
        }),
        actor: Some(StaffId::new("sam").unwrap()),
        approver: None,
        amount: Some(Money::new(250 + i as i64 % 1000, Currency::EUR).unwrap()),
    }
}

fn main() {
    let n = arg("--entries", 100_000) as u64;
    let data = temp_dir("till-journal-bench");
    let register = RegisterId::new("R1").unwrap();
    let key = signer(1);

    let t = Instant::now();
    let mut head = Head::genesis();
    let entries: Vec<Entry> = (1..=n)
        .map(|i| {
            let e = key.append(&head, draft(&register, i));
            head = e.head();
            e
        })
        .collect();
    let sign = t.elapsed();

    let store = SqliteStore::open(&data.join(DATABASE_FILE)).unwrap();
    let writer = Writer {
        register: register.clone(),
        token: "bench".into(),
    };
    let public = key.public();
    let now = Timestamp::from_millis(1_795_800_000_000);
    store
        .set_register_key(&register, &public, &writer, now)
        .unwrap();
    let t = Instant::now();
    for batch in entries.chunks(500) {
        store
            .append_journal(&register, &public, batch, &writer, now)
            .unwrap();
    }
    let ingest = t.elapsed();

    let t = Instant::now();
    let verified = verify_register(&store, &register).unwrap();
    let verify = t.elapsed();
    assert_eq!((verified.head.seq, verified.broken), (n, None));

    let bare = bare_verifications(&public, &entries);
    let per_sec = |d: Duration| n as f64 / d.as_secs_f64();
    let us = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let rows = [
        Row::new("journal_verify_stored", per_sec(verify), "entries/s")
            .next_to("bare_es256_verify", per_sec(bare))
            .goal("ratio >= 0.8"),
        Row::new("journal_ingest_verified", per_sec(ingest), "entries/s")
            .next_to("bare_es256_verify", per_sec(bare)),
        Row::new("journal_sign_native_us", us(sign), "µs/entry"),
    ];
    println!("Journal benchmarks ({n} entries of one register, SQLite, one thread)");
    print_rows(&rows);
    print_json("journal", json!({ "entries": n }), &rows);
    drop(store);
    let _ = std::fs::remove_dir_all(&data);
}

/// The signatures alone: each entry's hash (already computed) checked
/// against its signature, nothing read, parsed or chained.
fn bare_verifications(key: &PublicKey, entries: &[Entry]) -> Duration {
    let digests: Vec<([u8; 32], &str)> = entries
        .iter()
        .map(|e| (e.digest(), e.sig.as_str()))
        .collect();
    let t = Instant::now();
    let ok = digests.iter().filter(|(d, s)| key.verifies(d, s)).count();
    let took = t.elapsed();
    assert_eq!(ok, entries.len());
    took
}
