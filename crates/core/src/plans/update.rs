//! The one order-update path: read, change, bump the version, write the
//! order, its card attempt and its outbox entry, in one transaction.
//!
//! Every write to an order goes through [`plan`], whoever asks for it: the
//! cashier's cash payment, a card attempt's write-ahead record, a late
//! approval, "Close & back to Register", reconciliation, Download, Void.
//! The shell opens one read-write transaction, reads a [`Snapshot`] of the
//! order *inside* it, calls [`plan`] (pure, synchronous: nothing else is
//! awaited inside the transaction), writes the [`Plan`] and commits. Because
//! the read and the write share the transaction, two writers of one order
//! are serialised by the storage itself:
//!
//! - the version always grows from the stored one, so two writers can never
//!   store the same version with different contents (which the back office
//!   would refuse as a conflict);
//! - a double tap on "Confirm" runs twice, and the second run finds the
//!   sale already finished;
//! - the double-charge guard, "no void while in doubt" and "no cart edit
//!   while a card payment is live" are checked against what is stored at
//!   that moment, not against a page's stale copy;
//! - an attempt and the order it settles are written together, so a crash
//!   can never leave an approved attempt on an open order, or a closed
//!   attempt on an order that is not unpaid.
//!
//! The current sale (the cart being rung up, with the id its order will
//! have) is part of the snapshot: a change finishes the sale only when it is
//! the current sale's own order. A late result for an earlier order can
//! therefore never empty the next customer's cart.

use crate::card::{Attempt, AttemptState, Settlement};
use crate::cart::Cart;
pub use crate::cart::Sale;
use crate::money::Money;
use crate::order::{
    BusinessDate, CardRecorded, Order, OrderError, OrderId, OrderNumber, OrderStatus, RegisterId,
    Tender, SEQ_MAX,
};
use crate::outbox::{Outbox, OutboxChange, OutboxEntry};
use crate::refund::{
    card_part, preview, CardRefundState, NewRefund, Refund, RefundError, RefundId, RefundReason,
    RefundStatus, RefundTender, Returned, TenderKey,
};
use crate::staff::{Approval, StaffRef};
use crate::time::Timestamp;

use thiserror::Error;

/// Whether `sale` may be stored as the current sale over `stored` (the id
/// of the sale storage holds): a finished sale never comes back, so only
/// the same sale, or a new one replacing the one it names, is written.
pub fn check_sale_save(
    stored: Option<OrderId>,
    sale: &Sale,
    replaces: Option<OrderId>,
) -> Result<(), UpdateError> {
    let allowed = match (stored, replaces) {
        (None, _) => true,
        (Some(id), None) => id == sale.id,
        (Some(id), Some(old)) => id == old || id == sale.id,
    };
    if allowed {
        Ok(())
    } else {
        Err(UpdateError::SaleFinished)
    }
}

/// A change to one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Cash towards the current sale (its order is created first if needed).
    Cash { received: crate::money::Money },
    /// The write-ahead record of a new card attempt on the current sale (its
    /// order is created first if needed). Refused while another attempt on
    /// the order is in doubt: the double-charge guard.
    CardRequested { attempt: Attempt },
    /// A card attempt's new state; the order itself does not change.
    Attempt(Attempt),
    /// A card attempt settled, and what that means for its order.
    Settle {
        attempt: Attempt,
        settlement: Settlement,
    },
    /// Void the order (refused while money may have moved), by whom, with
    /// a manager's approval when a cashier voids.
    Void {
        by: Option<StaffRef>,
        approval: Option<Approval>,
        /// The register's open shift: cash taken in another shift was
        /// counted at its close, so it goes back as a refund, not a void.
        shift: Option<crate::shift::ShiftId>,
    },
}

impl Change {
    /// The attempt this change writes, if any.
    pub fn attempt(&self) -> Option<&Attempt> {
        match self {
            Change::CardRequested { attempt }
            | Change::Attempt(attempt)
            | Change::Settle { attempt, .. } => Some(attempt),
            _ => None,
        }
    }
}

/// Where a new order comes from: the current sale's cart, numbered on this
/// register's business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub register: RegisterId,
    pub date: BusinessDate,
    pub cart: Cart,
    /// Who rings the sale up: the order records them.
    pub cashier: Option<StaffRef>,
    /// The register's open shift: the order counts in it (the one open
    /// when the sale is paid, for a cart rung up in an earlier shift).
    pub shift: Option<crate::shift::ShiftId>,
}

