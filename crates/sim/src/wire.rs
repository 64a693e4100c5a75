//! The bridge and the terminal, and the wire between them.
//!
//! What runs is the real code on both ends: the bridge's journal and nexo
//! driver ([`till_bridge::journal::Journal`]), `till-terminal`'s device
//! ([`till_terminal::device::Device`]), and the Terminal API codec on both
//! sides of the wire (every request and answer is sealed with the shared
//! key, and opened and verified by the other end). What is simulated is
//! the wire and the clock, with its faults:
//!
//! - the terminal is off: the connection is refused (nothing is sent);
//! - a request is lost on its way: the terminal never sees it;
//! - a request is held up on its way: the bridge gives up on the call, and
//!   the terminal gets it later (within its own timeout) and acts on it;
//! - the connection is reset mid-call: the terminal has the request;
//! - an answer is dropped (after the approval: the charge stands);
//! - an answer comes after the bridge's read timeout;
//! - an answer whose Hmac does not verify;
//! - the terminal is busy with another payment.
//!
//! A Payment is held by the terminal until it decides; the bridge's call
//! waits until its read timeout. Each call ends exactly once, in the
//! bridge's life that made it: a restarted bridge hears nothing of the
//! calls of its earlier life.

use crate::world::{Ev, World, NET_TIMEOUT};
use till_bridge::driver::CallResult;
use till_bridge::journal::{CancelOutcome, Outgoing, Start};
use till_core::payment::{BridgeStatus, PaymentRef, Reply, Request};
use till_core::register::Input;
use till_core::time::Duration;
use till_nexo::{RequestBody, Response, ServiceId};
use till_terminal::device::Reply as DeviceReply;

/// How long a Re-sync waits for the terminal's answer (the bridge's API).
const FRESH_WAIT: Duration =
    Duration::from_millis(till_bridge::calls::FRESH_WAIT.as_millis() as u64);
/// How long a cancel waits for the payment to end after the Abort.
const ABORT_WAIT: Duration =
    Duration::from_millis(till_bridge::calls::ABORT_WAIT.as_millis() as u64);
/// The body of the bridge's `GET /v1/health`.
const HEALTH_BODY: &str = r#"{"status":"ok"}"#;

/// Notifications the vendor's cloud sends per round.
const NOTIFICATIONS_PER_ROUND: usize = 20;

impl World {
    fn wire_latency(&mut self) -> Duration {
        Duration::from_millis(1 + self.below(40))
    }

    /// The register's call reached the bridge: its API handler.
    pub fn bridge_api(
        &mut self,
        epoch: u64,
        call: till_core::register::BridgeCall,
        lose_reply: bool,
    ) {
        use till_core::register::BridgeCall;
        let now = self.now;
        // The simulated bridge takes the register's pairing: its health
        // answers 200, read as the browser reads it.
        let (reference, to, reply) = match call {
            BridgeCall::Health => {
                let link = till_core::edge::health_link(200, HEALTH_BODY, false);
                return self.answer_register(epoch, Input::BridgeHealth { link }, lose_reply);
            }
            BridgeCall::Probe { reference } => (
                reference,
                Request::Probe,
                till_core::edge::probe_reply(200, HEALTH_BODY),
            ),
            BridgeCall::Start(s) => (s.reference, Request::Start, self.bridge_start((&s).into())),
            BridgeCall::StartRefund(s) => {
                (s.reference, Request::Start, self.bridge_start((&s).into()))
            }
            BridgeCall::Status { reference, to } => {
                match self.bridge.journal.status(&reference, now, true) {
                    Ok((_, outs)) if !outs.is_empty() => {
                        self.to_terminal(outs);
                        return self
                            .wait_for_terminal(epoch, reference, to, lose_reply, FRESH_WAIT);
                    }
                    status => {
                        let answer = till_bridge::api::status_answer(status.map(|(s, _)| s));
                        (reference, to, crate::net::read(&answer, to, &reference))
                    }
                }
            }
            BridgeCall::Cancel { reference } => {
                let decided = match self.bridge.journal.cancel(&reference, now) {
                    Ok((CancelOutcome::AbortSent, outs)) => {
                        self.to_terminal(outs);
                        let to = Request::Cancel;
                        return self
                            .wait_for_terminal(epoch, reference, to, lose_reply, ABORT_WAIT);
                    }
                    Ok((CancelOutcome::Cancelled(s) | CancelOutcome::NeverReceived(s), _)) => {
                        Ok((true, s))
                    }
                    Ok((CancelOutcome::TooLate(s), _)) => Ok((false, s)),
                    Err(e) => Err(e),
                };
                let answer = till_bridge::api::cancel_answer(decided);
                let to = Request::Cancel;
                (reference, to, crate::net::read(&answer, to, &reference))
            }
        };
        self.answer_register(
            epoch,
            Input::Bridge {
                reference,
                to,
                reply,
            },
            lose_reply,
        );
        self.arm_bridge_timer();
    }

