//! The requests an operation sends.

use super::*;

/// The `SaleToAcquirerData` of an operation: Till's own identifiers, which
/// the vendor's notification carries back to the back office.
fn acquirer_data(op: &Operation) -> String {
    let order = op.order_id.to_string();
    let original = op.refund_of.as_ref().map(|o| o.reference.to_string());
    let mut pairs = vec![(till_nexo::notification::ORDER_ID_KEY, order.as_str())];
    if let Some(original) = &original {
        pairs.push((till_nexo::notification::ORIGINAL_KEY, original.as_str()));
    }
    if op.ask_tip {
        pairs.push(("tenderOption", "AskGratuity"));
    }
    additional::encode(pairs)
}

impl Operation {
    fn sale_data(&self) -> SaleData {
        SaleData {
            sale_transaction_id: TransactionId {
                transaction_id: self.reference.to_string(),
                time_stamp: till_nexo::time::format(self.sent_at),
            },
            sale_to_acquirer_data: Some(acquirer_data(self)),
        }
    }

    fn header(
        &self,
        category: Category,
        service_id: ServiceId,
        config: &DriverConfig,
    ) -> MessageHeader {
        MessageHeader::request(category, &self.sale_id, service_id, &config.poi_id)
    }

    /// The Payment, or for a refund the Reversal, under the operation's
    /// own ServiceID.
    pub fn start_request(&self, config: &DriverConfig) -> Request {
        let body = match &self.refund_of {
            None => RequestBody::Payment(PaymentRequest {
                sale_data: self.sale_data(),
                payment_transaction: PaymentTransaction {
                    amounts_req: AmountsReq {
                        currency: self.amount.currency().code().to_owned(),
                        requested_amount: Amount::from_money(self.amount),
                    },
                },
            }),
            Some(original) => RequestBody::Reversal(ReversalRequest {
                original: OriginalPoiTransaction {
                    poi_transaction_id: original.poi_transaction.clone(),
                },
                reversal_reason: "MerchantCancel".into(),
                reversed_amount: Some(Amount::from_money(self.amount)),
                sale_data: Some(self.sale_data()),
            }),
        };
        let category = body_category(&body);
        Request {
            header: self.header(category, self.service_id.clone(), config),
            body,
        }
    }

    fn reference_of(&self) -> MessageReference {
        MessageReference {
            category: match self.refund_of {
                None => Category::Payment,
                Some(_) => Category::Reversal,
            },
            sale_id: Some(self.sale_id.clone()),
            service_id: Some(self.service_id.clone()),
            poi_id: None,
        }
    }

    /// A TransactionStatus about the operation, under a new ServiceID.
    pub fn status_request(&self, service_id: ServiceId, config: &DriverConfig) -> Request {
        Request {
            header: self.header(Category::TransactionStatus, service_id, config),
            body: RequestBody::TransactionStatus(TransactionStatusRequest {
                message_reference: Some(self.reference_of()),
                receipt_reprint_flag: Some(false),
                document_qualifier: vec!["CashierReceipt".into(), "CustomerReceipt".into()],
            }),
        }
    }

    /// An Abort of the running Payment, under a new ServiceID.
    pub fn abort_request(&self, service_id: ServiceId, config: &DriverConfig) -> Request {
        Request {
            header: self.header(Category::Abort, service_id, config),
            body: RequestBody::Abort(AbortRequest {
                abort_reason: "MerchantAbort".into(),
                message_reference: MessageReference {
                    category: Category::Payment,
                    sale_id: Some(self.sale_id.clone()),
                    service_id: Some(self.service_id.clone()),
                    poi_id: Some(config.poi_id.clone()),
                },
            }),
        }
    }

    /// How long the request for `need` may take before it counts as lost.
    pub fn timeout(&self, need: Need, config: &DriverConfig) -> Duration {
        match (need, &self.refund_of) {
            (Need::Start, None) => config.payment_wait(),
            _ => CALL_TIMEOUT,
        }
    }
}

fn body_category(body: &RequestBody) -> Category {
    body.category()
}
