//! The wire types of Till's two HTTP APIs (ARCHITECTURE §5), shared by the
//! app, the reference back office and the bridge so that both ends of every
//! call are the same code.
//!
//! - **OMS** (`/api/v1`, `Authorization: Bearer <register token>`): the
//!   catalog, idempotent order upserts (one and in batches), order look-ups,
//!   the payments the bridge reports, and idempotent refund upserts
//!   (`PUT /refunds/{id}`, the same version rule as orders).
//! - **Bridge** (`/v1`, `X-Pairing-Token`): start a card payment by
//!   reference, ask its status, cancel it.
//!
//! Conventions, the same everywhere: JSON; an amount is an integer of the
//! currency's minor unit next to its `currency` code, never a float: an
//! object `{"amount": 1250, "currency": "EUR"}` inside documents (orders,
//! catalogs), or the two fields side by side in flat messages (a payment
//! start, status or report); times are
//! milliseconds since the Unix epoch (`*_at`); errors are an [`ApiError`]
//! body with a machine-readable `error` code, a sentence for people and,
//! for validation errors, the offending `field`. The golden files under
//! `crates/core/tests/fixtures/` pin the exact JSON of each type.

use crate::card::CardDetails;
use crate::catalog::{Category, Product, TaxRate};
use crate::ids::PaymentRef;
use crate::money::{Currency, Money};
use crate::order::{Order, OrderId, RegisterId};
use crate::refund::Refund;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The bridge's error code for a start refused because the order already
/// has a payment on the terminal (409): nothing was journaled or charged.
pub const LIVE_PAYMENT_CODE: &str = "payment_in_progress";
/// The bridge's 409 to a refund it will not send to the terminal (beyond
/// what the payment charged, or not a payment it approved): nothing went back.
pub const REFUND_REFUSED_CODE: &str = "refund_refused";
/// The OMS's error code for a refund whose order it does not hold yet
/// (409): nothing was stored; send it again after the order.
pub const ORDER_NOT_SYNCED_CODE: &str = "order_not_synced";
/// The bridge's pairing header.
pub const PAIRING_HEADER: &str = "X-Pairing-Token";
/// The OMS's 401 code for a register the back office removed
/// (`till-oms registers revoke`): its token is refused from then on.
pub const REGISTER_REMOVED_CODE: &str = "register_removed";
/// What that 401 says, and what the register shows.
pub const REGISTER_REMOVED: &str = "This register was removed by the back office.";

/// `POST /api/v1/registers:enrol`: a setup link's one-time secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub secret: String,
}

/// The register a secret was traded for, and its own token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub register: crate::order::RegisterId,
    pub token: String,
}
/// Products per catalog page: about 1.5 MB of JSON, big enough that 100,000
/// products take 20 requests, small enough for one IndexedDB transaction.
pub const CATALOG_PAGE_SIZE: usize = 5_000;

/// The error body of both APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable code: `invalid_order`, `unauthorized`, `conflict`, ...
    pub error: String,
    /// A sentence for people.
    pub message: String,
    /// The field at fault, for validation errors (`totals.total`, `lines[0].quantity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            error: error.into(),
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }
}

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// `GET /api/v1/catalog?cursor=&limit=`: one page of products; categories
/// and tax rates come whole with every page (they are few). The ETag of the
/// response is `catalog_version`; a client that sends it back in
/// `If-None-Match` gets 304 while nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogPage {
    pub catalog_version: String,
    pub currency: Currency,
    pub categories: Vec<Category>,
    pub tax_rates: Vec<TaxRate>,
    pub products: Vec<Product>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub products_total: u64,
}

/// A payment the bridge reported to the OMS (`POST /api/v1/payments`).
/// Brand and last four digits only: a full card number never leaves the
/// terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentReport {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    #[serde(flatten)]
    pub amount: Money,
    pub status: ReportedStatus,
    #[serde(flatten)]
    pub card: CardDetails,
    pub approved_at: Timestamp,
    /// For a refund: the payment it gave money back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<PaymentRef>,
}

/// What the terminal did: charged the card, or gave money back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportedStatus {
    Approved,
    /// A refund approved by the terminal; the report names its `original`.
    Refunded,
}

impl PaymentReport {
    /// A charge, not a refund: what may turn an order paid.
    pub fn is_charge(&self) -> bool {
        self.status == ReportedStatus::Approved && self.original.is_none()
    }

    /// A refund the terminal approved, back to the card of `original`.
    pub fn is_refund_of(&self, original: PaymentRef) -> bool {
        self.status == ReportedStatus::Refunded && self.original == Some(original)
    }
}

/// An order as the OMS holds it: the latest version the register sent, and
/// the payments the bridge reported for it (also those that arrived before
/// the order did). The answer to `PUT /orders/{id}` and `GET /orders/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOrder {
    pub order: Order,
    #[serde(default)]
    pub payments: Vec<PaymentReport>,
    /// The order's refunds, oldest first (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
}

/// `GET /api/v1/orders/{id}` for an id the OMS has payments for but no order
/// yet: what "Download" and reconciliation need to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLookup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    #[serde(default)]
    pub payments: Vec<PaymentReport>,
    /// The order's refunds, oldest first (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
}

/// `GET /api/v1/registers/{register}/orders?date=` (a register's day,
/// whole) or `GET /api/v1/stores/{store}/orders?date=` (a store's day
/// across its registers, in pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<StoredOrder>,
    /// More orders follow: pass this as `after` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/orders:batch`. Generic so that a server can take each
