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
//! - Sale commit (`tests/bench_store.rs`, ignored by the test tiers): a
//!   cash sale through the update path (read, decide, write order, outbox
//!   entry, next sale, sequence) in one strict transaction, next to a raw
//!   strict `put` of the same record.
//! - Money safety: the deterministic simulator (`crates/sim`) over a
//!   campaign of seeds, in seeds per second; and the browser chaos run
//!   (`tests/e2e/chaos.spec.mjs`) of 200 sales through a seeded mix of
//!   faults against the real OMS and bridge, whose figures (lost,
//!   duplicated, stale in the OMS, double-charged, charged but not
//!   recorded) have a goal of 0.
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
    system::build_servers(system::Build::Release)?;
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
    let oms = system::start_big_catalog_oms(&data, BENCH_PRODUCTS, system::Build::Release)?;
    step(&format!(
        "Register: {BENCH_PRODUCTS} products in headless Chromium (a minute or two)"
    ));
    let result = proc::run(
        system::dev_register_env(&mut Command::new("node"))
            .arg("tests/bench/register.mjs")
            .env("TILL_BENCH_OMS_URL", &oms.url)
            .env("TILL_BENCH_PRODUCTS", BENCH_PRODUCTS.to_string())
            .env("TILL_DIST", root().join("dist"))
            .env("NODE_PATH", root().join("node_modules"))
            .current_dir(root()),
    );
    drop(oms);
    result?;

    simulator()?;
    chaos(&data)?;

    let sys = system::start(&system::Options::loopback(
        data.join("sync"),
        system::Build::Release,
    ))?;
    step("Sync: draining 1,000 and 10,000 queued orders to the OMS (a minute or two)");
    let result = proc::run(
        system::dev_register_env(&mut Command::new("node"))
            .arg("tests/bench/sync.mjs")
            .env("TILL_BENCH_OMS_URL", sys.oms_url())
            .env("TILL_BENCH_BRIDGE_URL", sys.bridge_url())
            .current_dir(root()),
    );
    drop(sys);
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// Seeds of the simulator run by the bench (about a minute on 2 cores).
const SIM_SEEDS: u64 = 10_000;
/// Sales of the browser chaos run.
const CHAOS_SALES: usize = 200;

/// The whole-system simulator over a campaign of seeds.
fn simulator() -> Result {
    step(&format!("Simulator: {SIM_SEEDS} seeds (release)"));
    proc::run(
        Command::new("cargo")
            .args(["build", "--release", "--locked", "-p", "till-sim"])
            .current_dir(root()),
    )?;
    let (ok, out) = proc::run_captured(
        Command::new(root().join("target/release/till-sim"))
            .args(["--seeds", &SIM_SEEDS.to_string(), "--from", "5000000"])
            .current_dir(root()),
    )?;
    let per_sec = out
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[1] == "seeds/s;")
        .and_then(|w| w[0].parse::<f64>().ok());
    println!("\nMoney safety: simulator (goal: every seed passes; a few thousand seeds a minute)");
    println!("{:<28} {:>9} {:<8}", "benchmark", "value", "unit");
    println!("{:<28} {:>9} {:<8}", "sim_seeds", SIM_SEEDS, "seeds");
    println!(
        "{:<28} {:>9.1} {:<8}",
        "sim_seeds_per_s",
        per_sec.unwrap_or(0.0),
        "seeds/s"
    );
    println!(
        "{{\"suite\":\"simulator\",\"results\":[{{\"name\":\"sim_seeds_passed\",\"value\":{},\"goal\":{SIM_SEEDS}}},{{\"name\":\"sim_seeds_per_s\",\"value\":{:.1}}}]}}",
        if ok { SIM_SEEDS } else { 0 },
        per_sec.unwrap_or(0.0)
    );
    if ok {
        Ok(())
    } else {
        Err("a simulator seed broke a promise (its seed and trace are above)".into())
    }
}

/// The browser chaos run: sales through faults, then the figures.
fn chaos(data: &std::path::Path) -> Result {
    let sys = system::start(&system::Options::for_playwright(
        data.join("chaos"),
        system::Build::Release,
    ))?;
    step(&format!(
        "Chaos: {CHAOS_SALES} sales through faults against the real OMS and bridge (about ten minutes)"
    ));
    let result = proc::run_captured(
        system::dev_register_env(&mut Command::new(
            root().join("node_modules/.bin/playwright"),
        ))
        .args([
            "test",
            "--config",
            "tests/e2e/playwright.config.mjs",
            "chaos",
        ])
        .env("TILL_CHAOS_SALES", CHAOS_SALES.to_string())
        .env("TILL_BASE_URL", sys.oms_url())
        .env("TILL_BRIDGE_URL", sys.bridge_url())
        .current_dir(root()),
    );
    drop(sys);
    let (ok, out) = result?;
    let figures = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("CHAOS "))
        .unwrap_or("{}")
        .to_owned();
    println!("\nMoney safety: browser chaos run (goal: 0 for every figure but sales)");
    println!("{:<28} {:>9} {:>6}", "figure", "value", "goal");
    for name in [
        "sales",
        "lost",
        "duplicated",
        "stale_in_oms",
        "double_charged",
        "charged_not_recorded",
    ] {
        let value = json_number(&figures, name).map_or("?".into(), |v| v.to_string());
        let goal = if name == "sales" {
            CHAOS_SALES.to_string()
        } else {
            "0".into()
        };
        println!("{name:<28} {value:>9} {goal:>6}");
    }
    println!("{{\"suite\":\"chaos\",\"figures\":{figures}}}");
    if ok {
        Ok(())
    } else {
        Err("the chaos run failed (its output is above)".into())
    }
}

/// The number after `"name":` in a flat JSON object.
fn json_number(json: &str, name: &str) -> Option<u64> {
    let rest = &json[json.find(&format!("\"{name}\":"))? + name.len() + 3..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
