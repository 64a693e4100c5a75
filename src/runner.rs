//! The register's effect runner: carries out what till-core's [`Register`]
//! asks for and feeds back what happened. It decides nothing.
//!
//! - [`dispatch`] hands one input to the register with the current time,
//!   then performs the commands it returns: a storage transaction
//!   ([`crate::store::exec`]), a request to the bridge or the back office,
//!   or something the screen must show;
//! - every answer comes back through [`dispatch`] as an input;
//! - one browser timer is armed from the register's `poll_timeout` after
//!   every input (nothing here polls on a fixed interval);
//! - the few requests a page makes itself (the back office's copy of a
//!   day, pairing with the bridge) go through here too: pages never call
//!   [`crate::net`].
//!
//! Storage transactions are started in the order the register issued them
//! (each task opens its transaction before its first await, and tasks start
//! in spawn order): IndexedDB then runs them in that order.

use crate::net::bridge::Bridge;
use crate::net::oms::Oms;
use crate::platform;
use crate::state::{AppState, Screen};
use crate::store::exec;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::cart::Cart;
use till_core::payment::Request;
use till_core::register::settings::{BaseUrl, RegisterSettings};
use till_core::register::{
    Action, BridgeCall, Effect, Input, OmsCall, OmsReply, Register, UiEvent,
};

/// Creates the register of this tab and starts it (reads its storage,
/// resumes an interrupted card payment, syncs, reconciles).
pub fn start(app: &AppState) {
    let Some(settings) = app.settings.get_untracked() else {
        return;
    };
    let config = settings.config(app.currency(), platform::utc_offset_min());
    let mut register = Register::new(config, platform::seed());
    let first = register.start(platform::now());
    // Answers to the replaced register's requests are not this one's.
    app.till.install(register);
    perform_all(app, first);
}

/// Feeds an answer to the register that asked, if it still runs.
fn answer(app: &AppState, generation: u64, input: Input) {
    if app.till.generation() == generation {
        dispatch(app, input);
    }
}

/// Feeds one input to the register and performs what follows.
pub fn dispatch(app: &AppState, input: Input) {
    let now = platform::now();
    let monotonic = platform::monotonic();
    let offset = platform::utc_offset_min();
    let cmds = app.till.update(|r| {
        r.set_utc_offset(offset);
        r.observe_clock(now, monotonic);
        r.handle(input, now)
    });
    if let Some(cmds) = cmds {
        perform_all(app, cmds);
    }
}

/// A cashier's action.
pub fn act(app: &AppState, action: Action) {
    dispatch(app, Input::Cashier(action));
}

/// A new refund id from the register (made when the refund screen opens);
/// `None` before the register is set up.
pub fn new_refund_id(app: &AppState) -> Option<till_core::refund::RefundId> {
    let now = platform::now();
    app.till.update(|r| r.new_refund_id(now))
}

/// Changes the current sale's cart through the register (which refuses
/// while the cart is locked, and says why).
pub fn edit_cart(
    app: &AppState,
    change: impl FnOnce(&mut Cart) -> Result<(), till_core::cart::CartError>,
) -> Result<(), till_core::cart::CartError> {
    let mut cart = app.cart();
    change(&mut cart)?;
    act(app, Action::EditCart(cart));
    Ok(())
}

fn perform_all(app: &AppState, cmds: Vec<Effect>) {
    for c in cmds {
        perform(app, c);
    }
    app.till.changed();
    arm_timer(app);
}

fn perform(app: &AppState, cmd: Effect) {
    let generation = app.till.generation();
    match cmd {
        Effect::Store { op, tx } => {
            let app = *app;
            spawn_local(async move {
                let result = exec::execute(&app.db(), &tx).await;
                answer(&app, generation, Input::Stored { op, result });
            });
        }
        Effect::Bridge(call) => {
            let Some(settings) = app.settings.get_untracked() else {
                return;
            };
            let app = *app;
            spawn_local(async move {
                let input = bridge_call(&settings, call).await;
                answer(&app, generation, input);
            });
        }
        Effect::Oms(call) => {
            let Some(settings) = app.settings.get_untracked() else {
                return;
            };
            let app = *app;
            spawn_local(async move {
                let reply = oms_call(app, &settings, call).await;
                answer(&app, generation, Input::Oms(reply));
            });
        }
        Effect::Ui(e) => ui(app, e),
    }
}

fn bridge_of(base: &BaseUrl, token: &str) -> Bridge {
    Bridge {
        base: base.to_string(),
        token: token.to_owned(),
        space: till_core::lan::target_address_space(&crate::platform::origin(), base.as_str()),
    }
}

/// Whether this page may call the bridge now: not while the browser's
/// Local Network Access permission would have to be asked (it is asked from
/// the Pair button only, never by a background call) or is denied.
async fn lan_gate(base: &BaseUrl) -> Result<(), till_core::lan::BridgeLink> {
    till_core::lan::background_check(crate::platform::bridge_permission(base.as_str()).await)
}

