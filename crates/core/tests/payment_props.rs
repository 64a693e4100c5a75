//! Properties of the card-payment state machine under random event
//! sequences on a random clock: whatever the bridge, the network and the
//! cashier do, money stays safe.

use proptest::prelude::*;
use till_core::money::{Currency, Money};
use till_core::order::{CardDetails, OrderId};
use till_core::payment::*;
use till_core::time::{Duration, Timestamp};
use uuid::Uuid;

const AMOUNT: i64 = 1234;

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).unwrap()
}

fn arb_status() -> impl Strategy<Value = BridgeStatus> {
    prop_oneof![
        3 => Just(BridgeStatus::Processing),
        1 => Just(BridgeStatus::Approved { amount: eur(AMOUNT), card: CardDetails { brand: "VISA".into(), last4: "4242".into(), auth_code: "OK1".into(), masked_pan: None, psp_reference: None, tip: None } }),
        1 => Just(BridgeStatus::Approved { amount: eur(AMOUNT + 1), card: CardDetails { brand: "VISA".into(), last4: "4242".into(), auth_code: "OK1".into(), masked_pan: None, psp_reference: None, tip: None } }),
        1 => Just(BridgeStatus::Declined { reason: "insufficient funds".into() }),
        1 => Just(BridgeStatus::Cancelled),
        1 => Just(BridgeStatus::NeverReceived),
        1 => Just(BridgeStatus::Unknown),
    ]
}

fn arb_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Probe),
        Just(Request::Start),
        Just(Request::Poll),
        Just(Request::Resync),
        Just(Request::Cancel),
        Just(Request::Reconcile),
    ]
}

/// The session's own reference, mostly; sometimes another attempt's.
fn arb_reference() -> impl Strategy<Value = PaymentRef> {
    prop_oneof![9 => Just(reference()), 1 => Just(PaymentRef::from_uuid(Uuid::from_u128(10)))]
}

fn reference() -> PaymentRef {
    PaymentRef::from_uuid(Uuid::from_u128(9))
}

fn order() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(0x0191d5a8_7c3e_7000_8000_000000000001)).unwrap()
}

fn report(minor: i64) -> till_core::api::PaymentReport {
    till_core::api::PaymentReport {
        reference: reference(),
        order_id: order(),
        amount: eur(minor),
        status: till_core::api::ReportedStatus::Approved,
        card: CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "OK1".into(),
            masked_pan: None,
            psp_reference: None,
            tip: None,
        },
        approved_at: Timestamp::from_millis(1),
        original: None,
    }
}

fn arb_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        2 => arb_reference().prop_map(|r| Event::accepted(r, Request::Start)),
        1 => arb_reference().prop_map(|r| Event::accepted(r, Request::Probe)),
        1 => arb_reference().prop_map(|r| Event::Replied { reference: r, to: Request::Start, reply: Reply::Refused { reason: "no".into() } }),
        4 => (arb_reference(), arb_request(), arb_status()).prop_map(|(r, to, s)| Event::status(r, to, s)),
        2 => (arb_reference(), arb_request()).prop_map(|(r, to)| Event::unreachable(r, to)),
        1 => prop_oneof![Just(None), Just(Some(vec![])), Just(Some(vec![report(AMOUNT)])), Just(Some(vec![report(AMOUNT + 1)]))]
            .prop_map(|payments| Event::OmsAnswered { payments }),
        2 => Just(Event::CancelPressed),
        3 => Just(Event::ResyncPressed),
        2 => Just(Event::ClosePressed),
        1 => Just(Event::ReconcileNow),
        4 => Just(Event::Tick),
    ]
}

fn is_good_approval(e: &Event) -> bool {
    match e {
        Event::Replied {
            reference: r,
            reply: Reply::Status(BridgeStatus::Approved { amount, .. }),
            ..
        } => *r == reference() && amount.minor() == AMOUNT,
        Event::OmsAnswered { payments: Some(p) } => p.iter().any(|p| p.amount.minor() == AMOUNT),
        _ => false,
    }
}

