//! A register's settings: where the back office and the bridge are, which
//! register this is, and the store's choices for it. Checked once, when
//! they are saved (or read back from storage), into a [`RegisterSettings`]
//! whose fields are typed: a register never runs with an address that is
//! not one, and nothing parses a setting again later.
//!
//! Three shapes, one set of checks:
//! - [`SettingsForm`]: the Settings page's fields as typed;
//! - [`SettingsRecord`]: what storage holds (the shape registers have
//!   always stored, so an older register's settings still read);
//! - [`RegisterSettings`]: checked, what the app and the register use.

use super::io::RegisterConfig;
use crate::ids::{IdError, RegisterId};
use crate::money::Currency;
use crate::money::Money;
use crate::payment::PaymentConfig;
use crate::staff::{Policy, DISCOUNT_THRESHOLD_BP_DEFAULT, PAID_OUT_LIMIT_MINOR_DEFAULT};
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::RangeInclusive;

/// How long the card popup may wait for a result, in seconds.
pub const RESULT_WAIT_SECS: RangeInclusive<u64> = 1..=600;
/// The idle sign-out, in minutes.
pub const IDLE_LOCK_MINS: RangeInclusive<u64> = 1..=240;

/// Why settings were refused; the Settings page shows it as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} must start with http:// or https://")]
    Url(&'static str),
    #[error("Enter the {0}")]
    Missing(&'static str),
    #[error(transparent)]
    RegisterId(#[from] IdError),
    #[error("{what} is a number from {} to {}", .range.start(), .range.end())]
    Number {
        what: &'static str,
        range: RangeInclusive<u64>,
    },
    #[error("The largest discount without a manager: {0}")]
    Discount(crate::cart::CartError),
    #[error("The largest paid out without a manager: {0}")]
    PaidOutLimit(String),
}

/// An address of a server (`http://` or `https://`), without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// `text` as the address of `what` ("The OMS URL"), or why not.
    pub fn parse(what: &'static str, text: &str) -> Result<BaseUrl, SettingsError> {
        let url = text.trim().trim_end_matches('/');
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(BaseUrl(url.to_owned()))
        } else {
            Err(SettingsError::Url(what))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The settings, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SettingsRecord", into = "SettingsRecord")]
pub struct RegisterSettings {
    pub oms_url: BaseUrl,
    pub register_id: RegisterId,
    /// This register's token at the back office.
    pub register_token: String,
    /// The bridge's address; `None` while the register is not paired.
    pub bridge_url: Option<BaseUrl>,
    /// This register's pairing token at the bridge; empty before pairing.
    pub pairing_token: String,
    /// The pairing the token came from; `None` for a development token
    /// typed in, or before pairing.
    pub paired_as: Option<PairedAs>,
    /// How long the card popup waits for a result; till-core's default when `None`.
    pub result_wait: Option<Duration>,
    /// Print the receipt by itself when a sale is paid.
    pub auto_print: bool,
    /// Returns without a receipt (cash only) are allowed on this register.
    pub returns_without_receipt: bool,
    /// Sign the cashier out after this long with nothing done; never when `None`.
    pub idle_lock: Option<Duration>,
    /// The largest discount a cashier gives without a manager (basis
    /// points); till-core's default (20 %) when `None`.
    pub manager_discount_bp: Option<u32>,
    /// The largest paid out a cashier makes without a manager, in minor
    /// units of the store's currency; till-core's default (50.00) when `None`.
    pub paid_out_limit_minor: Option<i64>,
    /// The card terminal asks the customer for a tip on every payment.
    pub ask_tip: bool,
}

/// A pairing, as the bridge named it, and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairedAs {
    pub id: String,
    pub at: Timestamp,
}

/// A pairing just made: what the form saves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPairing {
    pub paired_as: PairedAs,
    pub token: String,
}

impl RegisterSettings {
    /// What Settings says of the pairing (never its token), the date in
    /// the tablet's zone; `None` when the register is not paired.
    pub fn pairing_words(&self, utc_offset_min: i32) -> Option<String> {
        if self.pairing_token.is_empty() {
            return None;
        }
        Some(match &self.paired_as {
            Some(p) => {
                let (y, m, d) = crate::time::civil_date(p.at, utc_offset_min);
                format!("Paired as {} on {y:04}-{m:02}-{d:02}", p.id)
            }
            None => "Paired with a development token".to_owned(),
        })
    }

    /// The bridge's address and this register's pairing token, once paired.
    pub fn bridge(&self) -> Option<(&BaseUrl, &str)> {
        match (&self.bridge_url, self.pairing_token.as_str()) {
            (Some(url), token) if !token.is_empty() => Some((url, token)),
            _ => None,
        }
    }

    /// The register's configuration: these settings, with the catalog's
    /// currency and the tablet's zone.
    pub fn config(&self, currency: Currency, utc_offset_min: i32) -> RegisterConfig {
        let mut payment = PaymentConfig {
            ask_tip: self.ask_tip,
            ..PaymentConfig::default()
        };
        if let Some(wait) = self.result_wait {
            payment.result_wait = wait;
        }
        RegisterConfig {
            register: self.register_id.clone(),
            currency,
            payment,
            utc_offset_min,
            auto_print: self.auto_print,
            returns_without_receipt: self.returns_without_receipt,
            idle_lock: self.idle_lock,
            policy: Policy {
                discount_threshold_bp: self
                    .manager_discount_bp
                    .unwrap_or(DISCOUNT_THRESHOLD_BP_DEFAULT),
                paid_out_limit_minor: self
                    .paid_out_limit_minor
                    .unwrap_or(PAID_OUT_LIMIT_MINOR_DEFAULT),
            },
        }
    }

    /// The form showing these settings (amounts in the store's
    /// `currency`). It never holds a token: an empty token field keeps the
    /// saved one ([`SettingsForm::parse`]).
    pub fn form(&self, currency: Currency) -> SettingsForm {
        SettingsForm {
            oms_url: self.oms_url.to_string(),
            register_id: self.register_id.to_string(),
            register_token: String::new(),
            bridge_url: self
                .bridge_url
                .as_ref()
                .map(BaseUrl::to_string)
                .unwrap_or_default(),
            pairing_token: String::new(),
            new_pairing: None,
            unpair: false,
            result_wait: self
                .result_wait
                .map(|d| d.as_secs_ceil().to_string())
                .unwrap_or_default(),
            idle_lock: self
                .idle_lock
                .map(|d| (d.as_secs_ceil() / 60).to_string())
                .unwrap_or_default(),
            discount: self
                .manager_discount_bp
                .map(crate::money::percent_text)
                .unwrap_or_default(),
            paid_out_limit: self
                .paid_out_limit_minor
                .and_then(|m| Money::new(m, currency).ok())
                .map(|m| m.to_plain_string())
                .unwrap_or_default(),
            auto_print: self.auto_print,
            returns_without_receipt: self.returns_without_receipt,
            ask_tip: self.ask_tip,
        }
    }
}

/// The settings as storage holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRecord {
    pub oms_url: String,
    pub register_id: String,
    pub register_token: String,
    pub bridge_url: String,
    pub pairing_token: String,
    /// The pairing's id and when it was made (ms); absent in records from
    /// before Settings showed them, and for a development token.
    #[serde(default)]
    pub pairing_id: Option<String>,
    #[serde(default)]
    pub paired_at_ms: Option<i64>,
    #[serde(default)]
    pub result_wait_secs: Option<u64>,
    #[serde(default)]
    pub auto_print: bool,
    #[serde(default)]
    pub returns_without_receipt: bool,
    #[serde(default)]
    pub idle_lock_mins: Option<u32>,
    #[serde(default)]
    pub manager_discount_bp: Option<u32>,
    #[serde(default)]
    pub paid_out_limit_minor: Option<i64>,
    #[serde(default)]
    pub ask_tip: bool,
}

