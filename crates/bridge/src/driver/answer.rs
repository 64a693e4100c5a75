//! What the terminal's answers mean for an operation.

use super::*;

/// What a `Failure` with this condition means, as the terminal's own
/// word about the request it answers: `None` when it settles nothing (the
/// operation is then asked about by status).
///
/// | ErrorCondition | the operation | the cashier reads |
/// |---|---|---|
/// | Busy | not started | "the terminal is busy with another payment" |
/// | Cancel, Aborted | cancelled | "Payment cancelled" |
/// | Refusal, WrongPIN | declined | the terminal's reason ("insufficient funds") |
/// | UnavailableHost | declined | "the payment provider could not be reached" |
/// | NotAllowed, MessageFormat, DeviceOut, UnavailableService | not started | "the terminal refused it: …" |
/// | InProgress, NotFound, any other | asked again by status | (the popup waits, then "result not received") |
pub fn failure_of(condition: Option<&ErrorCondition>, message: Option<&str>) -> Option<Final> {
    let said = |fallback: &str| {
        message
            .filter(|m| !m.is_empty())
            .unwrap_or(fallback)
            .to_owned()
    };
    match condition? {
        ErrorCondition::Busy => Some(Final::NotStarted {
            reason: BUSY_REASON.into(),
        }),
        ErrorCondition::Cancel | ErrorCondition::Aborted => Some(Final::Cancelled),
        ErrorCondition::Refusal | ErrorCondition::WrongPIN => Some(Final::Declined {
            reason: said("declined by the card's bank"),
        }),
        ErrorCondition::UnavailableHost => Some(Final::Declined {
            reason: "the payment provider could not be reached".into(),
        }),
        ErrorCondition::NotAllowed
        | ErrorCondition::MessageFormat
        | ErrorCondition::DeviceOut
        | ErrorCondition::UnavailableService => Some(Final::NotStarted {
            reason: format!("the terminal refused it: {}", said("no reason given")),
        }),
        ErrorCondition::InProgress | ErrorCondition::NotFound | ErrorCondition::Other(_) => None,
    }
}

fn message_of(outcome: &Outcome) -> Option<String> {
    outcome.additional().remove("message")
}

impl Operation {
    /// What happened to a request of kind `need` sent at `asked_at`.
    pub fn answered(
        &mut self,
        need: Need,
        asked_at: Timestamp,
        result: CallResult,
        now: Timestamp,
        config: &DriverConfig,
    ) {
        if self.is_done() {
            return; // Final: a later word changes nothing.
        }
        match need {
            Need::Start => self.on_start(result, now),
            Need::Status => {
                self.note_answered(asked_at);
                self.on_status(asked_at, result, now, config)
            }
            // The Payment's own answer says how it ended.
            Need::Abort => {}
        }
    }

    fn ask_later(&mut self, heard: Heard, now: Timestamp) {
        let (asks, last_asked, answered, again) = match &self.phase {
            Phase::Asking {
                asks,
                last_asked,
                answered,
                again,
                ..
            } => (asks + 1, *last_asked, *answered, *again),
            _ => (0, None, None, false),
        };
        let wait = ASK_FIRST.as_millis().saturating_mul(1u64 << asks.min(16));
        let later = now + Duration::from_millis(wait.min(ASK_MAX.as_millis()));
        self.phase = Phase::Asking {
            asks,
            // Someone asked while the last request was out: at once.
            next_at: if again { now } else { later },
            asked_at: None,
            last_asked,
            answered,
            again: false,
            heard,
        };
    }

    /// A status request sent at `asked_at` was answered (or failed).
    fn note_answered(&mut self, asked_at: Timestamp) {
        if let Phase::Asking { answered, .. } = &mut self.phase {
            *answered = Some(answered.map_or(asked_at, |t| t.max(asked_at)));
        }
    }

    fn heard(&self) -> Heard {
        match &self.phase {
            Phase::Asking { heard, .. } => *heard,
            _ => Heard::Nothing,
        }
    }

    fn on_start(&mut self, result: CallResult, now: Timestamp) {
        match (result, &self.refund_of) {
            (CallResult::Answered(r), None) => match r.body {
                ResponseBody::Payment(p) => self.apply_payment(&p, now),
                _ => self.ask_later(Heard::Nothing, now),
            },
            (CallResult::Answered(r), Some(_)) => match r.body {
                ResponseBody::Reversal(rev) if rev.response.result == ResultCode::Success => {
                    self.ask_later(Heard::Acknowledged, now)
                }
                ResponseBody::Reversal(rev) => self.apply_failure(&rev.response, now),
                _ => self.ask_later(Heard::Nothing, now),
            },
            (CallResult::NotConnected(_), _) => {
                self.phase = Phase::Done(Final::NotStarted {
                    reason: UNREACHABLE_REASON.into(),
                })
            }
            (CallResult::Empty | CallResult::Lost(_), _) => self.ask_later(Heard::Nothing, now),
        }
    }

