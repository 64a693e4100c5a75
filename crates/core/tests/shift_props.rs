//! The drawer's arithmetic and the PIN lock-out, by property: expected cash
//! is float + cash sales − cash refunds + paid in − paid out whatever the
//! movements; a count by denomination is the sum of its notes and coins;
//! and no sequence of PIN tries ever signs in while locked, or locks
//! anyone after fewer than five wrong PINs in a row.

use proptest::prelude::*;
use till_core::drawer::*;
use till_core::money::{Currency, Money};
use till_core::staff::*;
use till_core::time::{Duration, Timestamp};

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn expected_cash_is_the_float_plus_sales_less_refunds_plus_in_less_out(
        float in 0i64..100_000,
        sales in 0i64..1_000_000,
        refunds in 0i64..100_000,
        moves in prop::collection::vec((any::<bool>(), 1i64..50_000), 0..20),
        counted in 0i64..2_000_000,
    ) {
        let at = Timestamp::from_millis(0);
        let movements: Vec<CashMovement> = moves
            .iter()
            .map(|(paid_in, m)| {
                let kind = if *paid_in { MovementKind::PaidIn } else { MovementKind::PaidOut };
                let by = StaffRef { id: StaffId::new("dana").unwrap(), name: "Dana".into() };
                CashMovement::new(kind, eur(*m), "a reason", at, by).unwrap()
            })
            .collect();
        let (ins, outs): (i64, i64) = moves.iter().fold((0, 0), |(i, o), (paid_in, m)| {
            if *paid_in { (i + m, o) } else { (i, o + m) }
        });
        let e = expected_cash(eur(float), eur(sales), eur(refunds), &movements).unwrap();
        prop_assert_eq!(e.expected, eur(float + sales - refunds + ins - outs));
        prop_assert_eq!((e.paid_in, e.paid_out), (eur(ins), eur(outs)));
        let diff = over_short(&e, eur(counted)).unwrap();
        prop_assert_eq!(diff, eur(counted - e.expected.minor()));
    }

    #[test]
    fn a_count_by_denomination_is_the_sum_of_its_notes_and_coins(
        counts in prop::collection::vec((0usize..15, 0u32..500), 0..15),
    ) {
        let notes = denominations(Currency::EUR);
        let counts: Vec<(i64, u32)> = counts.iter().map(|(i, n)| (notes[*i], *n)).collect();
        let sum: i64 = counts.iter().map(|(v, n)| v * i64::from(*n)).sum();
        prop_assert_eq!(count_total(Currency::EUR, &counts), Ok(eur(sum)));
    }

    #[test]
    fn nobody_signs_in_while_locked_and_lock_outs_grow_until_a_right_pin(
        tries in prop::collection::vec((any::<bool>(), 0u64..200_000), 1..60),
    ) {
        // The model: five wrong PINs in a row lock; after a lock-out, until
        // a right PIN, each wrong one locks again, for longer.
        let mut lock = PinLock::default();
        let mut now = Timestamp::from_millis(1_000_000);
        let (mut wrong_in_a_row, mut lockouts) = (0u8, 0u8);
        for (right, wait) in tries {
            now = now + Duration::from_secs(wait);
            let locked = lock.check(now).is_err();
            let result = lock.entered(right, now);
            if locked {
                let refused = matches!(result, Err(PinError::Locked { .. }));
                prop_assert!(refused, "no sign-in while locked: {:?}", result);
                continue;
            }
            if right {
                prop_assert_eq!(result, Ok(()));
                (wrong_in_a_row, lockouts) = (0, 0);
                continue;
            }
            wrong_in_a_row += 1;
            let allowed = if lockouts == 0 { PIN_TRIES_MAX } else { 1 };
            if wrong_in_a_row == allowed {
                lockouts += 1;
                let lasts = lockout_for(lockouts);
                let locks = matches!(result, Err(PinError::Locked { until, .. }) if until == now + lasts);
                prop_assert!(locks, "lock-out {} lasts {:?}: {:?}", lockouts, lasts, result);
                prop_assert!(lasts >= PIN_LOCKOUT);
                wrong_in_a_row = 0;
            } else {
                let left = allowed - wrong_in_a_row;
                let warned = matches!(result, Err(PinError::Wrong { left: l, .. }) if l == left);
                prop_assert!(warned, "{} tries left: {:?}", left, result);
            }
        }
    }
}

