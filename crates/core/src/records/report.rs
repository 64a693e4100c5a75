//! The day-end (Z) report: what a register sold on one business day, from
//! its own orders. It works offline; it is provisional while orders have not
//! reached the back office or a card payment is still in doubt.

use crate::cart::TaxLine;
use crate::catalog::{TaxMode, TaxRateId};
use crate::money::{Currency, Money, MoneyError};
use crate::order::{BusinessDate, Order, OrderStatus, Tender};
use crate::refund::{Refund, RefundStatus, RefundTender};
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
    /// Cash tenders less change: what should be in the drawer from sales,
    /// with the cash already taken on orders not paid in full yet (a split
    /// payment whose card part is in doubt, or closed as unpaid): that cash
    /// is in the drawer too.
    pub cash_net: Money,
    pub taxes: Vec<TaxTotal>,
    pub voids_count: u32,
    pub voids_total: Money,
    /// Orders unpaid (pending confirmation or failed) and still open.
    pub unpaid: Vec<String>,
    /// Card approvals that arrived after their order was settled another
    /// way: money to give back.
    pub refund_due: Money,
    /// Refunds made on the day (whatever day their order was), except those
    /// that gave nothing back.
    pub refunds_count: u32,
    pub refunds_total: Money,
    /// What refunds gave back, by tender (a card part counts unless the
    /// terminal failed it; one in doubt counts).
    pub refunds_cash: Money,
    pub refunds_card: Money,
    /// The tax the refunds gave back, per rate.
    pub refund_taxes: Vec<TaxTotal>,
    /// Tips customers added on the terminal to paid orders: charged to
    /// their cards on top of `card`, never part of the sales (absent when
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tips: Option<Money>,
    /// Tips given back by the refunds: within `refunds_total` and its
    /// tenders (absent when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tips_refunded: Option<Money>,
    /// Sales less what refunds gave back for goods (tips are not sales).
    pub net_total: Money,
    /// Cash from sales less cash handed back: what the drawer should hold
    /// beyond its float.
    pub cash_in_drawer: Money,
    pub unsynced: usize,
    /// Card payments whose outcome is not known yet.
    pub in_doubt: usize,
    /// True while anything has not reached the back office, or a card
    /// payment is in doubt.
    pub provisional: bool,
}

/// What a report cannot count yet: records this register has not synced,
/// and card payments in doubt. Either makes the report provisional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub unsynced: usize,
    pub in_doubt: usize,
}

/// Builds the report of `date` from a register's orders.
pub fn z_report(
    date: BusinessDate,
    currency: Currency,
    orders: &[Order],
    refunds: &[Refund],
    pending: Pending,
) -> Result<ZReport, MoneyError> {
    let day: Vec<&Order> = orders
        .iter()
        .filter(|o| o.number.date() == date && o.currency == currency)
        .collect();
    let day_refunds: Vec<&Refund> = refunds
        .iter()
        .filter(|x| x.number.date() == date && x.currency == currency)
        .collect();
    report_of(date, currency, day, &day_refunds, pending)
}

/// The report's figures over these orders and refunds, whatever their day
/// (a shift's X report); `date` is the one it shows, and `pending` the
/// records not yet synced and the payments in doubt.
pub fn report_of(
    date: BusinessDate,
    currency: Currency,
    mut orders: Vec<&Order>,
    refunds: &[&Refund],
    pending: Pending,
) -> Result<ZReport, MoneyError> {
    let Pending { unsynced, in_doubt } = pending;
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
        refunds_count: 0,
        refunds_total: zero,
        refunds_cash: zero,
        refunds_card: zero,
        refund_taxes: Vec::new(),
        tips: None,
        tips_refunded: None,
        net_total: zero,
        cash_in_drawer: zero,
        unsynced,
        in_doubt,
        provisional: unsynced > 0 || in_doubt > 0,
    };
    crate::sorted::sort_by_key(&mut orders, |o| (o.number.date(), o.number.seq()));
    let mut cash_held = zero;
    for o in orders {
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
                add_taxes(&mut r.taxes, &o.totals.taxes)?;
                r.tips = add_some(r.tips, o.tips()?)?;
            }
            OrderStatus::Voided => {
                r.voids_count += 1;
                r.voids_total = r.voids_total.checked_add(o.totals.total)?;
            }
            OrderStatus::Unpaid { .. } | OrderStatus::Open => {
                r.unpaid.push(o.number.to_string());
                cash_held = cash_held.checked_add(o.cash_taken()?)?;
            }
        }
    }
    // Cash tenders count what went towards orders; change never left the drawer.
    r.cash_net = r.cash.checked_add(cash_held)?;
    add_refunds(&mut r, refunds)?;
    let goods_refunded = r
        .refunds_total
        .checked_sub(r.tips_refunded.unwrap_or(zero))?;
    r.net_total = r.sales_total.checked_sub(goods_refunded)?;
    r.cash_in_drawer = r.cash_net.checked_sub(r.refunds_cash)?;
    Ok(r)
}

