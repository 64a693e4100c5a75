//! The seed article's card-payment flow, branch by branch, on a simulated
//! clock: each test is one story a cashier would recognise.

use till_core::money::{Currency, Money};
use till_core::order::{CardDetails, OrderId};
use till_core::payment::*;
use till_core::time::{Duration, Timestamp};
use uuid::Uuid;

const T0: Timestamp = Timestamp::from_millis(1_764_230_400_000);

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).unwrap()
}

fn card() -> CardDetails {
    CardDetails {
        brand: "VISA".into(),
        last4: "4242".into(),
        auth_code: "A1B2C3".into(),
    }
}

fn approved(minor: i64) -> BridgeStatus {
    BridgeStatus::Approved {
        amount: eur(minor),
        card: card(),
    }
}

/// A session on a simulated clock, with the commands it has issued so far.
struct Till {
    session: PaymentSession,
    now: Timestamp,
    issued: Vec<Command>,
}

impl Till {
    fn start(amount: i64) -> Till {
        let reference = PaymentRef::from_uuid(Uuid::from_u128(0x42));
        let order = "0191d5a8-7c3e-7000-8000-000000000001"
            .parse::<OrderId>()
            .unwrap();
        let (session, cmds) =
            PaymentSession::start(reference, order, eur(amount), PaymentConfig::default(), T0)
                .unwrap();
        Till {
            session,
            now: T0,
            issued: cmds,
        }
    }

    fn feed(&mut self, e: Event) -> Vec<Command> {
        let cmds = self.session.handle(e, self.now);
        self.issued.extend(cmds.iter().cloned());
        cmds
    }

    /// Advances the clock, firing every timer that falls due on the way and
    /// answering each status poll with `poll_answer` (None: no answer yet).
    fn advance(&mut self, by: Duration, poll_answer: Option<BridgeStatus>) {
        let end = self.now + by;
        while let Some(t) = self.session.poll_timeout() {
            if t > end {
                break;
            }
            self.now = t.max(self.now);
            for c in self.feed(Event::Tick) {
                if let (
                    Command::QueryStatus {
                        request: Request::Poll,
                        ..
                    },
                    Some(s),
                ) = (&c, &poll_answer)
                {
                    self.feed(Event::status(Request::Poll, s.clone()));
                }
            }
        }
        self.now = end;
    }

    fn accept(&mut self) {
        self.feed(Event::Replied {
            to: Request::Start,
            reply: Reply::Accepted,
        });
    }

    fn state(&self) -> AttemptState {
        self.session.state().clone()
    }

    fn count(&self, f: impl Fn(&Command) -> bool) -> usize {
        self.issued.iter().filter(|c| f(c)).count()
    }
}

fn is_record(c: &Command) -> bool {
    matches!(c, Command::RecordApproval { .. })
}

fn returns_with(cmds: &[Command], text: &str) -> bool {
    cmds.iter()
        .any(|c| matches!(c, Command::ReturnToPayment { message } if message.contains(text)))
}

#[test]
fn the_attempt_is_saved_before_the_request_leaves() {
    let t = Till::start(1000);
    assert!(matches!(&t.issued[0], Command::Save(a) if a.state == AttemptState::Requested));
    assert!(matches!(&t.issued[1], Command::Start { .. }));
    assert_eq!(t.issued.len(), 2);
}

#[test]
fn approve_closes_the_popup_by_itself() {
    let mut t = Till::start(1000);
    t.accept();
    assert_eq!(t.session.view(t.now).cancel_secs_left, Some(30));
    t.advance(Duration::from_secs(3), Some(BridgeStatus::Processing));
    t.advance(Duration::from_secs(1), Some(approved(1000)));
    assert_eq!(t.state(), AttemptState::Approved { card: card() });
    assert_eq!(t.count(is_record), 1);
    assert_eq!(t.session.poll_timeout(), None, "nothing left to wait for");
}

#[test]
fn decline_returns_to_the_payment_page_with_the_reason() {
    let mut t = Till::start(1051);
    t.accept();
    let cmds = t.feed(Event::status(
        Request::Poll,
        BridgeStatus::Declined {
            reason: "insufficient funds".into(),
        },
    ));
    assert!(returns_with(&cmds, "insufficient funds"));
    assert!(matches!(t.state(), AttemptState::Declined { .. }));
    assert_eq!(t.count(is_record), 0);
}

