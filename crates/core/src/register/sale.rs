//! The sale being rung up: the cashier's actions, the cart, cash, parking,
//! and what an update to an order means for the screen.

use super::*;

impl Register {
    pub(super) fn new_sale(
        &mut self,
        replaces: Option<OrderId>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let sale = Sale {
            id: self.new_order_id(now),
            cart: Cart::new(self.config.currency),
        };
        self.sale = Some(sale.clone());
        self.sale_order = None;
        self.store(Op::SaveSale, StoreTx::SaveSale { sale, replaces }, out);
    }

    // ---- the cashier ----

    pub(super) fn on_action(&mut self, action: Action, now: Timestamp, out: &mut Vec<Effect>) {
        if !self.loaded {
            Self::ui(
                out,
                UiEvent::Alert("Till is still starting: try again in a moment.".into()),
            );
            return;
        }
        if !self.may_act(&action, now, out) {
            return;
        }
        match action {
            Action::Approve { person, pin } => return self.approve(&person, &pin, now, out),
            Action::CancelApproval => {
                self.held = None;
                return;
            }
            _ => {}
        }
        if let Some(what) = self.guarded(&action) {
            let role = self.desk.cashier().map(|c| c.role);
            if role.is_none_or(|r| needs_manager(r, what, &self.config.policy)) {
                // Waits for a manager's PIN (the screen asks for it).
                self.held = Some(Held { action, what });
                return;
            }
            // A manager's own large discount or price override is approved
            // by them: the cart keeps it, so a cashier who goes on with the
            // sale is not asked.
            if let (Action::EditCart(mut cart), Some(by)) =
                (action.clone(), self.desk.cashier_ref())
            {
                if matches!(what, Guarded::Discount { .. } | Guarded::PriceOverride) {
                    let approval = Approval {
                        by,
                        at: now,
                        what,
                        lines: Vec::new(),
                    };
                    cart.approve(approval, self.config.policy.discount_threshold_bp);
                    return self.edit_cart(cart, out);
                }
            }
        }
        self.run_action(action, now, out);
    }

    pub(super) fn run_action(&mut self, action: Action, now: Timestamp, out: &mut Vec<Effect>) {
        match action {
            Action::SignIn { person, pin } => self.sign_in(&person, &pin, now, out),
            Action::SignOut => {
                self.held = None;
                self.desk.sign_out();
                self.save_desk(out);
                // Someone may have been added or disabled since.
                self.refresh.asap(crate::refresh::Download::Staff, now);
            }
            Action::Approve { .. } | Action::CancelApproval => {}
            Action::AuthorizeSettings => {
                Self::ui(out, UiEvent::Authorized(Guarded::ChangeSettings))
            }
            Action::EditCart(cart) => self.edit_cart(cart, out),
            Action::PayCash { received } => self.pay_cash(received, now, out),
            Action::PayCard => self.pay_card(now, out),
            Action::CancelCard => self.feed_live(Event::CancelPressed, now, out),
            Action::Resync => self.feed_live(Event::ResyncPressed, now, out),
            Action::CloseCard => self.feed_live(Event::ClosePressed, now, out),
            Action::Void { order_id } => self.void(order_id, now, out),
            Action::Download { order_id } => self.download(order_id, now, out),
            refund @ Action::Refund { .. } => self.confirm_refund(refund, now, out),
            Action::RetryRefundCard {
                refund_id,
                order_id,
                original,
                amount,
            } => {
                let link = RefundLink {
                    refund_id,
                    original,
                };
                self.retry_refund_card(link, order_id, amount, now, out)
            }
            Action::ReturnWithoutReceipt { id, cart, reason } => {
                self.return_without_receipt(id, cart, reason, now, out)
            }
            Action::Unpark { record_id, version } => {
                let tx = StoreTx::Unpark {
                    record_id,
                    version,
                    now,
                };
                self.store(Op::Sync, tx, out)
            }
            Action::Park { label } => self.park(&label, now, out),
            Action::Resume { id } => self.resume(id, out),
            Action::SyncNow => self.sync_event(SyncEvent::Woken, now, out),
            Action::OpenShift { float } => self.open_shift(float, now, out),
            Action::MoveCash {
                kind,
                amount,
                reason,
            } => self.move_cash(kind, amount, &reason, now, out),
            Action::NoSale => self.no_sale(now, out),
            Action::CloseShift { count } => self.close_shift(count, now, out),
        }
    }

