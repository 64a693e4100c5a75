//! The two servers as the register reaches them: the bridge's journal with
//! its simulated terminal, and the back office's store. Each call is
//! answered the way the HTTP layer and the browser's clients answer it
//! (`crates/bridge/src/api.rs`, `src/net/`): a status code becomes the same
//! [`Reply`] or [`NetFailure`] here as there.

use std::collections::BTreeMap;
use std::sync::Arc;
use till_bridge::journal::{Bridge, BridgeError, Delivery, Start};
use till_bridge::simulator::{Behaviour, SimConfig, Simulator};
use till_core::api::{ApiError, BatchResult, ORDER_NOT_SYNCED_CODE};
use till_core::drawer::Shift;
use till_core::order::{Order, OrderId, RegisterId};
use till_core::payment::{BridgeStatus, PaymentRef, Reply, Request};
use till_core::refund::Refund;
use till_core::register::{BridgeCall, Input, OmsCall, OmsReply};
use till_core::sync::NetFailure;
use till_core::time::{Duration, Timestamp};
use till_oms::store::{PaymentWrite, RefundOutcome, SqliteStore, Store, Upsert};

/// The bridge and its terminal.
pub struct BridgeSide {
    pub journal: Bridge,
    pub terminal: Arc<Simulator>,
    /// Which order each reference was started for (the terminal's charges
    /// list only names the reference).
    pub orders: BTreeMap<PaymentRef, OrderId>,
}

impl BridgeSide {
    pub fn new() -> BridgeSide {
        let config = SimConfig {
            approve_delay: Duration::from_secs(3),
            terminal_timeout: Duration::from_secs(120),
        };
        let terminal = Arc::new(Simulator::in_memory(config).expect("an in-memory terminal"));
        let journal = Bridge::in_memory(terminal.clone()).expect("an in-memory journal");
        BridgeSide {
            journal,
            terminal,
            orders: BTreeMap::new(),
        }
    }

    /// Carries out one call at `now`; `behaviour` is what the terminal will
    /// do with a payment this call starts.
    pub fn call(&mut self, call: &BridgeCall, behaviour: Behaviour, now: Timestamp) -> Input {
        match call {
            BridgeCall::Health => Input::BridgeHealth {
                link: till_core::lan::BridgeLink::Connected,
            },
            BridgeCall::Probe { reference } => Input::Bridge {
                reference: *reference,
                to: Request::Probe,
                reply: Reply::Accepted,
            },
            BridgeCall::Start(start) => self.start(start.into(), behaviour, now),
            BridgeCall::StartRefund(start) => self.start(start.into(), behaviour, now),
            BridgeCall::Status { reference, to } => Input::Bridge {
                reference: *reference,
                to: *to,
                reply: status_reply(self.journal.status(reference, now)),
            },
            BridgeCall::Cancel { reference } => {
                let reply = match self.journal.cancel(reference, now) {
                    Ok(s) | Err(BridgeError::TooLate(s)) => Reply::Status(s.status),
                    Err(_) => Reply::Unreachable,
                };
                Input::Bridge {
                    reference: *reference,
                    to: Request::Cancel,
                    reply,
                }
            }
        }
    }

