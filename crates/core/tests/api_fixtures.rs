//! Golden JSON for every wire type: the files under `tests/fixtures/` are the
//! contract with any other OMS or bridge. Each test checks both directions:
//! the value serializes to exactly the file, and the file parses to exactly
//! the value. After a deliberate change, regenerate with
//! `TILL_BLESS=1 cargo test -p till-core --test api_fixtures` and review the
//! diff like code.

use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::path::PathBuf;
use till_core::api::*;
use till_core::cart::{Cart, Discount};
use till_core::catalog::{fixtures::small, ProductId};
use till_core::drawer::{CashMovement, MovementKind};
use till_core::money::{Currency, Money};
use till_core::order::*;
use till_core::outbox::{Outbox, Outcome};
use till_core::payment::*;
use till_core::refund::*;
use till_core::shift::{shift_report, CashCount, Shift};
use till_core::staff::{StaffId, StaffRef};
use till_core::time::Timestamp;

const T0: Timestamp = Timestamp::from_millis(1_795_766_400_000); // 2026-11-27T06:00:00Z

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).unwrap()
}

fn order_id() -> OrderId {
    "0191d5a8-7c3e-7000-8000-000000000001".parse().unwrap()
}

fn reference() -> PaymentRef {
    "9b2f3c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5e".parse().unwrap()
}

fn card() -> CardDetails {
    CardDetails {
        brand: "VISA".into(),
        last4: "4242".into(),
        auth_code: "A1B2C3".into(),
        masked_pan: None,
        psp_reference: None,
        tip: None,
    }
}

fn order() -> Order {
    let c = small();
    let mut cart = Cart::new(Currency::EUR);
    for id in ["coffee", "coffee", "croissant", "mug"] {
        cart.add_by_id(&c, &ProductId::new(id).unwrap()).unwrap();
    }
    cart.set_line_discount(
        &ProductId::new("croissant").unwrap(),
        Some(Discount::Percent { basis_points: 1000 }),
    )
    .unwrap();
    let number = "R1-20261127-0042".parse().unwrap();
    let mut o = Order::from_cart(order_id(), number, &cart, T0).unwrap();
    o.add_tender(Tender::cash(eur(1000), o.due().unwrap()).unwrap(), T0)
        .unwrap();
    let rest = o.due().unwrap();
    o.record_card(rest, reference(), card(), T0).unwrap();
    o
}

fn golden<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, value: &T) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    let mut json = serde_json::to_string_pretty(value).unwrap();
    json.push('\n');
    if std::env::var_os("TILL_BLESS").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with TILL_BLESS=1)", path.display()));
    assert_eq!(
        json, stored,
        "{name}: serialization differs from the golden file"
    );
    let parsed: T = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        &parsed, value,
        "{name}: the golden file parses to another value"
    );
}

#[test]
fn oms_catalog_page() {
    let c = small();
    let mut products: Vec<_> = c.products().cloned().collect();
    products.sort_by(|a, b| a.id.cmp(&b.id));
    let page = CatalogPage {
        catalog_version: "\"c-3f9a\"".into(),
        currency: Currency::EUR,
        categories: c.categories().to_vec(),
        tax_rates: products
            .iter()
            .filter_map(|p| c.tax_rate(&p.tax_rate))
            .cloned()
            .collect::<Vec<_>>()
            .into_iter()
            .fold(Vec::new(), |mut v, r| {
                if !v.contains(&r) {
                    v.push(r);
                }
                v
            }),
        products,
        next_cursor: Some("retired".into()),
        products_total: 4,
    };
    golden("catalog_page", &page);
}

#[test]
fn oms_order_paid_split_tender() {
    let o = order();
    o.validate().unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    golden("order_paid", &o);
}

#[test]
fn oms_order_unpaid_pending_confirmation() {
    let c = small();
    let mut cart = Cart::new(Currency::EUR);
    cart.add_by_id(&c, &ProductId::new("coffee").unwrap())
        .unwrap();
    let mut o =
        Order::from_cart(order_id(), "R1-20261127-0043".parse().unwrap(), &cart, T0).unwrap();
    o.close_unpaid(reference(), T0).unwrap();
    golden("order_unpaid", &o);
}

fn report() -> PaymentReport {
    PaymentReport {
        reference: reference(),
        order_id: order_id(),
        amount: eur(1200),
        status: ReportedStatus::Approved,
        card: card(),
        approved_at: T0,
        original: None,
    }
}

#[test]
fn oms_payment_report() {
    golden("payment_report", &report());
    assert!(report().is_charge());
    let refunded = PaymentReport {
        reference: "5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5".parse().unwrap(),
        amount: eur(657),
        status: ReportedStatus::Refunded,
        original: Some(reference()),
        ..report()
    };
    golden("payment_report_refund", &refunded);
    assert!(!refunded.is_charge(), "a refund never turns an order paid");
}