#[test]
fn cancel_within_the_window_returns_to_the_payment_page() {
    let mut t = Till::start(1000);
    t.accept();
    t.advance(Duration::from_secs(10), Some(BridgeStatus::Processing));
    assert_eq!(t.session.view(t.now).cancel_secs_left, Some(20));
    let cmds = t.feed(Event::CancelPressed);
    assert!(cmds.iter().any(|c| matches!(c, Command::Cancel { .. })));
    assert_eq!(t.state(), AttemptState::Cancelling);
    let cmds = t.feed(Event::status(Request::Cancel, BridgeStatus::Cancelled));
    assert!(returns_with(&cmds, "Payment cancelled"));
    assert_eq!(t.state(), AttemptState::Cancelled);
}

#[test]
fn cancel_is_refused_after_the_window() {
    let mut t = Till::start(1055);
    t.accept();
    t.advance(Duration::from_secs(30), Some(BridgeStatus::Processing));
    assert_eq!(
        t.session.view(t.now).cancel_secs_left,
        None,
        "the button is gone at 30 s"
    );
    assert!(t.feed(Event::CancelPressed).is_empty());
    assert_eq!(t.state(), AttemptState::Processing);
    // The 55 case: approved after 40 s, well within the result wait.
    t.advance(Duration::from_secs(10), Some(approved(1055)));
    assert_eq!(t.count(is_record), 1);
}

#[test]
fn cancel_after_capture_shows_the_real_result() {
    let mut t = Till::start(1000);
    t.accept();
    let _ = t.feed(Event::CancelPressed);
    let cmds = t.feed(Event::status(Request::Cancel, approved(1000)));
    assert!(cmds.iter().any(is_record));
    assert!(matches!(t.state(), AttemptState::Approved { .. }));
}

#[test]
fn unknown_then_resync_finds_the_approval() {
    let mut t = Till::start(1052);
    t.accept();
    t.advance(RESULT_WAIT_DEFAULT, Some(BridgeStatus::Processing));
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    let v = t.session.view(t.now);
    assert_eq!(
        (v.resyncs_left, v.can_close, v.cancel_secs_left),
        (Some(2), true, None)
    );
    let cmds = t.feed(Event::ResyncPressed);
    assert!(cmds.iter().any(|c| matches!(
        c,
        Command::QueryStatus {
            request: Request::Resync,
            ..
        }
    )));
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::Start { .. })),
        "re-sync never starts a new charge"
    );
    let cmds = t.feed(Event::status(Request::Resync, approved(1052)));
    assert!(cmds.iter().any(is_record));
}

#[test]
fn unknown_then_two_failed_resyncs_leave_only_close_as_unpaid() {
    let mut t = Till::start(1052);
    t.accept();
    t.advance(RESULT_WAIT_DEFAULT, Some(BridgeStatus::Processing));
    for left in [1u8, 0] {
        let _ = t.feed(Event::ResyncPressed);
        assert!(t.session.view(t.now).resync_running);
        let _ = t.feed(Event::status(Request::Resync, BridgeStatus::Processing));
        assert_eq!(t.state(), AttemptState::ResultUnknown);
        assert_eq!(
            t.session.view(t.now).resyncs_left,
            if left > 0 { Some(left) } else { None }
        );
    }
    assert!(t.feed(Event::ResyncPressed).is_empty(), "no third re-sync");
    let v = t.session.view(t.now);
    assert!(v.can_close && v.resyncs_left.is_none());
    let cmds = t.feed(Event::ClosePressed);
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::CloseUnpaid { .. })));
    assert_eq!(t.state(), AttemptState::ClosedUnpaid);
    assert!(t.state().is_in_doubt());
}

#[test]
fn a_late_approval_after_close_still_turns_the_order_paid() {
    let mut t = Till::start(1053);
    t.accept();
    t.advance(RESULT_WAIT_DEFAULT, Some(BridgeStatus::Processing));
    let _ = t.feed(Event::ClosePressed);
    assert_eq!(t.state(), AttemptState::ClosedUnpaid);
    t.now = t.now + Duration::from_mins(10);
    let cmds = t.feed(Event::status(Request::Poll, approved(1053)));
    assert!(cmds.iter().any(is_record));
    assert!(matches!(t.state(), AttemptState::Approved { .. }));
    // And only once.
    let again = t.feed(Event::status(Request::Poll, approved(1053)));
    assert!(again.is_empty());
}

#[test]
fn an_unreachable_bridge_after_accepting_makes_the_result_unknown() {
    let mut t = Till::start(1000);
    t.accept();
    for _ in 0..UNREACHABLE_POLLS_MAX {
        assert_eq!(t.state(), AttemptState::Processing);
        t.now = t.session.poll_timeout().unwrap();
        let cmds = t.feed(Event::Tick);
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Command::QueryStatus { .. })));
        let _ = t.feed(Event::unreachable(Request::Poll));
    }
    assert_eq!(t.state(), AttemptState::ResultUnknown);
}

