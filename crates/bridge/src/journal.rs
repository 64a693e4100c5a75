//! The bridge's journal: every payment and refund it accepted, the state of
//! its operation on the terminal ([`crate::driver::Operation`]), and every
//! report it owes the back office, in its own SQLite file.
//!
//! The journal is the source of truth, and it is written first:
//!
//! - a payment is journaled (with its ServiceID) before its request leaves
//!   for the terminal, and every answer is journaled before it is told to
//!   anyone; a report is queued in the same transaction that records an
//!   approval. A restart at any point loses none of it: a Payment that was
//!   on the wire is asked about by TransactionStatus, never sent again;
//! - ServiceIDs come from a counter kept here, so they never repeat for
//!   the terminal (nexo wants them unique for 48 hours);
//! - commits are durable (`synchronous=FULL`).
//!
//! The journal never forgets, and tells two kinds of "not found" apart:
//!
//! - a reference it has **never received** gets a tombstone the first time
//!   anyone asks about it (status or cancel), and the answer is
//!   `never_received`. That answer is final: a start with that reference
//!   that arrives later (a request delayed on the network) is refused, so
//!   "never received" really means "nothing was, or ever will be, charged";
//! - a payment whose outcome the terminal has not told is `processing` or
//!   `unknown` (in doubt), and is asked about until the terminal says.
//!
//! The journal does no network I/O: its calls return the requests to send
//! ([`Outgoing`]), and the answers come back through
//! [`Journal::answered`]. The bridge's HTTP client carries them out; the
//! simulator carries them to `till-terminal`'s state machine.

use crate::driver::{CallResult, DriverConfig, Final, Need, Operation, Original};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;
use till_core::api::{
    PaymentReport, PaymentStatusResponse, ReportedStatus, StartPayment, StartRefund,
};
use till_core::money::Money;
use till_core::order::OrderId;
use till_core::outbox::backoff;
use till_core::payment::{BridgeStatus, PaymentRef};
use till_core::time::{Duration, Timestamp};
use till_nexo::message::Request;
use till_nexo::ServiceId;

/// Reports sent to the OMS per round.
pub const REPORTS_PER_ROUND: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The reference is known with another order or amount.
    #[error("payment {0} is already known with another order or amount")]
    Conflict(PaymentRef),
    /// A start for a reference the bridge already answered "never
    /// received" for: refused, so it can never be charged.
    #[error("payment {0} was already answered \"never received\"")]
    Tombstoned(PaymentRef),
    #[error("no payment with this reference")]
    NotFound,
    /// The order already has a payment the terminal is working on (its
    /// reference): one live payment per order.
    #[error("the order already has payment {0} in progress")]
    LivePayment(PaymentRef),
    /// A refund this bridge cannot give: its original payment is unknown
    /// here or not approved, or it exceeds what is left of it.
    #[error("{0}")]
    RefundRefused(String),
    /// The payment was started by another register (as its pairing names
    /// it): only that one may ask about it, cancel it or refund it.
    #[error("payment {0} was started by another register")]
    NotYours(PaymentRef),
    /// A caller asked about more references the bridge never received
    /// than it may: nothing is written, and no answer is given.
    #[error("this register asked about {0} payments the bridge never received; it answers no more such questions")]
    TooManyUnknown(u64),
    #[error("{0}")]
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

/// What a cancel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Already cancelled.
    Cancelled(PaymentStatusResponse),
    /// Too late (decided, or a refund): the real status.
    TooLate(PaymentStatusResponse),
    /// The bridge never received it: it never will (a tombstone now).
    NeverReceived(PaymentStatusResponse),
    /// An Abort is on its way: the payment's own answer will say.
    AbortSent,
}

/// A request for the terminal, and what to tell the journal when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub reference: PaymentRef,
    pub need: Need,
    pub request: Request,
    pub sent_at: Timestamp,
    pub timeout: Duration,
}

impl Outgoing {
    pub fn service_id(&self) -> &ServiceId {
        &self.request.header.service_id
    }
}

