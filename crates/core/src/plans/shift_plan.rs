//! A write to the register's shift, decided inside the storage transaction
//! that makes it: open one with its float, pay cash in or out, open the
//! drawer with no sale, close it with a count. [`plan_shift`] reads what the
//! store holds ([`ShiftSnapshot`]) and says what to write ([`ShiftPlan`]):
//! the shift and its outbox entry, together.

use crate::drawer::CashMovement;
use crate::ids::{RegisterId, ShiftId};
use crate::money::Currency;
use crate::order::{BusinessDate, Order};
use crate::outbox::{Outbox, OutboxChange, OutboxEntry};
use crate::refund::Refund;
use crate::shift::{shift_report, CashCount, DrawerOpen, Shift, ShiftError};
use crate::staff::{Approval, StaffRef};
use crate::time::Timestamp;

/// What the cashier does to the register's shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShiftChange {
    /// A new shift, with its starting float.
    Open {
        register: RegisterId,
        currency: Currency,
        float: CashCount,
    },
    /// Paid in or out.
    Move(CashMovement),
    /// The drawer opened with no sale (with a manager's approval when a
    /// cashier does it).
    NoSale { approval: Option<Approval> },
    /// The count at the close; the Z report is dated `date`.
    Close {
        count: CashCount,
        date: BusinessDate,
    },
}

/// One write to a shift. `id` is the new shift's (for an open) or the open
/// one's; `version` is the version the register holds (0 for an open), so
/// a change made on a shift the register has not seen is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftRequest {
    pub id: ShiftId,
    pub version: u32,
    pub change: ShiftChange,
    pub by: StaffRef,
    pub at: Timestamp,
}

/// What the store holds, read inside the transaction that writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShiftSnapshot {
    /// The register's open shift, if any.
    pub open: Option<Shift>,
    /// The shift `id` names, as stored (a repeated open finds it).
    pub stored: Option<Shift>,
    /// For a close: the orders and refunds that name the shift.
    pub orders: Vec<Order>,
    pub refunds: Vec<Refund>,
    /// The shift's outbox entries.
    pub outbox: Vec<OutboxEntry>,
}

/// What to write, in one transaction: the shift (none when a repeated open
/// found it written), its outbox entry, and which shift is open now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftPlan {
    pub write: Option<Shift>,
    pub outbox: Vec<OutboxChange>,
    pub open: Option<ShiftId>,
    /// The shift as it now stands.
    pub shift: Shift,
}

/// Decides a write to a shift, by the rules of [`Shift`]: one open shift
/// per register; a change only to the open shift at the version the
/// register holds; the close counted against the shift's X report, made
/// here from the records the transaction read.
pub fn plan_shift(req: &ShiftRequest, snap: &ShiftSnapshot) -> Result<ShiftPlan, ShiftError> {
    if let ShiftChange::Open { .. } = req.change {
        if let Some(done) = snap.stored.as_ref().filter(|s| s.id == req.id) {
            return Ok(ShiftPlan {
                write: None,
                outbox: Vec::new(),
                open: snap.open.as_ref().map(|s| s.id),
                shift: done.clone(),
            });
        }
    }
    let shift = changed_shift(req, snap)?;
    let mut outbox = Outbox::new(snap.outbox.clone());
    Ok(ShiftPlan {
        outbox: outbox.enqueue_shift(shift.id, shift.version, req.at),
        open: shift.is_open().then_some(shift.id),
        write: Some(shift.clone()),
        shift,
    })
}

/// The shift after `req`'s change.
fn changed_shift(req: &ShiftRequest, snap: &ShiftSnapshot) -> Result<Shift, ShiftError> {
    let current = || -> Result<Shift, ShiftError> {
        let shift = snap.open.clone().ok_or(ShiftError::NoShift)?;
        if shift.id != req.id || shift.version != req.version {
            return Err(ShiftError::Stale);
        }
        Ok(shift)
    };
    let by = req.by.clone();
    match &req.change {
        ShiftChange::Open {
            register,
            currency,
            float,
        } => match snap.open {
            Some(_) => Err(ShiftError::AlreadyOpen),
            None => Shift::open(
                req.id,
                register.clone(),
                *currency,
                by,
                float.clone(),
                req.at,
            ),
        },
        ShiftChange::Move(m) => {
            let mut shift = current()?;
            shift.move_cash(m.clone())?;
            Ok(shift)
        }
        ShiftChange::NoSale { approval } => {
            let mut shift = current()?;
            let approval = approval.clone();
            shift.no_sale(DrawerOpen {
                at: req.at,
                by,
                approval,
            })?;
            Ok(shift)
        }
        ShiftChange::Close { count, date } => {
            let mut shift = current()?;
            let x = shift_report(
                &shift,
                *date,
                &snap.orders,
                &snap.refunds,
                crate::report::Pending::default(),
            )?;
            shift.close(count.clone(), &x, by, req.at)?;
            Ok(shift)
        }
    }
}
