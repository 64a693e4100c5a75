//! Registers that enrol with a one-time secret, and registers removed.
//!
//! A store's owner makes an enrolment secret (`till-oms registers enrol`,
//! or `cargo xtask serve --enrol`, which puts it in a setup link). The
//! first register to present it, within [`ENROLMENT_LIFE`], gets the id the
//! owner chose or the next free one, and a token of its own. The OMS keeps
//! the SHA-256 of each secret and token, never the secret or the token. An
//! id is never given twice, so order numbers never collide between tablets;
//! a removed register's id stays taken.

use std::collections::BTreeSet;
use till_core::order::RegisterId;
use till_core::time::{Duration, Timestamp};

/// How long an enrolment secret may be used (once).
pub const ENROLMENT_LIFE: Duration = Duration::from_mins(10);

/// What a register shows when the back office removed it (and the code of
/// the OMS's 401 that says so).
pub use till_core::api::{REGISTER_REMOVED, REGISTER_REMOVED_CODE};

/// A register the back office knows of: enrolled, removed, or seen by its
/// orders only (configured by `--register-token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRow {
    pub id: RegisterId,
    /// When it enrolled; `None` for a register configured by token.
    pub enrolled_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// Names its token without showing it ([`crate::auth::fingerprint`]).
    pub fingerprint: Option<String>,
    /// When the last of its orders reached the back office.
    pub last_order_at: Option<Timestamp>,
}

/// An enrolment secret as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub register: Option<RegisterId>,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A register's new credentials, hashed: what [`super::Store::enrol`]
/// writes when the secret is good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegister {
    pub secret_sha256: String,
    pub token_sha256: String,
    pub fingerprint: String,
}

/// Why an enrolment secret was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrolRefusal {
    Unknown,
    Expired,
    Used,
    /// The id the store chose is already some register's.
    Taken(RegisterId),
}

impl EnrolRefusal {
    /// Words for the person holding the tablet.
    pub fn message(&self) -> String {
        match self {
            EnrolRefusal::Unknown => {
                "This setup link is not known to the back office: ask for a new one".into()
            }
            EnrolRefusal::Expired => {
                "This setup link has expired (links last 10 minutes): ask for a new one".into()
            }
            EnrolRefusal::Used => {
                "This setup link was already used: ask for a new one for this tablet".into()
            }
            EnrolRefusal::Taken(id) => format!(
                "Register id {id} is already taken: ask for a new link with another id, or none"
            ),
        }
    }
}

/// A register that presented its own token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub id: RegisterId,
    pub fingerprint: String,
    pub revoked: bool,
}

/// Whether a revocation changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    AlreadyRevoked,
}

/// The register an enrolment gives, or why it gives none. `taken`: every
/// id any register has (enrolled, removed, configured, or on an order).
pub fn decide_enrolment(
    found: Option<&Enrolment>,
    taken: &BTreeSet<RegisterId>,
    now: Timestamp,
) -> Result<RegisterId, EnrolRefusal> {
    let e = found.ok_or(EnrolRefusal::Unknown)?;
    if e.used_at.is_some() {
        return Err(EnrolRefusal::Used);
    }
    if now >= e.expires_at {
        return Err(EnrolRefusal::Expired);
    }
    match &e.register {
        Some(id) if taken.contains(id) => Err(EnrolRefusal::Taken(id.clone())),
        Some(id) => Ok(id.clone()),
        None => Ok(next_free(taken)),
    }
}

/// `R1`, `R2`, …: the first that no register has.
pub fn next_free(taken: &BTreeSet<RegisterId>) -> RegisterId {
    (1u32..)
        .filter_map(|n| RegisterId::new(format!("R{n}")).ok())
        .find(|id| !taken.contains(id))
        .unwrap_or_else(|| unreachable!("the ids R1, R2, … never run out"))
}

/// The registers table's rows, with the registers known only by their
/// orders (`last_orders`: each register's last order's arrival) added.
pub fn merge_registers(
    mut rows: Vec<RegisterRow>,
    last_orders: Vec<(RegisterId, Timestamp)>,
) -> Vec<RegisterRow> {
    for (id, at) in last_orders {
        match rows.iter_mut().find(|r| r.id == id) {
            Some(row) => row.last_order_at = Some(at),
            None => rows.push(RegisterRow {
                id,
                enrolled_at: None,
                revoked_at: None,
                fingerprint: None,
                last_order_at: Some(at),
            }),
        }
    }
    rows.sort_by_key(|r| natural(r.id.as_str()));
    rows
}