/// A stored number, checked against the range the form allows.
fn in_range(
    n: Option<u64>,
    range: RangeInclusive<u64>,
    what: &'static str,
) -> Result<Option<u64>, SettingsError> {
    match n {
        Some(n) if !range.contains(&n) => Err(SettingsError::Number { what, range }),
        n => Ok(n),
    }
}

const RESULT_WAIT_WHAT: &str = "The card result wait (seconds)";
const IDLE_LOCK_WHAT: &str = "The idle sign-out (minutes)";

impl TryFrom<SettingsRecord> for RegisterSettings {
    type Error = SettingsError;

    fn try_from(r: SettingsRecord) -> Result<RegisterSettings, SettingsError> {
        let token = r.register_token.trim();
        if token.is_empty() {
            return Err(SettingsError::Missing("register token"));
        }
        let bridge_url = match r.bridge_url.trim() {
            "" => None,
            url => Some(BaseUrl::parse("The bridge URL", url)?),
        };
        let wait = in_range(r.result_wait_secs, RESULT_WAIT_SECS, RESULT_WAIT_WHAT)?;
        let idle = in_range(
            r.idle_lock_mins.map(u64::from),
            IDLE_LOCK_MINS,
            IDLE_LOCK_WHAT,
        )?;
        Ok(RegisterSettings {
            oms_url: BaseUrl::parse("The OMS URL", &r.oms_url)?,
            register_id: RegisterId::new(r.register_id.trim())?,
            register_token: token.to_owned(),
            bridge_url,
            pairing_token: r.pairing_token.trim().to_owned(),
            paired_as: match (r.pairing_id, r.paired_at_ms) {
                (Some(id), Some(at)) => Some(PairedAs {
                    id,
                    at: Timestamp::from_millis(at),
                }),
                _ => None,
            },
            result_wait: wait.map(Duration::from_secs),
            auto_print: r.auto_print,
            returns_without_receipt: r.returns_without_receipt,
            idle_lock: idle.map(Duration::from_mins),
            manager_discount_bp: r.manager_discount_bp,
            paid_out_limit_minor: match r.paid_out_limit_minor {
                Some(m) if m < 0 => {
                    return Err(SettingsError::PaidOutLimit(
                        "it cannot be below zero".into(),
                    ))
                }
                m => m,
            },
            ask_tip: r.ask_tip,
        })
    }
}

