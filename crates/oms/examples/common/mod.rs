//! What the OMS benchmarks share: generated orders, a register's catalog
//! download, and the table every figure is printed in.

#![allow(dead_code)] // each benchmark uses its own part of it

use reqwest::Client;
use serde_json::json;
use std::time::{Duration, Instant};
use till_core::cart::Cart;
use till_core::catalog::{fixtures::small, ProductId};
use till_core::money::Currency;
use till_core::order::{Order, OrderId};
use till_core::time::Timestamp;
use uuid::Uuid;

pub const TOKEN: &str = "bench-register-token";

/// `--name N` from the command line, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn temp_dir(prefix: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` orders of register R1, numbered from `first`.
pub fn orders(first: usize, n: usize) -> Vec<Order> {
    orders_of("R1", first, n)
}

/// `n` orders of `register`, numbered from `first` (ids unique across
/// registers as long as the numbers are).
pub fn orders_of(register: &str, first: usize, n: usize) -> Vec<Order> {
    let c = small();
    let mut cart = Cart::new(Currency::EUR);
    for id in ["coffee", "croissant", "mug"] {
        cart.add_by_id(&c, &ProductId::new(id).unwrap()).unwrap();
    }
    (first..first + n)
        .map(|i| {
            let raw = (i as u128 + 1) | 0x0191_0000_0000_7000_8000_0000_0000_0000;
            let id = OrderId::from_uuid(Uuid::from_u128(raw)).unwrap();
            let number = format!("{register}-20261127-{:04}", i % 999_999 + 1)
                .parse()
                .unwrap();
            Order::from_cart(
                id,
                number,
                &cart,
                Timestamp::from_millis(1_795_766_400_000 + i as i64),
            )
            .unwrap()
        })
        .collect()
}

pub struct Row {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub baseline: Option<(String, f64)>,
    pub goal: &'static str,
}

impl Row {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Row {
        Row {
            name: name.into(),
            value,
            unit,
            baseline: None,
            goal: "",
        }
    }

    pub fn next_to(mut self, name: impl Into<String>, value: f64) -> Row {
        self.baseline = Some((name.into(), value));
        self
    }

    pub fn goal(mut self, goal: &'static str) -> Row {
        self.goal = goal;
        self
    }
}

pub fn print_rows(rows: &[Row]) {
    println!(
        "{:<40} {:>14} {:<9} {:<30} {:>14} {:>7}  goal",
        "benchmark", "value", "unit", "baseline", "baseline", "ratio"
    );
    for r in rows {
        match &r.baseline {
            Some((name, b)) => println!(
                "{:<40} {:>14.1} {:<9} {:<30} {:>14.1} {:>7.2}  {}",
                r.name,
                r.value,
                r.unit,
                name,
                b,
                r.value / b,
                r.goal
            ),
            None => println!(
                "{:<40} {:>14.1} {:<9} {:<30} {:>14} {:>7}  {}",
                r.name, r.value, r.unit, "", "", "", r.goal
            ),
        }
    }
}

/// The rows as one JSON line, for tools that compare runs.
pub fn print_json(suite: &str, extra: serde_json::Value, rows: &[Row]) {
    let results: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "name": r.name, "value": r.value, "unit": r.unit, "goal": r.goal,
                "baseline": r.baseline.as_ref().map(|(n, v)| json!({"name": n, "value": v})),
            })
        })
        .collect();
    let mut line = json!({ "suite": suite, "results": results });
    if let (Some(line), Some(extra)) = (line.as_object_mut(), extra.as_object()) {
        line.extend(extra.clone());
    }
    println!("{line}");
}

pub struct Download {
    pub took: Duration,
    pub bytes: usize,
    pub products: usize,
}

/// Every page of the catalog, as a register downloads it.
pub async fn download(client: &Client, base: &str, token: &str, gzip: bool) -> Download {
    let t = Instant::now();
    let (mut bytes, mut products, mut cursor) = (0usize, 0usize, None::<String>);
    loop {
        let mut url = format!("{base}/api/v1/catalog");
        if let Some(c) = &cursor {
            url.push_str(&format!("?cursor={c}"));
        }
        let mut req = client.get(url).bearer_auth(token);
        if gzip {
            req = req.header("Accept-Encoding", "gzip");
        }
        let body = req.send().await.unwrap().bytes().await.unwrap();
        bytes += body.len();
        let page: serde_json::Value = if gzip {
            use std::io::Read;
            let mut s = String::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut s)
                .unwrap();
            serde_json::from_str(&s).unwrap()
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        products += page["products"].as_array().unwrap().len();
        match page.get("next_cursor").and_then(|c| c.as_str()) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    Download {
        took: t.elapsed(),
        bytes,
        products,
    }
}
