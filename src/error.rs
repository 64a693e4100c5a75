//! The app's one error type: every failure the cashier may see, as a
//! sentence they can act on. A failed read is shown as this error, never
//! as empty data (an empty list, a zero total).

use crate::store::StoreError;
use till_core::sync::NetFailure;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The register's storage (IndexedDB).
    #[error("{0} Nothing was lost; try again, or reload Till.")]
    Store(#[from] StoreError),
    /// The back office.
    #[error("{0}")]
    Net(#[from] NetFailure),
    /// A rule of the till said no (the sentence is till-core's).
    #[error("{0}")]
    Rule(String),
}
