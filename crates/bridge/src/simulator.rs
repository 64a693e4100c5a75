//! The simulated card terminal: deterministic, restart-safe, and able to
//! play every failure the register must survive.
//!
//! Like the simulated readers of payment vendors, it decides by the amount:
//! the last two digits of the minor units choose what happens, so a person
//! can demo each case by hand with the right price.
//!
//! | ends in | what the terminal does |
//! |---|---|
//! | 00–49 (and any ending not below) | approves after the configured delay (3 s) |
//! | 51 | declines: "insufficient funds" |
//! | 52 | approves, but the result is hidden from the bridge for 120 s |
//! | 53 | approves; the bridge never learns (processing, then unknown after the terminal timeout: in doubt); the terminal reports it to the OMS after 60 s |
//! | 54 | never answers; the payment expires after the terminal timeout |
//! | 55 | approves after 40 s (after the cancel window) |
//!
//! A refund follows the same table by its own amount (a refund of an amount
//! ending in 51 is declined, and so on), goes back to its payment's card,
//! and is listed in `/_sim/charges` with `refund_of`, its payment.
//!
//! Tests override the next payment's behaviour through `/_sim/next`, reveal
//! hidden results, trigger reports and list every charge made, so that no
//! test depends on timing luck. The terminal keeps its memory in its own
//! SQLite file: a bridge restart loses no charge.

use crate::terminal::{Cancel, ChargeRequest, Poll, Terminal};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use till_core::api::{PaymentReport, ReportedStatus};
use till_core::money::Money;
use till_core::order::CardDetails;
use till_core::payment::PaymentRef;
use till_core::time::{Duration, Timestamp};

/// How long the default approval takes: long enough to see "Processing…"
/// and press Cancel, short enough for a demo.
pub const APPROVE_DELAY_DEFAULT: Duration = Duration::from_secs(3);
/// How long a terminal waits for a card before giving up (Adyen's terminal
/// API uses 120 s).
pub const TERMINAL_TIMEOUT_DEFAULT: Duration = Duration::from_secs(120);
/// The 52 case: how long the result stays hidden.
pub const HIDDEN_RESULT: Duration = Duration::from_secs(120);
/// The 53 case: when the terminal reports to the OMS by itself.
pub const DIRECT_REPORT_AFTER: Duration = Duration::from_secs(60);
/// The 55 case: an approval after the cancel window.
pub const SLOW_APPROVAL: Duration = Duration::from_secs(40);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    Decline,
    NoAnswer,
}

/// What the terminal will do with one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    pub outcome: Outcome,
    /// From the start to the capture (or decline).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub decline_reason: Option<String>,
    /// The result is hidden from the bridge until revealed, or until
    /// `hide_result_ms` after the capture when given.
    #[serde(default)]
    pub hide_result: bool,
    #[serde(default)]
    pub hide_result_ms: Option<u64>,
    /// The bridge never learns the result (unless revealed): it sees the
    /// payment processing until the terminal timeout, then unknown.
    #[serde(default)]
    pub bridge_never_learns: bool,
    /// The terminal reports an approval to the OMS by itself this long
    /// after the capture.
    #[serde(default)]
    pub report_to_oms_after_ms: Option<u64>,
}

impl Behaviour {
    fn approve() -> Behaviour {
        Behaviour {
            outcome: Outcome::Approve,
            delay_ms: None,
            decline_reason: None,
            hide_result: false,
            hide_result_ms: None,
            bridge_never_learns: false,
            report_to_oms_after_ms: None,
        }
    }

