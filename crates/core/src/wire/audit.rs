//! What the back office checks of a record a register sent, against the
//! staff list as it stood at the record's time: whoever did it was on the
//! staff and active; an approval names an active manager; an action a
//! cashier may not do alone
//! carries a manager's approval. A record that fails is still stored (an
//! offline register's records must land): it is listed as an exception.
//!
//! Discounts and paid outs are guarded by thresholds the register's
//! Settings hold ([`crate::staff::Policy`]); the back office does not hold
//! them, so for those it checks the approvals a record carries, not
//! whether one was needed.

use crate::api::{ReportedStatus, StoredOrder};
use crate::catalog::ProductId;
use crate::ids::PaymentRef;
use crate::journal::{Entry as JournalEntry, RecordKind as JournalRecord};
use crate::money::Money;
use crate::order::{Order, OrderStatus, RegisterId, Tender};
use crate::refund::{Refund, RefundTender};
use crate::shift::Shift;
use crate::staff::{Approval, Guarded, Role, StaffId, StaffRef};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One person on the back office's staff list, as the checks need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    /// Every time they were disabled, oldest first: a person disabled for
    /// a week and enabled again did nothing in that week.
    pub disabled: Vec<Disabled>,
    /// The stores they work in; empty: every store.
    pub stores: Vec<String>,
}

/// A time someone was disabled: from `since` until `until` (`None`: they
/// still are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disabled {
    pub since: Timestamp,
    pub until: Option<Timestamp>,
}

/// The times disabled that a person's changes of standing give:
/// `(at, active)` oldest first, as the back office records each enable
/// and disable. A change to what they already were changes nothing.
pub fn disabled_periods(changes: &[(Timestamp, bool)]) -> Vec<Disabled> {
    let mut periods: Vec<Disabled> = Vec::new();
    for &(at, active) in changes {
        let open = periods.last_mut().filter(|p| p.until.is_none());
        match (open, active) {
            (Some(p), true) => p.until = Some(at),
            (None, false) => periods.push(Disabled {
                since: at,
                until: None,
            }),
            _ => {}
        }
    }
    periods
}

impl Standing {
    /// Whether they were disabled at `at`.
    pub fn disabled_at(&self, at: Timestamp) -> bool {
        self.disabled
            .iter()
            .any(|d| d.since <= at && d.until.is_none_or(|until| at < until))
    }

    /// Whether they work in `store` (`None`: a register of no store,
    /// which only those of every store serve).
    pub fn works_in(&self, store: Option<&str>) -> bool {
        works_in(&self.stores, store)
    }
}

/// Whether someone of `stores` (empty: every store) works in `store`
/// (`None`: a register of no store, which only those of every store serve).
pub fn works_in(stores: &[String], store: Option<&str>) -> bool {
    stores.is_empty() || store.is_some_and(|s| stores.iter().any(|w| w == s))
}

/// The staff list, by id.
pub type StaffList = BTreeMap<StaffId, Standing>;

/// Which kind of record an exception is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Order,
    Refund,
    Shift,
    /// A register's journal, at the entry where it breaks (`R1/12`).
    Journal,
}

/// The record an exception is about, as a person looks it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordKey {
    pub kind: RecordKind,
    pub id: String,
    /// The order's or refund's number (a shift has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub register: RegisterId,
    pub version: u32,
}

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// The person named is not on the staff list.
    UnknownStaff,
    /// The person named was disabled before the record's time.
    InactiveStaff,
    /// An approval names someone who is not a manager.
    ApproverNotManager,
    /// An action a cashier may not do alone, with no manager's approval.
    Unapproved,
    /// The person named works only in other stores than the register's.
    OtherStore,
    /// A closed shift's Z report gives other cash figures than the orders
    /// and refunds that name the shift.
    ZReportDiffers,
    /// A card tender no terminal report confirms (or for another amount).
    CardUnreported,
    /// A refund the terminal reported that no refund record gives.
    RefundUnrecorded,
    /// A register's journal entry the back office refused: a gap, a fork,
    /// an edited entry or a signature not the register's.
    JournalBreak,
    /// A record whose version the back office holds is not the one the
    /// register's journal pinned (its digest differs).
    RecordDiffers,
    /// A return without a receipt that rang an item up at another price
    /// than the catalog's, or an item the catalog does not have.
    PriceOffCatalog,
}

