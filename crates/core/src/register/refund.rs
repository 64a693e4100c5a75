//! Refunds and returns: what the cashier confirms becomes a refund record,
//! with its card part started through the card path.

use super::*;

impl Register {
    /// A refund the cashier confirmed ([`Action::Refund`]), as a request
    /// with who made it, who approved it, its day and its shift.
    pub(super) fn confirm_refund(&mut self, action: Action, now: Timestamp, out: &mut Vec<Effect>) {
        let Action::Refund {
            id,
            order_id,
            returns,
            tip,
            reason,
            tenders,
        } = action
        else {
            return;
        };
        let Some(date) = self.refund_day(id, now, out) else {
            return;
        };
        let req = RefundRequest {
            id,
            order_id,
            register: self.config.register.clone(),
            date,
            returns,
            tip,
            reason,
            tenders,
            card: None,
            cashier: self.desk.cashier_ref(),
            approval: self.approval.clone(),
            shift: self.shift.as_ref().map(|s| s.id),
            at: now,
        };
        self.refund(req, now, out)
    }

    /// A refund with no card part is written (or refused).
    pub(super) fn on_refund_stored(
        &mut self,
        id: RefundId,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match result {
            Ok(Stored::Refunded(refund)) => {
                if let Some(order_id) = refund.order_id {
                    Self::ui(out, UiEvent::OrderWritten(order_id));
                }
                Self::ui(out, UiEvent::Refunded(refund));
                self.sync_event(SyncEvent::Woken, now, out);
            }
            Err(e) => {
                let text = e.to_string();
                Self::ui(out, UiEvent::RefundRefused { id, text });
            }
            Ok(_) => {}
        }
    }

    /// A card part of a written refund, started again (after a decline or
    /// a failure) from the refund screen.
    pub(super) fn retry_refund_card(
        &mut self,
        link: RefundLink,
        order_id: OrderId,
        amount: Money,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let part = CardPart {
            link,
            order_id,
            amount,
        };
        self.start_card_refund(None, part, now, out)
    }

    pub(super) fn refund(&mut self, req: RefundRequest, now: Timestamp, out: &mut Vec<Effect>) {
        let id = req.id;
        let card = match card_part(req.tenders.as_deref().unwrap_or_default()) {
            Ok(card) => card,
            Err(e) => {
                let text = e.to_string();
                return Self::ui(out, UiEvent::RefundRefused { id, text });
            }
        };
        match card {
            None => self.store(Op::Refund(id), StoreTx::Refund(Box::new(req)), out),
            Some((original, amount)) => {
                let part = CardPart {
                    link: RefundLink {
                        refund_id: id,
                        original,
                    },
                    order_id: req.order_id,
                    amount,
                };
                self.start_card_refund(Some(req), part, now, out)
            }
        }
    }

    /// Today's business day for refund `id`, or (a clock outside the
    /// years Till numbers) the refusal that says so.
    pub(super) fn refund_day(
        &self,
        id: RefundId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Option<BusinessDate> {
        match BusinessDate::at(now, self.config.utc_offset_min) {
            Ok(d) => Some(d),
            Err(e) => {
                let text = e.to_string();
                Self::ui(out, UiEvent::RefundRefused { id, text });
                None
            }
        }
    }

    pub(super) fn return_without_receipt(
        &mut self,
        id: RefundId,
        cart: Cart,
        reason: Option<RefundReason>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !self.returns_allowed() {
            let text = RETURNS_NOT_ALLOWED.to_string();
            return Self::ui(out, UiEvent::RefundRefused { id, text });
        }
        let Some(date) = self.refund_day(id, now, out) else {
            return;
        };
        let req = ReturnRequest {
            id,
            register: self.config.register.clone(),
            date,
            cart,
            reason,
            cashier: self.desk.cashier_ref(),
            approval: self.approval.clone(),
            shift: self.shift.as_ref().map(|s| s.id),
            at: now,
        };
        self.store(Op::Refund(id), StoreTx::Return(Box::new(req)), out);
    }

    /// A refund's card part (new, or for what a refund owes): the card
    /// popup opens and probes the bridge; the refund is written (the part
    /// pending) once it answers.
    pub(super) fn start_card_refund(
        &mut self,
        req: Option<RefundRequest>,
        part: CardPart,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let id = part.link.refund_id;
        let running = self.attempts().any(|a| {
            a.refund.is_some_and(|l| l.refund_id == id)
                && (a.state.is_live() || a.state.is_in_doubt())
        });
        if running {
            return; // A repeated tap: the card part is on its way.
        }
        if self.is_busy() {
            let text = OrderError::CardInProgress.to_string();
            return Self::ui(out, UiEvent::RefundRefused { id, text });
        }
        let reference = self.new_reference();
        let config = self.config.payment;
        let CardPart {
            link,
            order_id,
            amount,
        } = part;
        match PaymentSession::start_refund(reference, order_id, amount, link, config, now) {
            Ok((session, cmds)) => {
                self.sessions.insert(reference, session);
                self.live = Some(reference);
                self.refund_requests.insert(reference, req);
                self.session_commands(reference, cmds, now, out);
            }
            Err(e) => {
                let text = e.to_string();
                Self::ui(out, UiEvent::RefundRefused { id, text })
            }
        }
    }
}
