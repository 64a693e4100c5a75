//! The vendor cloud's payment notifications (webhooks), in the standard
//! form.
//!
//! A real terminal also sends every result to its vendor's cloud, which
//! notifies the merchant's back office by webhook, whatever happened
//! between the terminal and the bridge. That is how a payment whose result
//! was lost on the LAN still turns "paid" before the day ends.
//!
//! ```text
//! {"live": "false", "notificationItems": [{"NotificationRequestItem": {
//!    "additionalData": {"hmacSignature": …, "authCode": …, "cardSummary": "0010",
//!                       "tipAmount"?: "200", …},              (minor units)
//!    "amount": {"currency": "EUR", "value": 1450},          (minor units, charged)
//!    "eventCode": "AUTHORISATION" | "CANCEL_OR_REFUND",
//!    "eventDate", "merchantAccountCode", "merchantReference", "originalReference"?,
//!    "paymentMethod", "pspReference", "success": "true" | "false"}}]}
//! ```
//!
//! Each item is signed: `hmacSignature` is the base64 HMAC-SHA256, under a
//! key given in hex, of `pspReference:originalReference:merchantAccountCode:
//! merchantReference:value:currency:eventCode:success`. A receiver checks
//! it in constant time and refuses the item when it is missing or wrong.
//!
//! Till's terminal puts Till's own identifiers in the metadata it carries
//! (`metadata.orderId`, and `metadata.originalReference` for a refund), so
//! the back office can file a notification on its order with nothing but
//! the notification: [`NotificationItem::report`].

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use thiserror::Error;
use till_core::api::{PaymentReport, ReportedStatus};
use till_core::money::{Currency, Money};
use till_core::order::{CardDetails, OrderId};

use till_core::payment::PaymentRef;

type HmacSha256 = Hmac<Sha256>;

