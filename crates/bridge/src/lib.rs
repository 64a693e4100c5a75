//! # till-bridge: the LAN bridge between the register and the card terminal
//!
//! The register in the browser cannot talk to a payment terminal directly;
//! the bridge, a small service on the store's LAN, does. It keys every
//! payment by the reference the register chose, so that a repeated start
//! never charges twice, answers status queries (what "Re-sync" asks), and
//! reports approved payments to the back office, so that a result the
//! register never heard of still reaches the order.
//!
//! The HTTP API (`/v1/payments`) and the simulated terminal arrive with the
//! servers issue; the wire types are already in `till_core::api`.

pub use till_core::api::{PaymentStatusResponse, StartPayment};
