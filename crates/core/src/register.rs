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

use crate::api::{BatchResult, OrderLookup, StartPayment, StartRefund};
use crate::cart::Cart;
use crate::desk::{Desk, DeskRecord};
use crate::drawer::{CashMovement, MovementKind};
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

/// How often the back office and the bridge are asked whether they are
/// there: "Online" in the status bar means an answer within about this long.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(15);
/// How soon a write that records money (an approval, a close) is tried
/// again after the storage failed: it must not be lost, and storage errors
/// usually clear (the cashier frees space, the tab regains its quota).
pub const MONEY_WRITE_RETRY: Duration = Duration::from_secs(5);
/// How soon reading the register's storage at start is tried again.
pub const LOAD_RETRY: Duration = Duration::from_secs(5);

/// How far back the clock may step before the register treats it as a
/// corrected wrong clock: NTP's small corrections are not.
pub const CLOCK_STEP_BACK: Duration = Duration::from_mins(1);

/// A storage transaction's number, to match its result.
pub type OpId = u64;

/// How the back office or the bridge looks from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Unknown,
    Online,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterConfig {
    pub register: RegisterId,
    pub currency: Currency,
    pub payment: PaymentConfig,
    /// The tablet's zone: minutes ahead of UTC (the business day follows it).
    pub utc_offset_min: i32,
    /// Print the receipt by itself when a sale is paid.
    pub auto_print: bool,
    /// Returns without a receipt (cash only) are allowed on this register
    /// at all (a store's setting); a cashier's also needs a manager's PIN.
    pub returns_without_receipt: bool,
    /// Sign the cashier out after this long with nothing done (`None`: never).
    pub idle_lock: Option<Duration>,
    /// What a cashier may do without a manager.
    pub policy: Policy,
}

/// One storage transaction. Each is all or nothing; `Update` runs
/// [`crate::update::plan`] on a fresh read inside the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTx {
    /// Read what the register needs at start: answered with [`Stored::Loaded`].
    Load,
    /// Write the current sale record: the cart of the stored sale when
    /// `replaces` is `None` (refused with [`UpdateError::SaleFinished`] if
    /// the stored sale is another one: a finished sale never comes back),
    /// or a new sale replacing the finished `replaces`.
    SaveSale {
        sale: Sale,
        replaces: Option<OrderId>,
    },
    Update(Box<UpdateRequest>),
    /// Open, change or close the register's shift (with its outbox entry
    /// and, for a close, its X report made from the records it names).
    Shift(Box<ShiftRequest>),
    /// Write who is at the register (the staff list, the cashier signed in,
    /// each person's PIN tries): answered with [`Stored::Done`].
    SaveDesk(Box<DeskRecord>),
    /// Write a refund by [`crate::update::plan_refund`] on a fresh read of
    /// its order and the order's refunds (with its card part's attempt, when
    /// it has one): answered with [`Stored::Refunded`].
    Refund(Box<RefundRequest>),
    /// Write a return without a receipt by [`crate::update::plan_return`]:
    /// answered with [`Stored::Refunded`].
    Return(Box<ReturnRequest>),
    /// Write a card refund attempt and settle its refund's card part by
    /// [`crate::update::plan_card_refund`] on a fresh read of the refund:
    /// answered with [`Stored::Refunded`].
    CardRefund(Box<Attempt>),
    /// The write-ahead of a card attempt for what a refund still owes, by
    /// [`crate::update::plan_give_owed`] on a fresh read of the order and
    /// its refunds: answered with [`Stored::Refunded`].
    GiveOwed(Box<Attempt>),
    /// Due outbox entries with their orders: answered with [`Stored::Due`].
    LoadDue {
        limit: usize,
        now: Timestamp,
    },
    /// Write outbox changes, skipping entries that no longer exist (a sale
    /// superseded them meanwhile): answered with [`Stored::Outbox`].
    ApplyOutbox(Vec<OutboxChange>),
    /// Every pending entry due at `now`: answered with [`Stored::Outbox`].
    RetryNow {
        now: Timestamp,
    },
    /// A parked entry back in the queue: answered with [`Stored::Outbox`].
    Unpark {
        order_id: OrderId,
        version: u32,
        now: Timestamp,
    },
    /// Park the current sale's cart (`cart`, whose id is the stored sale's)
    /// and start `next`, by [`crate::park::plan_park`]: answered with
    /// [`Stored::Parked`].
    Park {
        cart: Box<ParkedCart>,
        next: Sale,
    },
    /// Resume parked cart `id` in place of the empty current sale `current`,
    /// by [`crate::park::plan_resume`]: answered with [`Stored::Parked`].
    Resume {
        id: OrderId,
        current: OrderId,
    },
    /// Raise the day's sequence to at least `seen`.
    RaiseSequence {
        date: BusinessDate,
        seen: u32,
    },
}