/// One exception: a record, a finding, and a sentence a store owner reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    pub record: RecordKey,
    /// When what is wrong happened, by the register's clock.
    pub at: Timestamp,
    pub finding: Finding,
    /// Who it names (the person, or the approver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffId>,
    pub message: String,
}

/// Collects one record's findings.
struct Audit<'a> {
    staff: &'a StaffList,
    /// The store of the record's register (`None`: of no store).
    store: Option<&'a str>,
    record: RecordKey,
    found: Vec<Exception>,
}

impl<'a> Audit<'a> {
    fn new(staff: &'a StaffList, store: Option<&'a str>, record: RecordKey) -> Audit<'a> {
        Audit {
            staff,
            store,
            record,
            found: Vec::new(),
        }
    }

    fn add(&mut self, at: Timestamp, finding: Finding, who: Option<&StaffRef>, message: String) {
        self.found.push(Exception {
            record: self.record.clone(),
            at,
            finding,
            staff: who.map(|w| w.id.clone()),
            message,
        });
    }

    /// `who` did `what` at `at`: they must be on the staff and active then.
    /// Their role, when they are on the staff.
    fn person(&mut self, who: &StaffRef, at: Timestamp, what: &str) -> Option<Role> {
        let Some(standing) = self.staff.get(&who.id) else {
            let message = format!(
                "{what} by {} ({}), who is not on the staff list",
                who.name, who.id
            );
            self.add(at, Finding::UnknownStaff, Some(who), message);
            return None;
        };
        if standing.disabled_at(at) {
            let message = format!(
                "{what} by {} ({}), who was disabled by then",
                who.name, who.id
            );
            self.add(at, Finding::InactiveStaff, Some(who), message);
        }
        if !standing.works_in(self.store) {
            let message = format!(
                "{what} by {} ({}), who works only in {}",
                who.name,
                who.id,
                standing.stores.join(", ")
            );
            self.add(at, Finding::OtherStore, Some(who), message);
        }
        Some(standing.role)
    }

    /// An approval must name a manager, active when they gave it. (When it
    /// was given beside what it approved says little: a tablet's clock may
    /// move back between the two.)
    fn approval(&mut self, a: &Approval) {
        let what = format!("{} approved", a.what.label());
        if let Some(role) = self.person(&a.by, a.at, &what) {
            if role != Role::Manager {
                let message = format!(
                    "{what} by {} ({}), who is not a manager",
                    a.by.name, a.by.id
                );
                self.add(a.at, Finding::ApproverNotManager, Some(&a.by), message);
            }
        }
    }

    /// `who` did `what` at `at`, which a cashier may not do alone: when
    /// they are a cashier, `approval` must be one of `what`, checked like
    /// any approval.
    fn guarded(
        &mut self,
        who: &StaffRef,
        at: Timestamp,
        what: Guarded,
        approval: Option<&Approval>,
    ) {
        let role = self.person(who, at, &what.label());
        match approval {
            Some(a) if a.what == what => self.approval(a),
            Some(_) | None if role == Some(Role::Cashier) => {
                let message = format!(
                    "{} by {}, a cashier, with no manager's approval",
                    what.label(),
                    who.name
                );
                self.add(at, Finding::Unapproved, Some(who), message);
            }
            Some(a) => self.approval(a),
            None => {}
        }
    }
}

/// A closed shift's Z report against `orders` and `refunds` (those naming
/// the shift count): the cash sales, cash refunds and expected cash
/// recomputed; each figure that differs is an exception. Records that have
/// not reached the back office yet show as a difference until they do.
pub fn audit_close(shift: &Shift, orders: &[Order], refunds: &[Refund]) -> Vec<Exception> {
    let Some(close) = &shift.close else {
        return Vec::new();
    };
    let date = close.report.totals.date;
    let pending = crate::report::Pending::default();
    let exception = |message| Exception {
        record: shift_key(shift),
        at: close.at,
        finding: Finding::ZReportDiffers,
        staff: Some(close.by.id.clone()),
        message,
    };
    let again = match crate::shift::shift_report(shift, date, orders, refunds, pending) {
        Ok(again) => again,
        Err(e) => return vec![exception(format!("The Z report cannot be recomputed: {e}"))],
    };
    let (said, found) = (close.expected(), &again.expected);
    let figures = [
        ("cash sales", said.cash_sales, found.cash_sales),
        ("cash refunds", said.cash_refunds, found.cash_refunds),
        ("expected cash", said.expected, found.expected),
    ];
    figures
        .into_iter()
        .filter(|(_, said, found)| said != found)
        .map(|(what, said, found)| {
            exception(format!(
                "The Z report says {what} {said}; the records that name the shift say {found}"
            ))
        })
        .collect()
}