/// One step of a random shift: paid in or out (an amount, maybe no
/// reason), no sale, a close with a count, or a change at a stale version.
#[derive(Debug, Clone)]
enum Step {
    Move(bool, i64, bool),
    NoSale,
    Close(i64),
    Stale,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (any::<bool>(), -100i64..50_000, prop::bool::weighted(0.9)).prop_map(|(i, a, r)| Step::Move(i, a, r)),
        1 => Just(Step::NoSale),
        1 => (-1_000i64..200_000).prop_map(Step::Close),
        1 => Just(Step::Stale),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the cashier does, through the plan the stores run: a
    /// refused change writes nothing, an accepted one moves the version by
    /// one and queues only the latest, nothing changes a closed shift, and
    /// a closed shift adds up as the back office checks it.
    #[test]
    fn a_shift_written_through_its_plan_always_adds_up(steps in prop::collection::vec(step(), 0..30)) {
        use till_core::shift::*;
        use till_core::shift_plan::*;
        use till_core::order::{BusinessDate, RegisterId};
        let by = StaffRef { id: StaffId::new("dana").unwrap(), name: "Dana".into() };
        let at = Timestamp::from_millis(1_795_766_400_000);
        let id = ShiftId::from_uuid(uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001)).unwrap();
        let request = |version, change| ShiftRequest { id, version, change, by: by.clone(), at };
        let open = ShiftChange::Open {
            register: RegisterId::new("R1").unwrap(),
            currency: Currency::EUR,
            float: CashCount::Total { amount: eur(10_000) },
        };
        let plan = plan_shift(&request(0, open), &ShiftSnapshot::default()).unwrap();
        let mut snap = ShiftSnapshot { open: plan.write.clone(), stored: plan.write, outbox: Vec::new(), ..Default::default() };
        let mut outbox = till_core::outbox::Outbox::new(Vec::new());
        let mut shift = plan.shift;
        let date = BusinessDate::new(2026, 11, 27).unwrap();
        for s in steps {
            let (version, change) = match s {
                Step::Move(paid_in, amount, reason) => {
                    let kind = if paid_in { MovementKind::PaidIn } else { MovementKind::PaidOut };
                    match CashMovement::new(kind, Money::new(amount, Currency::EUR).unwrap(), if reason { "float" } else { "" }, at, by.clone()) {
                        Ok(m) => (shift.version, ShiftChange::Move(m)),
                        Err(_) => continue,
                    }
                }
                Step::NoSale => (shift.version, ShiftChange::NoSale { approval: None }),
                Step::Close(counted) => (shift.version, ShiftChange::Close { count: CashCount::Total { amount: eur(counted) }, date }),
                Step::Stale => (shift.version.saturating_sub(1), ShiftChange::NoSale { approval: None }),
            };
            match plan_shift(&request(version, change), &snap) {
                Ok(p) => {
                    let written = p.write.clone().unwrap();
                    prop_assert_eq!(written.version, shift.version + 1);
                    prop_assert!(shift.is_open(), "nothing changes a closed shift");
                    for c in &p.outbox {
                        if let till_core::outbox::OutboxChange::Put(e) = c {
                            outbox = till_core::outbox::Outbox::new(vec![e.clone()]);
                        }
                    }
                    snap.outbox = outbox.entries().to_vec();
                    snap.open = p.open.map(|_| written.clone());
                    snap.stored = Some(written.clone());
                    shift = written;
                }
                Err(_) => prop_assert_eq!(snap.stored.as_ref(), Some(&shift), "a refusal writes nothing"),
            }
            prop_assert_eq!(shift.validate(), Ok(()));
            prop_assert!(snap.outbox.len() <= 1 && snap.outbox.iter().all(|e| e.version == shift.version));
        }
    }
}
