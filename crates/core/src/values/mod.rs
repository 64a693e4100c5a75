//! Layer 1: values. Amounts of money, instants and durations, the catalog and
//! the search over it: nothing here knows of a sale.

pub mod catalog;
pub mod money;
pub mod search;
pub mod sorted;
pub mod time;
