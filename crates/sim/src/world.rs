//! The simulated world: one register, the bridge, the back office, a
//! network between them and a clock, driven event by event.
//!
//! Time jumps from one scheduled event to the next. Every effect the
//! register asks for becomes an event at a later time: a storage
//! transaction completes (one at a time, in order), a request arrives at a
//! server and its answer travels back, or is lost. The register's timer is
//! one event, re-armed after every input from its `poll_timeout`, as the
//! browser shell arms one `setTimeout`.

use crate::cashier::{self, Behaviours};
use crate::check::{self, Violation};
use crate::net::{BridgeSide, OmsSide};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use till_bridge::driver::CallResult;
use till_bridge::journal::Outgoing;
use till_core::memstore::{Fault, MemStore};
use till_core::register::{
    BridgeCall, Effect, Input, OmsCall, OpId, Register, RegisterConfig, StorageFault, StoreTx,
    UiEvent,
};
use till_core::time::{Duration, Timestamp};
use till_nexo::ServiceId;

/// 2026-11-27T08:00:00Z: a Friday morning.
pub const START: Timestamp = Timestamp::from_millis(1_795_766_400_000);
/// How long the register waits for an answer that never comes (a fetch's
/// network timeout, or the connection dropping).
pub const NET_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the bridge's reporter runs in the simulation.
pub const REPORT_ROUND: Duration = Duration::from_secs(5);
/// Most events one run may take: a day of a busy register is far fewer; more
/// means something re-arms itself without progress (a livelock).
pub const EVENTS_MAX: usize = 2_000_000;
/// Longest wait after the faults stop for everything to settle.
pub const QUIESCE_MAX: Duration = Duration::from_mins(180);

#[derive(Debug, Clone)]
pub struct Config {
    /// Cashier actions before the faults stop.
    pub actions: usize,
    /// Inject faults (network, servers, storage, crashes, clock).
    pub faults: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            actions: 60,
            faults: true,
        }
    }
}

/// What one run did, for the campaign's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub seed: u64,
    pub sales: usize,
    /// Refunds written (one per refund, however often Confirm was tapped).
    pub refunds: usize,
    /// Card refunds sent to the bridge.
    pub card_refunds: usize,
    /// Shifts opened, and how many of them closed.
    pub shifts: usize,
    pub shifts_closed: usize,
    pub card_attempts: usize,
    pub charges: usize,
    /// Charges with a tip the customer added, and refunds giving a tip back.
    pub tips: usize,
    pub tips_refunded: usize,
    pub crashes: usize,
    /// Payments the terminal refused as busy, and calls to it that met a
    /// fault on the wire (refused, lost, reset, dropped, late, bad MAC).
    pub busy: usize,
    pub wire_faults: usize,
    pub events: usize,
    pub simulated_ms: u64,
}

#[derive(Debug, Clone)]
pub enum Ev {
    /// The storage finishes the transaction at the head of its queue.
    StoreRun,
    /// An answer reaches the register (if the page that asked still lives).
    Deliver {
        epoch: u64,
        input: Input,
    },
    AtBridge {
        epoch: u64,
        call: BridgeCall,
        lose_reply: bool,
    },
    AtOms {
        epoch: u64,
        call: OmsCall,
        lose_reply: bool,
        commit_then_drop: bool,
    },
    Tick {
        generation: u64,
    },
    Cashier,
    Reporter,
    FaultsChange,
    /// A request of the bridge reaches the terminal.
    AtTerminal {
        life: u64,
        out: Box<Outgoing>,
        bytes: Vec<u8>,
        cut: bool,
    },
    /// What became of a request of the bridge reaches its journal.
    AtJournal {
        life: u64,
        out: Box<Outgoing>,
        result: Box<CallResult>,
    },
    /// The bridge's read timeout of a Payment call the terminal holds.
    HeldTimeout {
        service_id: ServiceId,
    },
    TerminalTimer {
        generation: u64,
    },
    BridgeTimer {
        generation: u64,
    },
    /// A register request waiting on the terminal is answered as things stand.
    Answer {
        id: u64,
    },
}

