//! `cargo xtask sim`: the deterministic whole-system simulator
//! (`crates/sim`), built in release mode.
//!
//! - `cargo xtask sim --seed S` replays one seed (a failure prints its seed
//!   and the last events; set `TILL_SIM_TRACE=N` for more of them);
//! - `cargo xtask sim --seeds N [--from S] [--actions N]` runs a campaign
//!   and prints seeds per second. `cargo xtask test` runs a few thousand
//!   seeds of its own; long campaigns belong here.

use crate::proc::{self, root, step};
use crate::Result;
use std::process::Command;

pub fn run(args: &[String]) -> Result {
    let wants_seed = args.iter().any(|a| a == "--seed" || a == "--seeds");
    if !wants_seed {
        return Err("usage: cargo xtask sim --seed S | --seeds N [--from S] [--actions N]".into());
    }
    step("Building the simulator (release)");
    proc::run(
        Command::new("cargo")
            .args(["build", "--release", "--locked", "-p", "till-sim"])
            .current_dir(root()),
    )?;
    step("Simulating");
    proc::run(
        Command::new(root().join("target/release/till-sim"))
            .args(args)
            .current_dir(root()),
    )
}
