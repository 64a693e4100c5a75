//! `cargo xtask test`: every tier, in order, with a count per tier.
//!
//! fmt → clippy → native (`cargo test` of core, servers and xtask) → pg
//! (the OMS's API suite again, on a throw-away PostgreSQL) →
//! browser (wasm-bindgen-test in headless Chromium) → size (the first
//! download, brotli, against the budget in `tests/size-budget.toml`) → e2e (Playwright
//! driving the release build served by the real OMS) → https (the same
//! over TLS: pairing by code, a card payment, revocation) → contract
//! (Schemathesis against both servers' OpenAPI documents). Every tier runs even
//! if an earlier one failed, so one run shows everything that is wrong; the
//! command fails if any tier failed or a test tier ran no test.

use crate::pg;
use crate::proc::{self, fmt_duration, root, step};
use crate::system;
use crate::tools;
use crate::Result;
use std::process::Command;
use std::time::{Duration, Instant};

/// The native test crates: the app is tested in the browser instead (a
/// native build of it would compile for minutes to run nothing).
const NATIVE_CRATES: &[&str] = &[
    "till-core",
    "till-http",
    "till-nexo",
    "till-oms",
    "till-terminal",
    "till-bridge",
    "till-sim",
    "xtask",
];
const TIERS: &[&str] = &[
    "fmt", "clippy", "native", "pg", "browser", "size", "e2e", "https", "contract",
];
/// Products in the end-to-end tests' large catalog: enough pages (of 5,000)
/// for the download's progress to be seen.
const BIG_CATALOG_PRODUCTS: usize = 30_000;

struct Outcome {
    tier: &'static str,
    passed: u64,
    failed: u64,
    ok: bool,
    counts_tests: bool,
    took: Duration,
    note: String,
}

pub fn run(args: &[String]) -> Result {
    for a in args {
        if !TIERS.contains(&a.as_str()) {
            return Err(format!(
                "unknown tier {a:?}; tiers are {}",
                TIERS.join(", ")
            ));
        }
    }
    let wanted = |t: &str| args.is_empty() || args.iter().any(|a| a == t);
    let needs_wasm = wanted("browser")
        || wanted("size")
        || wanted("e2e")
        || wanted("https")
        || wanted("clippy")
        || wanted("contract");
    let needs_browser = wanted("browser") || wanted("e2e") || wanted("https");

    step("Checking the tools (installs only what is missing)");
    if needs_wasm {
        tools::ensure_build_tools()?;
    }
    if needs_browser {
        tools::ensure_browser()?;
    }
    if wanted("pg") {
        pg::ensure_server()?;
    }
    tools::fetch()?;

    let mut outcomes = Vec::new();
    for &tier in TIERS.iter().filter(|t| wanted(t)) {
        step(&format!("Tier: {tier}"));
        let started = Instant::now();
        let mut o = match tier {
            "fmt" => check(
                "fmt",
                Command::new("cargo").args(["fmt", "--all", "--check"]),
            ),
            "clippy" => clippy(),
            "native" => native(),
            "pg" => postgres(),
            "browser" => browser(),
            "size" => size(),
            "e2e" => e2e(),
            "https" => https(),
            "contract" => {
                tests_outcome("contract", crate::contract::run(), crate::contract::counts)
            }
            _ => unreachable!("tiers are checked above"),
        };
        o.took = started.elapsed();
        outcomes.push(o);
    }
    report(&outcomes)
}

fn check(tier: &'static str, cmd: &mut Command) -> Outcome {
    let ok = proc::run(cmd.current_dir(root())).is_ok();
    Outcome {
        tier,
        passed: 0,
        failed: 0,
        ok,
        counts_tests: false,
        took: Duration::ZERO,
        note: String::new(),
    }
}

