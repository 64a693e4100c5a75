//! The terminal itself: a sans-IO state machine with its own memory.
//!
//! It takes decoded requests ([`Device::handle`]) and time
//! ([`Device::advance`], [`Device::poll_timeout`]), and answers the way a
//! card terminal speaking the Terminal API does:
//!
//! - a **Payment** is held: the HTTP call waits until the customer is done
//!   (its answer comes out of [`Device::advance`] as a [`Finished`]); a
//!   second Payment while one runs is answered `Failure` / `Busy` at once;
//!   a ServiceID seen in the last 48 hours is refused;
//! - an **Abort** of a running payment, before it is decided, ends it
//!   `Failure` / `Cancel`; after the decision it changes nothing. It is
//!   answered with an empty HTTP 200 ([`Reply::Empty`]);
//! - a **TransactionStatus** says `Success` with the original answer
//!   repeated, `Failure` / `InProgress`, or `Failure` / `NotFound`;
//! - a **Reversal** (a refund to the card of an earlier payment) is
//!   acknowledged at once; its outcome comes later, by TransactionStatus
//!   or the vendor's notification;
//! - every final payment and reversal is queued for the vendor's cloud,
//!   which notifies the back office ([`Device::due_notifications`]).
//!
//! Every change is written to its SQLite file before it is answered: a
//! restart loses no charge and forgets no ServiceID. The decisions (approve,
//! decline, how late, hidden or not) come from [`Behaviour`]; the wire's
//! faults are the server's and the simulator's, not the device's.

use crate::behaviour::{self, Behaviour};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use till_core::money::{Currency, Money};
use till_core::payment::PaymentRef;
use till_core::time::{Duration, Timestamp};
use till_nexo::additional;
use till_nexo::message::*;
use till_nexo::notification::{self, NotificationAmount, NotificationItem};
use till_nexo::{Amount, ErrorCondition, ServiceId};

/// How long a ServiceID stays taken: nexo's 48 hours.
pub const SERVICE_ID_WINDOW: Duration = Duration::from_mins(48 * 60);
/// A normal approval: long enough to see "Processing…" and press Cancel,
/// short enough for a demo.
pub const APPROVE_DELAY_DEFAULT: Duration = Duration::from_secs(3);
/// How long the terminal waits for a card before it gives up on a payment
/// (and is free for the next one). Adyen's terminals wait 120 s.
pub const TERMINAL_TIMEOUT_DEFAULT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// `model-serial`, as the terminal's certificate names it.
    pub poi_id: String,
    pub approve_delay: Duration,
    pub terminal_timeout: Duration,
    /// The merchant account the vendor's notifications name.
    pub merchant_account: String,
}

impl DeviceConfig {
    pub fn new(poi_id: &str) -> DeviceConfig {
        DeviceConfig {
            poi_id: poi_id.to_owned(),
            approve_delay: APPROVE_DELAY_DEFAULT,
            terminal_timeout: TERMINAL_TIMEOUT_DEFAULT,
            merchant_account: "TillStore".into(),
        }
    }
}

/// How the device answers a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The answer, at once.
    Now(Box<Response>),
    /// HTTP 200 with no body (an Abort).
    Empty,
    /// A payment is running: its answer comes from [`Device::advance`].
    Held(ServiceId),
}

/// A held payment call's end.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub service_id: ServiceId,
    /// `None`: the answer is lost on its way (the behaviour hides it); the
    /// call ends without one.
    pub response: Option<Response>,
}

/// One operation the terminal made on a card, for the tests' controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// Till's reference (the sale's transaction id).
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(flatten)]
    pub amount: Money,
    /// The tip within it, for a payment whose customer added one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_minor: Option<i64>,
    pub charged_at: Timestamp,
    /// A refund: Till's reference of the payment it went back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_of: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
enum Kind {
    Payment {
        sale: SaleData,
        amount: Money,
    },
    Reversal {
        sale: Option<SaleData>,
        original: ServiceId,
        amount: Money,
    },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
enum State {
    Running,
    Cancelled,
    Approved,
    Declined,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Txn {
    header: MessageHeader,
    kind: Kind,
    behaviour: Behaviour,
    begun_at: Timestamp,
    state: State,
    decided_at: Option<Timestamp>,
    tip: Option<Money>,
    poi_tx: TransactionId,
    psp: String,
    revealed: bool,
    answered: bool,
}

impl Txn {
    fn amount(&self) -> Money {
        match &self.kind {
            Kind::Payment { amount, .. } | Kind::Reversal { amount, .. } => *amount,
        }
    }

    fn sale(&self) -> Option<&SaleData> {
        match &self.kind {
            Kind::Payment { sale, .. } => Some(sale),
            Kind::Reversal { sale, .. } => sale.as_ref(),
        }
    }