/// A session whose probe the bridge answered: its write-ahead record and
/// start request are out.
fn start(now: Timestamp) -> (PaymentSession, Vec<Command>) {
    let config = PaymentConfig {
        result_wait: Duration::from_secs(90),
        poll_interval: Duration::from_secs(1),
        ask_tip: false,
    };
    let (mut s, mut cmds) =
        PaymentSession::start(reference(), order(), eur(AMOUNT), config, now).unwrap();
    cmds.extend(s.handle(Event::accepted(reference(), Request::Probe), now));
    (s, cmds)
}

struct Run {
    saw_good_approval: bool,
    starts: usize,
    resync_queries: usize,
    records: usize,
    cancels_outside_window: usize,
    session: PaymentSession,
}

fn run(steps: &[(u32, Event)], resume_at: Option<usize>) -> Run {
    let mut now = Timestamp::from_millis(1_000_000);
    let (mut session, first) = start(now);
    let mut all = first;
    let mut saw_good_approval = false;
    let mut cancels_outside_window = 0;
    for (i, (advance_ms, event)) in steps.iter().enumerate() {
        now = now + Duration::from_millis(u64::from(*advance_ms));
        if resume_at == Some(i) {
            // A reload: the stored attempt is all that survives.
            let (s, cmds) =
                PaymentSession::resume(session.attempt().clone(), PaymentConfig::default(), now);
            session = s;
            all.extend(cmds);
        }
        saw_good_approval |= is_good_approval(event);
        let cmds = session.handle(event.clone(), now);
        for c in &cmds {
            if matches!(c, Command::Cancel { .. })
                && session.cancel_deadline().is_none_or(|d| now >= d)
            {
                cancels_outside_window += 1;
            }
        }
        all.extend(cmds);
    }
    Run {
        saw_good_approval,
        starts: all
            .iter()
            .filter(|c| matches!(c, Command::Start { .. }))
            .count(),
        resync_queries: all
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Command::QueryStatus {
                        request: Request::Resync,
                        ..
                    }
                )
            })
            .count(),
        records: all
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Command::Record {
                        settlement: Settlement::Approved { .. },
                        ..
                    }
                )
            })
            .count(),
        cancels_outside_window,
        session,
    }
}

fn arb_steps() -> impl Strategy<Value = Vec<(u32, Event)>> {
    proptest::collection::vec((prop_oneof![0u32..2_000, 0u32..40_000], arb_event()), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn never_approved_without_the_bridges_approval(steps in arb_steps()) {
        let r = run(&steps, None);
        if !r.saw_good_approval {
            let approved = matches!(r.session.state(), AttemptState::Approved { .. });
            prop_assert!(!approved);
            prop_assert_eq!(r.records, 0);
        }
    }

    #[test]
    fn never_a_third_resync(steps in arb_steps(), resume in proptest::option::of(0usize..60)) {
        let r = run(&steps, resume);
        prop_assert!(r.resync_queries <= usize::from(RESYNCS_MAX));
        prop_assert!(r.session.attempt().resyncs_used <= RESYNCS_MAX);
    }

    #[test]
    fn never_cancels_after_the_window(steps in arb_steps()) {
        prop_assert_eq!(run(&steps, None).cancels_outside_window, 0);
    }

    #[test]
    fn never_loses_an_approval(steps in arb_steps(), resume in proptest::option::of(0usize..60)) {
        let r = run(&steps, resume);
        if r.saw_good_approval {
            let approved = matches!(r.session.state(), AttemptState::Approved { .. });
            prop_assert!(approved, "ended {:?}", r.session.state());
        }
        prop_assert_eq!(r.records, usize::from(r.saw_good_approval));
    }

    #[test]
    fn never_sends_the_same_payment_twice(steps in arb_steps(), resume in proptest::option::of(0usize..60)) {
        prop_assert_eq!(run(&steps, resume).starts, 1);
    }
}
