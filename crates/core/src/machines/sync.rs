//! The sync driver: when the register drains its outbox to the back office,
//! batch by batch, and what it writes back, as a sans-IO machine.
//!
//! The outbox itself ([`crate::outbox`]) says what is due and how each
//! answer is classified (stored, retried with capped backoff, parked). This
//! machine says *when*: it drains when woken (a new order version, the
//! network is back) or when the earliest entry falls due
//! ([`SyncDriver::poll_timeout`]), one batch at a time:
//!
//! 1. [`SyncCommand::LoadDue`]: read what is due (longest overdue first,
//!    at most [`BATCH_MAX`]) with each entry's latest stored order;
//! 2. [`SyncCommand::SendBatch`]: send those orders; an entry whose order is
//!    missing is parked at once, visibly (it cannot be sent, and must not
//!    vanish);
//! 3. [`SyncCommand::ApplyOutbox`]: write back what the answer settled;
//! 4. again from 1 while batches are stored; otherwise sleep until the next
//!    entry is due.
//!
//! When the back office comes back after an outage
//! ([`SyncEvent::OmsBack`]) every pending entry is made due at once
//! ([`SyncCommand::RetryNow`]) instead of waiting out its backoff. Nothing
//! here sleeps on a fixed poll.

use crate::api::{BatchResult, ORDER_NOT_SYNCED_CODE};
use crate::ids::RecordId;
use crate::order::Order;
use crate::outbox::{Outbox, OutboxChange, OutboxEntry, Outcome, BATCH_MAX};
use crate::refund::Refund;
use crate::shift::Shift;
use crate::time::Timestamp;

/// The outbox at a glance, as the store reports it after each round
/// ([`Outbox::summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxSummary {
    /// When the earliest pending entry falls due; `None` when none waits.
    pub next_due: Option<Timestamp>,
    /// When the latest pending entry falls due: a time far ahead of the
    /// clock means it was scheduled by a clock that was wrong.
    pub latest_due: Option<Timestamp>,
    /// Entries not yet stored by the back office (pending and parked).
    pub unsynced: usize,
    pub parked: usize,
}

impl Outbox {
    /// The outbox at a glance, for the register.
    pub fn summary(&self) -> OutboxSummary {
        let pending = self.entries().iter().filter(|e| !e.is_parked());
        OutboxSummary {
            next_due: self.next_due(),
            latest_due: pending.map(|e| e.next_attempt_at).max(),
            unsynced: self.unsynced(),
            parked: self.parked().count(),
        }
    }
}

/// What an outbox entry sends, as stored now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Order(Order),
    Refund(Refund),
    /// Boxed: a closed shift carries its Z report.
    Shift(Box<Shift>),
}

impl Record {
    pub fn version(&self) -> u32 {
        match self {
            Record::Order(o) => o.version,
            Record::Refund(r) => r.version,
            Record::Shift(s) => s.version,
        }
    }
}

/// What the store read for one round: the due entries (longest overdue
/// first, at most the limit asked) with each one's record (its order, or
/// its refund) as stored now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DueBatch {
    pub entries: Vec<(OutboxEntry, Option<Record>)>,
    /// How many entries are due in all (for the progress shown).
    pub due_total: usize,
    pub summary: OutboxSummary,
}

/// Why a request to the back office failed, in words for the cashier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetFailure {
    /// No answer: offline, the server is down, the request timed out, or the
    /// connection dropped after sending.
    #[error("The back office cannot be reached.")]
    Unreachable,
    /// The server answered the whole request with an error status.
    #[error("{}", refused_text(*status, message))]
    Refused { status: u16, message: String },
    /// The answer does not parse, or does not match the request.
    #[error("The back office's answer could not be read: {0}")]
    BadAnswer(String),
}

impl NetFailure {
    /// The back office's answer that it removed this register.
    pub fn is_removal(&self) -> bool {
        matches!(self, NetFailure::Refused { status: 401, message } if message == crate::api::REGISTER_REMOVED)
    }
}

