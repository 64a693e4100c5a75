//! # till-sim: the whole system in one process, on a simulated clock
//!
//! Till's promise is that a sale is never lost, never duplicated, and a card
//! is never charged twice or charged without the sale knowing. Tests of
//! single stories cannot show that for the interleavings a store meets: an
//! answer lost while the cashier reloads, an approval that arrives after the
//! next customer's sale began, a back office that commits and then drops
//! the connection. This crate runs the register's real machines through
//! thousands of random days, the way FoundationDB's simulation and
//! TigerBeetle's VOPR do, and checks the promises after every step.
//!
//! What runs here is the real code, not a model of it:
//!
//! - the register: till-core's [`Register`](till_core::register::Register),
//!   with the reference in-memory store ([`till_core::memstore`]) standing in
//!   for IndexedDB (one transaction at a time, each all or nothing);
//! - the bridge: till-bridge's journal and its nexo driver, on in-memory
//!   SQLite, driving till-terminal's device (its state machine and memory)
//!   through the Terminal API codec on both ends ([`wire`]);
//! - the back office: till-oms's SQLite store, with the real upsert rule.
//!
//! What is simulated is everything between them, and the world around:
//!
//! - a clock ([`world`]) that jumps from event to event; the tablet's clock
//!   may be wrong or jump, the servers' clocks are right;
//! - the network: latency, requests lost on the way (the register sees no
//!   answer), answers lost on the way back (the work was done), refused
//!   connections while a server is down, 503s, a back office that commits
//!   a batch and then drops the connection;
//! - the tablet: reloads and crashes at any point; a crash lets a prefix of
//!   the pending storage transactions commit and loses the rest, and every
//!   answer still on its way to the old page;
//! - the bridge: restarts that lose the requests it was handling and the
//!   calls it had out to the terminal (its journal survives);
//! - the terminal: approvals after any delay, declines, results hidden from
//!   the bridge, results the bridge never learns (notified to the back
//!   office by the vendor's cloud, hours later), terminals that never
//!   answer, a busy terminal;
//! - the wire to the terminal: a terminal that is off, requests lost,
//!   connections reset mid-call, answers dropped, late past the bridge's
//!   read timeout, or failing their MAC;
//! - a cashier ([`cashier`]) who rings up, pays cash and card, double taps,
//!   cancels, re-syncs, closes, voids, downloads, and reloads.
//!
//! Each run is decided by its seed alone (a ChaCha RNG); a failure prints
//! its seed, and `cargo xtask sim --seed S` replays it exactly. After the
//! faults stop and the register has had time to reconcile, [`check`]
//! verifies the promises (invariants a to f of the money-safety issue).

pub mod cashier;
pub mod check;
pub mod net;
pub mod trace;
pub mod wire;
pub mod world;

pub use check::Violation;
pub use world::{run, Config, Report};
