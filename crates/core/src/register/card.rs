//! Card payments and card refunds: the popup's session for each
//! reference, its write-ahead record before the start leaves, every later
//! write before the screen shows it, and the reconciliation of attempts in
//! doubt with the bridge and the back office.

use super::*;

/// Why an attempt's write-ahead record could not be made: nothing is
/// sent, and the payment session says so to the cashier.
#[derive(Debug, thiserror::Error)]
enum WriteAheadFailure {
    #[error(transparent)]
    Sale(#[from] crate::order::OrderError),
    #[error("the refund to write was lost")]
    RefundLost,
}

impl Register {
    pub(super) fn pay_card(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        if self.is_busy() {
            return; // A double tap, or a card payment already live.
        }
        let checked = self.origin(now).and_then(|_| {
            if let Some(o) = &self.sale_order {
                o.accepts_payment(self.attempts())?;
            }
            self.due().ok_or(OrderError::Empty)
        });
        let due = match checked {
            Ok(d) => d,
            Err(e) => return Self::ui(out, UiEvent::PayMessage(e.to_string())),
        };
        let Some(sale_id) = self.sale.as_ref().map(|s| s.id) else {
            return;
        };
        let reference = self.new_reference();
        match PaymentSession::start(reference, sale_id, due, self.config.payment, now) {
            Ok((session, cmds)) => {
                self.sessions.insert(reference, session);
                self.live = Some(reference);
                self.session_commands(reference, cmds, now, out);
            }
            Err(e) => Self::ui(out, UiEvent::PayMessage(e.to_string())),
        }
    }

    pub(super) fn feed_live(&mut self, event: Event, now: Timestamp, out: &mut Vec<Effect>) {
        if let Some(r) = self.live {
            self.feed(r, event, now, out);
        }
    }

    pub(super) fn download(&mut self, order_id: OrderId, now: Timestamp, out: &mut Vec<Effect>) {
        let closed: Vec<PaymentRef> = self
            .sessions
            .values()
            .filter(|s| s.attempt().order_id == order_id)
            .map(PaymentSession::reference)
            .collect();
        for r in closed {
            self.feed(r, Event::ReconcileNow, now, out);
        }
        self.downloads.insert(order_id);
        self.lookup(order_id, out);
    }

    pub(super) fn lookup(&mut self, order_id: OrderId, out: &mut Vec<Effect>) {
        if self.lookups.insert(order_id) {
            out.push(Effect::Oms(OmsCall::Lookup { order_id }));
        }
    }

    // ---- payment sessions ----

    /// Routes an event to the attempt it is about; an attempt the register
    /// no longer tracks (settled) ignores it.
    pub(super) fn feed(
        &mut self,
        reference: PaymentRef,
        event: Event,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(session) = self.sessions.get_mut(&reference) else {
            return;
        };
        let cmds = session.handle(event, now);
        self.session_commands(reference, cmds, now, out);
    }

    /// Carries out a session's commands in order; a write holds back the
    /// rest until the store confirms it.
    pub(super) fn session_commands(
        &mut self,
        reference: PaymentRef,
        cmds: Vec<payment::Command>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let mut rest = cmds.into_iter().peekable();
        while let Some(cmd) = rest.next() {
            let write = match cmd {
                payment::Command::Save(attempt) => {
                    let write_ahead = attempt.state == AttemptState::Requested
                        && matches!(rest.peek(), Some(payment::Command::Start { .. }));
                    let held = HeldWrite {
                        reference,
                        rest: rest.collect(),
                        write_ahead,
                    };
                    if write_ahead {
                        return self.write_ahead(held, attempt, now, out);
                    }
                    return self.attempt_write(held, attempt, now, out);
                }
                // A refund's attempt settles its refund, never the order.
                payment::Command::Record { attempt, .. } if attempt.refund.is_some() => {
                    CardWrite::Refund(Box::new(attempt))
                }
                payment::Command::Record {
                    attempt,
                    settlement,
                } => {
                    let order_id = attempt.order_id;
                    let change = Change::Settle {
                        attempt,
                        settlement,
                    };
                    self.sale_write(order_id, change, None, now)
                }
                other => {
                    self.session_io(reference, other, out);
                    continue;
                }
            };
            // A write holds back the rest until the store confirms it.
            return self.card_write(HeldWrite::after(reference, rest.collect()), write, out);
        }
    }

