//! Refunds: the rules by example, then by property over random baskets,
//! split payments and random sequences of refunds (some failing, some in
//! doubt): never refunded beyond what was paid, per tender and in total, and
//! a whole order refunded in any number of steps gives back the sale's lines,
//! taxes and total to the cent.

use proptest::prelude::*;
use till_core::cart::{Cart, Discount};
use till_core::catalog::fixtures::{product, sales_tax, vat_reduced, vat_standard};
use till_core::catalog::{TaxMode, TaxRate, TaxRateId};
use till_core::money::{Currency, Money};
use till_core::order::{
    change_for, BusinessDate, CardDetails, Order, OrderError, OrderId, OrderNumber, OrderStatus,
    RegisterId, Tender, UnpaidReason,
};
use till_core::payment::PaymentRef;
use till_core::refund::*;
use till_core::time::Timestamp;
use uuid::Uuid;

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).unwrap()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn number(seq: u32) -> OrderNumber {
    OrderNumber::new(
        RegisterId::new("R1").unwrap(),
        BusinessDate::new(2026, 11, 29).unwrap(),
        seq,
    )
    .unwrap()
}

fn v7(n: u128) -> Uuid {
    Uuid::from_u128(0x0191d5a8_7c3e_7000_8000_000000000000 | n)
}

