//! Pieces of pages.

pub mod barcode;
pub mod card_dialog;
pub mod cart;
pub mod park;
pub mod print_area;
pub mod receipt;
pub mod status_bar;
