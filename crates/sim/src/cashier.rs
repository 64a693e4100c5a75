//! The people and the weather: a cashier who does what cashiers do (and
//! what they should not: double taps, reloads mid-payment), a terminal whose
//! card holders and network behave randomly, and faults that come and go.

use crate::world::{Ev, Faults, World};
use till_core::cart::Discount;
use till_core::catalog::{fixtures::small, ProductId};
use till_core::drawer::MovementKind;
use till_core::money::{Currency, Money};
use till_core::order::{Order, Tender};
use till_core::payment::{AttemptState, PaymentRef};
use till_core::refund::{preview, RefundReason, Returned, TenderKey};
use till_core::register::{Action, Input};
use till_core::shift::CashCount;
use till_core::staff::StaffId;
use till_core::time::{Duration, Timestamp};
use till_terminal::behaviour::{Behaviour, Outcome};

/// Payments whose result the terminal hides from the bridge, until revealed.
#[derive(Debug, Clone, Default)]
pub struct Behaviours {
    pub hidden: Vec<PaymentRef>,
}

const PRODUCTS: [&str; 3] = ["coffee", "croissant", "mug"];

/// The cashier's next move; the next one is scheduled.
pub fn act(w: &mut World) {
    let pause = if w.quiescing {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(300 + w.below(20_000))
    };
    w.schedule(w.now + pause, Ev::Cashier);
    if !w.reg.is_loaded() {
        return;
    }
    if w.quiescing {
        return popup_action(w, true);
    }
    w.actions_done += 1;
    if w.reg.awaiting_approval().is_some() {
        return manager_answers(w);
    }
    if w.reg.popup(w.reg_now()).is_none() && (w.reg.cashier().is_none() || w.chance(15)) {
        return switch_cashier(w);
    }
    if w.reg.popup(w.reg_now()).is_some() {
        if w.config.faults && w.chance(40) {
            return w.crash();
        }
        return popup_action(w, false);
    }
    if w.reg.shift().is_none() {
        return open_shift(w);
    }
    match w.below(1000) {
        0..300 => add_item(w),
        300..350 => remove_item(w),
        350..480 => pay_cash(w),
        480..650 => w.input(Input::Cashier(Action::PayCard)),
        650..680 => void_any(w),
        680..710 => download_any(w),
        710..750 if w.config.faults => w.crash(),
        750..765 if w.config.faults => jump_clock(w),
        765..800 => reveal_one(w),
        800..820 => w.input(Input::Cashier(Action::SyncNow)),
        820..860 => refund_any(w),
        860..870 => return_without_receipt(w),
        870..885 => retry_owed(w),
        885..900 => park_or_resume(w),
        900..915 => move_cash(w),
        915..920 => w.input(Input::Cashier(Action::NoSale)),
        920..930 => close_shift(w),
        930..936 => guess_pins(w),
        _ => {}
    }
}

/// A count of the drawer: note by note, or as a total (now and then not
/// what the drawer should hold, or a count the register refuses).
fn count(w: &mut World) -> CashCount {
    if w.chance(500) {
        let counts = vec![
            (5_000, w.below(4) as u32),
            (1_000, w.below(10) as u32),
            (200, w.below(20) as u32),
        ];
        return CashCount::Denominations { counts };
    }
    let minor = w.below(30_000) as i64 - if w.chance(20) { 40_000 } else { 0 };
    CashCount::Total {
        amount: Money::new(minor, Currency::EUR).expect("an amount"),
    }
}

fn open_shift(w: &mut World) {
    let float = count(w);
    w.input(Input::Cashier(Action::OpenShift { float }));
}

fn close_shift(w: &mut World) {
    let count = count(w);
    w.input(Input::Cashier(Action::CloseShift { count }));
}