/// One request to the update path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRequest {
    pub order_id: OrderId,
    pub change: Change,
    /// For the current sale's changes ([`Change::Cash`],
    /// [`Change::CardRequested`]): the cart, and how to number the order if
    /// it does not exist yet.
    pub origin: Option<Origin>,
    /// The id of the sale that follows, if this change finishes the current one.
    pub next_sale: OrderId,
    /// When the register decided the change: the order's new `updated_at`.
    pub at: Timestamp,
}

impl UpdateRequest {
    /// The day whose sequence the transaction must read (`seq:<yyyymmdd>`).
    pub fn sequence_day(&self) -> Option<BusinessDate> {
        self.origin.as_ref().map(|o| o.date)
    }
}

/// What the store holds, read inside the transaction that will write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub order: Option<Order>,
    /// Every card attempt of the order.
    pub attempts: Vec<Attempt>,
    /// The order's outbox entries.
    pub outbox: Vec<OutboxEntry>,
    /// The current sale record.
    pub sale: Option<Sale>,
    /// The last sequence number handed out on the request's
    /// [`UpdateRequest::sequence_day`] (0 when none, or no origin).
    pub last_seq: u32,
    /// The order's refunds (a refunded order is never voided).
    pub refunds: Vec<Refund>,
}

/// What the transaction writes, then commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The order's new version, when it changed.
    pub order: Option<Order>,
    pub attempt: Option<Attempt>,
    pub outbox: Vec<OutboxChange>,
    /// The next sale, when this change finished the current one.
    pub sale: Option<Sale>,
    /// The day's new last sequence number, when an order was created.
    pub seq: Option<(BusinessDate, u32)>,
    pub outcome: Updated,
}