    /// A void of an order, as the cashier (and the manager who approved
    /// it) asked.
    fn void(&mut self, order_id: OrderId, now: Timestamp, out: &mut Vec<Effect>) {
        let req = UpdateRequest {
            order_id,
            change: Change::Void {
                by: self.desk.cashier_ref(),
                approval: self.approval.clone(),
                shift: self.shift.as_ref().map(|s| s.id),
            },
            origin: None,
            next_sale: self.new_order_id(now),
            at: now,
        };
        self.store(Op::Void(order_id), StoreTx::Update(Box::new(req)), out);
    }

    /// Cash recorded on the sale's order (or refused).
    pub(super) fn on_sale_stored(
        &mut self,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match result {
            Ok(Stored::Updated(u)) => self.on_updated(*u, now, out),
            Err(e) => Self::ui(out, UiEvent::PayMessage(e.to_string())),
            Ok(_) => {}
        }
    }

    pub(super) fn on_void_stored(
        &mut self,
        order_id: OrderId,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let text = match result {
            Ok(Stored::Updated(u)) => {
                let text = format!("Order {} was voided.", u.order.number);
                self.on_updated(*u, now, out);
                text
            }
            Err(e) => e.to_string(),
            Ok(_) => return,
        };
        Self::ui(out, UiEvent::OrderMessage { order_id, text });
    }

    /// A park or a resume is done: the register holds the sale it left.
    pub(super) fn on_park_stored(
        &mut self,
        done: String,
        result: Result<Stored, StoreFailure>,
        out: &mut Vec<Effect>,
    ) {
        match result {
            Ok(Stored::Parked { sale, parked }) => {
                self.sale = Some(sale);
                self.sale_order = None;
                self.parked = parked;
                Self::ui(out, UiEvent::RegisterMessage(done));
            }
            Err(e) => Self::ui(out, UiEvent::RegisterMessage(e.to_string())),
            Ok(_) => {}
        }
    }

    /// Whether the current sale may make way for another (park, resume):
    /// nothing paid, no card payment live, no cash being recorded.
    pub(super) fn sale_may_move(&self) -> Result<(), UpdateError> {
        self.cart_locked()?;
        if self.sale_order.is_some() {
            return Err(ParkError::HasPayment.into());
        }
        Ok(())
    }

    pub(super) fn park(&mut self, label: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let parked = self.sale_may_move().and_then(|()| {
            let sale = self.sale.as_ref().ok_or(ParkError::SaleMoved)?;
            Ok(park(sale, label, &self.parked, now)?)
        });
        let cart = match parked {
            Ok(c) => c,
            Err(e) => return Self::ui(out, UiEvent::RegisterMessage(e.to_string())),
        };
        let next = Sale {
            id: self.new_order_id(now),
            cart: Cart::new(self.config.currency),
        };
        let done = format!("Parked \"{}\". Ready for the next customer.", cart.label);
        let tx = StoreTx::Park {
            cart: Box::new(cart),
            next,
        };
        self.store(Op::Park(done), tx, out);
    }

    pub(super) fn resume(&mut self, id: OrderId, out: &mut Vec<Effect>) {
        let checked = self.sale_may_move().and_then(|()| {
            let sale = self.sale.as_ref().ok_or(ParkError::SaleMoved)?;
            if !sale.cart.is_empty() {
                return Err(ParkError::CartNotEmpty.into());
            }
            let p = self.parked.iter().find(|p| p.id == id);
            let label = p.ok_or(ParkError::NoSuchCart)?.label.clone();
            Ok((sale.id, label))
        });
        match checked {
            Ok((current, label)) => {
                let tx = StoreTx::Resume { id, current };
                self.store(Op::Park(format!("Resumed \"{label}\".")), tx, out);
            }
            Err(e) => Self::ui(out, UiEvent::RegisterMessage(e.to_string())),
        }
    }

