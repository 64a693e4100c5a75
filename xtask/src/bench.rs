//! `cargo xtask bench`: performance figures, printed as a table and as JSON,
//! each next to a baseline measured in the same run.
//!
//! - OMS (`crates/oms/examples/bench.rs`): batch ingest of orders with
//!   durable commits next to raw SQLite inserts of the same rows; download
//!   of a 100,000-product catalog (time and bytes, plain and gzip) next to
//!   reading the same rows from SQLite.
//! - Journal (`crates/oms/examples/journal.rs`): the back office verifying
//!   100,000 stored journal entries (read, parse, chain, signature) next to
//!   bare ES256 verifications of the same hashes; their verified ingest;
//!   the native cost of signing one entry.
//! - Card (`crates/bridge/examples/card.rs`): a card payment from the
//!   register's start to an approval it can read, through the bridge's API
//!   and nexo over HTTPS to `till-terminal` (p50/p95), next to the same
//!   journal, driver, codec and terminal called in process.
//! - Chain (`crates/oms/examples/chain.rs`): 8 registers posting batches
//!   concurrently while a 9th PUTs single orders (p50/p99), then a catalog
//!   download, on SQLite with one OMS, on PostgreSQL with one OMS and with
//!   two OMS processes against one database (a throw-away cluster with
//!   durable commits), with the CPU each side spent and PostgreSQL's top
//!   statements.
//! - Register (`tests/bench/register.mjs`, headless Chromium against the
//!   release build and a real OMS with 100,000, then 300,000 products): the
//!   app shell's brotli and gzip size; the first catalog download by four
//!   fresh registers next to fetching the same pages without storing them
//!   (the median, and the worst run's own ratio); navigation to a usable
//!   register next to reading the stored pages and parsing them in plain
//!   JS (each figure of several runs with its min / median / max); search
//!   keystroke latency p50/p95 next to a naive scan of the names; the JS
//!   heap and WebAssembly memory with the catalog loaded.
//! - Lighthouse (`tests/bench/lighthouse.mjs`; Lighthouse from npm, installed
//!   into `target/tools` on first use): the mobile preset against the
//!   release build served by a real OMS, median of three runs, next to the
//!   goals (performance ≥ 95, accessibility 100).
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
//! `cargo xtask bench PART...` runs only the parts named (see [`PARTS`]).
//! Benchmarks are never assertions: they report, and a person compares.

use crate::pg;
use crate::proc::{self, root, step};
use crate::system;
use crate::test::tempdir;
use crate::tools;
use crate::Result;
use std::process::Command;

/// The catalog sizes the register is measured with: a large store, and
/// the largest a store is expected to sell from one register.
const BENCH_PRODUCTS: [usize; 2] = [100_000, 300_000];

/// The parts of the bench, in the order they run; `cargo xtask bench
/// sync register` runs only those.
const PARTS: &[&str] = &[
    "oms",
    "journal",
    "card",
    "chain",
    "commit",
    "register",
    "lighthouse",
    "sim",
    "chaos",
    "sync",
];

pub fn run(args: &[String]) -> Result {
    if let Some(a) = args.iter().find(|a| !PARTS.contains(&a.as_str())) {
        return Err(format!(
            "bench: unknown part {a:?}; the parts are {}",
            PARTS.join(", ")
        ));
    }
    let wanted = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    // Every part runs even when one before it could not: one run shows
    // every figure it can, and the command fails naming each part that did
    // not run to its end.
    let mut failed: Vec<String> = Vec::new();
    let mut part = |name: &str, f: &mut dyn FnMut() -> Result| {
        if !wanted(name) {
            return;
        }
        if let Err(e) = f() {
            eprintln!("bench: the {name} part could not run: {e}");
            failed.push(format!("{name} ({e})"));
        }
    };
    part("oms", &mut oms);
    part("journal", &mut journal);
    part("card", &mut card);
    tools::ensure_all()?;
    tools::build_app()?;
    system::build_servers(system::Build::Release)?;
    part("chain", &mut chain);
    part("commit", &mut sale_commit);
    let data = tempdir("till-bench")?;
    part("register", &mut || register(&data));
    part("lighthouse", &mut || lighthouse(&data));
    part("sim", &mut simulator);
    part("chaos", &mut || chaos(&data));
    part("sync", &mut || sync(&data));
    let _ = std::fs::remove_dir_all(&data);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "bench: {} part(s) did not run to their end, so their figures are missing: {}",
            failed.len(),
            failed.join("; ")
        ))
    }
}