/// What the update did, for the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The order as it now stands.
    pub order: Order,
    pub created: bool,
    /// The order got a new version (and an outbox entry).
    pub changed: bool,
    /// The next sale, when the current one finished.
    pub next_sale: Option<Sale>,
    /// What became of a card approval.
    pub card: Option<CardRecorded>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UpdateError {
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Drawer(#[from] crate::shift::ShiftError),
    /// A repeated tap, or an action on a sale that has moved on.
    #[error("This sale is already finished")]
    SaleFinished,
    #[error("order {0} is not on this register")]
    NoOrder(OrderId),
    #[error("The amount due is now {due}: start the card payment again")]
    AmountChanged { due: crate::money::Money },
    #[error("card payment {0} does not belong to this order")]
    WrongOrder(crate::ids::PaymentRef),
    /// A stored attempt is further along than this write (a settled attempt
    /// never goes back in doubt, an approval is final).
    #[error("card payment {0} is already settled")]
    AttemptSettled(crate::ids::PaymentRef),
    #[error("the register handed out {SEQ_MAX} orders today: no more numbers")]
    OutOfNumbers,
    #[error(transparent)]
    Refund(#[from] RefundError),
    #[error("this order has refunds: it cannot be voided")]
    HasRefunds,
    #[error("this sale's cash was counted when its shift closed: give the money back as a refund")]
    ShiftCounted,
    #[error("refund {0} is not on this register")]
    NoRefund(crate::refund::RefundId),
    #[error("card payment {0} is not a refund")]
    NotARefund(crate::ids::PaymentRef),
    #[error(transparent)]
    Park(#[from] crate::park::ParkError),
}

/// Decides the writes for `req` from what the store holds (`snap`, read in
/// the same transaction) at `now` (normally `req.at`). Errors change
/// nothing: the shell aborts.
pub fn plan(req: &UpdateRequest, snap: &Snapshot, now: Timestamp) -> Result<Plan, UpdateError> {
    let is_current = snap.sale.as_ref().is_some_and(|s| s.id == req.order_id);
    let (mut order, created, seq) = order_for(req, snap, is_current, now)?;
    let before = order.version;
    let mut card = None;
    let attempt = match &req.change {
        Change::Cash { received } => {
            order.accepts_payment(&snap.attempts)?;
            let tender = Tender::cash(*received, order.due().map_err(OrderError::from)?)?;
            order.add_tender(tender, now)?;
            None
        }
        Change::CardRequested { attempt } => {
            check_attempt(attempt, &order, snap)?;
            order.accepts_payment(&snap.attempts)?;
            let due = order.due().map_err(OrderError::from)?;
            if attempt.amount != due {
                return Err(UpdateError::AmountChanged { due });
            }
            Some(attempt.clone())
        }
        Change::Attempt(attempt) => {
            check_attempt(attempt, &order, snap)?;
            Some(attempt.clone())
        }
        Change::Settle {
            attempt,
            settlement,
        } => {
            check_attempt(attempt, &order, snap)?;
            card = settle(&mut order, attempt, settlement, now)?;
            Some(attempt.clone())
        }
        Change::Void {
            by,
            approval,
            shift,
        } => {
            if order.cash_counted_elsewhere(*shift) {
                return Err(UpdateError::ShiftCounted);
            }
            if snap
                .refunds
                .iter()
                .any(|r| r.status() != RefundStatus::Failed)
            {
                return Err(UpdateError::HasRefunds);
            }
            order.void(&snap.attempts, by.clone(), approval.clone(), now)?;
            None
        }
    };
    let changed = created || order.version != before;
    let outbox = if changed {
        Outbox::new(snap.outbox.clone()).enqueue(order.id, order.version, now)
    } else {
        Vec::new()
    };
    let next_sale = (is_current && order.status != OrderStatus::Open).then(|| Sale {
        id: req.next_sale,
        cart: Cart::new(order.currency),
    });
    Ok(Plan {
        order: changed.then(|| order.clone()),
        attempt,
        outbox,
        sale: next_sale.clone(),
        seq,
        outcome: Updated {
            order,
            created,
            changed,
            next_sale,
            card,
        },
    })
}

type OrderFor = (Order, bool, Option<(BusinessDate, u32)>);

/// The order the change applies to: the stored one, or (for the current
/// sale's first payment) a new one from the cart with the day's next number.
fn order_for(
    req: &UpdateRequest,
    snap: &Snapshot,
    is_current: bool,
    now: Timestamp,
) -> Result<OrderFor, UpdateError> {
    let for_sale = matches!(
        req.change,
        Change::Cash { .. } | Change::CardRequested { .. }
    );
    if !for_sale {
        let order = snap
            .order
            .clone()
            .ok_or(UpdateError::NoOrder(req.order_id))?;
        return Ok((order, false, None));
    }
    if !is_current {
        return Err(UpdateError::SaleFinished);
    }
    let origin = req.origin.as_ref().ok_or(UpdateError::SaleFinished)?;
    match snap.order.clone() {
        Some(mut order) => {
            if !order.holds(&origin.cart) {
                order.accepts_cart_edits(&snap.attempts)?;
                order.replace_cart(&origin.cart, now)?;
            }
            if origin.shift.is_some() {
                order.shift = origin.shift;
            }
            Ok((order, false, None))
        }
        None => {
            let seq = snap
                .last_seq
                .checked_add(1)
                .filter(|s| *s <= SEQ_MAX)
                .ok_or(UpdateError::OutOfNumbers)?;
            let number = OrderNumber::new(origin.register.clone(), origin.date, seq)?;
            let mut order = Order::from_cart(req.order_id, number, &origin.cart, now)?;
            order.cashier = origin.cashier.clone();
            order.shift = origin.shift;
            Ok((order, true, Some((origin.date, seq))))
        }
    }
}

/// An attempt belongs to its order, and a stored attempt never goes back: a
/// settled one does not return to doubt, an approval is final.
fn check_attempt(attempt: &Attempt, order: &Order, snap: &Snapshot) -> Result<(), UpdateError> {
    if attempt.order_id != order.id {
        return Err(UpdateError::WrongOrder(attempt.reference));
    }
    if attempt.refund.is_some() {
        // A refund's attempt settles its refund, never the order.
        return Err(UpdateError::WrongOrder(attempt.reference));
    }
    let stored = snap
        .attempts
        .iter()
        .find(|a| a.reference == attempt.reference);
    check_progress(attempt, stored)
}

/// A stored attempt only moves forward: a settled one never goes back in
/// doubt, an approval is final.
fn check_progress(attempt: &Attempt, stored: Option<&Attempt>) -> Result<(), UpdateError> {
    if let Some(stored) = stored {
        let settled = !stored.state.is_in_doubt() && !stored.state.is_live();
        let approved = matches!(stored.state, AttemptState::Approved { .. });
        let goes_back = settled && attempt.state.is_in_doubt();
        let unapproves = approved && !matches!(attempt.state, AttemptState::Approved { .. });
        if goes_back || unapproves {
            return Err(UpdateError::AttemptSettled(attempt.reference));
        }
    }
    Ok(())
}

fn settle(
    order: &mut Order,
    attempt: &Attempt,
    settlement: &Settlement,
    now: Timestamp,
) -> Result<Option<CardRecorded>, UpdateError> {
    match settlement {
        Settlement::Approved { amount, card } => Ok(Some(order.record_card(
            *amount,
            attempt.reference,
            card.clone(),
            now,
        )?)),
        Settlement::ClosedUnpaid => {
            // Only an open order closes; one that an approval already paid
            // stays paid (its status text shows the payment in doubt).
            if order.status == OrderStatus::Open {
                order.close_unpaid(attempt.reference, now)?;
            }
            Ok(None)
        }
        Settlement::Failed { .. } => {
            order.mark_payment_failed(attempt.reference, now);
            Ok(None)
        }
    }
}

/// A refund to write: Register Sales → the order → Refund → Confirm. Its id
/// is made when the refund screen opens, so a repeated Confirm (double tap,
/// retry after a reload) names the same refund and writes it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub id: RefundId,
    pub order_id: OrderId,
    /// This register and its business day: the refund's number.
    pub register: RegisterId,
    pub date: BusinessDate,
    pub returns: Vec<Returned>,
    /// Give back the tips of the order's card payments too.
    pub tip: bool,
    pub reason: Option<RefundReason>,
    /// Where the money goes, as the cashier chose it; `None`: as
    /// [`crate::refund::suggest_tenders`] suggests.
    pub tenders: Option<Vec<(TenderKey, Money)>>,
    /// The write-ahead record of the refund's card part, when it has one:
    /// written with the refund, in the same transaction, before the request
    /// leaves for the bridge.
    pub card: Option<Attempt>,
    /// Who gives the money back.
    pub cashier: Option<StaffRef>,
    /// A manager's approval, when a cashier refunds.
    pub approval: Option<Approval>,
    /// The register's open shift: the cash handed back counts in it.
    pub shift: Option<crate::shift::ShiftId>,
    pub at: Timestamp,
}

/// What the store holds for a refund, read inside the transaction that
/// will write it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefundSnapshot {
    pub order: Option<Order>,
    /// Every refund of the order.
    pub refunds: Vec<Refund>,
    /// The refund's own outbox entries (none for a new one).
    pub outbox: Vec<OutboxEntry>,
    /// The last sequence number handed out on the request's day.
    pub last_seq: u32,
}

/// What a refund's transaction writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPlan {
    /// The refund to write; `None` when it was written before (a repeat).
    pub write: Option<Refund>,
    pub outbox: Vec<OutboxChange>,
    pub seq: Option<(BusinessDate, u32)>,
    /// The card refund attempt to write with it.
    pub attempt: Option<Attempt>,
    /// The refund as it now stands.
    pub refund: Refund,
}

