//! OMS benchmarks, run by `cargo xtask bench`: batch ingest with durable
//! commits, and the download of a 100,000-product catalog, each next to the
//! raw SQLite work it wraps, measured in the same run; and ingest while the
//! catalog is downloaded over and over (as registers starting up would),
//! next to the same ingest on a quiet server.
//!
//! The server runs in this process on a real socket (port 0); the client is
//! reqwest. Figures are printed as a table and as one JSON line.

use reqwest::Client;
use rusqlite::{params, Connection};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use till_core::money::Currency;
use till_core::order::Order;
use till_oms::auth::Tokens;
use till_oms::store::{SqliteStore, Store};
use till_oms::{demo, Application, Config, DATABASE_FILE};

#[path = "common/mod.rs"]
mod common;
use common::*;

#[tokio::main]
async fn main() {
    let order_count = arg("--orders", 20_000);
    let product_count = arg("--products", 100_000);
    let data = temp_dir("till-oms-bench");

    // The catalog, written the way gen-catalog writes it.
    let store = SqliteStore::open(&data.join(DATABASE_FILE)).unwrap();
    let t = Instant::now();
    let catalog = demo::generated_catalog(product_count, Currency::EUR);
    store.replace_catalog(&catalog).unwrap();
    let catalog_write = t.elapsed();
    drop(store);

    let base = start_server(&data).await;
    let client = Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(8)
        .build()
        .unwrap();

    let plain = download(&client, &base, TOKEN, false).await;
    let gzip = download(&client, &base, TOKEN, true).await;
    assert_eq!(plain.products, product_count);
    let (raw_read, raw_bytes) = raw_read(&data);

    let all = orders(0, order_count);
    let ingest = ingest(&client, &base, &batches(&all)).await;
    let raw_ingest = raw_ingest(&all);
    let busy = ingest_while_downloading(&client, &base, &orders(order_count, order_count)).await;

    let per_sec = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let rows = [
        Row::new("oms_batch_ingest", per_sec(order_count, ingest), "orders/s")
            .next_to("raw_sqlite_insert", per_sec(order_count, raw_ingest))
            .goal("ratio >= 0.5"),
        Row::new(
            "oms_ingest_while_downloading",
            per_sec(order_count, busy.ingest),
            "orders/s",
        )
        .next_to("oms_batch_ingest", per_sec(order_count, ingest))
        .goal("ratio >= 0.5"),
        Row::new(
            "catalog_downloads_meanwhile",
            busy.downloads as f64,
            "catalogs",
        )
        .goal(">= 1"),
        Row::new("catalog_download_100k_ms", ms(plain.took), "ms")
            .next_to("raw_sqlite_read_ms", ms(raw_read))
            .goal("<= 5000"),
        Row::new("catalog_download_100k_bytes", plain.bytes as f64, "bytes")
            .next_to("raw_product_json_bytes", raw_bytes as f64)
            .goal("ratio <= 1.1"),
        Row::new("catalog_download_100k_gzip_ms", ms(gzip.took), "ms").goal("<= 10000"),
        Row::new(
            "catalog_download_100k_gzip_bytes",
            gzip.bytes as f64,
            "bytes",
        ),
        Row::new("catalog_write_100k_ms", ms(catalog_write), "ms"),
    ];
    println!("OMS benchmarks ({order_count} orders in batches of 500, {product_count} products; server and client in one process)");
    print_rows(&rows);
    print_json(
        "oms",
        json!({ "orders": order_count, "products": product_count }),
        &rows,
    );
    let _ = std::fs::remove_dir_all(&data);
}

async fn start_server(data: &std::path::Path) -> String {
    let app = Application::build(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: None,
        data: data.to_path_buf(),
        database: till_oms::Database::Sqlite,
        tokens: Tokens::new(
            Tokens::parse_register_pairs(&[format!("R1={TOKEN}")]).unwrap(),
            None,
            None,
        )
        .unwrap(),
        stores: Default::default(),
        bridge_origin: None,
        currency: Currency::EUR,
        faults: false,
        demo: true,
        webhook_key: None,
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run());
    base
}

/// Baseline: reading the same product rows straight from SQLite.
fn raw_read(data: &std::path::Path) -> (Duration, usize) {
    let conn = Connection::open(data.join(DATABASE_FILE)).unwrap();
    let t = Instant::now();
    let mut stmt = conn
        .prepare("SELECT body FROM products ORDER BY id")
        .unwrap();
    let raw_bytes: usize = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|b| b.unwrap().len())
        .sum();
    (t.elapsed(), raw_bytes)
}

fn batches(orders: &[Order]) -> Vec<String> {
    orders
        .chunks(500)
        .map(|c| json!({ "orders": c }).to_string())
        .collect()
}

/// Batch ingest: batches of 500, durable commits, over HTTP.
async fn ingest(client: &Client, base: &str, batches: &[String]) -> Duration {
    let t = Instant::now();
    for body in batches {
        let r = client
            .post(format!("{base}/api/v1/orders:batch"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    t.elapsed()
}

/// Baseline: the same rows inserted raw, same pragmas, same transactions.
fn raw_ingest(all: &[Order]) -> Duration {
    let raw_db = temp_dir("till-oms-bench-raw").join("raw.sqlite3");
    let mut raw = Connection::open(&raw_db).unwrap();
    raw.pragma_update(None, "journal_mode", "WAL").unwrap();
    raw.pragma_update(None, "synchronous", "FULL").unwrap();
    raw.execute_batch("CREATE TABLE orders (id TEXT PRIMARY KEY, register TEXT, business_date TEXT, number TEXT, version INTEGER, created_at INTEGER, received_at INTEGER, body TEXT)").unwrap();
    let bodies: Vec<(String, String)> = all
        .iter()
        .map(|o| (o.id.to_string(), serde_json::to_string(o).unwrap()))
        .collect();
    let t = Instant::now();
    for chunk in bodies.chunks(500) {
        let tx = raw.transaction().unwrap();
        for (id, body) in chunk {
            tx.execute(
                "INSERT INTO orders VALUES (?1, 'R1', '2026-11-27', ?1, 1, 0, 0, ?2)",
                params![id, body],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let took = t.elapsed();
    let _ = std::fs::remove_dir_all(raw_db.parent().unwrap());
    took
}

struct Contended {
    ingest: Duration,
    downloads: usize,
}

/// Ingests `orders` while two registers download the whole catalog over
/// and over; counts the downloads finished meanwhile.
async fn ingest_while_downloading(client: &Client, base: &str, orders: &[Order]) -> Contended {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut downloaders = Vec::new();
    for _ in 0..2 {
        let (client, base) = (client.clone(), base.to_owned());
        let (stop, done) = (stop.clone(), done.clone());
        downloaders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                download(&client, &base, TOKEN, false).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let took = ingest(client, base, &batches(orders)).await;
    stop.store(true, Ordering::Relaxed);
    for d in downloaders {
        d.await.unwrap();
    }
    Contended {
        ingest: took,
        downloads: done.load(Ordering::Relaxed),
    }
}
