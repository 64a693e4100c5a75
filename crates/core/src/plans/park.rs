//! Parked carts: "Park" puts the current cart aside with a label, and the
//! register starts a new, empty sale; "Parked (n)" lists them, and one tap
//! resumes a cart as the current sale again. Parked carts belong to the
//! register (its storage), not to a cashier, and survive a reload.
//!
//! A parked cart keeps its sale's id, so a resumed cart is the same sale it
//! was: its order, when paid, has the id the sale always had. Only a cart
//! with nothing paid parks: once a payment created the sale's order, that
//! order is finished (or voided) where it is.

use crate::cart::Cart;
use crate::cart::Sale;
use crate::order::OrderId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Carts a register holds aside at most: a queue of customers, not a store.
pub const PARKED_MAX: usize = 20;
/// Longest label kept ("Table 4", "lady in the red coat").
pub const PARK_LABEL_LEN_MAX: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedCart {
    /// The sale's id, kept: resuming makes it the current sale again.
    pub id: OrderId,
    pub label: String,
    pub cart: Cart,
    pub parked_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParkError {
    #[error("the cart is empty: there is nothing to park")]
    Empty,
    #[error("{PARKED_MAX} carts are parked already: resume or clear one first")]
    TooMany,
    #[error("the label is longer than {PARK_LABEL_LEN_MAX} characters")]
    LabelTooLong,
    #[error("this sale has a payment: take the rest, or void it, before starting another")]
    HasPayment,
    #[error("the current cart is not empty: park it or clear it first")]
    CartNotEmpty,
    #[error("that parked cart is not on this register any more")]
    NoSuchCart,
    /// The stored sale is not the one the register asked about (it moved
    /// on meanwhile): nothing was changed.
    #[error("the sale changed meanwhile: try again")]
    SaleMoved,
}

/// The cart of `sale` set aside as `label` (trimmed; "Cart n" when empty).
pub fn park(
    sale: &Sale,
    label: &str,
    parked: &[ParkedCart],
    now: Timestamp,
) -> Result<ParkedCart, ParkError> {
    if sale.cart.is_empty() {
        return Err(ParkError::Empty);
    }
    if parked.len() >= PARKED_MAX {
        return Err(ParkError::TooMany);
    }
    let label = label.trim();
    if label.chars().count() > PARK_LABEL_LEN_MAX {
        return Err(ParkError::LabelTooLong);
    }
    let label = if label.is_empty() {
        format!("Cart {}", parked.len() + 1)
    } else {
        label.to_owned()
    };
    Ok(ParkedCart {
        id: sale.id,
        label,
        cart: sale.cart.clone(),
        parked_at: now,
    })
}

/// What the store writes to park `cart`: the parked list with it, and the
/// new sale `next`. Refused unless the stored sale is the one parked.
pub fn plan_park(
    stored: Option<&Sale>,
    parked: &[ParkedCart],
    cart: &ParkedCart,
    next: &Sale,
) -> Result<(Sale, Vec<ParkedCart>), ParkError> {
    if stored.map(|s| s.id) != Some(cart.id) || parked.iter().any(|p| p.id == cart.id) {
        return Err(ParkError::SaleMoved);
    }
    if parked.len() >= PARKED_MAX {
        return Err(ParkError::TooMany);
    }
    let mut list = parked.to_vec();
    list.push(cart.clone());
    Ok((next.clone(), list))
}

/// What the store writes to resume parked cart `id` in place of the
/// current, empty sale `current`: that sale, and the list without it.
pub fn plan_resume(
    stored: Option<&Sale>,
    parked: &[ParkedCart],
    id: OrderId,
    current: OrderId,
) -> Result<(Sale, Vec<ParkedCart>), ParkError> {
    let stored = stored
        .filter(|s| s.id == current)
        .ok_or(ParkError::SaleMoved)?;
    if !stored.cart.is_empty() {
        return Err(ParkError::CartNotEmpty);
    }
    let found = parked
        .iter()
        .find(|p| p.id == id)
        .ok_or(ParkError::NoSuchCart)?;
    let sale = Sale {
        id: found.id,
        cart: found.cart.clone(),
    };
    let list = parked.iter().filter(|p| p.id != id).cloned().collect();
    Ok((sale, list))
}