    /// A payment's or a refund's start.
    fn start(&mut self, start: Start, behaviour: Behaviour, now: Timestamp) -> Input {
        self.terminal.set_next(behaviour);
        self.orders.insert(start.reference, start.order_id);
        let reply = match self.journal.start(&start, now) {
            Ok(_) => Reply::Accepted,
            // 409 with a status body: "never received", for good.
            Err(BridgeError::Tombstoned(s)) => Reply::Status(s.status),
            // Another payment of the order is on the terminal:
            // refused before anything was journaled.
            Err(BridgeError::LivePayment(live)) => Reply::Refused {
                reason: format!("payment {live} is in progress"),
            },
            // A refund the bridge will not send (409 refund_refused).
            Err(BridgeError::RefundRefused(why)) => Reply::Refused { reason: why },
            // A conflict (ApiError 409), a 502, a 500: no answer the
            // register can trust.
            Err(_) => Reply::Unreachable,
        };
        Input::Bridge {
            reference: start.reference,
            to: Request::Start,
            reply,
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

    /// One round of the bridge's reporter: payments brought up to date, and
    /// the reports due sent to the back office (`None`: it is down).
    pub fn report_round(&mut self, oms: Option<&OmsSide>, now: Timestamp, jitter: u16) {
        if self.journal.tick(now).is_err() {
            return;
        }
        let Ok(due) = self.journal.due_reports(now) else {
            return;
        };
        for report in due {
            let outcome = match oms {
                None => Delivery::Retry("the back office cannot be reached".into()),
                Some(oms) => match oms.store.record_payment(&report, now) {
                    Ok(PaymentWrite::Created | PaymentWrite::Unchanged) => Delivery::Delivered,
                    Ok(PaymentWrite::Conflict(_)) => Delivery::Parked("conflict".into()),
                    Err(e) => Delivery::Retry(e.to_string()),
                },
            };
            let _ = self
                .journal
                .delivered(&report.reference, outcome, now, jitter);
        }
    }
}

impl Default for BridgeSide {
    fn default() -> Self {
        BridgeSide::new()
    }
}

fn status_reply(r: Result<till_core::api::PaymentStatusResponse, BridgeError>) -> Reply {
    match r {
        Ok(s) => Reply::Status(s.status),
        Err(_) => Reply::Unreachable,
    }
}

/// The back office.
pub struct OmsSide {
    pub store: SqliteStore,
    pub register: RegisterId,
}

impl OmsSide {
    pub fn new(register: RegisterId) -> OmsSide {
        OmsSide {
            store: SqliteStore::in_memory().expect("an in-memory back office"),
            register,
        }
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
                result: Ok(self.batch(orders, refunds, shifts, now)),
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
        }
    }

    /// `POST /orders:batch`: each order judged alone, the good ones upserted
    /// in one transaction.
    fn batch(
        &self,
        orders: &[Order],
        refunds: &[Refund],
        shifts: &[Shift],
        now: Timestamp,
    ) -> Vec<BatchResult> {
        let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(orders.len());
        let mut good = Vec::new();
        let mut positions = Vec::new();
        for (i, o) in orders.iter().enumerate() {
            let refused = match o.validate() {
                Err(e) => Some((422, e.to_string())),
                Ok(()) if *o.register() != self.register => Some((403, "another register".into())),
                Ok(()) => None,
            };
            match refused {
                Some((status, message)) => results.push(Some(BatchResult {
                    id: Some(o.id.to_string()),
                    status,
                    version: None,
                    error: Some(ApiError::new("invalid_order", message)),
                })),
                None => {
                    results.push(None);
                    positions.push(i);
                    good.push(o.clone());
                }
            }
        }
        let writer = till_oms::auth::Writer {
            register: self.register.clone(),
            token: "sim".into(),
        };
        let stored = match self.store.upsert_orders(&good, &writer, now) {
            Ok(s) => s,
            Err(e) => panic!("the back office's store failed: {e}"),
        };
        for (pos, r) in positions.into_iter().zip(stored) {
            let (status, error) = upsert_status(r.outcome, "order");
            results[pos] = Some(BatchResult {
                id: Some(r.stored.order.id.to_string()),
                status,
                version: Some(r.stored.order.version),
                error,
            });
        }
        let mut results: Vec<BatchResult> = results
            .into_iter()
            .map(|r| r.expect("every position answered"))
            .collect();
        results.extend(refunds.iter().map(|r| self.refund(r, now)));
        results.extend(shifts.iter().map(|s| self.shift(s, now)));
        results
    }

    /// One shift of a batch, checked and stored as the back office does.
    fn shift(&self, shift: &Shift, now: Timestamp) -> BatchResult {
        let id = Some(shift.id.to_string());
        if let Err(e) = shift.validate() {
            let error = Some(ApiError::new("invalid_shift", e.to_string()));
            return BatchResult {
                id,
                status: 422,
                version: None,
                error,
            };
        }
        let result = match self.store.upsert_shift(shift, now) {
            Ok(r) => r,
            Err(e) => panic!("the back office's store failed: {e}"),
        };
        let (status, error) = upsert_status(result.outcome, "shift");
        BatchResult {
            id,
            status,
            version: result.stored.map(|s| s.version),
            error,
        }
    }

    /// One refund of a batch, as `PUT /refunds/{id}` stores it.
    fn refund(&self, refund: &Refund, now: Timestamp) -> BatchResult {
        let result = match self.store.upsert_refund(refund, now) {
            Ok(r) => r,
            Err(e) => panic!("the back office's store failed: {e}"),
        };
        let (status, error) = match result.outcome {
            RefundOutcome::Upsert(u) => upsert_status(u, "refund"),
            RefundOutcome::OrderUnknown => (
                409,
                Some(ApiError::new(
                    ORDER_NOT_SYNCED_CODE,
                    "the order has not reached the back office yet",
                )),
            ),
            RefundOutcome::Refused(e) => {
                let (status, code) = till_oms::api::refund_refusal_code(&e);
                (status.as_u16(), Some(ApiError::new(code, e.to_string())))
            }
        };
        BatchResult {
            id: Some(refund.id.to_string()),
            status,
            version: result.stored.map(|r| r.version),
            error,
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
        }
    }
}

/// The status and error an upsert of `what` is answered with, by the
/// orders' version rule.
fn upsert_status(outcome: Upsert, what: &str) -> (u16, Option<ApiError>) {
    match outcome {
        Upsert::Conflict => (
            409,
            Some(ApiError::new("conflict", "same version, other content")),
        ),
        Upsert::OtherRegister => (
            403,
            Some(ApiError::new(
                "forbidden",
                format!("another register's {what}"),
            )),
        ),
        _ => (200, None),
    }
}

/// What a charged reference's approval looks like to the checks.
pub fn is_final_not_charged(status: &BridgeStatus) -> bool {
    matches!(
        status,
        BridgeStatus::Declined { .. } | BridgeStatus::Cancelled | BridgeStatus::NeverReceived
    )
}
