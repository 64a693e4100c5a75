//! The simulated terminal's state machine, on a scripted clock: what a
//! terminal speaking the Terminal API answers to each request, and what it
//! remembers across a restart.

use till_core::money::{Currency, Money};
use till_core::time::{Duration, Timestamp};
use till_nexo::additional;
use till_nexo::message::*;
use till_nexo::{Amount, ErrorCondition, ServiceId};
use till_terminal::behaviour::{Behaviour, Outcome as Decision};
use till_terminal::device::{Delivery, Device, DeviceConfig, Reply};

const T0: Timestamp = Timestamp::from_millis(1_796_635_800_000);
const POI: &str = "V400m-000000009";

fn device() -> Device {
    Device::in_memory(config()).unwrap()
}

fn config() -> DeviceConfig {
    DeviceConfig {
        approve_delay: Duration::from_secs(3),
        terminal_timeout: Duration::from_secs(120),
        ..DeviceConfig::new(POI)
    }
}

fn at(secs: u64) -> Timestamp {
    T0 + Duration::from_secs(secs)
}

fn header(category: Category, service: u64) -> MessageHeader {
    MessageHeader::request(category, "R1", ServiceId::numbered(service), POI)
}

fn sale(reference: &str, extra: Option<&str>) -> SaleData {
    let mut pairs = vec![("metadata.orderId", "0190f1a2-0000-7000-8000-000000000001")];
    if let Some(e) = extra {
        pairs.push(("tenderOption", e));
    }
    SaleData {
        sale_transaction_id: TransactionId {
            transaction_id: reference.into(),
            time_stamp: till_nexo::time::format(T0),
        },
        sale_to_acquirer_data: Some(additional::encode(pairs)),
    }
}

fn payment(service: u64, reference: &str, minor: i64) -> Request {
    payment_with(service, reference, minor, None)
}

fn payment_with(service: u64, reference: &str, minor: i64, extra: Option<&str>) -> Request {
    let amount = Money::new(minor, Currency::EUR).unwrap();
    Request {
        header: header(Category::Payment, service),
        body: RequestBody::Payment(PaymentRequest {
            sale_data: sale(reference, extra),
            payment_transaction: PaymentTransaction {
                amounts_req: AmountsReq {
                    currency: "EUR".into(),
                    requested_amount: Amount::from_money(amount),
                },
            },
        }),
    }
}

fn status(service: u64, of: u64) -> Request {
    Request {
        header: header(Category::TransactionStatus, service),
        body: RequestBody::TransactionStatus(TransactionStatusRequest {
            message_reference: Some(MessageReference {
                category: Category::Payment,
                sale_id: Some("R1".into()),
                service_id: Some(ServiceId::numbered(of)),
                poi_id: None,
            }),
            receipt_reprint_flag: None,
            document_qualifier: Vec::new(),
        }),
    }
}

fn abort(service: u64, of: u64) -> Request {
    Request {
        header: header(Category::Abort, service),
        body: RequestBody::Abort(AbortRequest {
            abort_reason: "MerchantAbort".into(),
            message_reference: MessageReference {
                category: Category::Payment,
                sale_id: Some("R1".into()),
                service_id: Some(ServiceId::numbered(of)),
                poi_id: None,
            },
        }),
    }
}

fn now_answer(d: &mut Device, r: Request, when: Timestamp) -> Response {
    match d.handle(r, when).unwrap() {
        Reply::Now(r) => *r,
        other => panic!("expected an answer now, got {other:?}"),
    }
}

fn condition(r: &Response) -> Option<ErrorCondition> {
    r.body.outcome().error_condition.clone()
}

