//! The outbox: orders (and refunds and shifts) waiting to reach the back office, and
//! when to try each again.
//!
//! Every order change is written to IndexedDB together with an outbox entry
//! for `(order id, version)`, in one transaction. The sync worker drains
//! entries to the OMS, longest overdue first, in batches of at most
//! [`BATCH_MAX`]. The OMS upserts by id and version, so sending an entry
//! twice (after a lost response, a reload, a crash) stores it once: the
//! outbox only has to make sure that nothing is ever *not* sent.
//!
//! What happens to an entry after a try is decided here, from the answer:
//!
//! - stored (2xx): the entry, and any older version of the same order, is done;
//! - worth retrying (network error, timeout, 408, 425, 429, 5xx, and 401/403,
//!   which mean the register's token needs fixing, not that the order is
//!   bad): try again after a capped exponential backoff with jitter;
//! - rejected (any other 4xx: the order itself is refused, e.g. 422): the
//!   entry is **parked** with its reason. Parked entries are never retried
//!   automatically and never dropped: they stay visible until someone acts.
//!
//! Jitter is passed in (a number in 0..=1000 from the caller's RNG), so the
//! schedule is deterministic under test. The backoff uses "equal jitter":
//! half the delay is fixed and half is random, which spreads a store's
//! registers apart after an outage while keeping a floor on the wait.

use crate::ids::RefundId;
use crate::ids::{OrderId, RecordId};
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};

/// Orders per batch request: the OMS accepts at most this many, and 500
/// typical orders are a few hundred kilobytes, well below its 1 MiB body
/// limit.
pub const BATCH_MAX: usize = 500;
/// First retry delay.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest retry delay: after an outage, orders should reach the back office
/// within minutes of its return even without an `online` event.
pub const BACKOFF_CAP: Duration = Duration::from_mins(5);
/// Jitter values are in thousandths.
pub const JITTER_MAX: u16 = 1000;
/// Longest reason kept for a parked entry.
pub const REASON_LEN_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryState {
    Pending,
    /// Refused by the OMS; kept, visible, not retried.
    Parked {
        status: u16,
        reason: String,
        at: Timestamp,
    },
}

/// What an entry sends to the back office.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    #[default]
    Order,
    /// A refund. Its id (a UUID v7, like an order's) fills the entry's
    /// `order_id`, so the outbox's key stays `[order_id, version]` and every
    /// rule here applies unchanged; ids never collide.
    Refund,
    /// A shift (its id fills `order_id` the same way).
    Shift,
}

impl RecordKind {
    fn is_order(&self) -> bool {
        *self == RecordKind::Order
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The record's id; `kind` says which record it is. Stored as
    /// `order_id` (from when only orders were sent): the outbox store's key
    /// is `[order_id, version]`, so the stored name stays.
    #[serde(rename = "order_id")]
    pub record_id: RecordId,
    pub version: u32,
    #[serde(default, skip_serializing_if = "RecordKind::is_order")]
    pub kind: RecordKind,
    pub enqueued_at: Timestamp,
    /// Tries so far.
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    #[serde(flatten)]
    pub state: EntryState,
    /// Why the last try failed, for the data-safety panel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl OutboxEntry {
    /// A new entry, due at once.
    pub fn new(record_id: RecordId, version: u32, now: Timestamp) -> OutboxEntry {
        OutboxEntry {
            record_id,
            version,
            kind: RecordKind::Order,
            enqueued_at: now,
            attempts: 0,
            next_attempt_at: now,
            state: EntryState::Pending,
            last_error: None,
        }
    }

    pub fn key(&self) -> (RecordId, u32) {
        (self.record_id, self.version)
    }

    pub fn is_parked(&self) -> bool {
        matches!(self.state, EntryState::Parked { .. })
    }
}

/// The answer to one entry's try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    Retry { reason: String },
    Rejected { status: u16, reason: String },
}

impl Outcome {
    /// Classifies an HTTP status (per order in a batch, or for a whole
    /// request). `reason` is the error body's message, if any.
    pub fn from_http(status: u16, reason: &str) -> Outcome {
        let reason = reason.chars().take(REASON_LEN_MAX).collect::<String>();
        match status {
            200..=299 => Outcome::Stored,
            401 | 403 | 408 | 425 | 429 => Outcome::Retry {
                reason: format!("HTTP {status}: {reason}"),
            },
            400..=499 => Outcome::Rejected { status, reason },
            _ => Outcome::Retry {
                reason: format!("HTTP {status}: {reason}"),
            },
        }
    }
}

