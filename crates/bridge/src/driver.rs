//! The nexo driver: how one operation on the terminal (a payment, or a
//! refund as a reversal of a payment) goes from the first request to a
//! result Till can trust, as a sans-IO machine.
//!
//! An [`Operation`] is stored in the bridge's journal with its payment.
//! The journal feeds it what happened on the wire ([`Operation::answered`],
//! [`Operation::due`]) with the time, and carries out what it asks
//! ([`Need`]): another request to the terminal. It never reads a clock or
//! a socket, so the whole-system simulator drives this same code against
//! `till-terminal`'s state machine.
//!
//! The rules, the money-safety ones first:
//!
//! - **A call that fails is not a decline.** A Payment whose HTTP call
//!   times out, is reset, loses its answer, or is answered with a message
//!   whose MAC does not verify may have reached the terminal: the payment
//!   is **unknown** and is asked about by TransactionStatus until the
//!   terminal says (`Success` with the repeated answer: approved or
//!   declined; `InProgress`: still processing).
//! - **"Not found" is only believed late.** A `NotFound` for a request the
//!   terminal may have received stays unknown until a status asked after
//!   the terminal's own timeout says `NotFound` again; only then is it
//!   "not started" (nothing was charged). The journal's tombstone rule
//!   stays: the reference can never be started again.
//! - **Only an answer about this request counts.** Busy (another payment
//!   is on the terminal), a refused connection (nothing was sent), or the
//!   terminal's own Failure with a reason are final; an unknown
//!   `ErrorCondition` is asked about rather than guessed.
//! - **Cancel is an Abort**, sent only while the Payment call is running.
//!   A payment approved before the Abort landed stays approved, and is
//!   reported like any other.
//! - **A refund is a Reversal** of the payment's `POITransactionID`. The
//!   terminal only acknowledges it; its outcome comes later, by status (or
//!   the vendor's notification to the back office). Until then the refund
//!   is processing, never done.

use serde::{Deserialize, Serialize};
use till_core::money::Money;
use till_core::order::{CardDetails, OrderId};
use till_core::payment::{BridgeStatus, PaymentRef};
use till_core::time::{Duration, Timestamp};
use till_nexo::message::*;
use till_nexo::{additional, Amount, ErrorCondition, ServiceId};

/// How long a terminal may work on a payment (Adyen's terminals: 120 s).
pub const TERMINAL_TIMEOUT_DEFAULT: Duration = Duration::from_secs(120);
/// What the bridge waits beyond the terminal's own timeout for a Payment's
/// answer (the terminal answers at its timeout at the latest): an eighth of
/// it, between these bounds.
pub const ANSWER_MARGIN_MAX: Duration = Duration::from_secs(15);
pub const ANSWER_MARGIN_MIN: Duration = Duration::from_secs(1);
/// How long any other request (status, abort, reversal) may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The first status query after a call failed, and the longest wait
/// between two (doubling in between).
pub const ASK_FIRST: Duration = Duration::from_secs(1);
pub const ASK_MAX: Duration = Duration::from_secs(60);

/// What the cashier reads when the terminal is busy.
pub const BUSY_REASON: &str = "the terminal is busy with another payment";
/// What the cashier reads when the terminal cannot be reached at all.
pub const UNREACHABLE_REASON: &str =
    "the terminal cannot be reached (is it on, and on the store's network?)";
/// What the cashier reads when the terminal never received it.
pub const NEVER_RECEIVED_REASON: &str = "the terminal never received it";

/// The terminal the bridge drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverConfig {
    /// The terminal's `POIID` (`model-serial`).
    pub poi_id: String,
    /// Who the bridge is to the terminal (`SaleID`).
    pub sale_id: String,
    pub terminal_timeout: Duration,
}

impl DriverConfig {
    /// How long past the terminal's timeout its answer may still come.
    pub fn answer_margin(&self) -> Duration {
        let eighth = Duration::from_millis(self.terminal_timeout.as_millis() / 8);
        eighth.clamp(ANSWER_MARGIN_MIN, ANSWER_MARGIN_MAX)
    }

    /// How long a Payment call waits for its answer.
    pub fn payment_wait(&self) -> Duration {
        self.terminal_timeout + self.answer_margin()
    }
}

/// The payment a refund goes back to, as the terminal knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    pub reference: PaymentRef,
    pub poi_transaction: TransactionId,
    pub card: CardDetails,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "final", rename_all = "snake_case")]
pub enum Final {
    Approved {
        amount: Money,
        card: CardDetails,
        poi_transaction: TransactionId,
        /// When the terminal made it (its `POITransactionID` time).
        at: Timestamp,
    },
    Declined {
        reason: String,
    },
    Cancelled,
    NotStarted {
        reason: String,
    },
}

/// What was last heard while asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heard {
    Nothing,
    /// The terminal said the operation is in progress.
    InProgress,
    /// The terminal acknowledged a reversal; its outcome is to come.
    Acknowledged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The Payment (or Reversal) call is on the wire.
    Calling,
    /// Asked about by TransactionStatus until the terminal says.
    Asking {
        asks: u32,
        next_at: Timestamp,
        /// A status request is out, sent at this time.
        asked_at: Option<Timestamp>,
        /// When the last status request went out.
        #[serde(default)]
        last_asked: Option<Timestamp>,
        /// When the latest status request that was answered went out.
        #[serde(default)]
        answered: Option<Timestamp>,
        /// Someone asked while a status request was out: ask again as soon
        /// as it is answered (its answer may be older than the question).
        #[serde(default)]
        again: bool,
        heard: Heard,
    },
    Done(Final),
}