/// The parts of a refund as this register gives them: cash from the
/// drawer, and at most one card part, sent through the terminal as the
/// attempt `card` (whose amount and original payment it must match). One
/// card at a time: the popup runs one terminal operation, and a refund is
/// written before it starts.
pub fn register_tenders(
    parts: &[(TenderKey, Money)],
    card: Option<&Attempt>,
) -> Result<Vec<RefundTender>, RefundError> {
    let one = card_part(parts)?;
    if card.is_some() && one.is_none() {
        return Err(RefundError::Invalid {
            field: "tenders".into(),
            message: "a card refund attempt needs a card part".into(),
        });
    }
    parts
        .iter()
        .map(|(key, amount)| match key {
            TenderKey::Cash => Ok(RefundTender::Cash { amount: *amount }),
            TenderKey::Card(original) => {
                let a = card
                    .filter(|a| a.refund.is_some_and(|l| l.original == *original))
                    .filter(|a| a.amount == *amount)
                    .ok_or(RefundError::CardNotHere)?;
                Ok(RefundTender::Card {
                    amount: *amount,
                    reference: a.reference,
                    original: *original,
                    state: CardRefundState::Pending,
                })
            }
        })
        .collect()
}

/// Decides a refund: the returned items priced by the refund rules (after
/// the order's earlier refunds), the money back to cash and at most one
/// card (its part pending, its attempt written with it), a number in the
/// register's sequence, and its outbox entry. A refund already stored with
/// this id is answered as it is, written nothing.
pub fn plan_refund(req: &RefundRequest, snap: &RefundSnapshot) -> Result<RefundPlan, UpdateError> {
    if let Some(done) = written_before(snap, req.id) {
        return Ok(done);
    }
    let order = snap
        .order
        .as_ref()
        .ok_or(UpdateError::NoOrder(req.order_id))?;
    let parts = match &req.tenders {
        Some(parts) => parts.clone(),
        None => preview(order, &snap.refunds, &req.returns, req.tip)?
            .tenders
            .into_iter()
            .map(|(key, _, amount)| (key, amount))
            .collect(),
    };
    let tenders = register_tenders(&parts, req.card.as_ref())?;
    let who = RefundWho {
        reason: req.reason,
        cashier: req.cashier.clone(),
        approval: req.approval.clone(),
        shift: req.shift,
        at: req.at,
    };
    let (mut new, seq) = next_refund(snap, req.id, &req.register, req.date, who)?;
    new.tip = req.tip;
    let refund = Refund::create(new, order, &snap.refunds, &req.returns, tenders)?;
    Ok(new_refund_plan(
        refund,
        snap,
        (req.date, seq),
        req.card.clone(),
    ))
}

