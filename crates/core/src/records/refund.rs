//! Refunds: money going back to a customer for goods returned, as a record
//! of its own linked to the paid order.
//!
//! A refund has its own id (UUID v7, made by the caller), a number in the
//! register's sequence (the same `<register>-<yyyymmdd>-<seq>` counter as
//! sales, so a refund receipt and a sale receipt never share a number), the
//! lines and quantities returned, the tenders the money goes back to, and a
//! status. The order itself is never rewritten: whether it is partly or
//! wholly refunded is read from its refunds ([`refunded_state`]).
//!
//! # How much goes back: cumulative differences
//!
//! The amount of a refund is what the returned quantities were worth **in
//! total so far**, minus what they were worth before this refund:
//!
//! - a line's worth for `q` of its `Q` units is `net × q / Q`, rounded once,
//!   half away from zero (the sale's rounding rule); at `q = Q` it is the
//!   line's net exactly;
//! - tax is computed **once per rate** on the cumulative returned base, with
//!   the sale's formula, and a refund carries the difference.
//!
//! So the refunds of an order add up, to the cent, to what was returned:
//! after every unit has come back, the refunded lines, taxes and total equal
//! the sale's, however the return was split into refunds. Both worth
//! functions never decrease, so no refund's amount is ever negative.
//!
//! # Rules (tested by property)
//!
//! - only a paid order is refunded; an order whose payment is in doubt, an
//!   open order and a voided one are refused, saying why;
//! - no line is returned beyond what was sold, counting earlier refunds;
//! - the money goes back to the order's own tenders: cash up to the cash
//!   paid, each card up to what that card paid, less earlier refunds to it;
//!   the tenders add up to the refund's total exactly;
//! - a refund whose card result is not known yet ([`RefundStatus::InDoubt`])
//!   counts as given back: the caps stay safe whatever the terminal did. Only
//!   a refund the terminal authoritatively failed counts as nothing.

use crate::cart::{compute_totals, Cart, CartLine, TaxLine};
use crate::catalog::{ProductId, TaxMode};
use crate::ids::IdError;
use crate::ids::PaymentRef;
pub use crate::ids::RefundId;
use crate::money::{div_round_half_away, Currency, Money, MoneyError};
use crate::order::{Order, OrderId, OrderNumber, OrderStatus, Tender};
use crate::staff::{Approval, StaffRef};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Most refunds of one order: a customer returning items one by one over
/// weeks is real; more than this means something is wrong, and the order
/// stays readable.
pub const REFUNDS_PER_ORDER_MAX: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefundError {
    #[error("this order is {0}: only a paid order can be refunded")]
    NotPaid(&'static str),
    #[error(
        "this order's card payment is in doubt: it can be refunded once \
         reconciliation has settled it"
    )]
    PaymentInDoubt,
    #[error("a voided order has nothing to refund")]
    Voided,
    #[error("choose at least one item to return")]
    NothingReturned,
    #[error("this order has no tip left to give back")]
    NoTipLeft,
    #[error("the order has no line {0}")]
    UnknownLine(usize),
    #[error("{name}: only {left} more can be returned")]
    TooMany { name: String, left: u32 },
    #[error("at most {left} can go back to {to}")]
    TenderTooHigh { to: String, left: Money },
    #[error("the money going back ({given}) must equal the refund ({total})")]
    TendersDoNotAddUp { given: Money, total: Money },
    #[error("card payment {0} is not one of this order's tenders")]
    UnknownCardPayment(PaymentRef),
    #[error("the part going back to the card must be sent through the terminal")]
    CardNotHere,
    #[error(
        "a refund goes back to one card at a time: refund the other card's share \
         in a second refund"
    )]
    OneCardAtATime,
    #[error("this refund is for another order")]
    OtherOrder,
    #[error("an order can have at most {REFUNDS_PER_ORDER_MAX} refunds")]
    TooManyRefunds,
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("not a refund id (a UUID version 7): {0}")]
    BadId(String),
    /// A later version names another order, order number, number or kind
    /// than the version stored: a refund moved off its order would free
    /// that order to be refunded in full again.
    #[error("a refund keeps its {0}: this version names another one than the version stored")]
    Moved(&'static str),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl From<IdError> for RefundError {
    fn from(e: IdError) -> RefundError {
        match e {
            IdError::Refund(s) => RefundError::BadId(s),
            other => RefundError::invalid("id", other),
        }
    }
}

impl RefundError {
    fn invalid(field: impl Into<String>, message: impl fmt::Display) -> RefundError {
        RefundError::Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// The field of a received refund at fault, for API errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            RefundError::Invalid { field, .. } => Some(field),
            RefundError::UnknownLine(_) | RefundError::TooMany { .. } => Some("lines"),
            RefundError::TenderTooHigh { .. }
            | RefundError::TendersDoNotAddUp { .. }
            | RefundError::UnknownCardPayment(_)
            | RefundError::OneCardAtATime => Some("tenders"),
            RefundError::OtherOrder => Some("order_id"),
            RefundError::BadId(_) => Some("id"),
            RefundError::Moved(field) => Some(field),
            _ => None,
        }
    }
}

/// Why the goods came back, as the cashier picked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    Damaged,
    WrongItem,
    ChangedMind,
    Other,
}

impl RefundReason {
    pub const ALL: [RefundReason; 4] = [
        RefundReason::Damaged,
        RefundReason::WrongItem,
        RefundReason::ChangedMind,
        RefundReason::Other,
    ];

    pub fn label(&self) -> &'static str {
        match self {
            RefundReason::Damaged => "Damaged",
            RefundReason::WrongItem => "Wrong item",
            RefundReason::ChangedMind => "Changed mind",
            RefundReason::Other => "Other",
        }
    }
}

