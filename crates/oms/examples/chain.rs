//! The back office of a chain, measured (`cargo xtask bench chain`): the
//! same load on SQLite with one OMS, on PostgreSQL with one OMS, and on
//! PostgreSQL with two OMS processes against one database.
//!
//! The load: 8 registers posting their orders concurrently in batches (as
//! their outboxes drain), spread over the OMS processes as a load balancer
//! would, while a 9th register PUTs single orders one after another, whose
//! latency is the p50/p99. Then a 100,000-product catalog download. Each
//! OMS is a real `till-oms` process (`TILL_OMS_BIN`, the release build),
//! PostgreSQL a real server (`TILL_BENCH_POSTGRES`, a throw-away cluster
//! xtask starts with durable commits, as SQLite's `synchronous=FULL`).

use reqwest::Client;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use till_core::order::Order;

#[path = "common/mod.rs"]
mod common;
use common::*;

const REGISTERS: usize = 8;
/// The register whose single PUTs are timed.
const PROBE: &str = "R9";

fn token(register: &str) -> String {
    format!("bench-token-of-register-{register}")
}

fn register_tokens() -> String {
    (1..=REGISTERS + 1)
        .map(|i| format!("R{i}={}", token(&format!("R{i}"))))
        .collect::<Vec<_>>()
        .join(",")
}

/// A `till-oms` process, killed when dropped.
struct Oms {
    child: Child,
    url: String,
}

impl Oms {
    fn cpu(&self) -> f64 {
        cpu_seconds(&self.child.id().to_string())
    }
}

