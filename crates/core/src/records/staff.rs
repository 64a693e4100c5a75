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
//!   not sign in, so guessing during the lock-out gains nothing. The count
//!   does not start over when a lock-out ends: until a right PIN, each
//!   wrong one locks again, for longer ([`lockout_for`]: 5 min, 15 min,
//!   1 h, 4 h, then a day), so a 4-digit PIN cannot be walked through
//!   five guesses at a time.

use crate::time::{Duration, Timestamp};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Wrong PINs in a row before a lock-out.
pub const PIN_TRIES_MAX: u8 = 5;
/// How long the first lock-out lasts.
pub const PIN_LOCKOUT: Duration = Duration::from_mins(5);
/// The lock-outs after the first, in order; the last repeats.
const PIN_LOCKOUTS_LATER: [Duration; 4] = [
    Duration::from_mins(15),
    Duration::from_mins(60),
    Duration::from_mins(4 * 60),
    Duration::from_mins(24 * 60),
];

/// How long lock-out number `n` (from 1) since the last right PIN lasts.
pub fn lockout_for(n: u8) -> Duration {
    match n {
        0 | 1 => PIN_LOCKOUT,
        n => PIN_LOCKOUTS_LATER[usize::from(n - 2).min(PIN_LOCKOUTS_LATER.len() - 1)],
    }
}
/// The default discount above which a manager approves: 20 %.
pub const DISCOUNT_THRESHOLD_BP_DEFAULT: u32 = 2_000;
/// The default largest paid out a cashier makes alone, in minor units of
/// the store's currency: 50.00.
pub const PAID_OUT_LIMIT_MINOR_DEFAULT: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    Manager,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Cashier => "Cashier",
            Role::Manager => "Manager",
        }
    }
}

/// The longest staff id and display name.
pub const STAFF_ID_LEN_MAX: usize = 40;
pub const STAFF_NAME_LEN_MAX: usize = 40;
/// A PIN is 4 to 8 digits.
pub const PIN_LEN: std::ops::RangeInclusive<usize> = 4..=8;
/// Argon2id's cost for a PIN's hash: 7 MiB and 5 passes, one of OWASP's
/// equivalent settings, chosen for the least memory: a tablet checks it
/// in WebAssembly at every sign-in.
pub const PIN_HASH_MEMORY_KIB: u32 = 7 * 1024;
pub const PIN_HASH_PASSES: u32 = 5;
/// The most a stored hash may ask for: a record that asks more is refused
/// rather than stalling (or exhausting) the register.
const PIN_HASH_MEMORY_KIB_MAX: u32 = 64 * 1024;
const PIN_HASH_PASSES_MAX: u32 = 16;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StaffError {
    #[error("a staff id is 1 to 40 letters, digits, '-' or '_' (got {0:?})")]
    BadId(String),
    #[error("a name is 1 to 40 characters (got {0:?})")]
    BadName(String),
    #[error("a PIN is 4 to 8 digits")]
    BadPin,
    #[error("{0}'s PIN record is unreadable: ask the back office to set the PIN again")]
    BadHash(String),
}

/// A person's id in the store's staff list (`dana`, `s-0042`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StaffId(String);

impl StaffId {
    pub fn new(s: impl Into<String>) -> Result<StaffId, StaffError> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= STAFF_ID_LEN_MAX
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(StaffId(s))
        } else {
            Err(StaffError::BadId(s))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StaffId {
    type Error = StaffError;
    fn try_from(s: String) -> Result<StaffId, StaffError> {
        StaffId::new(s)
    }
}

impl From<StaffId> for String {
    fn from(s: StaffId) -> String {
        s.0
    }
}

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name, trimmed, 1 to 40 characters.
pub fn check_name(name: &str) -> Result<String, StaffError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > STAFF_NAME_LEN_MAX || name.chars().any(char::is_control) {
        return Err(StaffError::BadName(name.to_owned()));
    }
    Ok(name.to_owned())
}

/// A PIN as typed: 4 to 8 digits.
pub fn check_pin(pin: &str) -> Result<(), StaffError> {
    if PIN_LEN.contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(StaffError::BadPin)
    }
}

