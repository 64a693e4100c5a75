//! The seed article's card-payment flow, branch by branch, on a simulated
//! clock: each test is one story a cashier would recognise. Tests named
//! `hole_*` pin a money-safety hole found in review (issue: money safety):
//! each failed on the first slice's session and passes now.

use std::ops::{Deref, DerefMut};
use till_core::api::{PaymentReport, ReportedStatus};
use till_core::order::{CardDetails, OrderId};
use till_core::payment::*;
use till_core::testing::{card, eur, Driver};
use till_core::time::{Duration, Timestamp};
use uuid::Uuid;

const T0: Timestamp = Timestamp::from_millis(1_764_230_400_000);

fn approved(minor: i64) -> BridgeStatus {
    BridgeStatus::Approved {
        amount: eur(minor),
        card: card(),
    }
}

fn order_id() -> OrderId {
    "0191d5a8-7c3e-7000-8000-000000000001".parse().unwrap()
}

/// A card session on the tests' one driver ([`Driver`]: `machine` is the
/// session, `now` the clock, `issued` every command so far).
struct Till {
    driver: Driver<PaymentSession>,
    reference: PaymentRef,
}

impl Deref for Till {
    type Target = Driver<PaymentSession>;
    fn deref(&self) -> &Driver<PaymentSession> {
        &self.driver
    }
}

impl DerefMut for Till {
    fn deref_mut(&mut self) -> &mut Driver<PaymentSession> {
        &mut self.driver
    }
}

impl Till {
    /// A session whose probe the bridge answered: saved and sent.
    fn start(amount: i64) -> Till {
        let mut t = Till::connecting(amount);
        t.reply(Request::Probe, Reply::Accepted);
        t
    }

    /// A session still asking whether the bridge is there.
    fn connecting(amount: i64) -> Till {
        let reference = PaymentRef::from_uuid(Uuid::from_u128(0x42));
        let (session, cmds) = PaymentSession::start(
            reference,
            order_id(),
            eur(amount),
            PaymentConfig::default(),
            T0,
        )
        .unwrap();
        Till {
            driver: Driver::new(session, T0, cmds),
            reference,
        }
    }

    fn reply(&mut self, to: Request, reply: Reply) -> Vec<Command> {
        let reference = self.reference;
        self.feed(Event::Replied {
            reference,
            to,
            reply,
        })
    }

    fn status(&mut self, to: Request, s: BridgeStatus) -> Vec<Command> {
        self.reply(to, Reply::Status(s))
    }

    /// Advances the clock, firing every timer that falls due on the way and
    /// answering each status poll with `poll_answer` (None: no answer yet).
    fn advance(&mut self, by: Duration, poll_answer: Option<BridgeStatus>) {
        let end = self.now + by;
        while let Some(cmds) = self.driver.tick_until(end) {
            let polled = cmds.iter().any(|c| {
                matches!(
                    c,
                    Command::QueryStatus {
                        request: Request::Poll,
                        ..
                    }
                )
            });
            if let (true, Some(s)) = (polled, &poll_answer) {
                self.status(Request::Poll, s.clone());
            }
        }
    }

    fn accept(&mut self) {
        self.reply(Request::Start, Reply::Accepted);
    }

    fn state(&self) -> AttemptState {
        self.machine.state().clone()
    }
}

fn is_approval(c: &Command) -> bool {
    matches!(
        c,
        Command::Record {
            settlement: Settlement::Approved { .. },
            ..
        }
    )
}

fn is_start(c: &Command) -> bool {
    matches!(c, Command::Start { .. })
}

fn returns_with(cmds: &[Command], text: &str) -> bool {
    cmds.iter()
        .any(|c| matches!(c, Command::ReturnToPayment { message } if message.contains(text)))
}

#[test]
fn the_bridge_is_probed_then_the_attempt_is_saved_before_the_request_leaves() {
    let mut t = Till::connecting(1000);
    assert!(matches!(&t.issued[..], [Command::Probe { .. }]));
    assert_eq!(t.state(), AttemptState::Connecting);
    assert!(t.state().is_live() && !t.state().is_in_doubt());
    let cmds = t.reply(Request::Probe, Reply::Accepted);
    assert!(matches!(&cmds[0], Command::Save(a) if a.state == AttemptState::Requested));
    assert!(is_start(&cmds[1]));
    assert_eq!(cmds.len(), 2);
}

