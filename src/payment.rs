//! Drives till-core's [`PaymentSession`]: performs its commands (IndexedDB
//! writes, bridge requests, the order's changes), feeds it the answers and
//! timer ticks, and keeps the popup's state for the page to render. It
//! decides nothing itself.

use crate::net::bridge::Bridge;
use crate::platform;
use crate::sale;
use crate::state::AppState;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::api::StartPayment;
use till_core::order::Order;
use till_core::payment::{
    ensure_no_payment_in_doubt, Attempt, Command, Event, PaymentConfig, PaymentSession,
};
use till_core::time::Duration;

type Running = Option<(PaymentSession, Option<Timeout>)>;

/// The running session, its timer, and a counter the popup watches.
#[derive(Clone, Copy)]
pub struct Card {
    inner: StoredValue<Running, LocalStorage>,
    pub changed: RwSignal<u64>,
}

impl Default for Card {
    fn default() -> Self {
        Card {
            inner: StoredValue::new_local(None),
            changed: RwSignal::new(0),
        }
    }
}

impl Card {
    pub fn view(&self) -> Option<till_core::payment::View> {
        self.changed.track();
        self.inner
            .with_value(|v| v.as_ref().map(|(s, _)| s.view(platform::now())))
    }

    pub fn is_open(&self) -> bool {
        self.changed.track();
        self.inner
            .with_value(|v| v.as_ref().is_some_and(|(s, _)| s.state().is_live()))
    }

    fn set(&self, session: PaymentSession) {
        self.inner.set_value(Some((session, None)));
        self.changed.update(|n| *n += 1);
    }
}

fn config(app: &AppState) -> PaymentConfig {
    let mut c = PaymentConfig::default();
    if let Some(secs) = app
        .settings
        .get_untracked()
        .and_then(|s| s.result_wait_secs)
    {
        c.result_wait = Duration::from_secs(secs);
    }
    c
}

fn bridge(app: &AppState) -> Option<Bridge> {
    app.settings.get_untracked().map(|s| Bridge {
        base: s.bridge_url,
        token: s.pairing_token,
    })
}

/// "Card (mPOS)": a new attempt for what is due, unless one is in doubt.
pub async fn start(app: AppState, order: Order) -> Result<(), String> {
    let attempts = app.db.attempts().await.map_err(|e| e.to_string())?;
    ensure_no_payment_in_doubt(&order.id, &attempts).map_err(|e| e.to_string())?;
    let due = order.due().map_err(|e| e.to_string())?;
    let (session, cmds) = PaymentSession::start(
        platform::new_payment_ref(),
        order.id,
        due,
        config(&app),
        platform::now(),
    )
    .map_err(|e| e.to_string())?;
    app.card.set(session);
    execute(app, cmds).await;
    Ok(())
}

/// After a reload: every attempt still live comes back, asking the bridge
/// first (never a blind resend).
pub async fn resume(app: AppState) {
    let Ok(attempts) = app.db.attempts().await else {
        return;
    };
    let Some(attempt) = attempts
        .into_iter()
        .filter(|a| a.state.is_live())
        .max_by_key(|a| a.requested_at)
    else {
        return;
    };
    if let Ok(Some(order)) = app.db.order(&attempt.order_id.to_string()).await {
        app.order.set(Some(order));
    }
    let (session, cmds) = PaymentSession::resume(attempt, config(&app), platform::now());
    app.card.set(session);
    app.goto.set(Some("/pay".into()));
    execute(app, cmds).await;
}

/// Feeds an event (a button, an answer, a tick) and performs what follows.
pub fn feed(app: AppState, event: Event) {
    let Some(cmds) = app
        .card
        .inner
        .try_update_value(|v| {
            v.as_mut()
                .map(|(session, _)| session.handle(event, platform::now()))
        })
        .flatten()
    else {
        return;
    };
    app.card.changed.update(|n| *n += 1);
    spawn_local(execute(app, cmds));
}

fn schedule(app: &AppState) {
    let app2 = app.clone();
    app.card.inner.update_value(|v| {
        let Some((session, timer)) = v.as_mut() else {
            return;
        };
        // Dropping the old Timeout cancels it: one timer at a time.
        *timer = session.poll_timeout().map(|at| {
            let wait = at
                .saturating_since(platform::now())
                .as_millis()
                .min(u64::from(u32::MAX)) as u32;
            let app = app2.clone();
            Timeout::new(wait, move || feed(app, Event::Tick))
        });
    });
}

