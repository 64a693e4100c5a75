//! Layer 3: the wire. What crosses HTTP to the back office and the bridge,
//! the outbox of what still has to, a catalog download judged as a whole,
//! and the register's hash-chained, signed journal.

pub mod api;
pub mod audit;
pub mod download;
pub mod journal;
pub mod outbox;
