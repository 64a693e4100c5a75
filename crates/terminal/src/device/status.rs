//! TransactionStatus, the tests' controls, and the notifications' queue.

use super::*;

/// How a notification's delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Not taken (network error, 5xx): tried again at this time.
    Retry(Timestamp),
    /// Refused for good (a 4xx): kept, not retried.
    Parked(String),
}

impl Device {
    /// Answers a TransactionStatus: the operation the request names (or
    /// the last payment of its sale system).
    pub(super) fn status(
        &self,
        header: &MessageHeader,
        s: &TransactionStatusRequest,
        now: Timestamp,
    ) -> Response {
        let reference = s.message_reference.as_ref();
        let target = match reference.and_then(|r| r.service_id.as_ref()) {
            Some(id) => self.txns.get(id),
            None => self
                .txns
                .values()
                .filter(|t| t.is_payment() && t.header.sale_id == header.sale_id)
                .max_by_key(|t| t.begun_at),
        }
        .filter(|t| {
            reference
                .and_then(|r| r.sale_id.as_deref())
                .is_none_or(|s| s == t.header.sale_id)
        });
        let reply = |outcome, repeated| Response {
            header: header.response(),
            body: ResponseBody::TransactionStatus(Box::new(TransactionStatusResponse {
                response: outcome,
                message_reference: reference.cloned(),
                repeated,
            })),
        };
        let Some(t) = target else {
            return reply(
                Outcome::failure(ErrorCondition::NotFound, "no such transaction"),
                None,
            );
        };
        if t.state == State::Running || t.hidden(now) {
            return reply(
                Outcome::failure(ErrorCondition::InProgress, "the transaction is in progress"),
                None,
            );
        }
        let original = match &t.kind {
            Kind::Payment { .. } => self.payment_response(t, now),
            Kind::Reversal { .. } => self.reversal_response(t),
        };
        let body = match original.body {
            ResponseBody::Payment(p) => RepeatedResponseMessageBody {
                payment_response: Some(*p),
                reversal_response: None,
            },
            ResponseBody::Reversal(r) => RepeatedResponseMessageBody {
                payment_response: None,
                reversal_response: Some(r),
            },
            ResponseBody::TransactionStatus(_) => {
                unreachable!("operations are payments or reversals")
            }
        };
        let repeated = RepeatedMessageResponse {
            message_header: original.header,
            body,
        };
        reply(Outcome::success(None), Some(repeated))
    }

    // ---- the tests' controls ----

    /// The next payment (or refund) does this, once.
    pub fn set_next(&mut self, behaviour: Behaviour) {
        self.next = Some(behaviour);
    }

    pub fn clear_next(&mut self) {
        self.next = None;
    }

    /// The next `count` payments are answered Busy.
    pub fn set_busy(&mut self, count: u32) {
        self.busy_next = count;
    }

    fn by_reference(&self, reference: &str) -> Option<Txn> {
        self.txns
            .values()
            .filter(|t| t.reference() == reference)
            .max_by_key(|t| t.begun_at)
            .cloned()
    }

    /// Makes a hidden result visible to status queries.
    pub fn reveal(&mut self, reference: &str) -> Result<bool, DeviceError> {
        let Some(mut t) = self.by_reference(reference) else {
            return Ok(false);
        };
        t.revealed = true;
        self.save(&t)?;
        Ok(true)
    }

    /// Makes the operation's notification due now; `false` unless it is
    /// decided (approved or declined).
    pub fn report_now(&mut self, reference: &str, now: Timestamp) -> Result<bool, DeviceError> {
        let decided = self
            .by_reference(reference)
            .is_some_and(|t| matches!(t.state, State::Approved | State::Declined));
        if decided {
            self.db.prepare_cached("UPDATE notifications SET due_at = ?2 WHERE reference = ?1 AND delivered_at IS NULL AND parked IS NULL")?
            .execute(params![reference, now.as_millis()],
            )?;
        }
        Ok(decided)
    }

    /// Every operation the terminal made on a card, oldest first.
    pub fn charges(&self) -> Result<Vec<Charge>, DeviceError> {
        let mut stmt = self.db.prepare("SELECT body FROM charges ORDER BY seq")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// How many operations (payments and reversals) the terminal was asked
    /// to start under this reference: a bridge that never sends one twice
    /// keeps it at one (the simulator's check).
    pub fn operations_of(&self, reference: &str) -> usize {
        self.txns
            .values()
            .filter(|t| t.reference() == reference)
            .count()
    }

    /// Whether a payment with this reference approved by the terminal
    /// (for the simulator's checks).
    pub fn is_charged(&self, reference: &PaymentRef) -> bool {
        let r = reference.to_string();
        self.txns
            .values()
            .any(|t| t.reference() == r && t.state == State::Approved)
    }

    // ---- the vendor's notifications ----

    /// Notifications due at `now` (at most `limit`), oldest first, with
    /// their queue ids.
    pub fn due_notifications(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(i64, NotificationItem)>, DeviceError> {
        let mut stmt = self.db.prepare_cached(
            "SELECT id, body FROM notifications WHERE delivered_at IS NULL AND parked IS NULL AND due_at <= ?1
             ORDER BY due_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now.as_millis(), limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row?;
            out.push((id, serde_json::from_str(&body)?));
        }
        Ok(out)
    }

    /// When the next notification falls due.
    pub fn next_notification_at(&self) -> Result<Option<Timestamp>, DeviceError> {
        let at: Option<i64> = self.db.prepare_cached("SELECT min(due_at) FROM notifications WHERE delivered_at IS NULL AND parked IS NULL")?
            .query_row([],
            |r| r.get(0),
        )?;
        Ok(at.map(Timestamp::from_millis))
    }

    pub fn notification_sent(
        &mut self,
        id: i64,
        how: Delivery,
        now: Timestamp,
    ) -> Result<(), DeviceError> {
        match how {
            Delivery::Delivered => self.db.prepare_cached("UPDATE notifications SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1")?
            .execute(params![id, now.as_millis()],
            )?,
            Delivery::Retry(at) => self.db.prepare_cached("UPDATE notifications SET due_at = ?2, attempts = attempts + 1 WHERE id = ?1")?
            .execute(params![id, at.as_millis()],
            )?,
            Delivery::Parked(why) => self.db.prepare_cached("UPDATE notifications SET parked = ?2, attempts = attempts + 1 WHERE id = ?1")?
            .execute(params![id, why],
            )?,
        };
        Ok(())
    }

    /// Attempts made at a notification so far.
    pub fn notification_attempts(&self, id: i64) -> Result<u32, DeviceError> {
        Ok(self
            .db
            .prepare_cached("SELECT attempts FROM notifications WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?)
    }
}
