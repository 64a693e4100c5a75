//! The register: the whole policy of one till as one sans-IO machine.
//!
//! The browser app and the simulator drive the same [`Register`]. It owns
//! the current sale, every card payment attempt that is live or in doubt
//! (one [`PaymentSession`] each, found by reference), the sync driver, the
//! reconciliation of closed attempts, the health of the back office and
//! the bridge, who is signed in ([`Desk`]) and the open shift (nobody sells
//! without one; its writes go through [`crate::shift_plan::plan_shift`] in the
//! storage transaction, as an order's go through the update path). It does no I/O and reads no clock:
//!
//! - the shell feeds it [`Input`]s with the current time through
//!   [`Register::handle`]: the cashier's actions, storage results, bridge and
//!   back-office answers, timer ticks;
//! - it returns [`Effect`]s: storage transactions ([`StoreTx`], each
//!   answered with [`Input::Stored`] and its [`OpId`]), requests to the
//!   bridge and the back office (answered with [`Input::Bridge`] and
//!   [`Input::Oms`]), and what the screen should do ([`UiEvent`]);
//! - [`Register::poll_timeout`] says when to feed the next [`Input::Tick`];
//! - queries ([`Register::popup`], [`Register::cart_locked`],
//!   [`Register::status`], ...) say what the pages show.
//!
//! Why one machine: every rule that keeps money safe depends on more than
//! one part. A reply is routed by its reference to its own attempt, never to
//! "the current one"; a late result settles its own order through the
//! update path ([`crate::update`]), which finishes the sale only when it is
//! the current sale's order; the write-ahead record of an attempt must be on
//! disk before its start request leaves (the register holds the start back
//! until the store confirms); a double tap on a payment button finds the
//! command already running. With all of it in one place, the simulator can
//! drive the whole register through crashes and faults and check that the
//! promises hold.
//!
//! Ids (order ids, payment references) and jitter come from a ChaCha RNG
//! seeded by the caller, as in quinn-proto: unpredictable in the browser
//! (seeded from Web Crypto), replayable in the simulator.
//!
//! The machine is split as quinn splits its connection: this file holds the
//! state, [`Register::handle`], [`Register::poll_timeout`] and the dispatch
//! of storage results; [`io`] what goes in and comes out; and one file per
//! concern: `sale` (the cashier's actions, the cart, cash, parking),
//! `card` (card sessions: one write path for payments and refunds, see
//! `CardWrite`), `refund`, `shift`, `desk` (who is signed in, approvals),
//! `sync` and `health`.

