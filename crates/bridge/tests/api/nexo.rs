//! Round trips between the bridge's driver and `till-terminal`'s device,
//! through both codecs (sealed with the shared key, opened and verified on
//! the other side): Payment, Abort, TransactionStatus (each of its three
//! answers) and Reversal. No sockets: what crosses is the bytes.

use till_bridge::driver::{CallResult, DriverConfig, Final, Need, Operation, Original, Phase};
use till_core::money::{Currency, Money};
use till_core::payment::{BridgeStatus, PaymentRef};
use till_core::time::{Duration, Timestamp};
use till_nexo::{Codec, ErrorCondition, Key, ResponseBody, ServiceId};
use till_terminal::device::{Device, DeviceConfig, Reply};
use uuid::Uuid;

const T0: Timestamp = Timestamp::from_millis(1_796_635_800_000);
const POI: &str = "V400m-000000007";

fn codec() -> Codec {
    Codec::new(Key::derive("Till-Test-Key#2026", "TillTestKey01", 1))
}

fn config() -> DriverConfig {
    DriverConfig {
        poi_id: POI.into(),
        sale_id: "R1".into(),
        terminal_timeout: Duration::from_secs(120),
    }
}

fn device() -> Device {
    Device::in_memory(DeviceConfig {
        approve_delay: Duration::from_secs(3),
        ..DeviceConfig::new(POI)
    })
    .unwrap()
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).unwrap()
}

fn payment(n: u128, minor: i64, refund_of: Option<Original>) -> Operation {
    let reference = PaymentRef::from_uuid(Uuid::from_u128(0x4000_8000_0000_0000 | n));
    let order = format!("0190f1a2-0000-7000-8000-{n:012x}").parse().unwrap();
    Operation::new(
        reference,
        order,
        eur(minor),
        refund_of,
        &config(),
        ServiceId::numbered(n as u64),
        T0,
    )
}

/// The request through both codecs to the device; its reply back through
/// both codecs (a held Payment's reply once the device decides it, at `decide`).
fn exchange(dev: &mut Device, request: &till_nexo::Request, now: Timestamp) -> Option<CallResult> {
    let (bridge, terminal) = (codec(), codec());
    let wire = bridge.seal_request(request, [7; 16]);
    let arrived = terminal
        .open_request(&wire)
        .expect("the terminal opens the bridge's request");
    assert_eq!(&arrived, request);
    let answer = match dev.handle(arrived, now).unwrap() {
        Reply::Now(r) => *r,
        Reply::Empty => return Some(CallResult::Empty),
        Reply::Held(_) => return None,
    };
    let back = terminal.seal_response(&answer, [9; 16]);
    let opened = bridge
        .open_response(&back)
        .expect("the bridge opens the terminal's answer");
    assert_eq!(opened, answer);
    Some(CallResult::Answered(Box::new(opened)))
}

fn decided(dev: &mut Device, at: Timestamp) -> CallResult {
    let finished = dev.advance(at).unwrap();
    let answer = finished[0].response.clone().expect("answered");
    let back = codec().seal_response(&answer, [3; 16]);
    CallResult::Answered(Box::new(codec().open_response(&back).unwrap()))
}

#[test]
fn a_payment_is_held_then_approved_and_its_status_repeats_it() {
    let mut dev = device();
    let mut op = payment(1, 1250, None);
    let c = config();
    assert!(
        exchange(&mut dev, &op.start_request(&c), T0).is_none(),
        "held while the customer pays"
    );
    // Still running: the status says so.
    let status = op.status_request(ServiceId::numbered(100), &c);
    let Some(CallResult::Answered(r)) = exchange(&mut dev, &status, T0) else {
        panic!()
    };
    assert_eq!(
        r.body.outcome().error_condition,
        Some(ErrorCondition::InProgress)
    );
    let at = T0 + Duration::from_secs(3);
    op.answered(Need::Start, T0, decided(&mut dev, at), at, &c);
    let BridgeStatus::Approved { amount, card } = op.status(at, &c) else {
        panic!("{op:?}")
    };
    assert_eq!(amount, eur(1250));
    card.validate().unwrap();
    assert!(card.psp_reference.is_some());
    // Found and finished: Success, repeating the payment's answer.
    let status = op.status_request(ServiceId::numbered(101), &c);
    let Some(CallResult::Answered(r)) = exchange(&mut dev, &status, at) else {
        panic!()
    };
    let ResponseBody::TransactionStatus(s) = &r.body else {
        panic!()
    };
    let repeated = s.repeated.as_ref().unwrap();
    assert_eq!(repeated.message_header.service_id, op.service_id);
    assert!(repeated.body.payment_response.is_some());
    // Unknown: NotFound.
    let stranger = payment(2, 100, None);
    let status = stranger.status_request(ServiceId::numbered(102), &c);
    let Some(CallResult::Answered(r)) = exchange(&mut dev, &status, at) else {
        panic!()
    };
    assert_eq!(
        r.body.outcome().error_condition,
        Some(ErrorCondition::NotFound)
    );
}

#[test]
fn an_abort_before_the_decision_ends_the_payment_cancelled() {
    let mut dev = device();
    let mut op = payment(3, 1000, None);
    let c = config();
    assert!(exchange(&mut dev, &op.start_request(&c), T0).is_none());
    assert_eq!(op.cancel(), Some(Need::Abort));
    assert_eq!(op.cancel(), None, "one Abort");
    let abort = op.abort_request(ServiceId::numbered(200), &c);
    let at = T0 + Duration::from_secs(1);
    assert_eq!(exchange(&mut dev, &abort, at), Some(CallResult::Empty));
    op.answered(Need::Start, T0, decided(&mut dev, at), at, &c);
    assert_eq!(op.final_state(), Some(&Final::Cancelled));
    assert!(dev.charges().unwrap().is_empty());
}

#[test]
fn a_refund_is_a_reversal_acknowledged_at_once_and_settled_by_status() {
    let mut dev = device();
    let c = config();
    let mut paid = payment(4, 2000, None);
    exchange(&mut dev, &paid.start_request(&c), T0);
    let at = T0 + Duration::from_secs(3);
    paid.answered(Need::Start, T0, decided(&mut dev, at), at, &c);
    let Some(Final::Approved {
        card,
        poi_transaction,
        ..
    }) = paid.final_state().cloned()
    else {
        panic!()
    };
    let original = Original {
        reference: paid.reference,
        poi_transaction,
        card,
    };
    let mut refund = payment(5, 500, Some(original));
    let ack = exchange(&mut dev, &refund.start_request(&c), at).unwrap();
    refund.answered(Need::Start, at, ack, at, &c);
    assert!(
        matches!(refund.phase, Phase::Asking { .. }),
        "acknowledged, not done: {refund:?}"
    );
    assert_eq!(refund.status(at, &c), BridgeStatus::Processing);
    let later = at + Duration::from_secs(3);
    dev.advance(later).unwrap();
    let status = refund.status_request(ServiceId::numbered(300), &c);
    let answer = exchange(&mut dev, &status, later).unwrap();
    refund.answered(Need::Status, later, answer, later, &c);
    let BridgeStatus::Approved { amount, .. } = refund.status(later, &c) else {
        panic!("{refund:?}")
    };
    assert_eq!(amount, eur(500));
    let charges = dev.charges().unwrap();
    assert_eq!(charges.len(), 2);
    assert_eq!(
        charges[1].refund_of.as_deref(),
        Some(paid.reference.to_string().as_str())
    );
}
