//! The messages: `{"SaleToPOIRequest": {"MessageHeader": {...},
//! "<Category>Request": {...}}}` and `{"SaleToPOIResponse": {...}}`.
//!
//! Field names are the protocol's own (PascalCase, `POIID`, `MaskedPan`);
//! fields are written in the order the vendor's examples use, so a
//! message Till writes is byte for byte what a terminal expects. Reading
//! does not depend on key order, and fields Till does not use are ignored
//! (terminals send many more).
//!
//! The typed [`Request`] and [`Response`] hold a header and exactly one
//! body whose category matches the header's; anything else is a
//! [`MessageError`], which a terminal answers with `MessageFormat`.

use crate::amount::Amount;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    #[error("the message is not a Sale-to-POI message: {0}")]
    Json(String),
    #[error("the message carries no {0:?} body, or more than one body")]
    Body(Category),
    #[error("a {expected:?} is expected, the header says {found:?}")]
    Direction {
        expected: MessageType,
        found: MessageType,
    },
    #[error("protocol version {0:?} is not 3.0")]
    Version(String),
}

/// The kind of request (`MessageCategory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Category {
    Payment,
    Abort,
    TransactionStatus,
    Reversal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageType {
    Request,
    Response,
}

/// Longest `ServiceID`: nexo allows 1 to 10 characters; Till's are
/// alphanumeric.
pub const SERVICE_ID_LEN_MAX: usize = 10;

/// A `ServiceID`: 1 to 10 letters and digits, unique per terminal for 48
/// hours (a terminal refuses a repeat).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(String);

impl ServiceId {
    pub fn new(s: &str) -> Result<ServiceId, String> {
        let ok = !s.is_empty()
            && s.len() <= SERVICE_ID_LEN_MAX
            && s.bytes().all(|b| b.is_ascii_alphanumeric());
        match ok {
            true => Ok(ServiceId(s.to_owned())),
            false => Err(format!("ServiceID {s:?}: 1 to 10 letters and digits")),
        }
    }

