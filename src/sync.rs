//! The sync worker and reconciliation, driving till-core's rules.
//!
//! **Sync**: drains the outbox to the OMS through the batch endpoint
//! (at most 500 orders per request, oldest first). The OMS upserts by id and
//! version, so a batch whose answer was lost is simply sent again. Each
//! result is classified by till-core ([`Outcome::from_http`]): stored,
//! retried with capped backoff, or parked with its reason (never dropped).
//! While the OMS does not answer, the worker waits and tries again by
//! itself; the `online` event and every new sale wake it early. It runs only
//! in the tab that owns the register.
//!
//! **Reconciliation**: orders closed unpaid with their card payment pending
//! confirmation are checked with the bridge and the OMS (till-core's
//! [`reconcile`]) at start, when either becomes reachable, and every five
//! minutes; an approval found turns the order paid (and syncs it).

use crate::net::bridge::Bridge;
use crate::net::oms::{NetError, Oms};
use crate::platform;
use crate::sale;
use crate::state::{AppState, Reach};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::order::{Order, OrderStatus};
use till_core::outbox::{Outbox, Outcome, BATCH_MAX};
use till_core::payment::{AttemptState, Reply};
use till_core::reconcile::{reconcile, Verdict, RECONCILE_INTERVAL};
use till_core::time::{Duration, Timestamp};

/// How often the worker looks at the outbox when nothing woke it.
const IDLE_CHECK: Duration = Duration::from_secs(2);

fn oms(app: &AppState) -> Option<Oms> {
    app.settings.get_untracked().map(|s| Oms {
        base: s.oms_url,
        token: s.register_token,
    })
}

/// Starts the worker (once, in the owner tab).
pub fn start(app: AppState) {
    // The browser says the network is back: try now.
    let wake = app.sync_wake;
    let handle = window_event_listener(leptos::ev::online, move |_| wake.update(|n| *n += 1));
    std::mem::forget(handle);
    spawn_local(async move {
        let mut last_wake = app.sync_wake.get_untracked();
        let mut next_due: Option<Timestamp> = Some(platform::now());
        let mut last_reconcile: Option<Timestamp> = None;
        let mut last_reach = (app.oms.get_untracked(), app.bridge.get_untracked());
        let mut aligned = false;
        loop {
            let now = platform::now();
            let woken = app.sync_wake.get_untracked() != last_wake;
            last_wake = app.sync_wake.get_untracked();
            if app.owner.get_untracked() == Some(true) && app.settings.get_untracked().is_some() {
                if !aligned && app.oms.get_untracked() == Reach::Online {
                    align_sequence(&app).await;
                    aligned = true;
                }
                if woken || next_due.is_some_and(|t| t <= now) {
                    next_due = drain(&app).await;
                }
                let reach = (app.oms.get_untracked(), app.bridge.get_untracked());
                let oms_back = reach.0 == Reach::Online && last_reach.0 == Reach::Offline;
                let came_back = (reach.0 == Reach::Online && last_reach.0 != Reach::Online)
                    || (reach.1 == Reach::Online && last_reach.1 != Reach::Online);
                last_reach = reach;
                if oms_back {
                    // The health probe answered: send now, not after the backoff.
                    if let Ok(entries) = app.db.outbox().await {
                        let changes = Outbox::new(entries).retry_now(platform::now());
                        if app.db.apply_outbox(&changes).await.is_ok() {
                            next_due = drain(&app).await;
                        }
                    }
                }
                if came_back || last_reconcile.is_none_or(|t| now >= t + RECONCILE_INTERVAL) {
                    last_reconcile = Some(now);
                    reconcile_pending(&app).await;
                }
            }
            TimeoutFuture::new(500).await;
            // Sleep in short steps so a wake is seen quickly.
            let until = platform::now() + IDLE_CHECK;
            while platform::now() < until && app.sync_wake.get_untracked() == last_wake {
                if next_due.is_some_and(|t| t <= platform::now()) {
                    break;
                }
                TimeoutFuture::new(250).await;
            }
        }
    });
}

/// Aligns today's order sequence with what the back office holds for this
/// register (after lost storage, numbering continues instead of repeating).
pub async fn align_sequence(app: &AppState) {
    let (Some(oms), Some(settings)) = (oms(app), app.settings.get_untracked()) else {
        return;
    };
    let today = sale::today();
    if let Ok(list) = oms.day(&settings.register_id, today).await {
        let seen = list
            .orders
            .iter()
            .map(|s| s.order.number.seq())
            .max()
            .unwrap_or(0);
        if let Err(e) = app.db.raise_sequence(&today.compact(), seen).await {
            app.alert.set(Some(e.to_string()));
        }
    }
}

