//! Benchmark (not a test): a sale's commit (the update path: read the
//! order, its attempts, its outbox entries, the sale and the day's
//! sequence; write the order, its outbox entry, the next sale and the
//! sequence; strict durability, one transaction) next to a raw strict
//! IndexedDB `put` of the same order record, in the same run. Ignored by the
//! test tiers; run by `cargo xtask bench`, which prints its table and JSON.
#![cfg(target_arch = "wasm32")]

use till::store::exec::execute;
use till::store::schema::ORDERS;
use till::store::{to_js, Db};
use till_core::cart::Cart;
use till_core::catalog::{fixtures, ProductId};
use till_core::money::{Currency, Money};
use till_core::order::{BusinessDate, Order, OrderId, OrderNumber, RegisterId};
use till_core::register::StoreTx;
use till_core::time::Timestamp;
use till_core::update::{Change, Origin, Sale, UpdateRequest};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ROUNDS: u32 = 200;

fn cart() -> Cart {
    let c = fixtures::small();
    let mut cart = Cart::new(Currency::EUR);
    for id in ["coffee", "croissant", "mug"] {
        cart.add_by_id(&c, &ProductId::new(id).unwrap()).unwrap();
    }
    cart
}

fn id(n: u32) -> OrderId {
    let raw = u128::from(n) | 0x0191_0000_0000_7000_8000_0000_0000_0000;
    OrderId::from_uuid(uuid::Uuid::from_u128(raw)).unwrap()
}

/// A cash sale of the cart, as the register commits it.
fn cash_sale(n: u32) -> StoreTx {
    StoreTx::Update(Box::new(UpdateRequest {
        order_id: id(n),
        change: Change::Cash {
            received: Money::new(5_000, Currency::EUR).unwrap(),
        },
        origin: Some(Origin {
            register: RegisterId::new("R1").unwrap(),
            date: BusinessDate::new(2026, 11, 27).unwrap(),
            cart: cart(),
            cashier: None,
            shift: None,
        }),
        next_sale: id(n + 1),
        at: Timestamp::from_millis(1_000),
    }))
}

fn order(n: u32) -> Order {
    let cart = cart();
    let id = id(n);
    let number = OrderNumber::new(
        RegisterId::new("R1").unwrap(),
        BusinessDate::new(2026, 11, 27).unwrap(),
        n,
    )
    .unwrap();
    Order::from_cart(id, number, &cart, Timestamp::from_millis(1_000)).unwrap()
}

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| js_sys::Reflect::get(&p, &"now".into()).ok().map(|f| (p, f)))
        .and_then(|(p, f)| {
            wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f)
                .ok()?
                .call0(&p)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

fn percentile(xs: &mut [f64], p: usize) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[(xs.len() * p / 100).min(xs.len() - 1)]
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by cargo xtask bench"]
async fn bench_sale_commit_vs_raw_strict_put() {
    let db = Db::open(&format!("till-bench-{}", js_sys::Math::random()))
        .await
        .unwrap();
    let mut sale = Vec::new();
    let mut raw = Vec::new();
    let first = Sale {
        id: id(1),
        cart: cart(),
    };
    let save = StoreTx::SaveSale {
        sale: first,
        replaces: None,
    };
    execute(&db, &save).await.unwrap();
    for n in 1..=ROUNDS {
        // The sale, as the register commits it (each finishes the sale and
        // names the next one, as the register does).
        let tx = cash_sale(n);
        let t = now_ms();
        execute(&db, &tx).await.unwrap();
        sale.push(now_ms() - t);

        // The same record, put raw in a strict transaction.
        let o = order(n + 10 * ROUNDS);
        let t = now_ms();
        let value = to_js(&o).unwrap();
        let tx = db.write_strict(&[ORDERS]).unwrap();
        tx.object_store(ORDERS)
            .unwrap()
            .put(&value, None)
            .unwrap()
            .await
            .unwrap();
        tx.commit().unwrap().await.unwrap();
        raw.push(now_ms() - t);
    }
    let (s50, s95) = (percentile(&mut sale, 50), percentile(&mut sale, 95));
    let (r50, r95) = (percentile(&mut raw, 50), percentile(&mut raw, 95));
    console_log!("Sale commit ({ROUNDS} rounds, strict durability; target: ≤ 1.3× the raw put)");
    console_log!(
        "{:<28} {:>9} {:<4} {:<26} {:>9} {:>7}",
        "benchmark",
        "value",
        "unit",
        "baseline",
        "baseline",
        "ratio"
    );
    console_log!(
        "{:<28} {:>9.2} {:<4} {:<26} {:>9.2} {:>7.2}",
        "sale_commit_p50_ms",
        s50,
        "ms",
        "raw_strict_put_p50_ms",
        r50,
        s50 / r50
    );
    console_log!(
        "{:<28} {:>9.2} {:<4} {:<26} {:>9.2} {:>7.2}",
        "sale_commit_p95_ms",
        s95,
        "ms",
        "raw_strict_put_p95_ms",
        r95,
        s95 / r95
    );
    console_log!(
        "{{\"suite\":\"sale_commit\",\"rounds\":{ROUNDS},\"results\":[{{\"name\":\"sale_commit_p50_ms\",\"value\":{s50:.3},\"unit\":\"ms\",\"baseline\":{{\"name\":\"raw_strict_put_p50_ms\",\"value\":{r50:.3}}}}},{{\"name\":\"sale_commit_p95_ms\",\"value\":{s95:.3},\"unit\":\"ms\",\"baseline\":{{\"name\":\"raw_strict_put_p95_ms\",\"value\":{r95:.3}}}}}]}}"
    );
}
