//! The card payment, as one sans-IO state machine per attempt: [`PaymentSession`].
//!
//! This is the flow of the vendor article Till grows from (ARCHITECTURE §3):
//! the cashier picks "Card (mPOS)", a popup opens and the request goes to the
//! LAN bridge; for 30 seconds the popup offers Cancel; an approval closes the
//! popup; a decline returns to the payment page; a result that never arrives
//! offers "Re-sync" twice and then only "Close & back to Register", which
//! leaves the order unpaid with its payment pending confirmation. The same
//! session then keeps reconciling the closed attempt (bridge and back
//! office) until an authoritative answer settles it: an approval found later
//! still turns the order paid.
//!
//! The session does no I/O and reads no clock, in the style of quinn-proto:
//!
//! - the shell feeds it [`Event`]s (bridge replies, the back office's
//!   payments, button presses, timer ticks) with the current time through
//!   [`PaymentSession::handle`];
//! - `handle` returns [`Command`]s for the shell to carry out **in order**; a
//!   [`Command::Save`] or [`Command::Record`] must be durably written before
//!   the commands after it are carried out (the write-ahead rule: the attempt
//!   is in storage before the start request leaves for the bridge);
//! - [`PaymentSession::poll_timeout`] says when to feed the next
//!   [`Event::Tick`]; [`PaymentSession::view`] says what the popup shows.
//!
//! Every reply names the reference it answers ([`Event::Replied`]); a reply
//! about another attempt is ignored here, so a late answer to an earlier,
//! cancelled attempt can never settle the attempt being charged now. The
//! register routes replies to their own session (`crate::register`).
//!
//! The money-safety rules live here, once, and are tested by property:
//!
//! - a payment is approved only on the bridge's or the back office's word,
//!   for the amount asked, and an approval is recorded whatever state it
//!   arrives in;
//! - only an authoritative answer fails a payment: declined, cancelled
//!   before capture, or "never received" for a request the bridge never
//!   accepted ([`BridgeStatus::NeverReceived`] is final at the bridge: it
//!   keeps a tombstone and refuses a start that arrives later). "Not known
//!   yet" ([`BridgeStatus::Unknown`], no answer, a timeout) is never "not
//!   charged": such an attempt stays in doubt;
//! - a start request is sent at most once per reference, and only after the
//!   bridge answered a probe: a bridge that cannot be reached at that moment
//!   means nothing was sent, so nothing is in doubt;
//! - Cancel is only sent inside the window, and only for a payment: a
//!   refund to the card is a reversal, which the terminal cannot call back
//!   once it has it; no third re-sync.

pub use crate::api::BridgeStatus;
use crate::api::PaymentReport;
use crate::card::CardDetails;
pub use crate::card::{
    ensure_no_payment_in_doubt, in_doubt, Attempt, AttemptState, InDoubt, PaymentError, RefundLink,
    Settlement,
};
pub use crate::ids::PaymentRef;
use crate::money::Money;
use crate::order::OrderId;
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};

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

/// How long the probe before a start may take. A bridge on the store's LAN
/// answers within milliseconds; five seconds without an answer means it is
/// not there, and since the start was never sent, nothing was charged.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a closed attempt (pending confirmation) is checked with the
/// bridge and the back office while the register runs: the article says the
/// update "could take up to day-end"; every five minutes finds a late report
/// soon after it lands, and costs two small requests.
pub const RECONCILE_INTERVAL: Duration = Duration::from_mins(5);

/// Longest decline reason or note kept: a sentence, not a log.
pub const REASON_LEN_MAX: usize = 200;

/// Timings a store (or a test) may change. The cancel window and the number
/// of re-syncs are not here: they are the product's promise to the cashier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentConfig {
    pub result_wait: Duration,
    pub poll_interval: Duration,
    /// The terminal asks the customer for a tip on a payment (a store's
    /// setting; never on a refund).
    #[serde(default)]
    pub ask_tip: bool,
}

impl Default for PaymentConfig {
    fn default() -> Self {
        PaymentConfig {
            result_wait: RESULT_WAIT_DEFAULT,
            poll_interval: STATUS_POLL_INTERVAL_DEFAULT,
            ask_tip: false,
        }
    }
}