    fn reference(&self) -> String {
        self.sale()
            .map(|s| s.sale_transaction_id.transaction_id.clone())
            .unwrap_or_default()
    }

    /// The pairs of the sale's `SaleToAcquirerData`.
    fn acquirer_data(&self) -> BTreeMap<String, String> {
        self.sale()
            .and_then(|s| s.sale_to_acquirer_data.as_deref())
            .map(additional::parse)
            .unwrap_or_default()
    }

    fn is_payment(&self) -> bool {
        matches!(self.kind, Kind::Payment { .. })
    }

    /// Approved or declined, hidden from the bridge now.
    fn hidden(&self, now: Timestamp) -> bool {
        let b = &self.behaviour;
        if !b.answer_lost() || self.revealed || self.state == State::Cancelled {
            return false;
        }
        match (b.bridge_never_learns, b.hide_result_ms, self.decided_at) {
            (true, _, _) => true,
            (false, Some(ms), Some(at)) => now < at + Duration::from_millis(ms),
            _ => true,
        }
    }

    /// The amount the card was charged: the sale and its tip.
    fn charged(&self) -> Money {
        match self.tip {
            Some(tip) => self.amount().checked_add(tip).unwrap_or(self.amount()),
            None => self.amount(),
        }
    }
}

/// The simulated card terminal.
pub struct Device {
    config: DeviceConfig,
    db: Connection,
    txns: BTreeMap<ServiceId, Txn>,
    next: Option<Behaviour>,
    busy_next: u32,
    seq: u64,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS txns (service_id TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS seen (service_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS charges (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY AUTOINCREMENT,
        reference TEXT NOT NULL, body TEXT NOT NULL, due_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER, parked TEXT);
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);";

/// A storage failure: the device cannot keep its memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the terminal's memory: {0}")]
pub struct DeviceError(pub String);

impl From<rusqlite::Error> for DeviceError {
    fn from(e: rusqlite::Error) -> DeviceError {
        DeviceError(e.to_string())
    }
}

impl From<serde_json::Error> for DeviceError {
    fn from(e: serde_json::Error) -> DeviceError {
        DeviceError(e.to_string())
    }
}

impl Device {
    pub fn open(path: &Path, config: DeviceConfig) -> Result<Device, DeviceError> {
        let db =
            Connection::open(path).map_err(|e| DeviceError(format!("{}: {e}", path.display())))?;
        Device::setup(db, config)
    }

    pub fn in_memory(config: DeviceConfig) -> Result<Device, DeviceError> {
        Device::setup(Connection::open_in_memory()?, config)
    }

    fn setup(db: Connection, config: DeviceConfig) -> Result<Device, DeviceError> {
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(SCHEMA)?;
        let mut device = Device {
            config,
            db,
            txns: BTreeMap::new(),
            next: None,
            busy_next: 0,
            seq: 0,
        };
        device.reload()?;
        Ok(device)
    }

    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// Runs `f` as one SQLite transaction: all of its writes, or none (and
    /// the memory read back from the file).
    pub(crate) fn atomically<T>(
        &mut self,
        f: impl FnOnce(&mut Device) -> Result<T, DeviceError>,
    ) -> Result<T, DeviceError> {
        self.db.execute_batch("BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(v) => {
                self.db.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.db.execute_batch("ROLLBACK");
                self.reload()?;
                Err(e)
            }
        }
    }

    /// The memory as the file holds it.
    fn reload(&mut self) -> Result<(), DeviceError> {
        let mut txns = BTreeMap::new();
        {
            let mut stmt = self.db.prepare_cached("SELECT body FROM txns")?;
            for body in stmt.query_map([], |r| r.get::<_, String>(0))? {
                let t: Txn = serde_json::from_str(&body?)?;
                txns.insert(t.header.service_id.clone(), t);
            }
        }
        self.txns = txns;
        self.seq = self
            .db
            .prepare_cached("SELECT v FROM meta WHERE k = 'seq'")?
            .query_row([], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u64;
        Ok(())
    }

    /// Answers one request (already decrypted and checked) at `now`: what
    /// it changes is written in one transaction before it is answered.
    pub fn handle(&mut self, request: Request, now: Timestamp) -> Result<Reply, DeviceError> {
        self.atomically(|d| d.handle_now(request, now))
    }

    fn handle_now(&mut self, request: Request, now: Timestamp) -> Result<Reply, DeviceError> {
        let header = request.header.clone();
        if header.poi_id != self.config.poi_id {
            let why = format!(
                "this terminal is {}, not {}",
                self.config.poi_id, header.poi_id
            );
            return self.refuse(&request, ErrorCondition::NotAllowed, &why, now);
        }
        if self.seen(&header.service_id, now)? {
            let why = "this ServiceID was used in the last 48 hours";
            return self.refuse(&request, ErrorCondition::NotAllowed, why, now);
        }
        self.db
            .prepare_cached("INSERT OR REPLACE INTO seen (service_id, at) VALUES (?1, ?2)")?
            .execute(params![header.service_id.as_str(), now.as_millis()])?;
        match request.body {
            RequestBody::Payment(p) => self.payment(header, p, now),
            RequestBody::Abort(a) => self.abort(&header, &a, now).map(|()| Reply::Empty),
            RequestBody::TransactionStatus(s) => {
                Ok(Reply::Now(Box::new(self.status(&header, &s, now))))
            }
            RequestBody::Reversal(r) => self.reversal(header, r, now),
        }
    }

    fn seen(&self, service_id: &ServiceId, now: Timestamp) -> Result<bool, DeviceError> {
        let at: Option<i64> = self
            .db
            .prepare_cached("SELECT at FROM seen WHERE service_id = ?1")?
            .query_row([service_id.as_str()], |r| r.get(0))
            .optional()?;
        Ok(at.is_some_and(|at| now.as_millis() - at < SERVICE_ID_WINDOW.as_millis() as i64))
    }

    /// A request refused before anything started, in the answer its
    /// category expects.
    fn refuse(
        &mut self,
        request: &Request,
        why: ErrorCondition,
        text: &str,
        now: Timestamp,
    ) -> Result<Reply, DeviceError> {
        let outcome = Outcome::failure(why, text);
        let header = request.header.response();
        let poi_tx = self.new_poi_tx(now)?;
        let body = match &request.body {
            RequestBody::Payment(p) => ResponseBody::Payment(Box::new(PaymentResponse {
                response: outcome,
                sale_data: p.sale_data.clone(),
                poi_data: PoiData {
                    poi_transaction_id: poi_tx,
                },
                payment_result: None,
                payment_receipt: Vec::new(),
            })),
            RequestBody::Reversal(_) => ResponseBody::Reversal(ReversalResponse {
                response: outcome,
                poi_data: Some(PoiData {
                    poi_transaction_id: poi_tx,
                }),
                reversed_amount: None,
            }),
            RequestBody::TransactionStatus(_) => {
                ResponseBody::TransactionStatus(Box::new(TransactionStatusResponse {
                    response: outcome,
                    message_reference: None,
                    repeated: None,
                }))
            }
            RequestBody::Abort(_) => return Ok(Reply::Empty),
        };
        Ok(Reply::Now(Box::new(Response { header, body })))
    }

    fn new_poi_tx(&mut self, now: Timestamp) -> Result<TransactionId, DeviceError> {
        self.seq += 1;
        self.db
            .prepare_cached("INSERT OR REPLACE INTO meta (k, v) VALUES ('seq', ?1)")?
            .execute([self.seq as i64])?;
        Ok(TransactionId {
            transaction_id: format!("TLPOI{:010}.{}", self.seq, psp_for(self.seq)),
            time_stamp: till_nexo::time::format(now),
        })
    }

    fn save(&mut self, t: &Txn) -> Result<(), DeviceError> {
        self.db
            .prepare_cached(
                "INSERT INTO txns (service_id, body) VALUES (?1, ?2)
             ON CONFLICT (service_id) DO UPDATE SET body = excluded.body",
            )?
            .execute(params![
                t.header.service_id.as_str(),
                serde_json::to_string(t)?
            ])?;
        self.txns.insert(t.header.service_id.clone(), t.clone());
        Ok(())
    }

    /// A payment still taking the terminal (the customer is at it).
    fn running_payment(&self, now: Timestamp) -> Option<&ServiceId> {
        self.txns
            .values()
            .filter(|t| t.is_payment() && t.state == State::Running)
            .find(|t| now < t.begun_at + self.config.terminal_timeout)
            .map(|t| &t.header.service_id)
    }

    fn payment(
        &mut self,
        header: MessageHeader,
        p: PaymentRequest,
        now: Timestamp,
    ) -> Result<Reply, DeviceError> {
        let req = &p.payment_transaction.amounts_req;
        let amount = Currency::from_code(&req.currency)
            .ok()
            .and_then(|c| req.requested_amount.to_money(c).ok())
            .filter(|m| !m.is_negative() && !m.is_zero());
        let Some(amount) = amount else {
            let request = Request {
                header,
                body: RequestBody::Payment(p),
            };
            let why = "RequestedAmount must be an amount above zero in a known currency";
            return self.refuse(&request, ErrorCondition::MessageFormat, why, now);
        };
        if self.busy_next > 0 || self.running_payment(now).is_some() {
            self.busy_next = self.busy_next.saturating_sub(1);
            let request = Request {
                header,
                body: RequestBody::Payment(p),
            };
            let why = "the terminal is busy with another payment";
            return self.refuse(&request, ErrorCondition::Busy, why, now);
        }
        let behaviour = self
            .next
            .take()
            .unwrap_or_else(|| Behaviour::for_amount(amount));
        let poi_tx = self.new_poi_tx(now)?;
        let t = Txn {
            kind: Kind::Payment {
                sale: p.sale_data,
                amount,
            },
            behaviour,
            begun_at: now,
            state: State::Running,
            decided_at: None,
            tip: None,
            psp: psp_for(self.seq),
            poi_tx,
            revealed: false,
            answered: false,
            header,
        };
        self.save(&t)?;
        Ok(Reply::Held(t.header.service_id.clone()))
    }

    fn abort(
        &mut self,
        header: &MessageHeader,
        a: &AbortRequest,
        now: Timestamp,
    ) -> Result<(), DeviceError> {
        let r = &a.message_reference;
        let Some(target) = r
            .service_id
            .as_ref()
            .and_then(|s| self.txns.get(s))
            .cloned()
        else {
            return Ok(());
        };
        let same_sale = r
            .sale_id
            .as_deref()
            .is_none_or(|s| s == target.header.sale_id)
            && target.header.sale_id == header.sale_id;
        let before_decision = now
            < self
                .decide_at(&target)
                .unwrap_or(Timestamp::from_millis(i64::MAX));
        if same_sale && target.is_payment() && target.state == State::Running && before_decision {
            let mut t = target;
            t.state = State::Cancelled;
            t.decided_at = Some(now);
            self.save(&t)?;
        }
        Ok(())
    }

    /// When a running operation is decided (`None`: never).
    fn decide_at(&self, t: &Txn) -> Option<Timestamp> {
        if t.behaviour.outcome == behaviour::Outcome::NoAnswer {
            return None;
        }
        let delay = t
            .behaviour
            .delay_ms
            .map(Duration::from_millis)
            .unwrap_or(self.config.approve_delay);
        Some(t.begun_at + delay)
    }

    fn reversal(
        &mut self,
        header: MessageHeader,
        r: ReversalRequest,
        now: Timestamp,
    ) -> Result<Reply, DeviceError> {
        let request = Request {
            header: header.clone(),
            body: RequestBody::Reversal(r.clone()),
        };
        let wanted = &r.original.poi_transaction_id.transaction_id;
        let original = self
            .txns
            .values()
            .find(|t| {
                t.is_payment() && t.state == State::Approved && t.poi_tx.transaction_id == *wanted
            })
            .cloned();
        let Some(original) = original else {
            let why = "no approved payment with this POITransactionID";
            return self.refuse(&request, ErrorCondition::NotAllowed, why, now);
        };
        let left = self.left_to_reverse(&original);
        let amount = match &r.reversed_amount {
            None => Some(left),
            Some(a) => a.to_money(left.currency()).ok(),
        };
        let Some(amount) =
            amount.filter(|a| !a.is_zero() && !a.is_negative() && a.minor() <= left.minor())
        else {
            let why = "ReversedAmount is more than is left of the payment";
            return self.refuse(&request, ErrorCondition::NotAllowed, why, now);
        };
        let behaviour = self
            .next
            .take()
            .unwrap_or_else(|| Behaviour::for_amount(amount));
        let poi_tx = self.new_poi_tx(now)?;
        let t = Txn {
            kind: Kind::Reversal {
                sale: r.sale_data,
                original: original.header.service_id.clone(),
                amount,
            },
            behaviour,
            begun_at: now,
            state: State::Running,
            decided_at: None,
            tip: None,
            psp: psp_for(self.seq),
            poi_tx,
            revealed: false,
            answered: true,
            header,
        };
        self.save(&t)?;
        let ack = additional::encode([
            ("pspReference", t.psp.as_str()),
            ("refundStatus", "received"),
        ]);
        let body = ResponseBody::Reversal(ReversalResponse {
            response: Outcome::success(Some(ack)),
            poi_data: Some(PoiData {
                poi_transaction_id: t.poi_tx.clone(),
            }),
            reversed_amount: Some(Amount::from_money(amount)),
        });
        Ok(Reply::Now(Box::new(Response {
            header: t.header.response(),
            body,
        })))
    }

    /// What is left of a payment to give back: what it charged, less its
    /// reversals approved or still running.
    fn left_to_reverse(&self, payment: &Txn) -> Money {
        let given: i64 = self
            .txns
            .values()
            .filter(|t| matches!(&t.kind, Kind::Reversal { original, .. } if *original == payment.header.service_id))
            .filter(|t| matches!(t.state, State::Approved | State::Running))
            .map(|t| t.amount().minor())
            .sum();
        let charged = payment.charged();
        Money::new((charged.minor() - given).max(0), charged.currency()).unwrap_or(charged)
    }
}

/// A PSP reference: 16 characters, unique per terminal.
fn psp_for(seq: u64) -> String {
    format!("TL{:014}", seq)
}

mod decide;
mod status;
pub use status::Delivery;
