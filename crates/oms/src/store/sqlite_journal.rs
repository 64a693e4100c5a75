//! The journal's part of the SQLite store.

use super::SqliteStore;
use crate::auth::Writer;
use crate::store::journal::history_of;
use crate::store::journal::{
    decide_journal, head_of, JournalStore, KeyOutcome, Refusal, StoredEntry, Verdict,
};
use crate::store::registers::stored_register;
use crate::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use till_core::journal::{Entry, Head, PublicKey, RecordKind};
use till_core::order::RegisterId;
use till_core::time::Timestamp;

fn key_of(conn: &Connection, register: &RegisterId) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT public_key FROM register_keys WHERE register = ?1")?
        .query_row([register.as_str()], |r| r.get(0))
        .optional()?)
}

fn head_in(conn: &Connection, register: &RegisterId) -> Result<Head, StoreError> {
    let last = conn
        .prepare_cached(
            "SELECT seq, hash FROM journal WHERE register = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([register.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(head_of(last))
}

fn write_verdict(
    tx: &Connection,
    entry: &Entry,
    verdict: &Verdict,
    writer: &Writer,
    now: Timestamp,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(entry)?;
    let register = entry.register.as_str();
    match verdict {
        Verdict::Stored => {
            tx.prepare_cached(
                "INSERT INTO journal (register, seq, time, kind, hash, received_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                register,
                entry.seq as i64,
                entry.time.as_millis(),
                entry.kind.as_str(),
                entry.hash,
                now.as_millis(),
                body
            ])?;
        }
        Verdict::Refused(e) => {
            tx.prepare_cached(
                "INSERT INTO journal_refused (register, at_seq, seq, hash, reason, received_at, token, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                writer.register.as_str(),
                e.seq as i64,
                entry.seq as i64,
                entry.hash,
                e.to_string(),
                now.as_millis(),
                writer.token,
                body
            ])?;
        }
        Verdict::AlreadyStored | Verdict::AfterBreak(_) => {}
    }
    Ok(())
}

impl JournalStore for SqliteStore {
    fn register_key(&self, register: &RegisterId) -> Result<Option<String>, StoreError> {
        self.read(|c| key_of(c, register))
    }

    fn set_register_key(
        &self,
        register: &RegisterId,
        key: &PublicKey,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<KeyOutcome, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let encoded = key.encoded();
        let outcome = match key_of(&tx, register)? {
            Some(k) if k == encoded => KeyOutcome::Same,
            Some(_) => KeyOutcome::Other,
            None => {
                tx.execute(
                    "INSERT INTO register_keys (register, public_key, registered_at, token) VALUES (?1, ?2, ?3, ?4)",
                    params![register.as_str(), encoded, now.as_millis(), writer.token],
                )?;
                KeyOutcome::Registered
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn journal_head(&self, register: &RegisterId) -> Result<Head, StoreError> {
        self.read(|c| head_in(c, register))
    }

    fn append_journal(
        &self,
        register: &RegisterId,
        key: &PublicKey,
        entries: &[Entry],
        writer: &Writer,
        now: Timestamp,
    ) -> Result<Vec<Verdict>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head = head_in(&tx, register)?;
        let verdicts = decide_journal(register, head, key, entries, |seq| {
            Ok(tx
                .prepare_cached("SELECT hash FROM journal WHERE register = ?1 AND seq = ?2")?
                .query_row(params![register.as_str(), seq as i64], |r| r.get(0))
                .optional()?)
        })?;
        for (entry, verdict) in entries.iter().zip(&verdicts) {
            write_verdict(&tx, entry, verdict, writer, now)?;
        }
        tx.commit()?;
        Ok(verdicts)
    }

    fn journal_of(&self, register: &RegisterId) -> Result<Vec<StoredEntry>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT seq, body FROM journal WHERE register = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([register.as_str()], |r| {
                Ok(StoredEntry {
                    seq: r.get::<_, i64>(0)? as u64,
                    body: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn journal_registers(&self) -> Result<Vec<RegisterId>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT register FROM register_keys UNION SELECT DISTINCT register FROM journal ORDER BY 1",
            )?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
            ids.map(|id| stored_register(id?)).collect()
        })
    }

    fn journal_between(
        &self,
        registers: &[RegisterId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut values = super::register_values(registers);
        values.extend([from.as_millis().into(), to.as_millis().into()]);
        let sql = format!(
            "SELECT body FROM journal WHERE register IN ({}) AND time >= ? AND time < ?
             ORDER BY register, seq",
            super::marks(registers)
        );
        self.read(|conn| Self::bodies_in(conn, &sql, values))
    }

    fn record_version(
        &self,
        kind: RecordKind,
        id: &str,
        version: u32,
    ) -> Result<Option<String>, StoreError> {
        let Some((table, column)) = history_of(kind) else {
            return Ok(None);
        };
        let sql = format!("SELECT body FROM {table} WHERE {column} = ?1 AND version = ?2");
        self.read(|c| {
            Ok(c.prepare_cached(&sql)?
                .query_row(params![id, version], |r| r.get(0))
                .optional()?)
        })
    }

    fn journal_refusals(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Refusal>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT register, at_seq, seq, reason, received_at, body FROM journal_refused
                 WHERE received_at >= ?1 AND received_at < ?2 ORDER BY register, at_seq, received_at",
            )?;
            let rows = stmt.query_map(params![from.as_millis(), to.as_millis()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get(3)?,
                    r.get::<_, i64>(4)?,
                    r.get(5)?,
                ))
            })?;
            rows.map(|row| {
                let (register, at_seq, seq, reason, at, body) = row?;
                Ok(Refusal {
                    register: stored_register(register)?,
                    at_seq: at_seq as u64,
                    seq: seq as u64,
                    reason,
                    received_at: Timestamp::from_millis(at),
                    body,
                })
            })
            .collect()
        })
    }
}

impl crate::store::pins::PinStore for SqliteStore {
    fn pin_locked(
        &self,
        subjects: &[String],
        now: Timestamp,
    ) -> Result<Result<(), till_core::staff::PinError>, StoreError> {
        self.read(|c| {
            for s in subjects {
                if let Err(e) = lock_of(c, s)?.check(now) {
                    return Ok(Err(e));
                }
            }
            Ok(Ok(()))
        })
    }

    fn pin_entered(
        &self,
        subjects: &[String],
        right: bool,
        now: Timestamp,
    ) -> Result<Result<(), till_core::staff::PinError>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut locks = subjects
            .iter()
            .map(|s| lock_of(&tx, s))
            .collect::<Result<Vec<_>, _>>()?;
        let answer = crate::store::pins::enter_all(&mut locks, right, now);
        for (s, lock) in subjects.iter().zip(&locks) {
            tx.prepare_cached(
                "INSERT INTO pin_locks (subject, state, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            )?
            .execute(params![s, serde_json::to_string(lock)?, now.as_millis()])?;
        }
        tx.commit()?;
        Ok(answer)
    }
}

fn lock_of(c: &Connection, subject: &str) -> Result<till_core::staff::PinLock, StoreError> {
    let state = c
        .prepare_cached("SELECT state FROM pin_locks WHERE subject = ?1")?
        .query_row([subject], |r| r.get(0))
        .optional()?;
    crate::store::pins::parse_lock(state)
}
