//! The cash drawer's arithmetic for a shift: the starting float, counted by
//! denomination or as a total; cash paid in and paid out, each with a
//! reason; what the drawer should hold at the close; and the over/short
//! against what was counted. Pure rules, in integer minor units.
//!
//! expected = float + cash sales − cash refunds + paid in − paid out
//!
//! "Cash sales" is what cash tenders put towards orders (change never left
//! the drawer), and "cash refunds" what refunds handed back in cash: the Z
//! report's `cash_net` and `refunds_cash` ([`crate::report::ZReport`]) over
//! the shift's orders and refunds.

use crate::money::{Currency, Money, MoneyError};
use crate::staff::StaffRef;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest reason kept for a cash movement: a sentence.
pub const MOVEMENT_REASON_LEN_MAX: usize = 200;
/// Most notes or coins of one denomination a count may hold.
pub const DENOMINATION_COUNT_MAX: u32 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DrawerError {
    #[error("{0}: the amount must be more than zero")]
    NotPositive(&'static str),
    #[error("say why the cash is paid in or out")]
    NoReason,
    #[error("the reason is longer than {MOVEMENT_REASON_LEN_MAX} characters")]
    ReasonTooLong,
    #[error("{value} is not a note or coin of {currency}")]
    UnknownDenomination { value: Money, currency: Currency },
    #[error("at most {DENOMINATION_COUNT_MAX} of one note or coin")]
    TooMany,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The notes and coins of a currency, largest first, in minor units; empty
/// for a currency Till has no table for (its drawer is counted as a total).
pub fn denominations(currency: Currency) -> &'static [i64] {
    const EUR: &[i64] = &[
        50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1,
    ];
    const USD: &[i64] = &[10_000, 5_000, 2_000, 1_000, 500, 200, 100, 25, 10, 5, 1];
    const GBP: &[i64] = &[5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1];
    match currency {
        c if c == Currency::EUR => EUR,
        c if c == Currency::USD => USD,
        c if c == Currency::GBP => GBP,
        _ => &[],
    }
}

/// The total of a count by denomination: `(face value, how many)`. Every
/// face value must be one of the currency's notes or coins.
pub fn count_total(currency: Currency, counts: &[(i64, u32)]) -> Result<Money, DrawerError> {
    let mut total = Money::zero(currency);
    for (value, n) in counts {
        if !denominations(currency).contains(value) {
            return Err(DrawerError::UnknownDenomination {
                value: Money::new(*value, currency)?,
                currency,
            });
        }
        if *n > DENOMINATION_COUNT_MAX {
            return Err(DrawerError::TooMany);
        }
        total = total.checked_add(Money::new(*value, currency)?.checked_mul(i64::from(*n))?)?;
    }
    Ok(total)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    PaidIn,
    PaidOut,
}

/// Cash put into or taken out of the drawer outside a sale, and who did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMovement {
    pub kind: MovementKind,
    pub amount: Money,
    pub reason: String,
    pub at: Timestamp,
    pub by: StaffRef,
    /// A manager's approval, when a cashier paid out above the store's
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::staff::Approval>,
}

impl CashMovement {
    /// A movement as the cashier enters it: an amount above zero, a reason.
    pub fn new(
        kind: MovementKind,
        amount: Money,
        reason: &str,
        at: Timestamp,
        by: StaffRef,
    ) -> Result<CashMovement, DrawerError> {
        if amount.is_negative() || amount.is_zero() {
            return Err(DrawerError::NotPositive("the amount"));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(DrawerError::NoReason);
        }
        if reason.chars().count() > MOVEMENT_REASON_LEN_MAX {
            return Err(DrawerError::ReasonTooLong);
        }
        Ok(CashMovement {
            kind,
            amount,
            reason: reason.to_owned(),
            at,
            by,
            approval: None,
        })
    }
}

/// What the drawer should hold, and from what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedCash {
    pub float: Money,
    pub cash_sales: Money,
    pub cash_refunds: Money,
    pub paid_in: Money,
    pub paid_out: Money,
    pub expected: Money,
}

/// expected = float + cash sales − cash refunds + paid in − paid out.
pub fn expected_cash(
    float: Money,
    cash_sales: Money,
    cash_refunds: Money,
    movements: &[CashMovement],
) -> Result<ExpectedCash, MoneyError> {
    let currency = float.currency();
    let of = |kind| {
        Money::sum(
            currency,
            movements
                .iter()
                .filter(move |m| m.kind == kind)
                .map(|m| m.amount),
        )
    };
    let (paid_in, paid_out) = (of(MovementKind::PaidIn)?, of(MovementKind::PaidOut)?);
    let expected = float
        .checked_add(cash_sales)?
        .checked_sub(cash_refunds)?
        .checked_add(paid_in)?
        .checked_sub(paid_out)?;
    Ok(ExpectedCash {
        float,
        cash_sales,
        cash_refunds,
        paid_in,
        paid_out,
        expected,
    })
}

/// Counted less expected: above zero the drawer is over, below it short.
pub fn over_short(expected: &ExpectedCash, counted: Money) -> Result<Money, MoneyError> {
    counted.checked_sub(expected.expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR).unwrap()
    }

    #[test]
    fn a_count_by_denomination_adds_up_and_refuses_what_is_not_a_note_or_coin() {
        let total = count_total(Currency::EUR, &[(5_000, 2), (1_000, 3), (200, 1), (5, 4)]);
        assert_eq!(total, Ok(eur(13_220)));
        assert!(matches!(
            count_total(Currency::EUR, &[(300, 1)]),
            Err(DrawerError::UnknownDenomination { .. })
        ));
        assert_eq!(
            count_total(Currency::EUR, &[(100, DENOMINATION_COUNT_MAX + 1)]),
            Err(DrawerError::TooMany)
        );
        assert!(
            denominations(Currency::JPY).is_empty(),
            "counted as a total"
        );
    }

    #[test]
    fn a_movement_needs_an_amount_and_a_reason() {
        let at = Timestamp::from_millis(0);
        let by = StaffRef {
            id: crate::staff::StaffId::new("dana").unwrap(),
            name: "Dana".into(),
        };
        let m = |amount, reason| {
            CashMovement::new(MovementKind::PaidOut, amount, reason, at, by.clone())
        };
        assert_eq!(
            m(eur(0), "milk").unwrap_err(),
            DrawerError::NotPositive("the amount")
        );
        assert_eq!(m(eur(500), "  ").unwrap_err(), DrawerError::NoReason);
        assert_eq!(m(eur(500), " milk ").unwrap().reason, "milk");
    }

    #[test]
    fn a_shortage_shows_as_a_negative_over_short() {
        let at = Timestamp::from_millis(0);
        let by = StaffRef {
            id: crate::staff::StaffId::new("dana").unwrap(),
            name: "Dana".into(),
        };
        let m = |kind, amount, reason| CashMovement::new(kind, amount, reason, at, by.clone());
        let moves = [
            m(MovementKind::PaidIn, eur(2_000), "change from the bank").unwrap(),
            m(MovementKind::PaidOut, eur(450), "milk").unwrap(),
        ];
        let e = expected_cash(eur(10_000), eur(5_445), eur(240), &moves).unwrap();
        assert_eq!(e.expected, eur(10_000 + 5_445 - 240 + 2_000 - 450));
        assert_eq!(over_short(&e, eur(16_655)), Ok(eur(-100)));
    }
}
