//! The register's storage contract, in memory: the reference every shell's
//! store must match (the browser's IndexedDB in `src/store`, this one in the
//! simulator and the register's tests).
//!
//! Each [`StoreTx`] is one transaction: it reads, decides with till-core
//! (the update path's [`plan`], the outbox's rules), and writes everything
//! or nothing. Transactions run one at a time, in the order they are given,
//! as IndexedDB runs read-write transactions over the same stores.
//!
//! The simulator crashes the register between transactions; a transaction
//! itself is atomic (IndexedDB's guarantee with strict durability), so there
//! is nothing to crash inside one.

use crate::desk::DeskRecord;
use crate::ids::RecordId;
use crate::order::{BusinessDate, Order, OrderId};
use crate::outbox::{Outbox, OutboxChange, OutboxEntry, RecordKind};
use crate::park::{plan_park, plan_resume, ParkedCart};
use crate::payment::{Attempt, PaymentRef};
use crate::refund::{Refund, RefundId};
use crate::register::{Loaded, StorageFault, StoreFailure, StoreTx, Stored};
use crate::shift::{Shift, ShiftId};
use crate::shift_plan::{plan_shift, ShiftRequest, ShiftSnapshot};
use crate::sync::{DueBatch, OutboxSummary, Record};
use crate::time::Timestamp;
use crate::update::{
    check_sale_save, plan, plan_card_refund, plan_give_owed, plan_refund, plan_return,
    CardRefundSnapshot, RefundPlan, RefundRequest, RefundSnapshot, ReturnRequest, Sale, Snapshot,
    UpdateRequest,
};
use std::collections::BTreeMap;

/// A failure the test or the simulator injects into the next transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next transaction fails (quota, I/O) and writes nothing.
    FailNext(StorageFault),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStore {
    pub orders: BTreeMap<OrderId, Order>,
    pub attempts: BTreeMap<PaymentRef, Attempt>,
    pub outbox: BTreeMap<(RecordId, u32), OutboxEntry>,
    pub refunds: BTreeMap<RefundId, Refund>,
    pub sale: Option<Sale>,
    pub parked: Vec<ParkedCart>,
    pub desk: Option<DeskRecord>,
    pub shifts: BTreeMap<ShiftId, Shift>,
    /// The register's open shift.
    pub open_shift: Option<ShiftId>,
    pub seqs: BTreeMap<BusinessDate, u32>,
    faults: Vec<Fault>,
}

