//! Layer 2: records. What the register stores (the staff, the cart, card
//! attempts, orders, refunds, the drawer and the shift, the day-end report),
//! each with the rules that keep it whole.

pub mod card;
pub mod cart;
pub mod drawer;
pub mod order;
pub mod refund;
pub mod report;
pub mod shift;
pub mod staff;