fn order_key(order: &Order) -> RecordKey {
    RecordKey {
        kind: RecordKind::Order,
        id: order.id.to_string(),
        number: Some(order.number.to_string()),
        register: order.register().clone(),
        version: order.version,
    }
}

/// A journal entry pins its record at a version by its digest: the
/// version the back office holds must have that digest. `stored` is the
/// held version's [`crate::journal::record_digest`] (`None` while the
/// record is on its way: nothing to say yet).
pub fn audit_journal_record(entry: &JournalEntry, stored: Option<&str>) -> Option<Exception> {
    let pinned = entry.record.as_ref()?;
    let kind = match pinned.kind {
        JournalRecord::Order => RecordKind::Order,
        JournalRecord::Refund => RecordKind::Refund,
        JournalRecord::Shift => RecordKind::Shift,
        JournalRecord::Settings | JournalRecord::Catalog => return None,
    };
    let stored = stored?;
    if stored == pinned.sha256 {
        return None;
    }
    Some(Exception {
        record: RecordKey {
            kind,
            id: pinned.id.clone(),
            number: None,
            register: entry.register.clone(),
            version: pinned.version,
        },
        at: entry.time,
        finding: Finding::RecordDiffers,
        staff: entry.actor.clone(),
        message: format!(
            "The {} version {} held here is not the one register {}'s journal signed at seq {}: it was written otherwise than the register recorded it",
            pinned.kind.as_str(),
            pinned.version,
            entry.register,
            entry.seq
        ),
    })
}

/// A register's journal refused at `seq` (`reason` names it, as
/// [`crate::journal::ChainError`] says it): the back office holds the
/// chain up to the entry before and keeps the refused one for inspection.
pub fn journal_break(register: &RegisterId, seq: u64, reason: &str, at: Timestamp) -> Exception {
    Exception {
        record: RecordKey {
            kind: RecordKind::Journal,
            id: format!("{register}/{seq}"),
            number: None,
            register: register.clone(),
            version: 1,
        },
        at,
        finding: Finding::JournalBreak,
        staff: None,
        message: format!(
            "Register {register}'s journal does not verify at {reason}; the entry is kept for inspection and nothing after it is taken"
        ),
    }
}

/// An order's card parts against the reports the back office holds of it
/// (the bridge's, or the terminal vendor's notification): every card
/// tender has a charge reported under its reference, for its amount; every
/// refund the terminal reported for the order is a card part of one of its
/// refunds. A report still on its way shows as missing until it arrives.
pub fn audit_card_reports(stored: &StoredOrder) -> Vec<Exception> {
    let order = &stored.order;
    let exception = |at, finding, message| Exception {
        record: order_key(order),
        at,
        finding,
        staff: order.cashier.as_ref().map(|c| c.id.clone()),
        message,
    };
    let mut found = Vec::new();
    for t in &order.tenders {
        let Tender::Card {
            amount, reference, ..
        } = t
        else {
            continue;
        };
        let charge = stored
            .payments
            .iter()
            .find(|p| p.reference == *reference && p.is_charge());
        let message = match charge {
            None => {
                format!("A card payment of {amount} ({reference}) that no terminal report confirms")
            }
            Some(p) if p.amount != *amount => {
                format!(
                    "A card payment recorded as {amount}; the terminal reported {} ({reference})",
                    p.amount
                )
            }
            Some(_) => continue,
        };
        found.push(exception(
            order.updated_at,
            Finding::CardUnreported,
            message,
        ));
    }
    let parts: BTreeSet<PaymentRef> = stored
        .refunds
        .iter()
        .flat_map(|r| &r.tenders)
        .filter_map(|t| match t {
            RefundTender::Card { reference, .. } => Some(*reference),
            RefundTender::Cash { .. } => None,
        })
        .collect();
    for p in &stored.payments {
        if p.status == ReportedStatus::Refunded && !parts.contains(&p.reference) {
            let message = format!(
                "The terminal gave {} back to a card ({}) with no refund record",
                p.amount, p.reference
            );
            found.push(exception(p.approved_at, Finding::RefundUnrecorded, message));
        }
    }
    found
}