#[test]
fn approve_closes_the_popup_by_itself() {
    let mut t = Till::start(1000);
    t.accept();
    assert_eq!(t.machine.view(t.now).cancel_secs_left, Some(30));
    t.advance(Duration::from_secs(3), Some(BridgeStatus::Processing));
    t.advance(Duration::from_secs(1), Some(approved(1000)));
    assert_eq!(t.state(), AttemptState::Approved { card: card() });
    assert_eq!(t.count(is_approval), 1);
    assert_eq!(t.machine.poll_timeout(), None, "nothing left to wait for");
}

#[test]
fn decline_returns_to_the_payment_page_with_the_reason() {
    let mut t = Till::start(1051);
    t.accept();
    let cmds = t.status(
        Request::Poll,
        BridgeStatus::Declined {
            reason: "insufficient funds".into(),
        },
    );
    assert!(returns_with(&cmds, "insufficient funds"));
    assert!(matches!(t.state(), AttemptState::Declined { .. }));
    assert_eq!(t.count(is_approval), 0);
}

#[test]
fn cancel_within_the_window_returns_to_the_payment_page() {
    let mut t = Till::start(1000);
    t.accept();
    t.advance(Duration::from_secs(10), Some(BridgeStatus::Processing));
    assert_eq!(t.machine.view(t.now).cancel_secs_left, Some(20));
    let cmds = t.feed(Event::CancelPressed);
    assert!(cmds.iter().any(|c| matches!(c, Command::Cancel { .. })));
    assert_eq!(t.state(), AttemptState::Cancelling);
    let cmds = t.status(Request::Cancel, BridgeStatus::Cancelled);
    assert!(returns_with(&cmds, "Payment cancelled"));
    assert_eq!(t.state(), AttemptState::Cancelled);
}

#[test]
fn cancel_while_connecting_sends_nothing() {
    let mut t = Till::connecting(1000);
    let cmds = t.feed(Event::CancelPressed);
    assert!(returns_with(&cmds, "Payment cancelled"));
    let late = t.reply(Request::Probe, Reply::Accepted);
    assert!(
        late.is_empty(),
        "a probe answer after cancel starts nothing"
    );
    assert_eq!(t.count(is_start), 0);
}

#[test]
fn cancel_is_refused_after_the_window() {
    let mut t = Till::start(1055);
    t.accept();
    t.advance(Duration::from_secs(30), Some(BridgeStatus::Processing));
    assert_eq!(
        t.machine.view(t.now).cancel_secs_left,
        None,
        "the button is gone at 30 s"
    );
    assert!(t.feed(Event::CancelPressed).is_empty());
    assert_eq!(t.state(), AttemptState::Processing);
    // The 55 case: approved after 40 s, well within the result wait.
    t.advance(Duration::from_secs(10), Some(approved(1055)));
    assert_eq!(t.count(is_approval), 1);
}

#[test]
fn cancel_after_capture_shows_the_real_result() {
    let mut t = Till::start(1000);
    t.accept();
    let _ = t.feed(Event::CancelPressed);
    let cmds = t.status(Request::Cancel, approved(1000));
    assert!(cmds.iter().any(is_approval));
    assert!(matches!(t.state(), AttemptState::Approved { .. }));
}

#[test]
fn unknown_then_resync_finds_the_approval() {
    let mut t = Till::start(1052);
    t.accept();
    t.advance(RESULT_WAIT_DEFAULT, Some(BridgeStatus::Processing));
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    let v = t.machine.view(t.now);
    assert_eq!(
        (v.resyncs_left, v.can_close, v.cancel_secs_left),
        (Some(2), true, None)
    );
    assert_eq!(v.title(), "Payment result not received");
    let cmds = t.feed(Event::ResyncPressed);
    assert!(cmds.iter().any(|c| matches!(
        c,
        Command::QueryStatus {
            request: Request::Resync,
            ..
        }
    )));
    assert!(
        cmds.iter().any(|c| matches!(c, Command::LookupOms { .. })),
        "a re-sync also asks the back office"
    );
    assert!(
        !cmds.iter().any(is_start),
        "re-sync never starts a new charge"
    );
    let cmds = t.status(Request::Resync, approved(1052));
    assert!(cmds.iter().any(is_approval));
}