/// A request the operation needs sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// The Payment or Reversal itself.
    Start,
    Status,
    Abort,
}

/// How a request to the terminal ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    Answered(Box<Response>),
    /// HTTP 200 with no body: how an Abort is answered.
    Empty,
    /// Nothing was sent: the connection was refused, or its TLS handshake
    /// failed (a terminal that is off, or not the configured one).
    NotConnected(String),
    /// Sent, and no answer Till can use: a timeout, a reset, an answer lost
    /// or refused (a MAC that does not verify, a message that does not parse).
    Lost(String),
}

/// One payment or refund on the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    pub amount: Money,
    /// A refund: the payment it goes back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_of: Option<Original>,
    pub sale_id: String,
    /// The ServiceID of the Payment or Reversal request.
    pub service_id: ServiceId,
    pub sent_at: Timestamp,
    pub phase: Phase,
    /// Cancel was pressed and an Abort sent (once).
    #[serde(default)]
    pub abort_sent: bool,
    /// The customer is asked for a tip on the terminal
    /// (`tenderOption=AskGratuity`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ask_tip: bool,
}

impl Operation {
    pub fn new(
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
        refund_of: Option<Original>,
        config: &DriverConfig,
        service_id: ServiceId,
        now: Timestamp,
    ) -> Operation {
        Operation {
            reference,
            order_id,
            amount,
            refund_of,
            sale_id: config.sale_id.clone(),
            service_id,
            sent_at: now,
            phase: Phase::Calling,
            abort_sent: false,
            ask_tip: false,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    pub fn final_state(&self) -> Option<&Final> {
        match &self.phase {
            Phase::Done(f) => Some(f),
            _ => None,
        }
    }

    /// Until when an answer of the terminal about this operation is still
    /// to be expected: its own timeout, and the margin.
    fn expected_until(&self, config: &DriverConfig) -> Timestamp {
        self.sent_at + config.payment_wait()
    }

    /// What the register is told at `now`.
    pub fn status(&self, now: Timestamp, config: &DriverConfig) -> BridgeStatus {
        match &self.phase {
            Phase::Calling => BridgeStatus::Processing,
            Phase::Asking { heard, .. } => {
                let expected = now < self.expected_until(config);
                // In progress (or a reversal acknowledged) while an answer is
                // still to be expected; in doubt after that.
                match heard {
                    Heard::Acknowledged | Heard::InProgress if expected => BridgeStatus::Processing,
                    _ => BridgeStatus::Unknown,
                }
            }
            Phase::Done(Final::Approved { amount, card, .. }) => BridgeStatus::Approved {
                amount: *amount,
                card: card.clone(),
            },
            Phase::Done(Final::Declined { reason }) => BridgeStatus::Declined {
                reason: reason.clone(),
            },
            Phase::Done(Final::Cancelled) => BridgeStatus::Cancelled,
            Phase::Done(Final::NotStarted { reason }) => BridgeStatus::NotStarted {
                reason: reason.clone(),
            },
        }
    }

    /// A status query is due at `now` (the journal's timer).
    pub fn due(&mut self, now: Timestamp) -> Option<Need> {
        match &mut self.phase {
            Phase::Asking {
                next_at,
                asked_at,
                last_asked,
                ..
            } if asked_at.is_none() && *next_at <= now => {
                *asked_at = Some(now);
                *last_asked = Some(now);
                Some(Need::Status)
            }
            _ => None,
        }
    }

    /// The register asked (a Re-sync): ask the terminal now; if a status
    /// request is out, ask again as soon as it is answered. One request at
    /// a time, so a register polling every second asks no faster.
    pub fn ask_now(&mut self, now: Timestamp) -> Option<Need> {
        if let Phase::Asking {
            next_at,
            asked_at,
            again,
            ..
        } = &mut self.phase
        {
            match asked_at {
                None => *next_at = (*next_at).min(now),
                Some(_) => *again = true,
            }
        }
        self.due(now)
    }

    /// Whether the terminal has answered a status asked at or after `since`
    /// (or the operation no longer needs asking): what a Re-sync waits for.
    pub fn answered_since(&self, since: Timestamp) -> bool {
        match &self.phase {
            Phase::Asking { answered, .. } => answered.is_some_and(|t| t >= since),
            _ => true,
        }
    }

    /// The bridge restarted: a call it had out is gone with the process.
    /// A Payment that was on the wire may have reached the terminal, so it
    /// is asked about; a status that was out is asked again.
    pub fn after_restart(&mut self) {
        match &mut self.phase {
            Phase::Calling => {
                self.phase = Phase::Asking {
                    asks: 0,
                    next_at: self.sent_at,
                    asked_at: None,
                    last_asked: None,
                    answered: None,
                    again: false,
                    heard: Heard::Nothing,
                }
            }
            Phase::Asking { asked_at, .. } => *asked_at = None,
            Phase::Done(_) => {}
        }
    }

    /// Cancel pressed: an Abort, once, while the payment is not decided
    /// (its call running, or the terminal asked about it). A refund (a
    /// reversal) cannot be aborted.
    pub fn cancel(&mut self) -> Option<Need> {
        let open = !self.is_done() && self.refund_of.is_none();
        if open && !self.abort_sent {
            self.abort_sent = true;
            return Some(Need::Abort);
        }
        None
    }

    /// When the journal's timer is next needed for this operation.
    pub fn next_at(&self) -> Option<Timestamp> {
        match &self.phase {
            Phase::Asking {
                next_at,
                asked_at: None,
                ..
            } => Some(*next_at),
            _ => None,
        }
    }
}

mod answer;
mod request;
pub use answer::failure_of;