    /// The table of the module docs.
    pub fn for_amount(amount: Money) -> Behaviour {
        match amount.minor().rem_euclid(100) {
            51 => Behaviour {
                outcome: Outcome::Decline,
                decline_reason: Some("insufficient funds".into()),
                ..Behaviour::approve()
            },
            52 => Behaviour {
                hide_result: true,
                hide_result_ms: Some(HIDDEN_RESULT.as_millis()),
                ..Behaviour::approve()
            },
            53 => Behaviour {
                bridge_never_learns: true,
                report_to_oms_after_ms: Some(DIRECT_REPORT_AFTER.as_millis()),
                ..Behaviour::approve()
            },
            54 => Behaviour {
                outcome: Outcome::NoAnswer,
                ..Behaviour::approve()
            },
            55 => Behaviour {
                delay_ms: Some(SLOW_APPROVAL.as_millis()),
                ..Behaviour::approve()
            },
            _ => Behaviour::approve(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    pub approve_delay: Duration,
    pub terminal_timeout: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            approve_delay: APPROVE_DELAY_DEFAULT,
            terminal_timeout: TERMINAL_TIMEOUT_DEFAULT,
        }
    }
}

/// One charge the terminal made: what `/_sim/charges` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub reference: PaymentRef,
    /// The order the payment was started for (absent in charges recorded
    /// before the bridge kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<till_core::order::OrderId>,
    #[serde(flatten)]
    pub amount: Money,
    pub charged_at: Timestamp,
    /// A refund: the payment whose card the money went back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_of: Option<PaymentRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SimPayment {
    charge: ChargeSnapshot,
    behaviour: Behaviour,
    begun_at: Timestamp,
    cancelled: bool,
    revealed: bool,
    reported: bool,
    charged: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChargeSnapshot {
    reference: PaymentRef,
    order_id: till_core::order::OrderId,
    amount: Money,
    #[serde(default)]
    refund_of: Option<PaymentRef>,
}

struct State {
    conn: Connection,
    payments: BTreeMap<PaymentRef, SimPayment>,
    next: Option<Behaviour>,
}

pub struct Simulator {
    config: SimConfig,
    state: Mutex<State>,
}

/// Card details the simulator makes up, deterministic per reference.
fn card_for(reference: &PaymentRef) -> CardDetails {
    let bytes = reference.as_uuid().as_u128().to_be_bytes();
    let brand = ["VISA", "MASTERCARD", "AMEX", "MAESTRO"][usize::from(bytes[15] % 4)];
    let last4 = format!("{:04}", u16::from_be_bytes([bytes[14], bytes[13]]) % 10_000);
    let auth_code = format!(
        "{:06X}",
        u32::from_be_bytes([0, bytes[12], bytes[11], bytes[10]])
    );
    CardDetails {
        brand: brand.into(),
        last4,
        auth_code,
    }
}

impl Simulator {
    /// Opens the terminal's memory (its own SQLite file).
    pub fn open(path: &Path, config: SimConfig) -> Result<Simulator, String> {
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::setup(conn, config)
    }

    pub fn in_memory(config: SimConfig) -> Result<Simulator, String> {
        Self::setup(
            Connection::open_in_memory().map_err(|e| e.to_string())?,
            config,
        )
    }