/// What the cashier chose to take back: `quantity` units of the order's
/// line number `line` (0-based, in the order's line order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    pub line: usize,
    pub quantity: u32,
}

/// One returned line of a refund, with what it gives back (tax included
/// for inclusive rates, before exclusive tax: like the sale's line net).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// The line's index in the original order.
    pub line: usize,
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub amount: Money,
}

/// The amounts of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTotals {
    /// Σ line amounts.
    pub lines: Money,
    /// The tax given back, per rate of the sale (base and tax are this
    /// refund's share, the cumulative difference).
    pub taxes: Vec<TaxLine>,
    /// Σ tax of exclusive rates: the only tax that adds to the total.
    pub exclusive_tax: Money,
    /// The tips the customer added on the terminal, given back with this
    /// refund (all that was left of them): part of `total`, never of the
    /// lines or their tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<Money>,
    /// What goes back to the customer.
    pub total: Money,
}

impl RefundTotals {
    /// A refund of nothing but a tip.
    fn nothing(currency: Currency) -> RefundTotals {
        let zero = Money::zero(currency);
        RefundTotals {
            lines: zero,
            taxes: Vec::new(),
            exclusive_tax: zero,
            tip: None,
            total: zero,
        }
    }

    /// The same amounts with `tip` given back on top.
    fn with_tip(mut self, tip: Option<Money>) -> Result<RefundTotals, MoneyError> {
        if let Some(t) = tip {
            self.total = self.total.checked_add(t)?;
        }
        self.tip = tip;
        Ok(self)
    }

    /// The goods' part: the same amounts without the tip.
    fn goods(&self) -> Result<RefundTotals, MoneyError> {
        let mut goods = self.clone();
        if let Some(t) = goods.tip.take() {
            goods.total = goods.total.checked_sub(t)?;
        }
        Ok(goods)
    }
}

/// Where one part of a refund goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum RefundTender {
    /// Handed back from the drawer.
    Cash { amount: Money },
    /// Back to the card of the order's payment `original`; `reference` is
    /// this part's own reference at the bridge (idempotent there, as a
    /// payment's is).
    Card {
        amount: Money,
        reference: PaymentRef,
        original: PaymentRef,
        state: CardRefundState,
    },
}

impl RefundTender {
    pub fn amount(&self) -> Money {
        match self {
            RefundTender::Cash { amount } | RefundTender::Card { amount, .. } => *amount,
        }
    }

    /// Whether this part counts as given back: cash always, a card unless
    /// the terminal authoritatively failed it.
    pub fn counts(&self) -> bool {
        !matches!(
            self,
            RefundTender::Card {
                state: CardRefundState::Failed,
                ..
            }
        )
    }
}

/// Where a card part of a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardRefundState {
    /// Written before the request leaves for the bridge, and kept while the
    /// result is not known: counted as given back.
    Pending,
    Approved,
    /// Declined, or never received by the bridge: nothing went back.
    Failed,
}

impl CardRefundState {
    pub fn label(&self) -> &'static str {
        match self {
            CardRefundState::Pending => "pending",
            CardRefundState::Approved => "approved",
            CardRefundState::Failed => "failed",
        }
    }
}

/// Where a refund stands, read from its tenders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Everything went back.
    Completed,
    /// A card part's result is not known yet.
    InDoubt,
    /// A card part failed and something else went back: the rest is still
    /// owed to the customer ([`Refund::owed`]).
    Owed,
    /// Every part failed: nothing went back, nothing is counted.
    Failed,
}

impl RefundStatus {
    pub fn label(&self) -> &'static str {
        match self {
            RefundStatus::Completed => "refunded",
            RefundStatus::InDoubt => "refund in doubt",
            RefundStatus::Owed => "refund owed",
            RefundStatus::Failed => "refund failed",
        }
    }

    /// What the cashier does next, once the refund is written.
    pub fn what_next(&self) -> &'static str {
        match self {
            RefundStatus::Completed => "The money went back.",
            RefundStatus::InDoubt => {
                "The card refund's result is not known yet: it is checked again by itself. Do not refund again."
            }
            RefundStatus::Owed => {
                "A card part failed: what it should have given back is still owed to the customer."
            }
            RefundStatus::Failed => {
                "Nothing went back to the card. The items can be refunded again."
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    /// In the register's sequence, shared with its sales.
    pub number: OrderNumber,
    /// The order it gives money back for; absent for a return without a
    /// receipt, which gives cash for [`Refund::items`] instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<OrderNumber>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RefundReason>,
    pub lines: Vec<RefundLine>,
    pub totals: RefundTotals,
    /// What the order's earlier refunds had returned when this one was
    /// priced, per line: its amounts are the cumulative difference from
    /// there, which anyone can check (absent when nothing was).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priced_after: Vec<Returned>,
    /// Every part, in the order it was given; a failed card part stays
    /// listed, and what it should have given is owed until another part
    /// gives it.
    pub tenders: Vec<RefundTender>,
    /// Starts at 1, +1 on every change; the back office keeps the highest.
    pub version: u32,
    /// A return without a receipt: the items as rung up at today's prices,
    /// from which its lines, taxes and total are computed (and checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<CartLine>,
    /// Who gave the money back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashier: Option<StaffRef>,
    /// A manager's approval, when a cashier gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Approval>,
    /// The shift it was given in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<crate::ids::ShiftId>,
}

/// How much of an order is refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundedState {
    None,
    Partly,
    Fully,
}

impl RefundedState {
    /// What Register Sales shows next to the order's status.
    pub fn label(&self) -> Option<&'static str> {
        match self {
            RefundedState::None => None,
            RefundedState::Partly => Some("partly refunded"),
            RefundedState::Fully => Some("refunded"),
        }
    }
}