/// Paid in or out, now and then with no reason (refused).
fn move_cash(w: &mut World) {
    let kind = if w.chance(500) {
        MovementKind::PaidIn
    } else {
        MovementKind::PaidOut
    };
    let amount = Money::new(1 + w.below(5_000) as i64, Currency::EUR).expect("an amount");
    let reason = if w.chance(50) {
        " "
    } else {
        "change from the bank"
    };
    w.input(Input::Cashier(Action::MoveCash {
        kind,
        amount,
        reason: reason.into(),
    }));
}

/// What the cashier does with the card popup open.
fn popup_action(w: &mut World, settle: bool) {
    let Some(view) = w.reg.popup(w.reg_now()) else {
        return;
    };
    let action = match view.state {
        AttemptState::ResultUnknown => match view.resyncs_left {
            Some(n) if n > 0 && !view.resync_running && (settle || w.chance(600)) => {
                Some(Action::Resync)
            }
            _ if view.can_close && (settle || w.chance(700)) => Some(Action::CloseCard),
            _ => None,
        },
        AttemptState::Processing if view.cancel_secs_left.is_some() && !settle && w.chance(150) => {
            Some(Action::CancelCard)
        }
        _ => None,
    };
    if let Some(a) = action {
        w.input(Input::Cashier(a));
    }
}

fn add_item(w: &mut World) {
    let Some(sale) = w.reg.sale() else { return };
    let mut cart = sale.cart.clone();
    let product = PRODUCTS[w.below(PRODUCTS.len() as u64) as usize];
    if cart
        .add_by_id(&small(), &ProductId::new(product).expect("a product id"))
        .is_ok()
    {
        // Now and then an order discount: 10 % is the cashier's to give,
        // 30 % needs a manager.
        if w.chance(60) {
            let basis_points = if w.chance(500) { 1_000 } else { 3_000 };
            let _ = cart.set_order_discount(Some(Discount::Percent { basis_points }));
        }
        // Now and then a price changed at the till (a manager's to allow).
        if w.chance(40) {
            let id = ProductId::new(product).expect("a product id");
            let price = Money::new(w.below(500) as i64, Currency::EUR).expect("a price");
            let _ = cart.set_price(&id, Some(price));
        }
        w.input(Input::Cashier(Action::EditCart(cart)));
    }
}

fn remove_item(w: &mut World) {
    let Some(sale) = w.reg.sale() else { return };
    let mut cart = sale.cart.clone();
    let Some(line) = cart.lines.first().map(|l| l.product_id.clone()) else {
        return;
    };
    if cart.remove(&line).is_ok() {
        w.input(Input::Cashier(Action::EditCart(cart)));
    }
}

fn pay_cash(w: &mut World) {
    let Some(due) = w.reg.due() else { return };
    if due.is_zero() {
        return;
    }
    let per = due.currency().minor_per_major();
    let received = match w.below(3) {
        0 => due,
        1 => Money::new((due.minor() / (5 * per) + 1) * 5 * per, due.currency()).unwrap_or(due),
        // Part of it: a split payment, the rest by card or cash later.
        _ => Money::new((due.minor() / 2).max(1), due.currency()).unwrap_or(due),
    };
    w.input(Input::Cashier(Action::PayCash { received }));
    if w.chance(200) {
        // A double tap.
        w.input(Input::Cashier(Action::PayCash { received }));
    }
}

fn void_any(w: &mut World) {
    let ids: Vec<_> = w.store.orders.keys().copied().collect();
    if ids.is_empty() {
        return;
    }
    let order_id = ids[w.below(ids.len() as u64) as usize];
    w.input(Input::Cashier(Action::Void { order_id }));
}