    /// The write-ahead record of an attempt; the start request waits for
    /// it. A payment's also creates the sale's order if needed (it needs
    /// the cart and today's date); a refund's is the refund itself, its card
    /// part pending under this attempt, and the attempt, in one transaction.
    pub(super) fn write_ahead(
        &mut self,
        held: HeldWrite,
        attempt: Attempt,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let planned = match attempt.refund {
            None => self
                .origin(now)
                .map_err(WriteAheadFailure::from)
                .map(|origin| {
                    let order_id = attempt.order_id;
                    let change = Change::CardRequested { attempt };
                    let write = self.sale_write(order_id, change, Some(origin), now);
                    let tx = write.tx();
                    (write, tx)
                }),
            Some(_) => self.refund_write_ahead(attempt, now),
        };
        match planned {
            Ok((write, tx)) => self.card_store(held, write, tx, out),
            Err(why) => {
                let reason = why.to_string();
                self.feed(held.reference, Event::NotSaved { reason }, now, out)
            }
        }
    }

    /// A card refund's write-ahead transaction: the refund confirmed at the
    /// counter, or (for a part of what a written refund owes) the part.
    fn refund_write_ahead(
        &mut self,
        attempt: Attempt,
        now: Timestamp,
    ) -> Result<(CardWrite, StoreTx), WriteAheadFailure> {
        let write = CardWrite::Refund(Box::new(attempt.clone()));
        let mut req = match self.refund_requests.remove(&attempt.reference) {
            Some(Some(req)) => req,
            // A part for what a written refund owes.
            Some(None) => return Ok((write, StoreTx::GiveOwed(Box::new(attempt)))),
            None => return Err(WriteAheadFailure::RefundLost),
        };
        // Written now: the clock may have been corrected since Confirm (the
        // probe ran meanwhile), and the refund is numbered, dated and queued
        // by the time it is written, as a sale's first write is.
        req.card = Some(attempt);
        req.at = now;
        if let Ok(date) = BusinessDate::at(now, self.config.utc_offset_min) {
            req.date = date;
        }
        Ok((write, StoreTx::Refund(Box::new(req))))
    }

    /// An attempt's new state: a payment's on its order, a refund's on its
    /// refund's card part.
    fn attempt_write(
        &mut self,
        held: HeldWrite,
        attempt: Attempt,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let write = match attempt.refund {
            Some(_) => CardWrite::Refund(Box::new(attempt)),
            None => self.sale_write(attempt.order_id, Change::Attempt(attempt), None, now),
        };
        self.card_write(held, write, out)
    }

    /// A payment's write, through its order's update path.
    fn sale_write(
        &mut self,
        order_id: OrderId,
        change: Change,
        origin: Option<Origin>,
        now: Timestamp,
    ) -> CardWrite {
        CardWrite::Sale(Box::new(UpdateRequest {
            order_id,
            change,
            origin,
            next_sale: self.new_order_id(now),
            at: now,
        }))
    }

    /// Stores a session's write as its own transaction.
    pub(super) fn card_write(&mut self, held: HeldWrite, write: CardWrite, out: &mut Vec<Effect>) {
        let tx = write.tx();
        self.card_store(held, write, tx, out);
    }

    fn card_store(
        &mut self,
        held: HeldWrite,
        write: CardWrite,
        tx: StoreTx,
        out: &mut Vec<Effect>,
    ) {
        self.store(Op::Card { held, write }, tx, out);
    }