/// A charge the card's bank approved (or refused).
pub const EVENT_AUTHORISATION: &str = "AUTHORISATION";
/// A reversal: money back to the card of `originalReference`.
pub const EVENT_CANCEL_OR_REFUND: &str = "CANCEL_OR_REFUND";
/// Most items in one notification (vendors send one; batches stay small).
pub const ITEMS_MAX: usize = 100;
/// The additional data keys Till reads.
pub const ORDER_ID_KEY: &str = "metadata.orderId";
pub const ORIGINAL_KEY: &str = "metadata.originalReference";
pub const SIGNATURE_KEY: &str = "hmacSignature";
/// The tip within `amount` (minor units of its currency), when the
/// customer added one on the terminal: `amount` is what the card was
/// charged, the sale is the rest.
pub const TIP_KEY: &str = "tipAmount";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotificationError {
    #[error("the webhook key must be hex, 32 bytes or more")]
    BadKey,
    #[error("the notification is not signed")]
    Unsigned,
    #[error("the notification's signature does not verify")]
    BadSignature,
    #[error("the notification is not one Till understands: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationAmount {
    pub currency: String,
    /// Minor units.
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationItem {
    #[serde(default)]
    pub additional_data: BTreeMap<String, String>,
    pub amount: NotificationAmount,
    pub event_code: String,
    pub event_date: String,
    pub merchant_account_code: String,
    pub merchant_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    pub psp_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `"true"` or `"false"`, as a string (the standard form's own).
    pub success: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationEntry {
    #[serde(rename = "NotificationRequestItem")]
    pub item: NotificationItem,
}

/// One webhook call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub live: String,
    pub notification_items: Vec<NotificationEntry>,
}

/// What the back office answers to a notification it took: the standard
/// form's acknowledgement.
pub const ACCEPTED: &str = "[accepted]";

impl NotificationItem {
    /// The text the signature covers.
    pub fn signing_text(&self) -> String {
        [
            self.psp_reference.as_str(),
            self.original_reference.as_deref().unwrap_or(""),
            self.merchant_account_code.as_str(),
            self.merchant_reference.as_str(),
            &self.amount.value.to_string(),
            self.amount.currency.as_str(),
            self.event_code.as_str(),
            self.success.as_str(),
        ]
        .join(":")
    }

    pub fn succeeded(&self) -> bool {
        self.success == "true"
    }

    /// What the item says for Till's back office: an approved charge or
    /// refund as a payment report; `None` for an unsuccessful result or an
    /// event Till does not file (it is acknowledged and ignored).
    pub fn report(&self) -> Result<Option<PaymentReport>, NotificationError> {
        let status = match self.event_code.as_str() {
            EVENT_AUTHORISATION => ReportedStatus::Approved,
            EVENT_CANCEL_OR_REFUND => ReportedStatus::Refunded,
            _ => return Ok(None),
        };
        if !self.succeeded() {
            return Ok(None);
        }
        let invalid = |what: &str| NotificationError::Invalid(what.to_owned());
        let reference: PaymentRef = self
            .merchant_reference
            .parse()
            .map_err(|_| invalid("merchantReference is not a Till payment reference"))?;
        let order_id: OrderId = self
            .additional_data
            .get(ORDER_ID_KEY)
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| invalid("metadata.orderId is missing or not an order id"))?;
        let original = match status {
            ReportedStatus::Refunded => Some(
                self.additional_data
                    .get(ORIGINAL_KEY)
                    .and_then(|o| o.parse().ok())
                    .ok_or_else(|| invalid("a refund's metadata.originalReference is missing"))?,
            ),
            ReportedStatus::Approved => None,
        };
        let currency = Currency::from_code(&self.amount.currency)
            .map_err(|e| NotificationError::Invalid(e.to_string()))?;
        let charged = Money::new(self.amount.value, currency)
            .map_err(|e| NotificationError::Invalid(e.to_string()))?;
        let tip = self.tip(currency, charged)?;
        let amount = match tip {
            Some(t) => charged.checked_sub(t),
            None => Ok(charged),
        }
        .map_err(|e| NotificationError::Invalid(e.to_string()))?;
        let mut card = self.card()?;
        card.tip = tip;
        let approved_at = crate::time::parse(&self.event_date)
            .map_err(|e| NotificationError::Invalid(e.to_string()))?;
        Ok(Some(PaymentReport {
            reference,
            order_id,
            amount,
            status,
            card,
            approved_at,
            original,
        }))
    }

    /// The tip within `charged`: above zero and below it, or absent.
    fn tip(&self, currency: Currency, charged: Money) -> Result<Option<Money>, NotificationError> {
        let Some(raw) = self.additional_data.get(TIP_KEY) else {
            return Ok(None);
        };
        let invalid =
            || NotificationError::Invalid(format!("{TIP_KEY} is not a tip within the amount"));
        let minor: i64 = raw.parse().map_err(|_| invalid())?;
        if minor == 0 {
            return Ok(None);
        }
        if minor < 0 || minor >= charged.minor() {
            return Err(invalid());
        }
        Money::new(minor, currency).map(Some).map_err(|_| invalid())
    }

    fn card(&self) -> Result<CardDetails, NotificationError> {
        let get = |k: &str| self.additional_data.get(k).cloned().unwrap_or_default();
        let brand = match get("paymentMethodVariant") {
            b if b.is_empty() => self.payment_method.clone().unwrap_or_default(),
            b => b,
        };
        let masked = match get("maskedPan") {
            m if m.is_empty() => get("cardSummary"),
            m => m,
        };
        let card = crate::card::details(&brand, &masked, &get("authCode"), &self.psp_reference);
        card.validate()
            .map_err(|e| NotificationError::Invalid(e.to_string()))?;
        Ok(card)
    }
}

/// The key notifications are signed with (given by the vendor, in hex).
#[derive(Clone)]
pub struct WebhookKey(Vec<u8>);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(<hidden>)")
    }
}

/// The shortest key accepted, in bytes.
pub const WEBHOOK_KEY_MIN_BYTES: usize = 32;

impl WebhookKey {
    pub fn from_hex(hex: &str) -> Result<WebhookKey, NotificationError> {
        let hex = hex.trim();
        if !hex.len().is_multiple_of(2) || hex.len() / 2 < WEBHOOK_KEY_MIN_BYTES {
            return Err(NotificationError::BadKey);
        }
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        bytes.map(WebhookKey).ok_or(NotificationError::BadKey)
    }