/// One drain: sends everything due, batch by batch. Returns when to look again.
pub async fn drain(app: &AppState) -> Option<Timestamp> {
    let oms = oms(app)?;
    let entries = match app.db.outbox().await {
        Ok(e) => e,
        Err(e) => {
            app.alert.set(Some(e.to_string()));
            return Some(platform::now() + Duration::from_secs(30));
        }
    };
    let mut outbox = Outbox::new(entries);
    let total = outbox.due(platform::now(), usize::MAX).len();
    let mut done = 0usize;
    loop {
        let now = platform::now();
        let due: Vec<(till_core::order::OrderId, u32)> =
            outbox.due(now, BATCH_MAX).iter().map(|e| e.key()).collect();
        if due.is_empty() {
            break;
        }
        app.sync_progress
            .set(Some((done, total.max(done + due.len()))));
        // The latest version of each order goes (the OMS keeps the highest).
        let mut orders: Vec<Order> = Vec::with_capacity(due.len());
        let mut sent: Vec<(till_core::order::OrderId, u32, Option<u32>)> =
            Vec::with_capacity(due.len());
        for (id, version) in &due {
            match app.db.order(&id.to_string()).await {
                Ok(Some(o)) => {
                    sent.push((*id, *version, Some(o.version)));
                    orders.push(o);
                }
                // An outbox entry without its order cannot be sent: park it, visibly.
                _ => sent.push((*id, *version, None)),
            }
        }
        let mut changes = Vec::new();
        for (id, version, order_version) in &sent {
            if order_version.is_none() {
                changes.extend(outbox.record(
                    *id,
                    *version,
                    Outcome::Rejected {
                        status: 0,
                        reason: "the order is missing on this register".into(),
                    },
                    now,
                    platform::jitter(),
                ));
            }
        }
        let answer = if orders.is_empty() {
            Ok(None)
        } else {
            oms.send_batch(&orders).await.map(Some)
        };
        match answer {
            Ok(Some(resp)) => {
                app.oms.set(Reach::Online);
                let mut results = resp.results.into_iter();
                for (id, version, order_version) in &sent {
                    let Some(order_version) = order_version else {
                        continue;
                    };
                    let Some(r) = results.next() else { break };
                    let outcome = Outcome::from_http(
                        r.status,
                        &r.error.map(|e| e.message).unwrap_or_default(),
                    );
                    let key_version = if outcome == Outcome::Stored {
                        *order_version
                    } else {
                        *version
                    };
                    changes.extend(outbox.record(
                        *id,
                        key_version,
                        outcome,
                        now,
                        platform::jitter(),
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => {
                if matches!(e, NetError::Unreachable(_)) {
                    app.oms.set(Reach::Offline);
                }
                let reason = e.to_string();
                for (id, version, order_version) in &sent {
                    if order_version.is_some() {
                        changes.extend(outbox.record(
                            *id,
                            *version,
                            Outcome::Retry {
                                reason: reason.clone(),
                            },
                            now,
                            platform::jitter(),
                        ));
                    }
                }
                if let Err(e) = app.db.apply_outbox(&changes).await {
                    app.alert.set(Some(e.to_string()));
                }
                break;
            }
        }
        if let Err(e) = app.db.apply_outbox(&changes).await {
            app.alert.set(Some(e.to_string()));
            break;
        }
        done += due.len();
        app.unsynced.set(outbox.unsynced());
    }
    app.sync_progress.set(None);
    app.unsynced.set(outbox.unsynced());
    app.parked.set(outbox.parked().count());
    outbox.next_due()
}

/// Checks every order whose card payment is pending confirmation.
pub async fn reconcile_pending(app: &AppState) {
    let Ok(attempts) = app.db.attempts().await else {
        return;
    };
    for attempt in attempts
        .into_iter()
        .filter(|a| a.state == AttemptState::ClosedUnpaid)
    {
        reconcile_one(app, &attempt.order_id).await;
    }
}

/// Asks the bridge and the OMS about one order's pending payment and
/// applies the verdict. Returns the order as it now stands.
pub async fn reconcile_one(app: &AppState, order_id: &till_core::order::OrderId) -> Option<Order> {
    let mut order = app.db.order(&order_id.to_string()).await.ok().flatten()?;
    let OrderStatus::Unpaid { reference, .. } = order.status.clone() else {
        return Some(order);
    };
    let attempt = app
        .db
        .attempts()
        .await
        .ok()?
        .into_iter()
        .find(|a| a.reference == reference);
    let settings = app.settings.get_untracked()?;
    let bridge = Bridge {
        base: settings.bridge_url,
        token: settings.pairing_token,
    };
    let bridge_status = match bridge.status(&reference).await {
        Reply::Status(s) => Some(s),
        _ => None,
    };
    let oms_payments = match oms(app)?.order(order_id).await {
        Ok(Some(lookup)) => Some(lookup.payments),
        Ok(None) => Some(Vec::new()),
        Err(_) => None,
    };
    let requested_at = attempt
        .as_ref()
        .map(|a| a.requested_at)
        .unwrap_or(order.updated_at);
    let now = platform::now();
    match reconcile(
        &order,
        bridge_status.as_ref(),
        oms_payments.as_deref(),
        requested_at,
        now,
    ) {
        Verdict::Approved {
            reference,
            amount,
            card,
        } => {
            if order
                .confirm_card(amount, reference, card.clone(), now)
                .is_ok()
            {
                if let Some(mut a) = attempt {
                    a.state = AttemptState::Approved { card };
                    a.updated_at = now;
                    let _ = app.db.save_attempt(&a).await;
                }
                if sale::save(app, &order).await.is_ok() {
                    app.sync_wake.update(|n| *n += 1);
                }
            }
        }
        Verdict::Failed { reason } => {
            if order.mark_payment_failed(reference, now).is_ok() {
                if let Some(mut a) = attempt {
                    a.state = AttemptState::Failed { reason };
                    a.updated_at = now;
                    let _ = app.db.save_attempt(&a).await;
                }
                let _ = sale::save(app, &order).await;
                app.sync_wake.update(|n| *n += 1);
            }
        }
        Verdict::StillPending => {}
    }
    Some(order)
}