fn card_ref(n: u128) -> PaymentRef {
    PaymentRef::from_uuid(Uuid::from_u128(0x1000 + n))
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

/// A cart of `(price, quantity, rate)` lines, with an optional order discount.
fn cart(lines: &[(i64, u32, TaxRate)], discount: Option<Discount>) -> Cart {
    let mut cart = Cart::new(Currency::EUR);
    for (i, (price, qty, rate)) in lines.iter().enumerate() {
        let p = product(&format!("p{i}"), *price, rate, &format!("{i}"));
        cart.add_product(&p, rate).unwrap();
        cart.set_quantity(&p.id, *qty).unwrap();
    }
    cart.set_order_discount(discount).unwrap();
    cart
}

/// An order of `cart`, paid with `cash` in cash and the rest by one card
/// per entry of `cards` (the last card takes what is left).
fn paid(cart: &Cart, cash: i64, cards: usize) -> Order {
    paid_tipped(cart, cash, cards, 0)
}

/// [`paid`], each card with a tip of `tip` on top when it is above zero.
fn paid_tipped(cart: &Cart, cash: i64, cards: usize, tip: i64) -> Order {
    let mut order =
        Order::from_cart(OrderId::from_uuid(v7(1)).unwrap(), number(1), cart, at(1)).unwrap();
    if cash > 0 {
        order
            .add_tender(
                Tender::cash(eur(cash), order.due().unwrap()).unwrap(),
                at(2),
            )
            .unwrap();
    }
    for i in 0..cards {
        let due = order.due().unwrap().minor();
        if due == 0 {
            break;
        }
        let amount = if i + 1 == cards { due } else { due / 2 + 1 };
        let tender = Tender::Card {
            amount: eur(amount),
            reference: card_ref(i as u128),
            card: CardDetails {
                tip: (tip > 0).then(|| eur(tip)),
                ..card()
            },
        };
        order.add_tender(tender, at(3)).unwrap();
    }
    assert_eq!(order.status, OrderStatus::Paid, "the test order is paid");
    order
}

fn new_refund(seq: u32) -> NewRefund {
    NewRefund {
        id: RefundId::from_uuid(v7(100 + u128::from(seq))).unwrap(),
        number: number(seq),
        reason: Some(RefundReason::ChangedMind),
        cashier: None,
        approval: None,
        shift: None,
        tip: false,
        now: at(10 + i64::from(seq)),
    }
}

/// The default tenders for `total`, with a fresh refund reference per card.
fn tenders(left: &Refundable, total: Money, seq: u32) -> Vec<RefundTender> {
    default_tenders(left, total, |original| {
        card_ref(500 + 10 * u128::from(seq) + u128::from(original.as_uuid().as_u128() as u8))
    })
}

/// Returns `returns` of `order` after `refunds`, back to the default tenders.
fn refund(
    order: &Order,
    refunds: &[Refund],
    returns: &[Returned],
    seq: u32,
) -> Result<Refund, RefundError> {
    refund_tip(order, refunds, returns, seq, false)
}

/// [`refund`], giving back what is left of the tips too when `tip`.
fn refund_tip(
    order: &Order,
    refunds: &[Refund],
    returns: &[Returned],
    seq: u32,
    tip: bool,
) -> Result<Refund, RefundError> {
    let (_, totals) = price_refund(order, refunds, returns, tip)?;
    let left = refundable(order, refunds)?;
    Refund::create(
        NewRefund {
            tip,
            ..new_refund(seq)
        },
        order,
        refunds,
        returns,
        tenders(&left, totals.total, seq),
    )
}

fn whole(order: &Order) -> Vec<Returned> {
    (0..order.lines.len())
        .map(|line| Returned {
            line,
            quantity: order.lines[line].quantity,
        })
        .collect()
}

#[test]
fn three_units_refunded_one_by_one_give_back_the_line_to_the_cent() {
    let order = paid(
        &cart(
            &[(1000, 3, vat_standard())],
            Some(Discount::Percent { basis_points: 0 }),
        ),
        0,
        1,
    );
    assert_eq!(order.totals.total, eur(3000));
    let mut refunds = Vec::new();
    let mut amounts = Vec::new();
    for seq in 2..=4 {
        let r = refund(
            &order,
            &refunds,
            &[Returned {
                line: 0,
                quantity: 1,
            }],
            seq,
        )
        .unwrap();
        amounts.push(r.totals.total.minor());
        refunds.push(r);
    }
    assert_eq!(amounts, vec![1000, 1000, 1000]);
    // A line worth 10.00 for three units: 3.33, 3.34, 3.33.
    let order = paid(
        &cart(
            &[(1000, 3, vat_standard())],
            Some(Discount::Amount { amount: eur(2000) }),
        ),
        0,
        1,
    );
    let mut refunds = Vec::new();
    for seq in 2..=4 {
        let r = refund(
            &order,
            &refunds,
            &[Returned {
                line: 0,
                quantity: 1,
            }],
            seq,
        )
        .unwrap();
        refunds.push(r);
    }
    let totals: Vec<i64> = refunds.iter().map(|r| r.totals.total.minor()).collect();
    assert_eq!(totals, vec![333, 334, 333]);
    let tax: i64 = refunds.iter().map(|r| r.totals.taxes[0].tax.minor()).sum();
    assert_eq!(
        tax,
        order.totals.taxes[0].tax.minor(),
        "the refunds' VAT is the sale's"
    );
    assert_eq!(refunded_state(&order, &refunds), RefundedState::Fully);
    let err = refund(
        &order,
        &refunds,
        &[Returned {
            line: 0,
            quantity: 1,
        }],
        5,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "Product p0: only 0 more can be returned");
}

#[test]
fn a_full_refund_cancels_exclusive_and_inclusive_taxes_exactly() {
    let c = cart(
        &[
            (999, 3, sales_tax()),
            (1999, 1, vat_standard()),
            (333, 7, vat_reduced()),
            (5, 1, sales_tax()),
        ],
        Some(Discount::Percent { basis_points: 1234 }),
    );
    let order = paid(&c, 1000, 1);
    let r = refund(&order, &[], &whole(&order), 2).unwrap();
    assert_eq!(r.totals.total, order.totals.total);
    assert_eq!(r.totals.exclusive_tax, order.totals.exclusive_tax);
    assert_eq!(r.totals.taxes, order.totals.taxes);
    assert_eq!(
        r.status(),
        RefundStatus::InDoubt,
        "a card part waits for the terminal"
    );
    // Cash first, up to the cash paid; the card takes the rest.
    assert_eq!(r.tenders[0], RefundTender::Cash { amount: eur(1000) });
    assert_eq!(
        r.tenders[1].amount(),
        order.totals.total.checked_sub(eur(1000)).unwrap()
    );
}

#[test]
fn orders_that_cannot_be_refunded_are_refused_saying_why() {
    let c = cart(&[(500, 2, vat_standard())], None);
    let returns = [Returned {
        line: 0,
        quantity: 1,
    }];
    let open = Order::from_cart(OrderId::from_uuid(v7(1)).unwrap(), number(1), &c, at(1)).unwrap();
    assert_eq!(
        refund(&open, &[], &returns, 2).unwrap_err(),
        RefundError::NotPaid("open")
    );
    let mut in_doubt = open.clone();
    in_doubt.status = OrderStatus::Unpaid {
        reference: card_ref(1),
        reason: UnpaidReason::PendingConfirmation,
    };
    let err = refund(&in_doubt, &[], &returns, 2).unwrap_err();
    assert_eq!(err, RefundError::PaymentInDoubt);
    assert!(err.to_string().contains("in doubt"), "{err}");
    let mut voided = paid(&c, 1000, 0);
    voided.status = OrderStatus::Voided;
    assert_eq!(
        refund(&voided, &[], &returns, 2).unwrap_err(),
        RefundError::Voided
    );
    let order = paid(&c, 1000, 0);
    assert_eq!(
        refund(&order, &[], &[], 2).unwrap_err(),
        RefundError::NothingReturned
    );
    assert_eq!(
        refund(
            &order,
            &[],
            &[Returned {
                line: 3,
                quantity: 1
            }],
            2
        )
        .unwrap_err(),
        RefundError::UnknownLine(3)
    );
    assert!(matches!(
        refund(
            &order,
            &[],
            &[Returned {
                line: 0,
                quantity: 3
            }],
            2
        )
        .unwrap_err(),
        RefundError::TooMany { left: 2, .. }
    ));
}

#[test]
fn tenders_are_capped_per_tender_and_must_add_up() {
    let c = cart(&[(1000, 2, vat_standard())], None);
    let order = paid(&c, 500, 2); // cash 5.00, card 0: 7.51, card 1: 7.49
    let returns = [Returned {
        line: 0,
        quantity: 2,
    }];
    let create = |tenders| Refund::create(new_refund(2), &order, &[], &returns, tenders);
    let too_much_cash = create(vec![RefundTender::Cash { amount: eur(2000) }]).unwrap_err();
    assert_eq!(
        too_much_cash.to_string(),
        "at most €5.00 can go back to cash"
    );
    let short = create(vec![RefundTender::Cash { amount: eur(500) }]).unwrap_err();
    assert!(
        matches!(short, RefundError::TendersDoNotAddUp { .. }),
        "{short}"
    );
    let card = |amount, reference, original| RefundTender::Card {
        amount: eur(amount),
        reference: card_ref(reference),
        original: card_ref(original),
        state: CardRefundState::Pending,
    };
    let stranger = create(vec![card(2000, 9, 77)]);
    assert_eq!(
        stranger.unwrap_err(),
        RefundError::UnknownCardPayment(card_ref(77))
    );
    let over_card = create(vec![
        card(1000, 8, 0),
        card(500, 9, 1),
        RefundTender::Cash { amount: eur(500) },
    ]);
    assert_eq!(
        over_card.unwrap_err().to_string(),
        "at most €7.51 can go back to VISA •••• 4242"
    );
    let approved = RefundTender::Card {
        amount: eur(751),
        reference: card_ref(8),
        original: card_ref(0),
        state: CardRefundState::Approved,
    };
    let not_pending = create(vec![
        approved,
        card(749, 9, 1),
        RefundTender::Cash { amount: eur(500) },
    ]);
    assert_eq!(not_pending.unwrap_err().field(), Some("tenders"));
    let r = create(vec![
        card(751, 8, 0),
        card(749, 9, 1),
        RefundTender::Cash { amount: eur(500) },
    ])
    .unwrap();
    assert_eq!(
        r.pending_cards().collect::<Vec<_>>(),
        vec![card_ref(8), card_ref(9)]
    );
}

#[test]
fn a_failed_card_part_counts_for_nothing_and_one_in_doubt_counts_in_full() {
    let order = paid(&cart(&[(1000, 2, vat_standard())], None), 500, 1);
    let all = whole(&order);
    let mut r = refund(&order, &[], &all, 2).unwrap();
    let reference = r.pending_cards().next().unwrap();
    assert_eq!(r.status(), RefundStatus::InDoubt);
    let left = refundable(&order, std::slice::from_ref(&r)).unwrap();
    assert_eq!(left.lines[0].left, 0, "in doubt: counted as given back");
    assert!(left.tenders.iter().all(|t| t.left.is_zero()));
    assert!(
        !r.settle_card(card_ref(9), false, at(50)),
        "another reference settles nothing"
    );
    assert!(r.settle_card(reference, false, at(50)));
    assert_eq!((r.status(), r.version), (RefundStatus::Owed, 2));
    assert_eq!(
        r.owed().unwrap(),
        eur(1500),
        "the cash part went back, the card part is owed"
    );
    assert!(
        !r.settle_card(reference, true, at(51)),
        "a failed part stays failed"
    );
    let left = refundable(&order, std::slice::from_ref(&r)).unwrap();
    assert_eq!((left.lines[0].left, left.tenders[1].left), (0, eur(1500)));
    // The owed part goes back to the card again, under a new reference.
    let too_much = RefundTender::Card {
        amount: eur(1501),
        reference: card_ref(7),
        original: card_ref(0),
        state: CardRefundState::Pending,
    };
    assert!(r.give_owed(too_much, &order, &[], at(52)).is_err());
    let again = RefundTender::Card {
        amount: eur(1500),
        reference: card_ref(7),
        original: card_ref(0),
        state: CardRefundState::Pending,
    };
    r.give_owed(again, &order, &[], at(52)).unwrap();
    assert_eq!(r.status(), RefundStatus::InDoubt);
    assert!(r.settle_card(card_ref(7), true, at(53)));
    assert_eq!(
        (r.status(), r.owed().unwrap(), r.version),
        (RefundStatus::Completed, eur(0), 4)
    );
    r.validate_against(&order, &[]).unwrap();
    // A card-only refund whose card fails gave nothing back: nothing counts.
    let card_only = paid(&cart(&[(1000, 2, vat_standard())], None), 0, 1);
    let mut f = refund(&card_only, &[], &all, 3).unwrap();
    let reference = f.pending_cards().next().unwrap();
    assert!(f.settle_card(reference, false, at(60)));
    assert_eq!(f.status(), RefundStatus::Failed);
    assert_eq!(
        refunded_state(&card_only, std::slice::from_ref(&f)),
        RefundedState::None
    );
    assert_eq!(
        refundable(&card_only, std::slice::from_ref(&f))
            .unwrap()
            .lines[0]
            .left,
        2
    );
}

#[test]
fn a_tip_goes_back_once_with_the_goods_or_alone_and_never_beyond_what_was_added() {
    // 20.00 of goods by card, and a 3.00 tip added on the terminal.
    let order = paid_tipped(&cart(&[(1000, 2, vat_standard())], None), 0, 1, 300);
    assert_eq!(order.totals.total, eur(2000));
    assert_eq!(order.tips().unwrap(), eur(300));
    let left = refundable(&order, &[]).unwrap();
    assert_eq!(left.tip_left, eur(300));
    assert_eq!(
        left.tenders[0].paid,
        eur(2300),
        "the card was charged the tip too"
    );
    // A tip alone: nothing returned, the tip back to the card.
    let tip = refund_tip(&order, &[], &[], 2, true).unwrap();
    assert!(tip.lines.is_empty());
    assert_eq!(tip.totals.tip, Some(eur(300)));
    assert_eq!(tip.totals.total, eur(300));
    assert_eq!(tip.tenders[0].amount(), eur(300));
    tip.validate_against(&order, &[]).unwrap();
    let done = std::slice::from_ref(&tip);
    assert_eq!(refunded_state(&order, done), RefundedState::None);
    assert!(matches!(
        refund_tip(&order, done, &[], 3, true),
        Err(RefundError::NoTipLeft)
    ));
    // The goods still go back in full, to the same card.
    let goods = refund(&order, done, &whole(&order), 3).unwrap();
    assert_eq!(goods.totals.total, eur(2000));
    assert_eq!(goods.totals.tip, None);
    // A refund claiming a tip the order no longer has is refused.
    let mut twice = tip.clone();
    twice.id = RefundId::from_uuid(v7(150)).unwrap();
    assert!(matches!(
        twice.validate_against(&order, done),
        Err(RefundError::NoTipLeft)
    ));
    let mut more = tip.clone();
    more.totals.tip = Some(eur(301));
    more.totals.total = eur(301);
    more.tenders = vec![RefundTender::Cash { amount: eur(301) }];
    assert!(matches!(
        more.validate_against(&order, &[]),
        Err(RefundError::NoTipLeft)
    ));
    // With the goods: the tip on top of their worth.
    let both = refund_tip(&order, &[], &whole(&order), 4, true).unwrap();
    assert_eq!(both.totals.total, eur(2300));
    assert_eq!(both.totals.lines, eur(2000));
    both.validate_against(&order, &[]).unwrap();
    // An order without a tip has none to give back.
    let plain = paid(&cart(&[(1000, 1, vat_standard())], None), 0, 1);
    assert!(matches!(
        refund_tip(&plain, &[], &whole(&plain), 2, true),
        Err(RefundError::NoTipLeft)
    ));
}

#[test]
fn a_card_refund_is_said_pending_until_the_terminal_confirms_it_never_refunded_before() {
    let order = paid(&cart(&[(1000, 2, vat_standard())], None), 0, 1);
    assert_eq!(refunds_label(&order, &[]), None);
    let mut r = refund(&order, &[], &whole(&order), 2).unwrap();
    assert_eq!(r.status(), RefundStatus::InDoubt);
    assert_eq!(
        refunds_label(&order, std::slice::from_ref(&r)),
        Some("refund pending")
    );
    let reference = r.pending_cards().next().unwrap();
    let mut failed = r.clone();
    assert!(r.settle_card(reference, true, at(60)));
    assert_eq!(
        refunds_label(&order, std::slice::from_ref(&r)),
        Some("refunded")
    );
    assert!(failed.settle_card(reference, false, at(60)));
    assert_eq!(refunds_label(&order, std::slice::from_ref(&failed)), None);
}

#[test]
fn a_received_refund_is_checked_against_its_order_and_the_others() {
    let order = paid(
        &cart(&[(1000, 3, vat_standard()), (250, 1, sales_tax())], None),
        4000,
        0,
    );
    let a = refund(
        &order,
        &[],
        &[Returned {
            line: 0,
            quantity: 2,
        }],
        2,
    )
    .unwrap();
    a.validate_against(&order, &[]).unwrap();
    a.validate_against(&order, std::slice::from_ref(&a))
        .unwrap();
    let b = refund(
        &order,
        std::slice::from_ref(&a),
        &[Returned {
            line: 0,
            quantity: 1,
        }],
        3,
    )
    .unwrap();
    b.validate_against(&order, std::slice::from_ref(&a))
        .unwrap();
    // Made offline on another register, priced as if nothing was returned:
    // still the sale's rounding, still within the caps.
    let c = refund(
        &order,
        &[],
        &[Returned {
            line: 0,
            quantity: 1,
        }],
        4,
    )
    .unwrap();
    c.validate_against(&order, std::slice::from_ref(&a))
        .unwrap();
    assert!(matches!(
        c.validate_against(&order, &[a.clone(), b.clone()]),
        Err(RefundError::TooMany { .. })
    ));
    let mut forged = a.clone();
    forged.lines[0].amount = eur(2001);
    forged.totals.lines = eur(2001);
    forged.totals.total = eur(2001);
    forged.tenders = vec![RefundTender::Cash { amount: eur(2001) }];
    let err = forged.validate_against(&order, &[]).unwrap_err();
    assert_eq!(err.field(), Some("totals"));
    let mut renamed = a.clone();
    renamed.lines[0].name = "Gold bar".into();
    assert_eq!(
        renamed.validate_against(&order, &[]).unwrap_err().field(),
        Some("lines[0].product_id")
    );
    let mut doubled = a.clone();
    doubled.lines.push(doubled.lines[0].clone());
    assert_eq!(
        doubled.validate_against(&order, &[]).unwrap_err().field(),
        Some("lines[1].line")
    );
    let mut overpaid = a;
    overpaid.tenders.push(RefundTender::Cash { amount: eur(1) });
    assert!(matches!(
        overpaid.validate_against(&order, &[]),
        Err(RefundError::TendersDoNotAddUp { .. })
    ));
}

#[test]
fn a_refund_survives_a_json_round_trip() {
    let order = paid(&cart(&[(1000, 2, vat_standard())], None), 700, 1);
    let r = refund(&order, &[], &whole(&order), 2).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.contains(r#""method":"card""#) && json.contains(r#""state":"pending""#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Refund>(&json).unwrap(), r);
}

#[test]
fn a_later_version_of_a_refund_keeps_its_order_its_numbers_and_its_kind() {
    let order = paid(&cart(&[(1000, 2, vat_standard())], None), 2000, 0);
    let first = refund(&order, &[], &whole(&order), 2).unwrap();
    let mut next = first.clone();
    next.version += 1;
    assert_eq!(first.check_next(&next), Ok(()));
    let moved = |f: fn(&mut Refund)| {
        let mut r = next.clone();
        f(&mut r);
        first.check_next(&r)
    };
    assert_eq!(
        moved(|r| r.order_id = Some(OrderId::from_uuid(v7(77)).unwrap())),
        Err(RefundError::Moved("order_id"))
    );
    assert_eq!(
        moved(|r| r.order_id = None),
        Err(RefundError::Moved("order_id")),
        "a refund never becomes a return without a receipt"
    );
    assert_eq!(
        moved(|r| r.order_number = Some(number(9))),
        Err(RefundError::Moved("order_number"))
    );
    assert_eq!(
        moved(|r| r.number = number(9)),
        Err(RefundError::Moved("number"))
    );
    assert_eq!(RefundError::Moved("number").field(), Some("number"));
}

fn arb_rate() -> impl Strategy<Value = TaxRate> {
    (0u32..=3, 0u32..=2500, any::<bool>()).prop_map(|(i, bp, inclusive)| TaxRate {
        id: TaxRateId::new(format!("r{i}-{bp}-{inclusive}")).unwrap(),
        name: format!("Rate {i}"),
        basis_points: bp,
        mode: if inclusive {
            TaxMode::Inclusive
        } else {
            TaxMode::Exclusive
        },
    })
}

/// A paid order: 1 to 8 lines, maybe discounted, paid by cash, cards or
/// both, the cards maybe with a tip.
fn arb_order() -> impl Strategy<Value = Order> {
    let line = (1i64..=100_000, 1u32..=12, arb_rate());
    (
        proptest::collection::vec(line, 1..8),
        prop_oneof![
            Just(None),
            (0u32..=5_000).prop_map(|bp| Some(Discount::Percent { basis_points: bp }))
        ],
        0u32..=100,
        0usize..=3,
        prop_oneof![Just(0i64), 1i64..=2_000],
    )
        .prop_filter_map(
            "a basket worth paying for",
            |(lines, discount, cash_percent, cards, tip)| {
                let c = cart(&lines, discount);
                let total = c.totals().ok()?.total.minor();
                if total < 2 {
                    return None;
                }
                let cash = if cards == 0 {
                    total
                } else {
                    total * i64::from(cash_percent) / 100
                };
                Some(paid_tipped(&c, cash, cards, tip))
            },
        )
}

/// A step: return some quantity of some line (with the tips, or only the
/// tips when the quantity is 0), and what the terminal then says of a card
/// part (approved, failed, or never known).
fn arb_steps() -> impl Strategy<Value = Vec<(usize, u32, bool, u8)>> {
    let quantity = prop_oneof![8 => 1u32..=12, 1 => Just(0u32)];
    let tip = prop_oneof![6 => Just(false), 1 => Just(true)];
    proptest::collection::vec((0usize..8, quantity, tip, 0u8..3), 1..25)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn refunds_never_exceed_what_was_paid_and_a_whole_return_is_exact(order in arb_order(), steps in arb_steps()) {
        let mut refunds: Vec<Refund> = Vec::new();
        for (seq, (line, quantity, tip, outcome)) in steps.into_iter().enumerate() {
            let seq = seq as u32 + 2;
            let returns = [Returned { line: line % order.lines.len(), quantity }];
            let before = refundable(&order, &refunds).unwrap();
            match refund_tip(&order, &refunds, &returns, seq, tip) {
                Ok(mut r) => {
                    r.validate_against(&order, &refunds).unwrap();
                    prop_assert!(r.lines.iter().all(|l| !l.amount.is_negative()));
                    let pending: Vec<PaymentRef> = r.pending_cards().collect();
                    for reference in pending {
                        match outcome {
                            0 => { r.settle_card(reference, true, at(99)); }
                            1 => { r.settle_card(reference, false, at(99)); }
                            _ => {}
                        }
                    }
                    r.validate_against(&order, &refunds).unwrap();
                    refunds.push(r);
                }
                Err(RefundError::TooMany { left, .. }) => {
                    prop_assert!(left < quantity);
                    prop_assert_eq!(left, before.lines[returns[0].line].left);
                }
                Err(RefundError::NoTipLeft) => prop_assert!(tip && before.tip_left.is_zero()),
                Err(RefundError::NothingReturned) => prop_assert!(quantity == 0 && !tip),
                Err(e) => prop_assert!(false, "unexpected refusal: {e}"),
            }
            check_caps(&order, &refunds)?;
        }
        // Return whatever is left, tips too: the counted refunds then add
        // up to the sale and its tips.
        let left = refundable(&order, &refunds).unwrap();
        let rest: Vec<Returned> = left.lines.iter().enumerate()
            .map(|(line, l)| Returned { line, quantity: l.left }).collect();
        let tip = !left.tip_left.is_zero();
        if tip || rest.iter().any(|r| r.quantity > 0) {
            let last = refund_tip(&order, &refunds, &rest, 99, tip).unwrap();
            last.validate_against(&order, &refunds).unwrap();
            refunds.push(last);
        }
        check_caps(&order, &refunds)?;
        prop_assert_eq!(refunded_state(&order, &refunds), RefundedState::Fully);
        prop_assert!(refundable(&order, &refunds).unwrap().tip_left.is_zero());
        let counted: Vec<&Refund> = refunds.iter().filter(|r| r.status() != RefundStatus::Failed).collect();
        let total: i64 = counted.iter().map(|r| r.totals.total.minor()).sum();
        prop_assert_eq!(total, order.totals.total.minor() + order.tips().unwrap().minor());
        let tips: i64 = counted.iter().filter_map(|r| r.totals.tip).map(|t| t.minor()).sum();
        prop_assert_eq!(tips, order.tips().unwrap().minor());
        for (i, sold) in order.totals.lines.iter().enumerate() {
            let back: i64 = counted.iter().flat_map(|r| &r.lines).filter(|l| l.line == i).map(|l| l.amount.minor()).sum();
            prop_assert_eq!(back, sold.net.minor(), "line {}", i);
        }
        for sale in &order.totals.taxes {
            let back: i64 = counted.iter().flat_map(|r| &r.totals.taxes).filter(|t| t.rate_id == sale.rate_id).map(|t| t.tax.minor()).sum();
            prop_assert_eq!(back, sale.tax.minor(), "rate {}", sale.rate_id);
        }
        let left = refundable(&order, &refunds).unwrap();
        // What the tenders still hold is exactly what failed card parts owe.
        let held: i64 = left.tenders.iter().map(|t| t.left.minor()).sum();
        let owed: i64 = counted.iter().map(|r| r.owed().unwrap().minor()).sum();
        prop_assert_eq!(held, owed);
    }
}

/// Per tender and in total, the counted refunds stay within what was paid.
fn check_caps(order: &Order, refunds: &[Refund]) -> Result<(), TestCaseError> {
    let left = refundable(order, refunds).unwrap();
    for t in &left.tenders {
        prop_assert!(
            t.refunded.minor() <= t.paid.minor(),
            "{:?} refunded beyond paid",
            t.key
        );
    }
    let total: i64 = refunds
        .iter()
        .filter(|r| r.status() != RefundStatus::Failed)
        .map(|r| r.totals.total.minor())
        .sum();
    prop_assert!(total <= order.totals.total.minor() + order.tips().unwrap().minor());
    for (l, sold) in left.lines.iter().zip(&order.lines) {
        prop_assert!(l.refunded <= sold.quantity);
    }
    Ok(())
}

#[test]
fn a_refund_says_what_it_was_priced_after_and_is_checked_from_there() {
    // Three units worth 10.00 in all (30.00 less 20.00 off): 3.33, 3.34, 3.33.
    let order = paid(
        &cart(
            &[(1000, 3, vat_standard())],
            Some(Discount::Amount { amount: eur(2000) }),
        ),
        0,
        1,
    );
    let one = [Returned {
        line: 0,
        quantity: 1,
    }];
    let a = refund(&order, &[], &one, 2).unwrap();
    let b = refund(&order, std::slice::from_ref(&a), &one, 3).unwrap();
    assert!(a.priced_after.is_empty());
    assert_eq!(
        b.priced_after,
        vec![Returned {
            line: 0,
            quantity: 1
        }]
    );
    assert_eq!((a.totals.total, b.totals.total), (eur(333), eur(334)));
    // The back office holds neither earlier refund yet: b is still checked
    // from what it says, not from what arrived first.
    b.validate_against(&order, &[]).unwrap();
    let mut lying = b.clone();
    lying.priced_after.clear();
    assert_eq!(
        lying.validate_against(&order, &[]).unwrap_err().field(),
        Some("totals")
    );
    let mut absurd = b.clone();
    absurd.priced_after = vec![Returned {
        line: 0,
        quantity: 4,
    }];
    assert_eq!(
        absurd.validate_against(&order, &[]).unwrap_err().field(),
        Some("priced_after")
    );
    let json = serde_json::to_string(&b).unwrap();
    assert!(
        json.contains(r#""priced_after":[{"line":0,"quantity":1}]"#),
        "{json}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A return without a receipt gives back, in cash, exactly what its items
    /// cost by the sale's rules; any amount changed by a cent, or a card
    /// part, is refused when the back office checks it.
    #[test]
    fn a_return_without_a_receipt_gives_back_what_its_items_cost(
        lines in prop::collection::vec((1i64..50_000, 1u32..5, 0usize..3), 1..5),
        bump in 0usize..4,
    ) {
        let rates = [vat_standard(), vat_reduced(), sales_tax()];
        let lines: Vec<(i64, u32, TaxRate)> =
            lines.into_iter().map(|(p, q, r)| (p, q, rates[r].clone())).collect();
        let c = cart(&lines, None);
        let r = Refund::without_receipt(new_refund(1), &c).unwrap();
        let sale = c.totals().unwrap();
        prop_assert_eq!(r.totals.total, sale.total);
        prop_assert_eq!(&r.totals.taxes, &sale.taxes);
        prop_assert_eq!(&r.tenders, &vec![RefundTender::Cash { amount: sale.total }]);
        prop_assert!(r.validate_without_receipt().is_ok());
        let cent = eur(1);
        let mut bad = r.clone();
        match bump {
            0 => bad.totals.total = bad.totals.total.checked_add(cent).unwrap(),
            1 => bad.lines[0].amount = bad.lines[0].amount.checked_add(cent).unwrap(),
            2 => bad.totals.taxes[0].tax = bad.totals.taxes[0].tax.checked_add(cent).unwrap(),
            _ => bad.tenders = vec![RefundTender::Card {
                amount: sale.total,
                reference: card_ref(1),
                original: card_ref(2),
                state: CardRefundState::Approved,
            }],
        }
        prop_assert!(bad.validate_without_receipt().is_err());
    }
}

/// The rules the pages ask: whether an order can be voided (never once a
/// refund counts), the cash a refund hands back, the change due, a line's
/// amount after its own discount.
#[test]
fn the_counter_rules_the_pages_show_come_from_here() {
    let c = cart(&[(500, 2, vat_standard())], None);
    let order = paid(&c, 1000, 0);
    assert_eq!(void_refusal(&order, &[], &[], None), None);
    let returns = [Returned {
        line: 0,
        quantity: 1,
    }];
    let one = refund(&order, &[], &returns, 2).unwrap();
    assert_eq!(one.cash_back(), Some(eur(500)));
    assert_eq!(
        void_refusal(&order, &[], std::slice::from_ref(&one), None).as_deref(),
        Some("This order has refunds: it cannot be voided.")
    );
    let by_card = paid(&c, 0, 1);
    let refusal = void_refusal(&by_card, &[], &[], None).unwrap();
    assert_eq!(refusal, OrderError::VoidNeedsRefund.to_string());
    // Cash a closed shift counted goes back as a refund, never a void.
    let mut counted = order.clone();
    counted.shift = Some(till_core::shift::ShiftId::from_uuid(v7(900)).unwrap());
    let open = Some(till_core::shift::ShiftId::from_uuid(v7(901)).unwrap());
    assert_eq!(
        void_refusal(&counted, &[], &[], open).as_deref(),
        Some(
            "This sale's cash was counted when its shift closed: give the money back as a refund."
        )
    );
    assert_eq!(
        void_refusal(&counted, &[], &[], counted.shift),
        None,
        "its own shift"
    );
    let card_back = refund(&by_card, &[], &returns, 3).unwrap();
    assert_eq!(card_back.cash_back(), None);

    assert_eq!(change_for(eur(2000), eur(1250)), Some(eur(750)));
    assert_eq!(change_for(eur(1250), eur(1250)), Some(eur(0)));
    assert_eq!(change_for(eur(1000), eur(1250)), None);

    let mut discounted = cart(&[(500, 2, vat_standard())], None);
    let id = discounted.lines[0].product_id.clone();
    discounted
        .set_line_discount(&id, Some(Discount::Percent { basis_points: 1000 }))
        .unwrap();
    let t = discounted.totals().unwrap();
    assert_eq!(t.lines[0].after_discount(), Ok(eur(900)));
}

/// An empty sale takes the catalog's currency; a sale with lines keeps its
/// own.
#[test]
fn an_empty_sale_takes_the_catalogs_currency_and_a_rung_up_one_keeps_its_own() {
    let mut empty = Cart::new(Currency::EUR);
    assert!(empty.adopt_currency(Currency::USD));
    assert_eq!(empty.currency, Currency::USD);
    assert!(!empty.adopt_currency(Currency::USD), "nothing to change");
    let mut rung_up = cart(&[(500, 1, vat_standard())], None);
    assert!(!rung_up.adopt_currency(Currency::USD));
    assert_eq!(rung_up.currency, Currency::EUR);
}
