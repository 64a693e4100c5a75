//! # xtask: the two commands a newcomer runs, and the benchmarks
//!
//! - `cargo xtask serve`: installs what is missing, builds the app in
//!   release mode and starts the whole system on this machine, then prints
//!   the URL to open.
//! - `cargo xtask test`: installs what is missing and runs every tier in
//!   order: formatting, lints, native tests, browser tests (headless
//!   Chromium), end-to-end tests (Playwright against the real servers). It
//!   prints a count per tier and fails if any tier fails or runs no test.
//! - `cargo xtask bench`: the performance figures, as a table and as JSON.
//! - `cargo xtask sim`: the deterministic whole-system simulator: one seed
//!   replayed, or a long campaign.
//!
//! Why a Rust program and not a shell script: it runs wherever cargo does,
//! it can parse test output and manage server processes properly (a
//! SIGTERM to xtask stops every server it started), and it needs only two
//! small crates, `ctrlc` and `getrandom` (so its own build takes seconds on
//! a fresh machine, before anything else is installed).

mod bench;
mod contract;
mod pg;
mod proc;
mod serve;
mod sim;
mod size;
mod system;
mod test;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  serve [--lan] [--postgres] [--port N] [--bridge-port N] [--data DIR] [--no-build] [--debug-servers]
                             build the app and start Till (OMS serving the app, bridge with the
                             simulated terminal); prints the URL and the tokens to enter;
                             --lan listens on all interfaces with random tokens kept in DIR;
                             --postgres keeps the OMS's data in a throw-away PostgreSQL
  test [TIER...]             run every test tier, or only the named ones:
                             fmt, clippy, native, pg, browser, e2e, contract
  bench [PART...]            run the benchmarks (parts: oms, chain, commit,
                             register, lighthouse, sim, chaos, sync; all by
                             default); prints a table and JSON
  sim --seed S               replay one seed of the whole-system simulator
  sim --seeds N [--from S]   a simulator campaign; prints seeds per second
  install                    only install what is missing (toolchain target, Trunk,
                             wasm-bindgen-cli, wasm-opt, Chromium, npm packages, Schemathesis,
                             PostgreSQL)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    proc::stop_children_on_signal();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("sim") => sim::run(&args[1..]),
        Some("install") => tools::ensure_all(),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Errors are sentences for the person at the terminal.
pub type Result<T = ()> = std::result::Result<T, String>;
