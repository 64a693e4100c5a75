//! What the simulated terminal does with one payment or refund.
//!
//! Like the simulated readers of payment vendors, it decides by the
//! amount: the last two digits of the minor units choose what happens, so
//! a person can walk through each case by hand with the right price.
//!
//! | ends in | what the terminal does |
//! |---|---|
//! | 00–49 (and any ending not below) | approves after the configured delay (3 s) |
//! | 51 | declines: the card's bank refuses ("insufficient funds") |
//! | 52 | approves, but the answer to the bridge is lost and a status query says "in progress" for 120 s, when the vendor's cloud notifies the back office too (a Re-sync after that finds it) |
//! | 53 | approves; the bridge never learns (its answer is lost, status says "in progress"); the vendor's cloud notifies the back office after 60 s |
//! | 54 | never answers: the payment stays "in progress" on the terminal, nothing is charged |
//! | 55 | approves after 40 s (after the cancel window) |
//!
//! A refund (a reversal) follows the same table by its own amount.
//! Tests choose the next behaviour through the controls instead, and add
//! wire faults ([`crate::faults`]); nothing depends on timing luck.

use serde::{Deserialize, Serialize};
use till_core::money::Money;
use till_core::time::Duration;

/// The 52 case: how long the result stays hidden.
pub const HIDDEN_RESULT: Duration = Duration::from_secs(120);
/// The 53 case: when the vendor's cloud notifies the back office.
pub const LATE_NOTIFICATION: Duration = Duration::from_secs(60);
/// The 55 case: an approval after the cancel window.
pub const SLOW_APPROVAL: Duration = Duration::from_secs(40);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    Decline,
    /// The terminal never answers: the payment stays in progress.
    NoAnswer,
}

/// What the terminal will do with one payment (or refund).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    pub outcome: Outcome,
    /// From the request to the decision (the configured delay when absent).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Why a decline: shown to the cashier.
    #[serde(default)]
    pub decline_reason: Option<String>,
    /// The answer to the bridge is lost and a status query says "in
    /// progress" until revealed, or until `hide_result_ms` after the
    /// decision when given.
    #[serde(default)]
    pub hide_result: bool,
    #[serde(default)]
    pub hide_result_ms: Option<u64>,
    /// The bridge never learns the result (unless revealed): its answer is
    /// lost, and a status query says "in progress".
    #[serde(default)]
    pub bridge_never_learns: bool,
    /// When the vendor's cloud notifies the back office, after the
    /// decision (at once when absent).
    #[serde(default)]
    pub report_to_oms_after_ms: Option<u64>,
    /// The tip the customer adds on the terminal, in minor units, when the
    /// register asks for one.
    #[serde(default)]
    pub tip_minor: Option<i64>,
}

impl Behaviour {
    pub fn approve() -> Behaviour {
        Behaviour {
            outcome: Outcome::Approve,
            delay_ms: None,
            decline_reason: None,
            hide_result: false,
            hide_result_ms: None,
            bridge_never_learns: false,
            report_to_oms_after_ms: None,
            tip_minor: None,
        }
    }

    /// The table of the module docs.
    pub fn for_amount(amount: Money) -> Behaviour {
        match amount.minor().rem_euclid(100) {
            51 => Behaviour {
                outcome: Outcome::Decline,
                decline_reason: Some("insufficient funds".into()),
                ..Behaviour::approve()
            },
            52 => Behaviour {
                hide_result: true,
                hide_result_ms: Some(HIDDEN_RESULT.as_millis()),
                report_to_oms_after_ms: Some(HIDDEN_RESULT.as_millis()),
                ..Behaviour::approve()
            },
            53 => Behaviour {
                bridge_never_learns: true,
                report_to_oms_after_ms: Some(LATE_NOTIFICATION.as_millis()),
                ..Behaviour::approve()
            },
            54 => Behaviour {
                outcome: Outcome::NoAnswer,
                ..Behaviour::approve()
            },
            55 => Behaviour {
                delay_ms: Some(SLOW_APPROVAL.as_millis()),
                ..Behaviour::approve()
            },
            _ => Behaviour::approve(),
        }
    }

    /// The bridge's answer is lost when the payment is decided.
    pub fn answer_lost(&self) -> bool {
        self.hide_result || self.bridge_never_learns
    }
}