/// One of an order's tenders, as a refund sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenderKey {
    Cash,
    Card(PaymentRef),
}

/// What can still go back to one tender of the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderLeft {
    pub key: TenderKey,
    /// How the cashier knows it: "cash", or the card's brand and last four
    /// digits ("VISA •••• 4242").
    pub label: String,
    pub paid: Money,
    pub refunded: Money,
    pub left: Money,
}

/// What can still be returned of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineLeft {
    pub sold: u32,
    pub refunded: u32,
    pub left: u32,
}

/// What is left to refund of an order, given its refunds so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refundable {
    /// One per order line, in the order's line order.
    pub lines: Vec<LineLeft>,
    /// Cash first (what a cashier hands back from the drawer needs no
    /// terminal), then each card in the order it paid (what it was charged,
    /// its tip included).
    pub tenders: Vec<TenderLeft>,
    /// The tips added on the terminal not given back yet (zero when none).
    pub tip_left: Money,
}

impl Refundable {
    pub fn tender(&self, key: TenderKey) -> Option<&TenderLeft> {
        self.tenders.iter().find(|t| t.key == key)
    }
}

/// Refuses an order that cannot be refunded, saying why.
pub fn ensure_refundable(order: &Order) -> Result<(), RefundError> {
    match &order.status {
        OrderStatus::Paid => Ok(()),
        OrderStatus::Voided => Err(RefundError::Voided),
        s if s.is_pending_confirmation() => Err(RefundError::PaymentInDoubt),
        s => Err(RefundError::NotPaid(s.label())),
    }
}

/// The refunds of `order` that count against what is left, checked to be
/// the order's.
fn counted<'a>(
    order: &Order,
    refunds: &'a [Refund],
) -> Result<impl Iterator<Item = &'a Refund>, RefundError> {
    if refunds.iter().any(|r| r.order_id != Some(order.id)) {
        return Err(RefundError::OtherOrder);
    }
    Ok(refunds
        .iter()
        .filter(|r| r.status() != RefundStatus::Failed))
}

/// Per line and per tender, what was sold and paid, what earlier refunds
/// took back, and what is left.
pub fn refundable(order: &Order, refunds: &[Refund]) -> Result<Refundable, RefundError> {
    let mut returned = vec![0u32; order.lines.len()];
    let zero = Money::zero(order.currency);
    let mut tenders = paid_by_tender(order)?;
    let mut tip_left = order.tips()?;
    for r in counted(order, refunds)? {
        if let Some(tip) = r.totals.tip {
            tip_left = tip_left.checked_sub(tip)?;
        }
        for l in &r.lines {
            let slot = returned
                .get_mut(l.line)
                .ok_or(RefundError::UnknownLine(l.line))?;
            *slot = slot.saturating_add(l.quantity);
        }
        for t in r.tenders.iter().filter(|t| t.counts()) {
            let key = tender_key(t);
            let entry = tenders
                .iter_mut()
                .find(|x| x.key == key)
                .ok_or_else(|| unknown_tender(t))?;
            entry.refunded = entry.refunded.checked_add(t.amount())?;
        }
    }
    for t in &mut tenders {
        let left = t.paid.checked_sub(t.refunded)?;
        t.left = if left.is_negative() { zero } else { left };
    }
    let lines = order
        .lines
        .iter()
        .zip(returned)
        .map(|(l, r)| LineLeft {
            sold: l.quantity,
            refunded: r,
            left: l.quantity.saturating_sub(r),
        })
        .collect();
    let tip_left = if tip_left.is_negative() {
        zero
    } else {
        tip_left
    };
    Ok(Refundable {
        lines,
        tenders,
        tip_left,
    })
}

fn tender_key(t: &RefundTender) -> TenderKey {
    match t {
        RefundTender::Cash { .. } => TenderKey::Cash,
        RefundTender::Card { original, .. } => TenderKey::Card(*original),
    }
}

fn unknown_tender(t: &RefundTender) -> RefundError {
    match t {
        RefundTender::Cash { .. } => RefundError::TenderTooHigh {
            to: "cash".into(),
            left: Money::zero(t.amount().currency()),
        },
        RefundTender::Card { original, .. } => RefundError::UnknownCardPayment(*original),
    }
}

/// What the order's tenders paid: cash as one tender (the amounts that went
/// towards the order, change excluded), then each card by its reference.
fn paid_by_tender(order: &Order) -> Result<Vec<TenderLeft>, RefundError> {
    let zero = Money::zero(order.currency);
    let mut cash = zero;
    let mut cards = Vec::new();
    for t in &order.tenders {
        match t {
            Tender::Cash { amount, .. } => cash = cash.checked_add(*amount)?,
            Tender::Card {
                amount,
                reference,
                card,
            } => cards.push(TenderLeft {
                key: TenderKey::Card(*reference),
                label: format!("{} •••• {}", card.brand, card.last4),
                paid: card.charged(*amount)?,
                refunded: zero,
                left: zero,
            }),
        }
    }
    let mut out = Vec::with_capacity(cards.len() + 1);
    if !cash.is_zero() {
        out.push(TenderLeft {
            key: TenderKey::Cash,
            label: "cash".into(),
            paid: cash,
            refunded: zero,
            left: zero,
        });
    }
    out.extend(cards);
    Ok(out)
}