fn add_taxes(totals: &mut Vec<TaxTotal>, taxes: &[TaxLine]) -> Result<(), MoneyError> {
    for x in taxes {
        match totals.iter_mut().find(|t| t.rate_id == x.rate_id) {
            Some(t) => {
                t.base = t.base.checked_add(x.base)?;
                t.tax = t.tax.checked_add(x.tax)?;
            }
            None => totals.push(TaxTotal {
                rate_id: x.rate_id.clone(),
                name: x.name.clone(),
                mode: x.mode,
                base: x.base,
                tax: x.tax,
            }),
        }
    }
    Ok(())
}

/// The refunds: counted, by tender, with their taxes (a failed one gave
/// nothing back).
fn add_refunds(r: &mut ZReport, refunds: &[&Refund]) -> Result<(), MoneyError> {
    for x in refunds
        .iter()
        .filter(|x| x.status() != RefundStatus::Failed)
    {
        r.refunds_count += 1;
        r.refunds_total = r.refunds_total.checked_add(x.totals.total)?;
        for t in x.tenders.iter().filter(|t| t.counts()) {
            match t {
                RefundTender::Cash { amount } => {
                    r.refunds_cash = r.refunds_cash.checked_add(*amount)?
                }
                RefundTender::Card { amount, .. } => {
                    r.refunds_card = r.refunds_card.checked_add(*amount)?
                }
            }
        }
        add_taxes(&mut r.refund_taxes, &x.totals.taxes)?;
        if let Some(tip) = x.totals.tip {
            r.tips_refunded = add_some(r.tips_refunded, tip)?;
        }
    }
    Ok(())
}

/// `to` with `m` added; still absent when both are nothing.
fn add_some(to: Option<Money>, m: Money) -> Result<Option<Money>, MoneyError> {
    match to {
        None if m.is_zero() => Ok(None),
        None => Ok(Some(m)),
        Some(t) => Ok(Some(t.checked_add(m)?)),
    }
}

/// One row of Register Sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesRow {
    pub order: Order,
    /// The back office has not stored its latest version yet.
    pub unsynced: bool,
    /// A card payment of it is in doubt (live, or pending confirmation).
    pub in_doubt: bool,
    /// Rung up on an earlier business day (shown because it still needs
    /// someone: a payment in doubt, a sync, a refund).
    pub earlier: bool,
}

