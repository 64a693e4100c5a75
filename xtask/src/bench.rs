//! `cargo xtask bench`: performance figures, printed as a table and as JSON,
//! each next to a baseline measured in the same run.
//!
//! - OMS (`crates/oms/examples/bench.rs`): batch ingest of orders with
//!   durable commits next to raw SQLite inserts of the same rows; download
//!   of a 100,000-product catalog (time and bytes, plain and gzip) next to
//!   reading the same rows from SQLite.
//!
//! Benchmarks are never assertions: they report, and a person compares.

use crate::proc::{self, root, step};
use crate::Result;
use std::process::Command;

pub fn run(args: &[String]) -> Result {
    if let Some(a) = args.first() {
        return Err(format!("bench takes no options yet (got {a:?})"));
    }
    step("OMS: batch ingest and catalog download (release build; takes about a minute)");
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
    )
}
