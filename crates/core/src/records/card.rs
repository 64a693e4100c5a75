//! A card payment as the register stores it: what the terminal reported
//! for an approved payment ([`CardDetails`]), and each attempt to charge or
//! refund a card ([`Attempt`]) with where it stands. The rules that read
//! the stored attempts (the double-charge guard, the manager's "Payments in
//! doubt" list) are here too; the machine that moves an attempt along is
//! [`crate::payment`].

use crate::ids::{OrderId, PaymentRef, RefundId};
use crate::money::{Currency, Money, MoneyError};
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    #[error("A card payment for this order is still pending confirmation")]
    PendingConfirmation,
    #[error("the amount to charge must be more than zero")]
    NothingToCharge,
}

/// Card details that a receipt or the back office cannot take.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct CardError {
    pub field: &'static str,
    pub message: &'static str,
}

impl CardError {
    fn invalid(field: &'static str, message: &'static str) -> CardError {
        CardError { field, message }
    }
}

/// What the card terminal reported for an approved payment. Never a full
/// card number: brand, the masked number the terminal prints (at most the
/// first six and the last four digits) and the last four digits are all a
/// receipt needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetails {
    pub brand: String,
    pub last4: String,
    pub auth_code: String,
    /// As the terminal prints it: `541333 **** 0010`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_pan: Option<String>,
    /// The payment provider's reference of the transaction: what the
    /// store quotes to the provider about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_reference: Option<String>,
    /// The tip the customer added on the terminal: charged to the card on
    /// top of the payment's amount, never part of the sale (the order's
    /// totals and what it still owes do not count it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<Money>,
}

/// Digits a masked card number may show: the first six and the last four
/// (PCI DSS); the rest is masked.
pub const MASKED_PAN_DIGITS_MAX: usize = 10;

impl CardDetails {
    pub fn validate(&self) -> Result<(), CardError> {
        if self.last4.len() != 4 || !self.last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::invalid("last4", "must be exactly four digits"));
        }
        let printable = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        };
        if !printable(&self.brand, 32) {
            return Err(CardError::invalid(
                "brand",
                "must be 1 to 32 printable characters",
            ));
        }
        if !printable(&self.auth_code, 32) {
            return Err(CardError::invalid(
                "auth_code",
                "must be 1 to 32 printable characters",
            ));
        }
        if let Some(pan) = &self.masked_pan {
            let shows = pan.bytes().filter(u8::is_ascii_digit).count();
            let masked = pan
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b' ' || b == b'X');
            if !masked
                || shows > MASKED_PAN_DIGITS_MAX
                || pan.len() > 32
                || !pan.ends_with(&self.last4)
            {
                return Err(CardError::invalid(
                    "masked_pan",
                    "must be masked (at most the first six and the last four digits) and end in last4",
                ));
            }
        }
        if self.tip.is_some_and(|t| t.is_negative() || t.is_zero()) {
            return Err(CardError::invalid("tip", "must be above zero when given"));
        }
        if self
            .psp_reference
            .as_deref()
            .is_some_and(|p| !printable(p, 64))
        {
            return Err(CardError::invalid(
                "psp_reference",
                "must be 1 to 64 printable characters",
            ));
        }
        Ok(())
    }

    /// [`CardDetails::validate`], and a tip in `currency` (the order's).
    pub fn validate_in(&self, currency: Currency) -> Result<(), CardError> {
        self.validate()?;
        if self.tip.is_some_and(|t| t.currency() != currency) {
            return Err(CardError::invalid("tip", "must be in the order's currency"));
        }
        Ok(())
    }

    /// What the card was charged: `amount` and the tip on top.
    pub fn charged(&self, amount: Money) -> Result<Money, MoneyError> {
        match self.tip {
            Some(tip) => amount.checked_add(tip),
            None => Ok(amount),
        }
    }

    /// How a receipt shows the card: `VISA **** 4242`.
    pub fn summary(&self) -> String {
        format!("{} **** {}", self.brand, self.last4)
    }
}

/// Where an attempt stands; persisted with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AttemptState {
    /// Asking the bridge whether it is there. Never stored: nothing has been
    /// sent yet.
    Connecting,
    /// Written before the request leaves; no answer yet.
    Requested,
    /// The bridge accepted; the terminal is working.
    Processing,
    /// Cancel was sent; its answer is awaited.
    Cancelling,
    /// No result within the wait, or the bridge stopped answering.
    ResultUnknown,
    Approved {
        card: CardDetails,
    },
    Declined {
        reason: String,
    },
    Cancelled,
    /// The cashier closed the popup while the result was unknown; the order
    /// is unpaid, its payment pending confirmation.
    ClosedUnpaid,
    /// Nothing was charged: the bridge never received the request, refused
    /// it, or could not be reached before it was sent.
    Failed {
        reason: String,
    },
}

