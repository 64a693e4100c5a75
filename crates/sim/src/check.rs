//! The promises, checked: after every step where they must always hold, and
//! once more after the faults stopped and everything settled.
//!
//! (a) every committed sale reaches the back office exactly once, at its
//!     latest version, and nothing else does;
//! (b) no reference is charged twice, and no order is charged beyond its
//!     total (and the tips its customers added on the terminal, recorded
//!     as added) unless it shows "refund due" for the difference;
//! (c) after the faults stop and reconciliation runs, every terminal
//!     approval is recorded on its order;
//! (d) no order with a payment in doubt is ever voided, and no charged
//!     payment is ever shown as failed, declined or "collect again";
//! (e) order numbers are unique per register and day;
//! (f) the current sale is never changed by another order's events;
//! (g) no order is ever refunded beyond what it was paid, per tender and
//!     per line, and every refund reaches the back office exactly once,
//!     at its latest version (never refunded twice);
//! (h) every refund the terminal made is recorded once, approved, on the
//!     card part of its refund, for its amount; no card part is recorded as
//!     given back that the terminal did not give back; and the terminal
//!     never gives a payment back beyond what it charged;
//! (i) a parked cart is a sale of its own: no order has its id (nothing
//!     of it was paid), no two parked carts share one, and none is the
//!     current sale;
//! (j) every order, void and refund names who did it, someone on the
//!     store's staff list: nobody sells, voids or refunds signed out;
//! (k) a void or a refund by a cashier carries a manager's approval of it,
//!     and so does every order that charged another price than the
//!     catalog's;
//! (l) at most one shift is open; every order that took money and every
//!     refund names a shift of the register; every shift adds up (expected
//!     = float + cash sales − cash refunds + paid in − paid out, over/short
//!     = counted − expected) and reaches the back office at its latest
//!     version;
//! (m) the screen never runs ahead of storage: whatever the card popup
//!     (or the refund popup) has shown for an attempt, its state and the
//!     re-syncs it shows as used, is committed, so a crash at any moment
//!     recovers to at least what the cashier saw; a popup that closed on
//!     an attempt stored as live means the attempt's end is committed;
//! (n) the terminal is asked to start each reference at most once, and
//!     every payment it refused as busy reached the cashier as "not
//!     started", nothing charged;
//! (o) the bridge's report and the terminal vendor's notification of one
//!     operation tell the back office the same (it never parks a conflict);
//! (p) a PIN lock-out lasts its whole length in true time: nobody it locked
//!     signs in before it ends, whatever the tablet's clock does (moved
//!     forward or back, or a reload), unless a crash lost it before it was
//!     stored;
//! (q) the back office's exceptions report finds nothing in an honest
//!     register's days: everyone it names is on the staff list, every
//!     approval is a manager's, and every closed shift's Z report gives the
//!     cash the records naming the shift give.

use crate::world::World;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use till_core::money::Money;
use till_core::order::{Order, OrderId, OrderStatus, Tender, UnpaidReason};
use till_core::payment::{AttemptState, PaymentRef};
use till_core::refund::{refundable, CardRefundState, Refund, RefundTender};
use till_core::register::{StoreFailure, StoreTx, Stored};
use till_core::time::Timestamp;
use till_core::update::Sale;
use till_oms::store::Store;

/// A broken promise, with the seed that replays it and the last events.
#[derive(Debug, Clone)]
pub struct Violation {
    pub seed: u64,
    pub invariant: &'static str,
    pub detail: String,
    pub trace: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {}: invariant {} broken: {}",
            self.seed, self.invariant, self.detail
        )?;
        writeln!(f, "replay: cargo xtask sim --seed {}", self.seed)?;
        writeln!(f, "last events:")?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}

fn broken(w: &World, invariant: &'static str, detail: String) -> Violation {
    Violation {
        seed: w.seed,
        invariant,
        detail,
        trace: w.trace.iter().cloned().collect(),
    }
}

/// The run went on without end: something re-arms itself without progress.
pub fn livelock(w: &World) -> Violation {
    let detail = format!(
        "more than {} events without settling",
        crate::world::EVENTS_MAX
    );
    broken(w, "progress", detail)
}

