//! One module per route.

pub mod pay;
pub mod register;
pub mod settings;