    /// The `n`th ServiceID of a sequence: ten digits.
    pub fn numbered(n: u64) -> ServiceId {
        ServiceId(format!("{:010}", n % 10_000_000_000))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ServiceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServiceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ServiceId, D::Error> {
        let s = String::deserialize(d)?;
        ServiceId::new(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageHeader {
    #[serde(rename = "ProtocolVersion")]
    pub protocol_version: String,
    #[serde(rename = "MessageClass")]
    pub message_class: String,
    #[serde(rename = "MessageCategory")]
    pub category: Category,
    #[serde(rename = "MessageType")]
    pub message_type: MessageType,
    /// The register (the sale system) that sent the request.
    #[serde(rename = "SaleID")]
    pub sale_id: String,
    #[serde(rename = "ServiceID")]
    pub service_id: ServiceId,
    /// The terminal: `model-serial`.
    #[serde(rename = "POIID")]
    pub poi_id: String,
}

impl MessageHeader {
    /// A request's header.
    pub fn request(category: Category, sale_id: &str, service_id: ServiceId, poi_id: &str) -> Self {
        MessageHeader {
            protocol_version: crate::PROTOCOL_VERSION.into(),
            message_class: crate::MESSAGE_CLASS.into(),
            category,
            message_type: MessageType::Request,
            sale_id: sale_id.into(),
            service_id,
            poi_id: poi_id.into(),
        }
    }

    /// The answer's header: the request's, echoed, as a response.
    pub fn response(&self) -> MessageHeader {
        MessageHeader {
            message_type: MessageType::Response,
            ..self.clone()
        }
    }
}

/// `TransactionID` + `TimeStamp`: a sale's transaction (the payment
/// reference) or the terminal's (`POITransactionID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionId {
    #[serde(rename = "TransactionID")]
    pub transaction_id: String,
    #[serde(rename = "TimeStamp")]
    pub time_stamp: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleData {
    #[serde(rename = "SaleTransactionID")]
    pub sale_transaction_id: TransactionId,
    /// URL-encoded options for the acquirer (`tenderOption=AskGratuity`,
    /// `metadata.orderId=…`), passed on to the vendor's notifications.
    #[serde(
        rename = "SaleToAcquirerData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sale_to_acquirer_data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountsReq {
    #[serde(rename = "Currency")]
    pub currency: String,
    #[serde(rename = "RequestedAmount")]
    pub requested_amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTransaction {
    #[serde(rename = "AmountsReq")]
    pub amounts_req: AmountsReq,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    #[serde(rename = "SaleData")]
    pub sale_data: SaleData,
    #[serde(rename = "PaymentTransaction")]
    pub payment_transaction: PaymentTransaction,
}

/// Which message an Abort or a TransactionStatus is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReference {
    #[serde(rename = "MessageCategory")]
    pub category: Category,
    #[serde(rename = "SaleID", default, skip_serializing_if = "Option::is_none")]
    pub sale_id: Option<String>,
    #[serde(rename = "ServiceID", default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    #[serde(rename = "POIID", default, skip_serializing_if = "Option::is_none")]
    pub poi_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortRequest {
    #[serde(rename = "AbortReason")]
    pub abort_reason: String,
    #[serde(rename = "MessageReference")]
    pub message_reference: MessageReference,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionStatusRequest {
    #[serde(
        rename = "MessageReference",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub message_reference: Option<MessageReference>,
    #[serde(
        rename = "ReceiptReprintFlag",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub receipt_reprint_flag: Option<bool>,
    #[serde(
        rename = "DocumentQualifier",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub document_qualifier: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalPoiTransaction {
    #[serde(rename = "POITransactionID")]
    pub poi_transaction_id: TransactionId,
}

/// A refund to the card of an earlier payment (a referenced reversal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalRequest {
    #[serde(rename = "OriginalPOITransaction")]
    pub original: OriginalPoiTransaction,
    #[serde(rename = "ReversalReason")]
    pub reversal_reason: String,
    /// Absent: the whole payment.
    #[serde(
        rename = "ReversedAmount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reversed_amount: Option<Amount>,
    #[serde(rename = "SaleData", default, skip_serializing_if = "Option::is_none")]
    pub sale_data: Option<SaleData>,
}

/// `Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultCode {
    Success,
    Failure,
    Partial,
}

/// Why a request failed (`ErrorCondition`). Values Till does not know are
/// kept as they came ([`ErrorCondition::Other`]) and never read as success.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCondition {
    Aborted,
    Busy,
    Cancel,
    DeviceOut,
    InProgress,
    NotAllowed,
    NotFound,
    Refusal,
    UnavailableHost,
    UnavailableService,
    WrongPIN,
    MessageFormat,
    Other(String),
}

impl ErrorCondition {
    pub const KNOWN: &'static [ErrorCondition] = &[
        ErrorCondition::Aborted,
        ErrorCondition::Busy,
        ErrorCondition::Cancel,
        ErrorCondition::DeviceOut,
        ErrorCondition::InProgress,
        ErrorCondition::NotAllowed,
        ErrorCondition::NotFound,
        ErrorCondition::Refusal,
        ErrorCondition::UnavailableHost,
        ErrorCondition::UnavailableService,
        ErrorCondition::WrongPIN,
        ErrorCondition::MessageFormat,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            ErrorCondition::Aborted => "Aborted",
            ErrorCondition::Busy => "Busy",
            ErrorCondition::Cancel => "Cancel",
            ErrorCondition::DeviceOut => "DeviceOut",
            ErrorCondition::InProgress => "InProgress",
            ErrorCondition::NotAllowed => "NotAllowed",
            ErrorCondition::NotFound => "NotFound",
            ErrorCondition::Refusal => "Refusal",
            ErrorCondition::UnavailableHost => "UnavailableHost",
            ErrorCondition::UnavailableService => "UnavailableService",
            ErrorCondition::WrongPIN => "WrongPIN",
            ErrorCondition::MessageFormat => "MessageFormat",
            ErrorCondition::Other(s) => s,
        }
    }

    fn from_text(s: &str) -> ErrorCondition {
        ErrorCondition::KNOWN
            .iter()
            .find(|c| c.as_str() == s)
            .cloned()
            .unwrap_or_else(|| ErrorCondition::Other(s.chars().take(64).collect()))
    }
}

impl Serialize for ErrorCondition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCondition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ErrorCondition, D::Error> {
        Ok(ErrorCondition::from_text(&String::deserialize(d)?))
    }
}

/// `Response`: the outcome of any request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    #[serde(rename = "Result")]
    pub result: ResultCode,
    #[serde(
        rename = "ErrorCondition",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub error_condition: Option<ErrorCondition>,
    /// URL-encoded pairs (`pspReference=…&authCode=…`, `message=…`).
    #[serde(
        rename = "AdditionalResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub additional_response: Option<String>,
}