/// A refund of this id already written (a repeated Confirm), answered as
/// it is: nothing is written.
fn written_before(snap: &RefundSnapshot, id: RefundId) -> Option<RefundPlan> {
    let done = snap.refunds.iter().find(|r| r.id == id)?;
    Some(RefundPlan {
        write: None,
        outbox: Vec::new(),
        seq: None,
        attempt: None,
        refund: done.clone(),
    })
}

/// A new refund's identity: the next number in the register's sequence of
/// its day.
fn next_refund(
    snap: &RefundSnapshot,
    id: RefundId,
    register: &RegisterId,
    date: BusinessDate,
    who: RefundWho,
) -> Result<(NewRefund, u32), UpdateError> {
    let seq = snap
        .last_seq
        .checked_add(1)
        .filter(|s| *s <= SEQ_MAX)
        .ok_or(UpdateError::OutOfNumbers)?;
    let new = NewRefund {
        id,
        number: OrderNumber::new(register.clone(), date, seq)?,
        reason: who.reason,
        cashier: who.cashier,
        approval: who.approval,
        shift: who.shift,
        tip: false,
        now: who.at,
    };
    Ok((new, seq))
}

/// Why, by whom, with whose approval and when a refund is made.
struct RefundWho {
    reason: Option<RefundReason>,
    cashier: Option<StaffRef>,
    approval: Option<Approval>,
    shift: Option<crate::shift::ShiftId>,
    at: Timestamp,
}

/// Writes a new refund, its outbox entry, the day's sequence and its card
/// attempt, if any.
fn new_refund_plan(
    refund: Refund,
    snap: &RefundSnapshot,
    seq: (BusinessDate, u32),
    attempt: Option<Attempt>,
) -> RefundPlan {
    let outbox = Outbox::new(snap.outbox.clone()).enqueue_refund(
        refund.id,
        refund.version,
        refund.created_at,
    );
    RefundPlan {
        write: Some(refund.clone()),
        outbox,
        seq: Some(seq),
        attempt,
        refund,
    }
}

/// A return without a receipt to write (Register Sales → Return without
/// receipt → Confirm). Its id is made when the screen opens: a repeated
/// Confirm names the same return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRequest {
    pub id: RefundId,
    pub register: RegisterId,
    pub date: BusinessDate,
    /// The items brought back, at today's prices.
    pub cart: Cart,
    pub reason: Option<RefundReason>,
    pub cashier: Option<StaffRef>,
    pub approval: Option<Approval>,
    pub shift: Option<crate::shift::ShiftId>,
    pub at: Timestamp,
}

