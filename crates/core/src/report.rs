//! The day-end (Z) report: what a register sold on one business day, from
//! its own orders. It works offline; it is provisional while orders have not
//! reached the back office or a card payment is still in doubt.

use crate::catalog::{TaxMode, TaxRateId};
use crate::money::{Currency, Money, MoneyError};
use crate::order::{BusinessDate, Order, OrderStatus, Tender};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxTotal {
    pub rate_id: TaxRateId,
    pub name: String,
    pub mode: TaxMode,
    pub base: Money,
    pub tax: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZReport {
    pub date: BusinessDate,
    /// Paid orders.
    pub sales_count: u32,
    /// Σ totals of paid orders.
    pub sales_total: Money,
    pub cash: Money,
    pub card: Money,
    /// Cash tenders less change: what should be in the drawer from sales.
    pub cash_net: Money,
    pub taxes: Vec<TaxTotal>,
    pub voids_count: u32,
    pub voids_total: Money,
    /// Orders unpaid (pending confirmation or failed) and still open.
    pub unpaid: Vec<String>,
    /// Card approvals that arrived after their order was settled another
    /// way: money to give back.
    pub refund_due: Money,
    pub unsynced: usize,
    /// Card payments whose outcome is not known yet.
    pub in_doubt: usize,
    /// True while anything has not reached the back office, or a card
    /// payment is in doubt.
    pub provisional: bool,
}

/// Builds the report of `date` from a register's orders.
pub fn z_report(
    date: BusinessDate,
    currency: Currency,
    orders: &[Order],
    unsynced: usize,
    in_doubt: usize,
) -> Result<ZReport, MoneyError> {
    let zero = Money::zero(currency);
    let mut r = ZReport {
        date,
        sales_count: 0,
        sales_total: zero,
        cash: zero,
        card: zero,
        cash_net: zero,
        taxes: Vec::new(),
        voids_count: 0,
        voids_total: zero,
        unpaid: Vec::new(),
        refund_due: zero,
        unsynced,
        in_doubt,
        provisional: unsynced > 0 || in_doubt > 0,
    };
    let mut day: Vec<&Order> = orders
        .iter()
        .filter(|o| o.number.date() == date && o.currency == currency)
        .collect();
    day.sort_by_key(|o| o.number.seq());
    for o in day {
        r.refund_due = r.refund_due.checked_add(o.refund_due_total()?)?;
        match &o.status {
            OrderStatus::Paid => {
                r.sales_count += 1;
                r.sales_total = r.sales_total.checked_add(o.totals.total)?;
                for t in &o.tenders {
                    match t {
                        Tender::Cash { amount, .. } => r.cash = r.cash.checked_add(*amount)?,
                        Tender::Card { amount, .. } => r.card = r.card.checked_add(*amount)?,
                    }
                }
                for x in &o.totals.taxes {
                    match r.taxes.iter_mut().find(|t| t.rate_id == x.rate_id) {
                        Some(t) => {
                            t.base = t.base.checked_add(x.base)?;
                            t.tax = t.tax.checked_add(x.tax)?;
                        }
                        None => r.taxes.push(TaxTotal {
                            rate_id: x.rate_id.clone(),
                            name: x.name.clone(),
                            mode: x.mode,
                            base: x.base,
                            tax: x.tax,
                        }),
                    }
                }
            }
            OrderStatus::Voided => {
                r.voids_count += 1;
                r.voids_total = r.voids_total.checked_add(o.totals.total)?;
            }
            OrderStatus::Unpaid { .. } | OrderStatus::Open => r.unpaid.push(o.number.to_string()),
        }
    }
    // Cash tenders count what went towards orders; change never left the drawer.
    r.cash_net = r.cash;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::tests::{order, pref};
    use crate::order::CardDetails;
    use crate::time::Timestamp;

    fn eur(m: i64) -> Money {
        Money::new(m, Currency::EUR).unwrap()
    }

    #[test]
    fn totals_by_tender_tax_voids_and_unpaid() {
        let date = BusinessDate::new(2026, 11, 27).unwrap();
        let mut cash = order();
        cash.add_tender(
            Tender::cash(eur(1000), cash.due().unwrap()).unwrap(),
            Timestamp(2),
        )
        .unwrap();
        let mut card = order();
        let due = card.due().unwrap();
        card.record_card(
            due,
            pref(1),
            CardDetails {
                brand: "VISA".into(),
                last4: "4242".into(),
                auth_code: "A".into(),
            },
            Timestamp(3),
        )
        .unwrap();
        let mut void = order();
        void.void([], Timestamp(4)).unwrap();
        let mut pending = order();
        pending.close_unpaid(pref(2), Timestamp(5)).unwrap();
        let r = z_report(date, Currency::EUR, &[cash, card, void, pending], 2, 0).unwrap();
        assert_eq!(r.sales_count, 2);
        assert_eq!(r.sales_total, eur(1090));
        assert_eq!((r.cash, r.card), (eur(545), eur(545)));
        assert_eq!(r.voids_count, 1);
        assert_eq!(r.unpaid, vec!["R1-20261127-0042".to_owned()]);
        assert!(r.provisional);
        assert_eq!(r.refund_due, eur(0));
        let empty = z_report(date, Currency::EUR, &[], 0, 1).unwrap();
        assert!(
            empty.provisional,
            "a payment in doubt keeps the report provisional"
        );
        let tax: i64 = r.taxes.iter().map(|t| t.tax.minor()).sum();
        assert_eq!(tax, 2 * (58 + 10));
    }
}