    pub(super) fn edit_cart(&mut self, cart: Cart, out: &mut Vec<Effect>) {
        if let Err(e) = self.cart_locked() {
            Self::ui(out, UiEvent::RegisterMessage(e.to_string()));
            return;
        }
        let Some(sale) = self.sale.as_mut() else {
            return;
        };
        if sale.cart == cart {
            return;
        }
        sale.cart = cart;
        let sale = sale.clone();
        let tx = StoreTx::SaveSale {
            sale,
            replaces: None,
        };
        self.store(Op::SaveSale, tx, out);
    }

    /// The current sale's origin for a new order: its cart, numbered on
    /// today's business day (or the clock error the cashier must fix).
    pub(super) fn origin(&self, now: Timestamp) -> Result<Origin, OrderError> {
        let sale = self.sale.as_ref().ok_or(OrderError::Empty)?;
        if sale.cart.is_empty() {
            return Err(OrderError::Empty);
        }
        Ok(Origin {
            register: self.config.register.clone(),
            date: BusinessDate::at(now, self.config.utc_offset_min)?,
            cart: sale.cart.clone(),
            cashier: self.desk.cashier_ref(),
            shift: self.shift.as_ref().map(|s| s.id),
        })
    }

    pub(super) fn pay_cash(&mut self, received: Money, now: Timestamp, out: &mut Vec<Effect>) {
        if self.cash_in_flight {
            return; // A double tap: the first one is running.
        }
        if self.popup_open() {
            Self::ui(
                out,
                UiEvent::PayMessage(OrderError::CardInProgress.to_string()),
            );
            return;
        }
        let checked = self.origin(now).and_then(|origin| {
            let due = self.due().ok_or(OrderError::Empty)?;
            check_cash(received, due)?;
            Ok(origin)
        });
        let origin = match checked {
            Ok(o) => o,
            Err(e) => return Self::ui(out, UiEvent::PayMessage(e.to_string())),
        };
        let Some(sale) = &self.sale else { return };
        let req = UpdateRequest {
            order_id: sale.id,
            change: Change::Cash { received },
            origin: Some(origin),
            next_sale: self.new_order_id(now),
            at: now,
        };
        self.cash_in_flight = true;
        self.store(Op::Cash, StoreTx::Update(Box::new(req)), out);
    }

    /// What follows a committed order change: the sale moves on (only when
    /// it was the current sale's own order), the sync wakes, the pages hear.
    pub(super) fn on_updated(&mut self, u: Updated, now: Timestamp, out: &mut Vec<Effect>) {
        let order = u.order;
        if let Some(next) = u.next_sale {
            self.sale = Some(next);
            self.sale_order = None;
            Self::ui(out, UiEvent::Navigate(Page::Register));
            Self::ui(out, UiEvent::Notice(sale_ended_notice(&order)));
            if order.status == OrderStatus::Paid && self.config.auto_print {
                Self::ui(out, UiEvent::Print(order.id));
            }
        } else if self.sale.as_ref().is_some_and(|s| s.id == order.id) {
            self.sale_order = Some(order.clone());
        } else if u.card == Some(CardRecorded::Tender) {
            Self::ui(
                out,
                UiEvent::Alert(format!(
                    "Order {}: its card payment was confirmed; it is now {}.",
                    order.number,
                    order.status.label()
                )),
            );
        }
        if u.card == Some(CardRecorded::RefundDue) {
            let due = order
                .refund_due_total()
                .map(|m| m.to_string())
                .unwrap_or_default();
            Self::ui(
                out,
                UiEvent::Alert(format!(
                    "Order {}: a card payment was approved after the order was settled another way — refund due {due}.",
                    order.number
                )),
            );
        }
        if u.changed {
            self.sync_event(SyncEvent::Woken, now, out);
        }
        Self::ui(out, UiEvent::OrderWritten(order.id));
    }

    // ---- sync ----
}

fn sale_ended_notice(order: &Order) -> Notice {
    match &order.status {
        OrderStatus::Paid => {
            let change = order.change().ok().filter(|c| !c.is_zero());
            let text = match change {
                Some(c) => format!("Paid — order {}. Change {c}. Ready for the next sale.", order.number),
                None => format!("Paid — order {}. Ready for the next sale.", order.number),
            };
            Notice {
                text,
                receipt: Some(order.id),
            }
        }
        _ => Notice {
            text: format!(
                "Order {} was closed unpaid: its card payment is pending confirmation. Do not void it.",
                order.number
            ),
            receipt: None,
        },
    }
}