fn shift_key(shift: &Shift) -> RecordKey {
    RecordKey {
        kind: RecordKind::Shift,
        id: shift.id.to_string(),
        number: None,
        register: shift.register.clone(),
        version: shift.version,
    }
}

/// An order's exceptions: its cashier, its void, its price overrides and
/// every approval it carries.
pub fn audit_order(order: &Order, staff: &StaffList, store: Option<&str>) -> Vec<Exception> {
    let mut audit = Audit::new(staff, store, order_key(order));
    if let Some(cashier) = &order.cashier {
        audit.person(cashier, order.created_at, "A sale rung up");
    }
    let of = |what: Guarded| order.approvals.iter().find(|a| a.what == what);
    if let (OrderStatus::Voided, Some(by)) = (&order.status, &order.voided_by) {
        audit.guarded(by, order.updated_at, Guarded::Void, of(Guarded::Void));
    }
    let overridden = order.lines.iter().any(|l| l.list_price.is_some());
    if overridden && of(Guarded::PriceOverride).is_none() {
        let message = "A price override with no manager's approval".to_string();
        audit.add(
            order.updated_at,
            Finding::Unapproved,
            order.cashier.as_ref(),
            message,
        );
    }
    for a in &order.approvals {
        if !matches!(a.what, Guarded::Void) {
            audit.approval(a);
        }
    }
    audit.found
}

/// A refund's exceptions: who gave the money back, and their approval.
pub fn audit_refund(refund: &Refund, staff: &StaffList, store: Option<&str>) -> Vec<Exception> {
    let mut audit = Audit::new(
        staff,
        store,
        RecordKey {
            kind: RecordKind::Refund,
            id: refund.id.to_string(),
            number: Some(refund.number.to_string()),
            register: refund.number.register().clone(),
            version: refund.version,
        },
    );
    let what = match refund.order_id {
        Some(_) => Guarded::Refund,
        None => Guarded::ReturnWithoutReceipt,
    };
    match &refund.cashier {
        Some(by) => audit.guarded(by, refund.created_at, what, refund.approved_by.as_ref()),
        None => {
            if let Some(a) = &refund.approved_by {
                audit.approval(a);
            }
        }
    }
    audit.found
}

/// A return without a receipt rings its items up at the catalog's prices
/// (a price override keeps the catalog's as `list_price`, and is judged as
/// an approval): each item whose catalog price is not the one the back
/// office holds (`catalog_price`: `None` for a product it does not have)
/// is an exception. A refund of an order is priced by its order: nothing
/// to say.
pub fn audit_return_prices(
    refund: &Refund,
    catalog_price: impl Fn(&ProductId) -> Option<Money>,
) -> Vec<Exception> {
    if refund.order_id.is_some() {
        return Vec::new();
    }
    let key = || RecordKey {
        kind: RecordKind::Refund,
        id: refund.id.to_string(),
        number: Some(refund.number.to_string()),
        register: refund.number.register().clone(),
        version: refund.version,
    };
    let mut found = Vec::new();
    for item in &refund.items {
        let rung = item.list_price.unwrap_or(item.unit_price);
        let message = match catalog_price(&item.product_id) {
            Some(price) if price == rung => continue,
            Some(price) => format!(
                "A return without a receipt took back {} at {rung}; the catalog's price is {price}",
                item.name
            ),
            None => format!(
                "A return without a receipt took back {} ({}), which the catalog does not have",
                item.name, item.product_id
            ),
        };
        found.push(Exception {
            record: key(),
            at: refund.created_at,
            finding: Finding::PriceOffCatalog,
            staff: refund.cashier.as_ref().map(|c| c.id.clone()),
            message,
        });
    }
    found
}

