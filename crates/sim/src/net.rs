//! The two servers as the register reaches them: the bridge (its journal
//! and its nexo driver, the real ones) with the terminal behind it (the
//! real `till-terminal` device and codec), and the back office's store.
//! Each call is answered the way the HTTP layer and the browser's clients
//! answer it (`crates/bridge/src/api.rs`, `src/net/`): a status code
//! becomes the same [`Reply`] or [`NetFailure`] here as there. A batch is
//! answered by the back office's own [`till_oms::batch::answer`]. The wire
//! between the bridge and the terminal is [`crate::wire`].

use std::collections::BTreeMap;
use till_bridge::driver::DriverConfig;
use till_bridge::journal::{Delivery, Journal, Outgoing};
use till_core::api::BatchResult;
use till_core::order::{Order, OrderId, RegisterId};
use till_core::payment::{BridgeStatus, PaymentRef, Reply, Request};
use till_core::refund::Refund;
use till_core::register::{BridgeCall, CatalogFailure, Input, OmsCall, OmsReply};
use till_core::shift::Shift;
use till_core::sync::NetFailure;
use till_core::time::{Duration, Timestamp};
use till_nexo::notification::WebhookKey;
use till_nexo::{Codec, Key, ServiceId};
use till_oms::batch::Batch;
use till_oms::store::{PaymentWrite, SqliteStore, Store};
use till_oms::stores::Stores;
use till_terminal::device::{Device, DeviceConfig};

/// The terminal's POIID in the simulated store.
pub const POIID: &str = "V400m-000000001";
/// How long the simulated terminal waits for a card (Adyen's terminals: 120 s).
pub const TERMINAL_TIMEOUT: Duration = Duration::from_secs(120);

/// The shared key: derived once (PBKDF2 is slow on purpose).
fn shared_key() -> Key {
    static KEY: std::sync::OnceLock<Key> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Key::derive("Till-Sim-Key", "TillSimKey", 1))
        .clone()
}

/// A register request waiting on the terminal before it is answered (a
/// Re-sync asks the terminal first; a cancel waits for the Abort).
#[derive(Debug, Clone)]
pub struct Waiting {
    pub id: u64,
    pub epoch: u64,
    pub reference: PaymentRef,
    pub to: Request,
    pub lose_reply: bool,
    /// When the request came: a status answers once the terminal answered
    /// a question asked since.
    pub since: Timestamp,
}

/// The bridge and its terminal.
pub struct BridgeSide {
    pub journal: Journal,
    pub device: Device,
    /// The shared key, on both ends of the wire.
    pub codec: Codec,
    /// The key the terminal's vendor signs notifications with.
    pub webhook: WebhookKey,
    /// Which order each reference was started for.
    pub orders: BTreeMap<PaymentRef, OrderId>,
    /// The bridge's process: a restart begins another life, and answers
    /// meant for the old one go nowhere.
    pub life: u64,
    /// Payment calls the terminal holds, by ServiceID: the bridge's life
    /// that sent them, and the call.
    pub held: BTreeMap<ServiceId, (u64, Outgoing)>,
    pub waiting: Vec<Waiting>,
    pub next_waiting: u64,
    /// Timers re-armed after each change (the newest wins).
    pub terminal_timer: u64,
    pub bridge_timer: u64,
    /// Reports of one operation that the back office found to disagree
    /// (the bridge's and the terminal vendor's): each should never be.
    pub report_conflicts: Vec<String>,
}

impl BridgeSide {
    pub fn new() -> BridgeSide {
        let config = DriverConfig {
            poi_id: POIID.into(),
            sale_id: "TillSim".into(),
            terminal_timeout: TERMINAL_TIMEOUT,
        };
        let device = DeviceConfig {
            approve_delay: Duration::from_secs(3),
            terminal_timeout: TERMINAL_TIMEOUT,
            ..DeviceConfig::new(POIID)
        };
        BridgeSide {
            journal: Journal::in_memory(config).expect("an in-memory journal"),
            device: Device::in_memory(device).expect("an in-memory terminal"),
            codec: Codec::new(shared_key()),
            webhook: WebhookKey::from_hex(&"5a".repeat(32)).expect("a webhook key"),
            orders: BTreeMap::new(),
            life: 0,
            held: BTreeMap::new(),
            waiting: Vec::new(),
            next_waiting: 0,
            terminal_timer: 0,
            bridge_timer: 0,
            report_conflicts: Vec::new(),
        }
    }