/// A customer brings something back: a line or two of any order (some
/// more than was sold, some of orders that cannot be refunded), sometimes
/// the whole order; Confirm is sometimes tapped twice.
fn refund_any(w: &mut World) {
    let orders: Vec<_> = w.store.orders.values().cloned().collect();
    if orders.is_empty() {
        return;
    }
    let order = &orders[w.below(orders.len() as u64) as usize];
    // The tip back too, sometimes alone (the customer meant less).
    let tip = order.tips().is_ok_and(|t| !t.is_zero()) && w.chance(300);
    let returns: Vec<Returned> = if tip && w.chance(300) {
        Vec::new()
    } else if w.chance(250) {
        (0..order.lines.len())
            .map(|line| Returned {
                line,
                quantity: order.lines[line].quantity,
            })
            .collect()
    } else {
        let line = w.below(order.lines.len() as u64) as usize;
        vec![Returned {
            line,
            quantity: 1 + w.below(2) as u32,
        }]
    };
    let tenders = choose_tenders(w, order, &returns, tip);
    let id = w.reg.new_refund_id(w.reg_now());
    let confirm = Action::Refund {
        id,
        order_id: order.id,
        returns,
        tip,
        reason: Some(RefundReason::ChangedMind),
        tenders,
    };
    w.input(Input::Cashier(confirm.clone()));
    if w.chance(200) {
        w.input(Input::Cashier(confirm));
    }
}

/// Where the money goes: mostly as suggested (cash first, then the card:
/// through the terminal), sometimes all of it to the first card, sometimes
/// left to the register (`None`: a card part is then refused).
fn choose_tenders(
    w: &mut World,
    order: &Order,
    returns: &[Returned],
    tip: bool,
) -> Option<Vec<(TenderKey, Money)>> {
    let refunds = w.store.refunds_of(order.id);
    let p = preview(order, &refunds, returns, tip).ok()?;
    let mut parts: Vec<(TenderKey, Money)> =
        p.tenders.into_iter().map(|(k, _, m)| (k, m)).collect();
    match w.below(10) {
        0 => None,
        1 => {
            // All to the first card, which may not have that much left.
            let card = order.tenders.iter().find_map(|t| match t {
                Tender::Card { reference, .. } => Some(*reference),
                Tender::Cash { .. } => None,
            })?;
            Some(vec![(TenderKey::Card(card), p.totals.total)])
        }
        _ => {
            parts.retain(|(_, m)| !m.is_zero());
            Some(parts)
        }
    }
}

/// A customer without a receipt brings an item or two back: cash back at
/// today's prices. Confirm is sometimes tapped twice.
fn return_without_receipt(w: &mut World) {
    let mut cart = till_core::cart::Cart::new(till_core::money::Currency::EUR);
    for _ in 0..=w.below(2) {
        let product = PRODUCTS[w.below(PRODUCTS.len() as u64) as usize];
        let _ = cart.add_by_id(&small(), &ProductId::new(product).expect("a product id"));
    }
    let id = w.reg.new_refund_id(w.reg_now());
    let confirm = Action::ReturnWithoutReceipt {
        id,
        cart,
        reason: Some(RefundReason::Other),
    };
    w.input(Input::Cashier(confirm.clone()));
    if w.chance(200) {
        w.input(Input::Cashier(confirm));
    }
}

/// A refund whose card part failed still owes the customer: the cashier
/// sends it to the card again (sometimes a cent more than is owed).
fn retry_owed(w: &mut World) {
    let owed: Vec<_> = w
        .store
        .refunds
        .values()
        .filter_map(|r| {
            let (original, amount) = r.owed_to_card()?;
            Some((r.id, r.order_id?, original, amount))
        })
        .collect();
    if owed.is_empty() {
        return;
    }
    let (refund_id, order_id, original, mut amount) = owed[w.below(owed.len() as u64) as usize];
    if w.chance(100) {
        amount = Money::new(amount.minor() + 1, amount.currency()).unwrap_or(amount);
    }
    w.input(Input::Cashier(Action::RetryRefundCard {
        refund_id,
        order_id,
        original,
        amount,
    }));
}