#[test]
fn unknown_then_two_failed_resyncs_leave_only_close_as_unpaid() {
    let mut t = Till::start(1052);
    t.accept();
    t.advance(RESULT_WAIT_DEFAULT, Some(BridgeStatus::Processing));
    for left in [1u8, 0] {
        let _ = t.feed(Event::ResyncPressed);
        assert!(t.machine.view(t.now).resync_running);
        let _ = t.status(Request::Resync, BridgeStatus::Processing);
        let _ = t.feed(Event::OmsAnswered {
            payments: Some(vec![]),
        });
        assert_eq!(t.state(), AttemptState::ResultUnknown);
        assert_eq!(
            t.machine.view(t.now).resyncs_left,
            if left > 0 { Some(left) } else { None }
        );
    }
    assert!(t.feed(Event::ResyncPressed).is_empty(), "no third re-sync");
    let v = t.machine.view(t.now);
    assert!(v.can_close && v.resyncs_left.is_none());
    let cmds = t.feed(Event::ClosePressed);
    assert!(cmds.iter().any(|c| matches!(
        c,
        Command::Record {
            settlement: Settlement::ClosedUnpaid,
            attempt
        } if attempt.state == AttemptState::ClosedUnpaid
    )));
    assert_eq!(t.state(), AttemptState::ClosedUnpaid);
    assert!(t.state().is_in_doubt());
}

#[test]
fn a_closed_attempt_is_reconciled_on_a_timer_and_a_late_approval_turns_it_paid() {
    let mut t = Till::start(1053);
    t.accept();
    t.advance(RESULT_WAIT_DEFAULT, Some(BridgeStatus::Processing));
    let _ = t.feed(Event::ClosePressed);
    assert_eq!(
        t.machine.poll_timeout(),
        Some(t.now + RECONCILE_INTERVAL),
        "checked again in five minutes"
    );
    t.now = t.machine.poll_timeout().unwrap();
    let cmds = t.feed(Event::Tick);
    assert!(cmds.iter().any(|c| matches!(
        c,
        Command::QueryStatus {
            request: Request::Reconcile,
            ..
        }
    )));
    assert!(cmds.iter().any(|c| matches!(c, Command::LookupOms { .. })));
    // The terminal reported to the back office by itself (the 53 case).
    let report = PaymentReport {
        reference: t.reference,
        order_id: order_id(),
        amount: eur(1053),
        status: ReportedStatus::Approved,
        card: card(),
        approved_at: t.now,
        original: None,
    };
    let cmds = t.feed(Event::OmsAnswered {
        payments: Some(vec![report]),
    });
    assert!(cmds.iter().any(is_approval));
    assert!(matches!(t.state(), AttemptState::Approved { .. }));
    let again = t.status(Request::Reconcile, approved(1053));
    assert!(again.is_empty(), "and only once");
}

#[test]
fn an_unreachable_bridge_after_accepting_makes_the_result_unknown() {
    let mut t = Till::start(1000);
    t.accept();
    for _ in 0..UNREACHABLE_POLLS_MAX {
        assert_eq!(t.state(), AttemptState::Processing);
        t.now = t.machine.poll_timeout().unwrap();
        let cmds = t.feed(Event::Tick);
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Command::QueryStatus { .. })));
        let _ = t.reply(Request::Poll, Reply::Unreachable);
    }
    assert_eq!(t.state(), AttemptState::ResultUnknown);
}

#[test]
fn a_refused_start_fails_without_charging() {
    let mut t = Till::start(1000);
    let cmds = t.reply(
        Request::Start,
        Reply::Refused {
            reason: "amount too large".into(),
        },
    );
    assert!(returns_with(&cmds, "amount too large"));
    assert!(!t.state().is_in_doubt());
}

