//! Time passing on the terminal: operations decided, held calls answered,
//! charges recorded and the vendor's notifications queued.

use super::*;

/// Card numbers the terminal makes up, by brand (the first six digits).
const CARDS: [(&str, &str); 4] = [
    ("visa", "476173"),
    ("mc", "541333"),
    ("amex", "370000"),
    ("maestro", "679999"),
];

/// The card a reference is paid with: deterministic, never a full number.
pub(super) fn card_for(reference: &str) -> (&'static str, String, String) {
    let h = reference.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let (brand, bin) = CARDS[(h % 4) as usize];
    let last4 = format!("{:04}", (h >> 8) % 10_000);
    let auth = format!("{:06}", (h >> 24) % 1_000_000);
    (brand, format!("{bin} **** {last4}"), auth)
}

impl Device {
    /// Decides what is due at `now`. Returns the answers of held payment
    /// calls that have ended; each call ends once.
    pub fn advance(&mut self, now: Timestamp) -> Result<Vec<Finished>, DeviceError> {
        let ids: Vec<ServiceId> = self
            .txns
            .values()
            .filter(|t| t.state == State::Running || (t.is_payment() && !t.answered))
            .map(|t| t.header.service_id.clone())
            .collect();
        let mut finished = Vec::new();
        for id in ids {
            let Some(t) = self.txns.get(&id).cloned() else {
                continue;
            };
            if let Some(f) = self.atomically(|d| d.advance_one(t, now))? {
                finished.push(f);
            }
        }
        Ok(finished)
    }

    /// One operation at `now`: decided when due (its charge, its
    /// notification and its new state in one transaction), and a held
    /// call's answer once it is decided.
    fn advance_one(&mut self, mut t: Txn, now: Timestamp) -> Result<Option<Finished>, DeviceError> {
        let mut changed = false;
        if t.state == State::Running && self.decide_at(&t).is_some_and(|at| at <= now) {
            self.decide(&mut t, now)?;
            changed = true;
        }
        let mut finished = None;
        if t.is_payment() && t.state != State::Running && !t.answered {
            t.answered = true;
            changed = true;
            let lost = t.state != State::Cancelled && t.behaviour.answer_lost();
            let response = (!lost).then(|| self.payment_response(&t, now));
            finished = Some(Finished {
                service_id: t.header.service_id.clone(),
                response,
            });
        }
        if changed {
            self.save(&t)?;
        }
        Ok(finished)
    }

