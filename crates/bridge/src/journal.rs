//! The bridge's journal: every payment it accepted and every report it owes
//! the back office, in its own SQLite file.
//!
//! A payment is written before the terminal is asked to charge, and a
//! report is queued in the same transaction that records an approval, so a
//! restart of the bridge at any point loses neither. Commits are durable
//! (`synchronous=FULL`).
//!
//! The journal never forgets, and tells two kinds of "not found" apart:
//!
//! - a reference it has **never received** gets a tombstone the first time
//!   anyone asks about it (status or cancel), and the answer is
//!   `never_received`. That answer is final: a start with that reference
//!   that arrives later (a request delayed on the network) is refused, so
//!   "never received" really means "nothing was, or ever will be, charged";
//! - a payment the terminal gave up on without a result (its timeout) is
//!   `unknown`: the request reached the terminal and nobody knows whether
//!   the card was charged. It stays in the journal, and the terminal is
//!   still asked about it: a result it finds later is recorded and reported.

use crate::terminal::{Cancel, ChargeRequest, Poll, Terminal};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use till_core::api::{
    PaymentReport, PaymentStatusResponse, ReportedStatus, StartPayment, StartRefund,
};
use till_core::money::Money;
use till_core::order::{CardDetails, OrderId};
use till_core::outbox::backoff;
use till_core::payment::{BridgeStatus, PaymentRef};
use till_core::time::Timestamp;

/// Reports sent to the OMS per round.
pub const REPORTS_PER_ROUND: usize = 50;

#[derive(Debug)]
pub enum BridgeError {
    /// The reference is known with another order or amount.
    Conflict(PaymentStatusResponse),
    /// A start for a reference the bridge already answered "never
    /// received" for: refused, so it can never be charged.
    Tombstoned(PaymentStatusResponse),
    NotFound,
    /// Cancel came too late: the real status.
    TooLate(PaymentStatusResponse),
    /// The order already has a payment the terminal is working on (its
    /// reference): one live payment per order.
    LivePayment(PaymentRef),
    /// A refund this bridge cannot give: its original payment is unknown
    /// here or not approved, or it exceeds what is left of it.
    RefundRefused(String),
    Terminal(String),
    Storage(String),
}

impl From<rusqlite::Error> for BridgeError {
    fn from(e: rusqlite::Error) -> BridgeError {
        BridgeError::Storage(format!("journal: {e}"))
    }
}

impl From<serde_json::Error> for BridgeError {
    fn from(e: serde_json::Error) -> BridgeError {
        BridgeError::Storage(format!("journal JSON: {e}"))
    }
}

/// Whether a start created the payment or found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    New,
    Existing,
}

/// How a report delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Retry(String),
    /// Refused for good (a 4xx): kept, not retried, logged.
    Parked(String),
}

struct Row {
    order_id: OrderId,
    amount: Money,
    status: BridgeStatus,
    /// For a refund: the payment it gives money back to.
    refund_of: Option<PaymentRef>,
}

/// What a start asks the terminal: a charge, or a refund of an approved
/// payment.
pub struct Start {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    pub amount: Money,
    pub refund_of: Option<PaymentRef>,
}

impl From<&StartPayment> for Start {
    fn from(s: &StartPayment) -> Start {
        Start {
            reference: s.reference,
            order_id: s.order_id,
            amount: s.amount,
            refund_of: None,
        }
    }
}

impl From<&StartRefund> for Start {
    fn from(s: &StartRefund) -> Start {
        Start {
            reference: s.reference,
            order_id: s.order_id,
            amount: s.amount,
            refund_of: Some(s.original),
        }
    }
}

