//! The reports the bridge owes the back office: queued with each approval,
//! sent until acknowledged.

use super::*;

impl Journal {
    /// Reports due at `now`, oldest first.
    pub fn due_reports(&self, now: Timestamp) -> Result<Vec<PaymentReport>, BridgeError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM reports WHERE delivered_at IS NULL AND parked IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now.as_millis(), REPORTS_PER_ROUND as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// Records how a delivery went; `jitter` in 0..=1000.
    pub fn delivered(
        &self,
        reference: &PaymentRef,
        outcome: Delivery,
        now: Timestamp,
        jitter: u16,
    ) -> Result<(), BridgeError> {
        let conn = self.lock();
        let r = reference.to_string();
        match outcome {
            Delivery::Delivered => {
                conn.prepare_cached("UPDATE reports SET delivered_at = ?2, attempts = attempts + 1 WHERE reference = ?1")?
            .execute(params![r, now.as_millis()],
                )?;
            }
            Delivery::Parked(reason) => {
                tracing::error!("the OMS refused the report of payment {r}: {reason}");
                conn.prepare_cached(
                    "UPDATE reports SET parked = ?2, attempts = attempts + 1 WHERE reference = ?1",
                )?
                .execute(params![r, reason])?;
            }
            Delivery::Retry(reason) => {
                let attempts: u32 = conn
                    .prepare_cached("SELECT attempts FROM reports WHERE reference = ?1")?
                    .query_row([&r], |row| row.get(0))?;
                let next = now + backoff(attempts + 1, jitter);
                conn.prepare_cached("UPDATE reports SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE reference = ?1")?
            .execute(params![r, next.as_millis(), reason],
                )?;
            }
        }
        Ok(())
    }

    /// Reports not yet delivered (for the log and the tests).
    pub fn pending_reports(&self) -> Result<u64, BridgeError> {
        let n: i64 = self
            .lock()
            .prepare_cached(
                "SELECT count(*) FROM reports WHERE delivered_at IS NULL AND parked IS NULL",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(n as u64)
    }
}
