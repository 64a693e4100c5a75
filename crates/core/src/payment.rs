//! The card payment, as one sans-IO state machine: [`PaymentSession`].
//!
//! This is the flow of the vendor article Till grows from (ARCHITECTURE §3):
//! the cashier picks "Card (mPOS)", a popup opens and the request goes to the
//! LAN bridge; for 30 seconds the popup offers Cancel; an approval closes the
//! popup; a decline returns to the payment page; a result that never arrives
//! offers "Re-sync" twice and then only "Close & back to Register", which
//! leaves the order unpaid with its payment pending confirmation. An approval
//! that turns up later, even after Close, still turns the order paid.
//!
//! The session does no I/O and reads no clock, in the style of quinn-proto:
//!
//! - the shell feeds it [`Event`]s (bridge replies, button presses, timer
//!   ticks) with the current time through [`PaymentSession::handle`];
//! - `handle` returns [`Command`]s for the shell to carry out **in order**;
//!   a [`Command::Save`] must be durably written before the shell carries out
//!   the commands after it (that is the write-ahead rule: the attempt is in
//!   IndexedDB before the request leaves for the bridge);
//! - [`PaymentSession::poll_timeout`] says when to feed the next
//!   [`Event::Tick`]; [`PaymentSession::view`] says what the popup shows.
//!
//! The money-safety rules live here, once, and are tested by property:
//! a payment is approved only on the bridge's word; a start request is sent
//! at most once per reference, never again after a reload (a resumed session
//! asks for the status instead); Cancel is only sent inside the window; no
//! third re-sync; an approval is never lost, whatever state it arrives in.

use crate::money::Money;
use crate::order::{CardDetails, OrderId};
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;
use uuid::Uuid;

/// Cancel is offered for 30 s after the bridge accepted the request: the
/// article's window. After it the customer may already be entering a PIN,
/// and a cancel would race the capture.
pub const CANCEL_WINDOW: Duration = Duration::from_secs(30);

/// "Keep in mind that you will only be able to re-sync twice." After two
/// failed re-syncs a cashier with a queue needs to move on; the order is
/// then reconciled in the background.
pub const RESYNCS_MAX: u8 = 2;

/// How long the popup waits for a result before it says "Payment result not
/// received". 90 s: a normal card payment (tap or insert, PIN, online
/// authorisation) ends well within 60 s, and the slowest legitimate case the
/// simulator plays (approved after 40 s, beyond the cancel window) must not
/// be mistaken for a lost result; Adyen's terminal API waits 120 s, but a
/// cashier with a queue should not stare at a spinner for two minutes when
/// Re-sync and reconciliation exist. Overridable by [`PaymentConfig`] so tests
/// and stores can choose.
pub const RESULT_WAIT_DEFAULT: Duration = Duration::from_secs(90);

/// How often the popup asks the bridge for the status while processing: once
/// a second feels immediate to a cashier and is nothing for a LAN service.
pub const STATUS_POLL_INTERVAL_DEFAULT: Duration = Duration::from_secs(1);

/// Consecutive unanswered status polls after which the bridge counts as
/// unreachable and the result as unknown. One lost poll is a Wi-Fi blip on a
/// tablet, not a lost payment; three in a row (about three seconds) is not.
pub const UNREACHABLE_POLLS_MAX: u8 = 3;

/// Longest decline reason or note kept: a sentence, not a log.
pub const REASON_LEN_MAX: usize = 200;

/// The reference of one card payment attempt: a UUID created by the caller,
/// the key by which the bridge, the terminal and the back office know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaymentRef(Uuid);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    #[error("payment reference {0:?} is not a UUID")]
    BadReference(String),
    #[error("A card payment for this order is still pending confirmation")]
    PendingConfirmation,
    #[error("the amount to charge must be more than zero")]
    NothingToCharge,
}