#[test]
fn resume_asks_for_the_status_and_never_resends() {
    for state in [
        AttemptState::Requested,
        AttemptState::Processing,
        AttemptState::Cancelling,
        AttemptState::ResultUnknown,
    ] {
        let mut t = Till::start(1000);
        if state != AttemptState::Requested {
            t.accept();
        }
        let mut stored = t.machine.attempt().clone();
        stored.state = state.clone();
        let (mut s, cmds) = PaymentSession::resume(
            stored,
            PaymentConfig::default(),
            t.now + Duration::from_secs(5),
        );
        assert!(
            cmds.iter().any(|c| matches!(
                c,
                Command::QueryStatus {
                    request: Request::Poll,
                    ..
                }
            )),
            "{state:?}"
        );
        assert!(!cmds.iter().any(is_start), "{state:?}");
        let cmds = s.handle(
            Event::status(t.reference, Request::Poll, approved(1000)),
            t.now + Duration::from_secs(6),
        );
        assert!(cmds.iter().any(is_approval), "{state:?}");
    }
}

#[test]
fn resume_of_a_closed_attempt_reconciles_at_once() {
    let mut t = Till::start(1000);
    t.accept();
    let mut stored = t.machine.attempt().clone();
    stored.state = AttemptState::ClosedUnpaid;
    let (_, cmds) = PaymentSession::resume(stored, PaymentConfig::default(), t.now);
    assert!(cmds.iter().any(|c| matches!(
        c,
        Command::QueryStatus {
            request: Request::Reconcile,
            ..
        }
    )));
    assert!(cmds.iter().any(|c| matches!(c, Command::LookupOms { .. })));
}

#[test]
fn resume_of_a_request_the_bridge_never_got_fails_it() {
    let t = Till::start(1000);
    let stored = t.machine.attempt().clone();
    let (mut s, _) = PaymentSession::resume(stored, PaymentConfig::default(), t.now);
    let cmds = s.handle(
        Event::status(t.reference, Request::Poll, BridgeStatus::NeverReceived),
        t.now,
    );
    assert!(returns_with(&cmds, "never reached the terminal"));
    assert!(matches!(s.state(), AttemptState::Failed { .. }));
}

#[test]
fn resume_of_a_processing_request_resumes_polling_with_a_conservative_window() {
    let t = Till::start(1000);
    let stored = t.machine.attempt().clone();
    let later = t.now + Duration::from_secs(20);
    let (mut s, _) = PaymentSession::resume(stored, PaymentConfig::default(), later);
    let _ = s.handle(
        Event::status(t.reference, Request::Poll, BridgeStatus::Processing),
        later,
    );
    assert_eq!(s.state(), &AttemptState::Processing);
    // The window runs from the write (T0), not from the reload.
    assert_eq!(s.view(later).cancel_secs_left, Some(10));
}

#[test]
fn the_result_wait_is_configurable() {
    let reference = PaymentRef::from_uuid(Uuid::from_u128(7));
    let config = PaymentConfig {
        result_wait: Duration::from_secs(5),
        ..PaymentConfig::default()
    };
    let (mut s, _) = PaymentSession::start(reference, order_id(), eur(100), config, T0).unwrap();
    let _ = s.handle(Event::accepted(reference, Request::Probe), T0);
    let _ = s.handle(Event::accepted(reference, Request::Start), T0);
    let _ = s.handle(Event::Tick, T0 + Duration::from_secs(5));
    assert_eq!(s.state(), &AttemptState::ResultUnknown);
}

#[test]
fn a_store_that_asks_for_tips_asks_on_payments_never_on_refunds_and_records_the_tip() {
    let config = PaymentConfig {
        ask_tip: true,
        ..PaymentConfig::default()
    };
    let asks = |cmds: &[Command]| {
        cmds.iter().find_map(|c| match c {
            Command::Start { ask_tip, .. } => Some(*ask_tip),
            _ => None,
        })
    };
    let reference = PaymentRef::from_uuid(Uuid::from_u128(8));
    let (mut s, _) = PaymentSession::start(reference, order_id(), eur(1000), config, T0).unwrap();
    let cmds = s.handle(Event::accepted(reference, Request::Probe), T0);
    assert_eq!(asks(&cmds), Some(true));
    let _ = s.handle(Event::accepted(reference, Request::Start), T0);
    let tipped = CardDetails {
        tip: Some(eur(150)),
        ..card()
    };
    let status = BridgeStatus::Approved {
        amount: eur(1000),
        card: tipped.clone(),
    };
    let cmds = s.handle(Event::status(reference, Request::Poll, status), T0);
    let recorded = cmds.iter().find_map(|c| match c {
        Command::Record { settlement, .. } => Some(settlement.clone()),
        _ => None,
    });
    assert_eq!(
        recorded,
        Some(Settlement::Approved {
            amount: eur(1000),
            card: tipped
        }),
        "the tip is recorded with the card, the amount stays the sale's"
    );
    let link = RefundLink {
        refund_id: "0191d5a8-9000-7000-8000-000000000007".parse().unwrap(),
        original: reference,
    };
    let back = PaymentRef::from_uuid(Uuid::from_u128(9));
    let (mut r, _) =
        PaymentSession::start_refund(back, order_id(), eur(500), link, config, T0).unwrap();
    let cmds = r.handle(Event::accepted(back, Request::Probe), T0);
    assert_eq!(asks(&cmds), Some(false), "a refund never asks for a tip");
}

