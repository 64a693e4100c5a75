//! The journal's part of the PostgreSQL store.

use super::{millis, Attempt, PgStore};
use crate::auth::Writer;
use crate::store::journal::history_of;
use crate::store::journal::{
    decide_journal, head_of, JournalStore, KeyOutcome, Refusal, StoredEntry, Verdict,
};
use crate::store::registers::stored_register;
use crate::store::StoreError;
use deadpool_postgres::{GenericClient, Transaction};
use std::collections::HashMap;
use till_core::journal::{Entry, Head, PublicKey, RecordKind};
use till_core::order::RegisterId;
use till_core::time::Timestamp;

async fn key_of(
    conn: &impl GenericClient,
    register: &RegisterId,
) -> Result<Option<String>, tokio_postgres::Error> {
    let row = conn
        .query_opt(
            "SELECT public_key FROM register_keys WHERE register = $1",
            &[&register.as_str()],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

async fn head_in(
    conn: &impl GenericClient,
    register: &RegisterId,
) -> Result<Head, tokio_postgres::Error> {
    let row = conn
        .query_opt(
            "SELECT seq, hash FROM journal WHERE register = $1 ORDER BY seq DESC LIMIT 1",
            &[&register.as_str()],
        )
        .await?;
    Ok(head_of(row.map(|r| (r.get(0), r.get(1)))))
}

async fn write_verdict(
    tx: &Transaction<'_>,
    entry: &Entry,
    verdict: &Verdict,
    writer: &Writer,
    now: Timestamp,
) -> Result<(), Attempt> {
    let body = serde_json::to_string(entry)?;
    match verdict {
        Verdict::Stored => {
            tx.execute(
                "INSERT INTO journal (register, seq, time, kind, hash, received_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &entry.register.as_str(),
                    &(entry.seq as i64),
                    &millis(entry.time),
                    &entry.kind.as_str(),
                    &entry.hash,
                    &millis(now),
                    &body,
                ],
            )
            .await?;
        }
        Verdict::Refused(e) => {
            tx.execute(
                "INSERT INTO journal_refused (register, at_seq, seq, hash, reason, received_at, token, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                &[
                    &writer.register.as_str(),
                    &(e.seq as i64),
                    &(entry.seq as i64),
                    &entry.hash,
                    &e.to_string(),
                    &millis(now),
                    &writer.token,
                    &body,
                ],
            )
            .await?;
        }
        Verdict::AlreadyStored | Verdict::AfterBreak(_) => {}
    }
    Ok(())
}

async fn append_attempt(
    tx: &Transaction<'_>,
    register: &RegisterId,
    key: &PublicKey,
    entries: &[Entry],
    writer: &Writer,
    now: Timestamp,
) -> Result<Vec<Verdict>, Attempt> {
    let head = head_in(tx, register).await?;
    let seqs: Vec<i64> = entries
        .iter()
        .filter(|e| e.seq <= head.seq)
        .map(|e| e.seq as i64)
        .collect();
    let rows = tx
        .query(
            "SELECT seq, hash FROM journal WHERE register = $1 AND seq = ANY($2)",
            &[&register.as_str(), &seqs],
        )
        .await?;
    let stored: HashMap<u64, String> = rows
        .iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
        .collect();
    let verdicts = decide_journal(register, head, key, entries, |seq| {
        Ok(stored.get(&seq).cloned())
    })?;
    for (entry, verdict) in entries.iter().zip(&verdicts) {
        write_verdict(tx, entry, verdict, writer, now).await?;
    }
    Ok(verdicts)
}