impl PaymentRef {
    pub fn from_uuid(u: Uuid) -> PaymentRef {
        PaymentRef(u)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl FromStr for PaymentRef {
    type Err = PaymentError;
    fn from_str(s: &str) -> Result<PaymentRef, PaymentError> {
        match Uuid::parse_str(s) {
            Ok(u) if !u.is_nil() => Ok(PaymentRef(u)),
            _ => Err(PaymentError::BadReference(s.to_owned())),
        }
    }
}

impl TryFrom<String> for PaymentRef {
    type Error = PaymentError;
    fn try_from(s: String) -> Result<PaymentRef, PaymentError> {
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

/// Timings a store (or a test) may change. The cancel window and the number
/// of re-syncs are not here: they are the product's promise to the cashier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentConfig {
    pub result_wait: Duration,
    pub poll_interval: Duration,
}

impl Default for PaymentConfig {
    fn default() -> Self {
        PaymentConfig {
            result_wait: RESULT_WAIT_DEFAULT,
            poll_interval: STATUS_POLL_INTERVAL_DEFAULT,
        }
    }
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
    NotFound,
}

/// The requests a session asks the shell to make, named so that each reply
/// is matched to its question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Start,
    /// A status query the session makes by itself (while processing, or
    /// once after a reload).
    Poll,
    /// A status query the cashier asked for with "Re-sync".
    Resync,
    Cancel,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The bridge took the start request (HTTP 202).
    Accepted,
    /// The bridge refused the start request (a 4xx other than 401/409 with a
    /// status): nothing was charged.
    Refused { reason: String },
    /// The bridge said where the payment stands.
    Status(BridgeStatus),
    /// No usable answer: network error, timeout, 5xx or a body that does not
    /// parse. The request may or may not have arrived.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Replied {
        to: Request,
        reply: Reply,
    },
    CancelPressed,
    ResyncPressed,
    ClosePressed,
    /// A timer fired; see [`PaymentSession::poll_timeout`].
    Tick,
}

impl Event {
    pub fn status(to: Request, status: BridgeStatus) -> Event {
        Event::Replied {
            to,
            reply: Reply::Status(status),
        }
    }

    pub fn unreachable(to: Request) -> Event {
        Event::Replied {
            to,
            reply: Reply::Unreachable,
        }
    }
}

/// Where an attempt stands; persisted with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AttemptState {
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
    /// The bridge never received the request, or refused it: nothing was
    /// charged and the cashier may try again.
    Failed {
        reason: String,
    },
}