    /// What the register hears when the call never reaches the bridge, or
    /// its answer never comes back.
    pub fn unanswered(call: &BridgeCall) -> Input {
        let (reference, to) = match call {
            BridgeCall::Health => {
                return Input::BridgeHealth {
                    link: till_core::lan::BridgeLink::NoAnswer { https: false },
                }
            }
            BridgeCall::Probe { reference } => (*reference, Request::Probe),
            BridgeCall::Start(s) => (s.reference, Request::Start),
            BridgeCall::StartRefund(s) => (s.reference, Request::Start),
            BridgeCall::Status { reference, to } => (*reference, *to),
            BridgeCall::Cancel { reference } => (*reference, Request::Cancel),
        };
        Input::Bridge {
            reference,
            to,
            reply: Reply::Unreachable,
        }
    }

    /// The bridge's reporter: the reports due sent to the back office
    /// (`None`: it is down).
    pub fn report_round(&mut self, oms: Option<&OmsSide>, now: Timestamp, jitter: u16) {
        let Ok(due) = self.journal.due_reports(now) else {
            return;
        };
        for report in due {
            let outcome = match oms {
                None => Delivery::Retry("the back office cannot be reached".into()),
                Some(oms) => match oms.store.record_payment(&report, now) {
                    Ok(PaymentWrite::Created | PaymentWrite::Unchanged) => Delivery::Delivered,
                    Ok(PaymentWrite::Conflict(stored)) => {
                        self.report_conflicts.push(format!(
                            "the bridge reported {report:?}; the back office holds {stored:?}"
                        ));
                        Delivery::Parked("conflict".into())
                    }
                    Err(e) => Delivery::Retry(e.to_string()),
                },
            };
            let _ = self
                .journal
                .delivered(&report.reference, outcome, now, jitter);
        }
    }

    /// Where the payment stands now, in the journal.
    pub fn standing(&self, reference: &PaymentRef, now: Timestamp) -> Option<BridgeStatus> {
        self.journal
            .status(reference, now, false)
            .ok()
            .map(|(s, _)| s.status)
    }

    /// What the register hears now to `to`, answered as the bridge's
    /// handler answers ([`till_bridge::api`]) and read as the browser
    /// reads it ([`till_core::edge`]).
    pub fn status_reply(&self, reference: &PaymentRef, to: Request, now: Timestamp) -> Reply {
        let status = self.journal.status(reference, now, false).map(|(s, _)| s);
        let answer = match to {
            Request::Cancel => till_bridge::api::cancel_answer(
                status.map(|s| (s.status == BridgeStatus::Cancelled, s)),
            ),
            _ => till_bridge::api::status_answer(status),
        };
        read(&answer, to, reference)
    }
}

/// The register's reading of the bridge's answer to `to`.
pub fn read(answer: &till_bridge::api::Answer, to: Request, reference: &PaymentRef) -> Reply {
    let (status, body) = (answer.status.as_u16(), answer.text());
    match to {
        Request::Probe => till_core::edge::probe_reply(status, &body),
        Request::Start => till_core::edge::start_reply(status, &body, reference),
        Request::Cancel => till_core::edge::cancel_reply(status, &body, reference),
        _ => till_core::edge::status_reply(status, &body, reference),
    }
}

impl Default for BridgeSide {
    fn default() -> Self {
        BridgeSide::new()
    }
}

/// The back office.
pub struct OmsSide {
    pub store: SqliteStore,
    pub register: RegisterId,
}

impl OmsSide {
    pub fn new(register: RegisterId) -> OmsSide {
        let store = SqliteStore::in_memory().expect("an in-memory back office");
        // The catalog the cashier rings up from: a return without a
        // receipt is judged against it.
        let catalog = till_oms::store::CatalogData::from(&till_core::catalog::fixtures::small());
        store
            .replace_catalog(&catalog)
            .expect("the store's catalog");
        for member in till_core::testing::staff() {
            store
                .add_staff(&member, &[], Timestamp::from_millis(0))
                .expect("the store's staff");
        }
        OmsSide { store, register }
    }

