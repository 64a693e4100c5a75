//! Layer 4: plans. Each decides one write from what the store holds, inside
//! the storage transaction that makes it: a change to an order or a refund, a
//! parked cart, a shift.

pub mod park;
pub mod shift_plan;
pub mod update;