/// Checks made as each storage transaction commits: (e) and (f).
pub fn after_transaction(
    w: &mut World,
    tx: &StoreTx,
    sale_before: Option<&Sale>,
    result: &Result<Stored, StoreFailure>,
) {
    if let (StoreTx::Refund(_) | StoreTx::CardRefund(_), Ok(Stored::Refunded(r))) = (tx, result) {
        return refund_checks(w, r);
    }
    let (StoreTx::Update(req), Ok(Stored::Updated(u))) = (tx, result) else {
        return;
    };
    let sale_after = w.store.sale.as_ref();
    if sale_after != sale_before && sale_before.is_some_and(|s| s.id != req.order_id) {
        let detail = format!(
            "a change to order {} replaced the current sale {:?}",
            req.order_id,
            sale_before.map(|s| s.id)
        );
        w.found
            .get_or_insert(broken(w, "(f) the current sale is its own", detail));
    }
    if u.created {
        let same = numbered(w, &u.order.number);
        if same > 1 {
            let detail = format!("number {} is used {same} times", u.order.number);
            w.found
                .get_or_insert(broken(w, "(e) unique order numbers", detail));
        }
    }
}

/// How many orders and refunds of the register carry `number` (they share
/// the register's sequence).
fn numbered(w: &World, number: &till_core::order::OrderNumber) -> usize {
    let orders = w.store.orders.values().filter(|o| o.number == *number);
    let refunds = w.store.refunds.values().filter(|r| r.number == *number);
    orders.count() + refunds.count()
}

/// (e) and (g) as a refund commits.
fn refund_checks(w: &mut World, r: &Refund) {
    if numbered(w, &r.number) > 1 {
        let detail = format!("number {} is used by a refund and another record", r.number);
        w.found
            .get_or_insert(broken(w, "(e) unique order numbers", detail));
    }
    let Some(order_id) = r.order_id else {
        return; // A return without a receipt: no order to go beyond.
    };
    let refunds = w.store.refunds_of(order_id);
    if let Some(detail) = beyond_paid(&w.store.orders[&order_id], &refunds) {
        w.found
            .get_or_insert(broken(w, "(g) never refunded beyond paid", detail));
    }
}

/// Why `refunds` take back more than `order` sold or was paid, if they do.
fn beyond_paid(order: &Order, refunds: &[Refund]) -> Option<String> {
    let left = match refundable(order, refunds) {
        Ok(l) => l,
        Err(e) => return Some(format!("order {}: {e}", order.number)),
    };
    let tender = left
        .tenders
        .iter()
        .find(|t| t.refunded.minor() > t.paid.minor());
    let line = left.lines.iter().position(|l| l.refunded > l.sold);
    match (tender, line) {
        (Some(t), _) => Some(format!(
            "order {}: {} paid {}, refunds took back {}",
            order.number, t.label, t.paid, t.refunded
        )),
        (_, Some(i)) => Some(format!(
            "order {}: line {i} refunded beyond what was sold",
            order.number
        )),
        _ => None,
    }
}

/// How far along an attempt is, as a cashier reads the popup: a crash
/// must never bring a lower step back than one shown.
fn progress(state: &AttemptState) -> u8 {
    match state {
        // Never stored: nothing has been sent.
        AttemptState::Connecting => 0,
        AttemptState::Requested => 1,
        AttemptState::Processing | AttemptState::Cancelling => 2,
        AttemptState::ResultUnknown => 3,
        AttemptState::ClosedUnpaid => 4,
        AttemptState::Approved { .. }
        | AttemptState::Declined { .. }
        | AttemptState::Cancelled
        | AttemptState::Failed { .. } => 5,
    }
}

/// What the popup has shown of one attempt, at most.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shown {
    progress: u8,
    resyncs_used: u8,
}

/// Records what the screen shows now (called after every input the
/// register handles): the popup's attempt, and the end of an attempt whose
/// popup closed.
pub fn observe_screen(w: &mut World) {
    let view = w.reg.popup(w.reg_now());
    let showing = view.as_ref().map(|v| v.reference);
    if let Some(gone) = w.on_screen.filter(|r| Some(*r) != showing) {
        // The popup closed: the cashier reads the attempt as over (paid,
        // declined, cancelled, or closed unpaid).
        if let Some(s) = w.shown.get_mut(&gone).filter(|s| s.progress >= 1) {
            s.progress = s.progress.max(progress(&AttemptState::ClosedUnpaid));
        }
    }
    w.on_screen = showing;
    let Some(v) = view else {
        return;
    };
    let used = v.resyncs_left.map_or(0, |left| {
        till_core::payment::RESYNCS_MAX.saturating_sub(left)
    });
    let s = w.shown.entry(v.reference).or_default();
    s.progress = s.progress.max(progress(&v.state));
    s.resyncs_used = s.resyncs_used.max(used);
}

