//! One module per route.

pub mod register;