/// What to write back to storage after [`Outbox::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxChange {
    Put(OutboxEntry),
    Delete { record_id: RecordId, version: u32 },
}

/// Tries of a refund the back office refuses as a conflict before it parks.
pub const REFUND_CONFLICT_TRIES: u32 = 12;

/// The delay before try number `attempts + 1`, given `attempts` failures.
pub fn backoff(attempts: u32, jitter: u16) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let full = BACKOFF_BASE
        .as_millis()
        .saturating_mul(1u64 << exp)
        .min(BACKOFF_CAP.as_millis());
    let half = full / 2;
    let jitter = u64::from(jitter.min(JITTER_MAX));
    Duration::from_millis(half + (full - half) * jitter / u64::from(JITTER_MAX))
}

/// The outbox's entries and rules. The app loads the stored entries into
/// one, asks it what to send, and writes back the changes it returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    entries: Vec<OutboxEntry>,
}

impl Outbox {
    pub fn new(mut entries: Vec<OutboxEntry>) -> Outbox {
        crate::sorted::sort_by_key(&mut entries, |e| (e.enqueued_at, e.record_id, e.version));
        Outbox { entries }
    }

    pub fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    /// Adds the entry for a new order version. An older pending version of
    /// the same order is superseded: the newer one carries everything, and
    /// the OMS would ignore the older one anyway. Returns the changes to store.
    pub fn enqueue(
        &mut self,
        order_id: OrderId,
        version: u32,
        now: Timestamp,
    ) -> Vec<OutboxChange> {
        self.enqueue_record(RecordKind::Order, order_id.record_id(), version, now)
    }

    /// [`Outbox::enqueue`] for a refund's new version.
    pub fn enqueue_refund(
        &mut self,
        id: RefundId,
        version: u32,
        now: Timestamp,
    ) -> Vec<OutboxChange> {
        self.enqueue_record(RecordKind::Refund, id.record_id(), version, now)
    }

    /// [`Outbox::enqueue`] for a shift's new version.
    pub fn enqueue_shift(
        &mut self,
        id: crate::ids::ShiftId,
        version: u32,
        now: Timestamp,
    ) -> Vec<OutboxChange> {
        self.enqueue_record(RecordKind::Shift, id.record_id(), version, now)
    }

    fn enqueue_record(
        &mut self,
        kind: RecordKind,
        record_id: RecordId,
        version: u32,
        now: Timestamp,
    ) -> Vec<OutboxChange> {
        if self
            .entries
            .iter()
            .any(|e| e.record_id == record_id && e.version >= version && !e.is_parked())
        {
            return Vec::new();
        }
        let mut changes = Vec::new();
        self.entries.retain(|e| {
            let superseded = e.record_id == record_id && e.version < version && !e.is_parked();
            if superseded {
                changes.push(OutboxChange::Delete {
                    record_id,
                    version: e.version,
                });
            }
            !superseded
        });
        let entry = OutboxEntry {
            kind,
            ..OutboxEntry::new(record_id, version, now)
        };
        changes.push(OutboxChange::Put(entry.clone()));
        self.entries.push(entry);
        changes
    }

    /// Pending entries due at `now`, at most `limit`: the longest overdue
    /// first, then by order id (a UUID v7, so oldest first among equals)
    /// and version. This is the order of the register's `[state,
    /// next_attempt_at]` index, so a store reads a batch from that index
    /// without reading the rest of the queue.
    pub fn due(&self, now: Timestamp, limit: usize) -> Vec<&OutboxEntry> {
        let mut due: Vec<&OutboxEntry> = self
            .entries
            .iter()
            .filter(|e| !e.is_parked() && e.next_attempt_at <= now)
            .collect();
        crate::sorted::sort_by_key(&mut due, |e| (e.next_attempt_at, e.record_id, e.version));
        due.truncate(limit.min(BATCH_MAX));
        due
    }

    /// How many pending entries are due at `now` (all of them, not one
    /// batch): the progress the register shows.
    pub fn due_count(&self, now: Timestamp) -> usize {
        self.entries
            .iter()
            .filter(|e| !e.is_parked() && e.next_attempt_at <= now)
            .count()
    }

    /// When the next pending entry falls due; `None` when nothing waits.
    #[must_use]
    pub fn next_due(&self) -> Option<Timestamp> {
        self.entries
            .iter()
            .filter(|e| !e.is_parked())
            .map(|e| e.next_attempt_at)
            .min()
    }

