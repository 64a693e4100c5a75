//! Orders: a sale frozen at the moment it was rung up, and the rules for how
//! it may change afterwards.
//!
//! An order is born in the browser from the cart. Its id is a UUID v7 made
//! by the caller (time-ordered, so the back office's index stays append-only
//! and ids sort by creation), and its human number is
//! `<register>-<yyyymmdd>-<seq>` with a per-register sequence kept by the app.
//! It carries a snapshot of its lines and totals, so a later catalog change
//! never rewrites a past sale.
//!
//! Every change bumps [`Order::version`]. The back office upserts by
//! `(id, version)`: the same version twice is stored once, a newer one
//! replaces, an older one is ignored. That is what makes the sync idempotent.
//!
//! Status rules (the seed article's, and what a store owner expects):
//!
//! - `open` → `paid` only when the tenders cover the total;
//! - `open` → `unpaid` when the cashier closes a card payment whose result
//!   never arrived ("Close & back to Register"): the payment is *pending
//!   confirmation*, and an approval found later still turns the order paid;
//! - an order with a card payment in doubt (live in the popup, or closed
//!   pending confirmation) cannot be voided, and its cart cannot change: the
//!   customer may have been charged, for exactly that total;
//! - a paid order with a card tender is not voided here: the card must be
//!   refunded first;
//! - a card approval is always recorded on its order: as a tender when the
//!   order can take it, otherwise (the order was meanwhile paid another way,
//!   voided, or the approval is more than what is due) as a **refund due**,
//!   shown with its amount. An approval is never dropped.

use crate::card::{Attempt, CardError};
pub use crate::card::{CardDetails, MASKED_PAN_DIGITS_MAX};
use crate::cart::{compute_totals, Cart, CartError, CartLine, Discount, Totals};
use crate::ids::IdError;
use crate::ids::PaymentRef;
pub use crate::ids::{OrderId, RegisterId, REGISTER_ID_LEN_MAX};
use crate::money::{Currency, Money, MoneyError};
use crate::staff::{Approval, StaffRef};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Highest sequence number of one register on one day; 6 digits is far
/// beyond a day's sales and keeps order numbers short.
pub const SEQ_MAX: u32 = 999_999;
/// Most tenders on one order (split payments): enough for a group paying
/// separately, small enough to fit a receipt.
pub const TENDERS_MAX: usize = 20;
/// Most card approvals recorded beyond an order's total (refunds due): each
/// is a payment the terminal really took; more than a handful on one order
/// means something is badly wrong, and the order stays readable.
pub const REFUNDS_DUE_MAX: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    #[error("order id {0:?} is not a UUID v7")]
    BadId(String),
    #[error("register id {0:?}: use 1 to {REGISTER_ID_LEN_MAX} letters, digits or '_'")]
    BadRegisterId(String),
    #[error("date {0:?} is not a valid yyyy-mm-dd date")]
    BadDate(String),
    #[error("The tablet's clock says {0}: set the right date and time, then try again. Nothing was lost.")]
    WrongClock(String),
    #[error("order number {0:?} is not <register>-<yyyymmdd>-<seq>")]
    BadNumber(String),
    #[error("an order needs at least one line")]
    Empty,
    #[error("this order is {status}; only an open order can take a payment")]
    NotOpen { status: &'static str },
    #[error("the payment ({amount}) is more than the amount due ({due})")]
    Overpaid { amount: Money, due: Money },
    #[error("a payment must be more than zero")]
    ZeroTender,
    #[error("cash received ({received}) is less than the amount it pays ({amount})")]
    CashShort { received: Money, amount: Money },
    #[error("an order takes at most {TENDERS_MAX} payments")]
    TooManyTenders,
    #[error("card payment {0} is not the one this order is waiting for")]
    UnexpectedPayment(PaymentRef),
    #[error("part of this order is paid: finish the payment before changing the sale")]
    PartlyPaid,
    #[error("enter the amount tendered")]
    NoAmount,
    #[error("{received} is far more than the {due} due: check the amount tendered")]
    AbsurdTender { received: Money, due: Money },
    #[error("Payment pending confirmation — do not void")]
    VoidWhilePending,
    #[error("A card payment is in progress for this sale: finish it on the terminal first")]
    CardInProgress,
    #[error("Part of this sale is paid: finish the payment first")]
    CartLocked,
    #[error("a card approval is recorded at most {REFUNDS_DUE_MAX} times beyond an order's total")]
    TooManyRefundsDue,
    #[error("refund the card payment before voiding this order")]
    VoidNeedsRefund,
    #[error("this order is already voided")]
    AlreadyVoided,
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Cart(#[from] CartError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl From<CardError> for OrderError {
    fn from(e: CardError) -> OrderError {
        OrderError::invalid(e.field, e.message)
    }
}

impl From<IdError> for OrderError {
    fn from(e: IdError) -> OrderError {
        match e {
            IdError::Order(s) => OrderError::BadId(s),
            IdError::Register(s) => OrderError::BadRegisterId(s),
            other => OrderError::invalid("id", other),
        }
    }
}

impl OrderError {
    fn invalid(field: impl Into<String>, message: impl fmt::Display) -> OrderError {
        OrderError::Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// The field a validation error names, for a 422 body.
    pub fn field(&self) -> Option<&str> {
        match self {
            OrderError::Invalid { field, .. } => Some(field),
            OrderError::BadId(_) => Some("id"),
            OrderError::BadNumber(_) | OrderError::BadRegisterId(_) | OrderError::BadDate(_) => {
                Some("number")
            }
            OrderError::Empty => Some("lines"),
            _ => None,
        }
    }
}

/// The store's business day, in the store's time zone (the caller decides
/// which day "now" belongs to; core reads no clock and no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessDate {
    year: u16,
    month: u8,
    day: u8,
}

impl BusinessDate {
    pub fn new(year: u16, month: u8, day: u8) -> Result<BusinessDate, OrderError> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if (2000..=9999).contains(&year) && day >= 1 && day <= days {
            Ok(BusinessDate { year, month, day })
        } else {
            Err(OrderError::BadDate(format!(
                "{year:04}-{month:02}-{day:02}"
            )))
        }
    }

    /// The business day of `now` on a tablet `utc_offset_min` minutes ahead
    /// of UTC. A clock outside the years 2000 to 9999 is an operating error
    /// the cashier can fix, not a reason to stop the register.
    pub fn at(now: Timestamp, utc_offset_min: i32) -> Result<BusinessDate, OrderError> {
        let (year, month, day) = crate::time::civil_date(now, utc_offset_min);
        let wrong = || OrderError::WrongClock(format!("{year:04}-{month:02}-{day:02}"));
        let year = u16::try_from(year).map_err(|_| wrong())?;
        BusinessDate::new(year, month, day).map_err(|_| wrong())
    }

    /// Midnight UTC at the start of this date.
    pub fn midnight_utc(&self) -> Timestamp {
        crate::time::midnight_utc(i64::from(self.year), self.month, self.day)
    }

    /// `yyyymmdd`, as in order numbers.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    fn parse_compact(s: &str) -> Option<BusinessDate> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        BusinessDate::new(
            s[0..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..8].parse().ok()?,
        )
        .ok()
    }
}