impl JournalStore for PgStore {
    fn register_key(&self, register: &RegisterId) -> Result<Option<String>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            Ok(key_of(&conn, register).await?)
        })
    }

    fn set_register_key(
        &self,
        register: &RegisterId,
        key: &PublicKey,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<KeyOutcome, StoreError> {
        let encoded = key.encoded();
        self.wait(self.retrying("a journal key", async |tx| {
            Ok(match key_of(tx, register).await? {
                Some(k) if k == encoded => KeyOutcome::Same,
                Some(_) => KeyOutcome::Other,
                None => {
                    tx.execute(
                        "INSERT INTO register_keys (register, public_key, registered_at, token) VALUES ($1, $2, $3, $4)",
                        &[&register.as_str(), &encoded, &millis(now), &writer.token],
                    )
                    .await?;
                    KeyOutcome::Registered
                }
            })
        }))
    }

    fn journal_head(&self, register: &RegisterId) -> Result<Head, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            Ok(head_in(&conn, register).await?)
        })
    }

    fn append_journal(
        &self,
        register: &RegisterId,
        key: &PublicKey,
        entries: &[Entry],
        writer: &Writer,
        now: Timestamp,
    ) -> Result<Vec<Verdict>, StoreError> {
        self.wait(self.retrying("a journal batch", async |tx| {
            append_attempt(tx, register, key, entries, writer, now).await
        }))
    }

    fn journal_of(&self, register: &RegisterId) -> Result<Vec<StoredEntry>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let rows = conn
                .query(
                    "SELECT seq, body FROM journal WHERE register = $1 ORDER BY seq",
                    &[&register.as_str()],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| StoredEntry {
                    seq: r.get::<_, i64>(0) as u64,
                    body: r.get(1),
                })
                .collect())
        })
    }

    fn journal_registers(&self) -> Result<Vec<RegisterId>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let rows = conn
                .query(
                    "SELECT register FROM register_keys UNION SELECT DISTINCT register FROM journal ORDER BY 1",
                    &[],
                )
                .await?;
            rows.into_iter()
                .map(|r| stored_register(r.get(0)))
                .collect()
        })
    }

    fn journal_between(
        &self,
        registers: &[RegisterId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Entry>, StoreError> {
        let registers: Vec<&str> = registers.iter().map(RegisterId::as_str).collect();
        self.wait(self.bodies(
            "SELECT body FROM journal WHERE register = ANY($1) AND time >= $2 AND time < $3
             ORDER BY register, seq",
            &[&registers, &millis(from), &millis(to)],
        ))
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
        let sql = format!("SELECT body FROM {table} WHERE {column} = $1 AND version = $2");
        self.wait(async {
            let conn = self.conn().await?;
            let row = conn.query_opt(&sql, &[&id, &i64::from(version)]).await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn journal_refusals(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Refusal>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let rows = conn
                .query(
                    "SELECT register, at_seq, seq, reason, received_at, body FROM journal_refused
                     WHERE received_at >= $1 AND received_at < $2 ORDER BY register, at_seq, received_at",
                    &[&millis(from), &millis(to)],
                )
                .await?;
            rows.into_iter()
                .map(|r| {
                    Ok(Refusal {
                        register: stored_register(r.get(0))?,
                        at_seq: r.get::<_, i64>(1) as u64,
                        seq: r.get::<_, i64>(2) as u64,
                        reason: r.get(3),
                        received_at: Timestamp::from_millis(r.get(4)),
                        body: r.get(5),
                    })
                })
                .collect()
        })
    }
}

async fn lock_of(
    conn: &impl GenericClient,
    subject: &str,
) -> Result<till_core::staff::PinLock, Attempt> {
    let row = conn
        .query_opt(
            "SELECT state FROM pin_locks WHERE subject = $1 FOR UPDATE",
            &[&subject],
        )
        .await?;
    Ok(crate::store::pins::parse_lock(row.map(|r| r.get(0)))?)
}

async fn pin_attempt(
    tx: &Transaction<'_>,
    subjects: &[String],
    right: bool,
    now: Timestamp,
) -> Result<Result<(), till_core::staff::PinError>, Attempt> {
    let mut locks = Vec::new();
    for s in subjects {
        locks.push(lock_of(tx, s).await?);
    }
    let answer = crate::store::pins::enter_all(&mut locks, right, now);
    for (s, lock) in subjects.iter().zip(&locks) {
        tx.execute(
            "INSERT INTO pin_locks (subject, state, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (subject) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            &[s, &serde_json::to_string(lock)?, &millis(now)],
        )
        .await?;
    }
    Ok(answer)
}

impl crate::store::pins::PinStore for PgStore {
    fn pin_locked(
        &self,
        subjects: &[String],
        now: Timestamp,
    ) -> Result<Result<(), till_core::staff::PinError>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            for s in subjects {
                let row = conn
                    .query_opt("SELECT state FROM pin_locks WHERE subject = $1", &[s])
                    .await?;
                let lock = crate::store::pins::parse_lock(row.map(|r| r.get(0)))?;
                if let Err(e) = lock.check(now) {
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
        self.wait(self.retrying("a PIN try", async |tx| {
            pin_attempt(tx, subjects, right, now).await
        }))
    }
}
