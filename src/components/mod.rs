//! Pieces of pages.

pub mod cart;
pub mod status_bar;