#[test]
fn the_double_charge_guard_refuses_a_second_attempt_while_one_is_in_doubt() {
    let mut t = Till::start(1000);
    t.accept();
    let a = t.machine.attempt().clone();
    let err = ensure_no_payment_in_doubt(&a.order_id, [&a]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "A card payment for this order is still pending confirmation"
    );
    let mut failed = a.clone();
    failed.state = AttemptState::Failed { reason: "x".into() };
    ensure_no_payment_in_doubt(&a.order_id, [&failed]).unwrap();
}

#[test]
fn zero_amounts_are_not_charged() {
    let r = PaymentSession::start(
        PaymentRef::from_uuid(Uuid::from_u128(1)),
        order_id(),
        eur(0),
        PaymentConfig::default(),
        T0,
    );
    assert_eq!(r.unwrap_err(), PaymentError::NothingToCharge);
}

#[test]
fn attempts_survive_json_as_stored() {
    let mut t = Till::start(1000);
    t.accept();
    let a = t.machine.attempt().clone();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["state"], "processing");
    assert_eq!(serde_json::from_value::<Attempt>(json).unwrap(), a);
}

#[test]
fn the_in_doubt_list_shows_every_unsettled_attempt_oldest_first_with_its_age() {
    let mut t = Till::start(1000);
    t.accept();
    let mut old = t.machine.attempt().clone();
    old.state = AttemptState::ClosedUnpaid;
    old.reference = PaymentRef::from_uuid(Uuid::from_u128(1));
    old.requested_at = Timestamp::from_millis(T0.as_millis() - 26 * 3_600_000);
    let mut done = old.clone();
    done.reference = PaymentRef::from_uuid(Uuid::from_u128(2));
    done.state = AttemptState::Declined { reason: "x".into() };
    let list = in_doubt([t.machine.attempt(), &old, &done], T0);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].reference, old.reference);
    assert_eq!(list[0].age, Duration::from_mins(60 * 26));
    assert_eq!(list[0].state, "pending confirmation");
}

// ---- the holes ----

/// Hole 1: a status answer that arrives late for an earlier attempt must
/// not settle the attempt the terminal is charging now.
#[test]
fn hole_01_a_reply_for_another_reference_is_ignored() {
    let mut t = Till::start(1000);
    t.accept();
    let earlier = PaymentRef::from_uuid(Uuid::from_u128(0x41));
    let cmds = t.feed(Event::status(
        earlier,
        Request::Poll,
        BridgeStatus::Declined {
            reason: "the earlier attempt".into(),
        },
    ));
    assert!(cmds.is_empty());
    assert_eq!(t.state(), AttemptState::Processing);
    let cmds = t.feed(Event::status(
        earlier,
        Request::Cancel,
        BridgeStatus::Cancelled,
    ));
    assert!(cmds.is_empty());
    let cmds = t.feed(Event::status(earlier, Request::Resync, approved(1000)));
    assert!(cmds.is_empty(), "not even an approval of another reference");
    assert_eq!(t.state(), AttemptState::Processing);
}

