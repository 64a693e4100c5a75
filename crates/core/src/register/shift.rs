//! The shift: open with a float, pay in and out, no sale, close with a
//! count, each written through [`crate::shift_plan::plan_shift`].

use super::*;

impl Register {
    /// Paid in or out, with its reason.
    pub(super) fn move_cash(
        &mut self,
        kind: MovementKind,
        amount: Money,
        reason: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(by) = self.desk.cashier_ref() else {
            return;
        };
        match CashMovement::new(kind, amount, reason, now, by) {
            Ok(mut m) => {
                // A manager approved a paid out above the store's limit.
                m.approval = self.approval.clone();
                self.change_shift(ShiftChange::Move(m), "", now, out)
            }
            Err(e) => Self::ui(out, UiEvent::ShiftRefused(e.to_string())),
        }
    }

    /// The drawer opened with no sale (approved by a manager for a cashier).
    pub(super) fn no_sale(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let change = ShiftChange::NoSale {
            approval: self.approval.clone(),
        };
        self.change_shift(change, "Drawer opened (no sale).", now, out)
    }

    /// A new shift with the float counted: refused while one is open.
    pub(super) fn open_shift(&mut self, float: CashCount, now: Timestamp, out: &mut Vec<Effect>) {
        if self.shift.is_some() {
            let text = "A shift is already open on this register: close it first.".to_string();
            return Self::ui(out, UiEvent::ShiftRefused(text));
        }
        let change = ShiftChange::Open {
            register: self.config.register.clone(),
            currency: self.config.currency,
            float,
        };
        let id = ShiftId::from_record_id(self.new_order_id(now).record_id());
        self.write_shift(id, 0, change, "Shift opened.", now, out);
    }

    /// Closes the open shift with the count: refused while the sale on
    /// screen has money on it (it belongs to one shift or the next).
    pub(super) fn close_shift(&mut self, count: CashCount, now: Timestamp, out: &mut Vec<Effect>) {
        let paying = self.popup_open()
            || self
                .sale_order
                .as_ref()
                .is_some_and(|o| !o.tenders.is_empty());
        if paying {
            let text = "Finish the payment of the sale on screen first.".to_string();
            return Self::ui(out, UiEvent::ShiftRefused(text));
        }
        match BusinessDate::at(now, self.config.utc_offset_min) {
            Ok(date) => {
                let change = ShiftChange::Close { count, date };
                self.change_shift(change, "Shift closed.", now, out)
            }
            Err(e) => Self::ui(out, UiEvent::ShiftRefused(e.to_string())),
        }
    }

    /// A change to the open shift (at the version the register holds).
    pub(super) fn change_shift(
        &mut self,
        change: ShiftChange,
        done: &'static str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some((id, version)) = self.shift.as_ref().map(|s| (s.id, s.version)) else {
            return;
        };
        self.write_shift(id, version, change, done, now, out);
    }

    pub(super) fn write_shift(
        &mut self,
        id: ShiftId,
        version: u32,
        change: ShiftChange,
        done: &'static str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(by) = self.desk.cashier_ref() else {
            return;
        };
        if self.ops.values().any(|op| matches!(op, Op::Shift(_))) {
            // A second tap: the write in flight answers for both.
            return;
        }
        let req = ShiftRequest {
            id,
            version,
            change,
            by,
            at: now,
        };
        self.store(Op::Shift(done), StoreTx::Shift(Box::new(req)), out);
    }

    pub(super) fn on_shift_stored(
        &mut self,
        done: &'static str,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match result {
            Ok(Stored::Shift(shift)) => {
                self.shift = shift.is_open().then(|| (*shift).clone());
                Self::ui(out, UiEvent::ShiftWritten(shift));
                if !done.is_empty() {
                    Self::ui(out, UiEvent::ShiftDone(done.into()));
                }
                self.sync_event(SyncEvent::Woken, now, out);
            }
            Err(e) => Self::ui(out, UiEvent::ShiftRefused(e.to_string())),
            Ok(_) => {}
        }
    }
}