    /// Entries not yet stored by the OMS (pending and parked).
    pub fn unsynced(&self) -> usize {
        self.entries.len()
    }

    pub fn parked(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.entries.iter().filter(|e| e.is_parked())
    }

    /// Applies the outcome of one entry's try. `jitter` is in 0..=1000.
    pub fn record(
        &mut self,
        record_id: RecordId,
        version: u32,
        outcome: Outcome,
        now: Timestamp,
        jitter: u16,
    ) -> Vec<OutboxChange> {
        let mut changes = Vec::new();
        let outcome = self.refund_conflict_may_resolve(record_id, version, outcome);
        match outcome {
            Outcome::Stored => self.entries.retain(|e| {
                // The OMS holds this version: it, and anything older of the
                // same order (even parked), is settled.
                let done = e.record_id == record_id && e.version <= version;
                if done {
                    changes.push(OutboxChange::Delete {
                        record_id,
                        version: e.version,
                    });
                }
                !done
            }),
            Outcome::Retry { reason } => {
                if let Some(e) = self.find(record_id, version) {
                    e.attempts = e.attempts.saturating_add(1);
                    e.next_attempt_at = now + backoff(e.attempts, jitter);
                    e.last_error = Some(reason);
                    changes.push(OutboxChange::Put(e.clone()));
                }
            }
            Outcome::Rejected { status, reason } => {
                if let Some(e) = self.find(record_id, version) {
                    e.attempts = e.attempts.saturating_add(1);
                    e.last_error = Some(reason.clone());
                    e.state = EntryState::Parked {
                        status,
                        reason,
                        at: now,
                    };
                    changes.push(OutboxChange::Put(e.clone()));
                }
            }
        }
        changes
    }

    /// The back office is known to be back (its health probe answered):
    /// every pending entry becomes due now instead of waiting out its
    /// backoff. Parked entries stay parked.
    pub fn retry_now(&mut self, now: Timestamp) -> Vec<OutboxChange> {
        self.entries
            .iter_mut()
            .filter(|e| !e.is_parked() && e.next_attempt_at > now)
            .map(|e| {
                e.next_attempt_at = now;
                OutboxChange::Put(e.clone())
            })
            .collect()
    }