fn refused_text(status: u16, message: &str) -> String {
    match status {
        401 if message == crate::api::REGISTER_REMOVED => message.into(),
        401 => "The back office refused the register token: check Settings.".into(),
        _ => format!("The back office answered {status}: {message}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// A new order version was written, or someone asked for a sync.
    Woken,
    /// The store's summary, at start or after any outbox write.
    Summary(OutboxSummary),
    /// The answer to [`SyncCommand::LoadDue`].
    Due(DueBatch),
    /// The answer to [`SyncCommand::SendBatch`].
    BatchAnswered {
        batch: u64,
        result: Result<Vec<BatchResult>, NetFailure>,
    },
    /// [`SyncCommand::ApplyOutbox`] or [`SyncCommand::RetryNow`] is written.
    Applied(OutboxSummary),
    /// A store operation of the drain failed: try again later.
    StoreFailed,
    /// The back office answered again after an outage.
    OmsBack,
    /// The register's clock stepped back: times set from the wrong clock
    /// lie in the future. Everything pending is made due now.
    ClockSteppedBack,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum SyncCommand {
    LoadDue {
        limit: usize,
    },
    /// Send these orders and refunds in one batch; the answer has one
    /// result per order, then one per refund, in this order.
    SendBatch {
        batch: u64,
        orders: Vec<Order>,
        refunds: Vec<Refund>,
        shifts: Vec<Shift>,
    },
    /// Write these outbox changes (entries a sale superseded meanwhile must
    /// not come back).
    ApplyOutbox(Vec<OutboxChange>),
    /// Make every pending entry due now.
    RetryNow,
}

/// One record of a batch on the network: its outbox entry (the record's
/// id and the version the entry names) and the version of the record sent,
/// which the back office's answer is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    id: RecordId,
    entry_version: u32,
    record_version: u32,
}

/// A due batch sorted out: the records to send, what each answer is for,
/// and the outbox changes for entries whose record is missing.
#[derive(Default)]
struct Gathered {
    orders: Vec<Order>,
    refunds: Vec<Refund>,
    shifts: Vec<Shift>,
    sent: Vec<Sent>,
    changes: Vec<OutboxChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Idle,
    Loading,
    /// A batch is on the network: the entries it answers for, and the
    /// version of each order sent.
    Sending {
        batch: u64,
        outbox: Outbox,
        sent: Vec<Sent>,
        changes: Vec<OutboxChange>,
    },
    Applying {
        stored_any: bool,
    },
}

/// How long to wait before reading the outbox again after a store failure:
/// storage errors are rare and usually last (a full disk); the cashier sees
/// the alert.
pub const STORE_RETRY: crate::time::Duration = crate::time::Duration::from_secs(30);

/// A drain's progress: records answered so far of those due when it began
/// (and since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncProgress {
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone)]
pub struct SyncDriver {
    phase: Phase,
    wake: bool,
    retry_now: bool,
    summary: OutboxSummary,
    progress: Option<SyncProgress>,
    done_in_run: usize,
    batch_seq: u64,
    store_retry_at: Option<Timestamp>,
}

impl Default for SyncDriver {
    fn default() -> Self {
        SyncDriver {
            phase: Phase::Idle,
            wake: false,
            retry_now: false,
            summary: OutboxSummary::default(),
            progress: None,
            done_in_run: 0,
            batch_seq: 0,
            store_retry_at: None,
        }
    }
}

impl SyncDriver {
    pub fn summary(&self) -> OutboxSummary {
        self.summary
    }

