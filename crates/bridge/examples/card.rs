//! `cargo xtask bench card`: a card payment's time, from the register's
//! start to the approval the register can read, through the bridge.
//!
//! - **nexo over HTTPS** (the path a store runs): the bridge's API on
//!   loopback, its nexo driver sealing each request for `till-terminal`
//!   over HTTPS (TLS to a certificate naming the POIID), the terminal's
//!   answer opened and verified, journaled durably, then read back by a
//!   `GET` of the payment's status, as the register's poll does;
//! - **in process** (the baseline, the bridge's previous shape: the
//!   terminal inside the bridge): the same journal, driver, device and
//!   codec, called directly, with no HTTP and no TLS.
//!
//! The terminal decides at once in both (no customer at a terminal), so
//! the figures are what the bridge adds to a payment. The register's own
//! poll interval (a second) is not counted: the status is asked in a tight
//! loop.

use std::time::{Duration, Instant};
use till_bridge::driver::{CallResult, DriverConfig};
use till_bridge::journal::{Journal, Start};
use till_bridge::terminal::{read_answer, TerminalConfig};
use till_core::money::{Currency, Money};
use till_core::order::OrderId;
use till_core::payment::{BridgeStatus, PaymentRef};
use till_core::time::Duration as TillDuration;
use till_nexo::{Codec, Key};
use till_terminal::device::{Device, DeviceConfig, Reply};
use uuid::Uuid;

/// Payments per path.
const PAYMENTS: usize = 200;
/// What a store can afford on the LAN, on top of the terminal's own time.
const GOAL_P95_MS: f64 = 100.0;
const POIID: &str = "V400m-000000077";
const PASSPHRASE: &str = "bench-passphrase";

fn key() -> Key {
    Key::derive(PASSPHRASE, "BenchKey", 1)
}

use till_http::now;

fn order_id() -> OrderId {
    let raw = Uuid::new_v4().as_u128() & 0xFFFF_FFFF_FFFF_0FFF_3FFF_FFFF_FFFF_FFFF;
    OrderId::from_uuid(Uuid::from_u128(
        raw | 0x0000_0000_0000_7000_8000_0000_0000_0000,
    ))
    .expect("a v7 id")
}

fn device_config() -> DeviceConfig {
    DeviceConfig {
        approve_delay: TillDuration::from_millis(0),
        ..DeviceConfig::new(POIID)
    }
}

/// One payment through the journal, the codec and the device, in process.
fn in_process_once(journal: &Journal, device: &mut Device, codec: &Codec) -> Duration {
    let started = Instant::now();
    let reference = PaymentRef::from_uuid(Uuid::new_v4());
    let start = Start {
        reference,
        order_id: order_id(),
        amount: Money::new(1250, Currency::EUR).expect("an amount"),
        refund_of: None,
        ask_tip: false,
        owner: None,
    };
    let (_, _, mut outs) = journal.start(&start, now()).expect("a start");
    while let Some(out) = outs.pop() {
        let request = codec
            .open_request(&codec.seal_request(&out.request, rand::random()))
            .expect("a request that opens");
        let answer = match device.handle(request, now()).expect("the device") {
            Reply::Now(r) => Some(*r),
            Reply::Empty => None,
            Reply::Held(_) => device
                .advance(now())
                .expect("the device")
                .pop()
                .and_then(|f| f.response),
        };
        let result = match answer {
            Some(r) => read_answer(codec, &out, &codec.seal_response(&r, rand::random())),
            None => CallResult::Empty,
        };
        outs.extend(journal.answered(&out, result, now()).expect("the journal"));
    }
    let (status, _) = journal.status(&reference, now(), false).expect("a status");
    assert!(
        matches!(status.status, BridgeStatus::Approved { .. }),
        "{status:?}"
    );
    started.elapsed()
}

fn in_process() -> Vec<Duration> {
    let config = DriverConfig {
        poi_id: POIID.into(),
        sale_id: "Bench".into(),
        terminal_timeout: TillDuration::from_secs(120),
    };
    let dir = tempdir("in-process");
    // Durable files, as the bridge and the terminal keep them.
    let journal = Journal::open(&dir.join("journal.sqlite3"), config).expect("a journal");
    let mut device =
        Device::open(&dir.join("terminal.sqlite3"), device_config()).expect("a device");
    let codec = Codec::new(key());
    (0..PAYMENTS)
        .map(|_| in_process_once(&journal, &mut device, &codec))
        .collect()
}