/// order (and refund) as raw JSON and validate it alone: one bad order must
/// not sink the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest<T = Order, R = Refund, S = crate::shift::Shift, J = crate::journal::Entry> {
    pub orders: Vec<T>,
    /// Refunds, stored after the batch's orders; their results follow the
    /// orders' (absent when there are none).
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<R>,
    /// Shifts (their float, cash movements and close with the Z report),
    /// stored last; their results follow the refunds'.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub shifts: Vec<S>,
    /// The register's journal entries, oldest first, after the records
    /// they name; their results (id `R1/12`) follow the shifts'.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub journal: Vec<J>,
}

/// One result per order of a batch, in the request's order, then one per
/// refund, then one per shift, then one per journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    /// The order id as sent (absent when the item had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The HTTP status this order would have had on its own `PUT`.
    pub status: u16,
    /// The version the OMS now holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// `PUT /api/v1/journal/key`: the register's journal public key (its SEC1
/// point, base64url), registered once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalKey {
    pub public_key: String,
}

/// `GET /api/v1/registers/{register}/journal`: the head of the chain the
/// back office holds for a register (what it has confirmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHead {
    pub register: RegisterId,
    /// 0 before the first entry.
    pub seq: u64,
    pub hash: String,
    /// Whether the register's public key is registered.
    pub key_registered: bool,
}

/// `POST /v1/pairings` on the bridge: the code the bridge shows, and the
/// register asking (a name for `till-bridge pairings list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    pub code: String,
    pub register: String,
}

/// The bridge's answer to a pairing: this register's own token, which it
/// sends as [`PAIRING_HEADER`] from now on, and the pairing's id (what
/// `till-bridge pairings revoke` takes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairResponse {
    pub id: String,
    pub token: String,
}

/// The bridge's error code for a token it revoked: the register must be
/// paired again.
pub const UNPAIRED_CODE: &str = "unpaired";
/// The bridge's error code for a pairing code that is wrong or expired.
pub const WRONG_CODE: &str = "wrong_code";

/// `POST /v1/payments` on the bridge: `{reference, order_id, amount, currency}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartPayment {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    #[serde(flatten)]
    pub amount: Money,
    /// The terminal asks the customer for a tip, charged on top of
    /// `amount` (the store's setting).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ask_tip: bool,
}

/// `POST /v1/refunds` on the bridge: give `amount` back to the card of the
/// approved payment `original`, as the terminal's operation `reference`
/// (idempotent by it, as a payment is). Its status is asked and cancelled
/// like a payment's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRefund {
    pub reference: PaymentRef,
    pub original: PaymentRef,
    pub order_id: OrderId,
    #[serde(flatten)]
    pub amount: Money,
}

/// The bridge's answer about a payment: to a start (202), a status query or
/// a cancel (200, or 409 with the real status when it is too late).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentStatusResponse {
    pub reference: PaymentRef,
    #[serde(flatten)]
    pub status: BridgeStatus,
}

/// What the bridge says about a reference (`GET /v1/payments/{reference}`,
/// and the answer to a cancel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BridgeStatus {
    Processing,
    Approved {
        #[serde(flatten)]
        amount: Money,
        #[serde(flatten)]
        card: CardDetails,
    },
    Declined {
        reason: String,
    },
    Cancelled,
    /// The bridge has no journal entry for the reference: nothing was
    /// charged. Final: the bridge keeps a tombstone and refuses a start with
    /// this reference that arrives later.
    NeverReceived,
    /// The request reached the terminal and the outcome is not known (the
    /// terminal gave up without a result, or lost it): in doubt until the
    /// terminal or the back office knows.
    Unknown,
    /// The terminal did not start it, for certain: it was busy with another
    /// payment, it could not be reached at all, or, long after its own
    /// timeout, it says it never received it. Nothing was charged; final.
    NotStarted {
        reason: String,
    },
}

impl BridgeStatus {
    /// The wire word, for messages and logs.
    pub fn word(&self) -> &'static str {
        match self {
            BridgeStatus::Processing => "processing",
            BridgeStatus::Approved { .. } => "approved",
            BridgeStatus::Declined { .. } => "declined",
            BridgeStatus::Cancelled => "cancelled",
            BridgeStatus::NeverReceived => "never_received",
            BridgeStatus::Unknown => "unknown",
            BridgeStatus::NotStarted { .. } => "not_started",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_request_is_flat_and_strict() {
        let json = r#"{"reference":"9b2f3c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5e","order_id":"0191d5a8-7c3e-7000-8000-000000000001","amount":1250,"currency":"EUR"}"#;
        let s: StartPayment = serde_json::from_str(json).unwrap();
        assert_eq!(s.amount, Money::new(1250, Currency::EUR).unwrap());
        assert_eq!(serde_json::to_string(&s).unwrap(), json);
        for bad in [
            json.replace("1250", "12.5"),
            json.replace("1250", "\"1250\""),
            json.replace("EUR", "EURO"),
            json.replace("7000", "4000"),
            json.replace(r#""amount":1250,"#, ""),
            json.replace('}', r#","card_number":"4242424242424242"}"#),
        ] {
            assert!(serde_json::from_str::<StartPayment>(&bad).is_err(), "{bad}");
        }
    }
}
