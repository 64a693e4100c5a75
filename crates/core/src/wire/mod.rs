//! Layer 3: the wire. What crosses HTTP to the back office and the bridge,
//! the outbox of what still has to, and a catalog download judged as a whole.

pub mod api;
pub mod audit;
pub mod download;
pub mod outbox;