/// What `quantities` (units returned per line, cumulative) are worth: the
/// lines' worth and the tax per rate, with the sale's rounding.
fn worth(order: &Order, quantities: &[u32]) -> Result<(Vec<Money>, Vec<TaxLine>), RefundError> {
    let currency = order.currency;
    let mut lines = Vec::with_capacity(order.lines.len());
    let mut taxes: Vec<TaxLine> = order
        .totals
        .taxes
        .iter()
        .map(|t| TaxLine {
            base: Money::zero(currency),
            tax: Money::zero(currency),
            ..t.clone()
        })
        .collect();
    for ((line, totals), q) in order.lines.iter().zip(&order.totals.lines).zip(quantities) {
        let net = i128::from(totals.net.minor());
        let part = div_round_half_away(net * i128::from(*q), i128::from(line.quantity.max(1)));
        let part = Money::new(
            i64::try_from(part).map_err(|_| MoneyError::Overflow)?,
            currency,
        )?;
        lines.push(part);
        let rate = taxes
            .iter_mut()
            .find(|t| t.rate_id == line.tax_rate.id)
            .ok_or_else(|| {
                RefundError::invalid("order.totals.taxes", "a line's rate is missing")
            })?;
        rate.base = rate.base.checked_add(part)?;
    }
    for t in &mut taxes {
        let base = i128::from(t.base.minor());
        let bp = i128::from(t.basis_points);
        let tax = match t.mode {
            TaxMode::Inclusive => div_round_half_away(base * bp, 10_000 + bp),
            TaxMode::Exclusive => div_round_half_away(base * bp, 10_000),
        };
        t.tax = Money::new(
            i64::try_from(tax).map_err(|_| MoneyError::Overflow)?,
            currency,
        )?;
    }
    Ok((lines, taxes))
}

/// The lines and totals of a refund returning `returns` of `order`, after
/// the `refunds` already made. Refuses an order that cannot be refunded and
/// any quantity beyond what is left.
pub fn price_return(
    order: &Order,
    refunds: &[Refund],
    returns: &[Returned],
) -> Result<(Vec<RefundLine>, RefundTotals), RefundError> {
    price_refund(order, refunds, returns, false)
}

/// [`price_return`], and with `tip` every tip of the order not given back
/// yet on top (then `returns` may be empty: a tip alone goes back).
pub fn price_refund(
    order: &Order,
    refunds: &[Refund],
    returns: &[Returned],
    tip: bool,
) -> Result<(Vec<RefundLine>, RefundTotals), RefundError> {
    ensure_refundable(order)?;
    let left = refundable(order, refunds)?;
    let tip = match tip {
        true if left.tip_left.is_zero() => return Err(RefundError::NoTipLeft),
        true => Some(left.tip_left),
        false => None,
    };
    if tip.is_some() && returns.iter().all(|r| r.quantity == 0) {
        return Ok((
            Vec::new(),
            RefundTotals::nothing(order.currency).with_tip(tip)?,
        ));
    }
    let before: Vec<u32> = left.lines.iter().map(|l| l.refunded).collect();
    let (lines, totals) = price_after(order, &before, returns)?;
    Ok((lines, totals.with_tip(tip)?))
}

/// The lines and totals of returning `returns` of `order` when `before`
/// units of each line (in the order's line order) were returned already:
/// the cumulative difference of the module docs.
pub fn price_after(
    order: &Order,
    before: &[u32],
    returns: &[Returned],
) -> Result<(Vec<RefundLine>, RefundTotals), RefundError> {
    let mut after = before.to_vec();
    for r in returns.iter().filter(|r| r.quantity > 0) {
        let sold = order
            .lines
            .get(r.line)
            .ok_or(RefundError::UnknownLine(r.line))?;
        let done = *before.get(r.line).ok_or(RefundError::UnknownLine(r.line))?;
        let total = after[r.line].saturating_add(r.quantity);
        if total > sold.quantity {
            return Err(RefundError::TooMany {
                name: sold.name.clone(),
                left: sold.quantity.saturating_sub(done),
            });
        }
        after[r.line] = total;
    }
    if after == before {
        return Err(RefundError::NothingReturned);
    }
    let (worth_before, taxes_before) = worth(order, before)?;
    let (worth_after, taxes_after) = worth(order, &after)?;
    let mut lines = Vec::new();
    for (i, line) in order.lines.iter().enumerate() {
        if after[i] == before[i] {
            continue;
        }
        lines.push(RefundLine {
            line: i,
            product_id: line.product_id.clone(),
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: after[i] - before[i],
            amount: worth_after[i].checked_sub(worth_before[i])?,
        });
    }
    let totals = refund_totals(order.currency, &lines, taxes_before, taxes_after)?;
    Ok((lines, totals))
}

/// What earlier refunds had returned when a refund was priced, per line
/// (only the lines with something returned): the refund's `priced_after`.
fn returned_before(order: &Order, refunds: &[Refund]) -> Result<Vec<Returned>, RefundError> {
    Ok(refundable(order, refunds)?
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.refunded > 0)
        .map(|(line, l)| Returned {
            line,
            quantity: l.refunded,
        })
        .collect())
}

fn refund_totals(
    currency: Currency,
    lines: &[RefundLine],
    before: Vec<TaxLine>,
    after: Vec<TaxLine>,
) -> Result<RefundTotals, RefundError> {
    let mut taxes = Vec::new();
    for (b, a) in before.into_iter().zip(after) {
        if a.base == b.base {
            continue;
        }
        taxes.push(TaxLine {
            base: a.base.checked_sub(b.base)?,
            tax: a.tax.checked_sub(b.tax)?,
            ..a
        });
    }
    let sum = Money::sum(currency, lines.iter().map(|l| l.amount))?;
    let exclusive_tax = Money::sum(
        currency,
        taxes
            .iter()
            .filter(|t| t.mode == TaxMode::Exclusive)
            .map(|t| t.tax),
    )?;
    Ok(RefundTotals {
        lines: sum,
        taxes,
        exclusive_tax,
        tip: None,
        total: sum.checked_add(exclusive_tax)?,
    })
}

