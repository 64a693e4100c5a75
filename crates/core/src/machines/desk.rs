//! Who is at the register: the store's staff as last downloaded, each
//! person's PIN tries, the cashier signed in, and the idle lock. A sans-IO
//! machine the register owns: it takes a sign-in (name and PIN), a
//! sign-out, activity and ticks with the time, and says when it next needs
//! to run ([`Desk::poll_timeout`]: a lock-out ending, the idle lock).
//!
//! Its state ([`DeskRecord`]) is stored on the register, so a reload keeps
//! the cashier signed in and does not reset a lock-out.

use crate::staff::{PinError, PinLock, Role, StaffError, StaffId, StaffMember, StaffRef};
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// What the register stores of the desk.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeskRecord {
    /// The store's active staff, as last downloaded.
    pub staff: Vec<StaffMember>,
    /// The person signed in.
    #[serde(default)]
    pub current: Option<StaffId>,
    /// Each person's PIN tries.
    #[serde(default)]
    pub locks: BTreeMap<StaffId, PinLock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignInError {
    #[error("nobody can sign in yet: the staff list has not been downloaded (the back office adds staff with `till-oms staff add`)")]
    NoStaff,
    #[error("that person is not on this store's staff list")]
    Unknown,
    #[error("{0} is not a manager: a manager approves this")]
    NotManager(String),
    #[error(transparent)]
    Pin(#[from] PinError),
    #[error(transparent)]
    Staff(#[from] StaffError),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Desk {
    record: DeskRecord,
    /// Sign out after this long with nothing done (a setting; `None`: never).
    idle_lock: Option<Duration>,
    last_activity: Option<Timestamp>,
}

impl Desk {
    pub fn new(record: DeskRecord) -> Desk {
        Desk {
            record,
            ..Desk::default()
        }
    }

    pub fn record(&self) -> &DeskRecord {
        &self.record
    }

    pub fn staff(&self) -> &[StaffMember] {
        &self.record.staff
    }

    /// The person signed in.
    pub fn cashier(&self) -> Option<&StaffMember> {
        let id = self.record.current.as_ref()?;
        self.record.staff.iter().find(|m| &m.id == id)
    }

    pub fn cashier_ref(&self) -> Option<StaffRef> {
        self.cashier().map(StaffMember::as_ref)
    }

    /// `person`'s lock-out in force at `now`, if any (the keypad shows it).
    pub fn lock_of(&self, person: &StaffId, now: Timestamp) -> Result<(), PinError> {
        self.record
            .locks
            .get(person)
            .map_or(Ok(()), |l| l.check(now))
    }

    pub fn set_idle_lock(&mut self, idle: Option<Duration>, now: Timestamp) {
        self.idle_lock = idle;
        self.last_activity = Some(now);
    }

    /// A newer staff list: people no longer on it cannot stay signed in.
    pub fn set_staff(&mut self, staff: Vec<StaffMember>) {
        self.record.staff = staff;
        let ids: Vec<&StaffId> = self.record.staff.iter().map(|m| &m.id).collect();
        self.record.locks.retain(|id, _| ids.contains(&id));
        if self.cashier().is_none() {
            self.record.current = None;
        }
    }

    /// `person` entered `pin` at `now`. A wrong PIN counts towards the
    /// lock-out; a right one signs them in (and the previous cashier out).
    pub fn sign_in(
        &mut self,
        person: &StaffId,
        pin: &str,
        now: Timestamp,
    ) -> Result<StaffRef, SignInError> {
        if self.record.staff.is_empty() {
            return Err(SignInError::NoStaff);
        }
        let who = self.check(person, pin, now, false)?;
        self.record.current = Some(who.id.clone());
        Ok(who)
    }

    /// `person`'s PIN approves an action a cashier may not do alone: they
    /// must be a manager. Nobody signs in or out; a wrong PIN counts
    /// towards that person's lock-out as at sign-in.
    pub fn approve(
        &mut self,
        person: &StaffId,
        pin: &str,
        now: Timestamp,
    ) -> Result<StaffRef, SignInError> {
        self.check(person, pin, now, true)
    }

    /// Checks `person`'s PIN (a manager's, when `manager`) and counts it.
    fn check(
        &mut self,
        person: &StaffId,
        pin: &str,
        now: Timestamp,
        manager: bool,
    ) -> Result<StaffRef, SignInError> {
        let member = self
            .record
            .staff
            .iter()
            .find(|m| &m.id == person)
            .ok_or(SignInError::Unknown)?;
        if manager && member.role != Role::Manager {
            return Err(SignInError::NotManager(member.name.clone()));
        }
        // Locked: nothing is checked (a guess during the lock-out gains nothing).
        self.lock_of(person, now)?;
        let right = member.pin_matches(pin)?;
        let who = member.as_ref();
        let lock = self.record.locks.entry(person.clone()).or_default();
        lock.entered(right, now)?;
        self.record.locks.retain(|_, l| *l != PinLock::default());
        self.last_activity = Some(now);
        Ok(who)
    }

    pub fn sign_out(&mut self) {
        self.record.current = None;
    }

    /// The cashier did something: the idle lock starts over.
    pub fn touch(&mut self, now: Timestamp) {
        self.last_activity = Some(now);
    }

    /// When the idle lock signs the cashier out, if it will.
    fn idle_deadline(&self) -> Option<Timestamp> {
        let idle = self.idle_lock?;
        self.record.current.as_ref()?;
        Some(self.last_activity? + idle)
    }

    /// The next of: the idle lock, a lock-out ending (the keypad comes back).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let locks = self.record.locks.values().filter_map(PinLock::poll_timeout);
        locks.chain(self.idle_deadline()).min()
    }

    /// Time passed: lock-outs that ended are forgotten, and the idle lock
    /// signs the cashier out (`busy`, a card payment on screen, holds it
    /// off). Returns whether anything changed (to store).
    pub fn on_tick(&mut self, now: Timestamp, busy: bool) -> bool {
        let before = self.record.clone();
        for lock in self.record.locks.values_mut() {
            lock.expire(now);
        }
        self.record.locks.retain(|_, l| *l != PinLock::default());
        if busy {
            self.touch(now);
        } else if self.idle_deadline().is_some_and(|t| now >= t) {
            self.sign_out();
        }
        self.record != before
    }

    /// The clock was moved forward by `by`: lock-outs end that much later.
    pub fn clock_jumped_forward(&mut self, by: Duration) {
        for lock in self.record.locks.values_mut() {
            lock.clock_jumped_forward(by);
        }
    }

    /// Read back at start: each lock-out in force starts over from `now`
    /// ([`PinLock::restart`]).
    pub fn restart_locks(&mut self, now: Timestamp) {
        for lock in self.record.locks.values_mut() {
            lock.restart(now);
        }
    }

    /// The clock stepped back: lock-outs and the idle lock count from now.
    pub fn clock_stepped_back(&mut self, now: Timestamp) {
        for lock in self.record.locks.values_mut() {
            lock.clock_stepped_back(now);
        }
        self.last_activity = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::{hash_pin_with, PIN_LOCKOUT, PIN_TRIES_MAX};

    fn person(id: &str, role: Role, pin: &str) -> StaffMember {
        StaffMember {
            id: StaffId::new(id).unwrap(),
            name: id.to_uppercase(),
            role,
            pin_hash: hash_pin_with(pin, [1; 16], 16, 1).unwrap(),
        }
    }

    fn desk() -> Desk {
        Desk::new(DeskRecord {
            staff: vec![
                person("dana", Role::Manager, "2468"),
                person("alex", Role::Cashier, "1357"),
            ],
            ..DeskRecord::default()
        })
    }

    fn id(s: &str) -> StaffId {
        StaffId::new(s).unwrap()
    }

    const T: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn a_right_pin_signs_in_and_switching_signs_the_other_out() {
        let mut d = desk();
        assert_eq!(d.cashier(), None);
        assert_eq!(d.sign_in(&id("alex"), "1357", T).unwrap().name, "ALEX");
        assert_eq!(d.cashier().unwrap().id, id("alex"));
        d.sign_in(&id("dana"), "2468", T).unwrap();
        assert_eq!(d.cashier().unwrap().id, id("dana"));
        assert_eq!(
            d.sign_in(&id("alex"), "0000", T),
            Err(SignInError::Pin(PinError::Wrong {
                left: 4,
                minutes: 5
            }))
        );
        assert_eq!(
            d.cashier().unwrap().id,
            id("dana"),
            "a wrong PIN changes nobody"
        );
        d.sign_out();
        assert_eq!(d.cashier(), None);
        assert_eq!(
            d.sign_in(&id("nobody"), "1357", T),
            Err(SignInError::Unknown)
        );
        assert_eq!(
            Desk::default().sign_in(&id("alex"), "1357", T),
            Err(SignInError::NoStaff)
        );
    }

    #[test]
    fn five_wrong_pins_lock_that_person_only_and_the_lock_survives_a_reload() {
        let mut d = desk();
        for _ in 0..PIN_TRIES_MAX {
            let _ = d.sign_in(&id("alex"), "0000", T);
        }
        assert!(matches!(
            d.sign_in(&id("alex"), "1357", T),
            Err(SignInError::Pin(PinError::Locked { .. }))
        ));
        d.sign_in(&id("dana"), "2468", T).unwrap();
        let mut reloaded = Desk::new(d.record().clone());
        assert!(reloaded.lock_of(&id("alex"), T).is_err());
        assert_eq!(reloaded.cashier().unwrap().id, id("dana"));
        assert_eq!(reloaded.poll_timeout(), Some(T + PIN_LOCKOUT));
        let just_before =
            Timestamp::from_millis(T.as_millis() + PIN_LOCKOUT.as_millis() as i64 - 1);
        assert!(!reloaded.on_tick(just_before, false));
        assert!(
            reloaded.on_tick(T + PIN_LOCKOUT, false),
            "the lock-out ends"
        );
        assert_eq!(reloaded.poll_timeout(), None, "served: no timer spins");
        reloaded
            .sign_in(&id("alex"), "1357", T + PIN_LOCKOUT)
            .unwrap();
        assert!(reloaded.record().locks.is_empty());
    }

    #[test]
    fn the_idle_lock_signs_out_unless_a_payment_is_on_screen() {
        let mut d = desk();
        let min = |n| Duration::from_mins(n);
        d.set_idle_lock(Some(min(2)), T);
        assert_eq!(d.poll_timeout(), None, "nobody to sign out");
        d.sign_in(&id("alex"), "1357", T).unwrap();
        assert_eq!(d.poll_timeout(), Some(T + min(2)));
        d.touch(T + min(1));
        assert!(!d.on_tick(T + min(2), false));
        assert!(!d.on_tick(T + min(3), true), "busy holds it off");
        assert_eq!(d.poll_timeout(), Some(T + min(5)));
        assert_eq!(d.poll_timeout(), Some(T + min(5)));
        assert!(!d.on_tick(T + min(4), false));
        assert!(d.on_tick(T + min(5), false));
        assert_eq!(d.cashier(), None);
    }

    #[test]
    fn someone_removed_from_the_staff_list_is_signed_out() {
        let mut d = desk();
        d.sign_in(&id("alex"), "1357", T).unwrap();
        let _ = d.sign_in(&id("dana"), "1111", T);
        d.sign_in(&id("alex"), "1357", T).unwrap();
        d.set_staff(vec![person("dana", Role::Manager, "2468")]);
        assert_eq!(d.cashier(), None);
        assert!(d.record().locks.keys().all(|k| k == &id("dana")));
    }
}