    fn answer_register(&mut self, epoch: u64, input: Input, lose_reply: bool) {
        let (input, at) = match (lose_reply, &input) {
            (true, Input::Bridge { reference, to, .. }) => (
                Input::Bridge {
                    reference: *reference,
                    to: *to,
                    reply: Reply::Unreachable,
                },
                self.now + NET_TIMEOUT,
            ),
            (true, Input::BridgeHealth { .. }) => (
                Input::BridgeHealth {
                    link: till_core::lan::BridgeLink::NoAnswer { https: false },
                },
                self.now + NET_TIMEOUT,
            ),
            _ => (input, self.now + self.wire_latency()),
        };
        self.schedule(at, Ev::Deliver { epoch, input });
    }

    /// A start: journaled, then sent to the terminal; answered as the
    /// bridge's handler answers it.
    fn bridge_start(&mut self, start: Start) -> Reply {
        self.bridge.orders.insert(start.reference, start.order_id);
        let started = self.bridge.journal.start(&start, self.now);
        let started = started.map(|(_, answer, outs)| {
            self.to_terminal(outs);
            answer
        });
        let answer = till_bridge::api::start_answer(started);
        crate::net::read(&answer, Request::Start, &start.reference)
    }

    /// A register request answered once the terminal has answered what it
    /// asked (or `within` passed), from the journal as it is then.
    fn wait_for_terminal(
        &mut self,
        epoch: u64,
        reference: PaymentRef,
        to: Request,
        lose_reply: bool,
        within: Duration,
    ) {
        let id = self.bridge.next_waiting;
        self.bridge.next_waiting += 1;
        let w = crate::net::Waiting {
            id,
            epoch,
            reference,
            to,
            lose_reply,
            since: self.now,
        };
        self.bridge.waiting.push(w);
        self.schedule(self.now + within, Ev::Answer { id });
    }

    /// Answers the waiting request `id` (if still waiting) as things stand.
    pub fn answer_waiting(&mut self, id: u64) {
        let Some(i) = self.bridge.waiting.iter().position(|w| w.id == id) else {
            return;
        };
        let w = self.bridge.waiting.remove(i);
        let reply = self.bridge.status_reply(&w.reference, w.to, self.now);
        let input = Input::Bridge {
            reference: w.reference,
            to: w.to,
            reply,
        };
        self.answer_register(w.epoch, input, w.lose_reply);
    }

    /// The payment's word came in: whoever waits on it is answered now
    /// (a cancel only once the payment is no longer processing).
    fn settle_waiting(&mut self, reference: PaymentRef) {
        let processing =
            self.bridge.standing(&reference, self.now) == Some(BridgeStatus::Processing);
        let ready: Vec<u64> = self
            .bridge
            .waiting
            .iter()
            .filter(|w| w.reference == reference && (w.to != Request::Cancel || !processing))
            .map(|w| w.id)
            .collect();
        for id in ready {
            self.answer_waiting(id);
        }
    }

    /// The bridge sends requests to the terminal.
    pub fn to_terminal(&mut self, outs: Vec<Outgoing>) {
        let q = self.quiescing;
        let life = self.bridge.life;
        for out in outs {
            self.note(|| format!("terminal <- {} {:?}", out.reference.short(), out.need));
            let deadline = out.sent_at + out.timeout;
            if !q && self.faults.terminal_off {
                self.report.wire_faults += 1;
                let at = self.now + self.wire_latency();
                let result = Box::new(CallResult::NotConnected("connection refused".into()));
                self.schedule(
                    at,
                    Ev::AtJournal {
                        life,
                        out: Box::new(out),
                        result,
                    },
                );
                continue;
            }
            if !q && self.chance(self.faults.wire_lose_request) {
                self.report.wire_faults += 1;
                let result = Box::new(CallResult::Lost("no answer".into()));
                self.schedule(
                    deadline,
                    Ev::AtJournal {
                        life,
                        out: Box::new(out),
                        result,
                    },
                );
                continue;
            }
            let nonce = self.nonce();
            let bytes = self.bridge.codec.seal_request(&out.request, nonce);
            if !q && self.chance(self.faults.wire_delay_request) {
                self.report.wire_faults += 1;
                let late = out.sent_at + Duration::from_millis(self.below(out.timeout.as_millis()));
                let result = Box::new(CallResult::Lost("no answer".into()));
                let gone = Ev::AtJournal {
                    life,
                    out: Box::new(out.clone()),
                    result,
                };
                self.schedule(deadline, gone);
                // The bridge's life is long gone for the answer: nobody hears it.
                let nobody = u64::MAX;
                self.schedule(
                    late,
                    Ev::AtTerminal {
                        life: nobody,
                        out: Box::new(out),
                        bytes,
                        cut: false,
                    },
                );
                continue;
            }
            let cut = !q && self.chance(self.faults.wire_cut);
            self.report.wire_faults += usize::from(cut);
            let at = self.now + self.wire_latency();
            self.schedule(
                at,
                Ev::AtTerminal {
                    life,
                    out: Box::new(out),
                    bytes,
                    cut,
                },
            );
        }
    }