/// How `total` goes back when the cashier does not choose: cash first, up
/// to the cash paid and not yet refunded, then each card in the order it
/// paid. The caller makes a reference for each card part.
pub fn suggest_tenders(left: &Refundable, total: Money) -> Vec<(TenderKey, Money)> {
    let mut rest = total;
    let mut out = Vec::new();
    for t in &left.tenders {
        if rest.is_zero() {
            break;
        }
        let part = if t.left.minor() < rest.minor() {
            t.left
        } else {
            rest
        };
        if part.is_zero() {
            continue;
        }
        out.push((t.key, part));
        rest = rest.checked_sub(part).unwrap_or(rest);
    }
    out
}

/// [`suggest_tenders`] as refund parts: cash, and each card part pending
/// under the reference `reference` makes for the payment it goes back to.
pub fn default_tenders(
    left: &Refundable,
    total: Money,
    mut reference: impl FnMut(PaymentRef) -> PaymentRef,
) -> Vec<RefundTender> {
    suggest_tenders(left, total)
        .into_iter()
        .map(|(key, amount)| match key {
            TenderKey::Cash => RefundTender::Cash { amount },
            TenderKey::Card(original) => RefundTender::Card {
                amount,
                reference: reference(original),
                original,
                state: CardRefundState::Pending,
            },
        })
        .collect()
}

/// Checks the parts of a refund of `total`: each above zero, the counted
/// ones within what is left on the order's tender they go to, and adding up
/// to `total` exactly (`exact`) or at most (a refund with a failed card part
/// still owes the rest).
pub fn check_tenders(
    left: &Refundable,
    tenders: &[RefundTender],
    total: Money,
    exact: bool,
) -> Result<(), RefundError> {
    if tenders.is_empty() {
        return Err(RefundError::invalid(
            "tenders",
            "a refund goes back to at least one tender",
        ));
    }
    let mut given: Vec<(TenderKey, Money)> = Vec::new();
    for t in tenders {
        if t.amount().is_negative() || t.amount().is_zero() {
            return Err(RefundError::invalid(
                "tenders",
                "every amount must be above zero",
            ));
        }
        let key = tender_key(t);
        let entry = left.tender(key).ok_or_else(|| unknown_tender(t))?;
        if !t.counts() {
            continue;
        }
        let sum = match given.iter_mut().find(|(k, _)| *k == key) {
            Some((_, m)) => {
                *m = m.checked_add(t.amount())?;
                *m
            }
            None => {
                given.push((key, t.amount()));
                t.amount()
            }
        };
        if sum.minor() > entry.left.minor() {
            return Err(RefundError::TenderTooHigh {
                to: entry.label.clone(),
                left: entry.left,
            });
        }
    }
    let counted = tenders
        .iter()
        .filter(|t| t.counts())
        .map(RefundTender::amount);
    let given = Money::sum(total.currency(), counted)?;
    if given.minor() > total.minor() || (exact && given != total) {
        return Err(RefundError::TendersDoNotAddUp { given, total });
    }
    Ok(())
}

/// Checks the cashier's choice of where a refund of `total` goes (before
/// anything is written or sent): each part above zero and within what is
/// left on its tender, adding up to `total` exactly, at most one card.
pub fn check_choice(
    left: &Refundable,
    parts: &[(TenderKey, Money)],
    total: Money,
) -> Result<(), RefundError> {
    card_part(parts)?;
    let tenders: Vec<RefundTender> = parts
        .iter()
        .map(|(key, amount)| match key {
            TenderKey::Cash => RefundTender::Cash { amount: *amount },
            // The part's own reference does not matter to the caps.
            TenderKey::Card(original) => RefundTender::Card {
                amount: *amount,
                reference: *original,
                original: *original,
                state: CardRefundState::Pending,
            },
        })
        .collect();
    check_tenders(left, &tenders, total, true)
}

/// The one card part of a refund's parts, if any: its payment and amount.
/// A refund goes back to one card at a time (the popup runs one terminal
/// operation, and a refund is written before it starts).
pub fn card_part(parts: &[(TenderKey, Money)]) -> Result<Option<(PaymentRef, Money)>, RefundError> {
    let mut cards = parts.iter().filter_map(|(key, amount)| match key {
        TenderKey::Card(original) => Some((*original, *amount)),
        TenderKey::Cash => None,
    });
    let first = cards.next();
    if cards.next().is_some() {
        return Err(RefundError::OneCardAtATime);
    }
    Ok(first)
}

/// A new refund's identity and circumstances, made by the caller.
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub id: RefundId,
    pub number: OrderNumber,
    pub reason: Option<RefundReason>,
    pub cashier: Option<StaffRef>,
    pub approval: Option<Approval>,
    /// The shift whose drawer gives the cash back.
    pub shift: Option<crate::ids::ShiftId>,
    /// Give back the tips of the order's card payments too (all that is
    /// left of them).
    pub tip: bool,
    pub now: Timestamp,
}

/// Why the order cannot be voided now, in the cashier's words; `None`
/// when it can. Besides the order's own rules ([`Order::can_void`]), an
/// order with a refund that did not fail is never voided (money already
/// went back for it), nor one whose cash another shift than `open_shift`
/// counted ([`Order::cash_counted_elsewhere`]).
pub fn void_refusal<'a>(
    order: &Order,
    attempts: impl IntoIterator<Item = &'a crate::card::Attempt>,
    refunds: &[Refund],
    open_shift: Option<crate::ids::ShiftId>,
) -> Option<String> {
    match order.can_void(attempts) {
        Err(e) => Some(e.to_string()),
        Ok(()) if order.cash_counted_elsewhere(open_shift) => Some(
            "This sale's cash was counted when its shift closed: give the money back as a refund."
                .into(),
        ),
        Ok(()) if refunds.iter().any(|r| r.status() != RefundStatus::Failed) => {
            Some("This order has refunds: it cannot be voided.".into())
        }
        Ok(()) => None,
    }
}