/// The requests a session asks the shell to make, named so that each reply
/// is matched to its question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Is the bridge there and does it accept our pairing? Asked before the
    /// start, so that an unreachable bridge is known not to have anything.
    Probe,
    Start,
    /// A status query the session makes by itself (while processing, or
    /// once after a reload).
    Poll,
    /// A status query the cashier asked for with "Re-sync".
    Resync,
    Cancel,
    /// A status query of reconciliation (a closed attempt, or "Download").
    Reconcile,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The bridge took the start request (HTTP 202), or answered the probe.
    Accepted,
    /// The bridge refused the request with a 4xx that means it did nothing
    /// (bad pairing token, invalid request): nothing was charged.
    Refused { reason: String },
    /// The bridge said where the payment stands.
    Status(BridgeStatus),
    /// No usable answer: network error, timeout, 5xx or a body that does not
    /// parse. The request may or may not have arrived.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The bridge answered (or failed to answer) a request about `reference`.
    Replied {
        reference: PaymentRef,
        to: Request,
        reply: Reply,
    },
    /// The back office's payments for the attempt's order (`None`: it could
    /// not be asked). A report with the attempt's reference is an approval.
    OmsAnswered {
        payments: Option<Vec<PaymentReport>>,
    },
    /// The write-ahead record of the attempt could not be written: the start
    /// was not sent.
    NotSaved {
        reason: String,
    },
    CancelPressed,
    ResyncPressed,
    ClosePressed,
    /// Check a closed attempt now (the register started, the bridge or the
    /// back office came back, the cashier pressed "Download").
    ReconcileNow,
    /// A timer fired; see [`PaymentSession::poll_timeout`].
    Tick,
}

impl Event {
    pub fn status(reference: PaymentRef, to: Request, status: BridgeStatus) -> Event {
        Event::Replied {
            reference,
            to,
            reply: Reply::Status(status),
        }
    }

    pub fn unreachable(reference: PaymentRef, to: Request) -> Event {
        Event::Replied {
            reference,
            to,
            reply: Reply::Unreachable,
        }
    }

    pub fn accepted(reference: PaymentRef, to: Request) -> Event {
        Event::Replied {
            reference,
            to,
            reply: Reply::Accepted,
        }
    }
}

impl Attempt {
    /// Whether the back office's `report` is this attempt's outcome: a
    /// charge for a payment, a refund of the same original for a refund.
    pub fn reported_by(&self, report: &PaymentReport) -> bool {
        let kind = match &self.refund {
            None => report.is_charge(),
            Some(link) => report.is_refund_of(link.original),
        };
        kind && report.reference == self.reference && report.order_id == self.order_id
    }
}

/// What the shell must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Command {
    /// Write this attempt durably (strict) before carrying out the next command.
    Save(Attempt),
    /// Write this attempt and apply the settlement to its order, in one
    /// transaction, before carrying out the next command.
    Record {
        attempt: Attempt,
        settlement: Settlement,
    },
    /// Ask the bridge whether it is there (`GET /v1/health` with the
    /// pairing token); reply to `Request::Probe`.
    Probe { reference: PaymentRef },
    /// `POST /v1/payments`; reply to `Request::Start`.
    /// `POST /v1/payments`, or `POST /v1/refunds` when `refund_of` names
    /// the payment the money goes back to.
    Start {
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
        refund_of: Option<PaymentRef>,
        /// The terminal asks the customer for a tip (payments only).
        ask_tip: bool,
    },
    /// `GET /v1/payments/{reference}`; reply to the given request kind.
    QueryStatus {
        reference: PaymentRef,
        request: Request,
    },
    /// `POST /v1/payments/{reference}/cancel`; reply to `Request::Cancel`.
    Cancel { reference: PaymentRef },
    /// `GET /api/v1/orders/{order_id}` on the back office; reply with
    /// [`Event::OmsAnswered`].
    LookupOms {
        reference: PaymentRef,
        order_id: OrderId,
    },
    /// Close the popup and go back to the payment page with this message.
    ReturnToPayment { message: String },
}

/// What the popup shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The attempt shown.
    pub reference: PaymentRef,
    pub state: AttemptState,
    pub amount: Money,
    /// Seconds left on the Cancel button, when Cancel is offered.
    pub cancel_secs_left: Option<u64>,
    /// Re-syncs left, when Re-sync is offered (may be offered while one is
    /// running; `resync_running` then disables the button).
    pub resyncs_left: Option<u8>,
    pub resync_running: bool,
    /// "Close & back to Register" is offered.
    pub can_close: bool,
    pub note: Option<String>,
    /// Money goes back to the card (a refund), rather than being taken.
    pub refund: bool,
}