impl AttemptState {
    pub fn label(&self) -> &'static str {
        match self {
            AttemptState::Connecting => "connecting",
            AttemptState::Requested => "requested",
            AttemptState::Processing => "processing",
            AttemptState::Cancelling => "cancelling",
            AttemptState::ResultUnknown => "result unknown",
            AttemptState::Approved { .. } => "approved",
            AttemptState::Declined { .. } => "declined",
            AttemptState::Cancelled => "cancelled",
            AttemptState::ClosedUnpaid => "pending confirmation",
            AttemptState::Failed { .. } => "failed",
        }
    }

    /// The customer may have been charged and the register does not know:
    /// no new card attempt on the order, no void, no cart edits.
    pub fn is_in_doubt(&self) -> bool {
        matches!(
            self,
            AttemptState::Requested
                | AttemptState::Processing
                | AttemptState::Cancelling
                | AttemptState::ResultUnknown
                | AttemptState::ClosedUnpaid
        )
    }

    /// The stored `state` of the attempts a register reloads at start: those
    /// live or in doubt (a `Connecting` attempt is never stored). Storage
    /// indexes attempts by it.
    pub const RELOADED: [&'static str; 5] = [
        "requested",
        "processing",
        "cancelling",
        "result_unknown",
        "closed_unpaid",
    ];

    /// Whether a register reloads an attempt in this state at start.
    pub fn is_reloaded(&self) -> bool {
        self.is_in_doubt() || self.is_live()
    }

    /// The popup is open for this attempt (what a reload resumes).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            AttemptState::Connecting
                | AttemptState::Requested
                | AttemptState::Processing
                | AttemptState::Cancelling
                | AttemptState::ResultUnknown
        )
    }
}

/// One card payment attempt, as stored in IndexedDB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    pub amount: Money,
    pub requested_at: Timestamp,
    /// When the bridge accepted the request; the cancel window runs from here.
    #[serde(default)]
    pub accepted_at: Option<Timestamp>,
    #[serde(flatten)]
    pub state: AttemptState,
    #[serde(default)]
    pub resyncs_used: u8,
    /// Something the cashier should know (e.g. the terminal reported another
    /// amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub updated_at: Timestamp,
    /// Set when the attempt gives money back to a card rather than taking
    /// it: the refund it is a part of, and the payment it goes back to.
    /// `order_id` is then the refunded order's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundLink>,
}

/// What ties a card refund attempt to its refund and to the payment the
/// money goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLink {
    pub refund_id: RefundId,
    pub original: PaymentRef,
}

impl Attempt {
    /// "payment" or "refund", for what the cashier reads.
    pub fn noun(&self) -> &'static str {
        if self.refund.is_some() {
            "refund"
        } else {
            "payment"
        }
    }
}

/// Refuses a new card attempt on an order while an earlier one is in doubt:
/// the double-charge guard.
pub fn ensure_no_payment_in_doubt<'a>(
    order: &OrderId,
    attempts: impl IntoIterator<Item = &'a Attempt>,
) -> Result<(), PaymentError> {
    if attempts
        .into_iter()
        .any(|a| a.order_id == *order && a.state.is_in_doubt())
    {
        Err(PaymentError::PendingConfirmation)
    } else {
        Ok(())
    }
}

/// One line of the manager's "Payments in doubt" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InDoubt {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    pub amount: Money,
    /// Since the request was written.
    pub age: Duration,
    pub state: &'static str,
    pub note: Option<String>,
}

/// Every attempt whose outcome is not known, oldest first: what the manager
/// checks at day end and after (the list never forgets an attempt; only an
/// authoritative answer takes it off).
pub fn in_doubt<'a>(
    attempts: impl IntoIterator<Item = &'a Attempt>,
    now: Timestamp,
) -> Vec<InDoubt> {
    let mut out: Vec<InDoubt> = attempts
        .into_iter()
        .filter(|a| a.state.is_in_doubt())
        .map(|a| InDoubt {
            reference: a.reference,
            order_id: a.order_id,
            amount: a.amount,
            age: now.saturating_since(a.requested_at),
            state: a.state.label(),
            note: a.note.clone(),
        })
        .collect();
    crate::sorted::sort_by(&mut out, |a, b| {
        b.age.cmp(&a.age).then(a.reference.cmp(&b.reference))
    });
    out
}

/// What a settled attempt means for its order. Carried with the attempt in
/// [`crate::payment::Command::Record`], so both are written in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Money moved: record the card tender on the order (or, if the order
    /// cannot take it, as a refund due).
    Approved { amount: Money, card: CardDetails },
    /// "Close & back to Register": the order is unpaid, its payment pending
    /// confirmation.
    ClosedUnpaid,
    /// A closed attempt was settled without a charge: the order stays
    /// unpaid, flagged "payment failed — collect again".
    Failed { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every state an attempt can be in, as stored.
    fn every_state() -> Vec<AttemptState> {
        let card = CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "A1".into(),
            masked_pan: None,
            psp_reference: None,
            tip: None,
        };
        vec![
            AttemptState::Connecting,
            AttemptState::Requested,
            AttemptState::Processing,
            AttemptState::Cancelling,
            AttemptState::ResultUnknown,
            AttemptState::Approved { card },
            AttemptState::Declined {
                reason: "no".into(),
            },
            AttemptState::Cancelled,
            AttemptState::ClosedUnpaid,
            AttemptState::Failed {
                reason: "no".into(),
            },
        ]
    }

    /// Storage finds the attempts to reload by their stored `state` word:
    /// the list is exactly the words of the states a register reloads.
    #[test]
    fn the_reloaded_words_are_the_stored_states_of_attempts_live_or_in_doubt() {
        let words: Vec<String> = every_state()
            .into_iter()
            .filter(|s| s.is_reloaded() && *s != AttemptState::Connecting)
            .map(|s| {
                serde_json::to_value(&s).unwrap()["state"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(words, AttemptState::RELOADED);
    }
}