/// Sorts `R2` before `R10`.
fn natural(id: &str) -> (String, usize, u64) {
    let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, tail) = id.split_at(id.len() - digits);
    (head.to_owned(), digits, tail.parse().unwrap_or(0))
}

/// An id as stored, checked.
pub(crate) fn stored_register(id: String) -> Result<RegisterId, super::StoreError> {
    RegisterId::new(id).map_err(|e| super::StoreError(format!("a stored register id: {e}")))
}

/// An enrolments row, checked.
pub(crate) fn stored_enrolment(
    register: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
) -> Result<Enrolment, super::StoreError> {
    Ok(Enrolment {
        register: register.map(stored_register).transpose()?,
        expires_at: Timestamp::from_millis(expires_at),
        used_at: used_at.map(Timestamp::from_millis),
    })
}

/// A registers row, checked.
pub(crate) fn stored_register_row(
    id: String,
    enrolled_at: Option<i64>,
    revoked_at: Option<i64>,
    fingerprint: Option<String>,
) -> Result<RegisterRow, super::StoreError> {
    Ok(RegisterRow {
        id: stored_register(id)?,
        enrolled_at: enrolled_at.map(Timestamp::from_millis),
        revoked_at: revoked_at.map(Timestamp::from_millis),
        fingerprint,
        last_order_at: None,
    })
}

/// Every id some register has: the registers table's, and those on
/// orders and shifts (configured registers write them).
pub(crate) const TAKEN_IDS: &str = "SELECT id FROM registers
     UNION SELECT DISTINCT register FROM orders
     UNION SELECT DISTINCT register FROM refunds
     UNION SELECT DISTINCT register FROM shifts";

/// Marks a register removed (a row for a configured one); 1 row changed
/// when it was not removed before.
pub(crate) const REVOKE: &str = "INSERT INTO registers (id, revoked_at) VALUES ($1, $2)
     ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at
     WHERE registers.revoked_at IS NULL";

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str) -> RegisterId {
        RegisterId::new(id).unwrap()
    }

    fn fresh(register: Option<&str>) -> Enrolment {
        Enrolment {
            register: register.map(r),
            expires_at: Timestamp::from_millis(1_000),
            used_at: None,
        }
    }

    #[test]
    fn a_secret_gives_the_next_free_id_once_and_only_in_time() {
        let taken: BTreeSet<_> = [r("R1"), r("R3")].into();
        let now = Timestamp::from_millis(999);
        assert_eq!(
            decide_enrolment(Some(&fresh(None)), &taken, now),
            Ok(r("R2"))
        );
        assert_eq!(
            decide_enrolment(Some(&fresh(Some("Till7"))), &taken, now),
            Ok(r("Till7"))
        );
        assert_eq!(
            decide_enrolment(Some(&fresh(Some("R3"))), &taken, now),
            Err(EnrolRefusal::Taken(r("R3")))
        );
        assert_eq!(
            decide_enrolment(None, &taken, now),
            Err(EnrolRefusal::Unknown)
        );
        let at_expiry = Timestamp::from_millis(1_000);
        assert_eq!(
            decide_enrolment(Some(&fresh(None)), &taken, at_expiry),
            Err(EnrolRefusal::Expired)
        );
        let used = Enrolment {
            used_at: Some(Timestamp::from_millis(5)),
            ..fresh(None)
        };
        assert_eq!(
            decide_enrolment(Some(&used), &taken, now),
            Err(EnrolRefusal::Used)
        );
    }

    #[test]
    fn the_next_free_id_skips_every_taken_one() {
        assert_eq!(next_free(&BTreeSet::new()), r("R1"));
        let taken: BTreeSet<_> = (1..=12).map(|n| r(&format!("R{n}"))).collect();
        assert_eq!(next_free(&taken), r("R13"));
    }

    #[test]
    fn registers_known_by_orders_only_are_listed_in_natural_order() {
        let enrolled = RegisterRow {
            id: r("R10"),
            enrolled_at: Some(Timestamp::from_millis(1)),
            revoked_at: None,
            fingerprint: Some("sha256:abc".into()),
            last_order_at: None,
        };
        let rows = merge_registers(
            vec![enrolled],
            vec![
                (r("R10"), Timestamp::from_millis(9)),
                (r("R2"), Timestamp::from_millis(7)),
            ],
        );
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["R2", "R10"]);
        assert_eq!(rows[1].last_order_at, Some(Timestamp::from_millis(9)));
        assert_eq!(rows[0].enrolled_at, None);
    }
}
