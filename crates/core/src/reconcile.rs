//! Reconciliation: deciding what became of a card payment the register
//! closed as "pending confirmation", from what the bridge and the back
//! office know.
//!
//! The seed article's promise: an order closed unpaid after the terminal's
//! result was lost turns paid by itself once the result is found (at app
//! start, on reconnect, on a timer until day-end), or manually through
//! Register Sales → Options → Download. Whichever of the bridge and the OMS
//! knows wins; an approval is never lost. Only when both say they do not
//! know, and long enough has passed that the terminal has certainly given
//! up, is the payment called failed, so the cashier collects again.

use crate::api::PaymentReport;
use crate::money::Money;
use crate::order::{CardDetails, Order, OrderStatus, UnpaidReason};
use crate::payment::{BridgeStatus, PaymentRef};
use crate::time::{Duration, Timestamp};

/// How long after a request a terminal has certainly given up on it: the
/// simulated terminal's timeout (120 s, Adyen's) with a wide margin for a
/// real one's clock and retries.
pub const TERMINAL_GIVE_UP: Duration = Duration::from_mins(10);

/// How often pending orders are reconciled while the app runs.
pub const RECONCILE_INTERVAL: Duration = Duration::from_mins(5);

/// What the register should do with a pending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Approved: record this card tender; the order turns paid.
    Approved {
        reference: PaymentRef,
        amount: Money,
        card: CardDetails,
    },
    /// Declined, or unknown to both long after the terminal gave up: the
    /// order stays unpaid, flagged "payment failed — collect again".
    Failed { reason: String },
    /// Nobody knows yet: ask again later.
    StillPending,
}

/// Decides from the bridge's status of the reference (None: unreachable)
/// and the payments the OMS holds for the order (None: unreachable).
pub fn reconcile(
    order: &Order,
    bridge: Option<&BridgeStatus>,
    oms: Option<&[PaymentReport]>,
    requested_at: Timestamp,
    now: Timestamp,
) -> Verdict {
    let OrderStatus::Unpaid {
        reference,
        reason: UnpaidReason::PendingConfirmation,
    } = &order.status
    else {
        return Verdict::StillPending;
    };
    if let Some(BridgeStatus::Approved { amount, card }) = bridge {
        return Verdict::Approved {
            reference: *reference,
            amount: *amount,
            card: card.clone(),
        };
    }
    if let Some(report) = oms.and_then(|ps| ps.iter().find(|p| p.reference == *reference)) {
        return Verdict::Approved {
            reference: *reference,
            amount: report.amount,
            card: report.card.clone(),
        };
    }
    match bridge {
        Some(BridgeStatus::Declined { reason }) => Verdict::Failed {
            reason: format!("declined: {reason}"),
        },
        Some(BridgeStatus::Cancelled) => Verdict::Failed {
            reason: "cancelled on the terminal".into(),
        },
        Some(BridgeStatus::NotFound) if oms.is_some() && now >= requested_at + TERMINAL_GIVE_UP => {
            Verdict::Failed {
                reason: "unknown to the terminal and the back office".into(),
            }
        }
        _ => Verdict::StillPending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ReportedStatus;
    use crate::order::tests::{order, pref};

    const T0: Timestamp = Timestamp(1_000_000);

    fn pending() -> Order {
        let mut o = order();
        o.close_unpaid(pref(7), T0).unwrap();
        o
    }

    fn card() -> CardDetails {
        CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "A1".into(),
        }
    }

    fn approved(o: &Order) -> BridgeStatus {
        BridgeStatus::Approved {
            amount: o.totals.total,
            card: card(),
        }
    }

    #[test]
    fn the_bridge_or_the_oms_may_know_the_approval() {
        let o = pending();
        assert!(matches!(
            reconcile(&o, Some(&approved(&o)), None, T0, T0),
            Verdict::Approved { .. }
        ));
        let report = PaymentReport {
            reference: pref(7),
            order_id: o.id,
            amount: o.totals.total,
            status: ReportedStatus::Approved,
            card: card(),
            approved_at: T0,
        };
        let v = reconcile(
            &o,
            Some(&BridgeStatus::NotFound),
            Some(std::slice::from_ref(&report)),
            T0,
            T0,
        );
        assert_eq!(
            v,
            Verdict::Approved {
                reference: pref(7),
                amount: o.totals.total,
                card: card()
            }
        );
        // Even when the bridge is down.
        assert!(matches!(
            reconcile(&o, None, Some(&[report]), T0, T0),
            Verdict::Approved { .. }
        ));
    }

    #[test]
    fn a_decline_fails_the_payment() {
        let o = pending();
        let v = reconcile(
            &o,
            Some(&BridgeStatus::Declined {
                reason: "insufficient funds".into(),
            }),
            Some(&[]),
            T0,
            T0,
        );
        assert!(matches!(v, Verdict::Failed { .. }));
    }

    #[test]
    fn unknown_to_both_fails_only_after_the_terminal_gave_up() {
        let o = pending();
        let early = T0 + Duration::from_mins(1);
        assert_eq!(
            reconcile(&o, Some(&BridgeStatus::NotFound), Some(&[]), T0, early),
            Verdict::StillPending
        );
        let late = T0 + TERMINAL_GIVE_UP;
        assert!(matches!(
            reconcile(&o, Some(&BridgeStatus::NotFound), Some(&[]), T0, late),
            Verdict::Failed { .. }
        ));
        // Without the OMS's word, never failed.
        assert_eq!(
            reconcile(&o, Some(&BridgeStatus::NotFound), None, T0, late),
            Verdict::StillPending
        );
        assert_eq!(reconcile(&o, None, None, T0, late), Verdict::StillPending);
        assert_eq!(
            reconcile(&o, Some(&BridgeStatus::Processing), Some(&[]), T0, late),
            Verdict::StillPending
        );
    }

    #[test]
    fn only_pending_orders_are_reconciled() {
        let o = order();
        assert_eq!(
            reconcile(&o, Some(&approved(&o)), None, T0, T0),
            Verdict::StillPending
        );
    }
}
