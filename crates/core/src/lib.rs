//! # till-core: every business rule of Till, and nothing else
//!
//! Till is a point-of-sale register that runs in a tablet's browser, keeps
//! selling when the internet is down and takes card payments through a
//! terminal on the store's LAN. The rules that decide what a sale costs, when
//! an order is paid, what the card-payment popup may offer and when an order
//! is sent again to the back office all live here, as plain Rust.
//!
//! Why a crate of its own, with no browser, server, async runtime, clock or
//! random number generator in it:
//!
//! - **Deterministic tests.** Every function that depends on time takes `now`
//!   as an argument ([`time::Timestamp`]); every id (order ids, payment
//!   references) is created by the caller and passed in. A test can therefore
//!   drive a 30-second cancel window or a five-minute backoff in microseconds,
//!   and the same inputs always give the same outputs.
//! - **One truth for three programs.** The browser app, the reference back
//!   office (till-oms) and the LAN bridge (till-bridge) all link this crate, so
//!   the wire types ([`api`]) and the validation of an order are the same
//!   code on both ends of every HTTP call.
//! - **Sans-IO state machines.** The whole register ([`register::Register`])
//!   and its parts, the card payment ([`payment::PaymentSession`]) and the
//!   sync driver ([`sync::SyncDriver`]), follow quinn-proto's shape: inputs
//!   are pushed in with the current time, commands for the shell come out,
//!   and `poll_timeout` says when to call back. The shell (the app, or the
//!   simulator in `crates/sim`) performs the I/O and renders; it never
//!   decides. Every write to an order goes through one path
//!   ([`update::plan`]), run inside the storage transaction.
//!
//! Money is integer minor units with a currency ([`money::Money`]); no float
//! ever holds an amount.
//!
//! ## Layers
//!
//! The modules sit in layers, lowest first. A module may use a module of a
//! lower layer, or of its own layer when that makes no circle; never one of
//! a higher layer. `tests/layers.rs` reads the sources and fails on an
//! import that runs back up or closes a circle.
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 0 [`ids`] | `ids` | every record's id, so that no record imports another for its id |
//! | 1 [`values`] | `money`, `time`, `catalog`, `search`, `sorted` | amounts, instants, products and finding them, and the one sort for lists of records |
//! | 2 [`records`] | `staff`, `cart`, `card`, `order`, `refund`, `report`, `drawer`, `shift` | what the register stores, with the rules of each record |
//! | 3 [`wire`] | `api`, `outbox`, `download`, `audit`, `journal` | what crosses HTTP, what waits to, what the back office checks of what arrives, and the register's signed journal |
//! | 4 [`plans`] | `update`, `park`, `shift_plan` | one write each, decided inside the storage transaction |
//! | 5 [`machines`] | `payment`, `sync`, `desk`, `lan`, `refresh`, `edge` | the sans-IO parts the register drives |
//! | 6 | [`register`] | the register: every input, every effect |
//! | 7 | `memstore`, `testing` | an in-memory store, fixtures, and one driver for the machines' tests (feature `testing`) |
//!
//! Each module is also reachable from the crate's root (`till_core::order`),
//! the path the app and the servers use.

pub mod ids;
pub mod machines;
pub mod plans;
pub mod records;
pub mod register;
pub mod values;
pub mod wire;

#[cfg(any(test, feature = "testing"))]
pub mod memstore;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use machines::{desk, edge, lan, payment, refresh, sync};
pub use plans::{park, shift_plan, update};
pub use records::{card, cart, drawer, order, refund, report, shift, staff};
pub use values::{catalog, money, search, sorted, time};
pub use wire::{api, audit, download, journal, outbox};

pub use money::{Currency, Money};
pub use time::{Duration, Timestamp};
