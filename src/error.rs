//! The app's one error type: every failure the cashier may see, as a
//! sentence they can act on. A failed read is shown as this error, never
//! as empty data (an empty list, a zero total). The sentences of till-core's
//! rules are till-core's: each of its error types converts with `?`.

use crate::store::StoreError;
use till_core::cart::CartError;
use till_core::ids::IdError;
use till_core::money::MoneyError;
use till_core::order::OrderError;
use till_core::register::settings::SettingsError;
use till_core::shift::ShiftError;
use till_core::sync::NetFailure;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The register's storage (IndexedDB).
    #[error("{0} Nothing was lost; try again, or reload Till.")]
    Store(#[from] StoreError),
    /// The back office.
    #[error("{0}")]
    Net(#[from] NetFailure),
    #[error("{0}")]
    Id(#[from] IdError),
    #[error("{0}")]
    Money(#[from] MoneyError),
    #[error("{0}")]
    Order(#[from] OrderError),
    #[error("{0}")]
    Cart(#[from] CartError),
    #[error("{0}")]
    Shift(#[from] ShiftError),
    #[error("{0}")]
    Settings(#[from] SettingsError),
    /// What the person must do ("Enter the register token").
    #[error("{0}")]
    Rule(String),
}