/// (m) what the screen showed is in storage.
fn shown_is_stored(w: &World) -> Result<(), Violation> {
    for (r, shown) in &w.shown {
        if shown.progress == 0 {
            continue;
        }
        let stored = w.store.attempts.get(r);
        let behind = match stored {
            None => true,
            Some(a) => progress(&a.state) < shown.progress || a.resyncs_used < shown.resyncs_used,
        };
        if behind {
            let detail = format!(
                "the popup showed attempt {r} at step {} with {} re-sync(s) used; storage holds {:?}",
                shown.progress,
                shown.resyncs_used,
                stored.map(|a| (a.state.label(), a.resyncs_used))
            );
            return Err(broken(
                w,
                "(m) the screen never runs ahead of storage",
                detail,
            ));
        }
    }
    Ok(())
}

/// Checks after every event: what must never happen, even for a moment.
pub fn step_checks(w: &mut World) -> Result<(), Violation> {
    if let Some(v) = w.found.take() {
        return Err(v);
    }
    shown_is_stored(w)?;
    for o in w.store.orders.values() {
        if o.status != OrderStatus::Voided {
            continue;
        }
        let in_doubt = w
            .store
            .attempts
            .values()
            .any(|a| a.order_id == o.id && a.state.is_in_doubt());
        if in_doubt {
            let detail = format!("order {} was voided with a card payment in doubt", o.number);
            return Err(broken(w, "(d) no void while in doubt", detail));
        }
    }
    if w.report.events.is_multiple_of(64) {
        charged_never_failed(w)?;
    }
    Ok(())
}

/// When `person`'s lock-out ends by the register's clock, if one is in
/// force by it.
pub fn lock_of(w: &World, person: &till_core::staff::StaffId) -> Option<Timestamp> {
    let until = w.reg.desk().record().locks.get(person)?.poll_timeout()?;
    (until > w.reg_now()).then_some(until)
}

/// (p) after a sign-in try: a lock-out that began with it is noted with its
/// end in true time; signing in before a noted end is a violation.
pub fn pin_locks(w: &mut World, person: &till_core::staff::StaffId, before: Option<Timestamp>) {
    if w.reg.cashier().is_some_and(|c| &c.id == person) {
        if let Some(end) = w.lock_ends.remove(person) {
            if w.now < end {
                let early = end.saturating_since(w.now).as_millis();
                let detail = format!("{person} signed in {early} ms before their lock-out ended");
                w.found
                    .get_or_insert(broken(w, "(p) a lock-out lasts its length", detail));
            }
        }
        return;
    }
    if let (None, Some(until)) = (before, lock_of(w, person)) {
        let lasts = until.saturating_since(w.reg_now());
        w.lock_ends.insert(person.clone(), w.now + lasts);
        w.note(|| format!("{person} is locked out for {} ms", lasts.as_millis()));
    }
}

/// (p) after a reload: a lock-out the crash lost before it was stored is
/// gone (nothing on the tablet knew it); the others still hold.
pub fn locks_after_reload(w: &mut World) {
    let known: Vec<_> = w.reg.desk().record().locks.keys().cloned().collect();
    w.lock_ends.retain(|p, _| known.contains(p));
}

/// One operation the terminal made on a card, as the checks read it.
#[derive(Debug, Clone)]
pub struct Charge {
    pub reference: PaymentRef,
    /// What the card was charged (a tip included) or given back.
    pub amount: Money,
    /// The tip within `amount`.
    pub tip_minor: Option<i64>,
    /// A refund: the payment it went back to.
    pub refund_of: Option<PaymentRef>,
}