async fn execute(app: AppState, cmds: Vec<Command>) {
    for cmd in cmds {
        match cmd {
            Command::Save(attempt) => {
                if let Err(e) = app.db.save_attempt(&attempt).await {
                    // Without the write-ahead record nothing may be sent.
                    app.alert.set(Some(e.to_string()));
                    close(&app, Some(format!("The card payment was not started: {e}")));
                    return;
                }
            }
            Command::Start {
                reference,
                order_id,
                amount,
            } => {
                let Some(bridge) = bridge(&app) else { return };
                let app = app.clone();
                spawn_local(async move {
                    let reply = bridge
                        .start(&StartPayment {
                            reference,
                            order_id,
                            amount,
                        })
                        .await;
                    feed(
                        app,
                        Event::Replied {
                            to: till_core::payment::Request::Start,
                            reply,
                        },
                    );
                });
            }
            Command::QueryStatus { reference, request } => {
                let Some(bridge) = bridge(&app) else { return };
                let app = app.clone();
                spawn_local(async move {
                    let reply = bridge.status(&reference).await;
                    feed(app, Event::Replied { to: request, reply });
                });
            }
            Command::Cancel { reference } => {
                let Some(bridge) = bridge(&app) else { return };
                let app = app.clone();
                spawn_local(async move {
                    let reply = bridge.cancel(&reference).await;
                    feed(
                        app,
                        Event::Replied {
                            to: till_core::payment::Request::Cancel,
                            reply,
                        },
                    );
                });
            }
            Command::RecordApproval {
                reference,
                order_id,
                amount,
                card,
            } => {
                let order = match app.order.get_untracked().filter(|o| o.id == order_id) {
                    Some(o) => Some(o),
                    None => app.db.order(&order_id.to_string()).await.ok().flatten(),
                };
                let Some(mut order) = order else {
                    app.alert.set(Some(format!("Card payment {reference} was approved, but its order is missing on this register")));
                    continue;
                };
                match order.confirm_card(amount, reference, card, platform::now()) {
                    Ok(()) => {
                        let paid = order.status == till_core::order::OrderStatus::Paid;
                        let id = order.id;
                        if let Err(e) = sale::record(&app, order).await {
                            app.alert.set(Some(e.to_string()));
                        }
                        app.pay_message.set(None);
                        if paid {
                            app.goto.set(Some(format!("/receipt/{id}")));
                        }
                    }
                    Err(e) => app.alert.set(Some(format!(
                        "Card payment {reference} was approved but could not be recorded: {e}"
                    ))),
                }
            }
            Command::ReturnToPayment { message } => close(&app, Some(message)),
            Command::CloseUnpaid {
                reference,
                order_id,
            } => {
                let order = match app.order.get_untracked().filter(|o| o.id == order_id) {
                    Some(o) => Some(o),
                    None => app.db.order(&order_id.to_string()).await.ok().flatten(),
                };
                if let Some(mut order) = order {
                    let number = order.number.to_string();
                    match order.close_unpaid(reference, platform::now()) {
                        Ok(()) => match sale::finish(&app, &order).await {
                            Ok(()) => {
                                app.notice.set(Some(format!(
                                    "Order {number} was closed unpaid: its card payment is pending confirmation. Do not void it."
                                )));
                                app.goto.set(Some("/".into()));
                            }
                            Err(e) => app.alert.set(Some(e.to_string())),
                        },
                        Err(e) => app.alert.set(Some(e.to_string())),
                    }
                }
            }
        }
    }
    schedule(&app);
    app.card.changed.update(|n| *n += 1);
}

fn close(app: &AppState, message: Option<String>) {
    app.pay_message.set(message);
    app.card.changed.update(|n| *n += 1);
}

/// The stored attempts of an order (for the receipt and Register Sales).
pub async fn attempts_of(app: &AppState, order: &Order) -> Vec<Attempt> {
    app.db
        .attempts()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.order_id == order.id)
        .collect()
}