/// What the register reads at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loaded {
    pub sale: Option<Sale>,
    /// The stored order whose id is the sale's, if it exists.
    pub sale_order: Option<Order>,
    /// Every attempt that is live or in doubt, whatever its order.
    pub attempts: Vec<Attempt>,
    pub outbox: OutboxSummary,
    /// The carts parked on this register.
    pub parked: Vec<ParkedCart>,
    /// Who is at the register, as last stored.
    pub desk: Option<DeskRecord>,
    /// The register's open shift, if any.
    pub shift: Option<Shift>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Loaded(Box<Loaded>),
    Updated(Box<Updated>),
    Refunded(Box<Refund>),
    /// A shift as written (or found written, for a repeated open).
    Shift(Box<Shift>),
    /// The current sale and the parked carts, after a park or a resume.
    Parked {
        sale: Sale,
        parked: Vec<ParkedCart>,
    },
    Due(DueBatch),
    Outbox(OutboxSummary),
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreFailure {
    /// A rule refused the change; nothing was written.
    Refused(UpdateError),
    /// The storage failed (quota, I/O); nothing was written.
    Io(String),
}

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreFailure::Refused(e) => e.fmt(f),
            StoreFailure::Io(e) => f.write_str(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeCall {
    /// `GET /v1/health`: answered with [`Input::BridgeHealth`].
    Health,
    /// `GET /v1/health` before a start: answered with [`Input::Bridge`],
    /// `to: Request::Probe`.
    Probe {
        reference: PaymentRef,
    },
    Start(StartPayment),
    /// `POST /v1/refunds`: answered like a start, `to: Request::Start`.
    StartRefund(StartRefund),
    Status {
        reference: PaymentRef,
        to: Request,
    },
    Cancel {
        reference: PaymentRef,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OmsCall {
    Health,
    /// `POST /orders:batch`: the orders, then the refunds.
    SendBatch {
        batch: u64,
        orders: Vec<Order>,
        refunds: Vec<Refund>,
        shifts: Vec<Shift>,
    },
    Lookup {
        order_id: OrderId,
    },
    /// This register's orders of a day (to align the sequence).
    Day {
        date: BusinessDate,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OmsReply {
    Health {
        reachable: bool,
    },
    Batch {
        batch: u64,
        result: Result<Vec<BatchResult>, NetFailure>,
    },
    Lookup {
        order_id: OrderId,
        result: Result<Option<Box<OrderLookup>>, NetFailure>,
    },
    Day {
        date: BusinessDate,
        result: Result<Vec<OrderNumber>, NetFailure>,
    },
}

/// What the cashier (or the manager) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The sign-in screen: `person` entered `pin`.
    SignIn {
        person: StaffId,
        pin: String,
    },
    /// "Switch cashier": back to the sign-in screen; the sale stays.
    SignOut,
    /// The manager's PIN for the action waiting for approval
    /// ([`Register::awaiting_approval`]).
    Approve {
        person: StaffId,
        pin: String,
    },
    /// The approval is not given: the action waiting for it is dropped.
    CancelApproval,
    /// Settings → Save: answered with [`UiEvent::Authorized`] once the
    /// cashier may (a manager, or with a manager's PIN).
    AuthorizeSettings,
    EditCart(Cart),
    PayCash {
        received: Money,
    },
    PayCard,
    CancelCard,
    Resync,
    CloseCard,
    Void {
        order_id: OrderId,
    },
    /// Register Sales → the order → Options → Download.
    Download {
        order_id: OrderId,
    },
    /// Register Sales → the order → Refund → Confirm: give back `returns`
    /// to `tenders` as the cashier chose (`None`: as suggested). `id` comes
    /// from [`Register::new_refund_id`] when the refund screen opened: a
    /// repeated Confirm names the same refund. A part going back to a card
    /// opens the card popup (as a payment does); the refund is written,
    /// that part pending, before the request leaves for the bridge.
    Refund {
        id: RefundId,
        order_id: OrderId,
        returns: Vec<Returned>,
        /// Give back the tips of the order's card payments too.
        tip: bool,
        reason: Option<RefundReason>,
        tenders: Option<Vec<(TenderKey, Money)>>,
    },
    /// The refund screen → "Refund €x to the card again": what refund
    /// `refund_id` still owes after a failed card part goes back to the card
    /// of payment `original`, through the card popup.
    RetryRefundCard {
        refund_id: RefundId,
        order_id: OrderId,
        original: PaymentRef,
        amount: Money,
    },
    /// Register Sales → Return without receipt → Confirm: `cart` holds the
    /// items brought back, at today's prices; all of it goes back in cash.
    /// Refused unless the register's settings allow it.
    ReturnWithoutReceipt {
        id: RefundId,
        cart: Cart,
        reason: Option<RefundReason>,
    },
    Unpark {
        order_id: OrderId,
        version: u32,
    },
    /// "Park": the current cart aside as `label` ("Cart n" when empty); a
    /// new, empty sale starts.
    Park {
        label: String,
    },
    /// "Parked (n)" → one of them: it becomes the current sale (the current
    /// cart must be empty).
    Resume {
        id: OrderId,
    },
    /// Sync now (the status bar, a test).
    SyncNow,
    /// Open a shift with the float counted in the drawer.
    OpenShift {
        float: CashCount,
    },
    /// Paid in or out of the drawer, with a reason.
    MoveCash {
        kind: MovementKind,
        amount: Money,
        reason: String,
    },
    /// Open the drawer with no sale.
    NoSale,
    /// Close the shift with the cash counted: the Z report follows.
    CloseShift {
        count: CashCount,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Cashier(Action),
    Stored {
        op: OpId,
        result: Result<Stored, StoreFailure>,
    },
    Bridge {
        reference: PaymentRef,
        to: Request,
        reply: Reply,
    },
    /// The health check's answer, or why it did not ask.
    BridgeHealth {
        link: crate::lan::BridgeLink,
    },
    Oms(OmsReply),
    /// The store's staff list, downloaded with the catalog.
    Staff(Vec<StaffMember>),
    /// The browser says the network is back.
    Online,
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Register,
    Pay,
}

/// A message on the register page after a sale ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    /// The order whose receipt "Print receipt" prints.
    pub receipt: Option<OrderId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiEvent {
    Navigate(Page),
    /// Shown on the payment page (why a card payment ended, a refused cash amount).
    PayMessage(String),
    /// Shown on the register page (why the cart cannot change).
    RegisterMessage(String),
    Notice(Notice),
    /// Something the cashier must see wherever they are.
    Alert(String),
    Print(OrderId),
    /// An order was written: pages showing it read it again.
    OrderWritten(OrderId),
    /// The answer to an action on one order (Void, Download).
    OrderMessage {
        order_id: OrderId,
        text: String,
    },
    /// A refund is written (or was, for a repeated Confirm): what to give
    /// back, and the refund receipt to print.
    Refunded(Box<Refund>),
    /// Why a refund was not written; nothing was.
    RefundRefused {
        id: RefundId,
        text: String,
    },
    /// Why the sign-in screen did not sign anyone in.
    SignInRefused(String),
    /// Why a manager's PIN did not approve the action waiting for it.
    ApprovalRefused(String),
    /// The action may go ahead (Settings → Save).
    Authorized(Guarded),
    /// The register's shift as written: opened, changed, or closed (then
    /// its Z report prints).
    ShiftWritten(Box<Shift>),
    /// What was done to the shift ("Shift opened.", "Drawer opened (no
    /// sale)."): the shift page says it.
    ShiftDone(String),
    /// Why a shift was not opened, changed or closed; nothing was written.
    ShiftRefused(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Effect {
    Store { op: OpId, tx: StoreTx },
    Bridge(BridgeCall),
    Oms(OmsCall),
    Ui(UiEvent),
}

/// The status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub oms: Reach,
    pub bridge: crate::lan::BridgeLink,
    pub unsynced: usize,
    pub parked: usize,
    pub progress: Option<(usize, usize)>,
}

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
    /// A payment session's write, and the commands held back until it is on disk.
    Session {
        reference: PaymentRef,
        rest: Vec<payment::Command>,
        write_ahead: bool,
        req: Box<UpdateRequest>,
    },
    /// A card refund session's write (the refund itself, when `write_ahead`),
    /// and the commands held back until it is on disk.
    RefundSession {
        reference: PaymentRef,
        rest: Vec<payment::Command>,
        write_ahead: bool,
        attempt: Box<Attempt>,
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
    Order(Box<UpdateRequest>),
    Refund(Box<Attempt>),
    /// A failed write of a live attempt: the popup shows the stored state
    /// until storage holds the session's attempt as it is then (never the
    /// one that failed, which a later write may have overtaken).
    Latest,
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
        RefundId::from_outbox_id(self.new_order_id(now))
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
        let (sync, health, idle) = if self.loaded {
            (
                self.sync.poll_timeout(),
                self.health_at,
                self.desk.poll_timeout(),
            )
        } else {
            (None, None, None)
        };
        sessions
            .chain(retries)
            .chain(sync)
            .chain(health)
            .chain(idle)
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
            Input::Staff(staff) => self.on_staff(staff, now, &mut out),
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
        self.health_at = Some(now);
        self.sync_event(SyncEvent::ClockSteppedBack, now, out);
    }

    fn after(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        if self.loaded {
            let cmds = self.sync.on_tick(now);
            self.sync_commands(cmds, now, out);
            self.align(now, out);
        }
        // Settled attempts leave; the popup closes with its attempt.
        if !self.popup_open() {
            self.live = None;
        }
        let held: BTreeSet<PaymentRef> = self
            .ops
            .values()
            .filter_map(|op| match op {
                Op::Session { reference, .. } | Op::RefundSession { reference, .. } => {
                    Some(*reference)
                }
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
                Retry::Order(mut req) => {
                    // Written now: the time it was first decided may have come
                    // from a clock that has since been corrected.
                    req.at = now;
                    let kind = Op::Session {
                        reference,
                        rest: Vec::new(),
                        write_ahead: false,
                        req: req.clone(),
                    };
                    self.store(kind, StoreTx::Update(req), out);
                }
                Retry::Refund(attempt) => {
                    self.refund_session_write(reference, *attempt, Vec::new(), out)
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
        // What was stored says how late it has been; a clock now behind that
        // was corrected since (or is wrong now): pull the timers in.
        self.latest = Some(seen.max(now));
        self.watch_clock(now, out);
    }

    // ---- who is at the register ----

    /// The stored desk at start; a staff list downloaded meanwhile is newer.
    fn load_desk(&mut self, stored: Option<DeskRecord>, now: Timestamp, out: &mut Vec<Effect>) {
        let fresher = (!self.desk.staff().is_empty()).then(|| self.desk.staff().to_vec());
        self.desk = Desk::new(stored.unwrap_or_default());
        self.desk.set_idle_lock(self.config.idle_lock, now);
        if let Some(staff) = fresher {
            self.desk.set_staff(staff);
            self.save_desk(out);
        }
    }

    fn on_staff(&mut self, staff: Vec<StaffMember>, now: Timestamp, out: &mut Vec<Effect>) {
        if staff == self.desk.staff() {
            return;
        }
        self.desk.set_staff(staff);
        if !self.loaded {
            // Kept until the stored desk is read (`load_desk`).
            return;
        }
        self.desk.touch(now);
        self.save_desk(out);
    }

    fn save_desk(&mut self, out: &mut Vec<Effect>) {
        let tx = StoreTx::SaveDesk(Box::new(self.desk.record().clone()));
        self.store(Op::Desk, tx, out);
    }

    fn sign_in(&mut self, person: &StaffId, pin: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let result = self.desk.sign_in(person, pin, now);
        // A wrong PIN is stored too: a reload must not reset a lock-out.
        self.save_desk(out);
        if let Err(e) = result {
            Self::ui(out, UiEvent::SignInRefused(e.to_string()));
        }
    }

    /// Selling, refunding, voiding and parking need someone signed in; the
    /// card popup's buttons, sync and downloads do not (a payment on
    /// screen is finished whoever is at the register). Anything done keeps
    /// the idle lock away.
    fn may_act(&mut self, action: &Action, now: Timestamp, out: &mut Vec<Effect>) -> bool {
        self.desk.touch(now);
        let needs_cashier = !matches!(
            action,
            Action::SignIn { .. }
                | Action::SignOut
                | Action::CancelCard
                | Action::Resync
                | Action::CloseCard
                | Action::Download { .. }
                | Action::SyncNow
        );
        if needs_cashier && self.desk.cashier().is_none() {
            Self::ui(
                out,
                UiEvent::Alert("Sign in first: nobody is signed in on this register.".into()),
            );
            return false;
        }
        let needs_shift = matches!(
            action,
            Action::EditCart(_)
                | Action::PayCash { .. }
                | Action::PayCard
                | Action::Refund { .. }
                | Action::RetryRefundCard { .. }
                | Action::ReturnWithoutReceipt { .. }
                | Action::MoveCash { .. }
                | Action::NoSale
                | Action::CloseShift { .. }
        );
        if needs_shift && self.shift.is_none() {
            Self::ui(
                out,
                UiEvent::Alert(
                    "Open a shift first: count the float in the drawer (Shift → Open shift)."
                        .into(),
                ),
            );
            return false;
        }
        true
    }

    // ---- the shift ----

    /// A new shift with the float counted: refused while one is open.
    fn open_shift(&mut self, float: CashCount, now: Timestamp, out: &mut Vec<Effect>) {
        if self.shift.is_some() {
            let text = "A shift is already open on this register: close it first.".to_string();
            return Self::ui(out, UiEvent::ShiftRefused(text));
        }
        let change = ShiftChange::Open {
            register: self.config.register.clone(),
            currency: self.config.currency,
            float,
        };
        let id = ShiftId::from_outbox_id(self.new_order_id(now));
        self.write_shift(id, 0, change, "Shift opened.", now, out);
    }

    /// Closes the open shift with the count: refused while the sale on
    /// screen has money on it (it belongs to one shift or the next).
    fn close_shift(&mut self, count: CashCount, now: Timestamp, out: &mut Vec<Effect>) {
        let paying = self.popup_open()
            || self
                .sale_order
                .as_ref()
                .is_some_and(|o| !o.tenders.is_empty());
        if paying {
            let text = "Finish the payment of the sale on screen first.".to_string();
            return Self::ui(out, UiEvent::ShiftRefused(text));
        }
        match BusinessDate::at(now, self.config.utc_offset_min) {
            Ok(date) => {
                let change = ShiftChange::Close { count, date };
                self.change_shift(change, "Shift closed.", now, out)
            }
            Err(e) => Self::ui(out, UiEvent::ShiftRefused(e.to_string())),
        }
    }

    /// A change to the open shift (at the version the register holds).
    fn change_shift(
        &mut self,
        change: ShiftChange,
        done: &'static str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some((id, version)) = self.shift.as_ref().map(|s| (s.id, s.version)) else {
            return;
        };
        self.write_shift(id, version, change, done, now, out);
    }

    fn write_shift(
        &mut self,
        id: ShiftId,
        version: u32,
        change: ShiftChange,
        done: &'static str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(by) = self.desk.cashier_ref() else {
            return;
        };
        if self.ops.values().any(|op| matches!(op, Op::Shift(_))) {
            // A second tap: the write in flight answers for both.
            return;
        }
        let req = ShiftRequest {
            id,
            version,
            change,
            by,
            at: now,
        };
        self.store(Op::Shift(done), StoreTx::Shift(Box::new(req)), out);
    }

    fn on_shift_stored(
        &mut self,
        done: &'static str,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match result {
            Ok(Stored::Shift(shift)) => {
                self.shift = shift.is_open().then(|| (*shift).clone());
                Self::ui(out, UiEvent::ShiftWritten(shift));
                if !done.is_empty() {
                    Self::ui(out, UiEvent::ShiftDone(done.into()));
                }
                self.sync_event(SyncEvent::Woken, now, out);
            }
            Err(e) => Self::ui(out, UiEvent::ShiftRefused(e.to_string())),
            Ok(_) => {}
        }
    }

    fn new_sale(&mut self, replaces: Option<OrderId>, now: Timestamp, out: &mut Vec<Effect>) {
        let sale = Sale {
            id: self.new_order_id(now),
            cart: Cart::new(self.config.currency),
        };
        self.sale = Some(sale.clone());
        self.sale_order = None;
        self.store(Op::SaveSale, StoreTx::SaveSale { sale, replaces }, out);
    }

    // ---- the cashier ----

    fn on_action(&mut self, action: Action, now: Timestamp, out: &mut Vec<Effect>) {
        if !self.loaded {
            Self::ui(
                out,
                UiEvent::Alert("Till is still starting: try again in a moment.".into()),
            );
            return;
        }
        if !self.may_act(&action, now, out) {
            return;
        }
        match action {
            Action::Approve { person, pin } => return self.approve(&person, &pin, now, out),
            Action::CancelApproval => {
                self.held = None;
                return;
            }
            _ => {}
        }
        if let Some(what) = self.guarded(&action) {
            let role = self.desk.cashier().map(|c| c.role);
            if role.is_none_or(|r| needs_manager(r, what, &self.config.policy)) {
                // Waits for a manager's PIN (the screen asks for it).
                self.held = Some(Held { action, what });
                return;
            }
            // A manager's own large discount or price override is approved
            // by them: the cart keeps it, so a cashier who goes on with the
            // sale is not asked.
            if let (Action::EditCart(mut cart), Some(by)) =
                (action.clone(), self.desk.cashier_ref())
            {
                if matches!(what, Guarded::Discount { .. } | Guarded::PriceOverride) {
                    cart.approvals.push(Approval { by, at: now, what });
                    return self.edit_cart(cart, out);
                }
            }
        }
        self.run_action(action, now, out);
    }

    /// Which guarded action `action` is, if any: a void, a refund, a return
    /// without a receipt, a price override the sale did not have, a
    /// discount above what the cart's approvals cover, No sale, changing
    /// Settings.
    fn guarded(&self, action: &Action) -> Option<Guarded> {
        match action {
            Action::Void { .. } => Some(Guarded::Void),
            Action::Refund { .. } => Some(Guarded::Refund),
            Action::ReturnWithoutReceipt { .. } => Some(Guarded::ReturnWithoutReceipt),
            Action::AuthorizeSettings => Some(Guarded::ChangeSettings),
            Action::NoSale => Some(Guarded::NoSale),
            Action::EditCart(cart)
                if cart.overrides_beyond(self.sale.as_ref().map(|s| &s.cart)) =>
            {
                Some(Guarded::PriceOverride)
            }
            Action::EditCart(cart) => {
                let bp = cart.largest_discount_bp().unwrap_or(0);
                let over = bp > self.config.policy.discount_threshold_bp;
                (over && !cart.discount_approved(bp))
                    .then_some(Guarded::Discount { basis_points: bp })
            }
            _ => None,
        }
    }

    /// A manager entered their PIN for the held action: it runs, and its
    /// record keeps the approval. A wrong PIN counts towards that
    /// manager's lock-out, and the action stays held.
    fn approve(&mut self, person: &StaffId, pin: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(held) = self.held.take() else {
            return;
        };
        let result = self.desk.approve(person, pin, now);
        self.save_desk(out);
        let by = match result {
            Ok(by) => by,
            Err(e) => {
                self.held = Some(held);
                return Self::ui(out, UiEvent::ApprovalRefused(e.to_string()));
            }
        };
        let approval = Approval {
            by,
            at: now,
            what: held.what,
        };
        match held.action {
            Action::EditCart(mut cart) => {
                cart.approvals.push(approval);
                self.edit_cart(cart, out);
            }
            action => {
                self.approval = Some(approval);
                self.run_action(action, now, out);
                self.approval = None;
            }
        }
    }

    fn run_action(&mut self, action: Action, now: Timestamp, out: &mut Vec<Effect>) {
        match action {
            Action::SignIn { person, pin } => self.sign_in(&person, &pin, now, out),
            Action::SignOut => {
                self.held = None;
                self.desk.sign_out();
                self.save_desk(out);
            }
            Action::Approve { .. } | Action::CancelApproval => {}
            Action::AuthorizeSettings => {
                Self::ui(out, UiEvent::Authorized(Guarded::ChangeSettings))
            }
            Action::EditCart(cart) => self.edit_cart(cart, out),
            Action::PayCash { received } => self.pay_cash(received, now, out),
            Action::PayCard => self.pay_card(now, out),
            Action::CancelCard => self.feed_live(Event::CancelPressed, now, out),
            Action::Resync => self.feed_live(Event::ResyncPressed, now, out),
            Action::CloseCard => self.feed_live(Event::ClosePressed, now, out),
            Action::Void { order_id } => {
                let req = UpdateRequest {
                    order_id,
                    change: Change::Void {
                        by: self.desk.cashier_ref(),
                        approval: self.approval.clone(),
                    },
                    origin: None,
                    next_sale: self.new_order_id(now),
                    at: now,
                };
                self.store(Op::Void(order_id), StoreTx::Update(Box::new(req)), out);
            }
            Action::Download { order_id } => self.download(order_id, now, out),
            Action::Refund {
                id,
                order_id,
                returns,
                tip,
                reason,
                tenders,
            } => {
                let Some(date) = self.refund_day(id, now, out) else {
                    return;
                };
                let req = RefundRequest {
                    id,
                    order_id,
                    register: self.config.register.clone(),
                    date,
                    returns,
                    tip,
                    reason,
                    tenders,
                    card: None,
                    cashier: self.desk.cashier_ref(),
                    approval: self.approval.clone(),
                    shift: self.shift.as_ref().map(|s| s.id),
                    at: now,
                };
                self.refund(req, now, out)
            }
            Action::RetryRefundCard {
                refund_id,
                order_id,
                original,
                amount,
            } => {
                let part = CardPart {
                    link: RefundLink {
                        refund_id,
                        original,
                    },
                    order_id,
                    amount,
                };
                self.start_card_refund(None, part, now, out)
            }
            Action::ReturnWithoutReceipt { id, cart, reason } => {
                self.return_without_receipt(id, cart, reason, now, out)
            }
            Action::Unpark { order_id, version } => {
                let tx = StoreTx::Unpark {
                    order_id,
                    version,
                    now,
                };
                self.store(Op::Sync, tx, out);
            }
            Action::Park { label } => self.park(&label, now, out),
            Action::Resume { id } => self.resume(id, out),
            Action::SyncNow => self.sync_event(SyncEvent::Woken, now, out),
            Action::OpenShift { float } => self.open_shift(float, now, out),
            Action::MoveCash {
                kind,
                amount,
                reason,
            } => match CashMovement::new(kind, amount, &reason, now) {
                Ok(m) => self.change_shift(ShiftChange::Move(m), "", now, out),
                Err(e) => Self::ui(out, UiEvent::ShiftRefused(e.to_string())),
            },
            Action::NoSale => {
                let change = ShiftChange::NoSale {
                    approval: self.approval.clone(),
                };
                self.change_shift(change, "Drawer opened (no sale).", now, out)
            }
            Action::CloseShift { count } => self.close_shift(count, now, out),
        }
    }

    fn refund(&mut self, req: RefundRequest, now: Timestamp, out: &mut Vec<Effect>) {
        let id = req.id;
        let card = match card_part(req.tenders.as_deref().unwrap_or_default()) {
            Ok(card) => card,
            Err(e) => {
                let text = e.to_string();
                return Self::ui(out, UiEvent::RefundRefused { id, text });
            }
        };
        match card {
            None => self.store(Op::Refund(id), StoreTx::Refund(Box::new(req)), out),
            Some((original, amount)) => {
                let part = CardPart {
                    link: RefundLink {
                        refund_id: id,
                        original,
                    },
                    order_id: req.order_id,
                    amount,
                };
                self.start_card_refund(Some(req), part, now, out)
            }
        }
    }

    /// Today's business day for refund `id`, or (a clock outside the
    /// years Till numbers) the refusal that says so.
    fn refund_day(
        &self,
        id: RefundId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Option<BusinessDate> {
        match BusinessDate::at(now, self.config.utc_offset_min) {
            Ok(d) => Some(d),
            Err(e) => {
                let text = e.to_string();
                Self::ui(out, UiEvent::RefundRefused { id, text });
                None
            }
        }
    }

    fn return_without_receipt(
        &mut self,
        id: RefundId,
        cart: Cart,
        reason: Option<RefundReason>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !self.config.returns_without_receipt {
            let text = "Returns without a receipt are not allowed on this register: a manager can allow them in Settings.".to_string();
            return Self::ui(out, UiEvent::RefundRefused { id, text });
        }
        let Some(date) = self.refund_day(id, now, out) else {
            return;
        };
        let req = ReturnRequest {
            id,
            register: self.config.register.clone(),
            date,
            cart,
            reason,
            cashier: self.desk.cashier_ref(),
            approval: self.approval.clone(),
            shift: self.shift.as_ref().map(|s| s.id),
            at: now,
        };
        self.store(Op::Refund(id), StoreTx::Return(Box::new(req)), out);
    }

    /// A refund's card part (new, or for what a refund owes): the card
    /// popup opens and probes the bridge; the refund is written (the part
    /// pending) once it answers.
    fn start_card_refund(
        &mut self,
        req: Option<RefundRequest>,
        part: CardPart,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let id = part.link.refund_id;
        let running = self.attempts().any(|a| {
            a.refund.is_some_and(|l| l.refund_id == id)
                && (a.state.is_live() || a.state.is_in_doubt())
        });
        if running {
            return; // A repeated tap: the card part is on its way.
        }
        if self.is_busy() {
            let text = OrderError::CardInProgress.to_string();
            return Self::ui(out, UiEvent::RefundRefused { id, text });
        }
        let reference = self.new_reference();
        let config = self.config.payment;
        let CardPart {
            link,
            order_id,
            amount,
        } = part;
        match PaymentSession::start_refund(reference, order_id, amount, link, config, now) {
            Ok((session, cmds)) => {
                self.sessions.insert(reference, session);
                self.live = Some(reference);
                self.refund_requests.insert(reference, req);
                self.session_commands(reference, cmds, now, out);
            }
            Err(e) => {
                let text = e.to_string();
                Self::ui(out, UiEvent::RefundRefused { id, text })
            }
        }
    }

    /// Whether the current sale may make way for another (park, resume):
    /// nothing paid, no card payment live, no cash being recorded.
    fn sale_may_move(&self) -> Result<(), UpdateError> {
        self.cart_locked()?;
        if self.sale_order.is_some() {
            return Err(ParkError::HasPayment.into());
        }
        Ok(())
    }

    fn park(&mut self, label: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let parked = self.sale_may_move().and_then(|()| {
            let sale = self.sale.as_ref().ok_or(ParkError::SaleMoved)?;
            Ok(park(sale, label, &self.parked, now)?)
        });
        let cart = match parked {
            Ok(c) => c,
            Err(e) => return Self::ui(out, UiEvent::RegisterMessage(e.to_string())),
        };
        let next = Sale {
            id: self.new_order_id(now),
            cart: Cart::new(self.config.currency),
        };
        let done = format!("Parked \"{}\". Ready for the next customer.", cart.label);
        let tx = StoreTx::Park {
            cart: Box::new(cart),
            next,
        };
        self.store(Op::Park(done), tx, out);
    }

    fn resume(&mut self, id: OrderId, out: &mut Vec<Effect>) {
        let checked = self.sale_may_move().and_then(|()| {
            let sale = self.sale.as_ref().ok_or(ParkError::SaleMoved)?;
            if !sale.cart.is_empty() {
                return Err(ParkError::CartNotEmpty.into());
            }
            let p = self.parked.iter().find(|p| p.id == id);
            let label = p.ok_or(ParkError::NoSuchCart)?.label.clone();
            Ok((sale.id, label))
        });
        match checked {
            Ok((current, label)) => {
                let tx = StoreTx::Resume { id, current };
                self.store(Op::Park(format!("Resumed \"{label}\".")), tx, out);
            }
            Err(e) => Self::ui(out, UiEvent::RegisterMessage(e.to_string())),
        }
    }

    fn edit_cart(&mut self, cart: Cart, out: &mut Vec<Effect>) {
        if let Err(e) = self.cart_locked() {
            Self::ui(out, UiEvent::RegisterMessage(e.to_string()));
            return;
        }
        let Some(sale) = self.sale.as_mut() else {
            return;
        };
        if sale.cart == cart {
            return;
        }
        sale.cart = cart;
        let sale = sale.clone();
        let tx = StoreTx::SaveSale {
            sale,
            replaces: None,
        };
        self.store(Op::SaveSale, tx, out);
    }

    /// The current sale's origin for a new order: its cart, numbered on
    /// today's business day (or the clock error the cashier must fix).
    fn origin(&self, now: Timestamp) -> Result<Origin, OrderError> {
        let sale = self.sale.as_ref().ok_or(OrderError::Empty)?;
        if sale.cart.is_empty() {
            return Err(OrderError::Empty);
        }
        Ok(Origin {
            register: self.config.register.clone(),
            date: BusinessDate::at(now, self.config.utc_offset_min)?,
            cart: sale.cart.clone(),
            cashier: self.desk.cashier_ref(),
            shift: self.shift.as_ref().map(|s| s.id),
        })
    }

    fn pay_cash(&mut self, received: Money, now: Timestamp, out: &mut Vec<Effect>) {
        if self.cash_in_flight {
            return; // A double tap: the first one is running.
        }
        if self.popup_open() {
            Self::ui(
                out,
                UiEvent::PayMessage(OrderError::CardInProgress.to_string()),
            );
            return;
        }
        let checked = self.origin(now).and_then(|origin| {
            let due = self.due().ok_or(OrderError::Empty)?;
            check_cash(received, due)?;
            Ok(origin)
        });
        let origin = match checked {
            Ok(o) => o,
            Err(e) => return Self::ui(out, UiEvent::PayMessage(e.to_string())),
        };
        let Some(sale) = &self.sale else { return };
        let req = UpdateRequest {
            order_id: sale.id,
            change: Change::Cash { received },
            origin: Some(origin),
            next_sale: self.new_order_id(now),
            at: now,
        };
        self.cash_in_flight = true;
        self.store(Op::Cash, StoreTx::Update(Box::new(req)), out);
    }

    fn pay_card(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        if self.is_busy() {
            return; // A double tap, or a card payment already live.
        }
        let checked = self.origin(now).and_then(|_| {
            if let Some(o) = &self.sale_order {
                o.accepts_payment(self.attempts())?;
            }
            self.due().ok_or(OrderError::Empty)
        });
        let due = match checked {
            Ok(d) => d,
            Err(e) => return Self::ui(out, UiEvent::PayMessage(e.to_string())),
        };
        let Some(sale_id) = self.sale.as_ref().map(|s| s.id) else {
            return;
        };
        let reference = self.new_reference();
        match PaymentSession::start(reference, sale_id, due, self.config.payment, now) {
            Ok((session, cmds)) => {
                self.sessions.insert(reference, session);
                self.live = Some(reference);
                self.session_commands(reference, cmds, now, out);
            }
            Err(e) => Self::ui(out, UiEvent::PayMessage(e.to_string())),
        }
    }

    fn feed_live(&mut self, event: Event, now: Timestamp, out: &mut Vec<Effect>) {
        if let Some(r) = self.live {
            self.feed(r, event, now, out);
        }
    }

    fn download(&mut self, order_id: OrderId, now: Timestamp, out: &mut Vec<Effect>) {
        let closed: Vec<PaymentRef> = self
            .sessions
            .values()
            .filter(|s| s.attempt().order_id == order_id)
            .map(PaymentSession::reference)
            .collect();
        for r in closed {
            self.feed(r, Event::ReconcileNow, now, out);
        }
        self.downloads.insert(order_id);
        self.lookup(order_id, out);
    }

    fn lookup(&mut self, order_id: OrderId, out: &mut Vec<Effect>) {
        if self.lookups.insert(order_id) {
            out.push(Effect::Oms(OmsCall::Lookup { order_id }));
        }
    }

    // ---- payment sessions ----

    /// Routes an event to the attempt it is about; an attempt the register
    /// no longer tracks (settled) ignores it.
    fn feed(&mut self, reference: PaymentRef, event: Event, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = self.sessions.get_mut(&reference) else {
            return;
        };
        let cmds = session.handle(event, now);
        self.session_commands(reference, cmds, now, out);
    }

    /// Carries out a session's commands in order; a write holds back the
    /// rest until the store confirms it.
    fn session_commands(
        &mut self,
        reference: PaymentRef,
        cmds: Vec<payment::Command>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let mut rest = cmds.into_iter().peekable();
        while let Some(cmd) = rest.next() {
            let change = match cmd {
                payment::Command::Save(attempt) => {
                    let write_ahead = attempt.state == AttemptState::Requested
                        && matches!(rest.peek(), Some(payment::Command::Start { .. }));
                    let held = rest.collect();
                    return match (write_ahead, attempt.refund.is_some()) {
                        (true, false) => self.write_ahead(reference, attempt, held, now, out),
                        (true, true) => self.write_ahead_refund(reference, attempt, held, now, out),
                        (false, true) => self.refund_session_write(reference, attempt, held, out),
                        (false, false) => {
                            let change = Change::Attempt(attempt);
                            self.session_write(reference, change, None, held, now, out)
                        }
                    };
                }
                // A refund's attempt settles its refund, never the order.
                payment::Command::Record { attempt, .. } if attempt.refund.is_some() => {
                    return self.refund_session_write(reference, attempt, rest.collect(), out);
                }
                payment::Command::Record {
                    attempt,
                    settlement,
                } => Change::Settle {
                    attempt,
                    settlement,
                },
                other => {
                    self.session_io(reference, other, out);
                    continue;
                }
            };
            // A write holds back the rest until the store confirms it.
            return self.session_write(reference, change, None, rest.collect(), now, out);
        }
    }

    /// The write-ahead record of an attempt, which also creates the sale's
    /// order if needed (it needs the cart and today's date); the start
    /// request waits for it.
    fn write_ahead(
        &mut self,
        reference: PaymentRef,
        attempt: Attempt,
        held: Vec<payment::Command>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match self.origin(now) {
            Ok(origin) => {
                let change = Change::CardRequested { attempt };
                self.session_write(reference, change, Some(origin), held, now, out)
            }
            Err(e) => {
                let reason = e.to_string();
                self.feed(reference, Event::NotSaved { reason }, now, out)
            }
        }
    }

    /// The write-ahead record of a card refund: the refund itself, its card
    /// part pending under this attempt, and the attempt, in one transaction;
    /// the start request waits for it.
    fn write_ahead_refund(
        &mut self,
        reference: PaymentRef,
        attempt: Attempt,
        held: Vec<payment::Command>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let kind = Op::RefundSession {
            reference,
            rest: held,
            write_ahead: true,
            attempt: Box::new(attempt.clone()),
        };
        let mut req = match self.refund_requests.remove(&reference) {
            Some(Some(req)) => req,
            // A part for what a written refund owes.
            Some(None) => return self.store(kind, StoreTx::GiveOwed(Box::new(attempt)), out),
            None => {
                let reason = "the refund to write was lost".to_string();
                return self.feed(reference, Event::NotSaved { reason }, now, out);
            }
        };
        // Written now: the clock may have been corrected since Confirm (the
        // probe ran meanwhile), and the refund is numbered, dated and queued
        // by the time it is written, as a sale's first write is.
        req.card = Some(attempt.clone());
        req.at = now;
        if let Ok(date) = BusinessDate::at(now, self.config.utc_offset_min) {
            req.date = date;
        }
        self.store(kind, StoreTx::Refund(Box::new(req)), out);
    }

    /// A card refund attempt's new state, and its refund's card part with it.
    fn refund_session_write(
        &mut self,
        reference: PaymentRef,
        attempt: Attempt,
        rest: Vec<payment::Command>,
        out: &mut Vec<Effect>,
    ) {
        let kind = Op::RefundSession {
            reference,
            rest,
            write_ahead: false,
            attempt: Box::new(attempt.clone()),
        };
        self.store(kind, StoreTx::CardRefund(Box::new(attempt)), out);
    }

    /// A session's request to the bridge or the back office, or its word
    /// for the screen.
    fn session_io(&mut self, from: PaymentRef, cmd: payment::Command, out: &mut Vec<Effect>) {
        let call = match cmd {
            payment::Command::Probe { reference } => BridgeCall::Probe { reference },
            payment::Command::Start {
                reference,
                order_id,
                amount,
                refund_of: Some(original),
                ..
            } => BridgeCall::StartRefund(StartRefund {
                reference,
                original,
                order_id,
                amount,
            }),
            payment::Command::Start {
                reference,
                order_id,
                amount,
                refund_of: None,
                ask_tip,
            } => BridgeCall::Start(StartPayment {
                reference,
                order_id,
                amount,
                ask_tip,
            }),
            payment::Command::QueryStatus { reference, request } => BridgeCall::Status {
                reference,
                to: request,
            },
            payment::Command::Cancel { reference } => BridgeCall::Cancel { reference },
            payment::Command::LookupOms { order_id, .. } => return self.lookup(order_id, out),
            payment::Command::ReturnToPayment { message } => {
                let refund = self.sessions.get(&from).and_then(|s| s.attempt().refund);
                let e = match refund {
                    Some(link) => UiEvent::RefundRefused {
                        id: link.refund_id,
                        text: message,
                    },
                    None => UiEvent::PayMessage(message),
                };
                return Self::ui(out, e);
            }
            payment::Command::Save(_) | payment::Command::Record { .. } => return,
        };
        out.push(Effect::Bridge(call));
    }

    fn session_write(
        &mut self,
        reference: PaymentRef,
        change: Change,
        origin: Option<Origin>,
        rest: Vec<payment::Command>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(order_id) = change.attempt().map(|a| a.order_id) else {
            return;
        };
        let write_ahead = origin.is_some();
        let req = Box::new(UpdateRequest {
            order_id,
            change,
            origin,
            next_sale: self.new_order_id(now),
            at: now,
        });
        let kind = Op::Session {
            reference,
            rest,
            write_ahead,
            req: req.clone(),
        };
        self.store(kind, StoreTx::Update(req), out);
    }

    // ---- storage results ----

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
            (Op::Load, Ok(Stored::Loaded(l))) => self.on_loaded(*l, now, out),
            (Op::Load, Err(e)) => {
                self.load_at = Some(now + LOAD_RETRY);
                Self::ui(
                    out,
                    UiEvent::Alert(format!("Till could not read its storage: {e}")),
                );
            }
            (Op::Cash, result) => {
                self.cash_in_flight = false;
                match result {
                    Ok(Stored::Updated(u)) => self.on_updated(*u, now, out),
                    Err(e) => Self::ui(out, UiEvent::PayMessage(e.to_string())),
                    Ok(_) => {}
                }
            }
            (Op::Void(order_id), result) => {
                let text = match result {
                    Ok(Stored::Updated(u)) => {
                        let text = format!("Order {} was voided.", u.order.number);
                        self.on_updated(*u, now, out);
                        text
                    }
                    Err(e) => e.to_string(),
                    Ok(_) => return,
                };
                Self::ui(out, UiEvent::OrderMessage { order_id, text });
            }
            (Op::Refund(id), result) => match result {
                Ok(Stored::Refunded(refund)) => {
                    if let Some(order_id) = refund.order_id {
                        Self::ui(out, UiEvent::OrderWritten(order_id));
                    }
                    Self::ui(out, UiEvent::Refunded(refund));
                    self.sync_event(SyncEvent::Woken, now, out);
                }
                Err(e) => {
                    let text = e.to_string();
                    Self::ui(out, UiEvent::RefundRefused { id, text });
                }
                Ok(_) => {}
            },
            (
                Op::Session {
                    reference,
                    rest,
                    write_ahead,
                    req,
                },
                result,
            ) => self.on_session_stored(reference, rest, write_ahead, req, result, now, out),
            (
                Op::RefundSession {
                    reference,
                    rest,
                    write_ahead,
                    attempt,
                },
                result,
            ) => {
                let held = HeldWrite {
                    reference,
                    rest,
                    write_ahead,
                };
                self.on_refund_session_stored(held, *attempt, result, now, out)
            }
            (Op::Sync, result) => self.on_sync_stored(result, now, out),
            (Op::Shift(done), result) => self.on_shift_stored(done, result, now, out),
            (Op::Park(done), result) => match result {
                Ok(Stored::Parked { sale, parked }) => {
                    self.sale = Some(sale);
                    self.sale_order = None;
                    self.parked = parked;
                    Self::ui(out, UiEvent::RegisterMessage(done));
                }
                Err(e) => Self::ui(out, UiEvent::RegisterMessage(e.to_string())),
                Ok(_) => {}
            },
            (Op::SaveSale | Op::RaiseSequence | Op::Desk, Err(e)) => {
                Self::ui(out, UiEvent::Alert(e.to_string()))
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_session_stored(
        &mut self,
        reference: PaymentRef,
        rest: Vec<payment::Command>,
        write_ahead: bool,
        req: Box<UpdateRequest>,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if result.is_ok() {
            self.confirm_stored(reference, req.change.attempt());
        }
        match result {
            Ok(Stored::Updated(u)) => {
                self.on_updated(*u, now, out);
                self.session_commands(reference, rest, now, out);
            }
            Ok(_) => self.session_commands(reference, rest, now, out),
            Err(e) if write_ahead => {
                // The start was held back: nothing was sent.
                let reason = e.to_string();
                self.feed(reference, Event::NotSaved { reason }, now, out);
            }
            Err(StoreFailure::Refused(UpdateError::AttemptSettled(_))) => {
                self.settled_elsewhere(reference)
            }
            Err(StoreFailure::Refused(e)) => {
                Self::ui(
                    out,
                    UiEvent::Alert(format!("Card payment {}: {e}", reference.short())),
                );
                self.session_commands(reference, rest, now, out);
            }
            Err(StoreFailure::Io(e)) => {
                if matches!(req.change, Change::Settle { .. }) {
                    // Money moved (or may have): the record must land.
                    let retry = Retry::Order(req);
                    self.retries
                        .push((now + MONEY_WRITE_RETRY, reference, retry));
                } else {
                    self.retry_latest(reference, now);
                }
                Self::ui(
                    out,
                    UiEvent::Alert(format!(
                        "Saving a card payment failed: {e}. Till keeps trying."
                    )),
                );
                self.session_commands(reference, rest, now, out);
            }
        }
    }

    /// Tries a live attempt's write again soon (once per attempt at a time).
    fn retry_latest(&mut self, reference: PaymentRef, now: Timestamp) {
        let queued = self
            .retries
            .iter()
            .any(|(_, r, retry)| *r == reference && matches!(retry, Retry::Latest));
        if !queued {
            self.retries
                .push((now + MONEY_WRITE_RETRY, reference, Retry::Latest));
        }
    }

    /// Writes a session's attempt as it is now, if storage does not hold it.
    fn write_latest(&mut self, reference: PaymentRef, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = self.sessions.get(&reference) else {
            return;
        };
        if !session.unsaved() {
            return;
        }
        let attempt = session.attempt().clone();
        match attempt.refund {
            Some(_) => self.refund_session_write(reference, attempt, Vec::new(), out),
            None => {
                let change = Change::Attempt(attempt);
                self.session_write(reference, change, None, Vec::new(), now, out)
            }
        }
    }

    /// Storage holds the attempt settled already (by another answer): once
    /// the session has settled too, its popup closes.
    fn settled_elsewhere(&mut self, reference: PaymentRef) {
        if let Some(session) = self.sessions.get_mut(&reference) {
            if !session.state().is_live() {
                let attempt = session.attempt().clone();
                session.stored(&attempt);
            }
        }
    }

    /// Storage committed this write of an attempt: its popup may show it.
    fn confirm_stored(&mut self, reference: PaymentRef, attempt: Option<&Attempt>) {
        if let (Some(session), Some(attempt)) = (self.sessions.get_mut(&reference), attempt) {
            session.stored(attempt);
        }
    }

    /// A card refund session's write is done (or failed): the popup goes on
    /// with what was held back.
    fn on_refund_session_stored(
        &mut self,
        held: HeldWrite,
        attempt: Attempt,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let HeldWrite {
            reference,
            rest,
            write_ahead,
        } = held;
        match result {
            Ok(Stored::Refunded(refund)) => {
                if write_ahead && !refund.pending_cards().any(|r| r == reference) {
                    // Written before, by an earlier Confirm: this card part
                    // is not the refund's, and never leaves.
                    let reason = "this refund was already recorded".to_string();
                    self.feed(reference, Event::NotSaved { reason }, now, out);
                    return Self::ui(out, UiEvent::Refunded(refund));
                }
                self.confirm_stored(reference, Some(&attempt));
                if let Some(order_id) = refund.order_id {
                    Self::ui(out, UiEvent::OrderWritten(order_id));
                }
                if !attempt.state.is_live() {
                    // Settled, or closed pending: the refund screen says so.
                    Self::ui(out, UiEvent::Refunded(refund));
                }
                self.sync_event(SyncEvent::Woken, now, out);
                self.session_commands(reference, rest, now, out);
            }
            Ok(_) => {
                self.confirm_stored(reference, Some(&attempt));
                self.session_commands(reference, rest, now, out)
            }
            Err(e) if write_ahead => {
                // The start was held back: nothing was sent.
                let reason = e.to_string();
                self.feed(reference, Event::NotSaved { reason }, now, out);
            }
            Err(StoreFailure::Refused(UpdateError::AttemptSettled(_))) => {
                self.settled_elsewhere(reference)
            }
            Err(e) => {
                if let StoreFailure::Io(_) = e {
                    if !attempt.state.is_live() {
                        // The card's answer must land on the refund.
                        let retry = Retry::Refund(Box::new(attempt));
                        self.retries
                            .push((now + MONEY_WRITE_RETRY, reference, retry));
                    } else {
                        self.retry_latest(reference, now);
                    }
                }
                let text = format!("Saving card refund {} failed: {e}.", reference.short());
                Self::ui(out, UiEvent::Alert(text));
                self.session_commands(reference, rest, now, out);
            }
        }
    }

    /// What follows a committed order change: the sale moves on (only when
    /// it was the current sale's own order), the sync wakes, the pages hear.
    fn on_updated(&mut self, u: Updated, now: Timestamp, out: &mut Vec<Effect>) {
        let order = u.order;
        if let Some(next) = u.next_sale {
            self.sale = Some(next);
            self.sale_order = None;
            Self::ui(out, UiEvent::Navigate(Page::Register));
            Self::ui(out, UiEvent::Notice(sale_ended_notice(&order)));
            if order.status == OrderStatus::Paid && self.config.auto_print {
                Self::ui(out, UiEvent::Print(order.id));
            }
        } else if self.sale.as_ref().is_some_and(|s| s.id == order.id) {
            self.sale_order = Some(order.clone());
        } else if u.card == Some(CardRecorded::Tender) {
            Self::ui(
                out,
                UiEvent::Alert(format!(
                    "Order {}: its card payment was confirmed; it is now {}.",
                    order.number,
                    order.status.label()
                )),
            );
        }
        if u.card == Some(CardRecorded::RefundDue) {
            let due = order
                .refund_due_total()
                .map(|m| m.to_string())
                .unwrap_or_default();
            Self::ui(
                out,
                UiEvent::Alert(format!(
                    "Order {}: a card payment was approved after the order was settled another way — refund due {due}.",
                    order.number
                )),
            );
        }
        if u.changed {
            self.sync_event(SyncEvent::Woken, now, out);
        }
        Self::ui(out, UiEvent::OrderWritten(order.id));
    }

    // ---- sync ----

    fn sync_event(&mut self, event: SyncEvent, now: Timestamp, out: &mut Vec<Effect>) {
        let rng = &mut self.rng;
        let cmds = self
            .sync
            .handle(event, now, &mut || (rng.next_u32() % 1001) as u16);
        self.sync_commands(cmds, now, out);
    }

    fn sync_commands(&mut self, cmds: Vec<SyncCommand>, now: Timestamp, out: &mut Vec<Effect>) {
        for cmd in cmds {
            match cmd {
                SyncCommand::LoadDue { limit } => {
                    let tx = StoreTx::LoadDue { limit, now };
                    self.store(Op::Sync, tx, out)
                }
                SyncCommand::SendBatch {
                    batch,
                    orders,
                    refunds,
                    shifts,
                } => out.push(Effect::Oms(OmsCall::SendBatch {
                    batch,
                    orders,
                    refunds,
                    shifts,
                })),
                SyncCommand::ApplyOutbox(changes) => {
                    self.store(Op::Sync, StoreTx::ApplyOutbox(changes), out)
                }
                SyncCommand::RetryNow => {
                    let tx = StoreTx::RetryNow { now };
                    self.store(Op::Sync, tx, out)
                }
            }
        }
    }

    fn on_sync_stored(
        &mut self,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let event = match result {
            Ok(Stored::Due(batch)) => SyncEvent::Due(batch),
            Ok(Stored::Outbox(summary)) => SyncEvent::Applied(summary),
            Ok(_) => return,
            Err(e) => {
                Self::ui(
                    out,
                    UiEvent::Alert(format!("The sync could not use the storage: {e}")),
                );
                SyncEvent::StoreFailed
            }
        };
        self.sync_event(event, now, out);
    }

    // ---- the back office and the bridge ----

    fn on_oms(&mut self, reply: OmsReply, now: Timestamp, out: &mut Vec<Effect>) {
        match reply {
            OmsReply::Health { reachable } => {
                self.oms_probe = false;
                self.set_oms_reach(reachable, now, out);
            }
            OmsReply::Batch { batch, result } => {
                match &result {
                    Ok(_) | Err(NetFailure::Refused { .. }) => self.set_oms_reach(true, now, out),
                    Err(NetFailure::Unreachable) => self.set_oms_reach(false, now, out),
                    Err(NetFailure::BadAnswer(_)) => {}
                }
                self.sync_event(SyncEvent::BatchAnswered { batch, result }, now, out);
            }
            OmsReply::Lookup { order_id, result } => self.on_lookup(order_id, result, now, out),
            OmsReply::Day { date, result } => {
                self.align_in_flight = false;
                if let Ok(numbers) = result {
                    let seen = numbers
                        .iter()
                        .filter(|n| *n.register() == self.config.register && n.date() == date)
                        .map(OrderNumber::seq)
                        .max()
                        .unwrap_or(0);
                    self.aligned = Some(date);
                    if seen > 0 {
                        self.store(
                            Op::RaiseSequence,
                            StoreTx::RaiseSequence { date, seen },
                            out,
                        );
                    }
                }
            }
        }
    }

    fn on_lookup(
        &mut self,
        order_id: OrderId,
        result: Result<Option<Box<OrderLookup>>, NetFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.lookups.remove(&order_id);
        let reachable = !matches!(result, Err(NetFailure::Unreachable));
        self.set_oms_reach(reachable, now, out);
        let payments = result
            .ok()
            .map(|l| l.map(|l| l.payments).unwrap_or_default());
        let refs: Vec<PaymentRef> = self
            .sessions
            .values()
            .filter(|s| s.attempt().order_id == order_id)
            .map(PaymentSession::reference)
            .collect();
        let before = out.len();
        for r in refs {
            let event = Event::OmsAnswered {
                payments: payments.clone(),
            };
            self.feed(r, event, now, out);
        }
        if self.downloads.remove(&order_id) {
            let found = out[before..].iter().any(is_approval_write);
            let refund_found = out[before..].iter().any(is_refund_approval_write);
            let text = match (&payments, found) {
                (_, true) => "Downloaded: the payment was found and the order is being marked paid.",
                _ if refund_found => "Downloaded: the card refund was found and is being recorded.",
                (None, false) => "The back office cannot be reached. The order is checked again by itself; do not void it.",
                (Some(_), false) if self.in_doubt(order_id) => {
                    "The back office has no payment for this order yet. Do not void it; it is checked again by itself."
                }
                (Some(_), false) => "Downloaded: nothing changed.",
            };
            Self::ui(
                out,
                UiEvent::OrderMessage {
                    order_id,
                    text: text.into(),
                },
            );
        }
    }

    fn in_doubt(&self, order_id: OrderId) -> bool {
        self.attempts()
            .any(|a| a.order_id == order_id && a.state.is_in_doubt())
    }

    fn set_oms_reach(&mut self, reachable: bool, now: Timestamp, out: &mut Vec<Effect>) {
        let was = self.oms;
        self.oms = if reachable {
            Reach::Online
        } else {
            Reach::Offline
        };
        if reachable && was == Reach::Offline {
            // Back after an outage: send now, not after the backoff, and
            // look for the payments that were reported meanwhile.
            self.sync_event(SyncEvent::OmsBack, now, out);
            self.reconcile_all(now, out);
        }
    }

    fn on_bridge_health(
        &mut self,
        link: crate::lan::BridgeLink,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.bridge_probe = false;
        self.bridge_link = link;
        let reachable = link.is_connected();
        let was = self.bridge;
        self.bridge = if reachable {
            Reach::Online
        } else {
            Reach::Offline
        };
        if reachable && was == Reach::Offline {
            self.reconcile_all(now, out);
        }
    }

    fn reconcile_all(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let refs: Vec<PaymentRef> = self.sessions.keys().copied().collect();
        for r in refs {
            self.feed(r, Event::ReconcileNow, now, out);
        }
    }

    /// Once a day, when the back office answers: today's numbering continues
    /// after what it already holds for this register (after lost storage).
    fn align(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        if self.oms != Reach::Online || self.align_in_flight {
            return;
        }
        let Ok(today) = BusinessDate::at(now, self.config.utc_offset_min) else {
            return;
        };
        if self.aligned != Some(today) {
            self.align_in_flight = true;
            out.push(Effect::Oms(OmsCall::Day { date: today }));
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

/// A card part about to start: whose refund, back to which payment, for
/// which order, how much.
struct CardPart {
    link: RefundLink,
    order_id: OrderId,
    amount: Money,
}

/// A session's write in flight: whose, what it holds back, and whether it
/// is the write-ahead record the start waits for.
struct HeldWrite {
    reference: PaymentRef,
    rest: Vec<payment::Command>,
    write_ahead: bool,
}

/// An effect that records a card approval on its order.
fn is_approval_write(c: &Effect) -> bool {
    match c {
        Effect::Store {
            tx: StoreTx::Update(req),
            ..
        } => matches!(
            req.change,
            Change::Settle {
                settlement: Settlement::Approved { .. },
                ..
            }
        ),
        _ => false,
    }
}

/// An effect that records a card refund's approval on its refund.
fn is_refund_approval_write(c: &Effect) -> bool {
    matches!(c, Effect::Store { tx: StoreTx::CardRefund(a), .. }
        if matches!(a.state, AttemptState::Approved { .. }))
}

fn sale_ended_notice(order: &Order) -> Notice {
    match &order.status {
        OrderStatus::Paid => {
            let change = order.change().ok().filter(|c| !c.is_zero());
            let text = match change {
                Some(c) => format!("Paid — order {}. Change {c}. Ready for the next sale.", order.number),
                None => format!("Paid — order {}. Ready for the next sale.", order.number),
            };
            Notice {
                text,
                receipt: Some(order.id),
            }
        }
        _ => Notice {
            text: format!(
                "Order {} was closed unpaid: its card payment is pending confirmation. Do not void it.",
                order.number
            ),
            receipt: None,
        },
    }
}