fn tempdir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("till-bench-card-{what}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// The terminal and the bridge on loopback, the bridge over HTTPS to it.
async fn system() -> (String, Vec<tokio::task::JoinHandle<std::io::Result<()>>>) {
    let dir = tempdir("nexo");
    let names = [POIID.to_owned()];
    let ca = till_http::tls::LocalCa::open_or_create(&dir.join("tls"), "Till bench CA", &names)
        .expect("a CA");
    let issued = ca
        .issue("terminal", &[POIID.to_owned()])
        .expect("a certificate");
    let terminal = till_terminal::Application::build(till_terminal::Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data: dir.join("terminal"),
        device: device_config(),
        key: key(),
        tls: till_http::tls::acceptor(&issued.cert, &issued.key).expect("TLS"),
        controls: None,
        notify: None,
    })
    .await
    .expect("a terminal");
    let terminal_url = terminal.url();
    let bridge = till_bridge::Application::build(till_bridge::Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data: dir.join("bridge"),
        pairing_token: Some("bench-pairing-token-0001".into()),
        allow_origins: Vec::new(),
        oms: None,
        terminal: TerminalConfig {
            url: terminal_url,
            poi_id: POIID.into(),
            key_id: "BenchKey".into(),
            key_version: 1,
            passphrase: PASSPHRASE.into(),
            ca: ca.cert_file(),
            sale_id: "Bench".into(),
            timeout: TillDuration::from_secs(120),
        },
        faults: false,
        tombstones_per_caller: till_bridge::TOMBSTONES_PER_CALLER,
    })
    .await
    .expect("a bridge");
    let url = bridge.url();
    (
        url,
        vec![tokio::spawn(terminal.run()), tokio::spawn(bridge.run())],
    )
}

async fn over_https() -> Vec<Duration> {
    let (bridge, servers) = system().await;
    let client = reqwest::Client::new();
    let mut times = Vec::with_capacity(PAYMENTS);
    for _ in 0..PAYMENTS {
        let reference = Uuid::new_v4().to_string();
        let body = serde_json::json!({"reference": reference, "order_id": order_id().to_string(), "amount": 1250, "currency": "EUR"});
        let started = Instant::now();
        let r = client
            .post(format!("{bridge}/v1/payments"))
            .header("X-Pairing-Token", "bench-pairing-token-0001")
            .json(&body)
            .send()
            .await
            .expect("a start");
        assert_eq!(r.status(), 202);
        loop {
            let s: serde_json::Value = client
                .get(format!("{bridge}/v1/payments/{reference}"))
                .header("X-Pairing-Token", "bench-pairing-token-0001")
                .send()
                .await
                .expect("a status")
                .json()
                .await
                .expect("a body");
            if s["status"] == "approved" {
                break;
            }
            assert_eq!(s["status"], "processing", "{s}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(started.elapsed());
    }
    for s in servers {
        s.abort();
    }
    times
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let i = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let mut baseline = tokio::task::spawn_blocking(in_process)
        .await
        .expect("the in-process run");
    let mut nexo = over_https().await;
    let (b50, b95) = (
        percentile(&mut baseline, 0.5),
        percentile(&mut baseline, 0.95),
    );
    let (n50, n95) = (percentile(&mut nexo, 0.5), percentile(&mut nexo, 0.95));
    println!("\nCard payment, start to approved ({PAYMENTS} payments each; the terminal decides at once)");
    println!(
        "{:<34} {:>9} {:>9} {:>22}",
        "path", "p50 ms", "p95 ms", "goal"
    );
    println!(
        "{:<34} {:>9.2} {:>9.2} {:>22}",
        "in process (baseline)", b50, b95, ""
    );
    println!(
        "{:<34} {:>9.2} {:>9.2} {:>22}",
        "nexo over HTTPS (the store's)",
        n50,
        n95,
        format!("p95 <= {GOAL_P95_MS} ms")
    );
    println!(
        "{:<34} {:>9.1}x {:>8.1}x",
        "nexo / in process",
        n50 / b50,
        n95 / b95
    );
    println!(
        "{{\"suite\":\"card\",\"results\":[{{\"name\":\"card_in_process_p50_ms\",\"value\":{b50:.2}}},{{\"name\":\"card_in_process_p95_ms\",\"value\":{b95:.2}}},{{\"name\":\"card_nexo_p50_ms\",\"value\":{n50:.2}}},{{\"name\":\"card_nexo_p95_ms\",\"value\":{n95:.2},\"goal\":{GOAL_P95_MS}}}]}}"
    );
}