impl Refund {
    /// Whether `next`, a later version of this refund, keeps what a refund
    /// never changes: its order (and so its kind: with or without a
    /// receipt), the order's number and its own number.
    pub fn check_next(&self, next: &Refund) -> Result<(), RefundError> {
        let moved = if next.order_id != self.order_id {
            Some("order_id")
        } else if next.order_number != self.order_number {
            Some("order_number")
        } else if next.number != self.number {
            Some("number")
        } else {
            None
        };
        moved.map_or(Ok(()), |field| Err(RefundError::Moved(field)))
    }

    /// The cash the cashier hands back for this refund; `None` when no
    /// part of it is cash.
    pub fn cash_back(&self) -> Option<Money> {
        let mut cash = self.tenders.iter().filter_map(|t| match t {
            RefundTender::Cash { amount } => Some(*amount),
            RefundTender::Card { .. } => None,
        });
        let first = cash.next()?;
        Some(cash.fold(first, |sum, a| sum.checked_add(a).unwrap_or(sum)))
    }

    /// A refund of `returns` of `order`, after its `refunds` so far, going
    /// back to `tenders`, whose card parts start pending: the record is
    /// written before any request leaves for the bridge.
    pub fn create(
        new: NewRefund,
        order: &Order,
        refunds: &[Refund],
        returns: &[Returned],
        tenders: Vec<RefundTender>,
    ) -> Result<Refund, RefundError> {
        if refunds.len() >= REFUNDS_PER_ORDER_MAX {
            return Err(RefundError::TooManyRefunds);
        }
        let (lines, totals) = price_refund(order, refunds, returns, new.tip)?;
        let priced_after = returned_before(order, refunds)?;
        if tenders
            .iter()
            .any(|t| card_state(t).is_some_and(|s| s != CardRefundState::Pending))
        {
            return Err(RefundError::invalid(
                "tenders",
                "a new card part starts pending",
            ));
        }
        check_tenders(&refundable(order, refunds)?, &tenders, totals.total, true)?;
        Ok(Refund {
            id: new.id,
            number: new.number,
            order_id: Some(order.id),
            order_number: Some(order.number.clone()),
            created_at: new.now,
            updated_at: new.now,
            currency: order.currency,
            reason: new.reason,
            lines,
            totals,
            priced_after,
            tenders,
            version: 1,
            items: Vec::new(),
            cashier: new.cashier,
            approved_by: new.approval,
            shift: new.shift,
        })
    }

    /// A return without a receipt: the items the customer brings back, rung
    /// up at today's prices (`cart`, without discounts), priced by the
    /// sale's rules, all of it back in cash. The register allows it only
    /// when its settings do.
    pub fn without_receipt(new: NewRefund, cart: &Cart) -> Result<Refund, RefundError> {
        if cart.is_empty() {
            return Err(RefundError::NothingReturned);
        }
        if cart.order_discount.is_some() || cart.lines.iter().any(|l| l.discount.is_some()) {
            return Err(RefundError::invalid(
                "items",
                "a return without a receipt has no discounts",
            ));
        }
        let (lines, totals) = price_items(cart.currency, &cart.lines)?;
        Ok(Refund {
            id: new.id,
            number: new.number,
            order_id: None,
            order_number: None,
            created_at: new.now,
            updated_at: new.now,
            currency: cart.currency,
            reason: new.reason,
            lines,
            totals: totals.clone(),
            priced_after: Vec::new(),
            tenders: vec![RefundTender::Cash {
                amount: totals.total,
            }],
            version: 1,
            items: cart.lines.clone(),
            cashier: new.cashier,
            approved_by: new.approval,
            shift: new.shift,
        })
    }

    /// Checks a return without a receipt received from elsewhere: its lines
    /// and amounts are what its items cost by the sale's rules, and all of
    /// it went back in cash.
    pub fn validate_without_receipt(&self) -> Result<(), RefundError> {
        if self.order_id.is_some() || self.order_number.is_some() {
            return Err(RefundError::invalid(
                "order_id",
                "a return without a receipt has no order",
            ));
        }
        if self.version == 0 {
            return Err(RefundError::invalid("version", "must be at least 1"));
        }
        if self.updated_at < self.created_at {
            return Err(RefundError::invalid("updated_at", "is before created_at"));
        }
        if self.items.is_empty() {
            return Err(RefundError::NothingReturned);
        }
        if self.items.iter().any(|l| l.discount.is_some()) {
            return Err(RefundError::invalid("items", "has no discounts"));
        }
        let (lines, totals) = price_items(self.currency, &self.items)?;
        if lines != self.lines {
            return Err(RefundError::invalid("lines", "are not the items' lines"));
        }
        if totals != self.totals {
            return Err(RefundError::invalid(
                "totals",
                "are not what the items cost",
            ));
        }
        let cash = [RefundTender::Cash {
            amount: totals.total,
        }];
        if self.tenders != cash {
            return Err(RefundError::invalid(
                "tenders",
                "a return without a receipt goes back in cash, all of it",
            ));
        }
        Ok(())
    }

    /// Where the refund stands, from its parts.
    pub fn status(&self) -> RefundStatus {
        let states = || self.tenders.iter().filter_map(card_state);
        if !self.tenders.iter().any(RefundTender::counts) {
            RefundStatus::Failed
        } else if states().any(|s| s == CardRefundState::Pending) {
            RefundStatus::InDoubt
        } else if self.owed().is_ok_and(|m| !m.is_zero()) {
            RefundStatus::Owed
        } else {
            RefundStatus::Completed
        }
    }

