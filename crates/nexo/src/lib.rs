//! # till-nexo: the Terminal API as Till speaks it
//!
//! A store's card terminal is a separate device on the LAN. Till drives it
//! with the **Terminal API, local integration**: the nexo Sale-to-POI
//! protocol 3.0 in JSON, as Adyen terminals speak it (other vendors' nexo
//! dialects use the same request types). The terminal is the server: one
//! `POST https://<terminal>:8443/nexo` per request, the answer in the same
//! HTTP response. This crate is the protocol and nothing else, so the
//! bridge (which drives a terminal), `till-terminal` (the simulated device)
//! and the simulator share one definition of every byte:
//!
//! - [`message`]: the envelope (`SaleToPOIRequest` / `SaleToPOIResponse`
//!   with its `MessageHeader`) and the four request types Till uses:
//!   Payment, Abort, TransactionStatus and Reversal, with their answers;
//! - [`amount`]: amounts are **decimal major units** on the wire (12.5),
//!   read and written as their exact decimal text and converted to and
//!   from till-core's integer minor units for every currency Till knows;
//!   never through a float;
//! - [`security`]: the local integration's shared-key encryption
//!   (`NexoBlob` + `SecurityTrailer`): PBKDF2 key derivation, AES-256-CBC,
//!   HMAC-SHA256 compared in constant time. A message whose MAC does not
//!   verify is refused before anything reads it;
//! - [`notification`]: the vendor cloud's standard webhook, by which the
//!   terminal's results reach the back office without the bridge.
//!
//! Why a crate of its own, with no I/O: the bridge's driver and the
//! simulated terminal are both sans-IO machines (events in, commands out),
//! so the whole-system simulator can run them against each other through
//! this real codec, with faults on the wire between them, on a simulated
//! clock. Nothing here reads a clock or a random source: times and nonces
//! are passed in.

pub mod additional;
pub mod amount;
pub mod message;
pub mod notification;
pub mod security;
pub mod time;

pub use amount::Amount;
pub use message::{
    Category, ErrorCondition, MessageHeader, Request, RequestBody, Response, ResponseBody,
    ResultCode, ServiceId,
};
pub use security::{Codec, Key, NexoError};

/// The protocol version every header carries.
pub const PROTOCOL_VERSION: &str = "3.0";
/// The only message class Till sends.
pub const MESSAGE_CLASS: &str = "Service";
/// The path a terminal serves the local integration at.
pub const NEXO_PATH: &str = "/nexo";
/// The port terminals listen on for the local integration.
pub const TERMINAL_PORT: u16 = 8443;

/// Card details as Till keeps them, from what a terminal (or its vendor's
/// notification) says: one mapping for both, so a payment reported twice
/// is reported the same.
pub mod card {
    use till_core::order::CardDetails;

    /// A brand's name on a receipt, from the vendor's code (`mc`).
    pub fn brand_name(code: &str) -> String {
        match code.to_ascii_lowercase().as_str() {
            "visa" => "VISA".into(),
            "mc" | "mastercard" => "MASTERCARD".into(),
            "amex" => "AMEX".into(),
            "maestro" => "MAESTRO".into(),
            "cup" => "UNIONPAY".into(),
            "jcb" => "JCB".into(),
            "diners" => "DINERS".into(),
            other => other.to_ascii_uppercase(),
        }
    }

    /// The card of an approval: brand code, masked number as printed, the
    /// authorisation code and the provider's reference.
    pub fn details(brand: &str, masked_pan: &str, auth_code: &str, psp: &str) -> CardDetails {
        let digits: String = masked_pan.chars().filter(char::is_ascii_digit).collect();
        let last4 = digits
            .get(digits.len().saturating_sub(4)..)
            .unwrap_or("")
            .to_owned();
        CardDetails {
            brand: brand_name(brand),
            last4,
            auth_code: auth_code.to_owned(),
            masked_pan: (!masked_pan.is_empty()).then(|| masked_pan.to_owned()),
            psp_reference: (!psp.is_empty()).then(|| psp.to_owned()),
            tip: None,
        }
    }
}