    /// When [`Device::advance`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.txns
            .values()
            .filter_map(|t| match t.state {
                State::Running => self.decide_at(t),
                _ if t.is_payment() && !t.answered => t.decided_at,
                _ => None,
            })
            .min()
    }

    fn decide(&mut self, t: &mut Txn, now: Timestamp) -> Result<(), DeviceError> {
        let approve = t.behaviour.outcome == behaviour::Outcome::Approve;
        t.state = if approve {
            State::Approved
        } else {
            State::Declined
        };
        t.decided_at = Some(now);
        if approve && t.is_payment() {
            let asked = t
                .acquirer_data()
                .get("tenderOption")
                .is_some_and(|o| o == "AskGratuity");
            t.tip = t
                .behaviour
                .tip_minor
                .filter(|tip| asked && *tip > 0)
                .and_then(|tip| Money::new(tip, t.amount().currency()).ok());
        }
        if approve {
            self.record_charge(t, now)?;
        }
        let after = t
            .behaviour
            .report_to_oms_after_ms
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_millis(0));
        let item = self.notification_of(t);
        self.db
            .prepare_cached(
                "INSERT INTO notifications (reference, body, due_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                t.reference(),
                serde_json::to_string(&item)?,
                (now + after).as_millis()
            ])?;
        Ok(())
    }

    fn record_charge(&mut self, t: &Txn, now: Timestamp) -> Result<(), DeviceError> {
        let refund_of = match &t.kind {
            Kind::Reversal { original, .. } => self.txns.get(original).map(Txn::reference),
            Kind::Payment { .. } => None,
        };
        let charge = Charge {
            reference: t.reference(),
            order_id: t.acquirer_data().remove(notification::ORDER_ID_KEY),
            amount: t.charged(),
            tip_minor: t.tip.map(|m| m.minor()),
            charged_at: now,
            refund_of,
        };
        self.db
            .prepare_cached("INSERT INTO charges (body) VALUES (?1)")?
            .execute([serde_json::to_string(&charge)?])?;
        Ok(())
    }

    /// The card of an operation: a refund goes back to its payment's card.
    fn card_of(&self, t: &Txn) -> (&'static str, String, String) {
        let (_, _, auth) = card_for(&t.psp);
        let (brand, masked, _) = match &t.kind {
            Kind::Reversal { original, .. } => match self.txns.get(original) {
                Some(o) => card_for(&o.reference()),
                None => card_for(&t.reference()),
            },
            Kind::Payment { .. } => card_for(&t.reference()),
        };
        (brand, masked, auth)
    }

    /// What the operation's answer says in `AdditionalResponse`.
    fn additional_of(&self, t: &Txn) -> String {
        let (_, _, auth) = self.card_of(t);
        let tip = t.tip.map(|m| Amount::from_money(m).to_string());
        let mut pairs = vec![
            ("pspReference", t.psp.as_str()),
            ("authCode", auth.as_str()),
        ];
        if let Some(tip) = &tip {
            pairs.push(("tipAmount", tip.as_str()));
        }
        additional::encode(pairs)
    }

    fn decided_outcome(&self, t: &Txn) -> Outcome {
        match t.state {
            State::Approved => Outcome::success(Some(self.additional_of(t))),
            State::Cancelled => {
                Outcome::failure(ErrorCondition::Cancel, "cancelled by the merchant")
            }
            State::Declined | State::Running => {
                let reason = t.behaviour.decline_reason.as_deref().unwrap_or("declined");
                Outcome::failure(ErrorCondition::Refusal, reason)
            }
        }
    }

    /// A payment's answer, once it is decided.
    pub(super) fn payment_response(&self, t: &Txn, _now: Timestamp) -> Response {
        let Kind::Payment { sale, .. } = &t.kind else {
            unreachable!("payment_response is asked for payments only")
        };
        let (brand, masked, _) = self.card_of(t);
        let approved = t.state == State::Approved;
        let result = approved.then(|| PaymentResult {
            amounts_resp: Some(AmountsResp {
                authorized_amount: Amount::from_money(t.charged()),
                currency: t.amount().currency().code().to_owned(),
                tip_amount: t.tip.map(Amount::from_money),
            }),
            payment_instrument_data: Some(PaymentInstrumentData {
                payment_instrument_type: "Card".into(),
                card_data: Some(CardData {
                    payment_brand: Some(brand.into()),
                    masked_pan: Some(masked.clone()),
                }),
            }),
        });
        let receipt = approved
            .then(|| receipt(t, brand, &masked))
            .into_iter()
            .collect();
        let body = ResponseBody::Payment(Box::new(PaymentResponse {
            response: self.decided_outcome(t),
            sale_data: sale.clone(),
            poi_data: PoiData {
                poi_transaction_id: t.poi_tx.clone(),
            },
            payment_result: result,
            payment_receipt: receipt,
        }));
        Response {
            header: t.header.response(),
            body,
        }
    }

    /// A reversal's final answer.
    pub(super) fn reversal_response(&self, t: &Txn) -> Response {
        let body = ResponseBody::Reversal(ReversalResponse {
            response: self.decided_outcome(t),
            poi_data: Some(PoiData {
                poi_transaction_id: t.poi_tx.clone(),
            }),
            reversed_amount: Some(Amount::from_money(t.amount())),
        });
        Response {
            header: t.header.response(),
            body,
        }
    }

    /// The vendor cloud's notification of a decided operation (unsigned:
    /// the server signs it when it sends it).
    fn notification_of(&self, t: &Txn) -> NotificationItem {
        let (brand, masked, auth) = self.card_of(t);
        let mut data: BTreeMap<String, String> = t
            .acquirer_data()
            .into_iter()
            .filter(|(k, _)| k.starts_with("metadata."))
            .collect();
        data.insert("authCode".into(), auth);
        data.insert(
            "cardSummary".into(),
            masked
                .chars()
                .skip(masked.len().saturating_sub(4))
                .collect(),
        );
        data.insert("maskedPan".into(), masked);
        data.insert("paymentMethodVariant".into(), brand.into());
        if let Some(tip) = t.tip.filter(|_| t.state == State::Approved) {
            data.insert(notification::TIP_KEY.into(), tip.minor().to_string());
        }
        let (event, original) = match &t.kind {
            Kind::Payment { .. } => (notification::EVENT_AUTHORISATION, None),
            Kind::Reversal { original, .. } => (
                notification::EVENT_CANCEL_OR_REFUND,
                self.txns.get(original).map(|o| o.psp.clone()),
            ),
        };
        let amount = if t.state == State::Approved {
            t.charged()
        } else {
            t.amount()
        };
        NotificationItem {
            additional_data: data,
            amount: NotificationAmount {
                currency: amount.currency().code().to_owned(),
                value: amount.minor(),
            },
            event_code: event.into(),
            event_date: t.poi_tx.time_stamp.clone(),
            merchant_account_code: self.config.merchant_account.clone(),
            merchant_reference: t.reference(),
            original_reference: original,
            payment_method: Some(brand.into()),
            psp_reference: t.psp.clone(),
            reason: t
                .behaviour
                .decline_reason
                .clone()
                .filter(|_| t.state == State::Declined),
            success: (t.state == State::Approved).to_string(),
        }
    }
}

/// The cashier's copy of the terminal's receipt: URL-encoded lines.
fn receipt(t: &Txn, brand: &str, masked: &str) -> PaymentReceipt {
    let line = |key: &str, name: &str, value: &str| OutputText {
        text: additional::encode([("key", key), ("name", name), ("value", value)]),
    };
    let amount = t.charged();
    PaymentReceipt {
        document_qualifier: "CashierReceipt".into(),
        output_content: OutputContent {
            output_format: "Text".into(),
            output_text: vec![
                line("cardType", "Card", &till_nexo::card::brand_name(brand)),
                line("cardNumber", "Number", masked),
                line("pspReference", "PSP reference", &t.psp),
                line(
                    "totalAmount",
                    "Total",
                    &format!(
                        "{} {}",
                        amount.currency().code(),
                        Amount::from_money(amount)
                    ),
                ),
                line("approved", "Approved", ""),
            ],
        },
    }
}