/// Decides a return without a receipt: its items priced by the sale's
/// rules, all in cash, a number in the register's sequence, its outbox
/// entry. `snap.refunds` holds the return if it was written before (then it
/// is answered as it is); `snap.order` is not read.
pub fn plan_return(req: &ReturnRequest, snap: &RefundSnapshot) -> Result<RefundPlan, UpdateError> {
    if let Some(done) = written_before(snap, req.id) {
        return Ok(done);
    }
    let who = RefundWho {
        reason: req.reason,
        cashier: req.cashier.clone(),
        approval: req.approval.clone(),
        shift: req.shift,
        at: req.at,
    };
    let (new, seq) = next_refund(snap, req.id, &req.register, req.date, who)?;
    let refund = Refund::without_receipt(new, &req.cart)?;
    Ok(new_refund_plan(refund, snap, (req.date, seq), None))
}

/// What is owed on a refund after a failed card part, sent to the card
/// again: the write-ahead of the new attempt adds a card part, pending, for
/// it ([`Refund::give_owed`]: never beyond what is owed, nor beyond what the
/// card has left). `snap` holds the order, its refunds (this one among
/// them) and this refund's outbox entries.
pub fn plan_give_owed(attempt: &Attempt, snap: &RefundSnapshot) -> Result<RefundPlan, UpdateError> {
    let link = attempt
        .refund
        .ok_or(UpdateError::NotARefund(attempt.reference))?;
    let order = snap
        .order
        .as_ref()
        .ok_or(UpdateError::NoOrder(attempt.order_id))?;
    let mut refund = snap
        .refunds
        .iter()
        .find(|r| r.id == link.refund_id)
        .cloned()
        .ok_or(UpdateError::NoRefund(link.refund_id))?;
    if refund.order_id != Some(order.id) {
        return Err(UpdateError::WrongOrder(attempt.reference));
    }
    let part = RefundTender::Card {
        amount: attempt.amount,
        reference: attempt.reference,
        original: link.original,
        state: CardRefundState::Pending,
    };
    refund.give_owed(part, order, &snap.refunds, attempt.updated_at)?;
    let outbox = Outbox::new(snap.outbox.clone()).enqueue_refund(
        refund.id,
        refund.version,
        attempt.updated_at,
    );
    Ok(RefundPlan {
        write: Some(refund.clone()),
        outbox,
        seq: None,
        attempt: Some(attempt.clone()),
        refund,
    })
}

/// What the store holds for a card refund attempt's write, read inside the
/// transaction that will write it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardRefundSnapshot {
    pub refund: Option<Refund>,
    /// The attempt as stored.
    pub attempt: Option<Attempt>,
    /// The refund's outbox entries.
    pub outbox: Vec<OutboxEntry>,
}

/// A card refund attempt's new state, and what it means for its refund: an
/// approval marks the card part approved, an authoritative "not done"
/// (declined, cancelled, never received) marks it failed (what it should
/// have given is then owed, or, when nothing else went back, the refund
/// failed as a whole and its items can be refunded again). A state still in
/// doubt leaves the part pending: counted as given back.
pub fn plan_card_refund(
    attempt: &Attempt,
    snap: &CardRefundSnapshot,
) -> Result<RefundPlan, UpdateError> {
    let link = attempt
        .refund
        .ok_or(UpdateError::NotARefund(attempt.reference))?;
    let mut refund = snap
        .refund
        .clone()
        .ok_or(UpdateError::NoRefund(link.refund_id))?;
    if refund.id != link.refund_id || refund.order_id != Some(attempt.order_id) {
        return Err(UpdateError::WrongOrder(attempt.reference));
    }
    check_progress(attempt, snap.attempt.as_ref())?;
    let settled = match attempt.state {
        AttemptState::Approved { .. } => Some(true),
        AttemptState::Declined { .. } | AttemptState::Cancelled | AttemptState::Failed { .. } => {
            Some(false)
        }
        _ => None,
    };
    let changed =
        settled.is_some_and(|ok| refund.settle_card(attempt.reference, ok, attempt.updated_at));
    let outbox = if changed {
        Outbox::new(snap.outbox.clone()).enqueue_refund(
            refund.id,
            refund.version,
            attempt.updated_at,
        )
    } else {
        Vec::new()
    };
    Ok(RefundPlan {
        write: changed.then(|| refund.clone()),
        outbox,
        seq: None,
        attempt: Some(attempt.clone()),
        refund,
    })
}