/// What Register Sales lists: this register's orders of `today`, and from
/// any earlier day every order that still needs someone: a card payment in
/// doubt (its Download must stay reachable), an order not yet in the back
/// office, a refund due. Newest first.
pub fn register_sales(
    orders: Vec<Order>,
    attempts: &[crate::card::Attempt],
    unsynced: &std::collections::HashSet<crate::ids::OrderId>,
    register: &crate::order::RegisterId,
    today: BusinessDate,
) -> Vec<SalesRow> {
    let mut rows: Vec<SalesRow> = orders
        .into_iter()
        .filter(|o| o.register() == register)
        .filter_map(|order| {
            let in_doubt = attempts
                .iter()
                .any(|a| a.order_id == order.id && a.state.is_in_doubt());
            let unsynced = unsynced.contains(&order.id);
            let earlier = order.number.date() != today;
            let needs_someone = in_doubt
                || unsynced
                || order.status.is_pending_confirmation()
                || !order.refund_due.is_empty();
            (!earlier || needs_someone).then_some(SalesRow {
                order,
                unsynced,
                in_doubt,
                earlier,
            })
        })
        .collect();
    crate::sorted::sort_by(&mut rows, |a, b| {
        b.order
            .created_at
            .cmp(&a.order.created_at)
            .then(b.order.number.cmp(&a.order.number))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::tests::{order, pref};
    use crate::order::CardDetails;
    use crate::time::Timestamp;

    fn waiting(unsynced: usize, in_doubt: usize) -> Pending {
        Pending { unsynced, in_doubt }
    }

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
                masked_pan: None,
                psp_reference: None,
                tip: None,
            },
            Timestamp(3),
        )
        .unwrap();
        let mut void = order();
        void.void([], None, None, Timestamp(4)).unwrap();
        let mut pending = order();
        pending.close_unpaid(pref(2), Timestamp(5)).unwrap();
        let r = z_report(
            date,
            Currency::EUR,
            &[cash.clone(), card, void, pending],
            &[],
            Pending {
                unsynced: 2,
                in_doubt: 0,
            },
        )
        .unwrap();
        assert_eq!(r.sales_count, 2);
        assert_eq!(r.sales_total, eur(1090));
        assert_eq!((r.cash, r.card), (eur(545), eur(545)));
        assert_eq!(r.voids_count, 1);
        assert_eq!(r.unpaid, vec!["R1-20261127-0042".to_owned()]);
        assert!(r.provisional);
        assert_eq!(r.refund_due, eur(0));
        let empty = z_report(date, Currency::EUR, &[], &[], waiting(0, 1)).unwrap();
        assert!(
            empty.provisional,
            "a payment in doubt keeps the report provisional"
        );
        let tax: i64 = r.taxes.iter().map(|t| t.tax.minor()).sum();
        assert_eq!(tax, 2 * (58 + 10));
        assert_eq!((r.net_total, r.cash_in_drawer), (eur(1090), eur(545)));
        // A cash refund of the coffee, made on the day: net and drawer less it.
        let returns = [crate::refund::Returned {
            line: 0,
            quantity: 1,
        }];
        let new = crate::refund::NewRefund {
            id: crate::ids::RefundId::from_record_id(crate::order::tests::order_id(9).record_id()),
            number: "R1-20261127-0050".parse().unwrap(),
            reason: None,
            cashier: None,
            approval: None,
            shift: None,
            tip: false,
            now: Timestamp(9),
        };
        let (_, totals) = crate::refund::price_return(&cash, &[], &returns).unwrap();
        let tenders = vec![RefundTender::Cash {
            amount: totals.total,
        }];
        let refund = Refund::create(new, &cash, &[], &returns, tenders).unwrap();
        let r = z_report(date, Currency::EUR, &[cash], &[refund], waiting(0, 0)).unwrap();
        assert_eq!(
            (r.refunds_count, r.refunds_cash, r.refunds_card),
            (1, eur(350), eur(0))
        );
        assert_eq!((r.net_total, r.cash_in_drawer), (eur(195), eur(195)));
        assert_eq!(r.refund_taxes[0].tax, eur(58));
    }

    #[test]
    fn tips_are_counted_apart_from_sales_and_a_tip_given_back_is_not_a_sale_refunded() {
        let date = BusinessDate::new(2026, 11, 27).unwrap();
        let mut card = order();
        let due = card.due().unwrap();
        let tipped = CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "A".into(),
            masked_pan: None,
            psp_reference: None,
            tip: Some(eur(200)),
        };
        card.record_card(due, pref(1), tipped, Timestamp(3))
            .unwrap();
        assert_eq!(
            card.status,
            OrderStatus::Paid,
            "the tip is not counted towards the order"
        );
        let r = z_report(
            date,
            Currency::EUR,
            std::slice::from_ref(&card),
            &[],
            waiting(0, 0),
        )
        .unwrap();
        assert_eq!(
            (r.sales_total, r.card, r.tips),
            (eur(545), eur(545), Some(eur(200)))
        );
        assert_eq!(r.net_total, eur(545));
        let plain = z_report(date, Currency::EUR, &[order()], &[], waiting(0, 0)).unwrap();
        assert_eq!(plain.tips, None, "no tips line without tips");
        // The tip alone goes back to the card.
        let new = crate::refund::NewRefund {
            id: crate::ids::RefundId::from_record_id(crate::order::tests::order_id(9).record_id()),
            number: "R1-20261127-0050".parse().unwrap(),
            reason: None,
            cashier: None,
            approval: None,
            shift: None,
            tip: true,
            now: Timestamp(9),
        };
        let left = crate::refund::refundable(&card, &[]).unwrap();
        let tenders = crate::refund::default_tenders(&left, eur(200), |_| pref(7));
        let refund = Refund::create(new, &card, &[], &[], tenders).unwrap();
        let r = z_report(date, Currency::EUR, &[card], &[refund], waiting(0, 0)).unwrap();
        assert_eq!((r.refunds_total, r.refunds_card), (eur(200), eur(200)));
        assert_eq!(r.tips_refunded, Some(eur(200)));
        assert_eq!(r.net_total, eur(545), "giving a tip back refunds no sale");
    }

    /// Hole 10: a pending order from an earlier day stays in Register
    /// Sales, so its Download stays reachable; a settled one does not.
    #[test]
    fn hole_10_register_sales_keeps_earlier_orders_that_still_need_someone() {
        let today = BusinessDate::new(2026, 11, 28).unwrap();
        let mut pending = order(); // rung up on 2026-11-27
        pending.close_unpaid(pref(2), Timestamp(5)).unwrap();
        let mut done = order();
        done.id = crate::order::tests::order_id(2);
        done.add_tender(
            Tender::cash(eur(1000), done.due().unwrap()).unwrap(),
            Timestamp(2),
        )
        .unwrap();
        let register = crate::order::RegisterId::new("R1").unwrap();
        let rows = register_sales(
            vec![pending.clone(), done.clone()],
            &[],
            &Default::default(),
            &register,
            today,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].order.id, pending.id);
        assert!(rows[0].earlier);
        let unsynced = [done.id].into_iter().collect();
        let rows = register_sales(vec![done.clone()], &[], &unsynced, &register, today);
        assert_eq!(rows.len(), 1, "not yet in the back office");
        let other = crate::order::RegisterId::new("R2").unwrap();
        assert!(register_sales(vec![done], &[], &unsynced, &other, today).is_empty());
    }
}
