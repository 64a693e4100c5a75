//! What goes into the register and what comes out: the cashier's
//! [`Action`]s and the other [`Input`]s, the [`Effect`]s the shell performs
//! (storage transactions, calls to the bridge and the back office, what the
//! screen shows), and what the pages read back.

use super::*;

/// A storage transaction's number, to match its result.
pub type OpId = u64;

/// How the back office or the bridge looks from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Unknown,
    Online,
    Offline,
    /// The back office removed this register (its token is refused for
    /// good): what it sells stays on the tablet.
    Removed,
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
        record_id: RecordId,
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
    /// The storage failed; nothing was written.
    Io(StorageFault),
}

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreFailure::Refused(e) => e.fmt(f),
            StoreFailure::Io(e) => e.fmt(f),
        }
    }
}

/// How the storage failed, in words a cashier can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageFault {
    /// The device is out of storage for this site: the sale must stop.
    #[error(
        "This device is out of storage space for Till. Nothing was lost, but no new sale can be saved: \
         free space (or sync and export orders) before continuing."
    )]
    QuotaExceeded,
    /// The storage is not there (private mode, blocked storage).
    #[error("The browser's storage is not available ({0}). Till cannot save sales here.")]
    Unavailable(String),
    /// A stored record does not read back as expected.
    #[error("A stored record could not be read: {0}")]
    Corrupt(String),
    /// Anything else the storage reported.
    #[error("Saving failed: {0}")]
    Failed(String),
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
    /// `GET /staff`: the store's staff, to sign people in offline.
    Staff,
    /// The catalog, downloaded and swapped in when it changed (the shell
    /// does it page by page, checked by [`crate::download::CatalogDownload`]).
    Catalog,
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
    /// The store's active staff (a list with one unreadable person is
    /// refused whole: the one stored keeps serving).
    Staff {
        result: Result<Vec<StaffMember>, NetFailure>,
    },
    /// The currency of a new catalog now in use (`None`: the catalog in
    /// use is current).
    Catalog {
        result: Result<Option<Currency>, CatalogFailure>,
    },
}

impl OmsReply {
    /// Whether the back office answered that it removed this register.
    pub fn says_removed(&self) -> bool {
        let failure = match self {
            OmsReply::Health { .. } => None,
            OmsReply::Batch { result, .. } => result.as_ref().err(),
            OmsReply::Lookup { result, .. } => result.as_ref().err(),
            OmsReply::Day { result, .. } => result.as_ref().err(),
            OmsReply::Staff { result } => result.as_ref().err(),
            OmsReply::Catalog { result } => match result {
                Err(CatalogFailure::Net(n)) => Some(n),
                _ => None,
            },
        };
        failure.is_some_and(NetFailure::is_removal)
    }
}

/// Why a catalog download was not taken: the catalog in use stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogFailure {
    #[error("{0}")]
    Net(NetFailure),
    /// The new catalog failed its checks.
    #[error("The back office's new catalog was not taken ({0}). The register sells from the catalog it has and asks again later.")]
    Refused(crate::download::DownloadError),
    /// Staging it on this device failed.
    #[error("The new catalog could not be stored: {0}")]
    Storage(StorageFault),
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
        record_id: RecordId,
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
    pub progress: Option<crate::sync::SyncProgress>,
}