impl View {
    /// The popup's heading: "Card payment" or "Card refund".
    pub fn heading(&self) -> &'static str {
        if self.refund {
            "Card refund"
        } else {
            "Card payment"
        }
    }

    /// The popup's headline.
    pub fn title(&self) -> &'static str {
        match self.state {
            AttemptState::Connecting => "Connecting to the terminal…",
            AttemptState::Requested => "Sending to the terminal…",
            AttemptState::Cancelling => "Cancelling…",
            AttemptState::ResultUnknown if self.refund => "Refund result not received",
            AttemptState::ResultUnknown => "Payment result not received",
            _ if self.refund => "Refunding to the card…",
            _ => "Processing…",
        }
    }

    /// What the cashier should do now.
    pub fn instruction(&self) -> &'static str {
        let closing = self.can_close && self.resyncs_left.is_none();
        match (&self.state, self.refund) {
            (AttemptState::ResultUnknown, false) if closing => {
                "The terminal's result did not reach the register. Close the sale: it stays unpaid and is checked again by itself. Do not charge the customer again."
            }
            (AttemptState::ResultUnknown, false) => {
                "The terminal's result did not reach the register. Check the terminal's screen, then Re-sync. Do not charge the customer again."
            }
            (AttemptState::ResultUnknown, true) if closing => {
                "The terminal's result did not reach the register. Close: the refund stays pending and is checked again by itself. Do not refund again."
            }
            (AttemptState::ResultUnknown, true) => {
                "The terminal's result did not reach the register. Check the terminal's screen, then Re-sync. Do not refund again."
            }
            // A reversal of the payment: the terminal needs no card for it.
            (_, true) => "The terminal is giving the money back to the card the customer paid with; it cannot be called back.",
            _ => "Ask the customer to present their card on the terminal.",
        }
    }
}

/// Requests of this session still waiting for their answer.
#[derive(Debug, Clone, Copy, Default)]
struct InFlight {
    probe: bool,
    start: bool,
    poll: bool,
    resync: bool,
    cancel: bool,
    reconcile: bool,
    oms: bool,
}

#[derive(Debug, Clone)]
pub struct PaymentSession {
    attempt: Attempt,
    /// The attempt as storage last confirmed it (`None` before its first
    /// write): what the popup shows. The screen never runs ahead of
    /// storage, so a reload at any moment comes back to at least what the
    /// cashier saw (a re-sync shown as used stays used).
    stored: Option<Attempt>,
    config: PaymentConfig,
    in_flight: InFlight,
    probe_deadline: Option<Timestamp>,
    next_poll_at: Option<Timestamp>,
    unanswered_polls: u8,
    /// When a closed attempt is next checked with the bridge and the OMS.
    next_check_at: Option<Timestamp>,
}

fn clip(reason: &str) -> String {
    reason.chars().take(REASON_LEN_MAX).collect()
}

impl PaymentSession {
    /// Starts a new attempt: first a probe of the bridge; the attempt is
    /// saved as `requested` and sent only once the bridge answered.
    pub fn start(
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
        config: PaymentConfig,
        now: Timestamp,
    ) -> Result<(PaymentSession, Vec<Command>), PaymentError> {
        PaymentSession::begin(reference, order_id, amount, None, config, now)
    }

    /// Starts a card refund: `amount` back to the card of `link.original`,
    /// as part `reference` of refund `link.refund_id` of `order_id`. The
    /// same flow as a payment: probe, write-ahead (the refund record with
    /// this part pending, and the attempt), start, cancel window, re-syncs,
    /// close, reconciliation.
    pub fn start_refund(
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
        link: RefundLink,
        config: PaymentConfig,
        now: Timestamp,
    ) -> Result<(PaymentSession, Vec<Command>), PaymentError> {
        PaymentSession::begin(reference, order_id, amount, Some(link), config, now)
    }