/// The faults in force now; the cashier's [`cashier::faults`] changes them.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub oms_down: bool,
    pub bridge_down: bool,
    /// Per thousand requests.
    pub oms_503: u32,
    pub lose_request: u32,
    pub lose_reply: u32,
    pub commit_then_drop: u32,
    pub store_fail: u32,
    pub latency_max_ms: u64,
    /// The terminal is off: connections to it are refused.
    pub terminal_off: bool,
    /// Per thousand calls of the bridge to the terminal: the request is
    /// lost, held up (the bridge gives up; the terminal gets it later), the
    /// connection is reset mid-call, a Payment's answer is
    /// dropped, an answer fails its MAC, an answer comes after the read
    /// timeout; per thousand payments: the terminal is busy.
    pub wire_lose_request: u32,
    pub wire_delay_request: u32,
    pub wire_cut: u32,
    pub wire_drop_answer: u32,
    pub wire_bad_mac: u32,
    pub wire_slow: u32,
    pub busy: u32,
}

pub struct World {
    pub seed: u64,
    pub rng: ChaCha8Rng,
    pub now: Timestamp,
    /// The tablet's clock minus the true time.
    pub skew_ms: i64,
    /// When the page started (true time): its monotonic clock counts from
    /// here, and starts again at a reload.
    pub page_started: Timestamp,
    /// When each PIN lock-out in force ends, in true time ((p) in [`check`]).
    pub lock_ends: BTreeMap<till_core::staff::StaffId, Timestamp>,
    pub reg: Register,
    pub epoch: u64,
    pub store: MemStore,
    store_queue: VecDeque<(OpId, StoreTx, u64)>,
    store_free_at: Timestamp,
    pub(crate) events: BTreeMap<(Timestamp, u64), Ev>,
    seq: u64,
    tick_generation: u64,
    pub bridge: BridgeSide,
    pub oms: OmsSide,
    pub faults: Faults,
    pub behaviours: Behaviours,
    pub quiescing: bool,
    pub actions_done: usize,
    pub report: Report,
    pub trace: VecDeque<String>,
    pub ui: Vec<UiEvent>,
    pub config: Config,
    /// A broken promise found inside a transaction, reported by the next check.
    pub found: Option<Violation>,
    /// What the popup has shown of each attempt ((m) in [`check`]).
    pub shown: BTreeMap<till_core::payment::PaymentRef, check::Shown>,
    /// The attempt the popup shows now.
    pub on_screen: Option<till_core::payment::PaymentRef>,
    trace_max: usize,
}