impl MemStore {
    pub fn inject(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Runs one transaction: all of it, or (on any error) none of it.
    pub fn execute(&mut self, tx: &StoreTx) -> Result<Stored, StoreFailure> {
        if let Some(Fault::FailNext(why)) = self.faults.pop() {
            return Err(StoreFailure::Io(why));
        }
        match tx {
            StoreTx::Load => Ok(Stored::Loaded(Box::new(self.load()))),
            StoreTx::SaveSale { sale, replaces } => self.save_sale(sale, *replaces),
            StoreTx::SaveDesk(desk) => {
                self.desk = Some((**desk).clone());
                Ok(Stored::Done)
            }
            StoreTx::Update(req) => self.update(req),
            StoreTx::Shift(req) => self.shift(req),
            StoreTx::Refund(req) => self.refund(req),
            StoreTx::CardRefund(attempt) => self.card_refund(attempt),
            StoreTx::Return(req) => self.return_without_receipt(req),
            StoreTx::GiveOwed(attempt) => self.give_owed(attempt),
            StoreTx::LoadDue { limit, now } => Ok(Stored::Due(self.due(*limit, *now))),
            StoreTx::ApplyOutbox(changes) => {
                self.apply_existing(changes);
                Ok(Stored::Outbox(self.summary()))
            }
            StoreTx::RetryNow { now } => {
                let changes = self.outbox_rules().retry_now(*now);
                self.apply(&changes);
                Ok(Stored::Outbox(self.summary()))
            }
            StoreTx::Unpark {
                record_id,
                version,
                now,
            } => {
                let changes = self.outbox_rules().unpark(*record_id, *version, *now);
                self.apply(&changes);
                Ok(Stored::Outbox(self.summary()))
            }
            StoreTx::Park { cart, next } => {
                let (sale, parked) = plan_park(self.sale.as_ref(), &self.parked, cart, next)
                    .map_err(|e| StoreFailure::Refused(e.into()))?;
                Ok(self.set_parked(sale, parked))
            }
            StoreTx::Resume { id, current } => {
                let (sale, parked) = plan_resume(self.sale.as_ref(), &self.parked, *id, *current)
                    .map_err(|e| StoreFailure::Refused(e.into()))?;
                Ok(self.set_parked(sale, parked))
            }
            StoreTx::RaiseSequence { date, seen } => {
                let seq = self.seqs.entry(*date).or_default();
                *seq = (*seq).max(*seen);
                Ok(Stored::Done)
            }
        }
    }

    /// A shift's write: read, decided by [`plan_shift`], written with its
    /// outbox entry and the register's open shift.
    fn shift(&mut self, req: &ShiftRequest) -> Result<Stored, StoreFailure> {
        let open = self.open_shift.and_then(|id| self.shifts.get(&id)).cloned();
        let snap = ShiftSnapshot {
            orders: self
                .orders
                .values()
                .filter(|o| o.shift == Some(req.id))
                .cloned()
                .collect(),
            refunds: self
                .refunds
                .values()
                .filter(|r| r.shift == Some(req.id))
                .cloned()
                .collect(),
            outbox: self
                .outbox
                .values()
                .filter(|e| e.record_id == req.id.record_id())
                .cloned()
                .collect(),
            stored: self.shifts.get(&req.id).cloned(),
            open,
        };
        let plan = plan_shift(req, &snap).map_err(|e| StoreFailure::Refused(e.into()))?;
        if let Some(shift) = plan.write {
            self.shifts.insert(shift.id, shift);
        }
        self.apply(&plan.outbox);
        self.open_shift = plan.open;
        Ok(Stored::Shift(Box::new(plan.shift)))
    }

    fn load(&self) -> Loaded {
        let sale_order = self
            .sale
            .as_ref()
            .and_then(|s| self.orders.get(&s.id))
            .cloned();
        Loaded {
            sale: self.sale.clone(),
            sale_order,
            attempts: self
                .attempts
                .values()
                .filter(|a| a.state.is_reloaded())
                .cloned()
                .collect(),
            outbox: self.summary(),
            parked: self.parked.clone(),
            desk: self.desk.clone(),
            shift: self.open_shift.and_then(|id| self.shifts.get(&id)).cloned(),
        }
    }

    fn set_parked(&mut self, sale: Sale, parked: Vec<ParkedCart>) -> Stored {
        self.sale = Some(sale.clone());
        self.parked = parked.clone();
        Stored::Parked { sale, parked }
    }

    fn save_sale(
        &mut self,
        sale: &Sale,
        replaces: Option<OrderId>,
    ) -> Result<Stored, StoreFailure> {
        let stored = self.sale.as_ref().map(|s| s.id);
        check_sale_save(stored, sale, replaces).map_err(StoreFailure::Refused)?;
        self.sale = Some(sale.clone());
        Ok(Stored::Done)
    }

    fn update(&mut self, req: &UpdateRequest) -> Result<Stored, StoreFailure> {
        let snap = Snapshot {
            order: self.orders.get(&req.order_id).cloned(),
            attempts: self
                .attempts
                .values()
                .filter(|a| a.order_id == req.order_id)
                .cloned()
                .collect(),
            outbox: self.outbox_of(Some(req.order_id.record_id())),
            sale: self.sale.clone(),
            last_seq: req
                .sequence_day()
                .and_then(|d| self.seqs.get(&d).copied())
                .unwrap_or(0),
            refunds: self.refunds_of(req.order_id),
        };
        let plan = plan(req, &snap, req.at).map_err(StoreFailure::Refused)?;
        if let Some(order) = plan.order {
            self.orders.insert(order.id, order);
        }
        if let Some(attempt) = plan.attempt {
            self.attempts.insert(attempt.reference, attempt);
        }
        self.apply(&plan.outbox);
        if let Some(sale) = plan.sale {
            self.sale = Some(sale);
        }
        if let Some((date, seq)) = plan.seq {
            self.seqs.insert(date, seq);
        }
        Ok(Stored::Updated(Box::new(plan.outcome)))
    }

    /// The refunds of an order, oldest first.
    pub fn refunds_of(&self, order_id: OrderId) -> Vec<Refund> {
        let mut out: Vec<Refund> = self
            .refunds
            .values()
            .filter(|r| r.order_id == Some(order_id))
            .cloned()
            .collect();
        out.sort_by_key(|r| (r.created_at, r.id));
        out
    }

    fn refund(&mut self, req: &RefundRequest) -> Result<Stored, StoreFailure> {
        let key = req.id.record_id();
        let snap = RefundSnapshot {
            order: self.orders.get(&req.order_id).cloned(),
            refunds: self.refunds_of(req.order_id),
            outbox: self.outbox_of(Some(key)),
            last_seq: self.seqs.get(&req.date).copied().unwrap_or(0),
        };
        let plan = plan_refund(req, &snap).map_err(StoreFailure::Refused)?;
        Ok(self.write_refund(plan))
    }

    fn return_without_receipt(&mut self, req: &ReturnRequest) -> Result<Stored, StoreFailure> {
        let key = req.id.record_id();
        let snap = RefundSnapshot {
            order: None,
            refunds: self.refunds.get(&req.id).cloned().into_iter().collect(),
            outbox: self.outbox_of(Some(key)),
            last_seq: self.seqs.get(&req.date).copied().unwrap_or(0),
        };
        let plan = plan_return(req, &snap).map_err(StoreFailure::Refused)?;
        Ok(self.write_refund(plan))
    }

    fn give_owed(&mut self, attempt: &Attempt) -> Result<Stored, StoreFailure> {
        let key = attempt.refund.map(|l| l.refund_id.record_id());
        let snap = RefundSnapshot {
            order: self.orders.get(&attempt.order_id).cloned(),
            refunds: self.refunds_of(attempt.order_id),
            outbox: self.outbox_of(key),
            last_seq: 0,
        };
        let plan = plan_give_owed(attempt, &snap).map_err(StoreFailure::Refused)?;
        Ok(self.write_refund(plan))
    }

    fn card_refund(&mut self, attempt: &Attempt) -> Result<Stored, StoreFailure> {
        let refund_id = attempt.refund.map(|l| l.refund_id);
        let key = refund_id.map(|id| id.record_id());
        let snap = CardRefundSnapshot {
            refund: refund_id.and_then(|id| self.refunds.get(&id)).cloned(),
            attempt: self.attempts.get(&attempt.reference).cloned(),
            outbox: self.outbox_of(key),
        };
        let plan = plan_card_refund(attempt, &snap).map_err(StoreFailure::Refused)?;
        Ok(self.write_refund(plan))
    }

    /// A record's outbox entries (none for `None`).
    fn outbox_of(&self, key: Option<RecordId>) -> Vec<OutboxEntry> {
        self.outbox
            .values()
            .filter(|e| Some(e.record_id) == key)
            .cloned()
            .collect()
    }

    fn write_refund(&mut self, plan: RefundPlan) -> Stored {
        if let Some(refund) = plan.write {
            self.refunds.insert(refund.id, refund);
        }
        if let Some(attempt) = plan.attempt {
            self.attempts.insert(attempt.reference, attempt);
        }
        self.apply(&plan.outbox);
        if let Some((date, seq)) = plan.seq {
            self.seqs.insert(date, seq);
        }
        Stored::Refunded(Box::new(plan.refund))
    }

    /// What an outbox entry sends, as stored now.
    fn record_of(&self, e: &OutboxEntry) -> Option<Record> {
        match e.kind {
            RecordKind::Order => self
                .orders
                .get(&OrderId::from_record_id(e.record_id))
                .cloned()
                .map(Record::Order),
            RecordKind::Refund => self
                .refunds
                .get(&RefundId::from_record_id(e.record_id))
                .cloned()
                .map(Record::Refund),
            RecordKind::Shift => self
                .shifts
                .get(&ShiftId::from_record_id(e.record_id))
                .cloned()
                .map(|s| Record::Shift(Box::new(s))),
        }
    }

    fn outbox_rules(&self) -> Outbox {
        Outbox::new(self.outbox.values().cloned().collect())
    }

    fn due(&self, limit: usize, now: Timestamp) -> DueBatch {
        let rules = self.outbox_rules();
        let due = rules.due(now, limit);
        DueBatch {
            due_total: rules.due_count(now),
            entries: due
                .into_iter()
                .map(|e| (e.clone(), self.record_of(e)))
                .collect(),
            summary: self.summary(),
        }
    }

    pub fn summary(&self) -> OutboxSummary {
        self.outbox_rules().summary()
    }

    fn apply(&mut self, changes: &[OutboxChange]) {
        for c in changes {
            match c {
                OutboxChange::Put(e) => {
                    self.outbox.insert(e.key(), e.clone());
                }
                OutboxChange::Delete { record_id, version } => {
                    self.outbox.remove(&(*record_id, *version));
                }
            }
        }
    }

    /// As [`MemStore::apply`], but a `Put` only updates an entry that still
    /// exists: a sale may have superseded it while the round was out.
    fn apply_existing(&mut self, changes: &[OutboxChange]) {
        for c in changes {
            match c {
                OutboxChange::Put(e) if !self.outbox.contains_key(&e.key()) => {}
                other => self.apply(std::slice::from_ref(other)),
            }
        }
    }
}
