//! Who may do what at the register: roles, the actions that need a
//! manager's PIN on the spot, and the PIN lock-out. Pure rules with time
//! passed in; the PIN's hash is checked by the shell (a slow, salted hash),
//! and its outcome is fed to [`PinLock`].
//!
//! - A store's staff are cashiers and managers ([`Role`]).
//! - Some actions need a manager ([`needs_manager`]): voids, refunds and
//!   returns without a receipt, a discount above the store's threshold
//!   ([`Policy::discount_threshold_bp`], 20 % unless the store says
//!   otherwise), a price override, opening the drawer with no sale, and
//!   changing Settings. A manager doing it themselves needs nobody else.
//! - After [`PIN_TRIES_MAX`] wrong PINs in a row a person is locked for
//!   [`PIN_LOCKOUT`] ([`PinLock`]); a right PIN while locked still does
//!   not sign in, so guessing during the lock-out gains nothing.

use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Wrong PINs in a row before a lock-out.
pub const PIN_TRIES_MAX: u8 = 5;
/// How long a lock-out lasts.
pub const PIN_LOCKOUT: Duration = Duration::from_mins(5);
/// The default discount above which a manager approves: 20 %.
pub const DISCOUNT_THRESHOLD_BP_DEFAULT: u32 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    Manager,
}

/// An action a role may not be allowed to do alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    Void,
    Refund,
    ReturnWithoutReceipt,
    /// A discount of this many basis points (of a line or of the order).
    Discount {
        basis_points: u32,
    },
    PriceOverride,
    /// Opening the drawer with no sale.
    NoSale,
    ChangeSettings,
}

/// The store's rules for approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// A discount above this needs a manager.
    pub discount_threshold_bp: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            discount_threshold_bp: DISCOUNT_THRESHOLD_BP_DEFAULT,
        }
    }
}

/// Whether `role` needs a manager's PIN to do `action`.
pub fn needs_manager(role: Role, action: Guarded, policy: &Policy) -> bool {
    if role == Role::Manager {
        return false;
    }
    match action {
        Guarded::Discount { basis_points } => basis_points > policy.discount_threshold_bp,
        Guarded::Void
        | Guarded::Refund
        | Guarded::ReturnWithoutReceipt
        | Guarded::PriceOverride
        | Guarded::NoSale
        | Guarded::ChangeSettings => true,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PinError {
    #[error("wrong PIN: {left} tries left before a 5-minute lock")]
    Wrong { left: u8 },
    #[error("too many wrong PINs: locked for {minutes} more minute(s)")]
    Locked { until: Timestamp, minutes: u64 },
}

/// One person's PIN tries, as a sans-IO machine: feed it each outcome of a
/// PIN check with the time; it says whether the person may sign in, and
/// when the lock-out ends ([`PinLock::poll_timeout`]). Kept per person on
/// the register (in its storage, so a reload does not reset it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PinLock {
    /// Wrong PINs in a row since the last right one (or the last lock-out).
    wrong: u8,
    locked_until: Option<Timestamp>,
}

impl PinLock {
    /// The lock-out in force at `now`, if any.
    pub fn check(&self, now: Timestamp) -> Result<(), PinError> {
        match self.locked_until {
            Some(until) if now < until => Err(PinError::Locked {
                until,
                minutes: (until - now).as_secs_ceil().div_ceil(60),
            }),
            _ => Ok(()),
        }
    }

    /// A PIN was entered and checked (`right`) at `now`: `Ok` signs in.
    /// While locked nothing is counted and nobody signs in.
    pub fn entered(&mut self, right: bool, now: Timestamp) -> Result<(), PinError> {
        self.check(now)?;
        self.locked_until = None;
        if right {
            self.wrong = 0;
            return Ok(());
        }
        self.wrong += 1;
        if self.wrong >= PIN_TRIES_MAX {
            self.wrong = 0;
            let until = now + PIN_LOCKOUT;
            self.locked_until = Some(until);
            return Err(PinError::Locked {
                until,
                minutes: PIN_LOCKOUT.as_secs_ceil().div_ceil(60),
            });
        }
        Err(PinError::Wrong {
            left: PIN_TRIES_MAX - self.wrong,
        })
    }

    /// When the lock-out ends (to show the keypad again); `None` when not locked.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.locked_until
    }

    /// The clock stepped back (it was wrong, and was corrected): a lock-out
    /// set from it would last that much longer. It ends at most
    /// [`PIN_LOCKOUT`] from now.
    pub fn clock_stepped_back(&mut self, now: Timestamp) {
        if let Some(until) = &mut self.locked_until {
            *until = (*until).min(now + PIN_LOCKOUT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cashier_needs_a_manager_for_the_guarded_actions_and_big_discounts() {
        let p = Policy::default();
        for a in [
            Guarded::Void,
            Guarded::Refund,
            Guarded::ReturnWithoutReceipt,
            Guarded::PriceOverride,
            Guarded::NoSale,
            Guarded::ChangeSettings,
        ] {
            assert!(needs_manager(Role::Cashier, a, &p), "{a:?}");
            assert!(!needs_manager(Role::Manager, a, &p), "{a:?}");
        }
        let d = |bp| Guarded::Discount { basis_points: bp };
        assert!(
            !needs_manager(Role::Cashier, d(2_000), &p),
            "20 % is allowed"
        );
        assert!(needs_manager(Role::Cashier, d(2_001), &p));
        let strict = Policy {
            discount_threshold_bp: 500,
        };
        assert!(needs_manager(Role::Cashier, d(1_000), &strict));
    }

    #[test]
    fn five_wrong_pins_lock_for_five_minutes_and_a_right_one_then_does_not_sign_in() {
        let t = |s: u64| Timestamp::from_millis(1_000_000) + Duration::from_secs(s);
        let mut lock = PinLock::default();
        for left in (1..PIN_TRIES_MAX).rev() {
            assert_eq!(lock.entered(false, t(1)), Err(PinError::Wrong { left }));
        }
        let until = t(2) + PIN_LOCKOUT;
        assert_eq!(
            lock.entered(false, t(2)),
            Err(PinError::Locked { until, minutes: 5 })
        );
        assert_eq!(lock.poll_timeout(), Some(until));
        assert!(matches!(
            lock.entered(true, t(100)),
            Err(PinError::Locked { minutes: 4, .. })
        ));
        // After the lock-out, a right PIN signs in and the count starts over.
        assert_eq!(lock.entered(true, until), Ok(()));
        assert_eq!(lock.poll_timeout(), None);
        assert_eq!(
            lock.entered(false, until),
            Err(PinError::Wrong {
                left: PIN_TRIES_MAX - 1
            })
        );
    }

    #[test]
    fn a_lock_out_set_by_a_clock_that_was_ahead_ends_within_five_minutes_of_now() {
        let now = Timestamp::from_millis(1_000_000);
        let mut lock = PinLock::default();
        for _ in 0..PIN_TRIES_MAX {
            let _ = lock.entered(false, now + Duration::from_mins(24 * 60));
        }
        lock.clock_stepped_back(now);
        assert_eq!(lock.poll_timeout(), Some(now + PIN_LOCKOUT));
    }
}