/// The shortest PIN a manager may be given: a manager's PIN approves
/// refunds and voids, and a lost tablet's copy of its hash can be
/// searched offline (a million 6-digit PINs against ten thousand).
pub const MANAGER_PIN_MIN: usize = 6;

/// Why a PIN chosen for someone is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WeakPin {
    #[error("a PIN is 4 to 8 digits")]
    Format,
    #[error("a manager's PIN is at least {MANAGER_PIN_MIN} digits: it approves refunds and voids")]
    ShortForManager,
    #[error("one digit repeated is among the first PINs anyone tries")]
    OneDigit,
    #[error("a run of digits (such as 123456 or 654321) is among the first PINs anyone tries")]
    Run,
    #[error("this PIN is published (a demo PIN): anyone can sign in with it")]
    Published,
}

/// Whether `pin` may be given to someone of `role`: 4 to 8 digits (a
/// manager's at least [`MANAGER_PIN_MIN`]), not one digit repeated, not a
/// run up or down (wrapping 9 to 0), and none of `published` (PINs anyone
/// knows, such as the demo staff's).
pub fn check_new_pin(pin: &str, role: Role, published: &[&str]) -> Result<(), WeakPin> {
    check_pin(pin).map_err(|_| WeakPin::Format)?;
    if role == Role::Manager && pin.len() < MANAGER_PIN_MIN {
        return Err(WeakPin::ShortForManager);
    }
    let digits: Vec<u8> = pin.bytes().map(|b| b - b'0').collect();
    let steps: Vec<u8> = digits.windows(2).map(|w| (w[1] + 10 - w[0]) % 10).collect();
    if steps.iter().all(|&s| s == 0) {
        return Err(WeakPin::OneDigit);
    }
    if steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == 9) {
        return Err(WeakPin::Run);
    }
    if published.contains(&pin) {
        return Err(WeakPin::Published);
    }
    Ok(())
}

fn pin_hasher(memory_kib: u32, passes: u32) -> Argon2<'static> {
    let params =
        Params::new(memory_kib, passes, 1, None).expect("the PIN hash's parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PIN's hash (argon2id, PHC string) with a random `salt` the caller
/// draws: the back office stores it, the register checks against it.
pub fn hash_pin(pin: &str, salt: [u8; 16]) -> Result<String, StaffError> {
    hash_pin_with(pin, salt, PIN_HASH_MEMORY_KIB, PIN_HASH_PASSES)
}

/// [`hash_pin`] at a chosen cost: tests and the simulator hash cheaply (a
/// hash carries its own cost, so checking follows it).
pub fn hash_pin_with(
    pin: &str,
    salt: [u8; 16],
    memory_kib: u32,
    passes: u32,
) -> Result<String, StaffError> {
    check_pin(pin)?;
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    let hash = pin_hasher(memory_kib, passes)
        .hash_password(pin.as_bytes(), &salt)
        .expect("a PIN of 4 to 8 digits hashes");
    Ok(hash.to_string())
}

/// A member of a store's staff, as the register holds them (downloaded
/// with the catalog, so sign-in works offline). Only active people are
/// sent; one disabled at the back office disappears at the next download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: StaffId,
    pub name: String,
    pub role: Role,
    /// argon2id, PHC string.
    pub pin_hash: String,
}

impl StaffMember {
    /// Whether `pin` is this person's. A hash that cannot be read, or asks
    /// for more than a register can give, is an error, not a wrong PIN.
    pub fn pin_matches(&self, pin: &str) -> Result<bool, StaffError> {
        let bad = || StaffError::BadHash(self.name.clone());
        let hash = PasswordHash::new(&self.pin_hash).map_err(|_| bad())?;
        let params = Params::try_from(&hash).map_err(|_| bad())?;
        if hash.algorithm != argon2::ARGON2ID_IDENT
            || params.m_cost() > PIN_HASH_MEMORY_KIB_MAX
            || params.t_cost() > PIN_HASH_PASSES_MAX
        {
            return Err(bad());
        }
        if check_pin(pin).is_err() {
            return Ok(false);
        }
        Ok(Argon2::default()
            .verify_password(pin.as_bytes(), &hash)
            .is_ok())
    }

