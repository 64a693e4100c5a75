//! The whole register on a simulated clock, with the reference in-memory
//! store: what the register's story tests drive. Storage transactions run
//! at once against [`MemStore`] (or wait while `hold_store` is on); calls
//! to the bridge and the back office queue until the test answers them;
//! what the screen is told is kept in order.

use super::driver::Driver;
use super::{register_config, MemStore};
use crate::catalog::{fixtures::small, ProductId};
use crate::order::{Order, OrderId};
use crate::payment::{PaymentRef, Reply, Request};
use crate::register::{
    Action, BridgeCall, Effect, Input, OmsCall, OpId, Register, RegisterConfig, StoreTx, UiEvent,
};
use crate::time::{Duration, Timestamp};
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};

/// 2026-11-27T09:00:00Z: when a test's register starts.
pub const T0: Timestamp = Timestamp::from_millis(1_795_770_000_000);

/// The register, its store, and the calls it made that nobody answered
/// yet. Derefs to its [`Driver`]: `machine` is the register, `now` the
/// clock.
pub struct TestTill {
    driver: Driver<Register>,
    pub store: MemStore,
    pub bridge: VecDeque<BridgeCall>,
    pub oms: VecDeque<OmsCall>,
    pub ui: Vec<UiEvent>,
    /// Store transactions not yet run (while `hold_store` is on).
    pub held: VecDeque<(OpId, StoreTx)>,
    pub hold_store: bool,
}

impl Deref for TestTill {
    type Target = Driver<Register>;
    fn deref(&self) -> &Driver<Register> {
        &self.driver
    }
}

impl DerefMut for TestTill {
    fn deref_mut(&mut self) -> &mut Driver<Register> {
        &mut self.driver
    }
}

impl TestTill {
    /// A register with Dana signed in and a shift open, at [`T0`].
    pub fn new() -> TestTill {
        TestTill::with_store(super::signed_in_store(), 1)
    }

    /// A register started on `store`, its ids drawn from `seed`.
    pub fn with_store(store: MemStore, seed: u8) -> TestTill {
        TestTill::started_at(store, seed, T0)
    }

    /// A register started on `store` at `now`.
    fn started_at(store: MemStore, seed: u8, now: Timestamp) -> TestTill {
        let mut reg = Register::new(register_config(60), [seed; 32]);
        let first = reg.start(now);
        let mut t = TestTill {
            driver: Driver::new(reg, now, first.clone()),
            store,
            bridge: VecDeque::new(),
            oms: VecDeque::new(),
            ui: Vec::new(),
            held: VecDeque::new(),
            hold_store: false,
        };
        t.run(first);
        t
    }

    /// The register starts again from what the store holds, configured
    /// otherwise (a setting changed).
    pub fn restart(&mut self, config: RegisterConfig, seed: u8) {
        self.driver.machine = Register::new(config, [seed; 32]);
        let first = self.driver.machine.start(self.now);
        self.run(first);
    }

    /// A reload: the register starts again from what the store holds.
    pub fn reload(self, seed: u8) -> TestTill {
        let now = self.now;
        TestTill::started_at(self.store, seed, now)
    }

    /// Performs the register's effects: storage at once (or held), the
    /// rest queued for the test.
    pub fn run(&mut self, cmds: Vec<Effect>) {
        for c in cmds {
            match c {
                Effect::Store { op, tx } if self.hold_store => self.held.push_back((op, tx)),
                Effect::Store { op, tx } => self.execute(op, tx),
                Effect::Bridge(b) => self.bridge.push_back(b),
                Effect::Oms(o) => self.oms.push_back(o),
                Effect::Ui(u) => self.ui.push(u),
            }
        }
    }

    fn execute(&mut self, op: OpId, tx: StoreTx) {
        let result = self.store.execute(&tx);
        self.input(Input::Stored { op, result });
    }

    /// Runs the held storage transactions, in order, and stops holding.
    pub fn release_store(&mut self) {
        self.hold_store = false;
        while let Some((op, tx)) = self.held.pop_front() {
            self.execute(op, tx);
        }
    }

    pub fn input(&mut self, i: Input) {
        let cmds = self.driver.feed(i);
        self.run(cmds);
    }

    pub fn act(&mut self, a: Action) {
        self.input(Input::Cashier(a));
    }

    /// Moves the clock on by `by`, performing what each timer issues.
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(cmds) = self.driver.tick_until(end) {
            self.run(cmds);
        }
    }

    /// Adds a product of the small fixture catalog to the sale.
    pub fn add(&mut self, product: &str) {
        let mut cart = self.machine.sale().expect("a sale").cart.clone();
        cart.add_by_id(&small(), &ProductId::new(product).expect("a product id"))
            .expect("a product of the small catalog");
        self.act(Action::EditCart(cart));
    }

    /// Takes the bridge calls made so far.
    pub fn take_bridge(&mut self) -> Vec<BridgeCall> {
        self.bridge.drain(..).collect()
    }

    /// The bridge's answer to the call about `reference`.
    pub fn reply(&mut self, reference: PaymentRef, to: Request, reply: Reply) {
        self.input(Input::Bridge {
            reference,
            to,
            reply,
        });
    }

    /// Card (mPOS): answers the probe; returns the reference sent.
    pub fn card_started(&mut self) -> PaymentRef {
        self.act(Action::PayCard);
        let reference = match self.take_bridge().as_slice() {
            [BridgeCall::Probe { reference }] => *reference,
            other => panic!("expected a probe, got {other:?}"),
        };
        self.reply(reference, Request::Probe, Reply::Accepted);
        reference
    }

    /// The notices the register page showed, oldest first.
    pub fn notices(&self) -> Vec<&str> {
        self.ui
            .iter()
            .filter_map(|u| match u {
                UiEvent::Notice(n) => Some(n.text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The stored order `id` (a test that names a missing one fails).
    pub fn order(&self, id: OrderId) -> &Order {
        &self.store.orders[&id]
    }

    /// A new refund id from the register, at the current time.
    pub fn new_refund_id(&mut self) -> crate::refund::RefundId {
        let now = self.now;
        self.driver.machine.new_refund_id(now)
    }

    /// The current sale's id.
    pub fn sale_id(&self) -> OrderId {
        self.machine.sale().expect("a sale").id
    }
}

impl Default for TestTill {
    fn default() -> TestTill {
        TestTill::new()
    }
}