    fn mac(&self, item: &NotificationItem) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(item.signing_text().as_bytes());
        mac
    }

    /// The item's signature.
    pub fn sign(&self, item: &NotificationItem) -> String {
        BASE64.encode(self.mac(item).finalize().into_bytes())
    }

    /// Signs the item in place (`additionalData.hmacSignature`).
    pub fn sign_in_place(&self, item: &mut NotificationItem) {
        let signature = self.sign(item);
        item.additional_data
            .insert(SIGNATURE_KEY.to_owned(), signature);
    }

    /// Checks the item's signature in constant time.
    pub fn verify(&self, item: &NotificationItem) -> Result<(), NotificationError> {
        let given = item
            .additional_data
            .get(SIGNATURE_KEY)
            .ok_or(NotificationError::Unsigned)?;
        let given = BASE64
            .decode(given)
            .map_err(|_| NotificationError::BadSignature)?;
        self.mac(item)
            .verify_slice(&given)
            .map_err(|_| NotificationError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

    fn item() -> NotificationItem {
        let mut additional = BTreeMap::new();
        additional.insert("authCode".into(), "123456".into());
        additional.insert("cardSummary".into(), "0010".into());
        additional.insert("paymentMethodVariant".into(), "mc".into());
        additional.insert(
            ORDER_ID_KEY.into(),
            "0190f1a2-0000-7000-8000-00000000000a".into(),
        );
        NotificationItem {
            additional_data: additional,
            amount: NotificationAmount {
                currency: "EUR".into(),
                value: 1250,
            },
            event_code: EVENT_AUTHORISATION.into(),
            event_date: "2026-12-07T09:30:04.000Z".into(),
            merchant_account_code: "TillStore".into(),
            merchant_reference: "0190f1a2-0000-7000-8000-000000000001".into(),
            original_reference: None,
            payment_method: Some("mc".into()),
            psp_reference: "TILLTEST0000001".into(),
            reason: None,
            success: "true".into(),
        }
    }

    #[test]
    fn the_signature_covers_the_standard_fields_and_is_checked() {
        let key = WebhookKey::from_hex(KEY).unwrap();
        let mut i = item();
        assert_eq!(
            i.signing_text(),
            "TILLTEST0000001::TillStore:0190f1a2-0000-7000-8000-000000000001:1250:EUR:AUTHORISATION:true"
        );
        assert_eq!(key.verify(&i), Err(NotificationError::Unsigned));
        key.sign_in_place(&mut i);
        assert_eq!(key.verify(&i), Ok(()));
        let mut tampered = i.clone();
        tampered.amount.value = 12_500;
        assert_eq!(key.verify(&tampered), Err(NotificationError::BadSignature));
        let other = WebhookKey::from_hex(&"11".repeat(32)).unwrap();
        assert_eq!(other.verify(&i), Err(NotificationError::BadSignature));
        assert!(WebhookKey::from_hex("abcd").is_err());
        assert!(WebhookKey::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn an_approved_item_is_a_payment_report_and_a_failed_one_is_nothing() {
        let report = item().report().unwrap().unwrap();
        assert_eq!(report.amount.minor(), 1250);
        assert_eq!(report.card.last4, "0010");
        assert_eq!(
            report.card.psp_reference.as_deref(),
            Some("TILLTEST0000001")
        );
        assert!(report.is_charge());
        let failed = NotificationItem {
            success: "false".into(),
            ..item()
        };
        assert_eq!(failed.report(), Ok(None));
        let mut refund = NotificationItem {
            event_code: EVENT_CANCEL_OR_REFUND.into(),
            original_reference: Some("TILLTEST0000000".into()),
            ..item()
        };
        assert!(refund.report().is_err(), "a refund names its original");
        refund.additional_data.insert(
            ORIGINAL_KEY.into(),
            "0190f1a2-0000-7000-8000-000000000002".into(),
        );
        let r = refund.report().unwrap().unwrap();
        assert_eq!(r.status, ReportedStatus::Refunded);
        assert!(r.original.is_some());
        let foreign = NotificationItem {
            merchant_reference: "ORDER-7".into(),
            ..item()
        };
        assert!(foreign.report().is_err());
    }

    #[test]
    fn a_tip_is_split_from_the_charge_and_a_tip_beyond_it_is_refused() {
        let mut tipped = item();
        tipped.additional_data.insert(TIP_KEY.into(), "200".into());
        let r = tipped.report().unwrap().unwrap();
        assert_eq!(
            r.amount.minor(),
            1050,
            "the sale is the charge less the tip"
        );
        assert_eq!(r.card.tip.map(|t| t.minor()), Some(200));
        for bad in ["1250", "-1", "2.00", "lots"] {
            let mut i = item();
            i.additional_data.insert(TIP_KEY.into(), bad.into());
            assert!(i.report().is_err(), "{bad}");
        }
        let mut none = item();
        none.additional_data.insert(TIP_KEY.into(), "0".into());
        assert_eq!(none.report().unwrap().unwrap().card.tip, None);
    }
}