impl Outcome {
    pub fn success(additional: Option<String>) -> Outcome {
        Outcome {
            result: ResultCode::Success,
            error_condition: None,
            additional_response: additional,
        }
    }

    pub fn failure(condition: ErrorCondition, message: &str) -> Outcome {
        Outcome {
            result: ResultCode::Failure,
            error_condition: Some(condition),
            additional_response: Some(crate::additional::encode([("message", message)])),
        }
    }

    /// The pairs of `AdditionalResponse`.
    pub fn additional(&self) -> std::collections::BTreeMap<String, String> {
        self.additional_response
            .as_deref()
            .map(crate::additional::parse)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoiData {
    #[serde(rename = "POITransactionID")]
    pub poi_transaction_id: TransactionId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountsResp {
    #[serde(rename = "AuthorizedAmount")]
    pub authorized_amount: Amount,
    #[serde(rename = "Currency")]
    pub currency: String,
    /// A tip the customer added on the terminal, within the authorised amount.
    #[serde(rename = "TipAmount", default, skip_serializing_if = "Option::is_none")]
    pub tip_amount: Option<Amount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardData {
    #[serde(
        rename = "PaymentBrand",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_brand: Option<String>,
    #[serde(rename = "MaskedPan", default, skip_serializing_if = "Option::is_none")]
    pub masked_pan: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInstrumentData {
    #[serde(rename = "PaymentInstrumentType")]
    pub payment_instrument_type: String,
    #[serde(rename = "CardData", default, skip_serializing_if = "Option::is_none")]
    pub card_data: Option<CardData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    #[serde(
        rename = "AmountsResp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub amounts_resp: Option<AmountsResp>,
    #[serde(
        rename = "PaymentInstrumentData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_instrument_data: Option<PaymentInstrumentData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputText {
    /// One URL-encoded line: `key=…&name=…&value=…`.
    #[serde(rename = "Text")]
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputContent {
    #[serde(rename = "OutputFormat")]
    pub output_format: String,
    #[serde(rename = "OutputText", default)]
    pub output_text: Vec<OutputText>,
}

/// A receipt the terminal made (`CashierReceipt` or `CustomerReceipt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceipt {
    #[serde(rename = "DocumentQualifier")]
    pub document_qualifier: String,
    #[serde(rename = "OutputContent")]
    pub output_content: OutputContent,
}

impl PaymentReceipt {
    /// The receipt's lines as `(name, value)`; lines without a name are skipped.
    pub fn lines(&self) -> Vec<(String, String)> {
        self.output_content
            .output_text
            .iter()
            .map(|t| crate::additional::parse(&t.text))
            .filter_map(|mut p| Some((p.remove("name")?, p.remove("value").unwrap_or_default())))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResponse {
    #[serde(rename = "Response")]
    pub response: Outcome,
    #[serde(rename = "SaleData")]
    pub sale_data: SaleData,
    #[serde(rename = "POIData")]
    pub poi_data: PoiData,
    #[serde(
        rename = "PaymentResult",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_result: Option<PaymentResult>,
    #[serde(
        rename = "PaymentReceipt",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub payment_receipt: Vec<PaymentReceipt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalResponse {
    #[serde(rename = "Response")]
    pub response: Outcome,
    #[serde(rename = "POIData", default, skip_serializing_if = "Option::is_none")]
    pub poi_data: Option<PoiData>,
    #[serde(
        rename = "ReversedAmount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reversed_amount: Option<Amount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatedResponseMessageBody {
    #[serde(
        rename = "PaymentResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_response: Option<PaymentResponse>,
    #[serde(
        rename = "ReversalResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reversal_response: Option<ReversalResponse>,
}

/// A finished transaction's answer, repeated by a TransactionStatus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatedMessageResponse {
    #[serde(rename = "MessageHeader")]
    pub message_header: MessageHeader,
    #[serde(rename = "RepeatedResponseMessageBody")]
    pub body: RepeatedResponseMessageBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionStatusResponse {
    #[serde(rename = "Response")]
    pub response: Outcome,
    #[serde(
        rename = "MessageReference",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub message_reference: Option<MessageReference>,
    #[serde(
        rename = "RepeatedMessageResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub repeated: Option<RepeatedMessageResponse>,
}

/// What a request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    Payment(PaymentRequest),
    Abort(AbortRequest),
    TransactionStatus(TransactionStatusRequest),
    Reversal(ReversalRequest),
}

impl RequestBody {
    pub fn category(&self) -> Category {
        match self {
            RequestBody::Payment(_) => Category::Payment,
            RequestBody::Abort(_) => Category::Abort,
            RequestBody::TransactionStatus(_) => Category::TransactionStatus,
            RequestBody::Reversal(_) => Category::Reversal,
        }
    }
}

/// A request: its header and exactly one body of the header's category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub header: MessageHeader,
    pub body: RequestBody,
}

/// An answer. (An Abort is answered with an empty HTTP 200, not a message.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    Payment(Box<PaymentResponse>),
    TransactionStatus(Box<TransactionStatusResponse>),
    Reversal(ReversalResponse),
}

impl ResponseBody {
    pub fn category(&self) -> Category {
        match self {
            ResponseBody::Payment(_) => Category::Payment,
            ResponseBody::TransactionStatus(_) => Category::TransactionStatus,
            ResponseBody::Reversal(_) => Category::Reversal,
        }
    }

    /// The `Response` of the answer.
    pub fn outcome(&self) -> &Outcome {
        match self {
            ResponseBody::Payment(p) => &p.response,
            ResponseBody::TransactionStatus(t) => &t.response,
            ResponseBody::Reversal(r) => &r.response,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub header: MessageHeader,
    pub body: ResponseBody,
}

/// The wire shape of a request's inner object.
#[derive(Serialize, Deserialize)]
struct WireRequestInner {
    #[serde(rename = "MessageHeader")]
    header: MessageHeader,
    #[serde(
        rename = "PaymentRequest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    payment: Option<PaymentRequest>,
    #[serde(
        rename = "AbortRequest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    abort: Option<AbortRequest>,
    #[serde(
        rename = "TransactionStatusRequest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    status: Option<TransactionStatusRequest>,
    #[serde(
        rename = "ReversalRequest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    reversal: Option<ReversalRequest>,
}

#[derive(Serialize, Deserialize)]
struct WireRequest {
    #[serde(rename = "SaleToPOIRequest")]
    inner: WireRequestInner,
}

#[derive(Serialize, Deserialize)]
struct WireResponseInner {
    #[serde(rename = "MessageHeader")]
    header: MessageHeader,
    #[serde(
        rename = "PaymentResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    payment: Option<PaymentResponse>,
    #[serde(
        rename = "TransactionStatusResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    status: Option<TransactionStatusResponse>,
    #[serde(
        rename = "ReversalResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    reversal: Option<ReversalResponse>,
}

#[derive(Serialize, Deserialize)]
struct WireResponse {
    #[serde(rename = "SaleToPOIResponse")]
    inner: WireResponseInner,
}

fn check_version(header: &MessageHeader) -> Result<(), MessageError> {
    match header.protocol_version == crate::PROTOCOL_VERSION {
        true => Ok(()),
        false => Err(MessageError::Version(header.protocol_version.clone())),
    }
}

fn check_type(header: &MessageHeader, expected: MessageType) -> Result<(), MessageError> {
    match header.message_type == expected {
        true => Ok(()),
        false => Err(MessageError::Direction {
            expected,
            found: header.message_type,
        }),
    }
}

impl Request {
    /// The compact JSON text of the message (what is encrypted and MACed).
    pub fn to_json(&self) -> Vec<u8> {
        let (mut payment, mut abort, mut status, mut reversal) = (None, None, None, None);
        match &self.body {
            RequestBody::Payment(p) => payment = Some(p.clone()),
            RequestBody::Abort(a) => abort = Some(a.clone()),
            RequestBody::TransactionStatus(t) => status = Some(t.clone()),
            RequestBody::Reversal(r) => reversal = Some(r.clone()),
        }
        let wire = WireRequest {
            inner: WireRequestInner {
                header: self.header.clone(),
                payment,
                abort,
                status,
                reversal,
            },
        };
        serde_json::to_vec(&wire).expect("a request serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Request, MessageError> {
        let wire: WireRequest =
            serde_json::from_slice(bytes).map_err(|e| MessageError::Json(e.to_string()))?;
        let WireRequestInner {
            header,
            payment,
            abort,
            status,
            reversal,
        } = wire.inner;
        check_version(&header)?;
        check_type(&header, MessageType::Request)?;
        let category = header.category;
        let body = match (payment, abort, status, reversal) {
            (Some(p), None, None, None) => RequestBody::Payment(p),
            (None, Some(a), None, None) => RequestBody::Abort(a),
            (None, None, Some(t), None) => RequestBody::TransactionStatus(t),
            (None, None, None, Some(r)) => RequestBody::Reversal(r),
            _ => return Err(MessageError::Body(category)),
        };
        if body.category() != category {
            return Err(MessageError::Body(category));
        }
        Ok(Request { header, body })
    }
}

impl Response {
    pub fn to_json(&self) -> Vec<u8> {
        let (mut payment, mut status, mut reversal) = (None, None, None);
        match &self.body {
            ResponseBody::Payment(p) => payment = Some((**p).clone()),
            ResponseBody::TransactionStatus(t) => status = Some((**t).clone()),
            ResponseBody::Reversal(r) => reversal = Some(r.clone()),
        }
        let wire = WireResponse {
            inner: WireResponseInner {
                header: self.header.clone(),
                payment,
                status,
                reversal,
            },
        };
        serde_json::to_vec(&wire).expect("a response serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Response, MessageError> {
        let wire: WireResponse =
            serde_json::from_slice(bytes).map_err(|e| MessageError::Json(e.to_string()))?;
        let WireResponseInner {
            header,
            payment,
            status,
            reversal,
        } = wire.inner;
        check_version(&header)?;
        check_type(&header, MessageType::Response)?;
        let category = header.category;
        let body = match (payment, status, reversal) {
            (Some(p), None, None) => ResponseBody::Payment(Box::new(p)),
            (None, Some(t), None) => ResponseBody::TransactionStatus(Box::new(t)),
            (None, None, Some(r)) => ResponseBody::Reversal(r),
            _ => return Err(MessageError::Body(category)),
        };
        if body.category() != category {
            return Err(MessageError::Body(category));
        }
        Ok(Response { header, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ids_are_one_to_ten_alphanumerics() {
        assert!(ServiceId::new("0000000001").is_ok());
        assert!(ServiceId::new("a1B2").is_ok());
        for bad in ["", "12345678901", "12-3", "ä"] {
            assert!(ServiceId::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ServiceId::numbered(42).as_str(), "0000000042");
    }

    #[test]
    fn an_unknown_error_condition_is_kept_and_known_ones_round_trip() {
        for c in ErrorCondition::KNOWN {
            let text = serde_json::to_string(c).unwrap();
            assert_eq!(&serde_json::from_str::<ErrorCondition>(&text).unwrap(), c);
        }
        let other: ErrorCondition = serde_json::from_str("\"InsertedCard\"").unwrap();
        assert_eq!(other, ErrorCondition::Other("InsertedCard".into()));
    }

    #[test]
    fn a_request_has_exactly_one_body_of_its_category() {
        let two = br#"{"SaleToPOIRequest":{"MessageHeader":{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":"Abort","MessageType":"Request","SaleID":"R1","ServiceID":"2","POIID":"P"},
            "AbortRequest":{"AbortReason":"MerchantAbort","MessageReference":{"MessageCategory":"Payment"}},
            "TransactionStatusRequest":{}}}"#;
        assert_eq!(
            Request::from_json(two),
            Err(MessageError::Body(Category::Abort))
        );
        let wrong = br#"{"SaleToPOIRequest":{"MessageHeader":{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":"Payment","MessageType":"Request","SaleID":"R1","ServiceID":"2","POIID":"P"},
            "TransactionStatusRequest":{}}}"#;
        assert_eq!(
            Request::from_json(wrong),
            Err(MessageError::Body(Category::Payment))
        );
        let answer = br#"{"SaleToPOIRequest":{"MessageHeader":{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":"TransactionStatus","MessageType":"Response","SaleID":"R1","ServiceID":"2","POIID":"P"},
            "TransactionStatusRequest":{}}}"#;
        assert!(matches!(
            Request::from_json(answer),
            Err(MessageError::Direction { .. })
        ));
        let old = br#"{"SaleToPOIRequest":{"MessageHeader":{"ProtocolVersion":"2.0","MessageClass":"Service","MessageCategory":"TransactionStatus","MessageType":"Request","SaleID":"R1","ServiceID":"2","POIID":"P"},
            "TransactionStatusRequest":{}}}"#;
        assert_eq!(
            Request::from_json(old),
            Err(MessageError::Version("2.0".into()))
        );
        assert!(matches!(
            Request::from_json(b"[]"),
            Err(MessageError::Json(_))
        ));
    }
}