    pub fn as_ref(&self) -> StaffRef {
        StaffRef {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// Who did something, as a record keeps it: the id, and the name at the
/// time (a receipt and a report show the name even after the person left).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StaffRef {
    pub id: StaffId,
    pub name: String,
}

/// A manager's approval of something a cashier may not do alone, kept on
/// the record it approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: StaffRef,
    pub at: Timestamp,
    pub what: Guarded,
    /// A discount's approval names each line it approved, with the
    /// discount and the money off it approved there: it covers no other
    /// line and no more money ([`crate::cart::Cart::unapproved_discounts`]).
    /// Empty for anything else, and for discounts approved before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<DiscountGrant>,
}

/// One line's discount, as a manager approved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountGrant {
    pub product_id: crate::catalog::ProductId,
    /// The line's discount as the customer gets it (its own and its share
    /// of the order discount), in basis points of its gross.
    pub basis_points: u32,
    /// The money off the line, all discounts together.
    pub off: crate::money::Money,
}

/// An action a role may not be allowed to do alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
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
    /// Cash paid out of the drawer above the store's limit
    /// ([`Policy::paid_out_limit_minor`]).
    PaidOut,
}

impl Guarded {
    /// What the manager is asked to approve.
    pub fn label(self) -> String {
        match self {
            Guarded::Void => "Void the order".into(),
            Guarded::Refund => "Refund".into(),
            Guarded::ReturnWithoutReceipt => "Return without receipt".into(),
            Guarded::Discount { basis_points } => {
                format!("A discount of {}", crate::money::percent_text(basis_points))
            }
            Guarded::PriceOverride => "Price override".into(),
            Guarded::NoSale => "Open the drawer (no sale)".into(),
            Guarded::ChangeSettings => "Change Settings".into(),
            Guarded::PaidOut => "Pay out more than the store's limit".into(),
        }
    }
}

/// The store's rules for approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// A discount above this needs a manager.
    pub discount_threshold_bp: u32,
    /// A paid out above this (minor units of the store's currency) needs
    /// a manager.
    #[serde(default = "paid_out_limit_default")]
    pub paid_out_limit_minor: i64,
}

fn paid_out_limit_default() -> i64 {
    PAID_OUT_LIMIT_MINOR_DEFAULT
}