/// Runs one of the OMS's examples, built for release.
fn oms_example(name: &str) -> Result {
    proc::run(
        Command::new("cargo")
            .args([
                "run",
                "--release",
                "--locked",
                "-p",
                "till-oms",
                "--example",
                name,
            ])
            .current_dir(root()),
    )
}

fn oms() -> Result {
    step("OMS: batch ingest and catalog download (release build; about a minute)");
    oms_example("bench")
}

fn journal() -> Result {
    step("Journal: verify 100,000 stored entries next to bare ES256 verifications (release build; about two minutes)");
    oms_example("journal")
}

fn card() -> Result {
    step("Card payment through the bridge: nexo over HTTPS to till-terminal, next to the same journal, driver and terminal in process (release build)");
    proc::run(
        Command::new("cargo")
            .args(["run", "--release", "--locked", "-p", "till-bridge"])
            .args(["--example", "card"])
            .current_dir(root()),
    )
}

fn chain() -> Result {
    step("Chain back office: SQLite next to PostgreSQL with one and two OMS processes (a few minutes)");
    let cluster = pg::Cluster::start(pg::Durability::Full, false)?;
    proc::run(
        Command::new("cargo")
            .args(["run", "--release", "--locked", "-p", "till-oms"])
            .args(["--example", "chain"])
            .env("TILL_OMS_BIN", system::Build::Release.binary("till-oms"))
            .env("TILL_BENCH_POSTGRES", cluster.server_url())
            .current_dir(root()),
    )
}

fn sale_commit() -> Result {
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
    )
}

fn register(data: &std::path::Path) -> Result {
    for products in BENCH_PRODUCTS {
        let oms = system::start_big_catalog_oms(
            &data.join(format!("big-{products}")),
            products,
            system::Build::Release,
        )?;
        step(&format!(
            "Register: {products} products in headless Chromium (a minute or two)"
        ));
        proc::run(
            system::dev_register_env(&mut Command::new("node"))
                .arg("tests/bench/register.mjs")
                .env("TILL_BENCH_OMS_URL", &oms.url)
                .env("TILL_BENCH_PRODUCTS", products.to_string())
                .env("TILL_DIST", root().join("dist"))
                .env("NODE_PATH", root().join("node_modules"))
                .current_dir(root()),
        )?;
    }
    Ok(())
}

fn lighthouse(data: &std::path::Path) -> Result {
    let cli = tools::ensure_lighthouse()?;
    let sys = system::start(&system::Options::loopback(
        data.join("lighthouse"),
        system::Build::Release,
    ))?;
    step("Lighthouse: the app's first load, mobile preset, three runs (a minute or two)");
    proc::run(
        Command::new("node")
            .arg("tests/bench/lighthouse.mjs")
            .env("TILL_LIGHTHOUSE", cli)
            .env("TILL_BENCH_OMS_URL", sys.oms_url())
            .env("TILL_CHROMIUM", tools::chromium())
            .current_dir(root()),
    )
}

fn sync(data: &std::path::Path) -> Result {
    let sys = system::start(&system::Options::loopback(
        data.join("sync"),
        system::Build::Release,
    ))?;
    step("Sync: draining 1,000 and 10,000 queued orders to the OMS (a minute or two)");
    proc::run(
        system::dev_register_env(&mut Command::new("node"))
            .arg("tests/bench/sync.mjs")
            .env("TILL_BENCH_OMS_URL", sys.oms_url())
            .env("TILL_BENCH_BRIDGE_URL", sys.bridge_url())
            .current_dir(root()),
    )
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
        .env("TILL_TERMINAL_CONTROLS", sys.terminal_controls())
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
