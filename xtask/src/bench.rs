//! `cargo xtask bench`: performance figures, printed as a table and as JSON,
//! each next to a baseline measured in the same run.
//!
//! - OMS (`crates/oms/examples/bench.rs`): batch ingest of orders with
//!   durable commits next to raw SQLite inserts of the same rows; download
//!   of a 100,000-product catalog (time and bytes, plain and gzip) next to
//!   reading the same rows from SQLite.
//! - Register (`tests/bench/register.mjs`, headless Chromium against the
//!   release build and a real OMS with 100,000 products): the app shell's
//!   gzip size; the first catalog download next to fetching the same pages
//!   without storing them; navigation to a usable register next to a raw
//!   IndexedDB read of the products; search keystroke latency p50/p95 next
//!   to a naive scan of the names.
//!
//! - Sync (`tests/bench/sync.mjs`): the register draining 1,000 and 10,000
//!   queued orders to a real OMS, next to posting the same number of orders
//!   straight to the batch endpoint.
//! - Sale commit (`tests/bench_store.rs`, ignored by the test tiers): an
//!   order and its outbox entry in one strict transaction, next to a raw
//!   strict `put` of the same record.
//!
//! Benchmarks are never assertions: they report, and a person compares.

use crate::proc::{self, root, step};
use crate::system;
use crate::test::tempdir;
use crate::tools;
use crate::Result;
use std::process::Command;

const BENCH_PRODUCTS: usize = 100_000;

pub fn run(args: &[String]) -> Result {
    if let Some(a) = args.first() {
        return Err(format!("bench takes no options yet (got {a:?})"));
    }
    step("OMS: batch ingest and catalog download (release build; about a minute)");
    proc::run(
        Command::new("cargo")
            .args([
                "run",
                "--release",
                "--locked",
                "-p",
                "till-oms",
                "--example",
                "bench",
            ])
            .current_dir(root()),
    )?;

    tools::ensure_all()?;
    tools::build_app()?;
    system::build_servers()?;
    step("Sale commit: order + outbox (strict) next to a raw strict put, in headless Chromium");
    proc::run(
        Command::new("cargo")
            .args([
                "test",
                "--locked",
                "--release",
                "--target",
                tools::WASM_TARGET,
                "-p",
                "till",
                "--test",
                "bench_store",
                "--",
                "--include-ignored",
                "--nocapture",
            ])
            .env("CHROMEDRIVER", tools::chromedriver())
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .current_dir(root()),
    )?;

    let data = tempdir("till-bench")?;
    let oms = system::start_big_catalog_oms(&data, BENCH_PRODUCTS)?;
    step(&format!(
        "Register: {BENCH_PRODUCTS} products in headless Chromium (a minute or two)"
    ));
    let result = proc::run(
        Command::new("node")
            .arg("tests/bench/register.mjs")
            .env("TILL_BENCH_OMS_URL", &oms.url)
            .env("TILL_BENCH_PRODUCTS", BENCH_PRODUCTS.to_string())
            .env("TILL_DIST", root().join("dist"))
            .env("TILL_REGISTER_ID", system::DEV_REGISTER)
            .env("TILL_REGISTER_TOKEN", system::DEV_REGISTER_TOKEN)
            .env("TILL_PAIRING_TOKEN", system::DEV_PAIRING_TOKEN)
            .env("TILL_CHROMIUM", tools::chromium())
            .env("NODE_PATH", root().join("node_modules"))
            .current_dir(root()),
    );
    drop(oms);
    result?;

    let sys = system::start(&system::Options {
        host: "127.0.0.1",
        oms_port: 0,
        bridge_port: 0,
        data: data.join("sync"),
        faults: false,
        sim_delay_ms: None,
        terminal_timeout_secs: None,
    })?;
    step("Sync: draining 1,000 and 10,000 queued orders to the OMS (a minute or two)");
    let result = proc::run(
        Command::new("node")
            .arg("tests/bench/sync.mjs")
            .env("TILL_BENCH_OMS_URL", sys.oms_url())
            .env("TILL_BENCH_BRIDGE_URL", sys.bridge_url())
            .env("TILL_REGISTER_ID", system::DEV_REGISTER)
            .env("TILL_REGISTER_TOKEN", system::DEV_REGISTER_TOKEN)
            .env("TILL_PAIRING_TOKEN", system::DEV_PAIRING_TOKEN)
            .env("TILL_CHROMIUM", tools::chromium())
            .current_dir(root()),
    );
    drop(sys);
    let _ = std::fs::remove_dir_all(&data);
    result
}