/// The manager is called over for a void, a refund, a return without a
/// receipt or a large discount: mostly they approve with their PIN, now
/// and then they mistype it, or a cashier tries theirs, or it is cancelled.
fn manager_answers(w: &mut World) {
    let action = match w.below(100) {
        0..80 => Action::Approve {
            person: StaffId::new("dana").expect("an id"),
            pin: till_core::testing::MANAGER_PIN.into(),
        },
        80..86 => Action::Approve {
            person: StaffId::new("dana").expect("an id"),
            pin: "0000".into(),
        },
        86..90 => Action::Approve {
            person: StaffId::new("jo").expect("an id"),
            pin: "8024".into(),
        },
        _ => Action::CancelApproval,
    };
    w.input(Input::Cashier(action));
}

/// "Switch cashier", then someone signs in: mostly with their PIN, now and
/// then with a wrong one (five in a row lock them out for five minutes).
fn switch_cashier(w: &mut World) {
    let Some(person) = someone_at_the_keypad(w) else {
        return;
    };
    let pin = match (w.chance(200), person.as_str()) {
        (true, _) => "0000",
        (false, "dana") => till_core::testing::MANAGER_PIN,
        (false, "alex") => till_core::testing::CASHIER_PIN,
        (false, _) => "8024",
    };
    w.input(Input::Cashier(Action::SignIn {
        person,
        pin: pin.into(),
    }));
}

/// "Switch cashier" (if anyone is signed in), and a person on the
/// register's own staff list (not hashed again) at the sign-in keypad.
fn someone_at_the_keypad(w: &mut World) -> Option<StaffId> {
    if w.reg.cashier().is_some() {
        w.input(Input::Cashier(Action::SignOut));
    }
    let ids: Vec<StaffId> = w.reg.desk().staff().iter().map(|m| m.id.clone()).collect();
    if ids.is_empty() {
        return None;
    }
    Some(ids[w.below(ids.len() as u64) as usize].clone())
}

/// Someone at the register guesses a person's PIN until locked out (five
/// wrong in a row; one after a lock-out already locks again).
fn guess_pins(w: &mut World) {
    let Some(person) = someone_at_the_keypad(w) else {
        return;
    };
    w.note(|| format!("someone guesses {person}'s PIN"));
    for _ in 0..till_core::staff::PIN_TRIES_MAX {
        w.input(Input::Cashier(Action::SignIn {
            person: person.clone(),
            pin: "0000".into(),
        }));
    }
}

/// The cashier parks the cart for a customer who went back for something,
/// or resumes a parked one (into an empty cart, or is told why not).
fn park_or_resume(w: &mut World) {
    let parked: Vec<_> = w.reg.parked().iter().map(|p| p.id).collect();
    if parked.is_empty() || w.chance(500) {
        w.input(Input::Cashier(Action::Park {
            label: "back in a minute".into(),
        }));
    } else {
        let id = parked[w.below(parked.len() as u64) as usize];
        w.input(Input::Cashier(Action::Resume { id }));
    }
}

fn download_any(w: &mut World) {
    let ids: Vec<_> = w.store.orders.keys().copied().collect();
    if ids.is_empty() {
        return;
    }
    let order_id = ids[w.below(ids.len() as u64) as usize];
    w.input(Input::Cashier(Action::Download { order_id }));
}

/// The tablet's clock jumps: forward to tomorrow, back a few minutes, or
/// to a date long gone (and back again later).
fn jump_clock(w: &mut World) {
    let hour: i64 = 3_600_000;
    w.skew_ms = match w.below(5) {
        0 => w.skew_ms + 26 * hour,
        1 => w.skew_ms - 5 * 60_000,
        2 => -(w.now.as_millis() - 915_000_000_000), // 1998-12-30
        3 => w.skew_ms + 2 * hour,
        _ => 0,
    };
    let skew = w.skew_ms;
    w.note(|| format!("clock jumps: the tablet is {skew} ms off"));
    w.input(Input::Tick);
}

