//! One module per route.

pub mod dayend;
pub mod pay;
pub mod receipt;
pub mod refund;
pub mod register;
pub mod returns;
pub mod safety;
pub mod sales;
pub mod settings;
pub mod shift;
pub mod signin;