    /// A session's request to the bridge or the back office, or its word
    /// for the screen.
    pub(super) fn session_io(
        &mut self,
        from: PaymentRef,
        cmd: payment::Command,
        out: &mut Vec<Effect>,
    ) {
        let call = match cmd {
            payment::Command::Probe { reference } => BridgeCall::Probe { reference },
            payment::Command::Start {
                reference,
                order_id,
                amount,
                refund_of: Some(original),
                ..
            } => BridgeCall::StartRefund(StartRefund {
                reference,
                original,
                order_id,
                amount,
            }),
            payment::Command::Start {
                reference,
                order_id,
                amount,
                refund_of: None,
                ask_tip,
            } => BridgeCall::Start(StartPayment {
                reference,
                order_id,
                amount,
                ask_tip,
            }),
            payment::Command::QueryStatus { reference, request } => BridgeCall::Status {
                reference,
                to: request,
            },
            payment::Command::Cancel { reference } => BridgeCall::Cancel { reference },
            payment::Command::LookupOms { order_id, .. } => return self.lookup(order_id, out),
            payment::Command::ReturnToPayment { message } => {
                let refund = self.sessions.get(&from).and_then(|s| s.attempt().refund);
                let e = match refund {
                    Some(link) => UiEvent::RefundRefused {
                        id: link.refund_id,
                        text: message,
                    },
                    None => UiEvent::PayMessage(message),
                };
                return Self::ui(out, e);
            }
            payment::Command::Save(_) | payment::Command::Record { .. } => return,
        };
        out.push(Effect::Bridge(call));
    }

    // ---- storage results ----

    /// A session's write is done (or failed): the popup goes on with what
    /// was held back.
    pub(super) fn on_card_stored(
        &mut self,
        held: HeldWrite,
        write: CardWrite,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let HeldWrite {
            reference,
            rest,
            write_ahead,
        } = held;
        match result {
            Ok(stored) => {
                if let Err(refund) =
                    self.on_card_written(reference, write_ahead, &write, stored, now, out)
                {
                    // Written before, by an earlier Confirm: this card part
                    // is not the refund's, and never leaves.
                    let reason = "this refund was already recorded".to_string();
                    self.feed(reference, Event::NotSaved { reason }, now, out);
                    return Self::ui(out, UiEvent::Refunded(refund));
                }
                self.session_commands(reference, rest, now, out);
            }
            Err(e) if write_ahead => {
                // The start was held back: nothing was sent.
                let reason = e.to_string();
                self.feed(reference, Event::NotSaved { reason }, now, out);
            }
            Err(StoreFailure::Refused(UpdateError::AttemptSettled(_))) => {
                self.settled_elsewhere(reference)
            }
            Err(e) => {
                let text = write.failed_text(reference, &e);
                if let StoreFailure::Io(_) = e {
                    if write.records_answer() {
                        // Money moved (or may have): the record must land.
                        let retry = Retry::Write(write);
                        self.retries
                            .push((now + MONEY_WRITE_RETRY, reference, retry));
                    } else {
                        self.retry_latest(reference, now);
                    }
                }
                Self::ui(out, UiEvent::Alert(text));
                self.session_commands(reference, rest, now, out);
            }
        }
    }