    fn setup(conn: Connection, config: SimConfig) -> Result<Simulator, String> {
        let e = |e: rusqlite::Error| format!("simulator storage: {e}");
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sim_payments (reference TEXT PRIMARY KEY, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS charges (seq INTEGER PRIMARY KEY AUTOINCREMENT, reference TEXT NOT NULL,
                 body TEXT NOT NULL);",
        )
        .map_err(e)?;
        let mut payments = BTreeMap::new();
        {
            let mut stmt = conn.prepare("SELECT body FROM sim_payments").map_err(e)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(e)?;
            for body in rows {
                let p: SimPayment = serde_json::from_str(&body.map_err(e)?)
                    .map_err(|x| format!("simulator storage: {x}"))?;
                payments.insert(p.charge.reference, p);
            }
        }
        Ok(Simulator {
            config,
            state: Mutex::new(State {
                conn,
                payments,
                next: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The behaviour of the next payment started (once).
    pub fn set_next(&self, behaviour: Behaviour) {
        self.lock().next = Some(behaviour);
    }

    /// Forgets a next behaviour no payment has taken yet.
    pub fn clear_next(&self) {
        self.lock().next = None;
    }

    /// Makes a hidden (or never-learned) result visible to the bridge.
    pub fn reveal(&self, reference: &PaymentRef) -> bool {
        let mut s = self.lock();
        let Some(mut p) = s.payments.get(reference).cloned() else {
            return false;
        };
        p.revealed = true;
        s.save(&p);
        true
    }

    /// Sends an approval to the OMS now (through the bridge's reporter).
    /// `None` unless the terminal has captured an approval for it.
    pub fn report_now(&self, reference: &PaymentRef, now: Timestamp) -> Option<PaymentReport> {
        let mut s = self.lock();
        let mut p = s.payments.get(reference).cloned()?;
        self.advance(&mut s, &mut p, now);
        if !p.charged {
            return None;
        }
        p.reported = true;
        s.save(&p);
        Some(report_of(&p))
    }

    /// Every charge made, oldest first.
    pub fn charges(&self) -> Vec<Charge> {
        let s = self.lock();
        let mut stmt = match s.conn.prepare("SELECT body FROM charges ORDER BY seq") {
            Ok(stmt) => stmt,
            Err(e) => {
                tracing::error!("simulator charges: {e}");
                return Vec::new();
            }
        };
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map(|rows| {
                rows.filter_map(Result::ok)
                    .filter_map(|b| serde_json::from_str(&b).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn capture_at(&self, p: &SimPayment) -> Timestamp {
        p.begun_at
            + p.behaviour
                .delay_ms
                .map(Duration::from_millis)
                .unwrap_or(self.config.approve_delay)
    }

    /// Captures the charge when its time has come (once).
    fn advance(&self, s: &mut State, p: &mut SimPayment, now: Timestamp) {
        if p.behaviour.outcome == Outcome::Approve
            && !p.cancelled
            && !p.charged
            && now >= self.capture_at(p)
        {
            p.charged = true;
            let charge = Charge {
                reference: p.charge.reference,
                order_id: Some(p.charge.order_id),
                amount: p.charge.amount,
                charged_at: self.capture_at(p),
                refund_of: p.charge.refund_of,
            };
            let body = serde_json::to_string(&charge).expect("a charge serializes");
            if let Err(e) = s.conn.execute(
                "INSERT INTO charges (reference, body) VALUES (?1, ?2)",
                params![charge.reference.to_string(), body],
            ) {
                tracing::error!("simulator: could not record a charge: {e}");
            }
            s.save(p);
        }
    }
}

impl State {
    fn save(&mut self, p: &SimPayment) {
        let body = serde_json::to_string(p).expect("a payment serializes");
        if let Err(e) = self.conn.execute(
            "INSERT INTO sim_payments (reference, body) VALUES (?1, ?2) ON CONFLICT (reference) DO UPDATE SET body = excluded.body",
            params![p.charge.reference.to_string(), body],
        ) {
            tracing::error!("simulator: could not save a payment: {e}");
        }
        self.payments.insert(p.charge.reference, p.clone());
    }
}

fn report_of(p: &SimPayment) -> PaymentReport {
    PaymentReport {
        reference: p.charge.reference,
        order_id: p.charge.order_id,
        amount: p.charge.amount,
        status: match p.charge.refund_of {
            Some(_) => ReportedStatus::Refunded,
            None => ReportedStatus::Approved,
        },
        card: card_of(&p.charge),
        approved_at: p.begun_at,
        original: p.charge.refund_of,
    }
}

/// The card of an operation: a refund goes back to its payment's card
/// (brand and last four digits), with an authorisation code of its own.
fn card_of(charge: &ChargeSnapshot) -> CardDetails {
    let own = card_for(&charge.reference);
    match &charge.refund_of {
        Some(original) => CardDetails {
            auth_code: own.auth_code,
            ..card_for(original)
        },
        None => own,
    }
}

impl Terminal for Simulator {
    fn begin(&self, charge: &ChargeRequest, now: Timestamp) -> Result<(), String> {
        let mut s = self.lock();
        if s.payments.contains_key(&charge.reference) {
            return Ok(()); // The terminal never charges a reference twice.
        }
        let behaviour = s
            .next
            .take()
            .unwrap_or_else(|| Behaviour::for_amount(charge.amount));
        let p = SimPayment {
            charge: ChargeSnapshot {
                reference: charge.reference,
                order_id: charge.order_id,
                amount: charge.amount,
                refund_of: charge.refund_of,
            },
            behaviour,
            begun_at: now,
            cancelled: false,
            revealed: false,
            reported: false,
            charged: false,
        };
        s.save(&p);
        Ok(())
    }

    fn poll(&self, reference: &PaymentRef, now: Timestamp) -> Poll {
        let mut s = self.lock();
        let Some(mut p) = s.payments.get(reference).cloned() else {
            return Poll::TimedOut;
        };
        self.advance(&mut s, &mut p, now);
        let captured = now >= self.capture_at(&p);
        let timed_out = now >= p.begun_at + self.config.terminal_timeout;
        match p.behaviour.outcome {
            _ if p.cancelled => Poll::Declined("cancelled".into()),
            Outcome::NoAnswer => {
                if timed_out {
                    Poll::TimedOut
                } else {
                    Poll::Pending
                }
            }
            Outcome::Decline if captured => Poll::Declined(
                p.behaviour
                    .decline_reason
                    .clone()
                    .unwrap_or_else(|| "declined".into()),
            ),
            Outcome::Decline => Poll::Pending,
            Outcome::Approve if !captured => Poll::Pending,
            Outcome::Approve if p.revealed => Poll::Approved(card_of(&p.charge)),
            Outcome::Approve if p.behaviour.bridge_never_learns => {
                if timed_out {
                    Poll::TimedOut
                } else {
                    Poll::Pending
                }
            }
            Outcome::Approve if p.behaviour.hide_result => {
                let hidden_until = p
                    .behaviour
                    .hide_result_ms
                    .map(|ms| self.capture_at(&p) + Duration::from_millis(ms));
                if hidden_until.is_some_and(|t| now >= t) {
                    Poll::Approved(card_of(&p.charge))
                } else {
                    Poll::Pending
                }
            }
            Outcome::Approve => Poll::Approved(card_of(&p.charge)),
        }
    }

    fn cancel(&self, reference: &PaymentRef, now: Timestamp) -> Cancel {
        let mut s = self.lock();
        let Some(mut p) = s.payments.get(reference).cloned() else {
            return Cancel::TooLate;
        };
        self.advance(&mut s, &mut p, now);
        if p.cancelled {
            return Cancel::Cancelled;
        }
        // A silent terminal cannot confirm an abort; a captured charge stands.
        if p.behaviour.outcome == Outcome::NoAnswer || now >= self.capture_at(&p) {
            return Cancel::TooLate;
        }
        p.cancelled = true;
        s.save(&p);
        Cancel::Cancelled
    }

    fn direct_reports(&self, now: Timestamp) -> Vec<PaymentReport> {
        let mut s = self.lock();
        let due: Vec<SimPayment> = s
            .payments
            .values()
            .filter(|p| p.behaviour.outcome == Outcome::Approve && !p.reported && !p.cancelled)
            .filter(|p| {
                p.behaviour
                    .report_to_oms_after_ms
                    .is_some_and(|ms| now >= self.capture_at(p) + Duration::from_millis(ms))
            })
            .cloned()
            .collect();
        let mut out = Vec::new();
        for mut p in due {
            self.advance(&mut s, &mut p, now);
            if p.charged {
                p.reported = true;
                s.save(&p);
                out.push(report_of(&p));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_core::money::Currency;
    use uuid::Uuid;

    const T0: Timestamp = Timestamp::from_millis(1_000_000);

    fn charge(n: u128, minor: i64) -> ChargeRequest {
        ChargeRequest {
            reference: PaymentRef::from_uuid(Uuid::from_u128(n)),
            order_id: till_core::order::OrderId::from_uuid(Uuid::from_u128(
                0x0191d5a8_7c3e_7000_8000_000000000000 | n,
            ))
            .unwrap(),
            amount: Money::new(minor, Currency::EUR).unwrap(),
            refund_of: None,
        }
    }

    fn sim() -> Simulator {
        Simulator::in_memory(SimConfig::default()).unwrap()
    }

    fn at(s: u64) -> Timestamp {
        T0 + Duration::from_secs(s)
    }

    #[test]
    fn approves_after_the_delay_and_charges_once() {
        let sim = sim();
        let c = charge(1, 1000);
        sim.begin(&c, T0).unwrap();
        sim.begin(&c, T0).unwrap();
        assert_eq!(sim.poll(&c.reference, at(2)), Poll::Pending);
        assert!(matches!(sim.poll(&c.reference, at(3)), Poll::Approved(_)));
        assert!(matches!(sim.poll(&c.reference, at(4)), Poll::Approved(_)));
        assert_eq!(sim.charges().len(), 1);
    }

    #[test]
    fn declines_51() {
        let sim = sim();
        let c = charge(2, 1051);
        sim.begin(&c, T0).unwrap();
        assert_eq!(
            sim.poll(&c.reference, at(3)),
            Poll::Declined("insufficient funds".into())
        );
        assert!(sim.charges().is_empty());
    }

    #[test]
    fn hides_52_for_120_s_unless_revealed() {
        let sim = sim();
        let c = charge(3, 1052);
        sim.begin(&c, T0).unwrap();
        assert_eq!(sim.poll(&c.reference, at(100)), Poll::Pending);
        assert_eq!(sim.charges().len(), 1, "charged at capture, hidden or not");
        assert!(matches!(sim.poll(&c.reference, at(123)), Poll::Approved(_)));
        let c2 = charge(4, 2052);
        sim.begin(&c2, T0).unwrap();
        assert!(sim.reveal(&c2.reference));
        assert!(matches!(sim.poll(&c2.reference, at(5)), Poll::Approved(_)));
    }

    #[test]
    fn never_tells_the_bridge_about_53_but_reports_it_to_the_oms() {
        let sim = sim();
        let c = charge(5, 1053);
        sim.begin(&c, T0).unwrap();
        assert_eq!(sim.poll(&c.reference, at(60)), Poll::Pending);
        assert!(sim.direct_reports(at(62)).is_empty());
        let reports = sim.direct_reports(at(63));
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].reference, c.reference);
        assert!(sim.direct_reports(at(64)).is_empty(), "reported once");
        assert_eq!(sim.poll(&c.reference, at(120)), Poll::TimedOut);
    }

    #[test]
    fn never_answers_54() {
        let sim = sim();
        let c = charge(6, 1054);
        sim.begin(&c, T0).unwrap();
        assert_eq!(sim.poll(&c.reference, at(119)), Poll::Pending);
        assert_eq!(sim.cancel(&c.reference, at(5)), Cancel::TooLate);
        assert_eq!(sim.poll(&c.reference, at(120)), Poll::TimedOut);
        assert!(sim.charges().is_empty());
    }

    #[test]
    fn approves_55_after_40_s_and_cancel_works_only_before_capture() {
        let sim = sim();
        let c = charge(7, 1055);
        sim.begin(&c, T0).unwrap();
        assert_eq!(sim.poll(&c.reference, at(39)), Poll::Pending);
        assert!(matches!(sim.poll(&c.reference, at(40)), Poll::Approved(_)));
        assert_eq!(sim.cancel(&c.reference, at(41)), Cancel::TooLate);

        let c2 = charge(8, 2055);
        sim.begin(&c2, T0).unwrap();
        assert_eq!(sim.cancel(&c2.reference, at(10)), Cancel::Cancelled);
        assert_eq!(
            sim.poll(&c2.reference, at(50)),
            Poll::Declined("cancelled".into())
        );
        assert_eq!(
            sim.charges().len(),
            1,
            "the cancelled one was never charged"
        );
    }

    #[test]
    fn the_next_behaviour_overrides_the_amount_once() {
        let sim = sim();
        sim.set_next(Behaviour {
            outcome: Outcome::Decline,
            delay_ms: Some(0),
            ..Behaviour::approve()
        });
        let c = charge(9, 1000);
        sim.begin(&c, T0).unwrap();
        assert!(matches!(sim.poll(&c.reference, T0), Poll::Declined(_)));
        let c2 = charge(10, 1000);
        sim.begin(&c2, T0).unwrap();
        assert!(matches!(sim.poll(&c2.reference, at(3)), Poll::Approved(_)));
    }

    #[test]
    fn remembers_across_restarts() {
        let dir = std::env::temp_dir().join(format!(
            "till-sim-{}-{}",
            std::process::id(),
            T0.as_millis()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sim.sqlite3");
        let c = charge(11, 1052);
        {
            let sim = Simulator::open(&path, SimConfig::default()).unwrap();
            sim.begin(&c, T0).unwrap();
            assert_eq!(sim.poll(&c.reference, at(10)), Poll::Pending);
        }
        let sim = Simulator::open(&path, SimConfig::default()).unwrap();
        sim.begin(&c, at(20)).unwrap();
        assert_eq!(sim.charges().len(), 1, "no second charge after a restart");
        assert!(sim.reveal(&c.reference));
        assert!(matches!(sim.poll(&c.reference, at(21)), Poll::Approved(_)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn card_details_are_never_a_full_number() {
        for n in 0..100u128 {
            let c = card_for(&PaymentRef::from_uuid(Uuid::from_u128(n * 7919)));
            c.validate().unwrap();
        }
    }
}