fn payment_answer(r: &Response) -> &PaymentResponse {
    match &r.body {
        ResponseBody::Payment(p) => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_payment_is_held_until_decided_and_its_status_then_repeats_it() {
    let mut d = device();
    assert!(matches!(
        d.handle(payment(1, "ref-1", 1250), T0).unwrap(),
        Reply::Held(_)
    ));
    assert_eq!(
        condition(&now_answer(&mut d, status(2, 1), at(1))),
        Some(ErrorCondition::InProgress)
    );
    assert!(d.advance(at(2)).unwrap().is_empty(), "not yet");
    let finished = d.advance(at(3)).unwrap();
    assert_eq!(finished.len(), 1);
    let answer = finished[0].response.clone().unwrap();
    let p = payment_answer(&answer);
    assert_eq!(p.response.result, ResultCode::Success);
    let extra = p.response.additional();
    assert!(extra["pspReference"].starts_with("TL"));
    assert_eq!(extra["authCode"].len(), 6);
    let amounts = p
        .payment_result
        .as_ref()
        .unwrap()
        .amounts_resp
        .as_ref()
        .unwrap();
    assert_eq!(amounts.authorized_amount.as_str(), "12.5");
    assert!(!p.payment_receipt.is_empty(), "a receipt for the cashier");
    assert!(d.advance(at(4)).unwrap().is_empty(), "answered once");
    let repeated = now_answer(&mut d, status(3, 1), at(5));
    let ResponseBody::TransactionStatus(s) = &repeated.body else {
        panic!()
    };
    assert_eq!(s.response.result, ResultCode::Success);
    assert_eq!(
        s.repeated.as_ref().unwrap().message_header.service_id,
        ServiceId::numbered(1)
    );
    assert_eq!(d.charges().unwrap().len(), 1);
    assert_eq!(
        condition(&now_answer(&mut d, status(4, 99), at(5))),
        Some(ErrorCondition::NotFound)
    );
}

#[test]
fn one_payment_at_a_time_a_repeated_service_id_and_another_terminal_are_refused() {
    let mut d = device();
    assert!(matches!(
        d.handle(payment(1, "a", 1000), T0).unwrap(),
        Reply::Held(_)
    ));
    let busy = now_answer(&mut d, payment(2, "b", 1000), at(1));
    assert_eq!(condition(&busy), Some(ErrorCondition::Busy));
    d.advance(at(3)).unwrap();
    assert!(matches!(
        d.handle(payment(3, "c", 1000), at(4)).unwrap(),
        Reply::Held(_)
    ));
    // ServiceID 1 again, within 48 hours.
    d.advance(at(10)).unwrap();
    let again = now_answer(&mut d, payment(1, "d", 1000), at(11));
    assert_eq!(condition(&again), Some(ErrorCondition::NotAllowed));
    let later = at(48 * 3600 + 60);
    assert!(
        matches!(
            d.handle(payment(1, "e", 1000), later).unwrap(),
            Reply::Held(_)
        ),
        "free after 48 hours"
    );
    // Addressed to another terminal.
    let mut stranger = payment(7, "f", 1000);
    stranger.header.poi_id = "V400m-999999999".into();
    assert_eq!(
        condition(&now_answer(&mut d, stranger, later)),
        Some(ErrorCondition::NotAllowed)
    );
    // The controls: busy for the next payment.
    d.advance(later + Duration::from_secs(10)).unwrap();
    d.set_busy(1);
    let t = later + Duration::from_secs(20);
    assert_eq!(
        condition(&now_answer(&mut d, payment(8, "g", 1000), t)),
        Some(ErrorCondition::Busy)
    );
    assert!(matches!(
        d.handle(payment(9, "h", 1000), t).unwrap(),
        Reply::Held(_)
    ));
}

#[test]
fn an_abort_before_the_decision_cancels_and_after_it_changes_nothing() {
    let mut d = device();
    d.handle(payment(1, "a", 1000), T0).unwrap();
    assert_eq!(d.handle(abort(2, 1), at(1)).unwrap(), Reply::Empty);
    let finished = d.advance(at(1)).unwrap();
    let cancelled = finished[0].response.clone().unwrap();
    assert_eq!(condition(&cancelled), Some(ErrorCondition::Cancel));
    assert!(d.charges().unwrap().is_empty());

    d.handle(payment(3, "b", 1000), at(10)).unwrap();
    d.advance(at(13)).unwrap();
    assert_eq!(d.handle(abort(4, 3), at(14)).unwrap(), Reply::Empty);
    let s = now_answer(&mut d, status(5, 3), at(15));
    assert_eq!(
        s.body.outcome().result,
        ResultCode::Success,
        "approved stays approved"
    );
    assert_eq!(d.charges().unwrap().len(), 1);
}

#[test]
fn a_hidden_result_loses_the_answer_and_is_in_progress_until_revealed() {
    let mut d = device();
    d.set_next(Behaviour {
        hide_result: true,
        delay_ms: Some(0),
        ..Behaviour::approve()
    });
    d.handle(payment(1, "hidden", 1000), T0).unwrap();
    let finished = d.advance(T0).unwrap();
    assert_eq!(finished[0].response, None, "the answer is lost on its way");
    assert_eq!(d.charges().unwrap().len(), 1, "charged all the same");
    assert_eq!(
        condition(&now_answer(&mut d, status(2, 1), at(1))),
        Some(ErrorCondition::InProgress)
    );
    assert!(d.reveal("hidden").unwrap());
    assert_eq!(
        now_answer(&mut d, status(3, 1), at(2))
            .body
            .outcome()
            .result,
        ResultCode::Success
    );
    assert!(!d.reveal("nobody").unwrap());
}

#[test]
fn a_terminal_that_never_answers_is_free_again_after_its_timeout() {
    let mut d = device();
    d.set_next(Behaviour {
        outcome: Decision::NoAnswer,
        ..Behaviour::approve()
    });
    d.handle(payment(1, "silent", 1000), T0).unwrap();
    assert!(d.advance(at(600)).unwrap().is_empty());
    assert_eq!(
        condition(&now_answer(&mut d, status(2, 1), at(600))),
        Some(ErrorCondition::InProgress)
    );
    assert_eq!(
        condition(&now_answer(&mut d, payment(3, "x", 1000), at(60))),
        Some(ErrorCondition::Busy)
    );
    assert!(matches!(
        d.handle(payment(4, "y", 1000), at(121)).unwrap(),
        Reply::Held(_)
    ));
    assert!(d.charges().unwrap().iter().all(|c| c.reference != "silent"));
}

fn reversal(service: u64, reference: &str, poi: &TransactionId, minor: Option<i64>) -> Request {
    Request {
        header: header(Category::Reversal, service),
        body: RequestBody::Reversal(ReversalRequest {
            original: OriginalPoiTransaction {
                poi_transaction_id: poi.clone(),
            },
            reversal_reason: "MerchantCancel".into(),
            reversed_amount: minor
                .map(|m| Amount::from_money(Money::new(m, Currency::EUR).unwrap())),
            sale_data: Some(sale(reference, None)),
        }),
    }
}

#[test]
fn a_reversal_is_acknowledged_then_decided_and_never_beyond_the_payment() {
    let mut d = device();
    d.handle(payment(1, "paid", 2000), T0).unwrap();
    let answer = d.advance(at(3)).unwrap()[0].response.clone().unwrap();
    let poi = payment_answer(&answer).poi_data.poi_transaction_id.clone();
    let ack = now_answer(&mut d, reversal(2, "back-1", &poi, Some(1500)), at(5));
    assert_eq!(ack.body.outcome().result, ResultCode::Success);
    assert_eq!(ack.body.outcome().additional()["refundStatus"], "received");
    // 15.00 of 20.00 is on its way: 6.00 more is too much, even before it is decided.
    let over = now_answer(&mut d, reversal(3, "back-2", &poi, Some(600)), at(6));
    assert_eq!(condition(&over), Some(ErrorCondition::NotAllowed));
    let unknown = TransactionId {
        transaction_id: "nope".into(),
        time_stamp: poi.time_stamp.clone(),
    };
    let none = now_answer(&mut d, reversal(4, "back-3", &unknown, None), at(6));
    assert_eq!(condition(&none), Some(ErrorCondition::NotAllowed));
    let pending = Request {
        header: header(Category::TransactionStatus, 5),
        body: RequestBody::TransactionStatus(TransactionStatusRequest {
            message_reference: Some(MessageReference {
                category: Category::Reversal,
                sale_id: None,
                service_id: Some(ServiceId::numbered(2)),
                poi_id: None,
            }),
            receipt_reprint_flag: None,
            document_qualifier: Vec::new(),
        }),
    };
    assert_eq!(
        condition(&now_answer(&mut d, pending.clone(), at(6))),
        Some(ErrorCondition::InProgress)
    );
    d.advance(at(8)).unwrap();
    let mut decided = pending;
    decided.header.service_id = ServiceId::numbered(6);
    let s = now_answer(&mut d, decided, at(9));
    let ResponseBody::TransactionStatus(s) = &s.body else {
        panic!()
    };
    let r = s
        .repeated
        .as_ref()
        .unwrap()
        .body
        .reversal_response
        .as_ref()
        .unwrap();
    assert_eq!(r.response.result, ResultCode::Success);
    let charges = d.charges().unwrap();
    assert_eq!(charges.len(), 2);
    assert_eq!(charges[1].refund_of.as_deref(), Some("paid"));
    assert_eq!(charges[1].amount.minor(), 1500);
    assert_eq!(d.operations_of("back-1"), 1);
}

#[test]
fn a_tip_is_asked_for_only_when_the_register_asks() {
    let mut d = device();
    let tip = Behaviour {
        tip_minor: Some(150),
        ..Behaviour::approve()
    };
    d.set_next(tip.clone());
    d.handle(payment_with(1, "tipped", 1000, Some("AskGratuity")), T0)
        .unwrap();
    let answer = d.advance(at(3)).unwrap()[0].response.clone().unwrap();
    let amounts = payment_answer(&answer)
        .payment_result
        .clone()
        .unwrap()
        .amounts_resp
        .unwrap();
    assert_eq!(amounts.authorized_amount.as_str(), "11.5");
    assert_eq!(amounts.tip_amount.unwrap().as_str(), "1.5");
    d.set_next(tip);
    d.handle(payment(2, "untipped", 1000), at(10)).unwrap();
    let answer = d.advance(at(13)).unwrap()[0].response.clone().unwrap();
    let amounts = payment_answer(&answer)
        .payment_result
        .clone()
        .unwrap()
        .amounts_resp
        .unwrap();
    assert_eq!(
        (amounts.authorized_amount.as_str(), amounts.tip_amount),
        ("10", None)
    );
    let charges = d.charges().unwrap();
    assert_eq!(
        (charges[0].amount.minor(), charges[0].tip_minor),
        (1150, Some(150))
    );
}

#[test]
fn every_decision_is_queued_for_the_back_office_once_it_is_due() {
    let mut d = device();
    d.set_next(Behaviour {
        report_to_oms_after_ms: Some(60_000),
        ..Behaviour::approve()
    });
    d.handle(payment(1, "late", 1000), T0).unwrap();
    d.advance(at(3)).unwrap();
    assert!(d.due_notifications(at(4), 10).unwrap().is_empty());
    assert_eq!(d.next_notification_at().unwrap(), Some(at(63)));
    assert!(d.report_now("late", at(5)).unwrap());
    let due = d.due_notifications(at(5), 10).unwrap();
    assert_eq!(due.len(), 1);
    let (id, item) = &due[0];
    assert_eq!(item.merchant_reference, "late");
    assert_eq!(item.event_code, "AUTHORISATION");
    assert_eq!(item.success, "true");
    d.notification_sent(*id, Delivery::Retry(at(30)), at(5))
        .unwrap();
    assert!(d.due_notifications(at(6), 10).unwrap().is_empty());
    d.notification_sent(*id, Delivery::Delivered, at(30))
        .unwrap();
    assert!(d.due_notifications(at(3600), 10).unwrap().is_empty());
    assert!(!d.report_now("nobody", at(5)).unwrap());
}

#[test]
fn the_terminal_remembers_its_charges_and_service_ids_across_a_restart() {
    let dir = std::env::temp_dir().join(format!(
        "till-terminal-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("terminal.sqlite3");
    {
        let mut d = Device::open(&file, config()).unwrap();
        d.handle(payment(1, "kept", 1000), T0).unwrap();
    }
    let mut d = Device::open(&file, config()).unwrap();
    let finished = d.advance(at(3)).unwrap();
    assert_eq!(finished.len(), 1, "the payment goes on after the restart");
    assert_eq!(d.charges().unwrap().len(), 1);
    let again = now_answer(&mut d, payment(1, "other", 1000), at(4));
    assert_eq!(
        condition(&again),
        Some(ErrorCondition::NotAllowed),
        "ServiceID 1 is remembered"
    );
    let _ = std::fs::remove_dir_all(dir);
}
