//! Starting, asking about and cancelling payments, and what the terminal
//! answered.

use super::*;

impl Journal {
    fn is_tombstoned(conn: &Connection, reference: &PaymentRef) -> Result<bool, BridgeError> {
        Ok(conn
            .prepare_cached("SELECT 1 FROM tombstones WHERE reference = ?1")?
            .query_row([reference.to_string()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// "Never received", for good: a later start with this reference is refused.
    fn tombstone(
        conn: &Connection,
        reference: &PaymentRef,
        now: Timestamp,
    ) -> Result<PaymentStatusResponse, BridgeError> {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO tombstones (reference, created_at) VALUES (?1, ?2)",
        )?
        .execute(params![reference.to_string(), now.as_millis()])?;
        Ok(PaymentStatusResponse {
            reference: *reference,
            status: BridgeStatus::NeverReceived,
        })
    }

    /// Before a question about `reference` from `caller` (a pairing) of
    /// register `owner`: a payment another register started is not this
    /// one's to know about; a reference the bridge never received gets its
    /// tombstone now, counted against the caller, who may leave at most
    /// `cap` of them (each is a row kept for good: without a cap, one
    /// register could fill the disk by asking about random references).
    /// The register's own references pass.
    pub fn admit_question(
        &self,
        reference: &PaymentRef,
        (caller, owner): (&str, &str),
        cap: u64,
        now: Timestamp,
    ) -> Result<(), BridgeError> {
        let conn = self.lock();
        if let Some(row) = Self::row(&conn, reference)? {
            return match row.belongs_to(Some(owner)) {
                true => Ok(()),
                false => Err(BridgeError::NotYours(*reference)),
            };
        }
        if Self::is_tombstoned(&conn, reference)? {
            return Ok(());
        }
        let left: u64 = conn
            .prepare_cached("SELECT count(*) FROM tombstones WHERE pairing = ?1")?
            .query_row([caller], |r| r.get(0))?;
        if left >= cap {
            return Err(BridgeError::TooManyUnknown(left));
        }
        conn.prepare_cached(
            "INSERT OR IGNORE INTO tombstones (reference, created_at, pairing) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![reference.to_string(), now.as_millis(), caller])?;
        Ok(())
    }

    /// Starts a payment or a refund, or answers with the existing one: one
    /// reference is one operation on the terminal, whatever arrives twice.
    /// A reference the bridge already called "never received" is refused,
    /// and so is a refund its original payment does not allow. The
    /// returned request is sent once; a start that finds its payment sends
    /// nothing.
    pub fn start(
        &self,
        req: &Start,
        now: Timestamp,
    ) -> Result<(Started, PaymentStatusResponse, Vec<Outgoing>), BridgeError> {
        let mut conn = self.lock();
        let answer = |status| PaymentStatusResponse {
            reference: req.reference,
            status,
        };
        if Self::is_tombstoned(&conn, &req.reference)? {
            return Err(BridgeError::Tombstoned(req.reference));
        }
        if let Some(row) = Self::row(&conn, &req.reference)? {
            if !row.belongs_to(req.owner.as_deref()) {
                return Err(BridgeError::NotYours(req.reference));
            }
            let same = row.order_id == req.order_id
                && row.amount == req.amount
                && row.refund_of == req.refund_of;
            return match same {
                true => Ok((
                    Started::Existing,
                    answer(row.status(now, &self.config)),
                    Vec::new(),
                )),
                false => Err(BridgeError::Conflict(req.reference)),
            };
        }
        if let Some(live) = self.live_payment_of(&conn, &req.order_id, now)? {
            return Err(BridgeError::LivePayment(live));
        }
        let original = match &req.refund_of {
            Some(original) => Some(self.check_refund(&conn, original, req, now)?),
            None => None,
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut op = Operation::new(
            req.reference,
            req.order_id,
            req.amount,
            original,
            &self.config,
            Self::service_id(&tx)?,
            now,
        );
        op.ask_tip = req.ask_tip && req.refund_of.is_none();
        // Journal first: a crash after this commit leaves a payment the
        // bridge knows (and asks about), never a charge it does not.
        tx.prepare_cached("INSERT INTO payments (reference, order_id, amount, created_at, updated_at, status, refund_of, op, done, owner)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, '0', ?8)")?
            .execute(params![
                req.reference.to_string(),
                req.order_id.to_string(),
                serde_json::to_string(&req.amount)?,
                now.as_millis(),
                serde_json::to_string(&BridgeStatus::Processing)?,
                req.refund_of.map(|r| r.to_string()),
                serde_json::to_string(&op)?,
                req.owner,
            ],
        )?;
        let out = self.outgoing(&tx, &op, Need::Start, now)?;
        tx.commit()?;
        Ok((Started::New, answer(BridgeStatus::Processing), vec![out]))
    }

    /// A payment of `order` the terminal is still working on, if any.
    fn live_payment_of(
        &self,
        conn: &Connection,
        order: &OrderId,
        now: Timestamp,
    ) -> Result<Option<PaymentRef>, BridgeError> {
        let refs: Vec<String> = conn
            .prepare_cached(
                "SELECT reference FROM payments WHERE order_id = ?1 AND done IS NOT '1'",
            )?
            .query_map([order.to_string()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for r in refs {
            let reference = parse_reference(&r)?;
            let row = Self::row(conn, &reference)?;
            if row.is_some_and(|row| row.status(now, &self.config) == BridgeStatus::Processing) {
                return Ok(Some(reference));
            }
        }
        Ok(None)
    }

    /// A refund goes back to an approved payment of the same order, in its
    /// currency, and all its refunds that may have given money back
    /// (approved, processing or unknown) stay within what it charged (its
    /// tip included).
    fn check_refund(
        &self,
        conn: &Connection,
        original: &PaymentRef,
        req: &Start,
        now: Timestamp,
    ) -> Result<Original, BridgeError> {
        let refused = |why: String| Err(BridgeError::RefundRefused(why));
        let found = Self::row(conn, original)?;
        if found
            .as_ref()
            .is_some_and(|r| !r.belongs_to(req.owner.as_deref()))
        {
            return Err(BridgeError::NotYours(*original));
        }
        let approved = found.filter(|r| r.order_id == req.order_id && r.refund_of.is_none());
        let Some((charged, card, poi_transaction)) = approved.and_then(|r| match r.op?.phase {
            crate::driver::Phase::Done(Final::Approved {
                amount,
                card,
                poi_transaction,
                ..
            }) => Some((card.charged(amount).ok()?, card, poi_transaction)),
            _ => None,
        }) else {
            return refused(format!(
                "payment {original} is not an approved payment of this order on this bridge"
            ));
        };
        if charged.currency() != req.amount.currency() {
            return refused(format!(
                "payment {original} was in {}",
                charged.currency().code()
            ));
        }
        let refunds: Vec<String> = conn
            .prepare_cached("SELECT reference FROM payments WHERE refund_of = ?1")?
            .query_map([original.to_string()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut given = req.amount.minor();
        for r in refunds {
            let Some(row) = Self::row(conn, &parse_reference(&r)?)? else {
                continue;
            };
            let counts = matches!(
                row.status(now, &self.config),
                BridgeStatus::Approved { .. } | BridgeStatus::Processing | BridgeStatus::Unknown
            );
            if counts {
                given += row.amount.minor();
            }
        }
        if given > charged.minor() {
            return refused(format!(
                "refunds of payment {original} would give back more than the {charged} it charged"
            ));
        }
        Ok(Original {
            reference: *original,
            poi_transaction,
            card,
        })
    }

    /// Where a payment stands. `fresh` (the register asks, as a Re-sync
    /// does): an operation in doubt is asked about at the terminal now.
    pub fn status(
        &self,
        reference: &PaymentRef,
        now: Timestamp,
        fresh: bool,
    ) -> Result<(PaymentStatusResponse, Vec<Outgoing>), BridgeError> {
        let mut conn = self.lock();
        let Some(row) = Self::row(&conn, reference)? else {
            return Ok((Self::tombstone(&conn, reference, now)?, Vec::new()));
        };
        let answer = PaymentStatusResponse {
            reference: *reference,
            status: row.status(now, &self.config),
        };
        let mut out = Vec::new();
        if let Some(mut op) = row.op.filter(|_| fresh) {
            if let Some(need) = op.ask_now(now) {
                out.push(self.outgoing(&conn, &op, need, now)?);
                self.save(&mut conn, &op, now)?;
            }
        }
        Ok((answer, out))
    }

    /// Cancels a payment the terminal is still working on, by an Abort.
    pub fn cancel(
        &self,
        reference: &PaymentRef,
        now: Timestamp,
    ) -> Result<(CancelOutcome, Vec<Outgoing>), BridgeError> {
        let mut conn = self.lock();
        let Some(row) = Self::row(&conn, reference)? else {
            // Cancelling what never arrived: it never will.
            let never = Self::tombstone(&conn, reference, now)?;
            return Ok((CancelOutcome::NeverReceived(never), Vec::new()));
        };
        let status = row.status(now, &self.config);
        let answer = PaymentStatusResponse {
            reference: *reference,
            status: status.clone(),
        };
        if status == BridgeStatus::Cancelled {
            return Ok((CancelOutcome::Cancelled(answer), Vec::new()));
        }
        let Some(mut op) = row.op else {
            return Ok((CancelOutcome::TooLate(answer), Vec::new()));
        };
        match op.cancel() {
            Some(need) => {
                let out = self.outgoing(&conn, &op, need, now)?;
                self.save(&mut conn, &op, now)?;
                Ok((CancelOutcome::AbortSent, vec![out]))
            }
            None if status == BridgeStatus::Processing
                && op.refund_of.is_none()
                && !op.is_done() =>
            {
                // An Abort is already on its way.
                Ok((CancelOutcome::AbortSent, Vec::new()))
            }
            None => Ok((CancelOutcome::TooLate(answer), Vec::new())),
        }
    }

    /// What became of a request: journaled, and what follows is returned.
    pub fn answered(
        &self,
        sent: &Outgoing,
        result: CallResult,
        now: Timestamp,
    ) -> Result<Vec<Outgoing>, BridgeError> {
        let mut conn = self.lock();
        let Some(mut op) = Self::row(&conn, &sent.reference)?.and_then(|r| r.op) else {
            return Ok(Vec::new());
        };
        op.answered(sent.need, sent.sent_at, result, now, &self.config);
        let mut out = Vec::new();
        if let Some(need) = op.due(now) {
            out.push(self.outgoing(&conn, &op, need, now)?);
        }
        self.save(&mut conn, &op, now)?;
        Ok(out)
    }

    /// The status queries due at `now`, for every operation in doubt.
    pub fn tick(&self, now: Timestamp) -> Result<Vec<Outgoing>, BridgeError> {
        let mut conn = self.lock();
        let mut out = Vec::new();
        for (_, mut op) in Self::open_ops(&conn)? {
            if let Some(need) = op.due(now) {
                out.push(self.outgoing(&conn, &op, need, now)?);
                self.save(&mut conn, &op, now)?;
            }
        }
        Ok(out)
    }

    /// When [`Journal::tick`] next has a status to ask.
    pub fn next_wake(&self) -> Result<Option<Timestamp>, BridgeError> {
        let conn = self.lock();
        Ok(Self::open_ops(&conn)?
            .iter()
            .filter_map(|(_, op)| op.next_at())
            .min())
    }

    /// Whether the terminal has answered about this payment a status asked
    /// at or after `since` (or it needs no asking): what a Re-sync waits for.
    pub fn answered_since(
        &self,
        reference: &PaymentRef,
        since: Timestamp,
    ) -> Result<bool, BridgeError> {
        Ok(Self::row(&self.lock(), reference)?
            .and_then(|r| r.op)
            .is_none_or(|op| op.answered_since(since)))
    }

    /// The operation of a reference (for the simulator's checks and tests).
    pub fn operation(&self, reference: &PaymentRef) -> Result<Option<Operation>, BridgeError> {
        Ok(Self::row(&self.lock(), reference)?.and_then(|r| r.op))
    }
}
