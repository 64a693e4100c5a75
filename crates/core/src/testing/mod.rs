//! What the register's tests, the browser tests and the simulator share
//! (feature `testing`): the reference in-memory store, a register's
//! configuration, amounts and card details, and one driver for the
//! machines' tests ([`Driver`]; the whole register on it: [`TestTill`]).

pub mod driver;
pub mod journal;
pub mod till;

pub use crate::memstore::{Fault, MemStore};
pub use driver::{Driver, Machine};
pub use till::TestTill;

use crate::desk::DeskRecord;
use crate::money::{Currency, Money};
use crate::order::{CardDetails, RegisterId};
use crate::payment::PaymentConfig;
use crate::register::RegisterConfig;
use crate::shift::{CashCount, Shift, ShiftId};
use crate::staff::{hash_pin_with, Role, StaffId, StaffMember};
use crate::time::Timestamp;

/// Euros, in cents.
pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).expect("a test amount")
}

/// What a terminal reports for an approved test card.
pub fn card() -> CardDetails {
    CardDetails {
        brand: "VISA".into(),
        last4: "4242".into(),
        auth_code: "A1B2C3".into(),
        masked_pan: None,
        psp_reference: None,
        tip: None,
    }
}

/// Register R1, selling in euros, `utc_offset_min` minutes ahead of UTC.
pub fn register_config(utc_offset_min: i32) -> RegisterConfig {
    RegisterConfig {
        register: RegisterId::new("R1").expect("a register id"),
        currency: Currency::EUR,
        payment: PaymentConfig::default(),
        utc_offset_min,
        auto_print: false,
        returns_without_receipt: false,
        idle_lock: None,
        policy: Default::default(),
    }
}

/// The test store's staff: a manager and two cashiers, their PINs hashed
/// cheaply (a hash carries its cost; the real one is
/// [`crate::staff::hash_pin`]'s).
pub fn staff() -> Vec<StaffMember> {
    [
        ("dana", "Dana", Role::Manager, MANAGER_PIN),
        ("alex", "Alex", Role::Cashier, CASHIER_PIN),
        ("jo", "Jo", Role::Cashier, "8024"),
    ]
    .into_iter()
    .map(|(id, name, role, pin)| StaffMember {
        id: StaffId::new(id).expect("a staff id"),
        name: name.into(),
        role,
        pin_hash: hash_pin_with(pin, [5; 16], 16, 1).expect("a PIN"),
    })
    .collect()
}

pub const MANAGER_PIN: &str = "2468";
pub const CASHIER_PIN: &str = "1357";

/// The desk of a register where manager Dana is signed in (she needs
/// nobody's approval: tests of other things are not held up by it).
pub fn signed_in_desk() -> DeskRecord {
    DeskRecord {
        staff: staff(),
        current: Some(StaffId::new("dana").expect("a staff id")),
        locks: Default::default(),
    }
}

/// The float of the tests' open shift: €100.00.
pub const FLOAT: i64 = 10_000;

/// Shift `n` of register R1, opened by Dana with [`FLOAT`] in the drawer.
pub fn open_shift(n: u128, at: Timestamp) -> Shift {
    let id = uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_5a1f_0000_0000 | n);
    Shift::open(
        ShiftId::from_uuid(id).expect("a UUID v7"),
        RegisterId::new("R1").expect("a register id"),
        Currency::EUR,
        crate::staff::StaffRef {
            id: StaffId::new("dana").expect("a staff id"),
            name: "Dana".into(),
        },
        CashCount::Total { amount: eur(FLOAT) },
        at,
    )
    .expect("a float")
}

/// A store whose register has the staff list, no shift open, and nobody
/// signed in.
pub fn staff_only_store() -> MemStore {
    let mut store = MemStore::default();
    store.desk = Some(DeskRecord {
        staff: staff(),
        ..DeskRecord::default()
    });
    store
}

/// A store whose register has the staff list and a shift open, and
/// nobody signed in.
pub fn staffed_store() -> MemStore {
    let mut store = staff_only_store();
    let shift = open_shift(1, Timestamp::from_millis(0));
    store.open_shift = Some(shift.id);
    store.shifts.insert(shift.id, shift);
    store
}

/// A store whose register has manager Dana signed in and a shift open
/// (tests of other things sell at once).
pub fn signed_in_store() -> MemStore {
    let mut store = staffed_store();
    store.desk = Some(signed_in_desk());
    store
}
