//! Faults on the wire between the bridge and the terminal, for tests
//! (behind `--sim-controls`; never in a store). Each lasts until the test
//! lifts it, or for the next N calls: no test depends on timing luck.
//!
//! | fault | what the bridge sees | what the terminal does |
//! |---|---|---|
//! | `drop_answers` N | the next N Payment calls end without an answer | decides and charges as usual |
//! | `latency_ms` | every answer comes that much later (past the bridge's read timeout if long) | as usual |
//! | `cut` N | the next N calls' connections are reset mid-call | has the request and goes on with it |
//! | `lose` N | the next N calls' connections are reset as their request arrives | never sees the request |
//! | `bad_mac` N | the next N answers carry an Hmac that does not verify | as usual |
//! | `busy` N | the next N payments are answered Busy | starts nothing |
//! | `off` | connections are refused | nothing: it is off |
//! | `hold` | every answer waits until the test releases it | as usual |

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Longest latency a test may ask for: tests must end.
pub const LATENCY_MAX_MS: u64 = 300_000;

#[derive(Debug)]
pub struct WireFaults {
    pub drop_answers: AtomicU32,
    pub latency_ms: AtomicU64,
    pub cut: AtomicU32,
    pub lose: AtomicU32,
    pub bad_mac: AtomicU32,
    pub off: AtomicBool,
    /// Answers wait while this is on (`true`); how many wait now.
    pub hold: tokio::sync::watch::Sender<bool>,
    pub held: AtomicU32,
}

impl Default for WireFaults {
    fn default() -> WireFaults {
        WireFaults {
            drop_answers: AtomicU32::new(0),
            latency_ms: AtomicU64::new(0),
            cut: AtomicU32::new(0),
            lose: AtomicU32::new(0),
            bad_mac: AtomicU32::new(0),
            off: AtomicBool::new(false),
            hold: tokio::sync::watch::channel(false).0,
            held: AtomicU32::new(0),
        }
    }
}

/// The faults in force, as the controls show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsView {
    pub drop_answers: u32,
    pub latency_ms: u64,
    pub cut: u32,
    pub lose: u32,
    pub bad_mac: u32,
    pub off: bool,
    pub hold: bool,
    /// Answers waiting for the test to release them.
    pub held: u32,
}

/// Takes one from a "next N" counter: whether this call gets the fault.
pub fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl WireFaults {
    pub fn view(&self) -> FaultsView {
        FaultsView {
            drop_answers: self.drop_answers.load(Ordering::SeqCst),
            latency_ms: self.latency_ms.load(Ordering::SeqCst),
            cut: self.cut.load(Ordering::SeqCst),
            lose: self.lose.load(Ordering::SeqCst),
            bad_mac: self.bad_mac.load(Ordering::SeqCst),
            off: self.off.load(Ordering::SeqCst),
            hold: *self.hold.borrow(),
            held: self.held.load(Ordering::SeqCst),
        }
    }

    pub fn lift_all(&self) {
        self.drop_answers.store(0, Ordering::SeqCst);
        self.latency_ms.store(0, Ordering::SeqCst);
        self.cut.store(0, Ordering::SeqCst);
        self.lose.store(0, Ordering::SeqCst);
        self.bad_mac.store(0, Ordering::SeqCst);
        self.off.store(false, Ordering::SeqCst);
        self.hold.send_replace(false);
    }

    /// Waits while answers are held.
    pub async fn wait_released(&self) {
        let mut hold = self.hold.subscribe();
        if !*hold.borrow() {
            return;
        }
        self.held.fetch_add(1, Ordering::SeqCst);
        let _ = hold.wait_for(|on| !on).await;
        self.held.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Spoils an envelope's Hmac: a message any receiver must refuse.
pub fn spoil_mac(envelope: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(envelope) else {
        return envelope.to_vec();
    };
    for outer in ["SaleToPOIResponse", "SaleToPOIRequest"] {
        if let Some(hmac) = v[outer]["SecurityTrailer"]["Hmac"].as_str() {
            let spoiled = match hmac.starts_with('A') {
                true => format!("B{}", &hmac[1..]),
                false => format!("A{}", &hmac[1..]),
            };
            v[outer]["SecurityTrailer"]["Hmac"] = serde_json::Value::String(spoiled);
        }
    }
    serde_json::to_vec(&v).unwrap_or_else(|_| envelope.to_vec())
}