impl From<RegisterSettings> for SettingsRecord {
    fn from(s: RegisterSettings) -> SettingsRecord {
        SettingsRecord {
            oms_url: s.oms_url.0,
            register_id: s.register_id.to_string(),
            register_token: s.register_token,
            bridge_url: s.bridge_url.map(|u| u.0).unwrap_or_default(),
            pairing_token: s.pairing_token,
            pairing_id: s.paired_as.as_ref().map(|p| p.id.clone()),
            paired_at_ms: s.paired_as.map(|p| p.at.as_millis()),
            result_wait_secs: s.result_wait.map(Duration::as_secs_ceil),
            auto_print: s.auto_print,
            returns_without_receipt: s.returns_without_receipt,
            idle_lock_mins: s.idle_lock.map(|d| (d.as_secs_ceil() / 60) as u32),
            manager_discount_bp: s.manager_discount_bp,
            paid_out_limit_minor: s.paid_out_limit_minor,
            ask_tip: s.ask_tip,
        }
    }
}

/// The Settings page's fields, as typed. Tokens are never shown: an empty
/// token field keeps the saved token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsForm {
    pub oms_url: String,
    pub register_id: String,
    /// A new register token; empty keeps the saved one.
    pub register_token: String,
    pub bridge_url: String,
    /// A development pairing token typed in; empty keeps the saved one.
    pub pairing_token: String,
    /// A pairing just made with the bridge: saved over any other.
    pub new_pairing: Option<NewPairing>,
    /// Unpair: the saved pairing token is dropped.
    pub unpair: bool,
    /// Seconds; empty for the default.
    pub result_wait: String,
    /// Minutes; empty for never.
    pub idle_lock: String,
    /// A percentage ("15", "12.5 %"); empty for the default.
    pub discount: String,
    /// An amount ("50", "75.00"); empty for the default.
    pub paid_out_limit: String,
    pub auto_print: bool,
    pub returns_without_receipt: bool,
    pub ask_tip: bool,
}

/// An optional whole number from a field: `None` when empty.
fn field_number(
    text: &str,
    range: RangeInclusive<u64>,
    what: &'static str,
) -> Result<Option<u64>, SettingsError> {
    match text.trim() {
        "" => Ok(None),
        t => match t.parse::<u64>() {
            Ok(n) => in_range(Some(n), range, what),
            Err(_) => Err(SettingsError::Number { what, range }),
        },
    }
}

impl SettingsForm {
    /// The pairing token and where it came from: a pairing just made, an
    /// unpairing, a development token typed in, or the saved one.
    fn pairing(&self, saved: Option<&RegisterSettings>) -> (String, Option<PairedAs>) {
        if let Some(p) = &self.new_pairing {
            return (p.token.clone(), Some(p.paired_as.clone()));
        }
        if self.unpair {
            return (String::new(), None);
        }
        match (self.pairing_token.trim(), saved) {
            ("", Some(s)) => (s.pairing_token.clone(), s.paired_as.clone()),
            (typed, _) => (typed.to_owned(), None),
        }
    }