use crate::api::{BatchResult, OrderLookup, StartPayment, StartRefund};
use crate::cart::Cart;
use crate::desk::{Desk, DeskRecord};
use crate::drawer::{CashMovement, MovementKind};
use crate::ids::RecordId;
use crate::money::{Currency, Money};
use crate::order::{
    check_cash, BusinessDate, CardRecorded, Order, OrderError, OrderId, OrderNumber, OrderStatus,
    RegisterId,
};
use crate::outbox::OutboxChange;
use crate::park::{park, ParkError, ParkedCart};
use crate::payment::{
    self, Attempt, AttemptState, Event, PaymentConfig, PaymentRef, PaymentSession, RefundLink,
    Reply, Request, Settlement, View,
};
use crate::refund::{card_part, Refund, RefundId, RefundReason, Returned, TenderKey};
use crate::shift::{CashCount, Shift, ShiftId};
use crate::shift_plan::{ShiftChange, ShiftRequest};
use crate::staff::{needs_manager, Approval, Guarded, Policy, StaffId, StaffMember};
use crate::sync::{DueBatch, NetFailure, OutboxSummary, SyncCommand, SyncDriver, SyncEvent};
use crate::time::{Duration, Timestamp};
use crate::update::{
    Change, Origin, RefundRequest, ReturnRequest, Sale, UpdateError, UpdateRequest, Updated,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

pub mod answers;
mod card;
mod desk;
mod health;
pub mod io;
mod refresh;
mod refund;
mod sale;
pub mod settings;
mod shift;
mod sync;

pub use io::*;

/// How often the back office and the bridge are asked whether they are
/// there: "Online" in the status bar means an answer within about this long.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(15);
/// How soon a write that records money (an approval, a close) is tried
/// again after the storage failed: it must not be lost, and storage errors
/// usually clear (the cashier frees space, the tab regains its quota).
pub const MONEY_WRITE_RETRY: Duration = Duration::from_secs(5);
/// How soon reading the register's storage at start is tried again.
pub const LOAD_RETRY: Duration = Duration::from_secs(5);

/// What the cashier reads when returns without a receipt are not allowed.
pub const RETURNS_NOT_ALLOWED: &str = "Returns without a receipt are not allowed on this register: a manager can allow them in Settings.";

/// How far back the clock may step before the register treats it as a
/// corrected wrong clock: NTP's small corrections are not.
pub const CLOCK_STEP_BACK: Duration = Duration::from_mins(1);
/// How much more the wall clock may move than the monotonic one between
/// two readings before the register calls it a jump forward.
pub const CLOCK_JUMP: Duration = Duration::from_secs(2);

/// What a storage operation in flight was for.
#[derive(Debug, Clone)]
enum Op {
    Load,
    SaveSale,
    Cash,
    Void(OrderId),
    Refund(RefundId),
    /// A park or a resume, and what the register says when it is done.
    Park(String),
    Desk,
    /// A write to the shift, and what the register says when it is done.
    Shift(&'static str),
    /// A card session's write (a payment's or a refund's), and the
    /// commands held back until it is on disk.
    Card {
        held: HeldWrite,
        write: CardWrite,
    },
    Sync,
    RaiseSequence,
}

/// A guarded action waiting for a manager's PIN.
#[derive(Debug, Clone)]
struct Held {
    action: Action,
    what: Guarded,
}

/// A money write that failed on the storage and is tried again.
#[derive(Debug, Clone)]
enum Retry {
    /// A card's answer (or a close) that must land, written again as it was.
    Write(CardWrite),
    /// A failed write of a live attempt: the popup shows the stored state
    /// until storage holds the session's attempt as it is then (never the
    /// one that failed, which a later write may have overtaken).
    Latest,
}

/// A card part about to start: whose refund, back to which payment, for
/// which order, how much.
struct CardPart {
    link: RefundLink,
    order_id: OrderId,
    amount: Money,
}

/// A session's write in flight: whose, what it holds back, and whether it
/// is the write-ahead record the start waits for.
#[derive(Debug, Clone)]
struct HeldWrite {
    reference: PaymentRef,
    rest: Vec<payment::Command>,
    write_ahead: bool,
}

impl HeldWrite {
    /// A write that is not the write-ahead record, holding back `rest`.
    fn after(reference: PaymentRef, rest: Vec<payment::Command>) -> HeldWrite {
        HeldWrite {
            reference,
            rest,
            write_ahead: false,
        }
    }
}

/// What a card session writes: one path for payments and refunds. A
/// payment's attempt goes through its order's update path (which records
/// an approval on the order); a refund's attempt onto its refund's card
/// part.
#[derive(Debug, Clone)]
enum CardWrite {
    Sale(Box<UpdateRequest>),
    Refund(Box<Attempt>),
}

impl CardWrite {
    fn attempt(&self) -> Option<&Attempt> {
        match self {
            CardWrite::Sale(req) => req.change.attempt(),
            CardWrite::Refund(attempt) => Some(attempt),
        }
    }

    /// The transaction of a write that is not a refund's write-ahead.
    fn tx(&self) -> StoreTx {
        match self {
            CardWrite::Sale(req) => StoreTx::Update(req.clone()),
            CardWrite::Refund(attempt) => StoreTx::CardRefund(attempt.clone()),
        }
    }

    /// Whether it records the card's answer (or a close): money moved, or
    /// may have, so a failed write is tried again as it is.
    fn records_answer(&self) -> bool {
        match self {
            CardWrite::Sale(req) => matches!(req.change, Change::Settle { .. }),
            CardWrite::Refund(attempt) => !attempt.state.is_live(),
        }
    }

    /// What the cashier reads when the write failed.
    fn failed_text(&self, reference: PaymentRef, e: &StoreFailure) -> String {
        match (self, e) {
            (CardWrite::Sale(_), StoreFailure::Io(e)) => {
                format!("Saving a card payment failed: {e}. Till keeps trying.")
            }
            (CardWrite::Sale(_), e) => format!("Card payment {}: {e}", reference.short()),
            (CardWrite::Refund(_), e) => {
                format!("Saving card refund {} failed: {e}.", reference.short())
            }
        }
    }
}

pub struct Register {
    config: RegisterConfig,
    rng: ChaCha8Rng,
    loaded: bool,
    load_at: Option<Timestamp>,
    sale: Option<Sale>,
    sale_order: Option<Order>,
    sessions: BTreeMap<PaymentRef, PaymentSession>,
    live: Option<PaymentRef>,
    ops: BTreeMap<OpId, Op>,
    next_op: OpId,
    cash_in_flight: bool,
    sync: SyncDriver,
    oms: Reach,
    bridge: Reach,
    /// Why the bridge is or is not there (the status bar's words).
    bridge_link: crate::lan::BridgeLink,
    health_at: Option<Timestamp>,
    oms_probe: bool,
    bridge_probe: bool,
    aligned: Option<BusinessDate>,
    align_in_flight: bool,
    /// Money writes that failed on the storage, to try again.
    retries: Vec<(Timestamp, PaymentRef, Retry)>,
    /// Card refunds between Confirm and their write-ahead (the probe of the
    /// bridge runs meanwhile), by the reference of their card part: a new
    /// refund to write, or (`None`) a part for what a written one owes.
    refund_requests: BTreeMap<PaymentRef, Option<RefundRequest>>,
    /// The carts parked on this register, as last stored.
    parked: Vec<ParkedCart>,
    desk: Desk,
    /// The register's open shift, as last stored.
    shift: Option<Shift>,
    /// A guarded action waiting for a manager's PIN.
    held: Option<Held>,
    /// The approval of the action being run (its record keeps it).
    approval: Option<Approval>,
    lookups: BTreeSet<OrderId>,
    downloads: BTreeSet<OrderId>,
    /// The latest time seen, to notice a clock that stepped back.
    latest: Option<Timestamp>,
    /// The last wall time and monotonic reading the shell gave
    /// ([`Register::observe_clock`]), to notice a clock moved forward.
    clock: Option<(Timestamp, Duration)>,
    /// When the staff list and the catalog are downloaded again.
    refresh: crate::refresh::Refresh,
}

impl Register {
    pub fn new(config: RegisterConfig, seed: [u8; 32]) -> Register {
        Register {
            config,
            rng: ChaCha8Rng::from_seed(seed),
            loaded: false,
            load_at: None,
            sale: None,
            sale_order: None,
            sessions: BTreeMap::new(),
            live: None,
            ops: BTreeMap::new(),
            next_op: 1,
            cash_in_flight: false,
            sync: SyncDriver::default(),
            oms: Reach::Unknown,
            bridge: Reach::Unknown,
            bridge_link: crate::lan::BridgeLink::Unknown,
            health_at: None,
            oms_probe: false,
            bridge_probe: false,
            aligned: None,
            align_in_flight: false,
            retries: Vec::new(),
            refund_requests: BTreeMap::new(),
            parked: Vec::new(),
            desk: Desk::default(),
            shift: None,
            held: None,
            approval: None,
            lookups: BTreeSet::new(),
            downloads: BTreeSet::new(),
            latest: None,
            clock: None,
            refresh: crate::refresh::Refresh::default(),
        }
    }

    /// The first commands: read the register's storage.
    #[must_use]
    pub fn start(&mut self, _now: Timestamp) -> Vec<Effect> {
        let mut out = Vec::new();
        self.store(Op::Load, StoreTx::Load, &mut out);
        out
    }

    pub fn config(&self) -> &RegisterConfig {
        &self.config
    }

    /// Whether this register takes returns without a receipt (cash back
    /// only): a manager allows them in Settings.
    pub fn returns_allowed(&self) -> bool {
        self.config.returns_without_receipt
    }

    /// The person signed in: nobody sells, refunds or voids without one.
    pub fn cashier(&self) -> Option<&StaffMember> {
        self.desk.cashier()
    }

    /// Who is at the register: the staff list and each person's lock-out.
    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// The register's open shift: nobody sells without one.
    pub fn shift(&self) -> Option<&Shift> {
        self.shift.as_ref()
    }

    /// The action waiting for a manager's PIN, if any.
    pub fn awaiting_approval(&self) -> Option<Guarded> {
        self.held.as_ref().map(|h| h.what)
    }

    /// The tablet's zone changed (daylight saving time, travel).
    /// The wall time the next input comes with, and the tablet's monotonic
    /// clock (time since the page started, which nobody can set). When the
    /// wall clock moved on more than the monotonic one, it was moved
    /// forward: lock-outs end that much later, so moving the clock never
    /// ends one early.
    pub fn observe_clock(&mut self, now: Timestamp, monotonic: Duration) {
        if let Some((wall, mono)) = self.clock {
            let wall_moved = now.saturating_since(wall).as_millis();
            let mono_moved = monotonic.as_millis().saturating_sub(mono.as_millis());
            let jump = wall_moved.saturating_sub(mono_moved);
            if jump > CLOCK_JUMP.as_millis() {
                self.desk.clock_jumped_forward(Duration::from_millis(jump));
            }
        }
        self.clock = Some((now, monotonic));
    }

    pub fn set_utc_offset(&mut self, utc_offset_min: i32) {
        self.config.utc_offset_min = utc_offset_min;
    }

    pub fn set_auto_print(&mut self, on: bool) {
        self.config.auto_print = on;
    }

    // ---- ids ----

    /// A new order id: UUID version 7 (milliseconds, then random bits), so
    /// ids sort by creation and the back office's index stays append-only.
    pub fn new_order_id(&mut self, now: Timestamp) -> OrderId {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        let ms = u64::try_from(now.as_millis()).unwrap_or(0);
        b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        b[6] = 0x70 | (b[6] & 0x0F);
        b[8] = 0x80 | (b[8] & 0x3F);
        OrderId::from_uuid(uuid::Uuid::from_bytes(b)).expect("built as version 7")
    }

    /// A new refund id, made when the refund screen opens (a UUID v7, like
    /// an order's).
    pub fn new_refund_id(&mut self, now: Timestamp) -> RefundId {
        RefundId::from_record_id(self.new_order_id(now).record_id())
    }

    fn new_reference(&mut self) -> PaymentRef {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        b[6] = 0x40 | (b[6] & 0x0F);
        b[8] = 0x80 | (b[8] & 0x3F);
        PaymentRef::from_uuid(uuid::Uuid::from_bytes(b))
    }

    // ---- queries ----

    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    pub fn sale(&self) -> Option<&Sale> {
        self.sale.as_ref()
    }

    /// The carts parked on this register, oldest first.
    pub fn parked(&self) -> &[ParkedCart] {
        &self.parked
    }

    /// The current sale's order, once its first payment created it.
    pub fn sale_order(&self) -> Option<&Order> {
        self.sale_order.as_ref()
    }

    /// What is due on the current sale.
    pub fn due(&self) -> Option<Money> {
        match &self.sale_order {
            Some(o) => o.due().ok(),
            None => self.sale.as_ref()?.cart.totals().ok().map(|t| t.total),
        }
    }

    /// The card popup, while an attempt is live, as storage has committed
    /// it: the screen never shows what a reload would take back.
    pub fn popup(&self, now: Timestamp) -> Option<View> {
        self.sessions.get(&self.live?)?.shown(now)
    }

    /// Whether the cashier may change the cart now, and why not.
    pub fn cart_locked(&self) -> Result<(), OrderError> {
        if self.popup_open() {
            return Err(OrderError::CardInProgress);
        }
        if self.cash_in_flight {
            return Err(OrderError::CartLocked);
        }
        match &self.sale_order {
            Some(o) => o.accepts_cart_edits(self.attempts()),
            None => Ok(()),
        }
    }

    /// A payment command is running, or the card popup is open: payment
    /// buttons wait.
    pub fn is_busy(&self) -> bool {
        self.cash_in_flight || self.popup_open()
    }

    fn popup_open(&self) -> bool {
        self.live
            .and_then(|r| self.sessions.get(&r))
            .is_some_and(PaymentSession::is_shown)
    }

    fn attempts(&self) -> impl Iterator<Item = &Attempt> {
        self.sessions.values().map(PaymentSession::attempt)
    }

    pub fn status(&self) -> Status {
        let s = self.sync.summary();
        Status {
            oms: self.oms,
            bridge: self.bridge_link,
            unsynced: s.unsynced,
            parked: s.parked,
            progress: self.sync.progress(),
        }
    }

    /// When to feed the next [`Input::Tick`]; `None` while nothing is timed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        // Only timers whose tick makes progress: a timer that is always
        // due and never served would spin the shell.
        let sessions = self
            .sessions
            .values()
            .filter_map(PaymentSession::poll_timeout);
        let retries = self.retries.iter().map(|(t, _, _)| *t);
        let (sync, health, idle, refresh) = if self.loaded {
            (
                self.sync.poll_timeout(),
                self.health_at,
                self.desk.poll_timeout(),
                self.refresh.poll_timeout(),
            )
        } else {
            (None, None, None, None)
        };
        sessions
            .chain(retries)
            .chain(sync)
            .chain(health)
            .chain(idle)
            .chain(refresh)
            .chain(self.load_at)
            .min()
    }

    // ---- events ----

    /// Feeds one input at `now`; returns the commands to carry out.
    #[must_use]
    pub fn handle(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        let mut out = Vec::new();
        self.watch_clock(now, &mut out);
        match input {
            Input::Cashier(action) => self.on_action(action, now, &mut out),
            Input::Stored { op, result } => self.on_stored(op, result, now, &mut out),
            Input::Bridge {
                reference,
                to,
                reply,
            } => {
                if reply != Reply::Unreachable {
                    self.bridge = Reach::Online;
                    if !matches!(reply, Reply::Refused { .. }) {
                        self.bridge_link = crate::lan::BridgeLink::Connected;
                    }
                }
                let event = Event::Replied {
                    reference,
                    to,
                    reply,
                };
                self.feed(reference, event, now, &mut out);
            }
            Input::BridgeHealth { link } => self.on_bridge_health(link, now, &mut out),
            Input::Oms(reply) => self.on_oms(reply, now, &mut out),
            // Before the storage is read there is nothing to sync yet; the
            // start wakes the sync and probes the servers anyway.
            Input::Online if self.loaded => {
                self.health_at = Some(now);
                self.sync_event(SyncEvent::Woken, now, &mut out);
            }
            Input::Online => {}
            Input::Tick => self.on_tick(now, &mut out),
        }
        self.after(now, &mut out);
        out
    }

    /// A clock that steps back was wrong and has been corrected: every time
    /// set from it lies in the future. Timers are pulled in, and what waits
    /// in the outbox is sent now rather than a day late.
    fn watch_clock(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let stepped_back = self.latest.is_some_and(|t| now + CLOCK_STEP_BACK < t);
        self.latest = Some(
            self.latest
                .map_or(now, |t| if stepped_back { now } else { t.max(now) }),
        );
        if !stepped_back || !self.loaded {
            return;
        }
        let refs: Vec<PaymentRef> = self.sessions.keys().copied().collect();
        for r in refs {
            if let Some(s) = self.sessions.get_mut(&r) {
                let cmds = s.clock_stepped_back(now);
                self.session_commands(r, cmds, now, out);
            }
        }
        for (t, _, _) in &mut self.retries {
            *t = (*t).min(now);
        }
        self.desk.clock_stepped_back(now);
        self.refresh.clock_stepped_back(now);
        self.health_at = Some(now);
        self.sync_event(SyncEvent::ClockSteppedBack, now, out);
    }

    fn after(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        if self.loaded {
            let cmds = self.sync.on_tick(now);
            self.sync_commands(cmds, now, out);
            self.align(now, out);
            self.refresh_due(now, out);
        }
        // Settled attempts leave; the popup closes with its attempt.
        if !self.popup_open() {
            self.live = None;
        }
        let held: BTreeSet<PaymentRef> = self
            .ops
            .values()
            .filter_map(|op| match op {
                Op::Card { held, .. } => Some(held.reference),
                _ => None,
            })
            .collect();
        let retrying: BTreeSet<PaymentRef> = self.retries.iter().map(|(_, r, _)| *r).collect();
        // A session stays while its popup is shown: until its last write is
        // committed (or is being retried), the screen shows the stored state.
        self.sessions.retain(|r, s| {
            let open = s.state().is_live() || s.state().is_in_doubt() || s.is_shown();
            open || held.contains(r) || retrying.contains(r)
        });
        // A card refund whose popup ended before its write-ahead is not made.
        let sessions = &self.sessions;
        self.refund_requests
            .retain(|r, _| sessions.get(r).is_some_and(|s| s.state().is_live()));
    }

    fn op(&mut self) -> OpId {
        let op = self.next_op;
        self.next_op += 1;
        op
    }

    fn store(&mut self, kind: Op, tx: StoreTx, out: &mut Vec<Effect>) {
        let op = self.op();
        self.ops.insert(op, kind);
        out.push(Effect::Store { op, tx });
    }

    fn ui(out: &mut Vec<Effect>, e: UiEvent) {
        out.push(Effect::Ui(e));
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        if self.load_at.is_some_and(|t| now >= t) {
            self.load_at = None;
            self.store(Op::Load, StoreTx::Load, out);
        }
        if self.loaded && self.desk.on_tick(now, self.popup_open()) {
            if self.desk.cashier().is_none() {
                // Signed out while idle: nothing waits for a manager.
                self.held = None;
            }
            self.save_desk(out);
        }
        let due: Vec<PaymentRef> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.poll_timeout().is_some_and(|t| t <= now))
            .map(|(r, _)| *r)
            .collect();
        for r in due {
            self.feed(r, Event::Tick, now, out);
        }
        let (ready, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retries)
            .into_iter()
            .partition(|(t, _, _)| *t <= now);
        self.retries = later;
        for (_, reference, retry) in ready {
            match retry {
                Retry::Write(mut write) => {
                    // Written now: the time it was first decided may have come
                    // from a clock that has since been corrected.
                    if let CardWrite::Sale(req) = &mut write {
                        req.at = now;
                    }
                    self.card_write(HeldWrite::after(reference, Vec::new()), write, out);
                }
                Retry::Latest => self.write_latest(reference, now, out),
            }
        }
        if self.loaded && self.health_at.is_some_and(|t| now >= t) {
            self.health_at = Some(now + HEALTH_INTERVAL);
            if !self.oms_probe {
                self.oms_probe = true;
                out.push(Effect::Oms(OmsCall::Health));
            }
            if !self.bridge_probe {
                self.bridge_probe = true;
                out.push(Effect::Bridge(BridgeCall::Health));
            }
        }
    }

    // ---- start ----

    fn on_loaded(&mut self, l: Loaded, now: Timestamp, out: &mut Vec<Effect>) {
        self.loaded = true;
        self.parked = l.parked.clone();
        self.shift = l.shift.clone().filter(Shift::is_open);
        self.load_desk(l.desk.clone(), now, out);
        let seen = latest_stored(&l);
        let sale_order = l
            .sale_order
            .filter(|o| l.sale.as_ref().is_some_and(|s| s.id == o.id));
        match (l.sale, sale_order) {
            // The update path finishes a sale with its order; an order that
            // is no longer open means that sale is over.
            (Some(_), Some(o)) if o.status != OrderStatus::Open => {
                self.new_sale(Some(o.id), now, out)
            }
            (Some(sale), order) => {
                self.sale = Some(sale);
                self.sale_order = order;
            }
            (None, _) => self.new_sale(None, now, out),
        }
        // Whatever the driver asks for is carried out: a round it starts
        // and nobody performs would stall the sync for good.
        self.sync_event(SyncEvent::Summary(l.outbox), now, out);
        self.sync_event(SyncEvent::Woken, now, out);
        let mut live: Option<(Timestamp, PaymentRef)> = None;
        for attempt in l.attempts {
            let reference = attempt.reference;
            if self.sessions.contains_key(&reference) {
                continue;
            }
            if attempt.state.is_live() && live.is_none_or(|(t, _)| attempt.requested_at > t) {
                live = Some((attempt.requested_at, reference));
            }
            let (session, cmds) = PaymentSession::resume(attempt, self.config.payment, now);
            self.sessions.insert(reference, session);
            self.session_commands(reference, cmds, now, out);
        }
        if let Some((_, reference)) = live {
            // A card payment interrupted by a reload comes back first (a
            // card refund's popup shows above whatever page is open).
            self.live = Some(reference);
            if self.sessions[&reference].attempt().refund.is_none() {
                Self::ui(out, UiEvent::Navigate(Page::Pay));
            }
        }
        self.health_at = Some(now);
        self.refresh.start(now);
        // What was stored says how late it has been; a clock now behind that
        // was corrected since (or is wrong now): pull the timers in.
        self.latest = Some(seen.max(now));
        self.watch_clock(now, out);
    }

    // ---- who is at the register ----

    fn on_stored(
        &mut self,
        op: OpId,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(kind) = self.ops.remove(&op) else {
            return;
        };
        match (kind, result) {
            (Op::Load, result) => self.on_load_stored(result, now, out),
            (Op::Cash, result) => {
                self.cash_in_flight = false;
                self.on_sale_stored(result, now, out);
            }
            (Op::Void(order_id), result) => self.on_void_stored(order_id, result, now, out),
            (Op::Refund(id), result) => self.on_refund_stored(id, result, now, out),
            (Op::Card { held, write }, result) => {
                self.on_card_stored(held, write, result, now, out)
            }
            (Op::Sync, result) => self.on_sync_stored(result, now, out),
            (Op::Shift(done), result) => self.on_shift_stored(done, result, now, out),
            (Op::Park(done), result) => self.on_park_stored(done, result, out),
            (Op::SaveSale | Op::RaiseSequence | Op::Desk, Err(e)) => {
                Self::ui(out, UiEvent::Alert(e.to_string()))
            }
            _ => {}
        }
    }

    fn on_load_stored(
        &mut self,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match result {
            Ok(Stored::Loaded(l)) => self.on_loaded(*l, now, out),
            Err(e) => {
                self.load_at = Some(now + LOAD_RETRY);
                let text = format!("Till could not read its storage: {e}");
                Self::ui(out, UiEvent::Alert(text));
            }
            Ok(_) => {}
        }
    }
}

/// The latest time the stored records show the register has seen: an
/// outbox entry falls due at most one backoff after its last try.
fn latest_stored(l: &Loaded) -> Timestamp {
    let due = l.outbox.latest_due.map(|t| {
        Timestamp::from_millis(
            t.as_millis()
                .saturating_sub(crate::outbox::BACKOFF_CAP.as_millis() as i64),
        )
    });
    let attempts = l.attempts.iter().map(|a| a.updated_at);
    let order = l.sale_order.as_ref().map(|o| o.updated_at);
    attempts
        .chain(due)
        .chain(order)
        .max()
        .unwrap_or(Timestamp::from_millis(i64::MIN))
}