    /// What is still owed to the customer: the total less every part that
    /// counts.
    pub fn owed(&self) -> Result<Money, MoneyError> {
        let given = Money::sum(
            self.currency,
            self.tenders
                .iter()
                .filter(|t| t.counts())
                .map(RefundTender::amount),
        )?;
        self.totals.total.checked_sub(given)
    }

    /// What a refund with a failed card part still owes, and the payment
    /// whose card it goes back to ("Refund €x to the card again"); `None`
    /// unless it owes something and nothing is pending.
    pub fn owed_to_card(&self) -> Option<(PaymentRef, Money)> {
        if self.status() != RefundStatus::Owed {
            return None;
        }
        let original = self.tenders.iter().rev().find_map(|t| match t {
            RefundTender::Card {
                original,
                state: CardRefundState::Failed,
                ..
            } => Some(*original),
            _ => None,
        })?;
        Some((original, self.owed().ok()?))
    }

    /// The card parts whose result is not known yet.
    pub fn pending_cards(&self) -> impl Iterator<Item = PaymentRef> + '_ {
        self.tenders.iter().filter_map(|t| match t {
            RefundTender::Card {
                reference,
                state: CardRefundState::Pending,
                ..
            } => Some(*reference),
            _ => None,
        })
    }

    /// The terminal answered a card part: approved, or authoritatively
    /// failed. Only a pending part changes; returns whether one did.
    pub fn settle_card(&mut self, reference: PaymentRef, approved: bool, now: Timestamp) -> bool {
        let part = self.tenders.iter_mut().find_map(|t| match t {
            RefundTender::Card {
                reference: r,
                state: state @ CardRefundState::Pending,
                ..
            } if *r == reference => Some(state),
            _ => None,
        });
        let Some(state) = part else {
            return false;
        };
        *state = if approved {
            CardRefundState::Approved
        } else {
            CardRefundState::Failed
        };
        self.touch(now);
        true
    }

    /// Gives what is owed after a failed card part another way: cash (up to
    /// the cash paid) or another card part, pending.
    pub fn give_owed(
        &mut self,
        tender: RefundTender,
        order: &Order,
        others: &[Refund],
        now: Timestamp,
    ) -> Result<(), RefundError> {
        let owed = self.owed()?;
        if tender.amount().minor() > owed.minor() {
            return Err(RefundError::TendersDoNotAddUp {
                given: tender.amount(),
                total: owed,
            });
        }
        if card_state(&tender).is_some_and(|s| s != CardRefundState::Pending) {
            return Err(RefundError::invalid(
                "tenders",
                "a new card part starts pending",
            ));
        }
        let earlier: Vec<Refund> = others.iter().filter(|r| r.id != self.id).cloned().collect();
        let mut tenders = self.tenders.clone();
        tenders.push(tender);
        check_tenders(
            &refundable(order, &earlier)?,
            &tenders,
            self.totals.total,
            false,
        )?;
        self.tenders = tenders;
        self.touch(now);
        Ok(())
    }

    fn touch(&mut self, now: Timestamp) {
        self.updated_at = now.max(self.updated_at);
        self.version += 1;
    }

    /// Checks a refund received from elsewhere (the back office's `PUT`)
    /// against its order and the order's other refunds: its own arithmetic,
    /// and that no line, tender or total goes beyond what was paid.
    pub fn validate_against(&self, order: &Order, others: &[Refund]) -> Result<(), RefundError> {
        if self.order_id != Some(order.id) {
            return Err(RefundError::OtherOrder);
        }
        if !self.items.is_empty() {
            return Err(RefundError::invalid(
                "items",
                "only a return without a receipt lists items",
            ));
        }
        if self.order_number.as_ref() != Some(&order.number) {
            return Err(RefundError::invalid(
                "order_number",
                "is not the order's number",
            ));
        }
        if self.currency != order.currency {
            return Err(RefundError::invalid(
                "currency",
                "must be the order's currency",
            ));
        }
        if self.version == 0 {
            return Err(RefundError::invalid("version", "must be at least 1"));
        }
        if self.updated_at < self.created_at {
            return Err(RefundError::invalid("updated_at", "is before created_at"));
        }
        ensure_refundable(order)?;
        let earlier: Vec<Refund> = others.iter().filter(|r| r.id != self.id).cloned().collect();
        if earlier.len() >= REFUNDS_PER_ORDER_MAX {
            return Err(RefundError::TooManyRefunds);
        }
        let counts = self.status() != RefundStatus::Failed;
        self.check_lines(order, &earlier, counts)?;
        let left = refundable(order, &earlier)?;
        self.check_tip(&left, counts)?;
        check_tenders(&left, &self.tenders, self.totals.total, false)
    }

    /// A tip given back is above zero and, when the refund counts, all the
    /// order's tips left: never more than the customer added.
    fn check_tip(&self, left: &Refundable, counts: bool) -> Result<(), RefundError> {
        match self.totals.tip {
            None => Ok(()),
            Some(t) if t.is_negative() || t.is_zero() || t.currency() != self.currency => Err(
                RefundError::invalid("totals.tip", "must be above zero, in the order's currency"),
            ),
            Some(t) if counts && t.minor() > left.tip_left.minor() => Err(RefundError::NoTipLeft),
            Some(_) => Ok(()),
        }
    }

    fn check_lines(
        &self,
        order: &Order,
        earlier: &[Refund],
        counts: bool,
    ) -> Result<(), RefundError> {
        if self.lines.is_empty() {
            // A tip alone may go back; then the goods' amounts are nothing.
            let nothing = RefundTotals::nothing(self.currency);
            return match self.totals.tip {
                Some(_) if self.totals.goods()? == nothing => Ok(()),
                _ => Err(RefundError::NothingReturned),
            };
        }
        let left = refundable(order, earlier)?;
        let mut seen = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            let sold = order
                .lines
                .get(l.line)
                .ok_or(RefundError::UnknownLine(l.line))?;
            let field = |f: &str| format!("lines[{i}].{f}");
            if seen.contains(&l.line) {
                return Err(RefundError::invalid(field("line"), "is returned twice"));
            }
            seen.push(l.line);
            if l.product_id != sold.product_id || l.sku != sold.sku || l.name != sold.name {
                return Err(RefundError::invalid(
                    field("product_id"),
                    "is not the order's line",
                ));
            }
            if l.quantity == 0 || l.quantity > sold.quantity {
                return Err(RefundError::invalid(
                    field("quantity"),
                    "must be 1 up to what was sold",
                ));
            }
            if counts && l.quantity > left.lines[l.line].left {
                return Err(RefundError::TooMany {
                    name: sold.name.clone(),
                    left: left.lines[l.line].left,
                });
            }
        }
        self.check_prices(order)
    }

    /// The amounts are the worth of these quantities from what the refund
    /// says was returned before it (`priced_after`, each line within what was
    /// sold): the sale's rounding, whatever the back office holds of the
    /// earlier refunds. The caps keep the sum within what was paid.
    fn check_prices(&self, order: &Order) -> Result<(), RefundError> {
        let mut before = vec![0u32; order.lines.len()];
        for r in &self.priced_after {
            let sold = order
                .lines
                .get(r.line)
                .ok_or(RefundError::UnknownLine(r.line))?;
            let slot = &mut before[r.line];
            if *slot > 0 || r.quantity == 0 || r.quantity > sold.quantity {
                return Err(RefundError::invalid(
                    "priced_after",
                    "names each line once, with 1 up to what was sold",
                ));
            }
            *slot = r.quantity;
        }
        let returns: Vec<Returned> = self
            .lines
            .iter()
            .map(|l| Returned {
                line: l.line,
                quantity: l.quantity,
            })
            .collect();
        let (lines, totals) = price_after(order, &before, &returns)?;
        if lines == self.lines && totals == self.totals.goods()? {
            Ok(())
        } else {
            Err(RefundError::invalid(
                "totals",
                "do not match the order's prices for these quantities",
            ))
        }
    }
}