/// What a start asks the terminal: a charge, or a refund of an approved
/// payment.
pub struct Start {
    pub reference: PaymentRef,
    pub order_id: OrderId,
    pub amount: Money,
    pub refund_of: Option<PaymentRef>,
    /// The terminal asks the customer for a tip (a payment only).
    pub ask_tip: bool,
    /// The register that asks, as its pairing names it: the only one that
    /// may then ask about this payment, cancel it or refund it (also after
    /// it pairs again). `None` binds it to nobody (the simulator's one
    /// register).
    pub owner: Option<String>,
}

impl Start {
    /// The same start, bound to `owner`.
    pub fn by(self, owner: &str) -> Start {
        Start {
            owner: Some(owner.to_owned()),
            ..self
        }
    }
}

impl From<&StartPayment> for Start {
    fn from(s: &StartPayment) -> Start {
        Start {
            reference: s.reference,
            order_id: s.order_id,
            amount: s.amount,
            refund_of: None,
            ask_tip: s.ask_tip,
            owner: None,
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
            ask_tip: false,
            owner: None,
        }
    }
}

/// One row of the journal.
struct Row {
    order_id: OrderId,
    amount: Money,
    refund_of: Option<PaymentRef>,
    /// `None` for a payment journaled before the bridge drove a terminal
    /// over nexo: its stored status stands.
    op: Option<Operation>,
    stored: BridgeStatus,
    /// The register that started it; `None` before payments were bound.
    owner: Option<String>,
}

impl Row {
    /// Whether `caller` may ask about, cancel or refund this payment.
    fn belongs_to(&self, caller: Option<&str>) -> bool {
        match (&self.owner, caller) {
            (Some(owner), Some(caller)) => owner == caller,
            _ => true,
        }
    }
}

impl Row {
    fn status(&self, now: Timestamp, config: &DriverConfig) -> BridgeStatus {
        match &self.op {
            Some(op) => op.status(now, config),
            None => self.stored.clone(),
        }
    }
}

pub struct Journal {
    conn: Mutex<Connection>,
    config: DriverConfig,
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
    );
    CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

impl Journal {
    pub fn open(path: &Path, config: DriverConfig) -> Result<Journal, String> {
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::setup(conn, config)
    }

    pub fn in_memory(config: DriverConfig) -> Result<Journal, String> {
        Self::setup(
            Connection::open_in_memory().map_err(|e| format!("the journal's database: {e}"))?,
            config,
        )
    }

    fn setup(conn: Connection, config: DriverConfig) -> Result<Journal, String> {
        let e = |e: rusqlite::Error| format!("journal: {e}");
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        conn.execute_batch(SCHEMA).map_err(e)?;
        Self::add_column(
            &conn,
            "refund_of",
            "CREATE INDEX IF NOT EXISTS payments_by_refunded ON payments (refund_of);",
        )
        .map_err(e)?;
        Self::add_column(&conn, "op", "").map_err(e)?;
        Self::add_column(&conn, "done", "").map_err(e)?;
        Self::add_column_to(&conn, "tombstones", "pairing", "").map_err(e)?;
        Self::add_column(&conn, "owner", "").map_err(e)?;
        let journal = Journal {
            conn: Mutex::new(conn),
            config,
        };
        journal
            .recover()
            .map_err(|e| format!("recovering the journal: {e}"))?;
        Ok(journal)
    }

    /// A journal from before a column gets it (payments journaled before
    /// refunds, before nexo).
    fn add_column(conn: &Connection, column: &str, then: &str) -> Result<(), rusqlite::Error> {
        Self::add_column_to(conn, "payments", column, then)
    }