/// Every operation the terminal made on a card (its own memory).
pub fn charges(w: &World) -> Vec<Charge> {
    let parse = |r: &str| {
        r.parse::<PaymentRef>()
            .expect("the terminal keeps Till's references")
    };
    w.bridge
        .device
        .charges()
        .expect("the terminal's memory")
        .into_iter()
        .map(|c| Charge {
            reference: parse(&c.reference),
            amount: c.amount,
            tip_minor: c.tip_minor,
            refund_of: c.refund_of.as_deref().map(parse),
        })
        .collect()
}

/// (d): a payment the terminal charged is never called declined,
/// cancelled, failed or "collect again".
fn charged_never_failed(w: &World) -> Result<(), Violation> {
    for charge in charges(w) {
        let r = charge.reference;
        if let Some(a) = w.store.attempts.get(&r) {
            let wrong = matches!(
                a.state,
                AttemptState::Declined { .. }
                    | AttemptState::Cancelled
                    | AttemptState::Failed { .. }
            );
            if wrong {
                let detail = format!("charged payment {r} is stored as {}", a.state.label());
                return Err(broken(w, "(d) never failed while charged", detail));
            }
        }
        let failed_order = w.store.orders.values().any(|o| {
            matches!(o.status, OrderStatus::Unpaid { reference, reason: UnpaidReason::PaymentFailed } if reference == r)
        });
        if failed_order {
            let detail =
                format!("the order of charged payment {r} says payment failed, collect again");
            return Err(broken(w, "(d) never failed while charged", detail));
        }
    }
    Ok(())
}

/// Whether everything has settled after the faults stopped: nothing in
/// flight, nothing unsynced, every report delivered, every charge recorded.
pub fn settled(w: &World) -> bool {
    if w.now.as_millis() % 60_000 > 5_000 || !w.reg.is_loaded() {
        return false; // Checked about once a simulated minute.
    }
    let busy = w.events.values().any(|e| {
        !matches!(
            e,
            crate::world::Ev::Cashier | crate::world::Ev::Reporter | crate::world::Ev::Tick { .. }
        )
    });
    // The storage is the truth; the register's own count may be stale.
    let unsynced = !w.store.outbox.is_empty();
    if busy || w.store_pending() > 0 || unsynced || w.reg.popup(w.reg_now()).is_some() {
        return false;
    }
    if w.bridge.journal.pending_reports().unwrap_or(1) > 0 {
        return false;
    }
    unrecorded_charges(w).is_empty()
}

/// Charged references not (yet) recorded on their order in the register,
/// and refunds the terminal made not (yet) recorded approved on their refund.
fn unrecorded_charges(w: &World) -> Vec<PaymentRef> {
    let charges = charges(w);
    let refunds = charges
        .iter()
        .filter(|c| c.refund_of.is_some())
        .filter(|c| card_part(w, c.reference).is_none_or(|(_, s)| s != CardRefundState::Approved))
        .map(|c| c.reference);
    let payments: Vec<PaymentRef> = charges
        .iter()
        .filter(|c| c.refund_of.is_none())
        .map(|c| c.reference)
        .filter(|r| {
            let order = w.bridge.orders.get(r).and_then(|id| w.store.orders.get(id));
            !order.is_some_and(|o| records(o, r))
        })
        .collect();
    payments.into_iter().chain(refunds).collect()
}

/// The card part of a stored refund with this reference: its amount and state.
fn card_part(w: &World, r: PaymentRef) -> Option<(Money, CardRefundState)> {
    w.store.refunds.values().find_map(|refund| {
        refund.tenders.iter().find_map(|t| match t {
            RefundTender::Card {
                amount,
                reference,
                state,
                ..
            } if *reference == r => Some((*amount, *state)),
            _ => None,
        })
    })
}