#[test]
fn an_unanswered_start_is_in_doubt_and_not_found_means_never_received() {
    let mut t = Till::start(1054);
    let _ = t.feed(Event::unreachable(Request::Start));
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    let _ = t.feed(Event::ResyncPressed);
    let cmds = t.feed(Event::status(Request::Resync, BridgeStatus::NotFound));
    assert!(returns_with(&cmds, "never received"));
    assert!(matches!(t.state(), AttemptState::Failed { .. }));
    assert!(!t.state().is_in_doubt(), "the cashier may try again");
}

#[test]
fn not_found_after_acceptance_stays_in_doubt() {
    // The 53 case: the bridge accepted, then lost it after the terminal's
    // timeout. The terminal may have charged: never call it failed here.
    let mut t = Till::start(1053);
    t.accept();
    let _ = t.feed(Event::status(Request::Poll, BridgeStatus::NotFound));
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    let _ = t.feed(Event::ResyncPressed);
    let _ = t.feed(Event::status(Request::Resync, BridgeStatus::NotFound));
    assert_eq!(t.state(), AttemptState::ResultUnknown);
}

#[test]
fn a_refused_start_fails_without_charging() {
    let mut t = Till::start(1000);
    let cmds = t.feed(Event::Replied {
        to: Request::Start,
        reply: Reply::Refused {
            reason: "amount too large".into(),
        },
    });
    assert!(returns_with(&cmds, "amount too large"));
    assert!(!t.state().is_in_doubt());
}

#[test]
fn an_approval_for_another_amount_is_not_recorded() {
    let mut t = Till::start(1000);
    t.accept();
    let _ = t.feed(Event::status(Request::Poll, approved(999)));
    assert_eq!(t.state(), AttemptState::ResultUnknown);
    assert_eq!(t.count(is_record), 0);
    assert!(t.session.view(t.now).note.unwrap().contains("€9.99"));
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
        let mut stored = t.session.attempt().clone();
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
        assert!(
            !cmds.iter().any(|c| matches!(c, Command::Start { .. })),
            "{state:?}"
        );
        let cmds = s.handle(
            Event::status(Request::Poll, approved(1000)),
            t.now + Duration::from_secs(6),
        );
        assert!(cmds.iter().any(is_record), "{state:?}");
    }
}

#[test]
fn resume_of_a_request_the_bridge_never_got_fails_it() {
    let t = Till::start(1000);
    let stored = t.session.attempt().clone();
    let (mut s, _) = PaymentSession::resume(stored, PaymentConfig::default(), t.now);
    let cmds = s.handle(Event::status(Request::Poll, BridgeStatus::NotFound), t.now);
    assert!(returns_with(&cmds, "never received"));
    assert!(matches!(s.state(), AttemptState::Failed { .. }));
}

#[test]
fn resume_of_a_processing_request_resumes_polling_with_a_conservative_window() {
    let t = Till::start(1000);
    let stored = t.session.attempt().clone();
    let later = t.now + Duration::from_secs(20);
    let (mut s, _) = PaymentSession::resume(stored, PaymentConfig::default(), later);
    let _ = s.handle(
        Event::status(Request::Poll, BridgeStatus::Processing),
        later,
    );
    assert_eq!(s.state(), &AttemptState::Processing);
    // The window runs from the write (T0), not from the reload.
    assert_eq!(s.view(later).cancel_secs_left, Some(10));
}

#[test]
fn the_result_wait_is_configurable() {
    let reference = PaymentRef::from_uuid(Uuid::from_u128(7));
    let order = "0191d5a8-7c3e-7000-8000-000000000001"
        .parse::<OrderId>()
        .unwrap();
    let config = PaymentConfig {
        result_wait: Duration::from_secs(5),
        ..PaymentConfig::default()
    };
    let (mut s, _) = PaymentSession::start(reference, order, eur(100), config, T0).unwrap();
    let _ = s.handle(
        Event::Replied {
            to: Request::Start,
            reply: Reply::Accepted,
        },
        T0,
    );
    let _ = s.handle(Event::Tick, T0 + Duration::from_secs(5));
    assert_eq!(s.state(), &AttemptState::ResultUnknown);
}

#[test]
fn the_double_charge_guard_refuses_a_second_attempt_while_one_is_in_doubt() {
    let mut t = Till::start(1000);
    t.accept();
    let a = t.session.attempt().clone();
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
    let order = "0191d5a8-7c3e-7000-8000-000000000001"
        .parse::<OrderId>()
        .unwrap();
    let r = PaymentSession::start(
        PaymentRef::from_uuid(Uuid::from_u128(1)),
        order,
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
    let a = t.session.attempt().clone();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["state"], "processing");
    assert_eq!(serde_json::from_value::<Attempt>(json).unwrap(), a);
}
