//! One module per route.

pub mod pay;
pub mod receipt;
pub mod register;
pub mod settings;