/// (h) the terminal's refunds and the register's card parts agree, and no
/// payment was given back beyond what it charged.
fn card_refunds_agree(w: &World) -> Result<(), Violation> {
    let fail = |detail| Err(broken(w, "(h) card refunds recorded once", detail));
    let charges = charges(w);
    let mut back: BTreeMap<PaymentRef, i64> = BTreeMap::new();
    for c in charges.iter().filter(|c| c.refund_of.is_some()) {
        match card_part(w, c.reference) {
            Some((amount, CardRefundState::Approved)) if amount == c.amount => {}
            other => {
                return fail(format!(
                    "the terminal refunded {} as {}; the register holds {other:?}",
                    c.amount, c.reference
                ))
            }
        }
        *back.entry(c.refund_of.expect("a refund")).or_default() += c.amount.minor();
    }
    for refund in w.store.refunds.values() {
        for t in &refund.tenders {
            if let RefundTender::Card {
                reference,
                state: CardRefundState::Approved,
                ..
            } = t
            {
                if !charges.iter().any(|c| c.reference == *reference) {
                    return fail(format!(
                        "refund {} records card part {reference} approved; the terminal never made it",
                        refund.number
                    ));
                }
            }
        }
    }
    for (original, minor) in back {
        let charged = charges
            .iter()
            .find(|c| c.reference == original && c.refund_of.is_none())
            .map_or(0, |c| c.amount.minor());
        if minor > charged {
            return fail(format!(
                "payment {original} charged {charged} and was given back {minor}"
            ));
        }
    }
    Ok(())
}

fn records(o: &Order, r: &PaymentRef) -> bool {
    let tender = o
        .tenders
        .iter()
        .any(|t| matches!(t, Tender::Card { reference, .. } if reference == r));
    tender || o.refund_due.iter().any(|x| x.reference == *r)
}

/// The checks once everything settled.
pub fn final_checks(w: &World) -> Result<(), Violation> {
    reached_the_back_office(w)?;
    refunds_reached_the_back_office_once(w)?;
    returns_reached_the_back_office(w)?;
    charges_are_recorded_once(w)?;
    card_refunds_agree(w)?;
    parked_carts_are_their_own(w)?;
    everything_says_who(w)?;
    cashiers_had_a_manager(w)?;
    shifts_add_up(w)?;
    charged_never_failed(w)?;
    terminal_saw_each_once_and_busy_surfaced(w)?;
    reports_agree(w)?;
    honest_days_raise_no_exceptions(w)?;
    numbers_are_unique(w)
}

/// (q) every day the register sold, refunded or opened a shift on.
fn honest_days_raise_no_exceptions(w: &World) -> Result<(), Violation> {
    let register = crate::world::register_config(w.seed).register;
    let opened = w
        .store
        .shifts
        .values()
        .filter_map(|s| till_core::order::BusinessDate::at(s.opened_at, 0).ok());
    let dates: BTreeSet<_> = w
        .store
        .orders
        .values()
        .map(|o| o.number.date())
        .chain(w.store.refunds.values().map(|r| r.number.date()))
        .chain(opened)
        .collect();
    for date in dates {
        let found = till_oms::exceptions::exceptions_of_day(
            &w.oms.store,
            &till_oms::stores::Stores::default(),
            std::slice::from_ref(&register),
            date,
        );
        let detail = match found {
            Ok((_, found)) if found.is_empty() => continue,
            Ok((_, found)) => format!("{date}: {:?}", found[0]),
            Err(e) => format!("{date}: the report failed: {e}"),
        };
        return Err(broken(
            w,
            "(q) an honest register raises no exceptions",
            detail,
        ));
    }
    Ok(())
}

/// (o) the bridge's report and the terminal vendor's notification of one
/// operation tell the back office the same: amount, tip, card, time.
fn reports_agree(w: &World) -> Result<(), Violation> {
    match w.bridge.report_conflicts.first() {
        Some(detail) => Err(broken(w, "(o) one operation, one report", detail.clone())),
        None => Ok(()),
    }
}

/// (n) the terminal's side.
fn terminal_saw_each_once_and_busy_surfaced(w: &World) -> Result<(), Violation> {
    for r in w.bridge.orders.keys() {
        let n = w.bridge.device.operations_of(&r.to_string());
        if n > 1 {
            let detail = format!("reference {r} reached the terminal {n} times");
            return Err(broken(
                w,
                "(n) one operation per reference at the terminal",
                detail,
            ));
        }
        let busy = matches!(
            w.bridge.journal.operation(r),
            Ok(Some(op)) if op.final_state() == Some(&till_bridge::driver::Final::NotStarted {
                reason: till_bridge::driver::BUSY_REASON.into()
            })
        );
        let surfaced = matches!(
            w.store.attempts.get(r).map(|a| &a.state),
            Some(AttemptState::Failed { reason }) if reason == till_bridge::driver::BUSY_REASON
        );
        if busy && !surfaced {
            let detail = format!(
                "payment {r} was refused as busy; the register holds {:?}",
                w.store.attempts.get(r).map(|a| a.state.label())
            );
            return Err(broken(w, "(n) every busy terminal surfaced", detail));
        }
    }
    Ok(())
}

