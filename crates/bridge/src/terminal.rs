//! The seam between the bridge and a card terminal.
//!
//! A terminal is a device with its own memory: it charges cards, can abort a
//! charge it has not captured yet, and tells the bridge where a charge
//! stands when asked. The bridge keeps its own journal on top; it never
//! assumes the terminal's answer arrived (that is what the simulated faults
//! exercise).
//!
//! Contract for implementations:
//! - `begin` is called at most once per reference (the bridge deduplicates);
//! - `poll` and `cancel` are cheap and may be called often; they must be
//!   answered from the terminal's state at `now`, and survive a restart of
//!   the bridge (the terminal remembers its charges);
//! - a charge (or a refund) is captured at most once per reference.

use till_core::api::PaymentReport;
use till_core::money::Money;
use till_core::order::{CardDetails, OrderId};
use till_core::payment::PaymentRef;
use till_core::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    pub amount: Money,
    /// A refund: money back to the card of this approved payment.
    pub refund_of: Option<PaymentRef>,
}

/// What the bridge can learn about a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Still working, or the result has not reached the bridge.
    Pending,
    Approved(CardDetails),
    Declined(String),
    /// The terminal gave up (no answer within its timeout): the bridge
    /// forgets the payment.
    TimedOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    Cancelled,
    /// Already captured (or decided): the charge stands.
    TooLate,
}

pub trait Terminal: Send + Sync + 'static {
    fn begin(&self, charge: &ChargeRequest, now: Timestamp) -> Result<(), String>;
    fn poll(&self, reference: &PaymentRef, now: Timestamp) -> Poll;
    fn cancel(&self, reference: &PaymentRef, now: Timestamp) -> Cancel;
    /// Approvals the terminal delivered to the back office by itself (some
    /// terminals report through their vendor's cloud), due at `now`, each
    /// returned once. The bridge forwards them with its own reports.
    fn direct_reports(&self, _now: Timestamp) -> Vec<PaymentReport> {
        Vec::new()
    }
}