    /// The settings the form says (amounts in the store's `currency`), or
    /// the first reason it does not; an empty token field keeps `saved`'s.
    pub fn parse(
        &self,
        currency: Currency,
        saved: Option<&RegisterSettings>,
    ) -> Result<RegisterSettings, SettingsError> {
        let result_wait_secs = field_number(&self.result_wait, RESULT_WAIT_SECS, RESULT_WAIT_WHAT)?;
        let idle = field_number(&self.idle_lock, IDLE_LOCK_MINS, IDLE_LOCK_WHAT)?;
        let manager_discount_bp = match self.discount.trim() {
            "" => None,
            d => Some(crate::cart::parse_percent(d).map_err(SettingsError::Discount)?),
        };
        let paid_out_limit_minor = match self.paid_out_limit.trim() {
            "" => None,
            a => Some(
                Money::parse(a, currency)
                    .map_err(|e| SettingsError::PaidOutLimit(e.to_string()))?
                    .minor(),
            ),
        };
        let register_token = match (self.register_token.trim(), saved) {
            ("", Some(s)) => s.register_token.clone(),
            (typed, _) => typed.to_owned(),
        };
        let (pairing_token, paired_as) = self.pairing(saved);
        RegisterSettings::try_from(SettingsRecord {
            oms_url: self.oms_url.clone(),
            register_id: self.register_id.clone(),
            register_token,
            bridge_url: self.bridge_url.clone(),
            pairing_token,
            pairing_id: paired_as.as_ref().map(|p| p.id.clone()),
            paired_at_ms: paired_as.map(|p| p.at.as_millis()),
            result_wait_secs,
            auto_print: self.auto_print,
            returns_without_receipt: self.returns_without_receipt,
            idle_lock_mins: idle.map(|m| m as u32),
            manager_discount_bp,
            paid_out_limit_minor,
            ask_tip: self.ask_tip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SettingsForm {
        SettingsForm {
            oms_url: " https://oms.example/ ".into(),
            register_id: "R2".into(),
            register_token: " tok ".into(),
            ..SettingsForm::default()
        }
    }

    #[test]
    fn a_form_is_checked_once_into_typed_settings() {
        let mut f = form();
        f.bridge_url = "https://192.168.1.20:8443/".into();
        f.pairing_token = "pair".into();
        f.result_wait = "45".into();
        f.idle_lock = "5".into();
        f.discount = "12.5 %".into();
        f.paid_out_limit = "75".into();
        let s = f.parse(Currency::EUR, None).unwrap();
        assert_eq!(s.oms_url.as_str(), "https://oms.example");
        assert_eq!(s.register_id.as_str(), "R2");
        assert_eq!(s.register_token, "tok");
        assert_eq!(
            s.bridge().map(|(u, t)| (u.as_str(), t)),
            Some(("https://192.168.1.20:8443", "pair"))
        );
        let c = s.config(Currency::EUR, 60);
        assert_eq!(c.payment.result_wait, Duration::from_secs(45));
        assert_eq!(c.idle_lock, Some(Duration::from_mins(5)));
        assert_eq!(c.policy.discount_threshold_bp, 1250);
        assert_eq!(c.policy.paid_out_limit_minor, 7_500);
        // The form shows what was saved (but no token), and says it again
        // the same way.
        let shown = s.form(Currency::EUR);
        assert_eq!(
            (shown.register_token.as_str(), shown.pairing_token.as_str()),
            ("", "")
        );
        assert_eq!(shown.parse(Currency::EUR, Some(&s)).unwrap(), s);
    }

    #[test]
    fn defaults_when_fields_are_empty() {
        let s = form().parse(Currency::EUR, None).unwrap();
        assert_eq!(s.bridge(), None);
        let c = s.config(Currency::EUR, 0);
        assert_eq!(c.payment, PaymentConfig::default());
        assert_eq!(c.idle_lock, None);
        assert_eq!(
            c.policy.discount_threshold_bp,
            DISCOUNT_THRESHOLD_BP_DEFAULT
        );
    }

    #[test]
    fn each_bad_field_says_why() {
        let bad = |edit: fn(&mut SettingsForm)| {
            let mut f = form();
            edit(&mut f);
            f.parse(Currency::EUR, None).unwrap_err().to_string()
        };
        assert_eq!(
            bad(|f| f.oms_url = "oms.example".into()),
            "The OMS URL must start with http:// or https://"
        );
        assert_eq!(
            bad(|f| f.bridge_url = "ftp://x".into()),
            "The bridge URL must start with http:// or https://"
        );
        assert_eq!(
            bad(|f| f.register_token = "  ".into()),
            "Enter the register token"
        );
        assert_eq!(
            bad(|f| f.result_wait = "0".into()),
            "The card result wait (seconds) is a number from 1 to 600"
        );
        assert_eq!(
            bad(|f| f.idle_lock = "ten".into()),
            "The idle sign-out (minutes) is a number from 1 to 240"
        );
        assert!(bad(|f| f.discount = "lots".into())
            .starts_with("The largest discount without a manager: "));
        assert!(!bad(|f| f.register_id = "".into()).is_empty());
        assert!(bad(|f| f.paid_out_limit = "lots".into())
            .starts_with("The largest paid out without a manager: "));
        assert!(bad(|f| f.paid_out_limit = "-5".into())
            .starts_with("The largest paid out without a manager: "));
    }

    #[test]
    fn storage_keeps_the_shape_registers_always_stored() {
        let stored = r#"{"oms_url":"http://127.0.0.1:8080","register_id":"R1","register_token":"t",
            "bridge_url":"","pairing_token":""}"#;
        let s: RegisterSettings = serde_json::from_str(stored).unwrap();
        assert_eq!(s.bridge_url, None);
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["oms_url"], "http://127.0.0.1:8080");
        assert_eq!(back["result_wait_secs"], serde_json::Value::Null);
        // A damaged record is an error, never settings to run with.
        let damaged = r#"{"oms_url":"nowhere","register_id":"R1","register_token":"t","bridge_url":"","pairing_token":""}"#;
        let err = serde_json::from_str::<RegisterSettings>(damaged).unwrap_err();
        assert!(err.to_string().contains("The OMS URL"), "{err}");
    }

    fn paired(at_ms: i64) -> NewPairing {
        NewPairing {
            paired_as: PairedAs {
                id: "p-7kq2mx4w".into(),
                at: Timestamp::from_millis(at_ms),
            },
            token: "a-pairing-token".into(),
        }
    }

    #[test]
    fn settings_say_how_the_register_is_paired_and_never_show_a_token() {
        // 2026-12-07 23:30 UTC: the 8th an hour east.
        let at = 1_796_686_200_000;
        let mut f = form();
        f.bridge_url = "https://192.168.1.20:8443".into();
        f.new_pairing = Some(paired(at));
        let s = f.parse(Currency::EUR, None).unwrap();
        assert_eq!(s.bridge().map(|(_, t)| t), Some("a-pairing-token"));
        assert_eq!(
            s.pairing_words(0).as_deref(),
            Some("Paired as p-7kq2mx4w on 2026-12-07")
        );
        assert_eq!(
            s.pairing_words(60).as_deref(),
            Some("Paired as p-7kq2mx4w on 2026-12-08")
        );
        // Saved and read back: the same.
        let stored = serde_json::to_string(&s).unwrap();
        assert_eq!(
            serde_json::from_str::<RegisterSettings>(&stored).unwrap(),
            s
        );

        // Saving other fields later keeps both tokens and the pairing.
        let mut later = s.form(Currency::EUR);
        later.result_wait = "30".into();
        let kept = later.parse(Currency::EUR, Some(&s)).unwrap();
        assert_eq!(
            (kept.register_token.as_str(), kept.pairing_token.as_str()),
            ("tok", "a-pairing-token")
        );
        assert_eq!(kept.paired_as, s.paired_as);

        // A development token typed in is no pairing.
        let mut typed = s.form(Currency::EUR);
        typed.pairing_token = "dev-pairing-token".into();
        let dev = typed.parse(Currency::EUR, Some(&s)).unwrap();
        assert_eq!(
            dev.pairing_words(0).as_deref(),
            Some("Paired with a development token")
        );

        // Unpair: no token, nothing to say, and no bridge to call.
        let mut gone = s.form(Currency::EUR);
        gone.unpair = true;
        let unpaired = gone.parse(Currency::EUR, Some(&s)).unwrap();
        assert_eq!((unpaired.bridge(), unpaired.pairing_words(0)), (None, None));
        // A new register token typed in replaces the saved one.
        let mut new_token = s.form(Currency::EUR);
        new_token.register_token = " fresh ".into();
        assert_eq!(
            new_token
                .parse(Currency::EUR, Some(&s))
                .unwrap()
                .register_token,
            "fresh"
        );
    }
}
