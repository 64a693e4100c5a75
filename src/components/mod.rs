//! Pieces of pages.

pub mod card_dialog;
pub mod cart;
pub mod print_area;
pub mod status_bar;
