//! The app's one error type: every failure the cashier may see, as a
//! sentence they can act on. A failed read is shown as this error, never
//! as empty data (an empty list, a zero total).

use crate::net::oms::NetError;
use crate::store::StoreError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// The register's storage (IndexedDB).
    Store(StoreError),
    /// The back office or the bridge.
    Net(NetError),
    /// A rule of the till said no (the sentence is till-core's).
    Rule(String),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Store(e) => write!(f, "{e} Nothing was lost; try again, or reload Till."),
            AppError::Net(e) => e.fmt(f),
            AppError::Rule(e) => f.write_str(e),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        AppError::Store(e)
    }
}

impl From<NetError> for AppError {
    fn from(e: NetError) -> AppError {
        AppError::Net(e)
    }
}