pub struct Bridge {
    conn: Mutex<Connection>,
    terminal: Arc<dyn Terminal>,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS payments (
        reference TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        amount TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        status TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS payments_by_order ON payments (order_id);
    CREATE TABLE IF NOT EXISTS tombstones (
        reference TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS reports (
        reference TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        delivered_at INTEGER,
        parked TEXT,
        last_error TEXT
    );";

impl Bridge {
    pub fn open(path: &Path, terminal: Arc<dyn Terminal>) -> Result<Bridge, String> {
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::setup(conn, terminal)
    }

    pub fn in_memory(terminal: Arc<dyn Terminal>) -> Result<Bridge, String> {
        Self::setup(
            Connection::open_in_memory().map_err(|e| e.to_string())?,
            terminal,
        )
    }

    fn setup(conn: Connection, terminal: Arc<dyn Terminal>) -> Result<Bridge, String> {
        let e = |e: rusqlite::Error| format!("journal: {e}");
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        conn.execute_batch(SCHEMA).map_err(e)?;
        Self::add_refunds(&conn).map_err(e)?;
        Ok(Bridge {
            conn: Mutex::new(conn),
            terminal,
        })
    }

    /// A journal from before refunds gets the column that marks them.
    fn add_refunds(conn: &Connection) -> Result<(), rusqlite::Error> {
        let has: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('payments') WHERE name = 'refund_of'")?
            .exists([])?;
        if !has {
            conn.execute_batch(
                "ALTER TABLE payments ADD COLUMN refund_of TEXT;
                 CREATE INDEX IF NOT EXISTS payments_by_refunded ON payments (refund_of);",
            )?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn row(conn: &Connection, reference: &PaymentRef) -> Result<Option<Row>, BridgeError> {
        let found = conn
            .query_row(
                "SELECT order_id, amount, status, refund_of FROM payments WHERE reference = ?1",
                [reference.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((order_id, amount, status, refund_of)) = found else {
            return Ok(None);
        };
        let refund_of = match refund_of {
            Some(r) => Some(
                r.parse()
                    .map_err(|e| BridgeError::Storage(format!("journal reference {r:?}: {e}")))?,
            ),
            None => None,
        };
        Ok(Some(Row {
            order_id: serde_json::from_value(serde_json::Value::String(order_id))?,
            amount: serde_json::from_str(&amount)?,
            status: serde_json::from_str(&status)?,
            refund_of,
        }))
    }

    /// A payment of `order` the terminal is still processing, if any (each
    /// asked again first, so one that just finished does not count).
    fn live_payment_of(
        &self,
        conn: &mut Connection,
        order: &OrderId,
        now: Timestamp,
    ) -> Result<Option<PaymentRef>, BridgeError> {
        let processing = serde_json::to_string(&BridgeStatus::Processing)?;
        let refs: Vec<String> = conn
            .prepare_cached("SELECT reference FROM payments WHERE order_id = ?1 AND status = ?2")?
            .query_map(params![order.to_string(), processing], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for r in refs {
            let reference: PaymentRef = r
                .parse()
                .map_err(|e| BridgeError::Storage(format!("journal reference {r:?}: {e}")))?;
            let row = self.refresh(conn, &reference, now)?;
            if row.is_some_and(|row| row.status == BridgeStatus::Processing) {
                return Ok(Some(reference));
            }
        }
        Ok(None)
    }

    /// Asks the terminal about a processing payment and records what changed
    /// (with its OMS report, in one transaction).
    fn refresh(
        &self,
        conn: &mut Connection,
        reference: &PaymentRef,
        now: Timestamp,
    ) -> Result<Option<Row>, BridgeError> {
        let Some(row) = Self::row(conn, reference)? else {
            return Ok(None);
        };
        // Only an open question is asked again: processing, or unknown (the
        // terminal may still find the result it lost).
        if !matches!(row.status, BridgeStatus::Processing | BridgeStatus::Unknown) {
            return Ok(Some(row));
        }
        let status = match self.terminal.poll(reference, now) {
            Poll::Pending => return Ok(Some(row)),
            Poll::Approved(card) => BridgeStatus::Approved {
                amount: row.amount,
                card,
            },
            // A decline after "unknown" would be a guess: only a processing
            // payment can be declined by the terminal's answer.
            Poll::Declined(reason) if row.status == BridgeStatus::Processing => {
                BridgeStatus::Declined { reason }
            }
            Poll::TimedOut if row.status == BridgeStatus::Processing => BridgeStatus::Unknown,
            Poll::Declined(_) | Poll::TimedOut => return Ok(Some(row)),
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE payments SET status = ?2, updated_at = ?3 WHERE reference = ?1",
            params![
                reference.to_string(),
                serde_json::to_string(&status)?,
                now.as_millis()
            ],
        )?;
        if let BridgeStatus::Approved { amount, card } = &status {
            let mut report = report(*reference, row.order_id, *amount, card.clone(), now);
            if let Some(original) = row.refund_of {
                report.status = ReportedStatus::Refunded;
                report.original = Some(original);
            }
            Self::queue_report(&tx, &report, now)?;
        }
        tx.commit()?;
        Ok(Some(Row { status, ..row }))
    }

    fn queue_report(
        conn: &Connection,
        report: &PaymentReport,
        now: Timestamp,
    ) -> Result<(), BridgeError> {
        conn.execute(
            "INSERT OR IGNORE INTO reports (reference, body, next_attempt_at) VALUES (?1, ?2, ?3)",
            params![
                report.reference.to_string(),
                serde_json::to_string(report)?,
                now.as_millis()
            ],
        )?;
        Ok(())
    }

    fn is_tombstoned(conn: &Connection, reference: &PaymentRef) -> Result<bool, BridgeError> {
        Ok(conn
            .query_row(
                "SELECT 1 FROM tombstones WHERE reference = ?1",
                [reference.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// "Never received", for good: a later start with this reference is refused.
    fn tombstone(
        conn: &Connection,
        reference: &PaymentRef,
        now: Timestamp,
    ) -> Result<PaymentStatusResponse, BridgeError> {
        conn.execute(
            "INSERT OR IGNORE INTO tombstones (reference, created_at) VALUES (?1, ?2)",
            params![reference.to_string(), now.as_millis()],
        )?;
        Ok(PaymentStatusResponse {
            reference: *reference,
            status: BridgeStatus::NeverReceived,
        })
    }

    /// Starts a payment or a refund, or answers with the existing one: one
    /// reference is one operation on the terminal, whatever arrives twice.
    /// A reference the bridge already called "never received" is refused,
    /// and so is a refund its original payment does not allow.
    pub fn start(
        &self,
        req: &Start,
        now: Timestamp,
    ) -> Result<(Started, PaymentStatusResponse), BridgeError> {
        let mut conn = self.lock();
        if Self::is_tombstoned(&conn, &req.reference)? {
            return Err(BridgeError::Tombstoned(PaymentStatusResponse {
                reference: req.reference,
                status: BridgeStatus::NeverReceived,
            }));
        }
        if let Some(row) = self.refresh(&mut conn, &req.reference, now)? {
            let answer = PaymentStatusResponse {
                reference: req.reference,
                status: row.status,
            };
            if row.order_id != req.order_id
                || row.amount != req.amount
                || row.refund_of != req.refund_of
            {
                return Err(BridgeError::Conflict(answer));
            }
            return Ok((Started::Existing, answer));
        }
        if let Some(live) = self.live_payment_of(&mut conn, &req.order_id, now)? {
            return Err(BridgeError::LivePayment(live));
        }
        if let Some(original) = &req.refund_of {
            self.check_refund(&mut conn, original, req, now)?;
        }
        // Journal first: a crash after this line leaves a payment the bridge
        // knows, never a charge it does not.
        conn.execute(
            "INSERT INTO payments (reference, order_id, amount, created_at, updated_at, status, refund_of) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
            params![
                req.reference.to_string(),
                req.order_id.to_string(),
                serde_json::to_string(&req.amount)?,
                now.as_millis(),
                serde_json::to_string(&BridgeStatus::Processing)?,
                req.refund_of.map(|r| r.to_string())
            ],
        )?;
        self.begin(&conn, req, now)
    }

    /// Asks the terminal to begin what the journal now holds.
    fn begin(
        &self,
        conn: &Connection,
        req: &Start,
        now: Timestamp,
    ) -> Result<(Started, PaymentStatusResponse), BridgeError> {
        let charge = ChargeRequest {
            reference: req.reference,
            order_id: req.order_id,
            amount: req.amount,
            refund_of: req.refund_of,
        };
        if let Err(e) = self.terminal.begin(&charge, now) {
            // The terminal refused at once: nothing was charged.
            let status = BridgeStatus::Declined {
                reason: format!("terminal error: {e}"),
            };
            conn.execute(
                "UPDATE payments SET status = ?2 WHERE reference = ?1",
                params![req.reference.to_string(), serde_json::to_string(&status)?],
            )?;
            return Err(BridgeError::Terminal(e));
        }
        Ok((
            Started::New,
            PaymentStatusResponse {
                reference: req.reference,
                status: BridgeStatus::Processing,
            },
        ))
    }

    /// A refund goes back to an approved payment of the same order, in its
    /// currency, and all its refunds that may have given money back
    /// (approved, processing or unknown) stay within what it charged.
    fn check_refund(
        &self,
        conn: &mut Connection,
        original: &PaymentRef,
        req: &Start,
        now: Timestamp,
    ) -> Result<(), BridgeError> {
        let refused = |why: String| Err(BridgeError::RefundRefused(why));
        let charged = match self.refresh(conn, original, now)? {
            Some(Row {
                status: BridgeStatus::Approved { amount, .. },
                order_id,
                refund_of: None,
                ..
            }) if order_id == req.order_id => amount,
            Some(_) => {
                return refused(format!(
                    "payment {original} is not an approved payment of this order"
                ))
            }
            None => return refused(format!("payment {original} is not known to this bridge")),
        };
        if charged.currency() != req.amount.currency() {
            return refused(format!(
                "payment {original} was in {}",
                charged.currency().code()
            ));
        }
        let refunds: Vec<(String, String)> = conn
            .prepare_cached("SELECT amount, status FROM payments WHERE refund_of = ?1")?
            .query_map([original.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut given = req.amount.minor();
        for (amount, status) in refunds {
            let status: BridgeStatus = serde_json::from_str(&status)?;
            if matches!(
                status,
                BridgeStatus::Approved { .. } | BridgeStatus::Processing | BridgeStatus::Unknown
            ) {
                given += serde_json::from_str::<Money>(&amount)?.minor();
            }
        }
        if given > charged.minor() {
            return refused(format!(
                "refunds of payment {original} would give back more than the {charged} it charged"
            ));
        }
        Ok(())
    }

    pub fn status(
        &self,
        reference: &PaymentRef,
        now: Timestamp,
    ) -> Result<PaymentStatusResponse, BridgeError> {
        let mut conn = self.lock();
        match self.refresh(&mut conn, reference, now)? {
            Some(row) => Ok(PaymentStatusResponse {
                reference: *reference,
                status: row.status,
            }),
            None => Self::tombstone(&conn, reference, now),
        }
    }

    /// Cancels if the terminal has not captured yet; otherwise the real status.
    pub fn cancel(
        &self,
        reference: &PaymentRef,
        now: Timestamp,
    ) -> Result<PaymentStatusResponse, BridgeError> {
        let mut conn = self.lock();
        let Some(row) = self.refresh(&mut conn, reference, now)? else {
            // Cancelling what never arrived: it never will.
            return Self::tombstone(&conn, reference, now);
        };
        let answer = |status| PaymentStatusResponse {
            reference: *reference,
            status,
        };
        match row.status {
            BridgeStatus::Cancelled => Ok(answer(BridgeStatus::Cancelled)),
            BridgeStatus::Processing => match self.terminal.cancel(reference, now) {
                Cancel::Cancelled => {
                    conn.execute(
                        "UPDATE payments SET status = ?2, updated_at = ?3 WHERE reference = ?1",
                        params![
                            reference.to_string(),
                            serde_json::to_string(&BridgeStatus::Cancelled)?,
                            now.as_millis()
                        ],
                    )?;
                    Ok(answer(BridgeStatus::Cancelled))
                }
                Cancel::TooLate => {
                    // Captured: tell the real status, as far as it is known.
                    let row = self
                        .refresh(&mut conn, reference, now)?
                        .ok_or(BridgeError::NotFound)?;
                    Err(BridgeError::TooLate(answer(row.status)))
                }
            },
            other => Err(BridgeError::TooLate(answer(other))),
        }
    }

    /// Brings every processing payment up to date and queues the reports the
    /// terminal made by itself. Called on a timer.
    pub fn tick(&self, now: Timestamp) -> Result<(), BridgeError> {
        let mut conn = self.lock();
        let processing: Vec<String> = {
            let mut stmt = conn.prepare_cached(
                "SELECT reference FROM payments WHERE status = ?1 OR status = ?2",
            )?;
            let rows = stmt.query_map(
                [
                    serde_json::to_string(&BridgeStatus::Processing)?,
                    serde_json::to_string(&BridgeStatus::Unknown)?,
                ],
                |r| r.get(0),
            )?;
            rows.collect::<Result<_, _>>()?
        };
        for r in processing {
            if let Ok(reference) = r.parse::<PaymentRef>() {
                self.refresh(&mut conn, &reference, now)?;
            }
        }
        for report in self.terminal.direct_reports(now) {
            Self::queue_report(&conn, &report, now)?;
        }
        Ok(())
    }

    /// Queues a report (the simulator's "report now").
    pub fn queue(&self, report: &PaymentReport, now: Timestamp) -> Result<(), BridgeError> {
        Self::queue_report(&self.lock(), report, now)
    }

    /// Reports due at `now`, oldest first.
    pub fn due_reports(&self, now: Timestamp) -> Result<Vec<PaymentReport>, BridgeError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM reports WHERE delivered_at IS NULL AND parked IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now.as_millis(), REPORTS_PER_ROUND as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// Records how a delivery went; `jitter` in 0..=1000.
    pub fn delivered(
        &self,
        reference: &PaymentRef,
        outcome: Delivery,
        now: Timestamp,
        jitter: u16,
    ) -> Result<(), BridgeError> {
        let conn = self.lock();
        let r = reference.to_string();
        match outcome {
            Delivery::Delivered => {
                conn.execute("UPDATE reports SET delivered_at = ?2, attempts = attempts + 1 WHERE reference = ?1", params![r, now.as_millis()])?;
            }
            Delivery::Parked(reason) => {
                tracing::error!("the OMS refused the report of payment {r}: {reason}");
                conn.execute(
                    "UPDATE reports SET parked = ?2, attempts = attempts + 1 WHERE reference = ?1",
                    params![r, reason],
                )?;
            }
            Delivery::Retry(reason) => {
                let attempts: u32 = conn.query_row(
                    "SELECT attempts FROM reports WHERE reference = ?1",
                    [&r],
                    |row| row.get(0),
                )?;
                let next = now + backoff(attempts + 1, jitter);
                conn.execute(
                    "UPDATE reports SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE reference = ?1",
                    params![r, next.as_millis(), reason],
                )?;
            }
        }
        Ok(())
    }

    /// Reports not yet delivered (for the log and the tests).
    pub fn pending_reports(&self) -> Result<u64, BridgeError> {
        let n: i64 = self.lock().query_row(
            "SELECT count(*) FROM reports WHERE delivered_at IS NULL AND parked IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

fn report(
    reference: PaymentRef,
    order_id: OrderId,
    amount: Money,
    card: CardDetails,
    now: Timestamp,
) -> PaymentReport {
    PaymentReport {
        reference,
        order_id,
        amount,
        status: ReportedStatus::Approved,
        card,
        approved_at: now,
        original: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{SimConfig, Simulator};
    use till_core::money::Currency;
    use uuid::Uuid;

    #[test]
    fn a_journal_from_before_refunds_keeps_its_payments_and_takes_refunds() {
        let dir = std::env::temp_dir().join(format!("till-journal-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.sqlite3");
        let reference = PaymentRef::from_uuid(Uuid::from_u128(0x4000_8000_0000_0001));
        let order: OrderId = "0191d5a8-7c3e-7000-8000-000000000001".parse().unwrap();
        let amount = Money::new(1000, Currency::EUR).unwrap();
        let card = CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "A1".into(),
        };
        {
            // The journal as the first release wrote it: no refund column.
            let old = Connection::open(&path).unwrap();
            old.execute_batch(SCHEMA).unwrap();
            old.execute(
                "INSERT INTO payments (reference, order_id, amount, created_at, updated_at, status) VALUES (?1, ?2, ?3, 1, 1, ?4)",
                params![
                    reference.to_string(),
                    order.to_string(),
                    serde_json::to_string(&amount).unwrap(),
                    serde_json::to_string(&BridgeStatus::Approved { amount, card }).unwrap()
                ],
            )
            .unwrap();
        }
        let terminal = Arc::new(Simulator::in_memory(SimConfig::default()).unwrap());
        let bridge = Bridge::open(&path, terminal).unwrap();
        let now = Timestamp::from_millis(5_000);
        let status = bridge.status(&reference, now).unwrap().status;
        assert!(
            matches!(status, BridgeStatus::Approved { .. }),
            "{status:?}"
        );
        let refund = Start {
            reference: PaymentRef::from_uuid(Uuid::from_u128(0x4000_8000_0000_0002)),
            order_id: order,
            amount: Money::new(600, Currency::EUR).unwrap(),
            refund_of: Some(reference),
        };
        let (started, _) = bridge.start(&refund, now).unwrap();
        assert_eq!(started, Started::New);
        let later = now + till_core::time::Duration::from_secs(60);
        let status = bridge.status(&refund.reference, later).unwrap().status;
        assert!(
            matches!(status, BridgeStatus::Approved { .. }),
            "{status:?}"
        );
        let too_much = Start {
            reference: PaymentRef::from_uuid(Uuid::from_u128(0x4000_8000_0000_0003)),
            amount: Money::new(401, Currency::EUR).unwrap(),
            ..refund
        };
        assert!(matches!(
            bridge.start(&too_much, later),
            Err(BridgeError::RefundRefused(_))
        ));
        drop(bridge);
        // Opening it again changes nothing more.
        let terminal = Arc::new(Simulator::in_memory(SimConfig::default()).unwrap());
        assert!(Bridge::open(&path, terminal).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }
}