#[test]
fn bridge_start_refund() {
    golden(
        "start_refund",
        &StartRefund {
            reference: "5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5".parse().unwrap(),
            original: reference(),
            order_id: order_id(),
            amount: eur(657),
        },
    );
}

#[test]
fn oms_stored_order_and_lookup() {
    golden(
        "stored_order",
        &StoredOrder {
            order: order(),
            payments: vec![report()],
            refunds: vec![],
        },
    );
    golden(
        "order_lookup_payment_only",
        &OrderLookup {
            order: None,
            payments: vec![report()],
            refunds: vec![],
        },
    );
}

/// A refund of one coffee and the mug of the split-tender order: cash
/// first (up to the 10.00 paid in cash), the rest back to its card.
fn refund() -> Refund {
    let order = order();
    let returns = [
        Returned {
            line: 0,
            quantity: 1,
        },
        Returned {
            line: 2,
            quantity: 1,
        },
    ];
    let (_, totals) = price_return(&order, &[], &returns).unwrap();
    let left = refundable(&order, &[]).unwrap();
    let tenders = default_tenders(&left, totals.total, |_| {
        "5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5".parse().unwrap()
    });
    let new = NewRefund {
        id: "0191d5a8-9000-7000-8000-000000000007".parse().unwrap(),
        number: "R1-20261128-0007".parse().unwrap(),
        reason: Some(RefundReason::Damaged),
        cashier: None,
        approval: None,
        shift: None,
        tip: false,
        now: Timestamp::from_millis(T0.as_millis() + 86_400_000),
    };
    Refund::create(new, &order, &[], &returns, tenders).unwrap()
}

#[test]
fn oms_refund_and_an_order_with_its_refunds() {
    let r = refund();
    assert_eq!(r.tenders.len(), 2, "a split refund: {r:?}");
    golden("refund_split_tender", &r);
    golden(
        "stored_order_with_refund",
        &StoredOrder {
            order: order(),
            payments: vec![report()],
            refunds: vec![r],
        },
    );
}

/// A shift that sold `order()` (€10.00 of it in cash), paid €5.00 out and
/// closed €10.00 short.
fn closed_shift() -> Shift {
    let by = StaffRef {
        id: StaffId::new("dana").unwrap(),
        name: "Dana".into(),
    };
    let eur = |minor| Money::new(minor, Currency::EUR).unwrap();
    let mut shift = Shift::open(
        "0191d5a8-6000-7000-8000-000000000001".parse().unwrap(),
        RegisterId::new("R1").unwrap(),
        Currency::EUR,
        by.clone(),
        CashCount::Denominations {
            counts: vec![(5_000, 2)],
        },
        T0,
    )
    .unwrap();
    let out = CashMovement::new(MovementKind::PaidOut, eur(500), "milk", T0, by.clone()).unwrap();
    shift.move_cash(out).unwrap();
    let mut sale = order();
    sale.shift = Some(shift.id);
    let date = BusinessDate::new(2026, 11, 27).unwrap();
    let x = shift_report(
        &shift,
        date,
        &[sale],
        &[],
        till_core::report::Pending::default(),
    )
    .unwrap();
    let count = CashCount::Total { amount: eur(9_500) };
    shift.close(count, &x, by, T0).unwrap();
    shift
}

/// The first entry of R1's journal: the sale of [`order`], signed by the
/// test key of seed 1 (ES256 signatures here are deterministic, RFC 6979).
fn journal_entry() -> till_core::journal::Entry {
    use till_core::journal::{record_digest, Draft, EntryKind, Head, RecordKind, RecordRef};
    let o = order();
    let draft = Draft {
        register: o.register().clone(),
        time: o.created_at,
        kind: EntryKind::SalePaid,
        record: Some(RecordRef {
            kind: RecordKind::Order,
            id: o.id.to_string(),
            version: o.version,
            sha256: record_digest(&o).unwrap(),
        }),
        actor: o.cashier.as_ref().map(|c| c.id.clone()),
        approver: None,
        amount: Some(o.totals.total),
    };
    till_core::testing::journal::signer(1).append(&Head::genesis(), draft)
}