/// (a) every committed sale reaches the back office exactly once, at its
/// latest version; the back office holds nothing the register does not.
fn reached_the_back_office(w: &World) -> Result<(), Violation> {
    if !w.store.outbox.is_empty() || w.store_pending() > 0 {
        let parked: Vec<String> = w
            .store
            .outbox
            .values()
            .filter_map(|e| match &e.state {
                till_core::outbox::EntryState::Parked { status, reason, .. } => Some(format!(
                    "{:?} {} v{}: {status} {reason}",
                    e.kind, e.record_id, e.version
                )),
                _ => None,
            })
            .collect();
        let waiting: Vec<String> = w
            .store
            .outbox
            .values()
            .take(3)
            .map(|e| {
                format!(
                    "{:?} {} v{} due {} after {} tries",
                    e.kind,
                    e.record_id,
                    e.version,
                    e.next_attempt_at.as_millis(),
                    e.attempts
                )
            })
            .collect();
        let detail = format!(
            "{} records still unsynced ({} parked: {parked:?}; first: {waiting:?}) three hours after the faults stopped",
            w.store.outbox.len(),
            parked.len()
        );
        return Err(broken(w, "(a) every sale reaches the back office", detail));
    }
    for o in w.store.orders.values() {
        let held = w
            .oms
            .store
            .order(&o.id)
            .map_err(|e| broken(w, "(a) every sale reaches the back office", e.to_string()))?;
        match held.order {
            Some(h) if h == *o => {}
            Some(h) => {
                let detail = format!(
                    "order {} is v{} on the register, v{} in the back office",
                    o.number, o.version, h.version
                );
                return Err(broken(w, "(a) every sale reaches the back office", detail));
            }
            None => {
                let detail = format!("order {} never reached the back office", o.number);
                return Err(broken(w, "(a) every sale reaches the back office", detail));
            }
        }
    }
    Ok(())
}

/// (g) every refund is in the back office once, as the register holds it,
/// and no order there is refunded beyond what it was paid.
fn refunds_reached_the_back_office_once(w: &World) -> Result<(), Violation> {
    let fail = |detail| Err(broken(w, "(g) never refunded twice", detail));
    for o in w.store.orders.values() {
        let held = w
            .oms
            .store
            .order(&o.id)
            .map_err(|e| broken(w, "(g) never refunded twice", e.to_string()))?;
        let mut ours = w.store.refunds_of(o.id);
        let mut theirs = held.refunds;
        ours.sort_by_key(|r| r.id);
        theirs.sort_by_key(|r| r.id);
        if ours != theirs {
            return fail(format!(
                "order {}: the register holds refunds {:?}, the back office {:?}",
                o.number,
                ours.iter()
                    .map(|r| (r.number.to_string(), r.version))
                    .collect::<Vec<_>>(),
                theirs
                    .iter()
                    .map(|r| (r.number.to_string(), r.version))
                    .collect::<Vec<_>>()
            ));
        }
        if let Some(detail) = beyond_paid(o, &theirs) {
            return Err(broken(w, "(g) never refunded beyond paid", detail));
        }
    }
    Ok(())
}

/// (g) for returns without a receipt: each is in the back office, as the
/// register holds it, and gave back what its items cost, in cash.
fn returns_reached_the_back_office(w: &World) -> Result<(), Violation> {
    for r in w.store.refunds.values().filter(|r| r.order_id.is_none()) {
        let held = w
            .oms
            .store
            .refund(&r.id)
            .map_err(|e| broken(w, "(g) never refunded twice", e.to_string()))?;
        if held.as_ref() != Some(r) {
            let detail = format!(
                "return {} is v{} on the register, {:?} in the back office",
                r.number,
                r.version,
                held.map(|h| h.version)
            );
            return Err(broken(w, "(g) never refunded twice", detail));
        }
        if let Err(e) = r.validate_without_receipt() {
            let detail = format!("return {}: {e}", r.number);
            return Err(broken(w, "(g) never refunded beyond paid", detail));
        }
    }
    Ok(())
}