impl FromStr for BusinessDate {
    type Err = OrderError;
    /// `yyyy-mm-dd`.
    fn from_str(s: &str) -> Result<BusinessDate, OrderError> {
        let bad = || OrderError::BadDate(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        BusinessDate::parse_compact(&format!("{}{}{}", &s[0..4], &s[5..7], &s[8..10]))
            .ok_or_else(bad)
    }
}

impl TryFrom<String> for BusinessDate {
    type Error = OrderError;
    fn try_from(s: String) -> Result<BusinessDate, OrderError> {
        s.parse()
    }
}

impl From<BusinessDate> for String {
    fn from(d: BusinessDate) -> String {
        d.to_string()
    }
}

impl fmt::Display for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// `<register>-<yyyymmdd>-<seq>`, e.g. `R1-20261127-0042`: what the cashier
/// reads to a customer and what a receipt prints. Sequence numbers are
/// zero-padded to four digits; only this canonical form parses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderNumber {
    register: RegisterId,
    date: BusinessDate,
    seq: u32,
}

impl OrderNumber {
    pub fn new(
        register: RegisterId,
        date: BusinessDate,
        seq: u32,
    ) -> Result<OrderNumber, OrderError> {
        if seq == 0 || seq > SEQ_MAX {
            return Err(OrderError::BadNumber(format!(
                "{register}-{}-{seq}",
                date.compact()
            )));
        }
        Ok(OrderNumber {
            register,
            date,
            seq,
        })
    }

    pub fn register(&self) -> &RegisterId {
        &self.register
    }

    pub fn date(&self) -> BusinessDate {
        self.date
    }

    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl FromStr for OrderNumber {
    type Err = OrderError;
    fn from_str(s: &str) -> Result<OrderNumber, OrderError> {
        let bad = || OrderError::BadNumber(s.to_owned());
        let mut parts = s.split('-');
        let (Some(r), Some(d), Some(q), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let register = RegisterId::new(r).map_err(|_| bad())?;
        let date = BusinessDate::parse_compact(d).ok_or_else(bad)?;
        if q.is_empty() || q.len() > 6 || !q.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n = OrderNumber::new(register, date, q.parse().map_err(|_| bad())?)?;
        // Only the canonical spelling: "R1-20261127-42" and "-00042" are not
        // the same text as the printed number, so they are refused.
        if n.to_string() != s {
            return Err(bad());
        }
        Ok(n)
    }
}

impl TryFrom<String> for OrderNumber {
    type Error = OrderError;
    fn try_from(s: String) -> Result<OrderNumber, OrderError> {
        s.parse()
    }
}

impl From<OrderNumber> for String {
    fn from(n: OrderNumber) -> String {
        n.to_string()
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}",
            self.register,
            self.date.compact(),
            self.seq
        )
    }
}

/// One payment towards an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Tender {
    /// `amount` is what goes towards the order; `received` is what the
    /// customer handed over; the difference is the change given back.
    Cash { amount: Money, received: Money },
    Card {
        amount: Money,
        reference: PaymentRef,
        #[serde(flatten)]
        card: CardDetails,
    },
}

/// How a tender reads on a receipt and in Register Sales: "Cash €5.00
/// (received €10.00)", "Card €4.50 + tip €0.50 (Visa •••• 4242)".
impl fmt::Display for Tender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tender::Cash { amount, received } => write!(f, "Cash {amount} (received {received})"),
            Tender::Card { amount, card, .. } => {
                write!(f, "Card {amount}")?;
                if let Some(tip) = card.tip {
                    write!(f, " + tip {tip}")?;
                }
                write!(f, " ({} •••• {})", card.brand, card.last4)
            }
        }
    }
}

/// Cash handed over is at most this many times the amount due (and at most
/// [`CASH_TENDER_MAX_MAJOR`] major units above it): more is a typing
/// mistake (an extra zero), not a customer.
pub const CASH_TENDER_MAX_FACTOR: i64 = 100;
/// Cash handed over may always exceed the amount due by up to this many
/// major units (a 500 note for a small purchase).
pub const CASH_TENDER_MAX_MAJOR: i64 = 1_000;

/// Checks what a cashier typed as cash tendered for `due`.
/// The change to hand back for `received` against `due`: `None` when the
/// cash does not cover what is due (or is in another currency).
pub fn change_for(received: Money, due: Money) -> Option<Money> {
    received.checked_sub(due).ok().filter(|c| !c.is_negative())
}

pub fn check_cash(received: Money, due: Money) -> Result<(), OrderError> {
    if received.is_negative() {
        return Err(MoneyError::Negative.into());
    }
    if received.is_zero() {
        return Err(OrderError::ZeroTender);
    }
    let slack = CASH_TENDER_MAX_MAJOR.saturating_mul(due.currency().minor_per_major());
    let limit = due
        .minor()
        .saturating_mul(CASH_TENDER_MAX_FACTOR)
        .max(due.minor().saturating_add(slack));
    if received.minor() > limit {
        return Err(OrderError::AbsurdTender { received, due });
    }
    Ok(())
}

/// Quick amounts for the cash keypad: the exact amount, then the next round
/// amounts a customer is likely to hand over (next whole unit, next 5, 10,
/// 20, 50, 100 units), without repeats, at most five.
pub fn quick_cash(due: Money) -> Vec<Money> {
    let per = due.currency().minor_per_major();
    let mut out = vec![due];
    for step in [1, 5, 10, 20, 50, 100] {
        let unit = step * per;
        let next = (due.minor() / unit + 1) * unit;
        if let Ok(m) = Money::new(next, due.currency()) {
            if !out.contains(&m) && m.minor() > due.minor() {
                out.push(m);
            }
        }
        if out.len() == 5 {
            break;
        }
    }
    out
}

impl Tender {
    /// Cash towards `due`: the whole of `received` when it is less than the
    /// amount due (a split payment), else exactly the amount due with change.
    pub fn cash(received: Money, due: Money) -> Result<Tender, OrderError> {
        if received.is_negative() || received.is_zero() {
            return Err(OrderError::ZeroTender);
        }
        let amount = if received.minor() < due.minor() {
            received
        } else {
            due
        };
        Ok(Tender::Cash { amount, received })
    }