/// Hole 3: "unknown to the bridge and the back office" long after the
/// request is not a failure: the terminal's own report can come hours later.
#[test]
fn hole_03_a_closed_attempt_is_never_failed_by_silence() {
    let mut t = Till::start(1053);
    t.accept();
    t.advance(RESULT_WAIT_DEFAULT, Some(BridgeStatus::Processing));
    let _ = t.feed(Event::ClosePressed);
    for hour in 1..=48 {
        t.now = T0 + Duration::from_mins(60 * hour);
        let _ = t.feed(Event::ReconcileNow);
        let _ = t.status(Request::Reconcile, BridgeStatus::Unknown);
        let _ = t.feed(Event::OmsAnswered {
            payments: Some(vec![]),
        });
        assert_eq!(t.state(), AttemptState::ClosedUnpaid, "hour {hour}");
    }
    let late = t.status(Request::Reconcile, approved(1053));
    assert!(
        late.iter().any(is_approval),
        "two days later, still recorded"
    );
}

/// Hole 4: an unanswered start followed by "not found" is only "nothing
/// was charged" if the bridge says it never received the request; a
/// terminal that gave up without a result is in doubt.
#[test]
fn hole_04_never_received_fails_safely_but_unknown_stays_in_doubt() {
    let mut t = Till::start(1054);
    let _ = t.reply(Request::Start, Reply::Unreachable);
    let cmds = t.status(Request::Poll, BridgeStatus::NeverReceived);
    assert!(returns_with(&cmds, "Nothing was charged"));
    assert!(!t.state().is_in_doubt());

    let mut t = Till::start(1054);
    let _ = t.reply(Request::Start, Reply::Unreachable);
    let _ = t.status(Request::Poll, BridgeStatus::Unknown);
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    let _ = t.feed(Event::ResyncPressed);
    let _ = t.status(Request::Resync, BridgeStatus::Unknown);
    assert_eq!(
        t.state(),
        AttemptState::ResultUnknown,
        "unknown is in doubt"
    );

    // Accepted, then "never received": the bridge lost its journal. In doubt.
    let mut t = Till::start(1000);
    t.accept();
    let _ = t.status(Request::Poll, BridgeStatus::NeverReceived);
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    assert!(t.machine.view(t.now).note.is_some());
}

/// Hole 9: reconciliation makes the same amount check as the live popup.
#[test]
fn hole_09_an_approval_for_another_amount_is_never_recorded_live_or_reconciled() {
    let mut t = Till::start(1000);
    t.accept();
    let _ = t.status(Request::Poll, approved(999));
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    assert_eq!(t.count(is_approval), 0);
    assert!(t.machine.view(t.now).note.unwrap().contains("€9.99"));

    let _ = t.feed(Event::ClosePressed);
    let report = PaymentReport {
        reference: t.reference,
        order_id: order_id(),
        amount: eur(1),
        status: ReportedStatus::Approved,
        card: card(),
        approved_at: t.now,
        original: None,
    };
    let _ = t.feed(Event::OmsAnswered {
        payments: Some(vec![report]),
    });
    let _ = t.status(Request::Reconcile, approved(2000));
    assert_eq!(t.count(is_approval), 0);
    assert_eq!(
        t.state(),
        AttemptState::ClosedUnpaid,
        "still in doubt, with the note"
    );
    assert!(t
        .machine
        .attempt()
        .note
        .as_deref()
        .unwrap()
        .contains("€20.00"));
}

/// Hole 13: a bridge that cannot be reached when the cashier picks card
/// proves nothing was sent: say so, and let the cashier try again or take
/// cash. Nothing is in doubt and nothing was stored.
#[test]
fn hole_13_an_unreachable_bridge_before_the_start_is_not_in_doubt() {
    let mut t = Till::connecting(1000);
    let cmds = t.reply(Request::Probe, Reply::Unreachable);
    assert!(returns_with(
        &cmds,
        "The payment bridge is not reachable — nothing was charged"
    ));
    assert!(!t.state().is_in_doubt() && !t.state().is_live());
    assert_eq!(t.count(|c| matches!(c, Command::Save(_))), 0);
    assert_eq!(t.count(is_start), 0);

    // No answer at all: the same, when the probe times out.
    let mut t = Till::connecting(1000);
    t.now = t.machine.poll_timeout().unwrap();
    assert_eq!(t.now, T0 + PROBE_TIMEOUT);
    let cmds = t.feed(Event::Tick);
    assert!(returns_with(&cmds, "nothing was charged"));
    assert_eq!(t.count(is_start), 0);
}
