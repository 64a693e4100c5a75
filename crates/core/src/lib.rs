//! # till-core: every business rule of Till, and nothing else
//!
//! Till is a point-of-sale register that runs in a tablet's browser, keeps
//! selling when the internet is down and takes card payments through a
//! terminal on the store's LAN. The rules that decide what a sale costs, when
//! an order is paid, what the card-payment popup may offer and when an order
//! is sent again to the back office all live here, as plain Rust.
//!
//! Why a crate of its own, with no browser, server, async runtime, clock or
//! random number generator in it:
//!
//! - **Deterministic tests.** Every function that depends on time takes `now`
//!   as an argument ([`time::Timestamp`]); every id (order ids, payment
//!   references) is created by the caller and passed in. A test can therefore
//!   drive a 30-second cancel window or a five-minute backoff in microseconds,
//!   and the same inputs always give the same outputs.
//! - **One truth for three programs.** The browser app, the reference back
//!   office (till-oms) and the LAN bridge (till-bridge) all link this crate, so
//!   the wire types ([`api`]) and the validation of an order are the same
//!   code on both ends of every HTTP call.
//! - **Sans-IO state machines.** The whole register ([`register::Register`])
//!   and its parts, the card payment ([`payment::PaymentSession`]) and the
//!   sync driver ([`sync::SyncDriver`]), follow quinn-proto's shape: inputs
//!   are pushed in with the current time, commands for the shell come out,
//!   and `poll_timeout` says when to call back. The shell (the app, or the
//!   simulator in `crates/sim`) performs the I/O and renders; it never
//!   decides. Every write to an order goes through one path
//!   ([`update::plan`]), run inside the storage transaction.
//!
//! Money is integer minor units with a currency ([`money::Money`]); no float
//! ever holds an amount.

/// An id that is a UUID version 7 made by the caller (orders, refunds,
/// shifts): its checks, text form and serde, in one place. `$bad` builds
/// the error for text that is not one. With `outbox`, the record's outbox
/// entry carries the id as an order id ([`outbox::RecordKind`]).
macro_rules! uuid7_id {
    ($(#[$doc:meta])* $name:ident, $error:ty, $bad:path, outbox) => {
        uuid7_id!($(#[$doc])* $name, $error, $bad);

        impl $name {
            /// The id its outbox entry carries (see [`crate::outbox::RecordKind`]).
            pub fn outbox_id(&self) -> crate::order::OrderId {
                crate::order::OrderId::from_uuid(self.0).expect("a UUID v7, as an order id is")
            }

            /// The record an outbox entry of its kind names.
            pub fn from_outbox_id(id: crate::order::OrderId) -> $name {
                $name(id.as_uuid())
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

pub mod api;
pub mod cart;
pub mod catalog;
pub mod desk;
pub mod download;
pub mod drawer;
pub mod lan;
#[cfg(any(test, feature = "testing"))]
pub mod memstore;
pub mod money;
pub mod order;
pub mod outbox;
pub mod park;
pub mod payment;
pub mod refund;
pub mod register;
pub mod report;
pub mod search;
pub mod shift;
pub mod staff;
pub mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod update;

pub use money::{Currency, Money};
pub use time::{Duration, Timestamp};