    pub fn amount(&self) -> Money {
        match self {
            Tender::Cash { amount, .. } | Tender::Card { amount, .. } => *amount,
        }
    }

    /// Change given back: zero for cards.
    pub fn change(&self) -> Result<Money, MoneyError> {
        match self {
            Tender::Cash { amount, received } => received.checked_sub(*amount),
            Tender::Card { amount, .. } => Ok(Money::zero(amount.currency())),
        }
    }

    pub fn method(&self) -> &'static str {
        match self {
            Tender::Cash { .. } => "cash",
            Tender::Card { .. } => "card",
        }
    }
}

/// Why an order is unpaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnpaidReason {
    /// The terminal may have charged the customer; the result has not
    /// reached the register yet. Reconciliation will find out.
    PendingConfirmation,
    /// The payment is known to have failed (declined, or unknown to the
    /// bridge and the back office after the terminal's timeout): collect again.
    PaymentFailed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OrderStatus {
    Open,
    Paid,
    Unpaid {
        reference: PaymentRef,
        reason: UnpaidReason,
    },
    Voided,
}

impl OrderStatus {
    /// The word Register Sales shows.
    pub fn label(&self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Paid => "paid",
            OrderStatus::Unpaid { .. } => "unpaid",
            OrderStatus::Voided => "voided",
        }
    }

    pub fn is_pending_confirmation(&self) -> bool {
        matches!(
            self,
            OrderStatus::Unpaid {
                reason: UnpaidReason::PendingConfirmation,
                ..
            }
        )
    }
}

/// A card approval the order could not take as a tender (it was meanwhile
/// paid another way, voided, or the approval exceeds what was due): the money
/// is the customer's and must go back. Recorded, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundDue {
    pub amount: Money,
    pub reference: PaymentRef,
    #[serde(flatten)]
    pub card: CardDetails,
}

/// What [`Order::record_card`] did with an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardRecorded {
    /// A tender of the order.
    Tender,
    /// Beyond what the order could take: a refund due.
    RefundDue,
    /// This approval was recorded before: nothing changed.
    AlreadyRecorded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub number: OrderNumber,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub currency: Currency,
    pub lines: Vec<CartLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_discount: Option<Discount>,
    pub totals: Totals,
    #[serde(default)]
    pub tenders: Vec<Tender>,
    /// Card approvals the order could not take: money to give back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refund_due: Vec<RefundDue>,
    pub status: OrderStatus,
    /// Starts at 1, +1 on every change; the back office keeps the highest.
    pub version: u32,
    /// Who rang it up (absent on orders from before sign-in existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashier: Option<StaffRef>,
    /// Who voided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_by: Option<StaffRef>,
    /// A manager's approvals of what a cashier may not do alone (a large
    /// discount, the void).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    /// The shift it was rung up in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<crate::ids::ShiftId>,
}

impl Order {
    /// Freezes a cart into an open order.
    pub fn from_cart(
        id: OrderId,
        number: OrderNumber,
        cart: &Cart,
        now: Timestamp,
    ) -> Result<Order, OrderError> {
        if cart.is_empty() {
            return Err(OrderError::Empty);
        }
        let totals = cart.totals()?;
        Ok(Order {
            id,
            number,
            created_at: now,
            updated_at: now,
            currency: cart.currency,
            lines: cart.lines.clone(),
            order_discount: cart.order_discount,
            totals,
            tenders: Vec::new(),
            refund_due: Vec::new(),
            status: OrderStatus::Open,
            version: 1,
            cashier: None,
            voided_by: None,
            approvals: cart.approvals.clone(),
            shift: None,
        })
    }

    /// Takes the cart's new content while nothing has been paid yet (the
    /// cashier went back to the register and changed the sale).
    pub fn replace_cart(&mut self, cart: &Cart, now: Timestamp) -> Result<(), OrderError> {
        if self.status != OrderStatus::Open {
            return Err(OrderError::NotOpen {
                status: self.status.label(),
            });
        }
        if !self.tenders.is_empty() {
            return Err(OrderError::PartlyPaid);
        }
        if cart.is_empty() {
            return Err(OrderError::Empty);
        }
        if cart.lines == self.lines
            && cart.order_discount == self.order_discount
            && cart.currency == self.currency
        {
            return Ok(());
        }
        self.totals = cart.totals()?;
        self.lines = cart.lines.clone();
        self.order_discount = cart.order_discount;
        self.approvals = cart.approvals.clone();
        self.currency = cart.currency;
        self.touch(now);
        Ok(())
    }

    /// Whether the order holds exactly this cart.
    pub fn holds(&self, cart: &Cart) -> bool {
        cart.lines == self.lines
            && cart.order_discount == self.order_discount
            && cart.currency == self.currency
    }

    pub fn register(&self) -> &RegisterId {
        self.number.register()
    }

    /// Σ tenders.
    pub fn tendered(&self) -> Result<Money, MoneyError> {
        Money::sum(self.currency, self.tenders.iter().map(Tender::amount))
    }

    /// What is still to pay; zero once paid.
    pub fn due(&self) -> Result<Money, MoneyError> {
        let due = self.totals.total.checked_sub(self.tendered()?)?;
        Ok(if due.is_negative() {
            Money::zero(self.currency)
        } else {
            due
        })
    }

    /// Σ change given back on cash tenders.
    pub fn change(&self) -> Result<Money, MoneyError> {
        self.tenders
            .iter()
            .try_fold(Money::zero(self.currency), |acc, t| {
                acc.checked_add(t.change()?)
            })
    }

    /// A new version. A clock that stepped back never moves `updated_at`
    /// backwards (the back office checks it is not before `created_at`).
    fn touch(&mut self, now: Timestamp) {
        self.version = self.version.saturating_add(1);
        self.updated_at = now.max(self.updated_at);
    }

