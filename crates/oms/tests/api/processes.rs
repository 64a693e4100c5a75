//! Two OMS processes in front of one database (a chain runs several behind
//! a load balancer), writing the same orders at the same moment: every
//! order ends as the upsert rule says, with no lost update, no duplicate
//! and no 500. On PostgreSQL (the `pg` tier) the races are real ones
//! between two connection pools; on SQLite, between two writers of one file.

use crate::helpers::*;
use serde_json::{json, Value};
use std::sync::Arc;
use till_core::order::Order;
use till_core::time::Timestamp;
use tokio::task::JoinSet;

const ORDERS: u128 = 60;
const VERSIONS: u32 = 4;

/// Two servers on one data folder (and so one database).
async fn two_servers() -> (Arc<TestApp>, Arc<TestApp>) {
    let data = temp_dir("till-oms-two");
    let a = spawn_with(config(data.clone())).await;
    let b = spawn_with(config(data)).await;
    (Arc::new(a), Arc::new(b))
}

/// Version `v` of order `n` (version 1 is `order(n)`).
fn at_version(n: u128, v: u32) -> Order {
    let mut o = order(n);
    for _ in 1..v {
        o = next_version(&o);
    }
    o
}

async fn post_batch(app: Arc<TestApp>, orders: Vec<Order>) -> Vec<u64> {
    let r = app
        .post_json(
            "/api/v1/orders:batch",
            REGISTER_TOKEN,
            &json!({ "orders": orders }),
        )
        .await;
    assert_eq!(r.status(), 200, "a batch was refused whole");
    let v: Value = r.json().await.unwrap();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_version_sent_through_both_at_once_leaves_the_newest_once() {
    let (a, b) = two_servers().await;
    // Each version of each order through both servers at the same time, as
    // batches in opposite order (the orders' locks are wanted in opposite
    // orders too), and every version at once with the others.
    let mut sent = JoinSet::new();
    for v in 1..=VERSIONS {
        let batch: Vec<Order> = (0..ORDERS).map(|n| at_version(100 + n, v)).collect();
        let mut reversed = batch.clone();
        reversed.reverse();
        sent.spawn(post_batch(a.clone(), batch));
        sent.spawn(post_batch(b.clone(), reversed));
    }
    while let Some(statuses) = sent.join_next().await {
        let statuses = statuses.unwrap();
        assert!(
            statuses.iter().all(|s| *s == 200),
            "created, replaced, unchanged or stale are all 200: {statuses:?}"
        );
    }
    assert_eq!(
        a.count("SELECT count(*) FROM orders"),
        ORDERS as i64,
        "one row per order"
    );
    assert_eq!(
        a.count(&format!(
            "SELECT count(*) FROM orders WHERE version = {VERSIONS}"
        )),
        ORDERS as i64,
        "every order at its newest version: no update lost"
    );
    let history = a.count("SELECT count(*) FROM order_history");
    assert!(
        (ORDERS as i64..=(ORDERS * VERSIONS as u128) as i64).contains(&history),
        "each stored version once in the history: {history}"
    );
    for app in [&a, &b] {
        let v: Value = app
            .get(&format!("/api/v1/orders/{}", order_id(100)))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["order"]["version"], VERSIONS, "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_version_with_two_bodies_at_once_stores_one_and_refuses_the_other() {
    let (a, b) = two_servers().await;
    let mut sent = JoinSet::new();
    for n in 0..ORDERS {
        let first = order(500 + n);
        let mut second = first.clone();
        second.updated_at = Timestamp::from_millis(first.updated_at.as_millis() + 1);
        for (app, o) in [(a.clone(), first), (b.clone(), second)] {
            sent.spawn(async move {
                let status = app.put_order(&o).await.status().as_u16();
                (o, status)
            });
        }
    }
    let mut answers = Vec::new();
    while let Some(answer) = sent.join_next().await {
        answers.push(answer.unwrap());
    }
    for n in 0..ORDERS {
        let id = order_id(500 + n);
        let of_order: Vec<_> = answers.iter().filter(|(o, _)| o.id == id).collect();
        let mut statuses: Vec<u16> = of_order.iter().map(|(_, s)| *s).collect();
        statuses.sort();
        assert_eq!(
            statuses,
            vec![200, 409],
            "order {id}: one stored, one refused"
        );
        let (won, _) = of_order.iter().find(|(_, s)| *s == 200).unwrap();
        let stored = a.row(&format!("SELECT body FROM orders WHERE id = '{id}'"));
        assert_eq!(
            stored[0],
            serde_json::to_string(won).unwrap(),
            "the stored body is the one answered 200"
        );
    }
    assert_eq!(a.count("SELECT count(*) FROM order_history"), ORDERS as i64);
}