/// (b) and (c): one charge per reference, every charge recorded on its
/// order, and an order never charged beyond its total unless the excess
/// shows as a refund due.
fn charges_are_recorded_once(w: &World) -> Result<(), Violation> {
    let charges = charges(w);
    let mut seen = BTreeSet::new();
    let mut per_order: BTreeMap<OrderId, i64> = BTreeMap::new();
    for c in &charges {
        if !seen.insert(c.reference) {
            return Err(broken(
                w,
                "(b) one charge per reference",
                format!("{} charged twice", c.reference),
            ));
        }
        if c.refund_of.is_some() {
            continue; // (h) checks refunds.
        }
        let order = w.bridge.orders[&c.reference];
        *per_order.entry(order).or_default() += c.amount.minor();
    }
    if let Some(r) = unrecorded_charges(w).first() {
        let detail = format!("payment {r} was charged and is not recorded on its order");
        return Err(broken(w, "(c) every approval is recorded", detail));
    }
    tips_are_the_terminals(w, &charges)?;
    for (id, charged) in per_order {
        let o = &w.store.orders[&id];
        let (mut card, mut with_tips) = (0, 0);
        for t in &o.tenders {
            if let Tender::Card {
                amount, card: c, ..
            } = t
            {
                card += amount.minor();
                with_tips += c.charged(*amount).map_or(i64::MAX, |m| m.minor());
            }
        }
        let refund = o.refund_due_total().map(|m: Money| m.minor()).unwrap_or(0);
        if charged != with_tips + refund || card > o.totals.total.minor() {
            let detail = format!(
                "order {} (total {}) was charged {charged} by card; it records {card} as tenders and {refund} as refund due",
                o.number, o.totals.total
            );
            return Err(broken(w, "(b) no order charged beyond its total", detail));
        }
    }
    Ok(())
}

/// (b) a tip recorded on an order is the one the customer added on the
/// terminal, to the cent, and never part of the sale.
fn tips_are_the_terminals(w: &World, charges: &[Charge]) -> Result<(), Violation> {
    for o in w.store.orders.values() {
        let cards = o.tenders.iter().filter_map(|t| match t {
            Tender::Card {
                reference, card, ..
            } => Some((*reference, card.tip)),
            Tender::Cash { .. } => None,
        });
        let due = o.refund_due.iter().map(|r| (r.reference, r.card.tip));
        for (reference, tip) in cards.chain(due) {
            let Some(c) = charges.iter().find(|c| c.reference == reference) else {
                continue; // (c) and (d) say what an approval without a charge means.
            };
            if tip.map(|t| t.minor()) != c.tip_minor {
                let detail = format!(
                    "order {} records a tip of {tip:?} for {reference}; the customer added {:?}",
                    o.number, c.tip_minor
                );
                return Err(broken(w, "(b) tips are the customer's", detail));
            }
        }
    }
    Ok(())
}

/// (i) what is parked waits, untouched by the sales made meanwhile.
fn parked_carts_are_their_own(w: &World) -> Result<(), Violation> {
    let mut seen = BTreeSet::new();
    let current = w.store.sale.as_ref().map(|s| s.id);
    for p in &w.store.parked {
        let shared = !seen.insert(p.id) || Some(p.id) == current;
        if shared || w.store.orders.contains_key(&p.id) {
            let detail = format!(
                "parked cart {} ({}) is not a sale of its own",
                p.label, p.id
            );
            return Err(broken(w, "(i) parked carts wait untouched", detail));
        }
    }
    Ok(())
}

/// (j) every record names someone on the staff list.
fn everything_says_who(w: &World) -> Result<(), Violation> {
    let staff = till_core::testing::staff();
    let known = |who: Option<&till_core::staff::StaffRef>| {
        who.is_some_and(|p| staff.iter().any(|m| m.id == p.id && m.name == p.name))
    };
    let orders = w.store.orders.values().filter_map(|o| {
        let voided = o.status == OrderStatus::Voided;
        let ok = known(o.cashier.as_ref()) && (!voided || known(o.voided_by.as_ref()));
        (!ok).then(|| {
            format!(
                "order {} ({:?}, voided by {:?})",
                o.number, o.cashier, o.voided_by
            )
        })
    });
    let refunds = w
        .store
        .refunds
        .values()
        .filter(|r| !known(r.cashier.as_ref()))
        .map(|r| format!("refund {} ({:?})", r.number, r.cashier));
    match orders.chain(refunds).next() {
        Some(detail) => Err(broken(w, "(j) every record says who", detail)),
        None => Ok(()),
    }
}