/// A shift's exceptions: who opened and closed it, each no-sale (which a
/// cashier may not do alone) and each approval of a cash movement.
pub fn audit_shift(shift: &Shift, staff: &StaffList, store: Option<&str>) -> Vec<Exception> {
    let mut audit = Audit::new(staff, store, shift_key(shift));
    audit.person(&shift.opened_by, shift.opened_at, "A shift opened");
    for open in &shift.no_sales {
        audit.guarded(&open.by, open.at, Guarded::NoSale, open.approval.as_ref());
    }
    for m in &shift.movements {
        audit.person(&m.by, m.at, "Cash paid in or out");
        if let Some(a) = &m.approval {
            audit.approval(a);
        }
    }
    if let Some(close) = &shift.close {
        audit.person(&close.by, close.at, "A shift closed");
    }
    audit.found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::Cart;
    use crate::catalog::fixtures::small;
    use crate::catalog::ProductId;
    use crate::money::{Currency, Money};
    use crate::order::{BusinessDate, OrderId, OrderNumber};
    use crate::shift::{CashCount, DrawerOpen, ShiftId};
    use uuid::Uuid;

    const T0: Timestamp = Timestamp::from_millis(1_795_766_400_000);

    fn who(id: &str) -> StaffRef {
        StaffRef {
            id: StaffId::new(id).unwrap(),
            name: id.to_uppercase(),
        }
    }

    /// Alex the cashier, Dana the manager, Sam a cashier who left at T0.
    fn staff() -> StaffList {
        let on = |role| Standing {
            role,
            disabled: Vec::new(),
            stores: Vec::new(),
        };
        let gone = Standing {
            role: Role::Cashier,
            disabled: vec![Disabled {
                since: T0,
                until: None,
            }],
            stores: Vec::new(),
        };
        [
            ("alex", on(Role::Cashier)),
            ("dana", on(Role::Manager)),
            ("sam", gone),
        ]
        .into_iter()
        .map(|(id, s)| (StaffId::new(id).unwrap(), s))
        .collect()
    }

    fn approval(by: &str, what: Guarded, at: Timestamp) -> Approval {
        Approval {
            by: who(by),
            at,
            what,
            lines: Vec::new(),
        }
    }

    fn uuid7(n: u128) -> Uuid {
        Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0000u128 | n)
    }

    fn sale(cashier: &str) -> Order {
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&small(), &ProductId::new("coffee").unwrap())
            .unwrap();
        let r = RegisterId::new("R1").unwrap();
        let number = OrderNumber::new(r, BusinessDate::new(2026, 11, 27).unwrap(), 1).unwrap();
        let mut o =
            Order::from_cart(OrderId::from_uuid(uuid7(1)).unwrap(), number, &cart, T0).unwrap();
        o.cashier = Some(who(cashier));
        o
    }

    fn findings(found: &[Exception]) -> Vec<(Finding, Option<&str>)> {
        found
            .iter()
            .map(|e| (e.finding, e.staff.as_ref().map(StaffId::as_str)))
            .collect()
    }

    /// A sale by `cashier`, voided by them with `approver`'s approval.
    fn voided(cashier: &str, approver: Option<&str>) -> Order {
        let mut o = sale(cashier);
        let approval = approver.map(|by| approval(by, Guarded::Void, T0));
        o.void([], Some(who(cashier)), approval, T0).unwrap();
        o
    }

    #[test]
    fn a_void_by_a_cashier_needs_an_active_manager() {
        let staff = staff();
        let alone = audit_order(&voided("alex", None), &staff, None);
        assert_eq!(findings(&alone), [(Finding::Unapproved, Some("alex"))]);
        assert_eq!(alone[0].record.kind, RecordKind::Order);
        let message = &alone[0].message;
        assert!(
            message.contains("Void the order by ALEX, a cashier"),
            "{message}"
        );
        let judged = |approver| audit_order(&voided("alex", Some(approver)), &staff, None);
        assert_eq!(
            findings(&judged("alex")),
            [(Finding::ApproverNotManager, Some("alex"))],
            "forged"
        );
        assert_eq!(
            findings(&judged("zed")),
            [(Finding::UnknownStaff, Some("zed"))],
            "never heard of"
        );
        assert_eq!(
            findings(&judged("sam")),
            [
                (Finding::InactiveStaff, Some("sam")),
                (Finding::ApproverNotManager, Some("sam"))
            ]
        );
        // By Dana herself, or approved by her: nothing to say.
        assert_eq!(audit_order(&voided("dana", None), &staff, None), []);
        assert_eq!(findings(&judged("dana")), []);
    }

    #[test]
    fn a_sale_by_someone_disabled_or_unknown_and_an_unapproved_override_are_exceptions() {
        let staff = staff();
        assert_eq!(
            findings(&audit_order(&sale("sam"), &staff, None)),
            [(Finding::InactiveStaff, Some("sam"))]
        );
        assert_eq!(
            findings(&audit_order(&sale("kim"), &staff, None)),
            [(Finding::UnknownStaff, Some("kim"))]
        );
        let mut o = sale("alex");
        o.lines[0].list_price = Some(o.lines[0].unit_price);
        o.lines[0].unit_price = Money::new(1, Currency::EUR).unwrap();
        assert_eq!(
            findings(&audit_order(&o, &staff, None)),
            [(Finding::Unapproved, Some("alex"))]
        );
        o.approvals
            .push(approval("dana", Guarded::PriceOverride, T0));
        assert_eq!(audit_order(&o, &staff, None), []);
    }

    #[test]
    fn a_sale_while_someone_was_disabled_stays_an_exception_once_they_are_enabled_again() {
        let at = |ms: i64| Timestamp::from_millis(T0.as_millis() + ms);
        // Disabled an hour before the sale, enabled an hour after it, and
        // disabled again a day later; a repeated disable changes nothing.
        let changes = [
            (at(-3_600_000), false),
            (at(-1_800_000), false),
            (at(3_600_000), true),
            (at(86_400_000), false),
        ];
        let periods = disabled_periods(&changes);
        assert_eq!(
            periods,
            [
                Disabled {
                    since: at(-3_600_000),
                    until: Some(at(3_600_000)),
                },
                Disabled {
                    since: at(86_400_000),
                    until: None,
                },
            ]
        );
        let mut staff = staff();
        let sam = staff.get_mut(&StaffId::new("sam").unwrap()).unwrap();
        sam.disabled = periods;
        let found = audit_order(&sale("sam"), &staff, None);
        assert_eq!(findings(&found), [(Finding::InactiveStaff, Some("sam"))]);
        // Enabled again: the same sale an hour later is theirs to make.
        let mut later = sale("sam");
        later.created_at = at(3_600_000);
        assert_eq!(audit_order(&later, &staff, None), []);
        assert_eq!(disabled_periods(&[(T0, true)]), []);
    }

    #[test]
    fn someone_of_another_store_is_an_exception_at_this_stores_registers() {
        let mut staff = staff();
        let lee = Standing {
            role: Role::Manager,
            disabled: Vec::new(),
            stores: vec!["S02".into()],
        };
        staff.insert(StaffId::new("lee").unwrap(), lee);
        let approved = voided("alex", Some("lee"));
        assert_eq!(audit_order(&approved, &staff, Some("S02")), []);
        let found = audit_order(&approved, &staff, Some("S01"));
        assert_eq!(findings(&found), [(Finding::OtherStore, Some("lee"))]);
        assert!(
            found[0].message.ends_with("who works only in S02"),
            "{}",
            found[0].message
        );
        let nowhere = audit_order(&approved, &staff, None);
        assert_eq!(findings(&nowhere), [(Finding::OtherStore, Some("lee"))]);
        assert_eq!(
            audit_order(&voided("alex", Some("dana")), &staff, Some("S01")),
            []
        );
    }

    #[test]
    fn a_no_sale_by_a_cashier_needs_a_manager_and_the_shift_names_its_people() {
        let staff = staff();
        let count = CashCount::Total {
            amount: Money::new(10_000, Currency::EUR).unwrap(),
        };
        let id = ShiftId::from_uuid(uuid7(9)).unwrap();
        let r = RegisterId::new("R1").unwrap();
        let mut s = Shift::open(id, r, Currency::EUR, who("dana"), count, T0).unwrap();
        assert_eq!(audit_shift(&s, &staff, None), []);
        let open = |by: &str, approval| DrawerOpen {
            at: T0,
            by: who(by),
            approval,
        };
        s.no_sale(open("alex", None)).unwrap();
        s.no_sale(open("alex", Some(approval("dana", Guarded::NoSale, T0))))
            .unwrap();
        s.no_sale(open("dana", None)).unwrap();
        let found = audit_shift(&s, &staff, None);
        assert_eq!(findings(&found), [(Finding::Unapproved, Some("alex"))]);
        assert_eq!(found[0].record.kind, RecordKind::Shift);
    }
}