    /// Carries out one call at `now`, as the API handlers do.
    pub fn call(&self, call: &OmsCall, now: Timestamp) -> OmsReply {
        match call {
            OmsCall::Health => OmsReply::Health { reachable: true },
            OmsCall::SendBatch {
                batch,
                orders,
                refunds,
                shifts,
            } => OmsReply::Batch {
                batch: *batch,
                result: self.batch(orders, refunds, shifts, now),
            },
            OmsCall::Lookup { order_id } => OmsReply::Lookup {
                order_id: *order_id,
                result: match self.store.order(order_id) {
                    Ok(l) if l.order.is_none() && l.payments.is_empty() => Ok(None),
                    Ok(l) => Ok(Some(Box::new(l))),
                    Err(e) => Err(NetFailure::Refused {
                        status: 500,
                        message: e.to_string(),
                    }),
                },
            },
            OmsCall::Day { date } => OmsReply::Day {
                date: *date,
                result: self
                    .store
                    .orders_of_day(
                        std::slice::from_ref(&self.register),
                        *date,
                        None,
                        usize::MAX,
                    )
                    .map(|list| list.into_iter().map(|s| s.order.number).collect())
                    .map_err(|e| NetFailure::Refused {
                        status: 500,
                        message: e.to_string(),
                    }),
            },
            OmsCall::Staff => OmsReply::Staff {
                result: till_oms::api::active_staff(&self.store, None).map_err(|e| {
                    NetFailure::Refused {
                        status: 500,
                        message: e.to_string(),
                    }
                }),
            },
            // The simulated store's catalog does not change during a run:
            // the register's copy is the one in use, as a `304` says.
            OmsCall::Catalog => OmsReply::Catalog { result: Ok(None) },
        }
    }

    /// `POST /orders:batch`, answered by the back office's own function.
    fn batch(
        &self,
        orders: &[Order],
        refunds: &[Refund],
        shifts: &[Shift],
        now: Timestamp,
    ) -> Result<Vec<BatchResult>, NetFailure> {
        let writer = till_oms::auth::Writer {
            register: self.register.clone(),
            token: "sim".into(),
        };
        let batch = Batch {
            orders: orders.iter().cloned().map(Ok).collect(),
            refunds: refunds.iter().cloned().map(Ok).collect(),
            shifts: shifts.iter().cloned().map(Ok).collect(),
            journal: Vec::new(),
        };
        till_oms::batch::answer(&self.store, &Stores::default(), &writer, batch, now).map_err(|e| {
            NetFailure::Refused {
                status: e.status.as_u16(),
                message: e.body.message,
            }
        })
    }

    /// The terminal vendor's notification, as `POST
    /// /notifications/terminal` takes it: refused unless signed with the
    /// key; an approval becomes a payment report.
    /// The vendor's notification, as the back office files it: `Some`
    /// when it disagrees with a report of the same operation it holds.
    pub fn notify(
        &self,
        item: &till_nexo::notification::NotificationItem,
        key: &WebhookKey,
        now: Timestamp,
    ) -> Result<Option<String>, String> {
        key.verify(item)
            .map_err(|e| format!("the notification's signature: {e}"))?;
        let Some(report) = item
            .report()
            .map_err(|e| format!("the notification: {e}"))?
        else {
            return Ok(None);
        };
        match self
            .store
            .record_payment(&report, now)
            .map_err(|e| format!("filing the notification: {e}"))?
        {
            PaymentWrite::Conflict(stored) => Ok(Some(format!(
                "the terminal's vendor notified {report:?}; the back office holds {stored:?}"
            ))),
            PaymentWrite::Created | PaymentWrite::Unchanged => Ok(None),
        }
    }

    /// What the register hears when the back office answers 503.
    pub fn unavailable(call: &OmsCall) -> OmsReply {
        let failure = NetFailure::Refused {
            status: 503,
            message: "unavailable".into(),
        };
        Self::failed(call, failure)
    }

    /// What the register hears when the call gets no answer.
    pub fn unanswered(call: &OmsCall) -> OmsReply {
        Self::failed(call, NetFailure::Unreachable)
    }

    fn failed(call: &OmsCall, failure: NetFailure) -> OmsReply {
        match call {
            OmsCall::Health => OmsReply::Health { reachable: false },
            OmsCall::SendBatch { batch, .. } => OmsReply::Batch {
                batch: *batch,
                result: Err(failure),
            },
            OmsCall::Lookup { order_id } => OmsReply::Lookup {
                order_id: *order_id,
                result: Err(failure),
            },
            OmsCall::Day { date } => OmsReply::Day {
                date: *date,
                result: Err(failure),
            },
            OmsCall::Staff => OmsReply::Staff {
                result: Err(failure),
            },
            OmsCall::Catalog => OmsReply::Catalog {
                result: Err(CatalogFailure::Net(failure)),
            },
        }
    }
}
