//! Typed clients of the back office and the bridge.

pub mod bridge;
pub mod oms;