    /// What a committed card write means: the popup may show its attempt,
    /// and the order or the refund it wrote is news. `Err` with the refund
    /// when a refund's write-ahead found the refund written without this
    /// card part.
    fn on_card_written(
        &mut self,
        reference: PaymentRef,
        write_ahead: bool,
        write: &CardWrite,
        stored: Stored,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Result<(), Box<Refund>> {
        if let Stored::Refunded(refund) = &stored {
            if write_ahead && !refund.pending_cards().any(|r| r == reference) {
                return Err(refund.clone());
            }
        }
        self.confirm_stored(reference, write.attempt());
        match stored {
            Stored::Updated(u) => self.on_updated(*u, now, out),
            Stored::Refunded(refund) => {
                if let Some(order_id) = refund.order_id {
                    Self::ui(out, UiEvent::OrderWritten(order_id));
                }
                if write.attempt().is_some_and(|a| !a.state.is_live()) {
                    // Settled, or closed pending: the refund screen says so.
                    Self::ui(out, UiEvent::Refunded(refund));
                }
                self.sync_event(SyncEvent::Woken, now, out);
            }
            _ => {}
        }
        Ok(())
    }

    /// Tries a live attempt's write again soon (once per attempt at a time).
    pub(super) fn retry_latest(&mut self, reference: PaymentRef, now: Timestamp) {
        let queued = self
            .retries
            .iter()
            .any(|(_, r, retry)| *r == reference && matches!(retry, Retry::Latest));
        if !queued {
            self.retries
                .push((now + MONEY_WRITE_RETRY, reference, Retry::Latest));
        }
    }

    /// Writes a session's attempt as it is now, if storage does not hold it.
    pub(super) fn write_latest(
        &mut self,
        reference: PaymentRef,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(session) = self.sessions.get(&reference) else {
            return;
        };
        if !session.unsaved() {
            return;
        }
        let attempt = session.attempt().clone();
        self.attempt_write(HeldWrite::after(reference, Vec::new()), attempt, now, out)
    }

    /// Storage holds the attempt settled already (by another answer): once
    /// the session has settled too, its popup closes.
    pub(super) fn settled_elsewhere(&mut self, reference: PaymentRef) {
        if let Some(session) = self.sessions.get_mut(&reference) {
            if !session.state().is_live() {
                let attempt = session.attempt().clone();
                session.stored(&attempt);
            }
        }
    }

    /// Storage committed this write of an attempt: its popup may show it.
    pub(super) fn confirm_stored(&mut self, reference: PaymentRef, attempt: Option<&Attempt>) {
        if let (Some(session), Some(attempt)) = (self.sessions.get_mut(&reference), attempt) {
            session.stored(attempt);
        }
    }

    pub(super) fn in_doubt(&self, order_id: OrderId) -> bool {
        self.attempts()
            .any(|a| a.order_id == order_id && a.state.is_in_doubt())
    }

    pub(super) fn reconcile_all(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let refs: Vec<PaymentRef> = self.sessions.keys().copied().collect();
        for r in refs {
            self.feed(r, Event::ReconcileNow, now, out);
        }
    }

    pub(super) fn on_lookup(
        &mut self,
        order_id: OrderId,
        result: Result<Option<Box<OrderLookup>>, NetFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.lookups.remove(&order_id);
        let reachable = !matches!(result, Err(NetFailure::Unreachable));
        self.set_oms_reach(reachable, now, out);
        let payments = result
            .ok()
            .map(|l| l.map(|l| l.payments).unwrap_or_default());
        let refs: Vec<PaymentRef> = self
            .sessions
            .values()
            .filter(|s| s.attempt().order_id == order_id)
            .map(PaymentSession::reference)
            .collect();
        let before = out.len();
        for r in refs {
            let event = Event::OmsAnswered {
                payments: payments.clone(),
            };
            self.feed(r, event, now, out);
        }
        if self.downloads.remove(&order_id) {
            let found = out[before..].iter().any(is_approval_write);
            let refund_found = out[before..].iter().any(is_refund_approval_write);
            let text = match (&payments, found) {
                (_, true) => "Downloaded: the payment was found and the order is being marked paid.",
                _ if refund_found => "Downloaded: the card refund was found and is being recorded.",
                (None, false) => "The back office cannot be reached. The order is checked again by itself; do not void it.",
                (Some(_), false) if self.in_doubt(order_id) => {
                    "The back office has no payment for this order yet. Do not void it; it is checked again by itself."
                }
                (Some(_), false) => "Downloaded: nothing changed.",
            };
            Self::ui(
                out,
                UiEvent::OrderMessage {
                    order_id,
                    text: text.into(),
                },
            );
        }
    }
}

/// An effect that records a card approval on its order.
fn is_approval_write(c: &Effect) -> bool {
    match c {
        Effect::Store {
            tx: StoreTx::Update(req),
            ..
        } => matches!(
            req.change,
            Change::Settle {
                settlement: Settlement::Approved { .. },
                ..
            }
        ),
        _ => false,
    }
}

/// An effect that records a card refund's approval on its refund.
fn is_refund_approval_write(c: &Effect) -> bool {
    matches!(c, Effect::Store { tx: StoreTx::CardRefund(a), .. }
        if matches!(a.state, AttemptState::Approved { .. }))
}