#[test]
fn oms_batch() {
    golden(
        "batch_request",
        &BatchRequest::<Order, Refund> {
            orders: vec![order()],
            refunds: vec![],
            shifts: vec![],
            journal: vec![],
        },
    );
    golden(
        "batch_request_with_refund",
        &BatchRequest::<Order, Refund> {
            orders: vec![order()],
            refunds: vec![refund()],
            shifts: vec![],
            journal: vec![],
        },
    );
    golden(
        "batch_request_with_shift",
        &BatchRequest::<Order, Refund> {
            orders: vec![],
            refunds: vec![],
            shifts: vec![closed_shift()],
            journal: vec![],
        },
    );
    golden(
        "batch_request_with_journal",
        &BatchRequest::<Order, Refund> {
            orders: vec![order()],
            refunds: vec![],
            shifts: vec![],
            journal: vec![journal_entry()],
        },
    );
    golden(
        "batch_response",
        &BatchResponse {
            results: vec![
                BatchResult {
                    id: Some(order_id().to_string()),
                    status: 200,
                    version: Some(4),
                    error: None,
                },
                BatchResult {
                    id: Some("0191d5a8-7c3e-7000-8000-000000000002".into()),
                    status: 422,
                    version: None,
                    error: Some(
                        ApiError::new(
                            "invalid_order",
                            "totals.total: is €1.00, the lines add up to €5.45",
                        )
                        .with_field("totals.total"),
                    ),
                },
            ],
        },
    );
}

#[test]
fn oms_error_and_health() {
    golden(
        "error",
        &ApiError::new("unauthorized", "missing or wrong register token"),
    );
    golden(
        "health",
        &Health {
            status: "ok".into(),
            version: "0.1.0".into(),
        },
    );
}

#[test]
fn bridge_start_payment() {
    golden(
        "start_payment",
        &StartPayment {
            reference: reference(),
            order_id: order_id(),
            amount: eur(1250),
            ask_tip: false,
        },
    );
    golden(
        "start_payment_asking_a_tip",
        &StartPayment {
            reference: reference(),
            order_id: order_id(),
            amount: eur(1250),
            ask_tip: true,
        },
    );
}

#[test]
fn bridge_statuses() {
    let cases = [
        ("payment_status_processing", BridgeStatus::Processing),
        (
            "payment_status_approved",
            BridgeStatus::Approved {
                amount: eur(1250),
                card: card(),
            },
        ),
        (
            "payment_status_approved_with_tip",
            BridgeStatus::Approved {
                amount: eur(1250),
                card: CardDetails {
                    masked_pan: Some("541333 **** 4242".into()),
                    psp_reference: Some("TILL000000000001".into()),
                    tip: Some(eur(200)),
                    ..card()
                },
            },
        ),
        (
            "payment_status_declined",
            BridgeStatus::Declined {
                reason: "insufficient funds".into(),
            },
        ),
        ("payment_status_cancelled", BridgeStatus::Cancelled),
        ("payment_status_never_received", BridgeStatus::NeverReceived),
        ("payment_status_unknown", BridgeStatus::Unknown),
        (
            "payment_status_not_started",
            BridgeStatus::NotStarted {
                reason: "the terminal is busy with another payment".into(),
            },
        ),
    ];
    for (name, status) in cases {
        golden(
            name,
            &PaymentStatusResponse {
                reference: reference(),
                status,
            },
        );
    }
}

#[test]
fn stored_records_of_the_app() {
    // What the app keeps in IndexedDB: a card attempt and an outbox entry.
    let (mut s, _) = PaymentSession::start(
        reference(),
        order_id(),
        eur(1250),
        PaymentConfig::default(),
        T0,
    )
    .unwrap();
    let _ = s.handle(Event::accepted(reference(), Request::Probe), T0);
    let _ = s.handle(Event::accepted(reference(), Request::Start), T0);
    golden("attempt_processing", s.attempt());

    let mut outbox = Outbox::default();
    let _ = outbox.enqueue(order_id(), 3, T0);
    let _ = outbox.record(
        order_id().record_id(),
        3,
        Outcome::from_http(422, "totals.total: wrong"),
        T0,
        500,
    );
    golden("outbox_entry_parked", &outbox.entries()[0]);
}

#[test]
fn bad_wire_input_is_refused() {
    let good = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/payment_status_approved.json"),
    )
    .unwrap();
    assert!(serde_json::from_str::<PaymentStatusResponse>(&good).is_ok());
    for bad in [
        good.replace("\"approved\"", "\"approvedish\""),
        // Not whole minor units (1250.0 would be: JSON has one number type).
        good.replace("1250", "1250.5"),
        good.replace("1250", "\"1250\""),
        good.replace("\"EUR\"", "\"ZZZ\""),
        good.replace("9b2f3c1e", "zzzz"),
        "{}".to_string(),
        "[]".to_string(),
        "null".to_string(),
    ] {
        assert!(
            serde_json::from_str::<PaymentStatusResponse>(&bad).is_err(),
            "{bad}"
        );
    }
}