    /// [`Journal::add_column`] for any of the journal's tables (tombstones
    /// journaled before they named the pairing that asked).
    fn add_column_to(
        conn: &Connection,
        table: &str,
        column: &str,
        then: &str,
    ) -> Result<(), rusqlite::Error> {
        let has: bool = conn
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
            ))?
            .exists([column])?;
        if !has {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} TEXT; {then}"
            ))?;
        }
        Ok(())
    }

    /// The bridge restarted (the simulator's restart, on a journal that
    /// stays open): as at open, the calls it had out are gone.
    pub fn restarted(&self) -> Result<(), BridgeError> {
        self.recover()
    }

    /// After a restart, the calls the last process had out are gone.
    fn recover(&self) -> Result<(), BridgeError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        for (reference, mut op) in Self::open_ops(&tx)? {
            op.after_restart();
            tx.prepare_cached("UPDATE payments SET op = ?2 WHERE reference = ?1")?
                .execute(params![reference, serde_json::to_string(&op)?])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn open_ops(conn: &Connection) -> Result<Vec<(String, Operation)>, BridgeError> {
        let rows: Vec<(String, String)> = conn
            .prepare_cached(
                "SELECT reference, op FROM payments WHERE op IS NOT NULL AND done IS NOT '1'",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(r, op)| Ok((r, serde_json::from_str(&op)?)))
            .collect()
    }

    pub fn config(&self) -> &DriverConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn row(conn: &Connection, reference: &PaymentRef) -> Result<Option<Row>, BridgeError> {
        let found = conn
            .prepare_cached(
                "SELECT order_id, amount, status, refund_of, op, owner FROM payments WHERE reference = ?1",
            )?
            .query_row([reference.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .optional()?;
        let Some((order_id, amount, status, refund_of, op, owner)) = found else {
            return Ok(None);
        };
        Ok(Some(Row {
            order_id: serde_json::from_value(serde_json::Value::String(order_id))?,
            amount: serde_json::from_str(&amount)?,
            refund_of: refund_of.map(|r| parse_reference(&r)).transpose()?,
            op: op.map(|o| serde_json::from_str(&o)).transpose()?,
            stored: serde_json::from_str(&status)?,
            owner,
        }))
    }

    /// Writes an operation's new state, and queues the report of an
    /// approval in the same transaction.
    fn save(
        &self,
        conn: &mut Connection,
        op: &Operation,
        now: Timestamp,
    ) -> Result<(), BridgeError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = op.status(now, &self.config);
        tx.prepare_cached("UPDATE payments SET status = ?2, op = ?3, done = ?4, updated_at = ?5 WHERE reference = ?1")?
            .execute(params![
                op.reference.to_string(),
                serde_json::to_string(&status)?,
                serde_json::to_string(op)?,
                if op.is_done() { "1" } else { "0" },
                now.as_millis()
            ],
        )?;
        if let Some(report) = report_of(op) {
            Self::queue_report(&tx, &report, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn queue_report(
        conn: &Connection,
        report: &PaymentReport,
        now: Timestamp,
    ) -> Result<(), BridgeError> {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO reports (reference, body, next_attempt_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![
            report.reference.to_string(),
            serde_json::to_string(report)?,
            now.as_millis()
        ])?;
        Ok(())
    }

    /// The next ServiceID: a counter in the journal, so none repeats.
    fn service_id(conn: &Connection) -> Result<ServiceId, BridgeError> {
        let n: i64 = conn
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES ('service_id', 1)
             ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(ServiceId::numbered(n as u64))
    }

    /// The request an operation needs, under a new ServiceID when it is
    /// not the operation's own.
    fn outgoing(
        &self,
        conn: &Connection,
        op: &Operation,
        need: Need,
        now: Timestamp,
    ) -> Result<Outgoing, BridgeError> {
        let c = &self.config;
        let request = match need {
            Need::Start => op.start_request(c),
            Need::Status => op.status_request(Self::service_id(conn)?, c),
            Need::Abort => op.abort_request(Self::service_id(conn)?, c),
        };
        Ok(Outgoing {
            reference: op.reference,
            need,
            request,
            sent_at: now,
            timeout: op.timeout(need, c),
        })
    }
}

fn parse_reference(r: &str) -> Result<PaymentRef, BridgeError> {
    r.parse()
        .map_err(|e| BridgeError::Storage(format!("journal reference {r:?}: {e}")))
}

/// The report an operation owes the back office, once it is approved.
fn report_of(op: &Operation) -> Option<PaymentReport> {
    let Some(Final::Approved {
        amount, card, at, ..
    }) = op.final_state()
    else {
        return None;
    };
    Some(PaymentReport {
        reference: op.reference,
        order_id: op.order_id,
        amount: *amount,
        status: match op.refund_of {
            Some(_) => ReportedStatus::Refunded,
            None => ReportedStatus::Approved,
        },
        card: card.clone(),
        approved_at: *at,
        original: op.refund_of.as_ref().map(|o| o.reference),
    })
}

mod operations;
mod reports;