    /// How far a drain has come, while one runs.
    pub fn progress(&self) -> Option<SyncProgress> {
        self.progress
    }

    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// When to feed [`SyncDriver::on_tick`] next; `None` while a round is
    /// running (its answer drives it) or nothing is due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.phase != Phase::Idle {
            return None;
        }
        match self.store_retry_at {
            Some(t) => Some(t),
            None if self.wake || self.retry_now => Some(Timestamp(i64::MIN)),
            None => self.summary.next_due,
        }
    }

    /// Starts a round if one is due at `now`.
    #[must_use]
    pub fn on_tick(&mut self, now: Timestamp) -> Vec<SyncCommand> {
        if self.phase != Phase::Idle || self.store_retry_at.is_some_and(|t| now < t) {
            return Vec::new();
        }
        self.store_retry_at = None;
        if self.retry_now {
            self.retry_now = false;
            self.phase = Phase::Applying { stored_any: true };
            return vec![SyncCommand::RetryNow];
        }
        let due = self.summary.next_due.is_some_and(|t| t <= now);
        if !(self.wake || due) {
            return Vec::new();
        }
        self.wake = false;
        self.phase = Phase::Loading;
        vec![SyncCommand::LoadDue { limit: BATCH_MAX }]
    }

    /// Feeds one event; `jitter` gives a number in 0..=1000 per retried
    /// entry (the caller's RNG).
    #[must_use]
    pub fn handle(
        &mut self,
        event: SyncEvent,
        now: Timestamp,
        jitter: &mut dyn FnMut() -> u16,
    ) -> Vec<SyncCommand> {
        match event {
            SyncEvent::Woken => self.wake = true,
            SyncEvent::OmsBack => self.retry_now = true,
            SyncEvent::ClockSteppedBack => {
                self.retry_now = true;
                self.store_retry_at = self.store_retry_at.map(|t| t.min(now + STORE_RETRY));
            }
            SyncEvent::Summary(s) => self.summary = s,
            SyncEvent::Due(batch) => return self.on_due(batch, now, jitter),
            SyncEvent::BatchAnswered { batch, result } => {
                return self.on_answer(batch, result, now, jitter)
            }
            SyncEvent::Applied(summary) => {
                self.summary = summary;
                if let Phase::Applying { stored_any } = self.phase {
                    // Keep draining while the back office takes batches.
                    self.wake |= stored_any;
                }
                self.phase = Phase::Idle;
                if !self.wake {
                    self.end_run();
                }
            }
            SyncEvent::StoreFailed => {
                // Whatever the failed round was for still waits: read the
                // outbox again after the pause.
                self.phase = Phase::Idle;
                self.store_retry_at = Some(now + STORE_RETRY);
                self.wake = true;
                self.end_run();
            }
        }
        self.on_tick(now)
    }

    fn end_run(&mut self) {
        self.progress = None;
        self.done_in_run = 0;
    }

    fn on_due(
        &mut self,
        batch: DueBatch,
        now: Timestamp,
        jitter: &mut dyn FnMut() -> u16,
    ) -> Vec<SyncCommand> {
        self.summary = batch.summary;
        if batch.entries.is_empty() {
            self.phase = Phase::Idle;
            self.end_run();
            return self.on_tick(now);
        }
        let total = self.done_in_run + batch.due_total.max(batch.entries.len());
        self.progress = Some(SyncProgress {
            done: self.done_in_run,
            total,
        });
        let mut outbox = Outbox::new(batch.entries.iter().map(|(e, _)| e.clone()).collect());
        let Gathered {
            orders,
            refunds,
            shifts,
            sent,
            changes,
        } = gather(batch.entries, &mut outbox, now, jitter);
        if sent.is_empty() {
            self.phase = Phase::Applying { stored_any: false };
            return vec![SyncCommand::ApplyOutbox(changes)];
        }
        self.batch_seq += 1;
        let batch = self.batch_seq;
        self.phase = Phase::Sending {
            batch,
            outbox,
            sent,
            changes,
        };
        vec![SyncCommand::SendBatch {
            batch,
            orders,
            refunds,
            shifts,
        }]
    }

    fn on_answer(
        &mut self,
        batch: u64,
        result: Result<Vec<BatchResult>, NetFailure>,
        now: Timestamp,
        jitter: &mut dyn FnMut() -> u16,
    ) -> Vec<SyncCommand> {
        let Phase::Sending {
            batch: current,
            mut outbox,
            sent,
            mut changes,
        } = std::mem::replace(&mut self.phase, Phase::Idle)
        else {
            return Vec::new(); // An answer to a round given up on.
        };
        if batch != current {
            return Vec::new();
        }
        let outcomes = outcomes(&sent, result);
        let mut stored_any = false;
        for (sent, outcome) in sent.iter().zip(outcomes) {
            // Stored settles the version sent (and older); anything else
            // applies to the entry itself.
            let key_version = if outcome == Outcome::Stored {
                stored_any = true;
                sent.record_version
            } else {
                sent.entry_version
            };
            changes.extend(outbox.record(sent.id, key_version, outcome, now, jitter()));
        }
        self.done_in_run += sent.len();
        if let Some(p) = &mut self.progress {
            p.done = self.done_in_run.min(p.total);
        }
        self.phase = Phase::Applying { stored_any };
        vec![SyncCommand::ApplyOutbox(changes)]
    }
}