    fn begin(
        reference: PaymentRef,
        order_id: OrderId,
        amount: Money,
        refund: Option<RefundLink>,
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
            state: AttemptState::Connecting,
            resyncs_used: 0,
            note: None,
            updated_at: now,
            refund,
        };
        let mut s = PaymentSession::idle(attempt, config);
        s.in_flight.probe = true;
        s.probe_deadline = Some(now + PROBE_TIMEOUT);
        Ok((s, vec![Command::Probe { reference }]))
    }

    /// Picks up a stored attempt after a reload or crash. A live attempt is
    /// never sent again: the session asks the bridge where it stands; a
    /// closed one is checked with the bridge and the back office at once.
    pub fn resume(
        attempt: Attempt,
        config: PaymentConfig,
        now: Timestamp,
    ) -> (PaymentSession, Vec<Command>) {
        let mut s = PaymentSession::idle(attempt.clone(), config);
        s.stored = Some(attempt);
        let mut cmds = Vec::new();
        match s.attempt.state {
            AttemptState::Connecting => {
                // Never stored by this code; if it was, nothing was sent.
                s.attempt.state = AttemptState::Failed {
                    reason: "the register restarted before sending it".into(),
                };
            }
            AttemptState::Cancelling => {
                // The cancel's answer was lost with the page; polling tells.
                s.set_state(AttemptState::Processing, now, &mut cmds);
                cmds.push(s.poll());
            }
            AttemptState::Requested | AttemptState::Processing | AttemptState::ResultUnknown => {
                cmds.push(s.poll())
            }
            AttemptState::ClosedUnpaid => cmds.extend(s.reconcile(now)),
            _ => {}
        }
        (s, cmds)
    }

    fn idle(attempt: Attempt, config: PaymentConfig) -> PaymentSession {
        PaymentSession {
            attempt,
            stored: None,
            config,
            in_flight: InFlight::default(),
            probe_deadline: None,
            next_poll_at: None,
            unanswered_polls: 0,
            next_check_at: None,
        }
    }

    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }

    fn noun_cap(&self) -> &'static str {
        if self.attempt.refund.is_some() {
            "Refund"
        } else {
            "Payment"
        }
    }

    /// What an authoritative "not done" means for the customer.
    fn nothing_moved(&self) -> &'static str {
        if self.attempt.refund.is_some() {
            "Nothing went back to the card."
        } else {
            "Nothing was charged."
        }
    }

    /// The clock stepped back (it was wrong, and was corrected): times set
    /// from the wrong clock lie in the future and would wait that long.
    /// Each is pulled back to what it would be now, erring safe: the
    /// cancel window closes at once (it must never close late), the result
    /// wait and the next check restart from now.
    #[must_use]
    pub fn clock_stepped_back(&mut self, now: Timestamp) -> Vec<Command> {
        let mut cmds = Vec::new();
        let past = Timestamp::from_millis(now.as_millis() - CANCEL_WINDOW.as_millis() as i64);
        let mut moved = false;
        if self.attempt.accepted_at.is_some_and(|t| t > now) {
            self.attempt.accepted_at = Some(past);
            moved = true;
        }
        if self.attempt.requested_at > now {
            self.attempt.requested_at = past;
            moved = true;
        }
        if self.attempt.updated_at > now {
            self.attempt.updated_at = now;
        }
        let soon = |t: &mut Option<Timestamp>, by: Duration| {
            if let Some(x) = t {
                *x = (*x).min(now + by);
            }
        };
        soon(&mut self.next_poll_at, self.config.poll_interval);
        soon(&mut self.next_check_at, RECONCILE_INTERVAL);
        soon(&mut self.probe_deadline, PROBE_TIMEOUT);
        if moved && self.attempt.state.is_in_doubt() {
            cmds.push(Command::Save(self.attempt.clone()));
        }
        cmds
    }

    pub fn reference(&self) -> PaymentRef {
        self.attempt.reference
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
            AttemptState::Connecting => self.probe_deadline,
            AttemptState::Requested | AttemptState::Processing | AttemptState::Cancelling => {
                let poll = if self.in_flight.poll {
                    None
                } else {
                    self.next_poll_at
                };
                Some(poll.map_or(self.result_deadline(), |p| p.min(self.result_deadline())))
            }
            AttemptState::ClosedUnpaid if !self.checking() => self.next_check_at,
            _ => None,
        }
    }

    fn checking(&self) -> bool {
        self.in_flight.reconcile || self.in_flight.oms
    }

    /// What the popup shows at `now`, from the attempt as storage last
    /// confirmed it ([`PaymentSession::stored`]); `None` once the popup is
    /// closed. Before the first write it shows "Connecting" while the
    /// attempt is live: nothing is stored, and nothing was sent.
    pub fn shown(&self, now: Timestamp) -> Option<View> {
        match &self.stored {
            Some(stored) => self.view_of(stored, now),
            None if self.attempt.state.is_live() => {
                let connecting = Attempt {
                    state: AttemptState::Connecting,
                    ..self.attempt.clone()
                };
                self.view_of(&connecting, now)
            }
            None => None,
        }
    }

    /// Storage confirmed this write of the attempt: the popup may show it.
    /// Writes of one session are confirmed in the order they were made.
    pub fn stored(&mut self, attempt: &Attempt) {
        if attempt.reference == self.attempt.reference {
            self.stored = Some(attempt.clone());
        }
    }

    /// Whether storage holds another version of the attempt than the
    /// session's (a write failed, or is in flight).
    pub fn unsaved(&self) -> bool {
        self.stored.as_ref() != Some(&self.attempt)
    }

    /// Whether the popup is open for this attempt (see [`PaymentSession::shown`]).
    pub fn is_shown(&self) -> bool {
        match &self.stored {
            Some(stored) => stored.state.is_live(),
            None => self.attempt.state.is_live(),
        }
    }

    /// The session's own view at `now`, ahead of storage: what the popup
    /// will show once the writes in flight are confirmed.
    pub fn view(&self, now: Timestamp) -> View {
        self.view_of(&self.attempt, now)
            .unwrap_or_else(|| self.closed_view())
    }

    fn closed_view(&self) -> View {
        View {
            reference: self.attempt.reference,
            state: self.attempt.state.clone(),
            amount: self.attempt.amount,
            cancel_secs_left: None,
            resyncs_left: None,
            resync_running: false,
            can_close: false,
            note: self.attempt.note.clone(),
            refund: self.attempt.refund.is_some(),
        }
    }

    /// The popup for `attempt` at `now`, with the requests in flight of
    /// this session; `None` when the attempt is not live.
    fn view_of(&self, attempt: &Attempt, now: Timestamp) -> Option<View> {
        if !attempt.state.is_live() {
            return None;
        }
        let state = attempt.state.clone();
        // A refund to the card is a reversal of the payment: once the
        // terminal has it, nothing can call it back.
        let deadline = attempt
            .accepted_at
            .filter(|_| attempt.refund.is_none())
            .map(|t| t + CANCEL_WINDOW);
        let cancel_secs_left = match (&state, deadline) {
            (AttemptState::Processing, Some(deadline)) if now < deadline => {
                Some((deadline - now).as_secs_ceil())
            }
            _ => None,
        };
        let unknown = state == AttemptState::ResultUnknown;
        let left = RESYNCS_MAX.saturating_sub(attempt.resyncs_used);
        Some(View {
            reference: attempt.reference,
            amount: attempt.amount,
            cancel_secs_left,
            resyncs_left: (unknown && (left > 0 || self.in_flight.resync)).then_some(left),
            resync_running: self.in_flight.resync,
            can_close: unknown,
            note: attempt.note.clone(),
            refund: attempt.refund.is_some(),
            state,
        })
    }

    /// Feeds one event at `now`; returns the commands to carry out in order.
    #[must_use]
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Command> {
        let mut cmds = Vec::new();
        match event {
            Event::Replied {
                reference,
                to,
                reply,
            } => {
                if reference == self.attempt.reference {
                    self.on_reply(to, reply, now, &mut cmds);
                }
            }
            Event::OmsAnswered { payments } => self.on_oms(payments, now, &mut cmds),
            Event::NotSaved { reason } => self.on_not_saved(reason, now, &mut cmds),
            Event::CancelPressed => self.on_cancel_pressed(now, &mut cmds),
            Event::ResyncPressed => self.on_resync_pressed(now, &mut cmds),
            Event::ClosePressed => {
                if self.attempt.state == AttemptState::ResultUnknown {
                    self.attempt.state = AttemptState::ClosedUnpaid;
                    self.attempt.updated_at = now;
                    self.next_check_at = Some(now + RECONCILE_INTERVAL);
                    cmds.push(Command::Record {
                        attempt: self.attempt.clone(),
                        settlement: Settlement::ClosedUnpaid,
                    });
                }
            }
            Event::ReconcileNow => {
                if self.attempt.state == AttemptState::ClosedUnpaid {
                    cmds.extend(self.reconcile(now));
                }
            }
            Event::Tick => self.on_tick(now, &mut cmds),
        }
        cmds
    }

    fn on_not_saved(&mut self, reason: String, now: Timestamp, cmds: &mut Vec<Command>) {
        // Only the write-ahead record matters: without it the start was
        // held back, so nothing was sent and nothing charged.
        if self.attempt.state == AttemptState::Requested && self.in_flight.start {
            self.in_flight.start = false;
            self.attempt.state = AttemptState::Failed {
                reason: clip(&reason),
            };
            self.attempt.updated_at = now;
            cmds.push(Command::ReturnToPayment {
                message: format!(
                    "The card {} was not started: {reason}. {}",
                    self.attempt.noun(),
                    self.nothing_moved()
                ),
            });
        }
    }

    fn on_cancel_pressed(&mut self, now: Timestamp, cmds: &mut Vec<Command>) {
        if self.attempt.state == AttemptState::Connecting {
            // Nothing has left for the bridge yet.
            self.in_flight.probe = false;
            self.attempt.state = AttemptState::Failed {
                reason: "cancelled before it was sent".into(),
            };
            self.attempt.updated_at = now;
            cmds.push(Command::ReturnToPayment {
                message: format!("{} cancelled", self.noun_cap()),
            });
            return;
        }
        let in_window = self.cancel_deadline().is_some_and(|d| now < d);
        let payment = self.attempt.refund.is_none();
        if self.attempt.state == AttemptState::Processing
            && in_window
            && payment
            && !self.in_flight.cancel
        {
            self.in_flight.cancel = true;
            self.set_state(AttemptState::Cancelling, now, cmds);
            cmds.push(Command::Cancel {
                reference: self.attempt.reference,
            });
        }
    }

    fn on_resync_pressed(&mut self, now: Timestamp, cmds: &mut Vec<Command>) {
        if self.attempt.state == AttemptState::ResultUnknown
            && self.attempt.resyncs_used < RESYNCS_MAX
            && !self.in_flight.resync
        {
            // Counted when pressed, and saved, so that a reload in the
            // middle of a re-sync does not give a third one.
            self.attempt.resyncs_used += 1;
            self.in_flight.resync = true;
            self.attempt.updated_at = now;
            cmds.push(Command::Save(self.attempt.clone()));
            cmds.push(Command::QueryStatus {
                reference: self.attempt.reference,
                request: Request::Resync,
            });
            // The terminal may have reported to the back office by itself.
            if !self.in_flight.oms {
                self.in_flight.oms = true;
                cmds.push(self.lookup());
            }
        }
    }

    fn on_tick(&mut self, now: Timestamp, cmds: &mut Vec<Command>) {
        let probe_late = self.probe_deadline.is_some_and(|d| now >= d);
        let check_due = !self.checking() && self.next_check_at.is_some_and(|t| now >= t);
        match self.attempt.state {
            AttemptState::Connecting if probe_late => {
                self.in_flight.probe = false;
                self.fail_unsent("the payment bridge did not answer", now, cmds);
            }
            AttemptState::Requested | AttemptState::Processing | AttemptState::Cancelling => {
                if now >= self.result_deadline() {
                    self.set_state(AttemptState::ResultUnknown, now, cmds);
                } else if !self.in_flight.poll && self.next_poll_at.is_some_and(|t| now >= t) {
                    cmds.push(self.poll());
                }
            }
            AttemptState::ClosedUnpaid if check_due => cmds.extend(self.reconcile(now)),
            _ => {}
        }
    }

    /// Asks the bridge and the back office about a closed attempt.
    fn reconcile(&mut self, now: Timestamp) -> Vec<Command> {
        self.next_check_at = Some(now + RECONCILE_INTERVAL);
        let mut cmds = Vec::new();
        if !self.in_flight.reconcile {
            self.in_flight.reconcile = true;
            cmds.push(Command::QueryStatus {
                reference: self.attempt.reference,
                request: Request::Reconcile,
            });
        }
        if !self.in_flight.oms {
            self.in_flight.oms = true;
            cmds.push(self.lookup());
        }
        cmds
    }

    fn lookup(&self) -> Command {
        Command::LookupOms {
            reference: self.attempt.reference,
            order_id: self.attempt.order_id,
        }
    }

    fn poll(&mut self) -> Command {
        self.in_flight.poll = true;
        self.next_poll_at = None;
        Command::QueryStatus {
            reference: self.attempt.reference,
            request: Request::Poll,
        }
    }

    fn schedule_poll(&mut self, at: Timestamp) {
        self.next_poll_at = Some(at);
    }

    fn set_state(&mut self, state: AttemptState, now: Timestamp, cmds: &mut Vec<Command>) {
        if self.attempt.state != state {
            self.attempt.state = state;
            self.attempt.updated_at = now;
            cmds.push(Command::Save(self.attempt.clone()));
        }
    }

    /// Nothing was sent (the probe failed, or was refused): the attempt ends
    /// without ever being stored.
    fn fail_unsent(&mut self, why: &str, now: Timestamp, cmds: &mut Vec<Command>) {
        self.attempt.state = AttemptState::Failed { reason: clip(why) };
        self.attempt.updated_at = now;
        let message = if self.attempt.refund.is_some() {
            "The payment bridge is not reachable — nothing went back to the card. Try again later, or refund another way."
        } else {
            "The payment bridge is not reachable — nothing was charged. Try again, or take another payment method."
        };
        cmds.push(Command::ReturnToPayment {
            message: message.into(),
        });
    }

    fn on_reply(&mut self, to: Request, reply: Reply, now: Timestamp, cmds: &mut Vec<Command>) {
        match to {
            Request::Probe => self.in_flight.probe = false,
            Request::Start => self.in_flight.start = false,
            Request::Poll => self.in_flight.poll = false,
            Request::Resync => self.in_flight.resync = false,
            Request::Cancel => self.in_flight.cancel = false,
            Request::Reconcile => self.in_flight.reconcile = false,
        }
        let requested = self.attempt.state == AttemptState::Requested;
        let polling = matches!(
            self.attempt.state,
            AttemptState::Requested | AttemptState::Processing | AttemptState::Cancelling
        );
        match (to, reply) {
            // Word about this payment counts whatever was asked.
            (_, Reply::Status(status)) => self.on_status(to, status, now, cmds),
            (Request::Probe, reply) => self.on_probe(reply, now, cmds),
            (Request::Start, Reply::Accepted) if requested => {
                self.attempt.accepted_at = Some(now);
                self.set_state(AttemptState::Processing, now, cmds);
                self.schedule_poll(now + self.config.poll_interval);
            }
            (Request::Start, Reply::Refused { reason }) if requested => {
                let reason = clip(&reason);
                self.set_state(
                    AttemptState::Failed {
                        reason: reason.clone(),
                    },
                    now,
                    cmds,
                );
                cmds.push(Command::ReturnToPayment {
                    message: format!(
                        "The bridge refused the {} ({reason}). {}",
                        self.attempt.noun(),
                        self.nothing_moved()
                    ),
                });
            }
            // The start may or may not have arrived: ask at once. "Never
            // received" then proves it did not (and can never arrive later).
            (Request::Start, Reply::Unreachable) if requested && !self.in_flight.poll => {
                self.schedule_poll(now);
                cmds.push(self.poll());
            }
            (Request::Poll, Reply::Unreachable) if polling => {
                self.unanswered_polls += 1;
                if self.unanswered_polls >= UNREACHABLE_POLLS_MAX {
                    self.set_state(AttemptState::ResultUnknown, now, cmds);
                } else {
                    self.schedule_poll(now + self.config.poll_interval);
                }
            }
            // A cancel that got no answer: keep polling, the cashier may
            // press again while the window lasts.
            (Request::Cancel, Reply::Unreachable)
                if self.attempt.state == AttemptState::Cancelling =>
            {
                self.set_state(AttemptState::Processing, now, cmds);
                if !self.in_flight.poll {
                    self.schedule_poll(now + self.config.poll_interval);
                }
            }
            // A failed re-sync or reconciliation, or an answer too late to
            // matter: nothing changes.
            _ => {}
        }
    }

    fn on_probe(&mut self, reply: Reply, now: Timestamp, cmds: &mut Vec<Command>) {
        if self.attempt.state != AttemptState::Connecting {
            return; // Too late: the attempt was cancelled or timed out unsent.
        }
        self.probe_deadline = None;
        match reply {
            Reply::Accepted => {
                self.attempt.requested_at = now;
                self.attempt.updated_at = now;
                self.attempt.state = AttemptState::Requested;
                self.in_flight.start = true;
                cmds.push(Command::Save(self.attempt.clone()));
                cmds.push(Command::Start {
                    reference: self.attempt.reference,
                    order_id: self.attempt.order_id,
                    amount: self.attempt.amount,
                    refund_of: self.attempt.refund.map(|l| l.original),
                    ask_tip: self.config.ask_tip && self.attempt.refund.is_none(),
                });
            }
            Reply::Refused { reason } => {
                let reason = clip(&reason);
                self.attempt.state = AttemptState::Failed {
                    reason: reason.clone(),
                };
                self.attempt.updated_at = now;
                cmds.push(Command::ReturnToPayment {
                    message: format!(
                        "The payment bridge refused the register: {reason}. {}",
                        self.nothing_moved()
                    ),
                });
            }
            Reply::Status(_) | Reply::Unreachable => {
                self.fail_unsent("the payment bridge is not reachable", now, cmds)
            }
        }
    }

    fn on_oms(
        &mut self,
        payments: Option<Vec<PaymentReport>>,
        now: Timestamp,
        cmds: &mut Vec<Command>,
    ) {
        self.in_flight.oms = false;
        if let Some(report) = payments
            .into_iter()
            .flatten()
            .find(|p| self.attempt.reported_by(p))
        {
            let status = BridgeStatus::Approved {
                amount: report.amount,
                card: report.card,
            };
            self.on_status(Request::Reconcile, status, now, cmds);
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
        if matches!(self.attempt.state, AttemptState::Approved { .. }) {
            return; // Final, and recorded once.
        }
        match status {
            BridgeStatus::Approved { amount, card } => self.on_approved(amount, card, now, cmds),
            // Declined, cancelled and failed stay so; an approval (above)
            // is the only word that changes them.
            _ if !self.attempt.state.is_in_doubt() => {}
            BridgeStatus::Declined { reason } => self.on_declined(&reason, now, cmds),
            BridgeStatus::Cancelled => self.settle_without_charge(
                AttemptState::Cancelled,
                format!("{} cancelled", self.noun_cap()),
                "cancelled on the terminal".into(),
                now,
                cmds,
            ),
            BridgeStatus::NeverReceived if self.attempt.accepted_at.is_none() => self
                .settle_without_charge(
                    AttemptState::Failed {
                        reason: "the bridge never received this payment".into(),
                    },
                    format!(
                        "The {} never reached the terminal. {} Try again.",
                        self.attempt.noun(),
                        self.nothing_moved()
                    ),
                    "the bridge never received it".into(),
                    now,
                    cmds,
                ),
            BridgeStatus::NeverReceived => {
                // The bridge accepted it once and has lost its journal since:
                // not an answer anyone can trust with money.
                self.attempt.note = Some(
                    "The bridge no longer knows this payment; check the terminal's journal".into(),
                );
                self.mark_unknown(now, cmds);
            }
            BridgeStatus::Unknown => self.mark_unknown(now, cmds),
            BridgeStatus::NotStarted { reason } => self.on_not_started(&reason, now, cmds),
            BridgeStatus::Processing => self.on_processing(to, now, cmds),
        }
    }

    fn on_declined(&mut self, reason: &str, now: Timestamp, cmds: &mut Vec<Command>) {
        let reason = clip(reason);
        self.settle_without_charge(
            AttemptState::Declined {
                reason: reason.clone(),
            },
            format!("{} declined: {reason}", self.noun_cap()),
            format!("declined: {reason}"),
            now,
            cmds,
        );
    }

    /// The terminal did not start it, for certain: nothing was charged.
    fn on_not_started(&mut self, reason: &str, now: Timestamp, cmds: &mut Vec<Command>) {
        let reason = clip(reason);
        let message = format!(
            "The terminal did not start the {}: {reason}. {} Try again.",
            self.attempt.noun(),
            self.nothing_moved()
        );
        self.settle_without_charge(
            AttemptState::Failed {
                reason: reason.clone(),
            },
            message,
            format!("not started on the terminal: {reason}"),
            now,
            cmds,
        )
    }

    /// A live attempt whose outcome nobody knows: "Payment result not
    /// received". A closed one simply stays pending.
    fn mark_unknown(&mut self, now: Timestamp, cmds: &mut Vec<Command>) {
        if self.attempt.state.is_live() {
            self.set_state(AttemptState::ResultUnknown, now, cmds);
        }
        // Whatever changed (a note), the stored attempt says it too.
        if !matches!(cmds.last(), Some(Command::Save(a)) if *a == self.attempt) {
            self.attempt.updated_at = now;
            cmds.push(Command::Save(self.attempt.clone()));
        }
    }

    fn on_approved(
        &mut self,
        amount: Money,
        card: CardDetails,
        now: Timestamp,
        cmds: &mut Vec<Command>,
    ) {
        let problem = if amount != self.attempt.amount {
            Some(format!(
                "The terminal reported {amount} for a {} payment; check the terminal's journal",
                self.attempt.amount
            ))
        } else if card.validate_in(amount.currency()).is_err() {
            Some("The terminal's answer was incomplete; re-sync or check the terminal".into())
        } else {
            None
        };
        if let Some(note) = problem {
            // Not the payment we asked for: never recorded as ours, never
            // forgotten either (it stays in doubt with the note).
            self.attempt.note = Some(clip(&note));
            if self.attempt.state.is_in_doubt() {
                self.mark_unknown(now, cmds);
            }
            return;
        }
        // An approval is applied in every state: money has moved.
        self.attempt.state = AttemptState::Approved { card: card.clone() };
        self.attempt.updated_at = now;
        self.next_check_at = None;
        cmds.push(Command::Record {
            attempt: self.attempt.clone(),
            settlement: Settlement::Approved { amount, card },
        });
    }

    /// An authoritative "not charged": a live attempt goes back to the
    /// payment page; a closed one marks its order "payment failed".
    fn settle_without_charge(
        &mut self,
        state: AttemptState,
        message: String,
        reason: String,
        now: Timestamp,
        cmds: &mut Vec<Command>,
    ) {
        if self.attempt.state == AttemptState::ClosedUnpaid {
            self.attempt.state = state;
            self.attempt.updated_at = now;
            self.next_check_at = None;
            cmds.push(Command::Record {
                attempt: self.attempt.clone(),
                settlement: Settlement::Failed { reason },
            });
        } else {
            self.set_state(state, now, cmds);
            cmds.push(Command::ReturnToPayment { message });
        }
    }

    fn on_processing(&mut self, to: Request, now: Timestamp, cmds: &mut Vec<Command>) {
        if self.attempt.accepted_at.is_none() && self.attempt.state.is_live() {
            // A request the bridge has, accepted at some time after it was
            // written. Counting the cancel window from the write is
            // conservative: it closes early, never late.
            self.attempt.accepted_at = Some(self.attempt.requested_at);
            self.attempt.updated_at = now;
            cmds.push(Command::Save(self.attempt.clone()));
        }
        match self.attempt.state {
            AttemptState::Requested => {
                self.set_state(AttemptState::Processing, now, cmds);
                self.schedule_poll(now + self.config.poll_interval);
            }
            AttemptState::Cancelling if to == Request::Cancel => {
                // Too late to cancel: the terminal is capturing.
                self.attempt.note =
                    Some("Too late to cancel: the customer is paying on the terminal".into());
                self.set_state(AttemptState::Processing, now, cmds);
                if !self.in_flight.poll {
                    self.schedule_poll(now + self.config.poll_interval);
                }
            }
            AttemptState::Processing | AttemptState::Cancelling if to == Request::Poll => {
                self.schedule_poll(now + self.config.poll_interval)
            }
            // Still processing after the wait: a failed re-sync.
            _ => {}
        }
    }
}