fn clippy() -> Outcome {
    // Native for the whole workspace, and the app again for wasm32, where
    // its browser-only code is compiled.
    let native = proc::run(
        Command::new("cargo")
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(root()),
    );
    let wasm = proc::run(
        Command::new("cargo")
            .args([
                "clippy",
                "-p",
                "till",
                "--target",
                tools::WASM_TARGET,
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(root()),
    );
    Outcome {
        tier: "clippy",
        passed: 0,
        failed: 0,
        ok: native.is_ok() && wasm.is_ok(),
        counts_tests: false,
        took: Duration::ZERO,
        note: String::new(),
    }
}

/// Sums cargo's `test result: ok. N passed; M failed; ...` lines.
fn cargo_counts(output: &str) -> (u64, u64) {
    let mut passed = 0;
    let mut failed = 0;
    for line in output.lines() {
        if let Some(rest) = line.trim().strip_prefix("test result: ") {
            for part in rest.split([';', '.']) {
                let mut w = part.split_whitespace();
                match (w.next().and_then(|n| n.parse::<u64>().ok()), w.next()) {
                    (Some(n), Some("passed")) => passed += n,
                    (Some(n), Some("failed")) => failed += n,
                    _ => {}
                }
            }
        }
    }
    (passed, failed)
}

fn tests_outcome(
    tier: &'static str,
    result: Result<(bool, String)>,
    counts: fn(&str) -> (u64, u64),
) -> Outcome {
    match result {
        Ok((ok, out)) => {
            let (passed, failed) = counts(&out);
            Outcome {
                tier,
                passed,
                failed,
                ok: ok && failed == 0,
                counts_tests: true,
                took: Duration::ZERO,
                note: String::new(),
            }
        }
        Err(e) => Outcome {
            tier,
            passed: 0,
            failed: 0,
            ok: false,
            counts_tests: true,
            took: Duration::ZERO,
            note: e,
        },
    }
}

fn native() -> Outcome {
    let mut cmd = Command::new("cargo");
    cmd.args(["test", "--locked", "--no-fail-fast"]);
    for c in NATIVE_CRATES {
        cmd.args(["-p", c]);
    }
    tests_outcome(
        "native",
        proc::run_captured(cmd.current_dir(root())),
        cargo_counts,
    )
}

/// The OMS's whole API suite on PostgreSQL: the same tests as the native
/// tier runs on SQLite, with the engine as their parameter.
fn postgres() -> Outcome {
    let run = || -> Result<(bool, String)> {
        let cluster = pg::Cluster::start(pg::Durability::Off, true)?;
        let mut cmd = Command::new("cargo");
        cmd.args(["test", "--locked", "--no-fail-fast", "-p", "till-oms"])
            .args(["--test", "api"])
            .env("TILL_TEST_POSTGRES", cluster.server_url())
            .env(
                "TILL_TEST_POSTGRES_CA",
                cluster.ca_file().unwrap_or_default(),
            )
            .current_dir(root());
        proc::run_captured(&mut cmd)
    };
    tests_outcome("pg", run(), cargo_counts)
}

fn browser() -> Outcome {
    let mut cmd = Command::new("cargo");
    cmd.args([
        "test",
        "--locked",
        "--no-fail-fast",
        "--target",
        tools::WASM_TARGET,
        "-p",
        "till",
        "--tests",
    ])
    .env("CHROMEDRIVER", tools::chromedriver())
    .env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
    .current_dir(root());
    tests_outcome("browser", proc::run_captured(&mut cmd), cargo_counts)
}

/// Playwright's closing lines: `  12 passed (8.1s)`, `  1 failed`, `  2 flaky`.
fn playwright_counts(output: &str) -> (u64, u64) {
    let mut passed = 0;
    let mut failed = 0;
    for line in output.lines() {
        let mut w = line.split_whitespace();
        match (
            w.next().and_then(|n| n.parse::<u64>().ok()),
            w.next(),
            w.next(),
        ) {
            (Some(n), Some("passed"), _) => passed = n,
            (Some(n), Some("failed" | "flaky" | "interrupted"), None) => failed += n,
            _ => {}
        }
    }
    (passed, failed)
}

/// The first download against the budget kept in the repo (the release
/// build the e2e tier then serves).
fn size() -> Outcome {
    let run = || -> Result<(bool, String)> {
        tools::build_app()?;
        let measured = crate::size::measure(&root().join("dist"))?;
        println!("    counted: {}", measured.files.join(", "));
        Ok(crate::size::verdict(
            measured.brotli_bytes,
            crate::size::budget()?,
        ))
    };
    let (ok, note) = run().unwrap_or_else(|e| (false, e));
    println!("    {note}");
    Outcome {
        tier: "size",
        passed: 0,
        failed: 0,
        ok,
        counts_tests: false,
        took: Duration::ZERO,
        note,
    }
}

fn e2e() -> Outcome {
    let run = || -> Result<(bool, String)> {
        tools::build_app()?;
        system::build_servers(system::Build::Debug)?;
        let data = tempdir("till-e2e")?;
        let sys = system::start(&system::Options::for_playwright(
            data.clone(),
            system::Build::Debug,
        ))?;
        let big = system::start_big_catalog_oms(
            &data.join("big"),
            BIG_CATALOG_PRODUCTS,
            system::Build::Debug,
        )?;
        step(&format!(
            "Playwright against {} (bridge {}, large catalog {})",
            sys.oms_url(),
            sys.bridge_url(),
            big.url
        ));
        let mut playwright = Command::new(root().join("node_modules/.bin/playwright"));
        system::dev_register_env(&mut playwright);
        playwright.args(["test", "--config", "tests/e2e/playwright.config.mjs"]);
        // After a deliberate change to a screen: new baselines, to review.
        if std::env::var_os("TILL_UPDATE_SCREENSHOTS").is_some() {
            playwright.arg("--update-snapshots");
        }
        // While working on one journey: only the tests whose title matches.
        if let Ok(grep) = std::env::var("TILL_E2E_GREP") {
            playwright.args(["--grep", &grep]);
        }
        let result = proc::run_captured(
            playwright
                .env("TILL_BASE_URL", sys.oms_url())
                .env("TILL_BRIDGE_URL", sys.bridge_url())
                .env("TILL_TERMINAL_CONTROLS", sys.terminal_controls())
                .env("TILL_BIG_CATALOG_URL", &big.url)
                // Enrolment and removal, as the store's owner does them.
                .env("TILL_OMS_BIN", system::Build::Debug.binary("till-oms"))
                .env("TILL_OMS_DATA", &sys.oms_data)
                .env(
                    "TILL_BRIDGE_BIN",
                    system::Build::Debug.binary("till-bridge"),
                )
                .env("TILL_BRIDGE_DATA", &sys.bridge_data)
                .env("TILL_ADMIN_TOKEN", system::DEV_ADMIN_TOKEN)
                .env(
                    "TILL_BIG_CATALOG_PRODUCTS",
                    BIG_CATALOG_PRODUCTS.to_string(),
                )
                .env(
                    "TILL_XTASK",
                    std::env::current_exe().map_err(|e| e.to_string())?,
                )
                .current_dir(root()),
        );
        drop(big);
        drop(sys);
        let _ = std::fs::remove_dir_all(&data);
        result
    };
    tests_outcome("e2e", run(), playwright_counts)
}

/// The system over HTTPS (a local CA, both servers on TLS) with a plain
/// HTTP one beside it for the comparison: Playwright's `https.spec.mjs`.
fn https() -> Outcome {
    let run = || -> Result<(bool, String)> {
        tools::build_app()?;
        system::build_servers(system::Build::Debug)?;
        let data = tempdir("till-https")?;
        let sys = system::start(&system::Options {
            tls: true,
            ..system::Options::for_playwright(data.join("tls"), system::Build::Debug)
        })?;
        let plain = system::start(&system::Options::for_playwright(
            data.join("plain"),
            system::Build::Debug,
        ))?;
        let tls = sys.tls.clone().ok_or("the system started without TLS")?;
        step(&format!(
            "Playwright over HTTPS against {} (bridge {}), and over HTTP against {}",
            sys.oms_url(),
            sys.bridge_url(),
            plain.oms_url()
        ));
        let mut playwright = Command::new(root().join("node_modules/.bin/playwright"));
        system::dev_register_env(&mut playwright);
        let result = proc::run_captured(
            playwright
                .args(["test", "--config", "tests/e2e/https.config.mjs"])
                .env("TILL_BASE_URL", sys.oms_url())
                .env("TILL_BRIDGE_URL", sys.bridge_url())
                .env("TILL_TERMINAL_CONTROLS", sys.terminal_controls())
                .env("TILL_TLS_SPKI", &tls.spki)
                .env("NODE_EXTRA_CA_CERTS", &tls.ca)
                .env(
                    "TILL_BRIDGE_BIN",
                    system::Build::Debug.binary("till-bridge"),
                )
                .env("TILL_BRIDGE_DATA", &sys.bridge_data)
                .env("TILL_PLAIN_BASE_URL", plain.oms_url())
                .env("TILL_PLAIN_BRIDGE_URL", plain.bridge_url())
                .current_dir(root()),
        );
        drop(plain);
        drop(sys);
        let _ = std::fs::remove_dir_all(&data);
        result
    };
    tests_outcome("https", run(), playwright_counts)
}

/// A fresh folder under the system's temporary directory.
pub fn tempdir(prefix: &str) -> Result<std::path::PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn report(outcomes: &[Outcome]) -> Result {
    println!(
        "\n{:<8} {:>7} {:>7} {:>9}  result",
        "tier", "passed", "failed", "time"
    );
    let (mut passed, mut failed, mut bad) = (0, 0, Vec::new());
    for o in outcomes {
        let empty = o.counts_tests && o.passed == 0;
        let verdict = match (o.ok, empty) {
            (false, _) => "FAILED",
            (true, true) => "NO TESTS",
            (true, false) => "ok",
        };
        let (p, f) = if o.counts_tests {
            (o.passed.to_string(), o.failed.to_string())
        } else {
            ("-".into(), "-".into())
        };
        println!(
            "{:<8} {:>7} {:>7} {:>9}  {verdict} {}",
            o.tier,
            p,
            f,
            fmt_duration(o.took),
            o.note
        );
        passed += o.passed;
        failed += o.failed;
        if !o.ok || empty {
            bad.push(o.tier);
        }
    }
    // The plain closing line any CI reads.
    println!("\ntotal: {passed} passed, {failed} failed");
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("tiers that did not pass: {}", bad.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cargo_test_results_across_binaries() {
        let out = "test result: ok. 39 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.32s\n\
                   no tests to run!\n\
                   test result: FAILED. 10 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.06s\n\
                   test result: ok. 1 passed; 0 failed; 0 ignored; 0 filtered out; finished in 0.04s";
        assert_eq!(cargo_counts(out), (50, 1));
    }

    #[test]
    fn counts_playwright_results() {
        let out = "  ✓  1 [chromium] › register.spec.mjs:3:1 › shows the register (1.2s)\n\n  1 failed\n    [chromium] › x.spec.mjs\n  7 passed (9.3s)";
        assert_eq!(playwright_counts(out), (7, 1));
        assert_eq!(playwright_counts("  2 passed (1.0s)"), (2, 0));
    }
}