fn reveal_one(w: &mut World) {
    if w.behaviours.hidden.is_empty() {
        return;
    }
    let i = w.below(w.behaviours.hidden.len() as u64) as usize;
    let r = w.behaviours.hidden.swap_remove(i);
    reveal(w, &r);
}

fn reveal(w: &mut World, r: &PaymentRef) {
    w.bridge
        .device
        .reveal(&r.to_string())
        .expect("the terminal's memory");
}

/// What the terminal will do with the next payment it starts.
pub fn terminal_behaviour(w: &mut World) -> Behaviour {
    let base = Behaviour {
        outcome: Outcome::Approve,
        delay_ms: Some(w.below(15_000)),
        decline_reason: None,
        hide_result: false,
        hide_result_ms: None,
        bridge_never_learns: false,
        // The vendor's cloud notifies the back office at once, later, or
        // (as far as the day goes) never.
        report_to_oms_after_ms: match w.below(3) {
            0 => None,
            1 => Some(w.below(600_000)),
            _ => Some(36_000_000),
        },
        // Asked for one, half the customers add a tip.
        tip_minor: (w.below(2) == 0).then(|| 1 + w.below(500) as i64),
    };
    match w.below(100) {
        0..40 => base,
        40..50 => Behaviour {
            delay_ms: Some(20_000 + w.below(70_000)),
            ..base
        },
        50..62 => Behaviour {
            outcome: Outcome::Decline,
            decline_reason: Some("insufficient funds".into()),
            ..base
        },
        62..72 => Behaviour {
            hide_result: true,
            hide_result_ms: (w.below(2) == 0).then(|| 10_000 + w.below(1_800_000)),
            ..base
        },
        72..82 => Behaviour {
            bridge_never_learns: true,
            report_to_oms_after_ms: Some(w.below(7_200_000)),
            ..base
        },
        82..90 => Behaviour {
            outcome: Outcome::NoAnswer,
            ..base
        },
        _ => Behaviour {
            delay_ms: Some(w.below(3_000)),
            ..base
        },
    }
}

/// Faults come and go.
pub fn faults(w: &mut World) {
    if w.quiescing {
        return;
    }
    let next = w.now + Duration::from_millis(20_000 + w.below(280_000));
    w.schedule(next, Ev::FaultsChange);
    w.faults = if w.chance(300) {
        Faults::default()
    } else {
        Faults {
            oms_down: w.chance(250),
            bridge_down: w.chance(150),
            oms_503: w.below(200) as u32,
            lose_request: w.below(100) as u32,
            lose_reply: w.below(150) as u32,
            commit_then_drop: w.below(200) as u32,
            store_fail: w.below(20) as u32,
            latency_max_ms: 50 + w.below(5_000),
            terminal_off: w.chance(80),
            wire_lose_request: w.below(60) as u32,
            wire_delay_request: w.below(60) as u32,
            wire_cut: w.below(60) as u32,
            wire_drop_answer: w.below(100) as u32,
            wire_bad_mac: w.below(60) as u32,
            wire_slow: w.below(60) as u32,
            busy: w.below(100) as u32,
        }
    };
    let f = w.faults.clone();
    w.note(|| format!("faults: {f:?}"));
    if w.chance(150) {
        w.restart_bridge();
    }
    // The register notices the network by itself (health probes); the
    // browser also tells it when it comes back.
    w.input(Input::Online);
}

/// The faults stop, the clock is right, the terminal finds every result it
/// hid: what follows must settle everything.
pub fn start_quiescing(w: &mut World) {
    w.quiescing = true;
    w.faults = Faults::default();
    w.skew_ms = 0;
    w.note(|| "QUIESCE: faults lifted, clock right, hidden results revealed".into());
    let all: Vec<PaymentRef> = w.bridge.orders.keys().copied().collect();
    for r in all {
        reveal(w, &r);
    }
    w.behaviours.hidden.clear();
    w.input(Input::Online);
    let at: Timestamp = w.now;
    w.schedule(at, Ev::Cashier);
}
