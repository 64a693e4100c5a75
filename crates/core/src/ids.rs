//! Every id of Till's records, and nothing that depends on a record: the
//! lowest layer of till-core, so that a record, the wire and the machines
//! can all name an order, a refund, a shift, a card payment or a register
//! without importing one another.
//!
//! - Order, refund and shift ids are UUID version 7 made by the caller
//!   (time-ordered, so the back office's indexes stay append-only).
//! - A card payment's reference is any UUID but the nil one.
//! - A register's id is 1 to [`REGISTER_ID_LEN_MAX`] letters, digits or `_`,
//!   as printed in its order numbers.
//!
//! Text that is not an id gives an [`IdError`], whose message names which
//! id was wrong; each record's error takes it in (`From<IdError>`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;
use uuid::Uuid;

/// Longest register id: what fits in an order number on a receipt.
pub const REGISTER_ID_LEN_MAX: usize = 16;

/// Text that is not the id it should be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("order id {0:?} is not a UUID v7")]
    Order(String),
    #[error("record id {0:?} is not a UUID v7")]
    Record(String),
    #[error("not a refund id (a UUID version 7): {0}")]
    Refund(String),
    #[error("not a shift id (a UUID version 7): {0:?}")]
    Shift(String),
    #[error("payment reference {0:?} is not a UUID")]
    Payment(String),
    #[error("register id {0:?}: use 1 to {REGISTER_ID_LEN_MAX} letters, digits or '_'")]
    Register(String),
}

/// An id that is a UUID version 7 made by the caller (orders, refunds,
/// shifts): its checks, text form and serde, in one place. `$bad` builds
/// the error for text that is not one. With `record`, the id is also a
/// [`RecordId`]: what an outbox entry names, its kind saying which record
/// ([`crate::outbox::RecordKind`]).
macro_rules! uuid7_id {
    ($(#[$doc:meta])* $name:ident, $error:ty, $bad:path, record) => {
        uuid7_id!($(#[$doc])* $name, $error, $bad);

        impl $name {
            /// This record's id among every kind's (its outbox entry's).
            pub fn record_id(&self) -> crate::ids::RecordId {
                crate::ids::RecordId(self.0)
            }

            /// The record of this kind that `id` names.
            pub fn from_record_id(id: crate::ids::RecordId) -> $name {
                $name(id.0)
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, $error:ty, $bad:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(uuid::Uuid);

        impl $name {
            pub fn from_uuid(u: uuid::Uuid) -> Result<$name, $error> {
                if u.get_version_num() == 7 {
                    Ok($name(u))
                } else {
                    Err($bad(u.to_string()))
                }
            }

            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $error;
            fn from_str(s: &str) -> Result<$name, $error> {
                let u = uuid::Uuid::parse_str(s).map_err(|_| $bad(s.to_owned()))?;
                $name::from_uuid(u)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(s: String) -> Result<$name, $error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.hyphenated().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
    };
}

uuid7_id!(
    /// The id of a record the register sends to the back office (an
    /// order, a refund or a shift): a UUID version 7. Which kind of record
    /// it is travels beside it ([`crate::outbox::RecordKind`]).
    RecordId,
    IdError,
    IdError::Record
);

uuid7_id!(
    /// An order's id: a UUID version 7, created by the caller.
    OrderId,
    IdError,
    IdError::Order,
    record
);

uuid7_id!(
    /// A refund's id: a UUID version 7, created by the caller.
    RefundId,
    IdError,
    IdError::Refund,
    record
);

uuid7_id!(
    /// A shift's id: a UUID version 7 made by the register.
    ShiftId,
    IdError,
    IdError::Shift,
    record
);

/// The register an order was rung up on, as printed in its number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegisterId(String);

impl RegisterId {
    pub fn new(s: impl Into<String>) -> Result<RegisterId, IdError> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= REGISTER_ID_LEN_MAX
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(RegisterId(s))
        } else {
            Err(IdError::Register(s))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RegisterId {
    type Error = IdError;
    fn try_from(s: String) -> Result<RegisterId, IdError> {
        RegisterId::new(s)
    }
}

impl From<RegisterId> for String {
    fn from(r: RegisterId) -> String {
        r.0
    }
}

impl fmt::Display for RegisterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The reference of one card payment attempt: a UUID created by the caller,
/// the key by which the bridge, the terminal and the back office know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaymentRef(Uuid);

impl PaymentRef {
    pub fn from_uuid(u: Uuid) -> PaymentRef {
        PaymentRef(u)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The first eight characters: what a receipt or a list shows.
    pub fn short(&self) -> String {
        self.to_string().chars().take(8).collect()
    }
}

impl FromStr for PaymentRef {
    type Err = IdError;
    fn from_str(s: &str) -> Result<PaymentRef, IdError> {
        match Uuid::parse_str(s) {
            Ok(u) if !u.is_nil() => Ok(PaymentRef(u)),
            _ => Err(IdError::Payment(s.to_owned())),
        }
    }
}

impl TryFrom<String> for PaymentRef {
    type Error = IdError;
    fn try_from(s: String) -> Result<PaymentRef, IdError> {
        s.parse()
    }
}

impl From<PaymentRef> for String {
    fn from(r: PaymentRef) -> String {
        r.to_string()
    }
}

impl fmt::Display for PaymentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}