impl Policy {
    /// Whether paying `amount` out of the drawer needs a manager (for a
    /// cashier: [`needs_manager`] says who).
    pub fn paid_out_guarded(&self, amount: crate::money::Money) -> bool {
        amount.minor() > self.paid_out_limit_minor
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            discount_threshold_bp: DISCOUNT_THRESHOLD_BP_DEFAULT,
            paid_out_limit_minor: PAID_OUT_LIMIT_MINOR_DEFAULT,
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
        | Guarded::ChangeSettings
        | Guarded::PaidOut => true,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PinError {
    #[error("wrong PIN: {left} tries left before a {minutes}-minute lock")]
    Wrong { left: u8, minutes: u64 },
    #[error("too many wrong PINs: locked for {minutes} more minute(s)")]
    Locked { until: Timestamp, minutes: u64 },
}

/// One person's PIN tries, as a sans-IO machine: feed it each outcome of a
/// PIN check with the time; it says whether the person may sign in, and
/// when the lock-out ends ([`PinLock::poll_timeout`]). Kept per person on
/// the register (in its storage, so a reload does not reset it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PinLock {
    /// Wrong PINs in a row since the last right one or lock-out.
    wrong: u8,
    locked_until: Option<Timestamp>,
    /// Lock-outs since the last right PIN (none stored before they grew).
    #[serde(default)]
    lockouts: u8,
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
            *self = PinLock::default();
            return Ok(());
        }
        self.wrong += 1;
        // After a lock-out, until a right PIN, one wrong PIN locks again.
        let allowed = match self.lockouts {
            0 => PIN_TRIES_MAX,
            _ => 1,
        };
        if self.wrong >= allowed {
            self.wrong = 0;
            self.lockouts = self.lockouts.saturating_add(1);
            let lasts = lockout_for(self.lockouts);
            let until = now + lasts;
            self.locked_until = Some(until);
            return Err(PinError::Locked {
                until,
                minutes: lasts.as_secs_ceil().div_ceil(60),
            });
        }
        Err(PinError::Wrong {
            left: allowed - self.wrong,
            minutes: lockout_for(self.lockouts + 1).as_secs_ceil().div_ceil(60),
        })
    }

    /// When the lock-out ends (to show the keypad again); `None` when not locked.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.locked_until
    }

    /// The lock-out is over at `now`: it is forgotten (its timer served).
    pub fn expire(&mut self, now: Timestamp) {
        if self.locked_until.is_some_and(|t| t <= now) {
            self.locked_until = None;
        }
    }

    /// The clock was moved forward by `by` (the register's monotonic clock
    /// says less time passed): the lock-out ends that much later.
    pub fn clock_jumped_forward(&mut self, by: Duration) {
        if let Some(until) = &mut self.locked_until {
            *until = *until + by;
        }
    }

    /// The register starts again (a reload) with this lock-out stored: it
    /// starts over from `now`. Only a running register's monotonic clock
    /// tells time passed from a clock moved forward; across a reload there
    /// is none, so a lock-out counts only while the register runs, and
    /// never ends early.
    pub fn restart(&mut self, now: Timestamp) {
        if self.locked_until.is_some() {
            self.locked_until = Some(now + lockout_for(self.lockouts.max(1)));
        }
    }

    /// The clock stepped back (it was wrong, and was corrected): a lock-out
    /// set from it would last that much longer. It ends at most its own
    /// length ([`lockout_for`]) from now.
    pub fn clock_stepped_back(&mut self, now: Timestamp) {
        let lasts = lockout_for(self.lockouts);
        if let Some(until) = &mut self.locked_until {
            *until = (*until).min(now + lasts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_pin_is_refused_with_its_reason_when_it_is_guessed_first() {
        let demo = ["2468", "1357"];
        let check = |pin, role| check_new_pin(pin, role, &demo);
        use Role::{Cashier, Manager};
        assert_eq!(check("4829", Cashier), Ok(()));
        assert_eq!(check("4829", Manager), Err(WeakPin::ShortForManager));
        assert_eq!(check("482913", Manager), Ok(()));
        assert_eq!(check("12a4", Cashier), Err(WeakPin::Format));
        assert_eq!(check("123456789", Manager), Err(WeakPin::Format));
        assert_eq!(check("777777", Manager), Err(WeakPin::OneDigit));
        for run in ["123456", "654321", "890123", "3210"] {
            assert_eq!(check(run, Cashier), Err(WeakPin::Run), "{run}");
        }
        assert_eq!(check("1357", Cashier), Err(WeakPin::Published));
        assert_eq!(
            WeakPin::ShortForManager.to_string(),
            "a manager's PIN is at least 6 digits: it approves refunds and voids"
        );
    }

    fn member(pin: &str) -> StaffMember {
        StaffMember {
            id: StaffId::new("dana").unwrap(),
            name: "Dana".into(),
            role: Role::Manager,
            pin_hash: hash_pin_with(pin, [7; 16], 64, 1).unwrap(),
        }
    }

    #[test]
    fn a_pin_matches_its_hash_only() {
        let m = member("2468");
        assert_eq!(m.pin_matches("2468"), Ok(true));
        assert_eq!(m.pin_matches("2469"), Ok(false));
        assert_eq!(m.pin_matches("24a8"), Ok(false));
        assert_eq!(hash_pin("12", [0; 16]), Err(StaffError::BadPin));
        assert_eq!(hash_pin("123456789", [0; 16]), Err(StaffError::BadPin));
        // The real cost, once.
        let real = StaffMember {
            pin_hash: hash_pin("2468", [9; 16]).unwrap(),
            ..m
        };
        assert!(real.pin_hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
        assert_eq!(real.pin_matches("2468"), Ok(true));
    }

    #[test]
    fn an_unreadable_or_too_costly_hash_is_an_error_not_a_wrong_pin() {
        let mut m = member("2468");
        m.pin_hash = "not a hash".into();
        assert!(matches!(m.pin_matches("2468"), Err(StaffError::BadHash(_))));
        m.pin_hash = hash_pin_with("2468", [7; 16], 128 * 1024, 1).unwrap();
        assert!(matches!(m.pin_matches("2468"), Err(StaffError::BadHash(_))));
    }

    #[test]
    fn ids_and_names_are_checked() {
        assert!(StaffId::new("s-0042_b").is_ok());
        assert!(StaffId::new("").is_err());
        assert!(StaffId::new("dana smith").is_err());
        assert_eq!(check_name("  Dana "), Ok("Dana".into()));
        assert!(check_name(" ").is_err());
        assert!(check_name(&"x".repeat(41)).is_err());
    }

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
            Guarded::PaidOut,
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
            ..Policy::default()
        };
        assert!(needs_manager(Role::Cashier, d(1_000), &strict));
    }

    #[test]
    fn five_wrong_pins_lock_for_five_minutes_and_a_right_one_then_does_not_sign_in() {
        let t = |s: u64| Timestamp::from_millis(1_000_000) + Duration::from_secs(s);
        let mut lock = PinLock::default();
        for left in (1..PIN_TRIES_MAX).rev() {
            assert_eq!(
                lock.entered(false, t(1)),
                Err(PinError::Wrong { left, minutes: 5 })
            );
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
                left: PIN_TRIES_MAX - 1,
                minutes: 5
            })
        );
    }

    #[test]
    fn lock_outs_grow_and_the_count_does_not_start_over_until_a_right_pin() {
        let mut now = Timestamp::from_millis(1_000_000);
        let mut lock = PinLock::default();
        for _ in 1..PIN_TRIES_MAX {
            assert!(matches!(
                lock.entered(false, now),
                Err(PinError::Wrong { .. })
            ));
        }
        let mut lasted = Vec::new();
        for _ in 0..6 {
            // Each lock-out ends; the next wrong PIN locks again, longer.
            let Err(PinError::Locked { until, minutes }) = lock.entered(false, now) else {
                panic!("a wrong PIN after a lock-out locks again");
            };
            lasted.push(minutes);
            now = until;
        }
        assert_eq!(lasted, [5, 15, 60, 240, 1440, 1440]);
        // The warning says how long the next lock would be.
        assert_eq!(lock.entered(true, now), Ok(()));
        assert_eq!(
            lock.entered(false, now),
            Err(PinError::Wrong {
                left: PIN_TRIES_MAX - 1,
                minutes: 5
            }),
            "a right PIN starts the count over"
        );
    }

    #[test]
    fn a_lock_stored_before_lock_outs_grew_still_reads() {
        let stored = r#"{"wrong":2,"locked_until":null}"#;
        let lock: PinLock = serde_json::from_str(stored).unwrap();
        assert_eq!(
            lock,
            PinLock {
                wrong: 2,
                locked_until: None,
                lockouts: 0
            }
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

    fn locked_at(now: Timestamp) -> PinLock {
        let mut lock = PinLock::default();
        for _ in 0..PIN_TRIES_MAX {
            let _ = lock.entered(false, now);
        }
        lock
    }

    #[test]
    fn a_clock_moved_forward_moves_the_lock_outs_end_with_it() {
        let now = Timestamp::from_millis(1_000_000);
        let mut lock = locked_at(now);
        let hour = Duration::from_mins(60);
        lock.clock_jumped_forward(hour);
        // An hour later by the moved clock, a minute later in truth.
        let later = now + hour + Duration::from_mins(1);
        assert!(matches!(
            lock.check(later),
            Err(PinError::Locked { minutes: 4, .. })
        ));
        assert_eq!(lock.check(now + hour + PIN_LOCKOUT), Ok(()));
    }

    #[test]
    fn a_lock_out_read_back_at_start_starts_over_whatever_the_clock_says() {
        let now = Timestamp::from_millis(1_000_000);
        let mut lock = locked_at(now);
        // Stored, then read back after the clock was moved a day on.
        let day_on = now + Duration::from_mins(24 * 60);
        lock.restart(day_on);
        assert!(lock.check(day_on).is_err());
        assert_eq!(lock.poll_timeout(), Some(day_on + PIN_LOCKOUT));
        // Nobody locked: nothing starts.
        let mut free = PinLock::default();
        free.restart(day_on);
        assert_eq!(free, PinLock::default());
    }
}