/// Events kept for a violation's report; `TILL_SIM_TRACE=N` keeps N.
fn trace_max() -> usize {
    std::env::var("TILL_SIM_TRACE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// The simulated register: R1, in euros, an hour ahead of UTC; a third
/// of the seeds are a store whose terminal asks for tips.
pub fn register_config(seed: u64) -> RegisterConfig {
    let mut config = RegisterConfig {
        // The simulated store allows returns without a receipt.
        returns_without_receipt: true,
        ..till_core::testing::register_config(60)
    };
    config.payment.ask_tip = seed % 3 == 1;
    config
}

/// One whole run: the cashier's day with faults, then quiet until
/// everything settles, then the final checks.
pub fn run(seed: u64, config: &Config) -> Result<Report, Violation> {
    let mut w = World::new(seed, config.clone());
    w.main_loop()?;
    check::final_checks(&w)?;
    w.report.simulated_ms = w.now.saturating_since(START).as_millis();
    let charges = w.bridge.device.charges().expect("the terminal's memory");
    w.report.charges = charges.len();
    w.report.tips = charges.iter().filter(|c| c.tip_minor.is_some()).count();
    w.report.tips_refunded = w
        .store
        .refunds
        .values()
        .filter(|r| r.totals.tip.is_some())
        .count();
    w.report.sales = w.store.orders.len();
    w.report.refunds = w.store.refunds.len();
    w.report.shifts = w.store.shifts.len();
    w.report.shifts_closed = w.store.shifts.values().filter(|s| !s.is_open()).count();
    Ok(w.report.clone())
}

impl World {
    pub fn new(seed: u64, config: Config) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut reg_seed = [0u8; 32];
        rng.fill_bytes(&mut reg_seed);
        let reg = Register::new(register_config(seed), reg_seed);
        let mut w = World {
            seed,
            rng,
            now: START,
            skew_ms: 0,
            page_started: START,
            lock_ends: BTreeMap::new(),
            reg,
            epoch: 0,
            // The staff list is there; the cashier signs in first.
            // No shift open: the cashier opens one before selling.
            store: till_core::testing::staff_only_store(),
            store_queue: VecDeque::new(),
            store_free_at: START,
            events: BTreeMap::new(),
            seq: 0,
            tick_generation: 0,
            bridge: BridgeSide::new(),
            oms: OmsSide::new(register_config(seed).register),
            faults: Faults::default(),
            behaviours: Behaviours::default(),
            quiescing: false,
            actions_done: 0,
            report: Report {
                seed,
                ..Report::default()
            },
            trace: VecDeque::new(),
            ui: Vec::new(),
            config,
            found: None,
            shown: BTreeMap::new(),
            on_screen: None,
            trace_max: trace_max(),
        };
        let first = w.reg.start(w.reg_now());
        w.dispatch(first);
        w.schedule(START, Ev::Cashier);
        w.schedule(START + REPORT_ROUND, Ev::Reporter);
        if w.config.faults {
            w.schedule(START + Duration::from_secs(30), Ev::FaultsChange);
        }
        w
    }

    /// Storage transactions not yet run.
    pub fn store_pending(&self) -> usize {
        self.store_queue.len()
    }

    /// The tablet's clock.
    pub fn reg_now(&self) -> Timestamp {
        Timestamp::from_millis(self.now.as_millis().saturating_add(self.skew_ms))
    }

    pub fn chance(&mut self, per_thousand: u32) -> bool {
        self.rng.next_u32() % 1000 < per_thousand
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.rng.next_u64() % n
        }
    }

    pub fn schedule(&mut self, at: Timestamp, ev: Ev) {
        self.seq += 1;
        self.events.insert((at.max(self.now), self.seq), ev);
    }

    pub fn note(&mut self, what: impl FnOnce() -> String) {
        if self.trace.len() >= self.trace_max {
            self.trace.pop_front();
        }
        let line = format!(
            "{:>9} ms  {}",
            self.now.saturating_since(START).as_millis(),
            what()
        );
        self.trace.push_back(line);
    }

    fn latency(&mut self) -> Duration {
        let max = if self.quiescing {
            50
        } else {
            self.faults.latency_max_ms.max(50)
        };
        Duration::from_millis(1 + self.below(max))
    }

    fn main_loop(&mut self) -> Result<(), Violation> {
        let mut quiesce_started: Option<Timestamp> = None;
        while let Some(((at, _), ev)) = self.events.pop_first() {
            self.now = at;
            self.report.events += 1;
            if self.report.events > EVENTS_MAX {
                return Err(check::livelock(self));
            }
            self.step(ev);
            check::step_checks(self)?;
            if !self.quiescing && self.actions_done >= self.config.actions {
                cashier::start_quiescing(self);
                quiesce_started = Some(self.now);
            }
            if let Some(t) = quiesce_started {
                if check::settled(self) || self.now >= t + QUIESCE_MAX {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, ev: Ev) {
        match ev {
            Ev::StoreRun => self.store_run(),
            Ev::Deliver { epoch, input } => {
                if epoch == self.epoch {
                    self.input(input);
                }
            }
            Ev::AtBridge {
                epoch,
                call,
                lose_reply,
            } => self.at_bridge(epoch, call, lose_reply),
            Ev::AtOms {
                epoch,
                call,
                lose_reply,
                commit_then_drop,
            } => self.at_oms(epoch, call, lose_reply, commit_then_drop),
            Ev::Tick { generation } => {
                if generation == self.tick_generation {
                    self.input(Input::Tick);
                }
            }
            Ev::Cashier => cashier::act(self),
            Ev::Reporter => {
                let oms_up = !self.faults.oms_down || self.quiescing;
                let jitter = (self.rng.next_u32() % 1001) as u16;
                let oms = oms_up.then_some(&self.oms);
                self.bridge.report_round(oms, self.now, jitter);
                self.notify_round();
                self.schedule(self.now + REPORT_ROUND, Ev::Reporter);
            }
            Ev::FaultsChange => cashier::faults(self),
            Ev::AtTerminal {
                life,
                out,
                bytes,
                cut,
            } => self.at_terminal(life, *out, bytes, cut),
            Ev::AtJournal { life, out, result } => self.at_journal(life, *out, *result),
            Ev::HeldTimeout { service_id } => self.held_timeout(service_id),
            Ev::TerminalTimer { generation } => {
                if generation == self.bridge.terminal_timer {
                    self.terminal_timer();
                }
            }
            Ev::BridgeTimer { generation } => {
                if generation == self.bridge.bridge_timer {
                    self.bridge_timer();
                }
            }
            Ev::Answer { id } => self.answer_waiting(id),
        }
    }

    /// Feeds the register, carries out what it asks, re-arms its timer.
    pub fn input(&mut self, input: Input) {
        self.note(|| format!("register <- {}", crate::trace::input(&input)));
        // The page's monotonic clock: true time since it started.
        let monotonic = self.now.saturating_since(self.page_started);
        self.reg.observe_clock(self.reg_now(), monotonic);
        let signing_in = match &input {
            Input::Cashier(till_core::register::Action::SignIn { person, .. }) => {
                Some((person.clone(), check::lock_of(self, person)))
            }
            _ => None,
        };
        let cmds = self.reg.handle(input, self.reg_now());
        if let Some((person, before)) = signing_in {
            check::pin_locks(self, &person, before);
        }
        self.dispatch(cmds);
        check::observe_screen(self);
    }

    pub fn dispatch(&mut self, cmds: Vec<Effect>) {
        for c in cmds {
            match c {
                Effect::Store { op, tx } => {
                    self.note(|| format!("store   <- #{op} {}", crate::trace::tx(&tx)));
                    self.store_queue.push_back((op, tx, self.epoch));
                    let at = self.store_free_at.max(self.now)
                        + Duration::from_millis(1 + self.below(20));
                    self.store_free_at = at;
                    self.schedule(at, Ev::StoreRun);
                }
                Effect::Bridge(call) => self.send_bridge(call),
                Effect::Oms(call) => self.send_oms(call),
                Effect::Ui(e) => {
                    self.note(|| format!("screen  <- {e:?}"));
                    self.ui.push(e);
                }
            }
        }
        self.arm_tick();
    }

    fn arm_tick(&mut self) {
        self.tick_generation += 1;
        if let Some(t) = self.reg.poll_timeout() {
            let wait = t.saturating_since(self.reg_now());
            let generation = self.tick_generation;
            self.schedule(self.now + wait, Ev::Tick { generation });
        }
    }

    fn store_run(&mut self) {
        let Some((op, tx, epoch)) = self.store_queue.pop_front() else {
            return;
        };
        if !self.quiescing && self.faults.store_fail > 0 && self.chance(self.faults.store_fail) {
            self.store.inject(Fault::FailNext(StorageFault::Failed(
                "the disk is full".into(),
            )));
        }
        let before = self.store.sale.clone();
        let result = self.store.execute(&tx);
        check::after_transaction(self, &tx, before.as_ref(), &result);
        if epoch == self.epoch {
            self.input(Input::Stored { op, result });
        }
    }

    fn send_bridge(&mut self, call: BridgeCall) {
        self.note(|| format!("bridge  <- {}", crate::trace::bridge(&call)));
        match call {
            BridgeCall::Start(_) => self.report.card_attempts += 1,
            BridgeCall::StartRefund(_) => self.report.card_refunds += 1,
            _ => {}
        }
        let epoch = self.epoch;
        let q = self.quiescing;
        if !q && self.faults.bridge_down {
            // Refused at once: nothing reached the bridge.
            let at = self.now + Duration::from_millis(1 + self.below(30));
            let input = BridgeSide::unanswered(&call);
            return self.schedule(at, Ev::Deliver { epoch, input });
        }
        if !q && self.chance(self.faults.lose_request) {
            let input = BridgeSide::unanswered(&call);
            return self.schedule(self.now + NET_TIMEOUT, Ev::Deliver { epoch, input });
        }
        let lose_reply = !q && self.chance(self.faults.lose_reply);
        let at = self.now + self.latency();
        self.schedule(
            at,
            Ev::AtBridge {
                epoch,
                call,
                lose_reply,
            },
        );
    }

    fn at_bridge(&mut self, epoch: u64, call: BridgeCall, lose_reply: bool) {
        if !self.quiescing && self.faults.bridge_down {
            let input = BridgeSide::unanswered(&call);
            return self.schedule(self.now + NET_TIMEOUT, Ev::Deliver { epoch, input });
        }
        self.bridge_api(epoch, call, lose_reply);
    }

    fn send_oms(&mut self, call: OmsCall) {
        if matches!(call, OmsCall::SendBatch { .. }) {
            self.note(|| format!("oms     <- {}", crate::trace::oms(&call)));
        }
        let epoch = self.epoch;
        let q = self.quiescing;
        if !q && (self.faults.oms_down || self.chance(self.faults.lose_request)) {
            let input = Input::Oms(OmsSide::unanswered(&call));
            return self.schedule(self.now + NET_TIMEOUT, Ev::Deliver { epoch, input });
        }
        let lose_reply = !q && self.chance(self.faults.lose_reply);
        let commit_then_drop = !q && self.chance(self.faults.commit_then_drop);
        let at = self.now + self.latency();
        self.schedule(
            at,
            Ev::AtOms {
                epoch,
                call,
                lose_reply,
                commit_then_drop,
            },
        );
    }

    fn at_oms(&mut self, epoch: u64, call: OmsCall, lose_reply: bool, commit_then_drop: bool) {
        let q = self.quiescing;
        if !q && self.faults.oms_down {
            let input = Input::Oms(OmsSide::unanswered(&call));
            return self.schedule(self.now + NET_TIMEOUT, Ev::Deliver { epoch, input });
        }
        if !q && self.chance(self.faults.oms_503) {
            let input = Input::Oms(OmsSide::unavailable(&call));
            let at = self.now + self.latency();
            return self.schedule(at, Ev::Deliver { epoch, input });
        }
        let reply = self.oms.call(&call, self.now);
        let lost = lose_reply || (commit_then_drop && matches!(call, OmsCall::SendBatch { .. }));
        let (input, at) = if lost {
            (
                Input::Oms(OmsSide::unanswered(&call)),
                self.now + NET_TIMEOUT,
            )
        } else {
            (Input::Oms(reply), self.now + self.latency())
        };
        self.schedule(at, Ev::Deliver { epoch, input });
    }

    /// The tablet reloads (or crashes): a prefix of the storage queue
    /// commits, the rest is lost, and so is every answer on its way to the
    /// old page. The register starts again from its storage.
    pub fn crash(&mut self) {
        let keep = self.below(self.store_queue.len() as u64 + 1) as usize;
        let pending = self.store_queue.len();
        self.note(|| format!("CRASH: {keep} of {pending} pending transactions commit"));
        let pending: Vec<_> = self.store_queue.drain(..).collect();
        for (_, tx, _) in pending.into_iter().take(keep) {
            let before = self.store.sale.clone();
            let result = self.store.execute(&tx);
            check::after_transaction(self, &tx, before.as_ref(), &result);
        }
        self.epoch += 1;
        self.report.crashes += 1;
        // The page is gone: its popup did not close, it was never answered.
        self.on_screen = None;
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        self.reg = Register::new(register_config(self.seed), seed);
        self.page_started = self.now;
        let first = self.reg.start(self.reg_now());
        self.dispatch(first);
        check::locks_after_reload(self);
    }
}