fn card_state(t: &RefundTender) -> Option<CardRefundState> {
    match t {
        RefundTender::Card { state, .. } => Some(*state),
        RefundTender::Cash { .. } => None,
    }
}

/// Whether an order is partly or wholly refunded, by its counted refunds.
pub fn refunded_state(order: &Order, refunds: &[Refund]) -> RefundedState {
    let Ok(left) = refundable(order, refunds) else {
        return RefundedState::None;
    };
    let returned: u64 = left.lines.iter().map(|l| u64::from(l.refunded)).sum();
    if returned == 0 {
        RefundedState::None
    } else if left.lines.iter().all(|l| l.left == 0) {
        RefundedState::Fully
    } else {
        RefundedState::Partly
    }
}

/// How much of an order is refunded, as Register Sales says it next to the
/// order's status: "refund pending" while a card part's result is not
/// known (never "refunded" before the terminal confirmed it), else
/// "partly refunded" or "refunded"; `None` when nothing went back.
pub fn refunds_label(order: &Order, refunds: &[Refund]) -> Option<&'static str> {
    let ours = refunds.iter().filter(|r| r.order_id == Some(order.id));
    if ours
        .into_iter()
        .any(|r| r.status() == RefundStatus::InDoubt)
    {
        return Some("refund pending");
    }
    refunded_state(order, refunds).label()
}

/// A return's lines and amounts from its items, by the sale's rules.
fn price_items(
    currency: Currency,
    items: &[CartLine],
) -> Result<(Vec<RefundLine>, RefundTotals), RefundError> {
    let t = compute_totals(currency, items, None).map_err(|e| RefundError::invalid("items", e))?;
    let lines: Vec<RefundLine> = items
        .iter()
        .zip(&t.lines)
        .enumerate()
        .map(|(line, (item, lt))| RefundLine {
            line,
            product_id: item.product_id.clone(),
            sku: item.sku.clone(),
            name: item.name.clone(),
            quantity: item.quantity,
            amount: lt.net,
        })
        .collect();
    let sum = Money::sum(currency, lines.iter().map(|l| l.amount))?;
    let totals = RefundTotals {
        lines: sum,
        taxes: t.taxes,
        exclusive_tax: t.exclusive_tax,
        tip: None,
        total: t.total,
    };
    Ok((lines, totals))
}

/// What the refund screen shows for the chosen returns: the amounts, and
/// where the money goes ("Cash: give back €4.50").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPreview {
    pub lines: Vec<RefundLine>,
    pub totals: RefundTotals,
    /// Each part: how the cashier knows the tender, and the amount.
    pub tenders: Vec<(TenderKey, String, Money)>,
}

/// The refund `returns` would make now, without making it: the same rules
/// [`Refund::create`] applies, for the screen to show before Confirm.
pub fn preview(
    order: &Order,
    refunds: &[Refund],
    returns: &[Returned],
    tip: bool,
) -> Result<RefundPreview, RefundError> {
    let (lines, totals) = price_refund(order, refunds, returns, tip)?;
    let left = refundable(order, refunds)?;
    let tenders = suggest_tenders(&left, totals.total)
        .into_iter()
        .map(|(key, amount)| {
            let label = left
                .tender(key)
                .map(|t| t.label.clone())
                .unwrap_or_default();
            (key, label, amount)
        })
        .collect();
    Ok(RefundPreview {
        lines,
        totals,
        tenders,
    })
}