impl AttemptState {
    pub fn label(&self) -> &'static str {
        match self {
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
    /// no new card attempt on the order, no void.
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

    /// The popup is still open for this attempt (what a reload resumes).
    pub fn is_live(&self) -> bool {
        self.is_in_doubt() && *self != AttemptState::ClosedUnpaid
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

/// What the shell must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Command {
    /// Write this attempt durably (strict) before carrying out the next command.
    Save(Attempt),
    /// `POST /v1/payments`; reply with `Event::Replied { to: Request::Start, .. }`.
    Start {
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
    },
    /// `GET /v1/payments/{reference}`; reply to the given request kind.
    QueryStatus {
        reference: PaymentRef,
        request: Request,
    },
    /// `POST /v1/payments/{reference}/cancel`; reply to `Request::Cancel`.
    Cancel { reference: PaymentRef },
    /// Record the card tender; the order turns paid when it is covered. One
    /// transaction with its outbox entry.
    RecordApproval {
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
        card: CardDetails,
    },
    /// Close the popup and go back to the payment page with this message.
    ReturnToPayment { message: String },
    /// Close the order as unpaid, payment pending confirmation; clear the
    /// cart; back to the register.
    CloseUnpaid {
        reference: PaymentRef,
        order_id: OrderId,
    },
}

/// What the popup shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub state: AttemptState,
    /// Seconds left on the Cancel button, when Cancel is offered.
    pub cancel_secs_left: Option<u64>,
    /// Re-syncs left, when Re-sync is offered (may be offered while one is
    /// running; `resync_running` then disables the button).
    pub resyncs_left: Option<u8>,
    pub resync_running: bool,
    /// "Close & back to Register" is offered.
    pub can_close: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PaymentSession {
    attempt: Attempt,
    config: PaymentConfig,
    start_in_flight: bool,
    poll_in_flight: bool,
    resync_in_flight: bool,
    cancel_in_flight: bool,
    next_poll_at: Option<Timestamp>,
    unanswered_polls: u8,
}

fn clip(reason: &str) -> String {
    reason.chars().take(REASON_LEN_MAX).collect()
}

impl PaymentSession {
    /// Starts a new attempt. The returned commands save it as `requested`
    /// and then send it: in that order.
    pub fn start(
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
        config: PaymentConfig,
        now: Timestamp,
    ) -> Result<(PaymentSession, Vec<Command>), PaymentError> {
        if amount.is_negative() || amount.is_zero() {
            return Err(PaymentError::NothingToCharge);
        }
        let attempt = Attempt {
            reference,
            order_id,
            amount,
            requested_at: now,
            accepted_at: None,
            state: AttemptState::Requested,
            resyncs_used: 0,
            note: None,
            updated_at: now,
        };
        let mut s = PaymentSession::idle(attempt, config);
        s.start_in_flight = true;
        let cmds = vec![
            Command::Save(s.attempt.clone()),
            Command::Start {
                reference,
                order_id,
                amount,
            },
        ];
        Ok((s, cmds))
    }

    /// Picks up a stored attempt after a reload or crash. A live attempt is
    /// never sent again: the session asks the bridge where it stands.
    pub fn resume(
        attempt: Attempt,
        config: PaymentConfig,
        now: Timestamp,
    ) -> (PaymentSession, Vec<Command>) {
        let mut s = PaymentSession::idle(attempt, config);
        let mut cmds = Vec::new();
        if s.attempt.state == AttemptState::Cancelling {
            // The cancel's answer was lost with the page; polling tells.
            s.set_state(AttemptState::Processing, now, &mut cmds);
        }
        if s.attempt.state.is_in_doubt() {
            cmds.push(s.poll(now));
        }
        (s, cmds)
    }

    fn idle(attempt: Attempt, config: PaymentConfig) -> PaymentSession {
        PaymentSession {
            attempt,
            config,
            start_in_flight: false,
            poll_in_flight: false,
            resync_in_flight: false,
            cancel_in_flight: false,
            next_poll_at: None,
            unanswered_polls: 0,
        }
    }

    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }

    pub fn state(&self) -> &AttemptState {
        &self.attempt.state
    }

    /// When the cancel window closes, once the bridge has accepted.
    pub fn cancel_deadline(&self) -> Option<Timestamp> {
        self.attempt.accepted_at.map(|t| t + CANCEL_WINDOW)
    }

    /// When "Payment result not received" is shown if nothing arrives.
    fn result_deadline(&self) -> Timestamp {
        self.attempt
            .accepted_at
            .unwrap_or(self.attempt.requested_at)
            + self.config.result_wait
    }

    /// When to feed the next [`Event::Tick`]; `None` while nothing is timed.
    /// Call after every `handle`.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match self.attempt.state {
            AttemptState::Requested => Some(self.result_deadline()),
            AttemptState::Processing | AttemptState::Cancelling => {
                let poll = if self.poll_in_flight {
                    None
                } else {
                    self.next_poll_at
                };
                Some(poll.map_or(self.result_deadline(), |p| p.min(self.result_deadline())))
            }
            _ => None,
        }
    }

    /// What the popup shows at `now`.
    pub fn view(&self, now: Timestamp) -> View {
        let state = self.attempt.state.clone();
        let cancel_secs_left = match (&state, self.cancel_deadline()) {
            (AttemptState::Processing, Some(deadline)) if now < deadline => {
                Some((deadline - now).as_secs_ceil())
            }
            _ => None,
        };
        let unknown = state == AttemptState::ResultUnknown;
        let left = RESYNCS_MAX.saturating_sub(self.attempt.resyncs_used);
        View {
            cancel_secs_left,
            resyncs_left: (unknown && (left > 0 || self.resync_in_flight)).then_some(left),
            resync_running: self.resync_in_flight,
            can_close: unknown,
            note: self.attempt.note.clone(),
            state,
        }
    }

    /// Feeds one event at `now`; returns the commands to carry out in order.
    #[must_use]
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Command> {
        let mut cmds = Vec::new();
        match event {
            Event::Replied { to, reply } => self.on_reply(to, reply, now, &mut cmds),
            Event::CancelPressed => {
                let in_window = self.cancel_deadline().is_some_and(|d| now < d);
                if self.attempt.state == AttemptState::Processing
                    && in_window
                    && !self.cancel_in_flight
                {
                    self.cancel_in_flight = true;
                    self.set_state(AttemptState::Cancelling, now, &mut cmds);
                    cmds.push(Command::Cancel {
                        reference: self.attempt.reference,
                    });
                }
            }
            Event::ResyncPressed => {
                if self.attempt.state == AttemptState::ResultUnknown
                    && self.attempt.resyncs_used < RESYNCS_MAX
                    && !self.resync_in_flight
                {
                    // Counted when pressed, and saved, so that a reload in
                    // the middle of a re-sync does not give a third one.
                    self.attempt.resyncs_used += 1;
                    self.resync_in_flight = true;
                    self.attempt.updated_at = now;
                    cmds.push(Command::Save(self.attempt.clone()));
                    cmds.push(Command::QueryStatus {
                        reference: self.attempt.reference,
                        request: Request::Resync,
                    });
                }
            }
            Event::ClosePressed => {
                if self.attempt.state == AttemptState::ResultUnknown {
                    self.set_state(AttemptState::ClosedUnpaid, now, &mut cmds);
                    cmds.push(Command::CloseUnpaid {
                        reference: self.attempt.reference,
                        order_id: self.attempt.order_id,
                    });
                }
            }
            Event::Tick => self.on_tick(now, &mut cmds),
        }
        cmds
    }

    fn on_tick(&mut self, now: Timestamp, cmds: &mut Vec<Command>) {
        let waiting = matches!(
            self.attempt.state,
            AttemptState::Requested | AttemptState::Processing | AttemptState::Cancelling
        );
        if waiting && now >= self.result_deadline() {
            self.set_state(AttemptState::ResultUnknown, now, cmds);
            return;
        }
        let polling = matches!(
            self.attempt.state,
            AttemptState::Processing | AttemptState::Cancelling
        );
        if polling && !self.poll_in_flight && self.next_poll_at.is_some_and(|t| now >= t) {
            cmds.push(self.poll(now));
        }
    }

    fn poll(&mut self, _now: Timestamp) -> Command {
        self.poll_in_flight = true;
        self.next_poll_at = None;
        Command::QueryStatus {
            reference: self.attempt.reference,
            request: Request::Poll,
        }
    }

    fn schedule_poll(&mut self, now: Timestamp) {
        self.next_poll_at = Some(now + self.config.poll_interval);
    }

    fn set_state(&mut self, state: AttemptState, now: Timestamp, cmds: &mut Vec<Command>) {
        if self.attempt.state != state {
            self.attempt.state = state;
            self.attempt.updated_at = now;
            cmds.push(Command::Save(self.attempt.clone()));
        }
    }

    fn on_reply(&mut self, to: Request, reply: Reply, now: Timestamp, cmds: &mut Vec<Command>) {
        match to {
            Request::Start => self.start_in_flight = false,
            Request::Poll => self.poll_in_flight = false,
            Request::Resync => self.resync_in_flight = false,
            Request::Cancel => self.cancel_in_flight = false,
        }
        match reply {
            Reply::Status(status) => self.on_status(to, status, now, cmds),
            Reply::Accepted => {
                if self.attempt.state == AttemptState::Requested {
                    self.attempt.accepted_at = Some(now);
                    self.set_state(AttemptState::Processing, now, cmds);
                    self.schedule_poll(now);
                }
            }
            Reply::Refused { reason } => {
                if self.attempt.state == AttemptState::Requested {
                    let reason = clip(&reason);
                    self.set_state(
                        AttemptState::Failed {
                            reason: reason.clone(),
                        },
                        now,
                        cmds,
                    );
                    cmds.push(Command::ReturnToPayment {
                        message: format!("The terminal refused the payment: {reason}"),
                    });
                }
            }
            Reply::Unreachable => match (to, &self.attempt.state) {
                // The request may have arrived: the result is unknown.
                (Request::Start, AttemptState::Requested) => {
                    self.set_state(AttemptState::ResultUnknown, now, cmds)
                }
                (Request::Poll, AttemptState::Processing | AttemptState::Cancelling) => {
                    self.unanswered_polls += 1;
                    if self.unanswered_polls >= UNREACHABLE_POLLS_MAX {
                        self.set_state(AttemptState::ResultUnknown, now, cmds);
                    } else {
                        self.schedule_poll(now);
                    }
                }
                // A cancel that got no answer: keep polling, the cashier may
                // press again while the window lasts.
                (Request::Cancel, AttemptState::Cancelling) => {
                    self.set_state(AttemptState::Processing, now, cmds)
                }
                _ => {}
            },
        }
    }

    fn on_status(
        &mut self,
        to: Request,
        status: BridgeStatus,
        now: Timestamp,
        cmds: &mut Vec<Command>,
    ) {
        if to == Request::Poll {
            self.unanswered_polls = 0;
        }
        let state = self.attempt.state.clone();
        if matches!(state, AttemptState::Approved { .. }) {
            return; // Final, and recorded once.
        }
        match status {
            BridgeStatus::Approved { amount, card } => {
                if amount != self.attempt.amount {
                    // Not the payment we asked for: never record it as ours.
                    self.attempt.note = Some(clip(&format!(
                        "The terminal reported {amount} for a {} payment; check the terminal's journal",
                        self.attempt.amount
                    )));
                    if state.is_live() {
                        self.set_state(AttemptState::ResultUnknown, now, cmds);
                    }
                    cmds.push(Command::Save(self.attempt.clone()));
                    return;
                }
                if card.validate().is_err() {
                    self.attempt.note = Some(
                        "The terminal's answer was incomplete; re-sync or check the terminal"
                            .into(),
                    );
                    if state.is_live() {
                        self.set_state(AttemptState::ResultUnknown, now, cmds);
                    }
                    cmds.push(Command::Save(self.attempt.clone()));
                    return;
                }
                // An approval is applied in every state: money has moved.
                self.set_state(AttemptState::Approved { card: card.clone() }, now, cmds);
                cmds.push(Command::RecordApproval {
                    reference: self.attempt.reference,
                    order_id: self.attempt.order_id,
                    amount,
                    card,
                });
            }
            _ if !state.is_in_doubt() => {} // Declined, cancelled and failed stay so.
            BridgeStatus::Declined { reason } => {
                let reason = clip(&reason);
                self.set_state(
                    AttemptState::Declined {
                        reason: reason.clone(),
                    },
                    now,
                    cmds,
                );
                if state != AttemptState::ClosedUnpaid {
                    cmds.push(Command::ReturnToPayment {
                        message: format!("Payment declined: {reason}"),
                    });
                }
            }
            BridgeStatus::Cancelled => {
                self.set_state(AttemptState::Cancelled, now, cmds);
                if state != AttemptState::ClosedUnpaid {
                    cmds.push(Command::ReturnToPayment {
                        message: "Payment cancelled".into(),
                    });
                }
            }
            BridgeStatus::NotFound
                if self.attempt.accepted_at.is_none() && state != AttemptState::ClosedUnpaid =>
            {
                // Never accepted and unknown to the bridge: it never arrived.
                self.set_state(
                    AttemptState::Failed {
                        reason: "the terminal never received this payment".into(),
                    },
                    now,
                    cmds,
                );
                cmds.push(Command::ReturnToPayment {
                    message:
                        "The terminal never received the payment. Nothing was charged; try again."
                            .into(),
                });
            }
            BridgeStatus::Processing => {
                if self.attempt.accepted_at.is_none() {
                    // A request the bridge has, accepted at some time after it
                    // was written. Counting the cancel window from the write
                    // is conservative: it closes early, never late.
                    self.attempt.accepted_at = Some(self.attempt.requested_at);
                    self.attempt.updated_at = now;
                    cmds.push(Command::Save(self.attempt.clone()));
                }
                match state {
                    AttemptState::Requested => {
                        self.set_state(AttemptState::Processing, now, cmds);
                        self.schedule_poll(now);
                    }
                    AttemptState::Cancelling if to == Request::Cancel => {
                        // Too late to cancel: the terminal is capturing.
                        self.attempt.note = Some(
                            "Too late to cancel: the customer is paying on the terminal".into(),
                        );
                        self.set_state(AttemptState::Processing, now, cmds);
                        if !self.poll_in_flight {
                            self.schedule_poll(now);
                        }
                    }
                    AttemptState::Processing | AttemptState::Cancelling if to == Request::Poll => {
                        self.schedule_poll(now)
                    }
                    // Still processing after the wait: a failed re-sync.
                    _ => {}
                }
            }
            BridgeStatus::NotFound => {
                if matches!(state, AttemptState::Processing | AttemptState::Cancelling) {
                    // The bridge accepted it and then lost it (the terminal
                    // timed out): only the back office can tell now.
                    self.set_state(AttemptState::ResultUnknown, now, cmds);
                }
                // Otherwise a failed re-sync, or nothing new after Close.
            }
        }
    }
}
