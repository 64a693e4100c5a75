//! `till-sim`: runs the simulator from the command line (what `cargo xtask
//! sim` calls).
//!
//! - `till-sim --seed S`: replays one seed and prints its trace on failure;
//! - `till-sim --seeds N [--from S]`: a campaign of N seeds; prints seeds
//!   per second and the first failing seed.

use std::process::ExitCode;
use std::time::Instant;
use till_sim::{run, Config};

const USAGE: &str = "usage: till-sim --seed S | --seeds N [--from S] [--actions N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| -> Option<u64> {
        let i = args.iter().position(|a| a == name)?;
        args.get(i + 1)?.parse().ok()
    };
    let mut config = Config::default();
    if let Some(n) = value("--actions") {
        config.actions = n as usize;
    }
    if let Some(seed) = value("--seed") {
        return replay(seed, &config);
    }
    let Some(count) = value("--seeds") else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    campaign(value("--from").unwrap_or(0), count, &config)
}

fn replay(seed: u64, config: &Config) -> ExitCode {
    match run(seed, config) {
        Ok(r) => {
            println!("seed {seed}: ok — {r:?}");
            ExitCode::SUCCESS
        }
        Err(v) => {
            eprintln!("{v}");
            ExitCode::FAILURE
        }
    }
}

fn campaign(from: u64, count: u64, config: &Config) -> ExitCode {
    let started = Instant::now();
    let (mut sales, mut charges, mut crashes, mut attempts, mut refunds) = (0, 0, 0, 0, 0);
    let (mut card_refunds, mut shifts, mut closed) = (0, 0, 0);
    let (mut busy, mut wire, mut tips, mut tips_back) = (0, 0, 0, 0);
    for seed in from..from + count {
        match run(seed, config) {
            Ok(r) => {
                sales += r.sales;
                refunds += r.refunds;
                card_refunds += r.card_refunds;
                shifts += r.shifts;
                closed += r.shifts_closed;
                charges += r.charges;
                crashes += r.crashes;
                attempts += r.card_attempts;
                busy += r.busy;
                wire += r.wire_faults;
                tips += r.tips;
                tips_back += r.tips_refunded;
            }
            Err(v) => {
                eprintln!("{v}");
                return ExitCode::FAILURE;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{count} seeds ({from}..{}) passed in {secs:.1} s: {:.1} seeds/s; {sales} sales, {refunds} refunds ({card_refunds} card refund starts), {attempts} card starts, {charges} charges ({tips} tipped, {tips_back} tips given back), {crashes} crashes, {shifts} shifts ({closed} closed), {busy} busy terminals, {wire} faults on the terminal's wire",
        from + count,
        count as f64 / secs.max(1e-9)
    );
    ExitCode::SUCCESS
}