async fn bridge_call(settings: &RegisterSettings, call: BridgeCall) -> Input {
    use till_core::lan::BridgeLink;
    let Some((base, token)) = settings.bridge() else {
        return not_sent(call, BridgeLink::NotPaired);
    };
    if let Err(link) = lan_gate(base).await {
        return not_sent(call, link);
    }
    let bridge = bridge_of(base, token);
    let (reference, to, reply) = match call {
        BridgeCall::Health => {
            return Input::BridgeHealth {
                link: bridge.link().await,
            }
        }
        BridgeCall::Probe { reference } => (reference, Request::Probe, bridge.probe().await),
        BridgeCall::Start(s) => (s.reference, Request::Start, bridge.start(&s).await),
        BridgeCall::StartRefund(s) => (s.reference, Request::Start, bridge.start_refund(&s).await),
        BridgeCall::Status { reference, to } => (reference, to, bridge.status(&reference).await),
        BridgeCall::Cancel { reference } => {
            (reference, Request::Cancel, bridge.cancel(&reference).await)
        }
    };
    Input::Bridge {
        reference,
        to,
        reply,
    }
}

/// The answer to a call the register may not send now: the health check
/// says why; the probe before a start is a clear no (nothing is sent,
/// nothing charged); anything else is as good as no answer, which the
/// payment session knows how to treat.
fn not_sent(call: BridgeCall, link: till_core::lan::BridgeLink) -> Input {
    let (reference, to) = match call {
        BridgeCall::Health => return Input::BridgeHealth { link },
        BridgeCall::Probe { reference } => {
            let reason = format!("{}. {}", link.label(), link.advice().unwrap_or_default());
            return Input::Bridge {
                reference,
                to: Request::Probe,
                reply: till_core::payment::Reply::Refused { reason },
            };
        }
        BridgeCall::Start(s) => (s.reference, Request::Start),
        BridgeCall::StartRefund(s) => (s.reference, Request::Start),
        BridgeCall::Status { reference, to } => (reference, to),
        BridgeCall::Cancel { reference } => (reference, Request::Cancel),
    };
    Input::Bridge {
        reference,
        to,
        reply: till_core::payment::Reply::Unreachable,
    }
}

fn oms_of(settings: &RegisterSettings) -> Oms {
    Oms {
        base: settings.oms_url.to_string(),
        token: settings.register_token.clone(),
    }
}

async fn oms_call(app: AppState, settings: &RegisterSettings, call: OmsCall) -> OmsReply {
    let oms = oms_of(settings);
    match call {
        OmsCall::Health => OmsReply::Health {
            reachable: oms.health().await,
        },
        OmsCall::SendBatch {
            batch,
            orders,
            refunds,
            shifts,
        } => OmsReply::Batch {
            batch,
            result: oms.send_batch(&orders, &refunds, &shifts).await,
        },
        OmsCall::Lookup { order_id } => OmsReply::Lookup {
            order_id,
            result: oms.order(&order_id).await.map(|l| l.map(Box::new)),
        },
        OmsCall::Day { date } => OmsReply::Day {
            date,
            result: oms.day_numbers(settings.register_id.as_str(), date).await,
        },
        OmsCall::Staff => OmsReply::Staff {
            result: oms.staff().await,
        },
        OmsCall::Catalog => OmsReply::Catalog {
            result: crate::catalog::download(app, &oms).await,
        },
    }
}

/// RegisterSettings → Pair: trades the code the bridge shows for this register's
/// own pairing token (asked from the Pair button, where the browser may
/// ask for the Local Network Access permission).
pub async fn pair(
    base: &str,
    code: &str,
    register: &str,
) -> Result<till_core::api::PairResponse, String> {
    let space = till_core::lan::target_address_space(&platform::origin(), base);
    crate::net::bridge::pair(base, code, register, space).await
}

/// The back office's copy of this register's orders of a day (Register
/// Sales compares it with what is stored here).
pub async fn oms_day(
    settings: &RegisterSettings,
    date: till_core::order::BusinessDate,
) -> Result<till_core::api::OrderList, till_core::sync::NetFailure> {
    oms_of(settings)
        .day(settings.register_id.as_str(), date)
        .await
}

/// What the screen does with the register's word: moves to the page it
/// names, prints a closed shift's Z report when the store prints by itself,
/// and keeps every event as its kind's answer for the page that shows it.
fn ui(app: &AppState, e: UiEvent) {
    match &e {
        UiEvent::Navigate(page) => app.go(Screen::from(*page)),
        UiEvent::ShiftWritten(shift) if !shift.is_open() => {
            let auto = app.settings.get_untracked().is_some_and(|s| s.auto_print);
            if auto {
                // The Z report is on screen by the next frame: it prints by
                // itself, as a paid sale's receipt does.
                request_animation_frame(|| {
                    if let Some(w) = web_sys::window() {
                        let _ = w.print();
                    }
                });
            }
        }
        _ => {}
    }
    app.show(e);
}

/// One timer, at the register's `poll_timeout`.
fn arm_timer(app: &AppState) {
    let next = app.till.peek(Register::poll_timeout).flatten();
    let app2 = *app;
    let timer = next.map(|at| {
        let wait = at
            .saturating_since(platform::now())
            .as_millis()
            .min(u64::from(u32::MAX)) as u32;
        // The tick runs after the timer's callback has returned: the
        // dispatch re-arms (drops) this very timer.
        Timeout::new(wait, move || {
            spawn_local(async move { dispatch(&app2, Input::Tick) });
        })
    });
    // Replacing the old timer drops (cancels) it.
    app.till.set_timer(timer);
}