    /// Puts a parked entry back in the queue (the cashier pressed "Retry"
    /// after the cause was fixed).
    pub fn unpark(
        &mut self,
        record_id: RecordId,
        version: u32,
        now: Timestamp,
    ) -> Vec<OutboxChange> {
        match self.find(record_id, version) {
            Some(e) if e.is_parked() => {
                e.state = EntryState::Pending;
                e.next_attempt_at = now;
                vec![OutboxChange::Put(e.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// A refund the back office refuses as a conflict (409: "only n more
    /// can be returned") is tried again, up to [`REFUND_CONFLICT_TRIES`]
    /// tries, before it parks: an earlier refund of the same order may not
    /// have landed yet, and its newer version (its card part failed:
    /// nothing went back) is what makes room for this one. Each backs off
    /// on its own, so the two can reach the back office in either order.
    /// Found by the simulator, seed 1000120.
    fn refund_conflict_may_resolve(
        &self,
        record_id: RecordId,
        version: u32,
        outcome: Outcome,
    ) -> Outcome {
        let Outcome::Rejected {
            status: 409,
            reason,
        } = &outcome
        else {
            return outcome;
        };
        let retry = self.entries.iter().any(|e| {
            e.record_id == record_id
                && e.version == version
                && e.kind == RecordKind::Refund
                && e.attempts + 1 < REFUND_CONFLICT_TRIES
        });
        if retry {
            Outcome::Retry {
                reason: format!("HTTP 409: {reason} (tried again: an earlier refund may not have reached the back office yet)"),
            }
        } else {
            outcome
        }
    }

    fn find(&mut self, record_id: RecordId, version: u32) -> Option<&mut OutboxEntry> {
        self.entries
            .iter_mut()
            .find(|e| e.record_id == record_id && e.version == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::tests::order_id;

    /// Order `n`'s id, as its outbox entry names it.
    fn rid(n: u128) -> RecordId {
        order_id(n).record_id()
    }
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn backoff_doubles_up_to_the_cap_with_equal_jitter() {
        assert_eq!(backoff(1, 0), Duration::from_millis(500));
        assert_eq!(backoff(1, 1000), Duration::from_secs(1));
        assert_eq!(backoff(2, 1000), Duration::from_secs(2));
        assert_eq!(backoff(3, 1000), Duration::from_secs(4));
        assert_eq!(backoff(30, 1000), BACKOFF_CAP);
        assert_eq!(
            backoff(u32::MAX, 0),
            Duration::from_millis(BACKOFF_CAP.as_millis() / 2)
        );
        assert_eq!(backoff(3, 5000), backoff(3, 1000), "jitter is clamped");
    }

    #[test]
    fn due_is_longest_overdue_first_then_by_order_id_and_counted_in_full() {
        let later = |id: u128, at: i64| {
            let mut e = OutboxEntry::new(rid(id), 1, T0);
            e.next_attempt_at = Timestamp::from_millis(at);
            e
        };
        // Queued 1, 2, 3, 4; entry 3's try failed, so it waits longest.
        let mut o = Outbox::new(vec![
            later(4, 1_000_500),
            later(2, 1_000_100),
            later(1, 1_000_100),
            later(3, 999_000),
            later(5, 2_000_000),
        ]);
        let now = Timestamp::from_millis(1_000_500);
        let ids = |due: Vec<&OutboxEntry>| due.iter().map(|e| e.record_id).collect::<Vec<_>>();
        assert_eq!(ids(o.due(now, 10)), vec![rid(3), rid(1), rid(2), rid(4)]);
        assert_eq!(ids(o.due(now, 2)), vec![rid(3), rid(1)]);
        assert_eq!(o.due_count(now), 4, "not yet due: 5");
        o.entries[0].state = EntryState::Parked {
            status: 422,
            reason: "no".into(),
            at: now,
        };
        assert_eq!(o.due_count(now), 3, "parked is never due");
    }

    #[test]
    fn a_refund_refused_as_a_conflict_is_tried_again_before_it_parks() {
        let conflict = || Outcome::Rejected {
            status: 409,
            reason: "Product coffee: only 0 more can be returned".into(),
        };
        let refund = OutboxEntry {
            kind: RecordKind::Refund,
            ..OutboxEntry::new(rid(9), 2, T0)
        };
        let mut o = Outbox::new(vec![refund, OutboxEntry::new(rid(8), 1, T0)]);
        let of = |o: &Outbox, n| {
            o.entries()
                .iter()
                .find(|e| e.record_id == rid(n))
                .unwrap()
                .clone()
        };
        for _ in 1..REFUND_CONFLICT_TRIES {
            o.record(rid(9), 2, conflict(), T0, 0);
            let e = of(&o, 9);
            assert!(!e.is_parked(), "try {}", e.attempts);
            assert!(e.last_error.as_deref().unwrap().contains("tried again"));
        }
        o.record(rid(9), 2, conflict(), T0, 0);
        assert!(of(&o, 9).is_parked(), "then it parks, visibly");
        // An order's conflict parks at once, as before.
        o.record(rid(8), 1, conflict(), T0, 0);
        assert!(of(&o, 8).is_parked());
    }

    #[test]
    fn http_answers_are_classified() {
        assert_eq!(Outcome::from_http(200, ""), Outcome::Stored);
        assert!(matches!(
            Outcome::from_http(503, "down"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(Outcome::from_http(429, ""), Outcome::Retry { .. }));
        assert!(matches!(
            Outcome::from_http(401, "bad token"),
            Outcome::Retry { .. }
        ));
        assert_eq!(
            Outcome::from_http(422, "totals.total: wrong"),
            Outcome::Rejected {
                status: 422,
                reason: "totals.total: wrong".into()
            }
        );
        assert!(matches!(
            Outcome::from_http(409, ""),
            Outcome::Rejected { status: 409, .. }
        ));
    }

    #[test]
    fn drains_oldest_first_in_bounded_batches() {
        let mut o = Outbox::default();
        for i in 0..3u128 {
            let _ = o.enqueue(order_id(10 - i), 1, T0 + Duration::from_millis(i as u64));
        }
        let due: Vec<_> = o
            .due(T0 + Duration::from_secs(1), 2)
            .iter()
            .map(|e| e.record_id)
            .collect();
        assert_eq!(due, vec![rid(10), rid(9)]);
        assert_eq!(
            o.due(T0, BATCH_MAX + 10).len(),
            1,
            "only what is due at now"
        );
    }

    #[test]
    fn a_newer_version_supersedes_a_pending_older_one() {
        let mut o = Outbox::default();
        let _ = o.enqueue(order_id(1), 1, T0);
        let changes = o.enqueue(order_id(1), 2, T0);
        assert_eq!(
            changes[0],
            OutboxChange::Delete {
                record_id: rid(1),
                version: 1
            }
        );
        assert_eq!(o.unsynced(), 1);
        assert!(
            o.enqueue(order_id(1), 2, T0).is_empty(),
            "enqueueing the same version twice is a no-op"
        );
        assert!(
            o.enqueue(order_id(1), 1, T0).is_empty(),
            "an older version is not queued after a newer one"
        );
    }

    #[test]
    fn retries_back_off_and_rejections_park_without_dropping() {
        let mut o = Outbox::default();
        let _ = o.enqueue(order_id(1), 1, T0);
        let _ = o.enqueue(order_id(2), 1, T0);
        let _ = o.record(rid(1), 1, Outcome::from_http(503, "busy"), T0, 1000);
        assert_eq!(o.next_due(), Some(T0), "order 2 is still due");
        let _ = o.record(rid(2), 1, Outcome::from_http(422, "lines: empty"), T0, 1000);
        assert_eq!(o.next_due(), Some(T0 + Duration::from_secs(1)));
        assert_eq!(o.unsynced(), 2, "a parked entry is still unsynced");
        assert_eq!(o.parked().count(), 1);
        assert!(o
            .due(T0 + Duration::from_mins(60), BATCH_MAX)
            .iter()
            .all(|e| e.record_id == rid(1)));
        let _ = o.unpark(rid(2), 1, T0 + Duration::from_secs(5));
        assert_eq!(o.parked().count(), 0);
    }

    #[test]
    fn when_the_oms_is_back_pending_entries_are_due_at_once() {
        let mut o = Outbox::default();
        let _ = o.enqueue(order_id(1), 1, T0);
        let _ = o.enqueue(order_id(2), 1, T0);
        for _ in 0..8 {
            let _ = o.record(
                rid(1),
                1,
                Outcome::Retry {
                    reason: "down".into(),
                },
                T0,
                1000,
            );
        }
        let _ = o.record(rid(2), 1, Outcome::from_http(422, "bad"), T0, 0);
        assert!(o.next_due().unwrap() > T0 + Duration::from_mins(1));
        let later = T0 + Duration::from_secs(5);
        let changes = o.retry_now(later);
        assert_eq!(changes.len(), 1, "only the pending entry");
        assert_eq!(o.next_due(), Some(later));
        assert_eq!(o.parked().count(), 1);
    }

    #[test]
    fn storing_a_version_settles_older_ones_of_the_same_order() {
        let mut o = Outbox::default();
        let _ = o.enqueue(order_id(1), 1, T0);
        let _ = o.record(rid(1), 1, Outcome::from_http(422, "bad"), T0, 0);
        let _ = o.enqueue(order_id(1), 2, T0);
        assert_eq!(o.unsynced(), 2, "the parked v1 stays beside the pending v2");
        let changes = o.record(rid(1), 2, Outcome::Stored, T0, 0);
        assert_eq!(changes.len(), 2);
        assert_eq!(o.unsynced(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the OMS answers, an entry leaves the outbox only when a
        /// version at least as new was stored.
        #[test]
        fn nothing_is_dropped_without_being_stored(ops in proptest::collection::vec((0u128..5, 1u32..4, 0u16..600, 0u16..=1000), 1..80)) {
            let mut o = Outbox::default();
            let mut stored: std::collections::HashMap<u128, u32> = Default::default();
            let mut queued: std::collections::HashSet<(u128, u32)> = Default::default();
            let mut now = T0;
            for (order, version, status, jitter) in ops {
                now = now + Duration::from_millis(u64::from(jitter));
                if status < 100 {
                    let _ = o.enqueue(order_id(order), version, now);
                    queued.insert((order, version));
                } else if let Some(e) = o.due(now, BATCH_MAX).first().map(|e| e.key()) {
                    let code = [200u16, 201, 409, 422, 500, 503, 0][usize::from(status) % 7];
                    let outcome = if code == 0 { Outcome::Retry { reason: "timeout".into() } } else { Outcome::from_http(code, "") };
                    if outcome == Outcome::Stored {
                        let n = (0..5).find(|n| rid(*n) == e.0).unwrap();
                        let v = stored.entry(n).or_default();
                        *v = (*v).max(e.1);
                    }
                    let _ = o.record(e.0, e.1, outcome, now, jitter);
                }
            }
            for (order, version) in queued {
                let newer_pending = o.entries().iter().any(|e| e.record_id == rid(order) && e.version >= version);
                let stored_newer = stored.get(&order).is_some_and(|v| *v >= version);
                prop_assert!(newer_pending || stored_newer, "order {} v{} vanished", order, version);
            }
        }
    }
}
