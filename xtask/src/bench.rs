//! `cargo xtask bench`: performance figures, printed as a table and as JSON,
//! each next to a baseline measured in the same run.
//!
//! No benchmark exists yet: the first ones (OMS batch ingest, catalog
//! download, IndexedDB commits) come with the servers and the register.

use crate::Result;

pub fn run(_args: &[String]) -> Result {
    println!("no benchmarks yet");
    println!("{{\"benchmarks\":[]}}");
    Ok(())
}
