//! The registers' journals as the back office keeps them: each register's
//! public key, its chain of verified entries, and the entries it refused.
//!
//! What is accepted is decided in one place ([`decide_journal`], with
//! till-core's chain rules), inside the store's write transaction, so two
//! batches of one register cannot both extend the same head.

use super::StoreError;
use crate::auth::Writer;
use till_core::journal::{check_next, hex, Break, ChainError, Entry, Head, PublicKey, RecordKind};
use till_core::order::RegisterId;
use till_core::time::Timestamp;

/// What became of one entry a register sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Verified and appended.
    Stored,
    /// The same entry is already stored (a batch sent again).
    AlreadyStored,
    /// The chain breaks at this entry; it is kept in `journal_refused`.
    Refused(ChainError),
    /// Not looked at: the chain broke at an earlier entry (its seq).
    AfterBreak(u64),
}

/// What a key registration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    Registered,
    /// This very key was registered already.
    Same,
    /// Another key is registered for the register: nothing changed.
    Other,
}

/// An entry the back office refused, as kept for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub register: RegisterId,
    /// The seq the chain expected where it broke.
    pub at_seq: u64,
    /// The seq the entry gave.
    pub seq: u64,
    pub reason: String,
    pub received_at: Timestamp,
    pub body: String,
}

/// One stored entry: its seq column and its body as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub seq: u64,
    pub body: String,
}

/// The journal's part of the store.
pub trait JournalStore {
    /// The key registered for a register, base64url, if any.
    fn register_key(&self, register: &RegisterId) -> Result<Option<String>, StoreError>;

    /// Registers a register's key, once.
    fn set_register_key(
        &self,
        register: &RegisterId,
        key: &PublicKey,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<KeyOutcome, StoreError>;

    /// The head of the stored chain (seq 0 and the genesis before any).
    fn journal_head(&self, register: &RegisterId) -> Result<Head, StoreError>;

    /// Verifies `entries` against the stored head and `key` and appends
    /// those that extend it, in one transaction; one verdict per entry.
    fn append_journal(
        &self,
        register: &RegisterId,
        key: &PublicKey,
        entries: &[Entry],
        writer: &Writer,
        now: Timestamp,
    ) -> Result<Vec<Verdict>, StoreError>;

    /// A register's stored entries, by seq.
    fn journal_of(&self, register: &RegisterId) -> Result<Vec<StoredEntry>, StoreError>;

    /// The registers with a key or a stored entry, in order.
    fn journal_registers(&self) -> Result<Vec<RegisterId>, StoreError>;

    /// The stored entries of `registers` whose time is in `[from, to)`, by
    /// register and seq.
    fn journal_between(
        &self,
        registers: &[RegisterId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Entry>, StoreError>;

    /// A record's body at one version, from its history (orders, refunds
    /// and shifts; `None` for other kinds, or a version not stored).
    fn record_version(
        &self,
        kind: RecordKind,
        id: &str,
        version: u32,
    ) -> Result<Option<String>, StoreError>;

    /// The entries refused between `from` (inclusive) and `to`.
    fn journal_refusals(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Refusal>, StoreError>;
}

/// Decides a register's entries against its stored chain: each new one
/// must extend the head (till-core's [`check_next`]); one whose seq is
/// already stored is a duplicate when it is the same entry, and a fork
/// otherwise. After the first break nothing more is taken.
/// `stored_hash(seq)` reads the stored entry's hash.
pub fn decide_journal(
    register: &RegisterId,
    mut head: Head,
    key: &PublicKey,
    entries: &[Entry],
    mut stored_hash: impl FnMut(u64) -> Result<Option<String>, StoreError>,
) -> Result<Vec<Verdict>, StoreError> {
    let mut broken: Option<u64> = None;
    let mut verdicts = Vec::with_capacity(entries.len());
    for entry in entries {
        let verdict = if let Some(at) = broken {
            Verdict::AfterBreak(at)
        } else if (1..=head.seq).contains(&entry.seq) && &entry.register == register {
            let same = stored_hash(entry.seq)?.as_deref() == Some(entry.hash.as_str())
                && hex(&entry.digest()) == entry.hash;
            if same {
                Verdict::AlreadyStored
            } else {
                Verdict::Refused(ChainError {
                    seq: entry.seq,
                    why: Break::Taken,
                })
            }
        } else {
            match check_next(register, &head, key, entry) {
                Ok(next) => {
                    head = next;
                    Verdict::Stored
                }
                Err(e) => Verdict::Refused(e),
            }
        };
        if let Verdict::Refused(e) = &verdict {
            broken = Some(e.seq);
        }
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

/// The query of a record's body at a version, by its kind.
pub(crate) fn history_of(kind: RecordKind) -> Option<(&'static str, &'static str)> {
    match kind {
        RecordKind::Order => Some(("order_history", "order_id")),
        RecordKind::Refund => Some(("refund_history", "refund_id")),
        RecordKind::Shift => Some(("shift_history", "shift_id")),
        RecordKind::Settings | RecordKind::Catalog => None,
    }
}

/// The head a register's last stored row gives.
pub(crate) fn head_of(last: Option<(i64, String)>) -> Head {
    match last {
        Some((seq, hash)) => Head {
            seq: seq as u64,
            hash,
        },
        None => Head::genesis(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_core::journal::{Draft, EntryKind};
    use till_core::testing::journal::signer;

    fn r1() -> RegisterId {
        RegisterId::new("R1").unwrap()
    }

    fn entries(n: u64) -> Vec<Entry> {
        let s = signer(1);
        let mut head = Head::genesis();
        (1..=n)
            .map(|i| {
                let e = s.append(
                    &head,
                    Draft {
                        register: r1(),
                        time: Timestamp(i as i64),
                        kind: EntryKind::NoSale,
                        record: None,
                        actor: None,
                        approver: None,
                        amount: None,
                    },
                );
                head = e.head();
                e
            })
            .collect()
    }

    #[test]
    fn a_batch_sent_again_is_taken_once_and_a_second_entry_for_a_seq_is_a_fork() {
        let all = entries(4);
        let key = signer(1).public();
        let stored = |seq: u64| Ok(Some(all[seq as usize - 1].hash.clone()));
        let head = all[1].head();
        let got = decide_journal(&r1(), head.clone(), &key, &all, stored).unwrap();
        use Verdict::*;
        assert_eq!(got, [AlreadyStored, AlreadyStored, Stored, Stored]);

        let mut forked = all[1].clone();
        forked.kind = EntryKind::PaidOut;
        let got = decide_journal(&r1(), head, &key, &[forked, all[2].clone()], stored).unwrap();
        assert_eq!(
            got,
            [
                Refused(ChainError {
                    seq: 2,
                    why: Break::Taken
                }),
                AfterBreak(2)
            ]
        );
    }
}