    fn nonce(&mut self) -> [u8; 16] {
        let mut n = [0u8; 16];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut self.rng, &mut n);
        n
    }

    /// A request reaches the terminal: opened with the terminal's key and
    /// handled by the device.
    pub fn at_terminal(&mut self, life: u64, out: Outgoing, bytes: Vec<u8>, cut: bool) {
        let request = match self.bridge.codec.open_request(&bytes) {
            Ok(r) => r,
            Err(e) => {
                return self.call_ended(life, out, CallResult::Lost(format!("HTTP 400: {e}")))
            }
        };
        let starts = matches!(
            request.body,
            RequestBody::Payment(_) | RequestBody::Reversal(_)
        );
        if starts {
            let b = crate::cashier::terminal_behaviour(self);
            if b.answer_lost() {
                self.behaviours.hidden.push(out.reference);
            }
            self.bridge.device.set_next(b);
            let busy = !self.quiescing
                && matches!(request.body, RequestBody::Payment(_))
                && self.chance(self.faults.busy);
            self.bridge.device.set_busy(u32::from(busy));
            self.report.busy += usize::from(busy);
        }
        let reply = self
            .bridge
            .device
            .handle(request, self.now)
            .expect("the terminal's memory");
        if starts && self.quiescing {
            // After the faults stop, no result stays hidden for good.
            let reference = out.reference.to_string();
            self.bridge
                .device
                .reveal(&reference)
                .expect("the terminal's memory");
        }
        self.arm_terminal_timer();
        if cut {
            // Reset mid-call: the terminal has the request and goes on.
            return self.call_ended(life, out, CallResult::Lost("connection reset".into()));
        }
        match reply {
            DeviceReply::Now(r) => self.answer_back(life, out, *r),
            DeviceReply::Empty => self.call_ended(life, out, CallResult::Empty),
            DeviceReply::Held(id) => {
                let deadline = out.sent_at + out.timeout;
                self.bridge.held.insert(id.clone(), (life, out));
                self.schedule(deadline, Ev::HeldTimeout { service_id: id });
            }
        }
    }

    /// The call ends after `latency` (or at its read timeout, at the latest).
    fn call_ended(&mut self, life: u64, out: Outgoing, result: CallResult) {
        let deadline = out.sent_at + out.timeout;
        let at = (self.now + self.wire_latency()).min(deadline);
        self.schedule(
            at,
            Ev::AtJournal {
                life,
                out: Box::new(out),
                result: Box::new(result),
            },
        );
    }

    /// The terminal's answer travels back, sealed, through the wire's faults.
    fn answer_back(&mut self, life: u64, out: Outgoing, answer: Response) {
        let q = self.quiescing;
        let deadline = out.sent_at + out.timeout;
        let is_payment = matches!(out.request.body, RequestBody::Payment(_));
        if !q && is_payment && self.chance(self.faults.wire_drop_answer) {
            self.report.wire_faults += 1;
            let result = Box::new(CallResult::Lost("the answer was dropped".into()));
            let at = self.now + self.wire_latency();
            return self.schedule(
                at,
                Ev::AtJournal {
                    life,
                    out: Box::new(out),
                    result,
                },
            );
        }
        let nonce = self.nonce();
        let mut bytes = self.bridge.codec.seal_response(&answer, nonce);
        if !q && self.chance(self.faults.wire_bad_mac) {
            self.report.wire_faults += 1;
            bytes = till_terminal::faults::spoil_mac(&bytes);
        }
        let slow = !q && self.chance(self.faults.wire_slow);
        self.report.wire_faults += usize::from(slow);
        let at = self.now + self.wire_latency();
        if slow || at > deadline {
            let result = Box::new(CallResult::Lost("read timeout".into()));
            return self.schedule(
                deadline,
                Ev::AtJournal {
                    life,
                    out: Box::new(out),
                    result,
                },
            );
        }
        let result = Box::new(till_bridge::terminal::read_answer(
            &self.bridge.codec,
            &out,
            &bytes,
        ));
        self.schedule(
            at,
            Ev::AtJournal {
                life,
                out: Box::new(out),
                result,
            },
        );
    }

    /// A held Payment call's read timeout: the bridge gives up on it.
    pub fn held_timeout(&mut self, service_id: ServiceId) {
        if let Some((life, out)) = self.bridge.held.remove(&service_id) {
            let result = Box::new(CallResult::Lost("read timeout".into()));
            self.schedule(
                self.now,
                Ev::AtJournal {
                    life,
                    out: Box::new(out),
                    result,
                },
            );
        }
    }

    /// What became of a call reaches the bridge: journaled, and what follows sent.
    pub fn at_journal(&mut self, life: u64, out: Outgoing, result: CallResult) {
        if life != self.bridge.life {
            return; // The process that made the call is gone.
        }
        self.note(|| {
            format!(
                "journal <- {} {:?}: {}",
                out.reference.short(),
                out.need,
                crate::trace::call(&result)
            )
        });
        match self.bridge.journal.answered(&out, result, self.now) {
            Ok(next) => self.to_terminal(next),
            Err(e) => panic!("the bridge's journal failed: {e:?}"),
        }
        self.settle_waiting(out.reference);
        self.arm_bridge_timer();
    }

    /// Time passes on the terminal: payments decided, held calls answered,
    /// notifications sent.
    pub fn terminal_timer(&mut self) {
        let finished = self
            .bridge
            .device
            .advance(self.now)
            .expect("the terminal's memory");
        for f in finished {
            let Some((life, out)) = self.bridge.held.remove(&f.service_id) else {
                continue; // The bridge gave up on the call before.
            };
            match f.response {
                Some(r) => self.answer_back(life, out, r),
                None => {
                    let result = Box::new(CallResult::Lost("the answer is lost".into()));
                    let deadline = out.sent_at + out.timeout;
                    self.schedule(
                        deadline,
                        Ev::AtJournal {
                            life,
                            out: Box::new(out),
                            result,
                        },
                    );
                }
            }
        }
        self.arm_terminal_timer();
    }

    pub fn arm_terminal_timer(&mut self) {
        self.bridge.terminal_timer += 1;
        if let Some(at) = self.bridge.device.poll_timeout() {
            let generation = self.bridge.terminal_timer;
            self.schedule(at, Ev::TerminalTimer { generation });
        }
    }

    /// The bridge's own timer: status queries due.
    pub fn bridge_timer(&mut self) {
        match self.bridge.journal.tick(self.now) {
            Ok(outs) => self.to_terminal(outs),
            Err(e) => panic!("the bridge's journal failed: {e:?}"),
        }
        self.arm_bridge_timer();
    }

    pub fn arm_bridge_timer(&mut self) {
        self.bridge.bridge_timer += 1;
        if let Ok(Some(at)) = self.bridge.journal.next_wake() {
            let generation = self.bridge.bridge_timer;
            self.schedule(at, Ev::BridgeTimer { generation });
        }
    }

    /// The vendor's cloud notifies the back office of what is due.
    pub fn notify_round(&mut self) {
        let due = self
            .bridge
            .device
            .due_notifications(self.now, NOTIFICATIONS_PER_ROUND)
            .expect("the terminal's memory");
        let up = !self.faults.oms_down || self.quiescing;
        for (id, mut item) in due {
            self.bridge.webhook.sign_in_place(&mut item);
            let how = match up {
                true => match self.oms.notify(&item, &self.bridge.webhook, self.now) {
                    Ok(conflict) => {
                        self.bridge.report_conflicts.extend(conflict);
                        till_terminal::device::Delivery::Delivered
                    }
                    Err(e) => panic!("the back office refused a signed notification: {e}"),
                },
                false => till_terminal::device::Delivery::Retry(self.now + Duration::from_secs(60)),
            };
            self.bridge
                .device
                .notification_sent(id, how, self.now)
                .expect("the terminal's memory");
        }
    }

    /// The bridge restarts: its journal survives; the calls it had out and
    /// the requests it was answering are gone.
    pub fn restart_bridge(&mut self) {
        let in_flight: Vec<(till_core::time::Timestamp, u64)> = self
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Ev::AtBridge { .. }))
            .map(|(k, _)| *k)
            .collect();
        self.note(|| format!("BRIDGE RESTART: {} requests lost", in_flight.len()));
        for key in in_flight {
            if let Some(Ev::AtBridge { epoch, call, .. }) = self.events.remove(&key) {
                let input = crate::net::BridgeSide::unanswered(&call);
                self.schedule(self.now + NET_TIMEOUT, Ev::Deliver { epoch, input });
            }
        }
        for w in std::mem::take(&mut self.bridge.waiting) {
            let input = Input::Bridge {
                reference: w.reference,
                to: w.to,
                reply: Reply::Unreachable,
            };
            self.schedule(
                self.now + NET_TIMEOUT,
                Ev::Deliver {
                    epoch: w.epoch,
                    input,
                },
            );
        }
        self.bridge.life += 1;
        self.bridge
            .journal
            .restarted()
            .expect("the bridge's journal");
        self.arm_bridge_timer();
    }
}
