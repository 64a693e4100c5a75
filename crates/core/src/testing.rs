//! What the register's tests, the browser tests and the simulator share
//! (feature `testing`): the reference in-memory store, a register's
//! configuration, amounts and card details.

pub use crate::memstore::{Fault, MemStore};

use crate::money::{Currency, Money};
use crate::order::{CardDetails, RegisterId};
use crate::payment::PaymentConfig;
use crate::register::RegisterConfig;

/// Euros, in cents.
pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).expect("a test amount")
}

/// What a terminal reports for an approved test card.
pub fn card() -> CardDetails {
    CardDetails {
        brand: "VISA".into(),
        last4: "4242".into(),
        auth_code: "A1B2C3".into(),
    }
}

/// Register R1, selling in euros, `utc_offset_min` minutes ahead of UTC.
pub fn register_config(utc_offset_min: i32) -> RegisterConfig {
    RegisterConfig {
        register: RegisterId::new("R1").expect("a register id"),
        currency: Currency::EUR,
        payment: PaymentConfig::default(),
        utc_offset_min,
        auto_print: false,
        returns_without_receipt: false,
    }
}