impl Drop for Oms {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where an engine keeps its data: a SQLite folder or a PostgreSQL URL.
#[derive(Clone)]
enum Engine {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

fn oms_command(engine: &Engine) -> Command {
    let bin = std::env::var("TILL_OMS_BIN").expect("TILL_OMS_BIN: the till-oms to measure");
    let mut cmd = Command::new(bin);
    match engine {
        Engine::Sqlite(data) => cmd.arg("--data").arg(data),
        Engine::Postgres(url) => cmd.env("TILL_DATABASE_URL", url),
    };
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn start_oms(engine: &Engine) -> Oms {
    let mut child = oms_command(engine)
        .args(["--listen", "127.0.0.1:0"])
        .env("TILL_REGISTER_TOKENS", register_tokens())
        .stdout(Stdio::piped())
        .spawn()
        .expect("till-oms starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = lines
        .find_map(|l| {
            l.ok()?
                .split_once("listening on ")
                .map(|(_, u)| u.trim().to_owned())
        })
        .expect("till-oms says where it listens");
    std::thread::spawn(move || lines.for_each(drop));
    Oms { child, url }
}

fn write_catalog(engine: &Engine, products: usize) {
    let status = oms_command(engine)
        .args(["gen-catalog", "--products", &products.to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "gen-catalog failed");
}

struct Load {
    ingest_per_sec: f64,
    put_p50_ms: f64,
    put_p99_ms: f64,
    catalog_ms: f64,
    spent: Spent,
    /// PostgreSQL's costliest statements during the ingest (calls, ms, text).
    top: Vec<Vec<String>>,
}

/// Where the ingest's time went: wall clock, and CPU seconds of the
/// client (this process) and of the OMS processes. PostgreSQL has the rest.
struct Spent {
    wall: f64,
    client_cpu: f64,
    oms_cpu: f64,
}

/// User + system CPU seconds of a process (`self` or a pid), from /proc.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // After the command name's closing parenthesis: field 3 onwards.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15; USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

async fn post_all(client: Client, url: String, register: String, orders: Vec<Order>, batch: usize) {
    for chunk in orders.chunks(batch) {
        let r = client
            .post(format!("{url}/api/v1/orders:batch"))
            .bearer_auth(token(&register))
            .json(&json!({ "orders": chunk }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
}

/// Single PUTs one after another until `stop`; their latencies, sorted.
async fn probe(client: Client, urls: Vec<String>, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut took = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let o = &orders_of(PROBE, 9_000_000 + n, 1)[0];
        let url = &urls[n % urls.len()];
        let t = Instant::now();
        let r = client
            .put(format!("{url}/api/v1/orders/{}", o.id))
            .bearer_auth(token(PROBE))
            .json(o)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        took.push(t.elapsed());
        n += 1;
    }
    took.sort();
    took
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn measure(servers: &[Oms], per_register: usize, batch: usize) -> Load {
    let client = Client::builder().no_gzip().build().unwrap();
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let work: Vec<(String, Vec<Order>)> = (0..REGISTERS)
        .map(|r| {
            let register = format!("R{}", r + 1);
            let orders = orders_of(&register, r * per_register, per_register);
            (register, orders)
        })
        .collect();
    let cpu_before = (
        cpu_seconds("self"),
        servers.iter().map(Oms::cpu).sum::<f64>(),
    );
    let prober = tokio::spawn(probe(client.clone(), urls.clone(), stop.clone()));
    let t = Instant::now();
    let mut posters = Vec::new();
    for (r, (register, orders)) in work.into_iter().enumerate() {
        let url = urls[r % urls.len()].clone();
        let post = post_all(client.clone(), url, register, orders, batch);
        posters.push(tokio::spawn(post));
    }
    for p in posters {
        p.await.unwrap();
    }
    let ingest = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let latencies = prober.await.unwrap();
    let spent = Spent {
        wall: ingest.as_secs_f64(),
        client_cpu: cpu_seconds("self") - cpu_before.0,
        oms_cpu: servers.iter().map(Oms::cpu).sum::<f64>() - cpu_before.1,
    };
    let catalog = download(&client, &urls[0], &token("R1"), false).await;
    Load {
        ingest_per_sec: (REGISTERS * per_register) as f64 / ingest.as_secs_f64(),
        put_p50_ms: percentile(&latencies, 0.5),
        put_p99_ms: percentile(&latencies, 0.99),
        catalog_ms: catalog.took.as_secs_f64() * 1000.0,
        spent,
        top: vec![],
    }
}

/// A fresh database of the benchmark's cluster.
async fn create_database(server: &str, name: &str) -> String {
    let (client, conn) =
        tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls)
            .await
            .expect("TILL_BENCH_POSTGRES answers");
    tokio::spawn(conn);
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&sql).await.unwrap();
    }
    // Statement statistics, when the cluster preloads them (xtask's does).
    let url = format!("{server}/{name}");
    statements(&url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await;
    format!("{server}/{name}")
}

async fn run_setup(engine: Engine, processes: usize, args: (usize, usize, usize)) -> Load {
    let (per_register, batch, products) = args;
    write_catalog(&engine, products);
    let servers: Vec<Oms> = (0..processes).map(|_| start_oms(&engine)).collect();
    if let Engine::Postgres(url) = &engine {
        statements(url, "SELECT pg_stat_statements_reset()").await;
    }
    let mut load = measure(&servers, per_register, batch).await;
    if let Engine::Postgres(url) = &engine {
        load.top = statements(
            url,
            "SELECT calls::text, round(total_exec_time)::text, left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 6",
        )
        .await;
    }
    load
}

/// Rows of a query on PostgreSQL's statement statistics, as text (none if
/// the cluster was started without pg_stat_statements).
async fn statements(url: &str, sql: &str) -> Vec<Vec<String>> {
    let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
        return vec![];
    };
    tokio::spawn(conn);
    let Ok(rows) = client.query(sql, &[]).await else {
        return vec![];
    };
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<_, Option<String>>(i)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

fn print_where_the_time_goes(setups: &[(&str, &Load)]) {
    println!(
        "\nWhere the ingest's time goes (CPU seconds; the machine has {} cores):",
        cores()
    );
    println!(
        "{:<16} {:>8} {:>12} {:>10}",
        "setup", "wall s", "OMS cpu s", "client cpu s"
    );
    for (name, l) in setups {
        let s = &l.spent;
        println!(
            "{name:<16} {:>8.2} {:>12.2} {:>10.2}",
            s.wall, s.oms_cpu, s.client_cpu
        );
    }
    for (name, l) in setups.iter().filter(|(_, l)| !l.top.is_empty()) {
        println!("\nPostgreSQL's top statements, {name} (pg_stat_statements):");
        println!("{:>8} {:>10}  statement", "calls", "total ms");
        for row in &l.top {
            println!("{:>8} {:>10}  {}", row[0], row[1], row[2]);
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn rows(sqlite: &Load, pg1: &Load, pg2: &Load) -> Vec<Row> {
    let mut rows = Vec::new();
    for (name, l) in [
        ("sqlite_1_oms", sqlite),
        ("postgres_1_oms", pg1),
        ("postgres_2_oms", pg2),
    ] {
        let ingest = Row::new(format!("{name}_ingest"), l.ingest_per_sec, "orders/s");
        rows.push(match name {
            "sqlite_1_oms" => ingest,
            "postgres_2_oms" => ingest
                .next_to("sqlite_1_oms_ingest", sqlite.ingest_per_sec)
                .goal("ratio >= 2"),
            _ => ingest.next_to("sqlite_1_oms_ingest", sqlite.ingest_per_sec),
        });
        rows.push(Row::new(format!("{name}_put_p50"), l.put_p50_ms, "ms"));
        rows.push(Row::new(format!("{name}_put_p99"), l.put_p99_ms, "ms"));
        let catalog = Row::new(format!("{name}_catalog_download"), l.catalog_ms, "ms");
        rows.push(match name {
            "sqlite_1_oms" => catalog.goal("<= 5000"),
            _ => catalog
                .next_to("sqlite_1_oms_catalog_download", sqlite.catalog_ms)
                .goal("<= 5000"),
        });
    }
    rows
}

#[tokio::main]
async fn main() {
    let per_register = arg("--orders-per-register", 4_000);
    let batch = arg("--batch", 100);
    let products = arg("--products", 100_000);
    let server = std::env::var("TILL_BENCH_POSTGRES").expect(
        "TILL_BENCH_POSTGRES: a PostgreSQL server's URL (cargo xtask bench chain starts one)",
    );
    let args = (per_register, batch, products);

    let data = temp_dir("till-oms-chain");
    let sqlite = run_setup(Engine::Sqlite(data.clone()), 1, args).await;
    let pg1 = Engine::Postgres(create_database(&server, "chain_one_oms").await);
    let pg1 = run_setup(pg1, 1, args).await;
    let pg2 = Engine::Postgres(create_database(&server, "chain_two_oms").await);
    let pg2 = run_setup(pg2, 2, args).await;
    let _ = std::fs::remove_dir_all(&data);

    let rows = rows(&sqlite, &pg1, &pg2);
    println!(
        "Chain back office: {REGISTERS} registers × {per_register} orders in batches of {batch}, \
         a 9th register's single PUTs timed meanwhile, then a {products}-product catalog download"
    );
    print_rows(&rows);
    print_json(
        "chain",
        json!({ "registers": REGISTERS, "orders_per_register": per_register, "batch": batch, "products": products }),
        &rows,
    );
    print_where_the_time_goes(&[
        ("sqlite_1_oms", &sqlite),
        ("postgres_1_oms", &pg1),
        ("postgres_2_oms", &pg2),
    ]);
}