    fn on_status(
        &mut self,
        asked_at: Timestamp,
        result: CallResult,
        now: Timestamp,
        config: &DriverConfig,
    ) {
        let heard = self.heard();
        let status = match result {
            CallResult::Answered(r) => match r.body {
                ResponseBody::TransactionStatus(s) => s,
                _ => return self.ask_later(heard, now),
            },
            _ => return self.ask_later(heard, now),
        };
        if status.response.result == ResultCode::Success {
            let body = status.repeated.map(|r| r.body);
            return match (body, &self.refund_of) {
                (
                    Some(RepeatedResponseMessageBody {
                        payment_response: Some(p),
                        ..
                    }),
                    None,
                ) => self.apply_payment(&p, now),
                (
                    Some(RepeatedResponseMessageBody {
                        reversal_response: Some(r),
                        ..
                    }),
                    Some(_),
                ) => self.apply_reversal(&r, now),
                _ => self.ask_later(heard, now),
            };
        }
        match status.response.error_condition {
            Some(ErrorCondition::InProgress) if heard != Heard::Acknowledged => {
                self.ask_later(Heard::InProgress, now)
            }
            Some(ErrorCondition::NotFound)
                if heard != Heard::Acknowledged
                    && asked_at >= self.sent_at + config.payment_wait() =>
            {
                self.phase = Phase::Done(Final::NotStarted {
                    reason: NEVER_RECEIVED_REASON.into(),
                })
            }
            _ => self.ask_later(heard, now),
        }
    }

    fn apply_failure(&mut self, outcome: &Outcome, now: Timestamp) {
        let message = message_of(outcome);
        match failure_of(outcome.error_condition.as_ref(), message.as_deref()) {
            Some(f) => self.phase = Phase::Done(f),
            None => self.ask_later(self.heard(), now),
        }
    }

    fn apply_payment(&mut self, p: &PaymentResponse, now: Timestamp) {
        if p.response.result != ResultCode::Success {
            return self.apply_failure(&p.response, now);
        }
        match self.approval(p) {
            Some(f) => self.phase = Phase::Done(f),
            // An approval Till cannot read (no amount, another currency):
            // in doubt, never guessed; the status asks go on.
            None => self.ask_later(Heard::Nothing, now),
        }
    }

    /// The approval a Success answer carries.
    fn approval(&self, p: &PaymentResponse) -> Option<Final> {
        let result = p.payment_result.as_ref()?;
        let amounts = result.amounts_resp.as_ref()?;
        let currency = self.amount.currency();
        if amounts.currency != currency.code() {
            return None;
        }
        let authorized = amounts.authorized_amount.to_money(currency).ok()?;
        let tip = match &amounts.tip_amount {
            Some(t) => t.to_money(currency).ok()?,
            None => Money::zero(currency),
        };
        let amount = authorized.checked_sub(tip).ok()?;
        let card_data = result
            .payment_instrument_data
            .as_ref()?
            .card_data
            .as_ref()?;
        let extra = p.response.additional();
        let get = |k: &str| extra.get(k).map(String::as_str).unwrap_or("");
        let mut card = till_nexo::card::details(
            card_data.payment_brand.as_deref().unwrap_or(""),
            card_data.masked_pan.as_deref().unwrap_or(""),
            get("authCode"),
            get("pspReference"),
        );
        // The tip is charged on top of the sale, never counted in it.
        card.tip = (!tip.is_zero()).then_some(tip);
        let poi_transaction = p.poi_data.poi_transaction_id.clone();
        let at = till_nexo::time::parse(&poi_transaction.time_stamp).unwrap_or(self.sent_at);
        Some(Final::Approved {
            amount,
            card,
            poi_transaction,
            at,
        })
    }

    /// A reversal's outcome: money back to the original payment's card.
    fn apply_reversal(&mut self, r: &ReversalResponse, now: Timestamp) {
        if r.response.result != ResultCode::Success {
            return self.apply_failure(&r.response, now);
        }
        let Some(original) = &self.refund_of else {
            return;
        };
        let currency = self.amount.currency();
        let amount = match &r.reversed_amount {
            Some(a) => a.to_money(currency).ok(),
            None => Some(self.amount),
        };
        let (Some(amount), Some(poi)) = (amount, r.poi_data.as_ref()) else {
            return self.ask_later(Heard::Acknowledged, now);
        };
        let extra = r.response.additional();
        let mut card = original.card.clone();
        // The payment's tip was the payment's: a refund carries none.
        card.tip = None;
        if let Some(auth) = extra.get("authCode") {
            card.auth_code = auth.clone();
        }
        card.psp_reference = extra.get("pspReference").cloned().or(card.psp_reference);
        let poi_transaction = poi.poi_transaction_id.clone();
        let at = till_nexo::time::parse(&poi_transaction.time_stamp).unwrap_or(self.sent_at);
        self.phase = Phase::Done(Final::Approved {
            amount,
            card,
            poi_transaction,
            at,
        });
    }
}
