//! Who is at the register: the staff list, signing in and out, and the
//! manager's approval a guarded action waits for.

use super::*;

impl Register {
    /// The stored desk at start; a staff list downloaded meanwhile is newer.
    pub(super) fn load_desk(
        &mut self,
        stored: Option<DeskRecord>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let fresher = (!self.desk.staff().is_empty()).then(|| self.desk.staff().to_vec());
        self.desk = Desk::new(stored.unwrap_or_default());
        self.desk.restart_locks(now);
        self.desk.set_idle_lock(self.config.idle_lock, now);
        if let Some(staff) = fresher {
            self.desk.set_staff(staff);
            self.save_desk(out);
        }
    }

    pub(super) fn on_staff(
        &mut self,
        staff: Vec<StaffMember>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if staff == self.desk.staff() {
            return;
        }
        self.desk.set_staff(staff);
        if !self.loaded {
            // Kept until the stored desk is read (`load_desk`).
            return;
        }
        self.desk.touch(now);
        self.save_desk(out);
    }

    pub(super) fn save_desk(&mut self, out: &mut Vec<Effect>) {
        let tx = StoreTx::SaveDesk(Box::new(self.desk.record().clone()));
        self.store(Op::Desk, tx, out);
    }

    pub(super) fn sign_in(
        &mut self,
        person: &StaffId,
        pin: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let result = self.desk.sign_in(person, pin, now);
        // A wrong PIN is stored too: a reload must not reset a lock-out.
        self.save_desk(out);
        if let Err(e) = result {
            Self::ui(out, UiEvent::SignInRefused(e.to_string()));
        }
    }

    /// Selling, refunding, voiding and parking need someone signed in; the
    /// card popup's buttons, sync and downloads do not (a payment on
    /// screen is finished whoever is at the register). Anything done keeps
    /// the idle lock away.
    pub(super) fn may_act(
        &mut self,
        action: &Action,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> bool {
        self.desk.touch(now);
        let needs_cashier = !matches!(
            action,
            Action::SignIn { .. }
                | Action::SignOut
                | Action::CancelCard
                | Action::Resync
                | Action::CloseCard
                | Action::Download { .. }
                | Action::SyncNow
        );
        if needs_cashier && self.desk.cashier().is_none() {
            Self::ui(
                out,
                UiEvent::Alert("Sign in first: nobody is signed in on this register.".into()),
            );
            return false;
        }
        let needs_shift = matches!(
            action,
            Action::EditCart(_)
                | Action::PayCash { .. }
                | Action::PayCard
                | Action::Refund { .. }
                | Action::RetryRefundCard { .. }
                | Action::ReturnWithoutReceipt { .. }
                | Action::MoveCash { .. }
                | Action::NoSale
                | Action::CloseShift { .. }
        );
        if needs_shift && self.shift.is_none() {
            Self::ui(
                out,
                UiEvent::Alert(
                    "Open a shift first: count the float in the drawer (Shift → Open shift)."
                        .into(),
                ),
            );
            return false;
        }
        true
    }

    // ---- the shift ----

    /// Which guarded action `action` is, if any: a void, a refund, a return
    /// without a receipt, a price override the sale did not have, a
    /// discount above what the cart's approvals cover, No sale, a paid out
    /// above the store's limit, changing Settings.
    pub(super) fn guarded(&self, action: &Action) -> Option<Guarded> {
        match action {
            Action::Void { .. } => Some(Guarded::Void),
            Action::Refund { .. } => Some(Guarded::Refund),
            Action::ReturnWithoutReceipt { .. } => Some(Guarded::ReturnWithoutReceipt),
            Action::AuthorizeSettings => Some(Guarded::ChangeSettings),
            Action::NoSale => Some(Guarded::NoSale),
            Action::MoveCash {
                kind: MovementKind::PaidOut,
                amount,
                ..
            } if self.config.policy.paid_out_guarded(*amount) => Some(Guarded::PaidOut),
            Action::EditCart(cart)
                if cart.overrides_beyond(self.sale.as_ref().map(|s| &s.cart)) =>
            {
                Some(Guarded::PriceOverride)
            }
            Action::EditCart(cart) => {
                let open = cart
                    .unapproved_discounts(self.config.policy.discount_threshold_bp)
                    .unwrap_or_default();
                let bp = open.iter().map(|g| g.basis_points).max()?;
                Some(Guarded::Discount { basis_points: bp })
            }
            _ => None,
        }
    }

    /// A manager entered their PIN for the held action: it runs, and its
    /// record keeps the approval. A wrong PIN counts towards that
    /// manager's lock-out, and the action stays held.
    pub(super) fn approve(
        &mut self,
        person: &StaffId,
        pin: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(held) = self.held.take() else {
            return;
        };
        let result = self.desk.approve(person, pin, now);
        self.save_desk(out);
        let by = match result {
            Ok(by) => by,
            Err(e) => {
                self.held = Some(held);
                return Self::ui(out, UiEvent::ApprovalRefused(e.to_string()));
            }
        };
        let approval = Approval {
            by,
            at: now,
            what: held.what,
            lines: Vec::new(),
        };
        match held.action {
            Action::EditCart(mut cart) => {
                cart.approve(approval, self.config.policy.discount_threshold_bp);
                self.edit_cart(cart, out);
            }
            action => {
                self.approval = Some(approval);
                self.run_action(action, now, out);
                self.approval = None;
            }
        }
    }
}
