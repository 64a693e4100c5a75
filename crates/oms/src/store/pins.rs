//! The back office's PIN lock-outs: till-core's [`PinLock`] per person and
//! per register, read and updated in one transaction so that two tries at
//! once cannot both count as the first.

use super::StoreError;
use till_core::staff::{PinError, PinLock};
use till_core::time::Timestamp;

/// The PIN lock-outs' part of the store.
pub trait PinStore {
    /// The lock-out in force at `now` for any of `subjects`, if any.
    fn pin_locked(
        &self,
        subjects: &[String],
        now: Timestamp,
    ) -> Result<Result<(), PinError>, StoreError>;

    /// A PIN was checked (`right`) at `now`: each subject's lock takes it
    /// ([`PinLock::entered`]). The first refusal is the answer: a lock-out
    /// in force, or the person's wrong-PIN count.
    fn pin_entered(
        &self,
        subjects: &[String],
        right: bool,
        now: Timestamp,
    ) -> Result<Result<(), PinError>, StoreError>;
}

/// Each subject's lock takes the try; the first refusal is the answer.
pub(crate) fn enter_all(
    locks: &mut [PinLock],
    right: bool,
    now: Timestamp,
) -> Result<(), PinError> {
    if let Some(e) = locks.iter().find_map(|l| l.check(now).err()) {
        return Err(e);
    }
    let answers: Vec<Result<(), PinError>> =
        locks.iter_mut().map(|l| l.entered(right, now)).collect();
    answers.into_iter().collect()
}

/// The subject of a person's lock and of a register's.
pub fn person_subject(id: &str) -> String {
    format!("staff:{id}")
}

pub fn register_subject(id: &str) -> String {
    format!("register:{id}")
}

pub(crate) fn parse_lock(state: Option<String>) -> Result<PinLock, StoreError> {
    match state {
        Some(s) => Ok(serde_json::from_str(&s)?),
        None => Ok(PinLock::default()),
    }
}