/// (k) what a cashier may not do alone was approved by a manager.
fn cashiers_had_a_manager(w: &World) -> Result<(), Violation> {
    use till_core::staff::{Guarded, Role, StaffRef};
    let staff = till_core::testing::staff();
    let role = |p: &StaffRef| staff.iter().find(|m| m.id == p.id).map(|m| m.role);
    let approved = |a: &till_core::staff::Approval, what: &[Guarded]| {
        role(&a.by) == Some(Role::Manager) && what.contains(&a.what)
    };
    let voids = w.store.orders.values().filter(|o| {
        o.voided_by.as_ref().and_then(role) == Some(Role::Cashier)
            && !o.approvals.iter().any(|a| approved(a, &[Guarded::Void]))
    });
    let refunds = w.store.refunds.values().filter(|r| {
        let kinds = [Guarded::Refund, Guarded::ReturnWithoutReceipt];
        r.cashier.as_ref().and_then(role) == Some(Role::Cashier)
            && !r.approved_by.as_ref().is_some_and(|a| approved(a, &kinds))
    });
    let overrides = w.store.orders.values().filter(|o| {
        o.lines.iter().any(|l| l.list_price.is_some())
            && !o
                .approvals
                .iter()
                .any(|a| approved(a, &[Guarded::PriceOverride]))
    });
    let first = voids
        .chain(overrides)
        .map(|o| {
            let overridden = o.lines.iter().filter(|l| l.list_price.is_some()).count();
            format!(
                "order {} voided by {:?}, {overridden} prices overridden, approvals {:?}",
                o.number, o.voided_by, o.approvals
            )
        })
        .chain(refunds.map(|r| {
            format!(
                "refund {} by {:?} approved by {:?}",
                r.number, r.cashier, r.approved_by
            )
        }))
        .next();
    match first {
        Some(detail) => Err(broken(
            w,
            "(k) a cashier's void, refund or price override had a manager",
            detail,
        )),
        None => Ok(()),
    }
}

/// (l) the drawer's shifts.
fn shifts_add_up(w: &World) -> Result<(), Violation> {
    let fail = |detail| {
        Err(broken(
            w,
            "(l) every shift adds up and reaches the back office",
            detail,
        ))
    };
    let open = w.store.shifts.values().filter(|s| s.is_open()).count();
    if open > 1 {
        return fail(format!("{open} shifts are open at once"));
    }
    let known = |id: &Option<till_core::shift::ShiftId>| {
        id.is_some_and(|id| w.store.shifts.contains_key(&id))
    };
    let orders = w
        .store
        .orders
        .values()
        .filter(|o| !o.tenders.is_empty() && !known(&o.shift));
    let refunds = w.store.refunds.values().filter(|r| !known(&r.shift));
    let outside = orders
        .map(|o| format!("order {} took money in no shift ({:?})", o.number, o.shift))
        .chain(refunds.map(|r| {
            format!(
                "refund {} gave money back in no shift ({:?})",
                r.number, r.shift
            )
        }))
        .next();
    if let Some(detail) = outside {
        return fail(detail);
    }
    for s in w.store.shifts.values() {
        if let Err(e) = s.validate() {
            return fail(format!("shift {} does not add up: {e}", s.id));
        }
        match w.oms.store.shift(&s.id) {
            Ok(Some(held)) if held == *s => {}
            other => {
                let held = other.map(|h| h.map(|h| h.version));
                return fail(format!(
                    "shift {} is v{} on the register, {held:?} in the back office",
                    s.id, s.version
                ));
            }
        }
    }
    Ok(())
}

/// (e) in the register and in the back office.
fn numbers_are_unique(w: &World) -> Result<(), Violation> {
    let mut seen = BTreeSet::new();
    let numbers = w.store.orders.values().map(|o| &o.number);
    for number in numbers.chain(w.store.refunds.values().map(|r| &r.number)) {
        if !seen.insert(number.clone()) {
            return Err(broken(
                w,
                "(e) unique order numbers",
                format!("{number} is used twice"),
            ));
        }
    }
    Ok(())
}