    fn check_tender(&self, tender: &Tender) -> Result<(), OrderError> {
        let amount = tender.amount();
        if amount.currency() != self.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: amount.currency(),
            }
            .into());
        }
        if amount.is_negative() || amount.is_zero() {
            return Err(OrderError::ZeroTender);
        }
        let due = self.due()?;
        if amount.minor() > due.minor() {
            return Err(OrderError::Overpaid { amount, due });
        }
        match tender {
            Tender::Cash { received, amount } if received.minor() < amount.minor() => {
                Err(OrderError::CashShort {
                    received: *received,
                    amount: *amount,
                })
            }
            Tender::Card { card, .. } => Ok(card.validate_in(self.currency)?),
            _ => Ok(()),
        }?;
        if self.tenders.len() >= TENDERS_MAX {
            return Err(OrderError::TooManyTenders);
        }
        Ok(())
    }

    /// Records a payment on an open order. The order turns paid when the
    /// tenders cover the total; otherwise the rest stays due (split tender).
    pub fn add_tender(&mut self, tender: Tender, now: Timestamp) -> Result<(), OrderError> {
        if self.status != OrderStatus::Open {
            return Err(OrderError::NotOpen {
                status: self.status.label(),
            });
        }
        self.check_tender(&tender)?;
        self.tenders.push(tender);
        if self.due()?.is_zero() {
            self.status = OrderStatus::Paid;
        }
        self.touch(now);
        Ok(())
    }

    /// "Close & back to Register": the card result never arrived. The order
    /// leaves the register as unpaid, its payment pending confirmation.
    pub fn close_unpaid(
        &mut self,
        reference: PaymentRef,
        now: Timestamp,
    ) -> Result<(), OrderError> {
        if self.status != OrderStatus::Open {
            return Err(OrderError::NotOpen {
                status: self.status.label(),
            });
        }
        self.status = OrderStatus::Unpaid {
            reference,
            reason: UnpaidReason::PendingConfirmation,
        };
        self.touch(now);
        Ok(())
    }

    /// Records a card approval, found live, by reconciliation or by
    /// "Download". Never refuses a real approval: when the order cannot take
    /// it as a tender (paid another way meanwhile, voided, more than is
    /// due), it is kept as a refund due. Idempotent by reference: the same
    /// approval twice changes nothing the second time. Errors only for an
    /// approval that is not well-formed (currency, card details, amount).
    pub fn record_card(
        &mut self,
        amount: Money,
        reference: PaymentRef,
        card: CardDetails,
        now: Timestamp,
    ) -> Result<CardRecorded, OrderError> {
        let as_tender = self
            .tenders
            .iter()
            .any(|t| matches!(t, Tender::Card { reference: r, .. } if *r == reference));
        if as_tender || self.refund_due.iter().any(|r| r.reference == reference) {
            return Ok(CardRecorded::AlreadyRecorded);
        }
        let tender = Tender::Card {
            amount,
            reference,
            card: card.clone(),
        };
        let takes_tenders = matches!(self.status, OrderStatus::Open | OrderStatus::Unpaid { .. });
        match self.check_tender(&tender) {
            Ok(()) if takes_tenders => {
                self.tenders.push(tender);
                if self.due()?.is_zero() {
                    self.status = OrderStatus::Paid;
                }
                self.touch(now);
                Ok(CardRecorded::Tender)
            }
            Ok(()) | Err(OrderError::Overpaid { .. } | OrderError::TooManyTenders) => {
                if amount.currency() != self.currency || amount.is_negative() || amount.is_zero() {
                    return Err(OrderError::ZeroTender);
                }
                card.validate_in(self.currency)?;
                if self.refund_due.len() >= REFUNDS_DUE_MAX {
                    return Err(OrderError::TooManyRefundsDue);
                }
                self.refund_due.push(RefundDue {
                    amount,
                    reference,
                    card,
                });
                self.touch(now);
                Ok(CardRecorded::RefundDue)
            }
            Err(e) => Err(e),
        }
    }

    /// The tips customers added on the terminal to the order's card
    /// payments: charged on top of the order, never part of its total.
    pub fn tips(&self) -> Result<Money, MoneyError> {
        let tips = self.tenders.iter().filter_map(|t| match t {
            Tender::Card { card, .. } => card.tip,
            Tender::Cash { .. } => None,
        });
        Money::sum(self.currency, tips)
    }

    /// Whether cash it took was counted when its shift closed: `open` (the
    /// register's open shift) is another. That cash goes back as a refund,
    /// which the open shift counts; a void would take it from a drawer
    /// that never held it.
    pub fn cash_counted_elsewhere(&self, open: Option<crate::ids::ShiftId>) -> bool {
        let took_cash = self
            .tenders
            .iter()
            .any(|t| matches!(t, Tender::Cash { .. }));
        took_cash && self.shift != open
    }

    /// The cash its tenders took (change never left the drawer).
    pub fn cash_taken(&self) -> Result<Money, MoneyError> {
        let cash = self.tenders.iter().filter_map(|t| match t {
            Tender::Cash { amount, .. } => Some(*amount),
            Tender::Card { .. } => None,
        });
        Money::sum(self.currency, cash)
    }

    /// What is owed back to the customer: the sum of the refunds due (each
    /// what its card was charged, a tip included).
    pub fn refund_due_total(&self) -> Result<Money, MoneyError> {
        let mut total = Money::zero(self.currency);
        for r in &self.refund_due {
            total = total.checked_add(r.card.charged(r.amount)?)?;
        }
        Ok(total)
    }

    /// A closed card payment was settled without a charge (declined,
    /// cancelled, never received): the order stays unpaid, flagged "payment
    /// failed — collect again". Returns whether the order changed: when it
    /// no longer waits for that payment (another approval paid it), it
    /// stays as it is.
    pub fn mark_payment_failed(&mut self, reference: PaymentRef, now: Timestamp) -> bool {
        match &self.status {
            OrderStatus::Unpaid {
                reference: waiting,
                reason: UnpaidReason::PendingConfirmation,
            } if *waiting == reference => {
                self.status = OrderStatus::Unpaid {
                    reference,
                    reason: UnpaidReason::PaymentFailed,
                };
                self.touch(now);
                true
            }
            _ => false,
        }
    }

    /// Whether the order may be voided, given its card attempts: never while
    /// a card payment is in doubt (live or pending confirmation), never with
    /// a card tender (refund it first).
    pub fn can_void<'a>(
        &self,
        attempts: impl IntoIterator<Item = &'a Attempt>,
    ) -> Result<(), OrderError> {
        if self.status == OrderStatus::Voided {
            return Err(OrderError::AlreadyVoided);
        }
        let in_doubt = attempts
            .into_iter()
            .any(|a| a.order_id == self.id && a.state.is_in_doubt());
        if in_doubt || self.status.is_pending_confirmation() {
            return Err(OrderError::VoidWhilePending);
        }
        if self
            .tenders
            .iter()
            .any(|t| matches!(t, Tender::Card { .. }))
        {
            return Err(OrderError::VoidNeedsRefund);
        }
        Ok(())
    }

    /// Voids the order, unless money may have moved.
    pub fn void<'a>(
        &mut self,
        attempts: impl IntoIterator<Item = &'a Attempt>,
        by: Option<StaffRef>,
        approval: Option<Approval>,
        now: Timestamp,
    ) -> Result<(), OrderError> {
        self.can_void(attempts)?;
        self.status = OrderStatus::Voided;
        self.voided_by = by;
        self.approvals.extend(approval);
        self.touch(now);
        Ok(())
    }

    /// Whether the sale's cart may still change: only while the order is
    /// open, nothing is paid and no card payment is live or in doubt (the
    /// terminal is charging exactly this total).
    pub fn accepts_cart_edits<'a>(
        &self,
        attempts: impl IntoIterator<Item = &'a Attempt>,
    ) -> Result<(), OrderError> {
        self.accepts_payment(attempts)?;
        if !self.tenders.is_empty() {
            return Err(OrderError::CartLocked);
        }
        Ok(())
    }

    /// Whether the order may take another payment now: open, and no card
    /// payment live or in doubt on it.
    pub fn accepts_payment<'a>(
        &self,
        attempts: impl IntoIterator<Item = &'a Attempt>,
    ) -> Result<(), OrderError> {
        if self.status != OrderStatus::Open {
            return Err(OrderError::NotOpen {
                status: self.status.label(),
            });
        }
        let live = attempts
            .into_iter()
            .any(|a| a.order_id == self.id && (a.state.is_in_doubt() || a.state.is_live()));
        if live {
            return Err(OrderError::CardInProgress);
        }
        Ok(())
    }

    /// The status as Register Sales and the order page say it, given the
    /// order's card attempts (its payments'; a refund in doubt is said by
    /// [`crate::refund::refunds_label`]).
    pub fn status_text<'a>(&self, attempts: impl IntoIterator<Item = &'a Attempt>) -> String {
        let in_doubt = attempts
            .into_iter()
            .any(|a| a.order_id == self.id && a.refund.is_none() && a.state.is_in_doubt());
        let mut text = match &self.status {
            OrderStatus::Unpaid {
                reason: UnpaidReason::PaymentFailed,
                ..
            } => "unpaid — payment failed, collect again".to_owned(),
            OrderStatus::Unpaid { .. } => "unpaid — payment pending confirmation".to_owned(),
            OrderStatus::Open if in_doubt => "open — card payment in progress".to_owned(),
            s => s.label().to_owned(),
        };
        if in_doubt && !matches!(self.status, OrderStatus::Unpaid { .. } | OrderStatus::Open) {
            text.push_str(" — a card payment is pending confirmation");
        }
        if let Ok(due) = self.refund_due_total() {
            if !due.is_zero() {
                text.push_str(&format!(" — refund due {due}"));
            }
        }
        text
    }

    /// Each line valid, priced in the order's currency, never below zero.
    fn validate_lines(&self) -> Result<(), OrderError> {
        for (i, line) in self.lines.iter().enumerate() {
            check_line(i, line)?;
            if line.unit_price.currency() != self.currency {
                return Err(OrderError::invalid(
                    format!("lines[{i}].unit_price"),
                    "is not in the order's currency",
                ));
            }
            if line.unit_price.is_negative() {
                return Err(OrderError::invalid(
                    format!("lines[{i}].unit_price"),
                    "must not be negative",
                ));
            }
            if line
                .list_price
                .is_some_and(|p| p.currency() != self.currency || p.is_negative())
            {
                return Err(OrderError::invalid(
                    format!("lines[{i}].list_price"),
                    "must be a price in the order's currency",
                ));
            }
        }
        Ok(())
    }

    /// The totals are what the lines add up to, by the sale's rules.
    fn validate_totals(&self) -> Result<(), OrderError> {
        let expected = compute_totals(self.currency, &self.lines, self.order_discount.as_ref())
            .map_err(|e| OrderError::invalid("lines", e))?;
        let t = &self.totals;
        for (field, got, want) in [
            ("totals.subtotal", t.subtotal, expected.subtotal),
            ("totals.discounts", t.discounts, expected.discounts),
            (
                "totals.order_discount",
                t.order_discount,
                expected.order_discount,
            ),
            (
                "totals.exclusive_tax",
                t.exclusive_tax,
                expected.exclusive_tax,
            ),
            ("totals.total", t.total, expected.total),
        ] {
            if got != want {
                return Err(OrderError::invalid(
                    field,
                    format!("is {got}, the lines add up to {want}"),
                ));
            }
        }
        if t.taxes != expected.taxes {
            return Err(OrderError::invalid(
                "totals.taxes",
                "do not match the lines",
            ));
        }
        if t.lines != expected.lines {
            return Err(OrderError::invalid(
                "totals.lines",
                "do not match the lines",
            ));
        }
        Ok(())
    }

    /// Each tender in the order's currency, more than zero, well-formed.
    fn validate_tenders(&self) -> Result<(), OrderError> {
        if self.tenders.len() > TENDERS_MAX {
            return Err(OrderError::TooManyTenders);
        }
        for (i, tender) in self.tenders.iter().enumerate() {
            let field = format!("tenders[{i}]");
            let amount = tender.amount();
            if amount.currency() != self.currency {
                return Err(OrderError::invalid(
                    format!("{field}.amount"),
                    "is not in the order's currency",
                ));
            }
            if amount.is_negative() || amount.is_zero() {
                return Err(OrderError::invalid(
                    format!("{field}.amount"),
                    "must be more than zero",
                ));
            }
            match tender {
                Tender::Cash { amount, received }
                    if received.minor() < amount.minor()
                        || received.currency() != self.currency =>
                {
                    return Err(OrderError::invalid(
                        format!("{field}.received"),
                        "is less than the amount",
                    ));
                }
                Tender::Card { card, .. } => card
                    .validate_in(self.currency)
                    .map_err(|e| OrderError::invalid(format!("{field}.{}", e.field), e.message))?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Each refund due in the order's currency, more than zero, with valid
    /// card details.
    fn validate_refunds_due(&self) -> Result<(), OrderError> {
        if self.refund_due.len() > REFUNDS_DUE_MAX {
            return Err(OrderError::TooManyRefundsDue);
        }
        for (i, r) in self.refund_due.iter().enumerate() {
            let field = format!("refund_due[{i}]");
            if r.amount.currency() != self.currency || r.amount.is_negative() || r.amount.is_zero()
            {
                return Err(OrderError::invalid(
                    format!("{field}.amount"),
                    "must be more than zero, in the order's currency",
                ));
            }
            r.card
                .validate_in(self.currency)
                .map_err(|e| OrderError::invalid(format!("{field}.{}", e.field), e.message))?;
        }
        Ok(())
    }

    /// Checks an order that came from elsewhere (an API body, a stored
    /// record): every amount in its currency, the totals equal what till-core
    /// computes from its lines, the tenders consistent with its status.
    /// Errors name the field.
    pub fn validate(&self) -> Result<(), OrderError> {
        if self.lines.is_empty() {
            return Err(OrderError::Empty);
        }
        if self.version == 0 {
            return Err(OrderError::invalid("version", "starts at 1"));
        }
        if self.lines.len() > crate::cart::LINES_MAX {
            return Err(OrderError::invalid(
                "lines",
                format!("at most {} lines", crate::cart::LINES_MAX),
            ));
        }
        self.validate_lines()?;
        self.validate_totals()?;
        let t = &self.totals;
        self.validate_tenders()?;
        self.validate_refunds_due()?;
        let tendered = self.tendered()?;
        if tendered.minor() > t.total.minor() {
            return Err(OrderError::invalid(
                "tenders",
                format!("add up to {tendered}, more than the total {}", t.total),
            ));
        }
        if self.status == OrderStatus::Paid && tendered != t.total {
            return Err(OrderError::invalid(
                "status",
                format!(
                    "is paid, but the tenders add up to {tendered} of {}",
                    t.total
                ),
            ));
        }
        if self.updated_at < self.created_at {
            return Err(OrderError::invalid("updated_at", "is before created_at"));
        }
        Ok(())
    }
}

/// Line `i`'s text, as a person reads it on a receipt, and its quantity.
fn check_line(i: usize, line: &CartLine) -> Result<(), OrderError> {
    use crate::catalog::{check_text, ID_LEN_MAX, NAME_LEN_MAX};
    let field = |f: &str| format!("lines[{i}].{f}");
    check_text("sku", &line.sku, ID_LEN_MAX).map_err(|e| OrderError::invalid(field("sku"), e))?;
    check_text("name", &line.name, NAME_LEN_MAX)
        .map_err(|e| OrderError::invalid(field("name"), e))?;
    check_text("name", &line.tax_rate.name, NAME_LEN_MAX)
        .map_err(|e| OrderError::invalid(field("tax_rate.name"), e))?;
    line.tax_rate
        .validate()
        .map_err(|e| OrderError::invalid(field("tax_rate.basis_points"), e))?;
    if line.quantity == 0 || line.quantity > crate::cart::QUANTITY_MAX {
        return Err(OrderError::invalid(
            field("quantity"),
            format!("must be 1 to {}", crate::cart::QUANTITY_MAX),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::{fixtures::small, ProductId};
    use uuid::Uuid;

    pub(crate) fn order_id(n: u128) -> OrderId {
        // A v7 UUID: version nibble 7, variant bits 10.
        let raw = (n & 0xFFFF_FFFF_FFFF_0FFF_3FFF_FFFF_FFFF_FFFF)
            | 0x0000_0000_0000_7000_8000_0000_0000_0000;
        OrderId::from_uuid(Uuid::from_u128(raw)).unwrap()
    }

    #[test]
    fn a_tender_reads_as_the_receipt_prints_it() {
        let eur = |m| Money::new(m, Currency::EUR).unwrap();
        let cash = Tender::Cash {
            amount: eur(500),
            received: eur(1000),
        };
        assert_eq!(cash.to_string(), "Cash €5.00 (received €10.00)");
        let mut card = CardDetails {
            brand: "Visa".into(),
            last4: "4242".into(),
            auth_code: "A1".into(),
            masked_pan: None,
            psp_reference: None,
            tip: None,
        };
        let tender = |card: &CardDetails| Tender::Card {
            amount: eur(450),
            reference: pref(1),
            card: card.clone(),
        };
        assert_eq!(tender(&card).to_string(), "Card €4.50 (Visa •••• 4242)");
        card.tip = Some(eur(50));
        assert_eq!(
            tender(&card).to_string(),
            "Card €4.50 + tip €0.50 (Visa •••• 4242)"
        );
    }

    pub(crate) fn pref(n: u128) -> PaymentRef {
        PaymentRef::from_uuid(Uuid::from_u128(
            n | 0x0000_0000_0000_4000_8000_0000_0000_0000,
        ))
    }

    pub(crate) fn number(seq: u32) -> OrderNumber {
        OrderNumber::new(
            RegisterId::new("R1").unwrap(),
            BusinessDate::new(2026, 11, 27).unwrap(),
            seq,
        )
        .unwrap()
    }

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR).unwrap()
    }

    /// An open order of one coffee (3.50) and one croissant (1.95): 5.45.
    pub(crate) fn order() -> Order {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &ProductId::new("coffee").unwrap())
            .unwrap();
        cart.add_by_id(&c, &ProductId::new("croissant").unwrap())
            .unwrap();
        Order::from_cart(order_id(1), number(42), &cart, Timestamp(1_000)).unwrap()
    }

    fn card() -> CardDetails {
        CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "A1B2C3".into(),
            masked_pan: None,
            psp_reference: None,
            tip: None,
        }
    }

    #[test]
    fn cash_tendered_is_checked_for_typing_mistakes() {
        assert_eq!(check_cash(eur(0), eur(545)), Err(OrderError::ZeroTender));
        check_cash(eur(1000), eur(545)).unwrap();
        check_cash(eur(50_000), eur(545)).unwrap(); // a 500 note
        assert!(matches!(
            check_cash(eur(10_000_000), eur(545)),
            Err(OrderError::AbsurdTender { .. })
        ));
        check_cash(eur(10_000_000), eur(100_000)).unwrap();
    }

    #[test]
    fn quick_cash_offers_exact_then_round_amounts() {
        assert_eq!(
            quick_cash(eur(675)),
            vec![eur(675), eur(700), eur(1000), eur(2000), eur(5000)]
        );
        assert_eq!(
            quick_cash(eur(2000)),
            vec![eur(2000), eur(2100), eur(2500), eur(3000), eur(4000)]
        );
    }

    #[test]
    fn the_cart_may_change_until_something_is_paid() {
        let c = small();
        let mut o = order();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &ProductId::new("mug").unwrap()).unwrap();
        o.replace_cart(&cart, Timestamp(2_000)).unwrap();
        assert!(o.holds(&cart));
        assert_eq!(o.version, 2);
        assert_eq!(o.totals.total, eur(1307));
        o.replace_cart(&cart, Timestamp(3_000)).unwrap();
        assert_eq!(o.version, 2, "the same cart changes nothing");
        o.add_tender(
            Tender::cash(eur(100), o.due().unwrap()).unwrap(),
            Timestamp(4_000),
        )
        .unwrap();
        assert_eq!(
            o.replace_cart(&Cart::new(Currency::EUR), Timestamp(5_000)),
            Err(OrderError::PartlyPaid)
        );
    }

    #[test]
    fn order_numbers_print_and_parse_canonically() {
        let n = number(42);
        assert_eq!(n.to_string(), "R1-20261127-0042");
        assert_eq!("R1-20261127-0042".parse::<OrderNumber>().unwrap(), n);
        assert_eq!(
            "SHOP_2-20240229-123456"
                .parse::<OrderNumber>()
                .unwrap()
                .seq(),
            123_456
        );
        for bad in [
            "R1-20261127-42",
            "R1-20261127-00042",
            "R1-20261127-0000",
            "R1-20261131-0001",
            "R1-20230229-0001",
            "R-1-20261127-0001",
            "-20261127-0001",
            "R1-2026112-0001",
            "R1-20261127-1234567",
            "R1 -20261127-0001",
        ] {
            assert!(
                bad.parse::<OrderNumber>().is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn a_clock_before_2000_is_an_error_not_a_panic() {
        assert_eq!(
            BusinessDate::at(Timestamp(1_795_822_200_000), 60).unwrap(),
            BusinessDate::new(2026, 11, 28).unwrap()
        );
        let err = BusinessDate::at(Timestamp(915_148_800_000 - 1), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The tablet's clock says 1998-12-31: set the right date and time, then try again. Nothing was lost."
        );
        assert!(BusinessDate::at(Timestamp(0), 0).is_err());
        assert!(BusinessDate::at(Timestamp(i64::MAX), 0).is_err());
        assert!(BusinessDate::at(Timestamp(i64::MIN), 0).is_err());
    }

    #[test]
    fn order_ids_must_be_uuid_v7() {
        assert!("0191d5a8-7c3e-7000-8000-000000000001"
            .parse::<OrderId>()
            .is_ok());
        assert!(matches!(
            "0191d5a8-7c3e-4000-8000-000000000001".parse::<OrderId>(),
            Err(IdError::Order(_))
        ));
        assert!("not-a-uuid".parse::<OrderId>().is_err());
    }

    #[test]
    fn an_empty_cart_makes_no_order() {
        let cart = Cart::new(Currency::EUR);
        assert_eq!(
            Order::from_cart(order_id(1), number(1), &cart, Timestamp(0)),
            Err(OrderError::Empty)
        );
    }

    #[test]
    fn paid_only_when_tenders_cover_the_total() {
        let mut o = order();
        assert_eq!(o.totals.total, eur(545));
        o.add_tender(
            Tender::cash(eur(200), o.due().unwrap()).unwrap(),
            Timestamp(2_000),
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::Open);
        assert_eq!(o.due().unwrap(), eur(345));
        assert_eq!(o.version, 2);
        o.add_tender(
            Tender::cash(eur(500), o.due().unwrap()).unwrap(),
            Timestamp(3_000),
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::Paid);
        assert_eq!(o.change().unwrap(), eur(155));
        assert_eq!(o.version, 3);
        assert!(matches!(
            o.add_tender(Tender::cash(eur(1), eur(1)).unwrap(), Timestamp(4_000)),
            Err(OrderError::NotOpen { .. })
        ));
        o.validate().unwrap();
    }

    #[test]
    fn line_text_and_count_are_bounded() {
        let field = |o: &Order| o.validate().unwrap_err().field().map(str::to_owned);
        let mut o = order();
        o.lines[0].name = "Coffee\u{7}".into();
        assert_eq!(field(&o).as_deref(), Some("lines[0].name"));
        let mut o = order();
        o.lines[1].sku = "x".repeat(crate::catalog::ID_LEN_MAX + 1);
        assert_eq!(field(&o).as_deref(), Some("lines[1].sku"));
        let mut o = order();
        o.lines[0].tax_rate.name = "VAT\n".into();
        assert_eq!(field(&o).as_deref(), Some("lines[0].tax_rate.name"));
        let mut o = order();
        let line = o.lines[0].clone();
        o.lines = vec![line; crate::cart::LINES_MAX + 1];
        assert_eq!(field(&o).as_deref(), Some("lines"));
        order().validate().unwrap();
    }

    #[test]
    fn tenders_are_checked() {
        let mut o = order();
        let over = Tender::Card {
            amount: eur(546),
            reference: pref(1),
            card: card(),
        };
        assert!(matches!(
            o.add_tender(over, Timestamp(2)),
            Err(OrderError::Overpaid { .. })
        ));
        let bad_card = Tender::Card {
            amount: eur(100),
            reference: pref(1),
            card: CardDetails {
                brand: "VISA".into(),
                last4: "4242424242424242".into(),
                auth_code: "X".into(),
                masked_pan: None,
                psp_reference: None,
                tip: None,
            },
        };
        assert!(matches!(
            o.add_tender(bad_card, Timestamp(2)),
            Err(OrderError::Invalid { .. })
        ));
        assert_eq!(Tender::cash(eur(0), eur(1)), Err(OrderError::ZeroTender));
        assert_eq!(o.version, 1, "refused tenders change nothing");
    }

    fn attempt(order: &Order, reference: PaymentRef, state: crate::card::AttemptState) -> Attempt {
        Attempt {
            reference,
            order_id: order.id,
            amount: order.totals.total,
            requested_at: Timestamp(1_500),
            accepted_at: None,
            state,
            resyncs_used: 0,
            note: None,
            updated_at: Timestamp(1_500),
            refund: None,
        }
    }

    #[test]
    fn close_unpaid_then_late_approval_turns_paid() {
        use crate::card::AttemptState;
        let mut o = order();
        o.close_unpaid(pref(7), Timestamp(2_000)).unwrap();
        assert_eq!(o.status.label(), "unpaid");
        assert!(o.status.is_pending_confirmation());
        let closed = attempt(&o, pref(7), AttemptState::ClosedUnpaid);
        assert_eq!(
            o.void([&closed], None, None, Timestamp(2_500)),
            Err(OrderError::VoidWhilePending)
        );
        assert_eq!(
            OrderError::VoidWhilePending.to_string(),
            "Payment pending confirmation — do not void"
        );
        assert_eq!(
            o.record_card(eur(545), pref(7), card(), Timestamp(3_000)),
            Ok(CardRecorded::Tender)
        );
        assert_eq!(o.status, OrderStatus::Paid);
        let v = o.version;
        assert_eq!(
            o.record_card(eur(545), pref(7), card(), Timestamp(4_000)),
            Ok(CardRecorded::AlreadyRecorded)
        );
        assert_eq!(o.version, v, "the same approval twice changes nothing");
        assert_eq!(
            o.void([], None, None, Timestamp(5_000)),
            Err(OrderError::VoidNeedsRefund)
        );
        o.validate().unwrap();
    }

    #[test]
    fn an_approval_the_order_cannot_take_is_a_refund_due_never_dropped() {
        let mut o = order();
        o.add_tender(Tender::cash(eur(1000), eur(545)).unwrap(), Timestamp(2_000))
            .unwrap();
        assert_eq!(o.status, OrderStatus::Paid);
        assert_eq!(
            o.record_card(eur(545), pref(9), card(), Timestamp(3_000)),
            Ok(CardRecorded::RefundDue)
        );
        assert_eq!(o.status, OrderStatus::Paid, "still paid, by cash");
        assert_eq!(o.refund_due_total().unwrap(), eur(545));
        assert_eq!(o.status_text([]), "paid — refund due €5.45");
        assert_eq!(
            o.record_card(eur(545), pref(9), card(), Timestamp(4_000)),
            Ok(CardRecorded::AlreadyRecorded)
        );
        o.validate().unwrap();
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(serde_json::from_value::<Order>(json).unwrap(), o);

        let mut voided = order();
        voided.void([], None, None, Timestamp(2_000)).unwrap();
        assert_eq!(
            voided.record_card(eur(100), pref(3), card(), Timestamp(3_000)),
            Ok(CardRecorded::RefundDue)
        );
        let mut open = order();
        assert_eq!(
            open.record_card(eur(600), pref(4), card(), Timestamp(3_000)),
            Ok(CardRecorded::RefundDue),
            "more than is due"
        );
        assert_eq!(open.status, OrderStatus::Open);
    }

    #[test]
    fn a_tip_is_charged_on_top_of_the_order_and_owed_back_with_its_charge() {
        let tipped = |minor: i64, currency: Currency| CardDetails {
            tip: Some(Money::new(minor, currency).unwrap()),
            ..card()
        };
        let mut o = order();
        assert_eq!(
            o.record_card(
                eur(545),
                pref(7),
                tipped(100, Currency::EUR),
                Timestamp(3_000)
            ),
            Ok(CardRecorded::Tender)
        );
        assert_eq!(
            o.status,
            OrderStatus::Paid,
            "paid by the amount, the tip apart"
        );
        assert_eq!((o.totals.total, o.tips().unwrap()), (eur(545), eur(100)));
        o.validate().unwrap();
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["tenders"][0]["tip"]["amount"], 100);
        assert_eq!(serde_json::from_value::<Order>(json).unwrap(), o);
        // A tip in another currency, or of nothing, is not an approval Till records.
        for bad in [
            tipped(100, Currency::USD),
            tipped(0, Currency::EUR),
            tipped(-5, Currency::EUR),
        ] {
            let mut open = order();
            assert!(matches!(
                open.record_card(eur(545), pref(8), bad, Timestamp(3_000)),
                Err(OrderError::Invalid { ref field, .. }) if field == "tip"
            ));
            assert_eq!(open.status, OrderStatus::Open);
        }
        // An approval the order cannot take owes back all it charged.
        assert_eq!(
            o.record_card(
                eur(545),
                pref(9),
                tipped(150, Currency::EUR),
                Timestamp(4_000)
            ),
            Ok(CardRecorded::RefundDue)
        );
        assert_eq!(o.refund_due_total().unwrap(), eur(695));
    }

    #[test]
    fn a_live_card_payment_locks_the_cart_and_refuses_void_and_cash() {
        use crate::card::AttemptState;
        let o = order();
        o.accepts_cart_edits([]).unwrap();
        o.can_void([]).unwrap();
        for state in [
            AttemptState::Connecting,
            AttemptState::Requested,
            AttemptState::Processing,
            AttemptState::ResultUnknown,
        ] {
            let a = attempt(&o, pref(5), state.clone());
            assert_eq!(
                o.accepts_cart_edits([&a]),
                Err(OrderError::CardInProgress),
                "{state:?}"
            );
            assert_eq!(o.accepts_payment([&a]), Err(OrderError::CardInProgress));
            if state.is_in_doubt() {
                assert_eq!(o.can_void([&a]), Err(OrderError::VoidWhilePending));
                assert_eq!(o.status_text([&a]), "open — card payment in progress");
            }
        }
        let declined = attempt(
            &o,
            pref(6),
            AttemptState::Declined {
                reason: "no".into(),
            },
        );
        o.accepts_cart_edits([&declined]).unwrap();
        let mut part = order();
        part.add_tender(Tender::cash(eur(100), eur(545)).unwrap(), Timestamp(2_000))
            .unwrap();
        assert_eq!(part.accepts_cart_edits([]), Err(OrderError::CartLocked));
        part.accepts_payment([]).unwrap();
    }

    #[test]
    fn failed_payment_stays_unpaid_and_may_be_voided() {
        let mut o = order();
        o.close_unpaid(pref(7), Timestamp(2_000)).unwrap();
        assert!(
            !o.mark_payment_failed(pref(8), Timestamp(2_500)),
            "not the awaited one"
        );
        assert!(o.mark_payment_failed(pref(7), Timestamp(3_000)));
        assert_eq!(
            o.status,
            OrderStatus::Unpaid {
                reference: pref(7),
                reason: UnpaidReason::PaymentFailed
            }
        );
        assert_eq!(o.status_text([]), "unpaid — payment failed, collect again");
        o.void([], None, None, Timestamp(4_000)).unwrap();
        assert_eq!(o.status.label(), "voided");
        assert_eq!(
            o.void([], None, None, Timestamp(5_000)),
            Err(OrderError::AlreadyVoided)
        );
    }

    #[test]
    fn validation_names_the_field() {
        let mut o = order();
        o.totals.total = eur(1);
        assert_eq!(o.validate().unwrap_err().field(), Some("totals.total"));

        let mut o = order();
        o.lines.clear();
        assert_eq!(o.validate().unwrap_err().field(), Some("lines"));

        let mut o = order();
        o.status = OrderStatus::Paid;
        assert_eq!(o.validate().unwrap_err().field(), Some("status"));

        let mut o = order();
        o.lines[0].unit_price = eur(-350);
        assert_eq!(
            o.validate().unwrap_err().field(),
            Some("lines[0].unit_price")
        );

        let mut o = order();
        o.tenders.push(Tender::Card {
            amount: eur(100),
            reference: pref(1),
            card: CardDetails {
                last4: "12".into(),
                ..card()
            },
        });
        assert_eq!(o.validate().unwrap_err().field(), Some("tenders[0].last4"));

        order().validate().unwrap();
    }

    #[test]
    fn an_order_survives_json_and_refuses_bad_numbers_on_the_way_in() {
        let o = order();
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(serde_json::from_value::<Order>(json.clone()).unwrap(), o);
        let mut bad = json;
        bad["number"] = "R1-2026-1".into();
        assert!(serde_json::from_value::<Order>(bad).is_err());
    }
}