/// Sorts a due batch's entries into what goes to the back office, in the
/// order its results come back: orders, then refunds, then shifts. An
/// entry whose record is missing is parked at once.
fn gather(
    entries: Vec<(OutboxEntry, Option<Record>)>,
    outbox: &mut Outbox,
    now: Timestamp,
    jitter: &mut dyn FnMut() -> u16,
) -> Gathered {
    let mut g = Gathered::default();
    let (mut sent_refunds, mut sent_shifts) = (Vec::new(), Vec::new());
    for (entry, record) in entries {
        // The latest version goes: the OMS keeps the highest.
        let sent = |record_version| Sent {
            id: entry.record_id,
            entry_version: entry.version,
            record_version,
        };
        match record {
            Some(Record::Order(order)) => {
                g.sent.push(sent(order.version));
                g.orders.push(order);
            }
            Some(Record::Refund(refund)) => {
                sent_refunds.push(sent(refund.version));
                g.refunds.push(refund);
            }
            Some(Record::Shift(shift)) => {
                sent_shifts.push(sent(shift.version));
                g.shifts.push(*shift);
            }
            None => g.changes.extend(outbox.record(
                entry.record_id,
                entry.version,
                Outcome::Rejected {
                    status: 0,
                    reason: "the record is missing on this register".into(),
                },
                now,
                jitter(),
            )),
        }
    }
    // Refunds go oldest first (ids are UUID v7): the back office decides
    // each against the order's earlier refunds, so an earlier one's new
    // version (its card part failed, nothing went back) must land
    // before a later refund of the same items. Seed 1000120.
    let mut paired: Vec<_> = std::mem::take(&mut g.refunds)
        .into_iter()
        .zip(sent_refunds)
        .collect();
    crate::sorted::sort_by_key(&mut paired, |(r, _)| r.id);
    let (refunds, sent_refunds): (Vec<Refund>, Vec<Sent>) = paired.into_iter().unzip();
    g.refunds = refunds;
    g.sent.extend(sent_refunds);
    g.sent.extend(sent_shifts);
    g
}

/// One order's result. Stored means stored at the version sent: when the
/// back office answers with a higher version, someone else wrote the order,
/// and the register's version was not taken. That is parked with the reason,
/// never counted as synced.
fn judge(r: BatchResult, sent_version: u32) -> Outcome {
    // A refund that reached the back office before its order: the order is
    // on its way (an entry of its own), so this is a retry, never parked.
    if let Some(e) = r
        .error
        .as_ref()
        .filter(|e| e.error == ORDER_NOT_SYNCED_CODE)
    {
        return Outcome::Retry {
            reason: format!("HTTP {}: {}", r.status, e.message),
        };
    }
    let outcome = Outcome::from_http(r.status, &r.error.map(|e| e.message).unwrap_or_default());
    match (outcome, r.version) {
        (Outcome::Stored, Some(held)) if held > sent_version => Outcome::Rejected {
            status: 409,
            reason: format!(
                "the back office holds version {held} of this order, newer than this register's \
                 version {sent_version}: it was changed elsewhere, and this version was not stored"
            ),
        },
        (outcome, _) => outcome,
    }
}

/// One outcome per order sent, from the batch's answer.
fn outcomes(sent: &[Sent], result: Result<Vec<BatchResult>, NetFailure>) -> Vec<Outcome> {
    match result {
        Ok(results) if results.len() == sent.len() => results
            .into_iter()
            .zip(sent)
            .map(|(r, sent)| judge(r, sent.record_version))
            .collect(),
        Ok(results) => vec![
            Outcome::Retry {
                reason: format!("{} results for {} orders", results.len(), sent.len()),
            };
            sent.len()
        ],
        Err(NetFailure::Refused { status, message }) => {
            vec![Outcome::from_http(status, &message); sent.len()]
        }
        Err(NetFailure::Unreachable) => vec![
            Outcome::Retry {
                reason: "the back office cannot be reached".into(),
            };
            sent.len()
        ],
        Err(NetFailure::BadAnswer(e)) => vec![
            Outcome::Retry {
                reason: format!("unreadable answer: {e}"),
            };
            sent.len()
        ],
    }
}
