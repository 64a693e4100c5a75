//! The SQLite store: one file in the data folder, WAL, `synchronous=FULL`.
//!
//! WAL lets readers (catalog downloads, Register Sales) proceed while a batch
//! commits; `synchronous=FULL` makes every commit durable, which is the
//! point of a back office. One writer connection behind a mutex (SQLite has
//! one writer anyway, and a batch of 500 orders is one transaction), and a
//! pool of read-only connections beside it, so a catalog download never
//! waits for an ingest, nor an ingest for a download.

use super::*;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;
use till_core::api::OrderLookup;

#[path = "sqlite_journal.rs"]
mod journal_part;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// Applies the migrations this till-oms has and the database lacks, all in
/// one transaction. A database migrated before refinery kept its count in
/// `PRAGMA user_version`: those are recorded as applied, not run again. The
/// count stays in `user_version` too, for older till-oms to read.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let runner = embedded::migrations::runner().set_grouped(true);
    let known = runner.get_migrations().len() as i64;
    let counted: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let recorded = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    let applied = match recorded {
        true => runner
            .get_last_applied_migration(conn)?
            .map_or(0, |m| i64::from(m.version())),
        false => counted,
    };
    if applied > known {
        return Err(StoreError(format!(
            "the database has schema version {applied}, newer than this till-oms ({known}); upgrade till-oms"
        )));
    }
    if !recorded && counted > 0 {
        let version = i32::try_from(counted).unwrap_or(i32::MAX);
        embedded::migrations::runner()
            .set_target(refinery::Target::FakeVersion(version))
            .run(conn)?;
    }
    runner.run(conn)?;
    conn.pragma_update(None, "user_version", known)?;
    Ok(())
}

/// Read-only connections open at once beside the writer.
pub const READERS: u32 = 4;

type Readers = r2d2::Pool<SqliteConnectionManager>;

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// None for an in-memory database (each connection would be its own
    /// empty database): reads then go through the writer.
    readers: Option<Readers>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        let mut store = Self::setup(conn)?;
        store.readers = Some(Self::readers(path)?);
        Ok(store)
    }

    /// An in-memory database, for unit tests.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    /// The reader pool: opened after the migrations, refusing writes.
    fn readers(path: &Path) -> Result<Readers, StoreError> {
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                c.pragma_update(None, "query_only", "ON")?;
                c.busy_timeout(std::time::Duration::from_secs(5))
            });
        r2d2::Pool::builder()
            .max_size(READERS)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| StoreError(format!("opening the database's readers: {e}")))
    }

    /// Runs `f` in one read transaction: every query in it sees the same
    /// committed state, whatever commits meanwhile.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.readers {
            Some(pool) => {
                let mut conn = pool
                    .get()
                    .map_err(|e| StoreError(format!("no database reader free: {e}")))?;
                let tx = conn.transaction()?;
                let out = f(&tx)?;
                tx.finish()?;
                Ok(out)
            }
            None => f(&self.conn()),
        }
    }

    fn setup(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            readers: None,
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done SQLite
        // transaction (it rolls back on drop), so the connection is fine.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bodies of one order's rows of a table, parsed, in the query's order.
    fn bodies_of<T: serde::de::DeserializeOwned>(
        conn: &Connection,
        sql: &str,
        order_id: &str,
    ) -> Result<Vec<T>, StoreError> {
        Self::bodies_in(conn, sql, vec![order_id.to_owned().into()])
    }

    /// The bodies a query of `values` selects, parsed, in its order.
    fn bodies_in<T: serde::de::DeserializeOwned>(
        conn: &Connection,
        sql: &str,
        values: Vec<rusqlite::types::Value>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    fn payments_of(conn: &Connection, order_id: &str) -> Result<Vec<PaymentReport>, StoreError> {
        Self::bodies_of(
            conn,
            "SELECT body FROM payments WHERE order_id = ?1 ORDER BY received_at, reference",
            order_id,
        )
    }

    fn refunds_of(conn: &Connection, order_id: &str) -> Result<Vec<Refund>, StoreError> {
        Self::bodies_of(
            conn,
            "SELECT body FROM refunds WHERE order_id = ?1 ORDER BY created_at, id",
            order_id,
        )
    }

    /// A stored row by id, as the idempotency rule reads it (`table` is
    /// `orders` or `refunds`, never input).
    fn stored_row(
        conn: &Connection,
        table: &str,
        id: &str,
    ) -> Result<Option<StoredRow>, StoreError> {
        Ok(conn
            .prepare_cached(&format!(
                "SELECT version, register, body FROM {table} WHERE id = ?1"
            ))?
            .query_row([id], |r| {
                Ok(StoredRow {
                    version: r.get(0)?,
                    register: r.get(1)?,
                    body: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn stored_order(conn: &Connection, id: &str) -> Result<Option<StoredRow>, StoreError> {
        Self::stored_row(conn, "orders", id)
    }

    /// Appends one stored version of a record to its history (`sql`:
    /// [`ORDER_HISTORY`], [`REFUND_HISTORY`] or [`SHIFT_HISTORY`]).
    fn write_history(
        tx: &Connection,
        sql: &str,
        id: &str,
        version: u32,
        writer: &Writer,
        now: Timestamp,
        body: &str,
    ) -> Result<(), StoreError> {
        tx.prepare_cached(sql)?.execute(params![
            id,
            version,
            now.as_millis(),
            writer.register.as_str(),
            writer.token,
            body
        ])?;
        Ok(())
    }

    /// Writes one accepted version: the order's row and its history entry.
    fn write_version(
        tx: &Connection,
        order: &Order,
        body: &str,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let id = order.id.to_string();
        tx.prepare_cached(
            "INSERT INTO orders (id, register, business_date, number, version, created_at, received_at, body, shift)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, received_at = excluded.received_at,
                 body = excluded.body, number = excluded.number, shift = excluded.shift,
                 business_date = excluded.business_date, created_at = excluded.created_at",
        )?
        .execute(params![
            id,
            order.register().as_str(),
            order.number.date().to_string(),
            order.number.to_string(),
            order.version,
            order.created_at.as_millis(),
            now.as_millis(),
            body,
            order.shift.map(|s| s.to_string())
        ])?;
        Self::write_history(tx, ORDER_HISTORY, &id, order.version, writer, now, body)
    }
}

/// `?, ?, …`, one per register (at least one: `NULL` matches none).
fn marks(registers: &[RegisterId]) -> String {
    match registers.len() {
        0 => "NULL".to_owned(),
        n => vec!["?"; n].join(", "),
    }
}

fn register_values(registers: &[RegisterId]) -> Vec<rusqlite::types::Value> {
    registers
        .iter()
        .map(|r| r.as_str().to_owned().into())
        .collect()
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// The catalog's version, currency and size, as `conn` sees them.
fn catalog_meta_in(conn: &Connection) -> Result<Option<CatalogMeta>, StoreError> {
    let (Some(version), Some(currency)) = (
        meta_get(conn, "catalog_version")?,
        meta_get(conn, "currency")?,
    ) else {
        return Ok(None);
    };
    let total = match meta_get(conn, "products_total")?.and_then(|t| t.parse::<u64>().ok()) {
        Some(total) => total,
        // A catalog written before its size was kept.
        None => conn.query_row("SELECT count(*) FROM products", [], |r| r.get::<_, i64>(0))? as u64,
    };
    let currency = Currency::from_code(&currency).map_err(|e| StoreError(e.to_string()))?;
    Ok(Some(CatalogMeta {
        version,
        currency,
        products_total: total,
    }))
}

/// One page of products after `cursor`, with the catalog's meta.
fn catalog_page_in(
    conn: &Connection,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Option<RawCatalogPage>, StoreError> {
    let Some(meta) = catalog_meta_in(conn)? else {
        return Ok(None);
    };
    let join = |table: &str| -> Result<Box<RawValue>, StoreError> {
        let mut stmt = conn.prepare(&format!("SELECT body FROM {table} ORDER BY position"))?;
        let bodies = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        json_array(&bodies)
    };
    let categories = join("categories")?;
    let tax_rates = join("tax_rates")?;
    let mut stmt =
        conn.prepare_cached("SELECT id, body FROM products WHERE id > ?1 ORDER BY id LIMIT ?2")?;
    let mut rows = stmt.query(params![cursor.unwrap_or(""), (limit + 1) as i64])?;
    let mut products = Vec::with_capacity(limit);
    let mut last_id = None;
    let mut more = false;
    while let Some(row) = rows.next()? {
        if products.len() == limit {
            more = true;
            break;
        }
        last_id = Some(row.get::<_, String>(0)?);
        products.push(RawValue::from_string(row.get::<_, String>(1)?)?);
    }
    Ok(Some(RawCatalogPage {
        meta,
        categories,
        tax_rates,
        products,
        next_cursor: if more { last_id } else { None },
    }))
}

impl Store for SqliteStore {
    fn catalog_meta(&self) -> Result<Option<CatalogMeta>, StoreError> {
        self.read(catalog_meta_in)
    }

    fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        let body: Option<String> = self.read(|c| {
            Ok(c.prepare_cached("SELECT body FROM products WHERE id = ?1")?
                .query_row([id.as_str()], |r| r.get(0))
                .optional()?)
        })?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    fn catalog_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Option<RawCatalogPage>, StoreError> {
        // One read transaction: the page and the version it names belong
        // together even while the catalog is replaced.
        self.read(|conn| catalog_page_in(conn, cursor, limit))
    }

    fn replace_catalog(&self, data: &CatalogData) -> Result<CatalogMeta, StoreError> {
        let mut conn = self.conn();
        let encoded = EncodedCatalog::new(data)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch("DELETE FROM categories; DELETE FROM tax_rates; DELETE FROM products;")?;
        for (table, bodies) in [
            ("categories", &encoded.categories),
            ("tax_rates", &encoded.tax_rates),
        ] {
            let mut ins = tx.prepare(&format!(
                "INSERT INTO {table} (position, body) VALUES (?1, ?2)"
            ))?;
            for (i, body) in bodies.iter().enumerate() {
                ins.execute(params![i as i64, body])?;
            }
        }
        {
            let mut ins = tx.prepare("INSERT INTO products (id, body) VALUES (?1, ?2)")?;
            for (id, body) in &encoded.products {
                ins.execute(params![id, body])?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('catalog_version', ?1)",
            [&encoded.version],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('currency', ?1)",
            [data.currency.code()],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('products_total', ?1)",
            [encoded.products.len().to_string()],
        )?;
        tx.commit()?;
        Ok(encoded.meta(data.currency))
    }

    fn upsert_orders(
        &self,
        orders: &[Order],
        writer: &Writer,
        now: Timestamp,
    ) -> Result<Vec<UpsertResult>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(orders.len());
        for order in orders {
            let id = order.id.to_string();
            let body = serde_json::to_string(order)?;
            let stored = Self::stored_order(&tx, &id)?;
            let outcome = decide(
                stored.as_ref().map(StoredRow::as_version),
                writer.register.as_str(),
                order.version,
                &body,
            );
            if matches!(outcome, Upsert::Created | Upsert::Replaced) {
                Self::write_version(&tx, order, &body, writer, now)?;
            }
            let kept = kept_order(outcome, order, stored.as_ref())?;
            let payments = Self::payments_of(&tx, &id)?;
            results.push(UpsertResult {
                outcome,
                stored: StoredOrder {
                    refunds: Self::refunds_of(&tx, &id)?,
                    order: kept,
                    payments,
                },
            });
        }
        tx.commit()?;
        Ok(results)
    }

    fn order_history(&self, id: &OrderId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT version, received_at, register, token, body FROM order_history
                 WHERE order_id = ?1 ORDER BY version",
            )?;
            let rows = stmt
                .query_map([id.to_string()], |r| {
                    Ok((
                        r.get::<_, u32>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(version, at, register, token, body)| {
                    Ok(HistoryEntry {
                        version,
                        received_at: Timestamp::from_millis(at),
                        register,
                        token,
                        order: serde_json::from_str(&body)?,
                    })
                })
                .collect()
        })
    }

    fn staff(&self, all: bool) -> Result<Vec<StaffRow>, StoreError> {
        self.read(|conn| {
            let mut q = conn.prepare_cached(
                "SELECT id, name, role, pin_hash, active, stores FROM staff
                 WHERE active = 1 OR ?1 ORDER BY name, id",
            )?;
            let rows = q.query_map(params![all], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, role, hash, active, stores) = row?;
                out.push(staff_row(id, name, &role, hash, active, stores)?);
            }
            Ok(out)
        })
    }

    fn add_staff(
        &self,
        m: &StaffMember,
        stores: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: Option<String> = tx
            .query_row(
                "SELECT name FROM staff WHERE id = ?1",
                params![m.id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(name) = taken {
            return Err(staff_taken(&m.id, &name));
        }
        tx.execute(
            "INSERT INTO staff (id, name, role, pin_hash, active, created_at, stores)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
            params![
                m.id.as_str(),
                m.name,
                role_column(m.role),
                m.pin_hash,
                now.as_millis(),
                stores_column(stores)
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn set_staff_active(
        &self,
        id: &StaffId,
        active: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let was: Option<bool> = tx
            .query_row(
                "SELECT active FROM staff WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(was) = was else {
            return Ok(false);
        };
        if was != active {
            tx.execute(
                "UPDATE staff SET active = ?2, inactive_since = ?3 WHERE id = ?1",
                params![id.as_str(), active, (!active).then(|| now.as_millis())],
            )?;
            tx.execute(
                "INSERT INTO staff_changes (staff_id, at, active) VALUES (?1, ?2, ?3)",
                params![id.as_str(), now.as_millis(), active],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn records_of_shift(&self, shift: &ShiftId) -> Result<(Vec<Order>, Vec<Refund>), StoreError> {
        let id = || vec![shift.to_string().into()];
        self.read(|conn| {
            let orders = Self::bodies_in(conn, "SELECT body FROM orders WHERE shift = ?", id())?;
            let refunds = Self::bodies_in(conn, "SELECT body FROM refunds WHERE shift = ?", id())?;
            Ok((orders, refunds))
        })
    }

    fn known_registers(&self) -> Result<Vec<RegisterId>, StoreError> {
        self.read(|conn| {
            let mut q = conn.prepare_cached(registers::TAKEN_IDS)?;
            let ids = q
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids.into_iter().map(registers::stored_register).collect()
        })
    }

    fn set_staff_pin(&self, id: &StaffId, pin_hash: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE staff SET pin_hash = ?2 WHERE id = ?1",
            params![id.as_str(), pin_hash],
        )?;
        Ok(n == 1)
    }

    fn staff_standing(&self) -> Result<StaffList, StoreError> {
        self.read(|conn| {
            let changes = conn
                .prepare_cached(
                    "SELECT staff_id, at, active FROM staff_changes ORDER BY staff_id, at, rowid",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<(String, i64, bool)>, _>>()?;
            let changes = changes_by_staff(changes);
            let mut q = conn.prepare_cached("SELECT id, role, active, stores FROM staff")?;
            let rows = q
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, role, active, stores)| {
                    let of = changes.get(&id).map_or(&[][..], Vec::as_slice);
                    standing_row(id, &role, active, of, stores)
                })
                .collect()
        })
    }

    fn refunds_of_day(
        &self,
        registers: &[RegisterId],
        date: BusinessDate,
    ) -> Result<Vec<Refund>, StoreError> {
        let mut values = register_values(registers);
        values.push(date.to_string().into());
        let sql = format!(
            "SELECT body FROM refunds WHERE register IN ({}) AND business_date = ?
             ORDER BY created_at, id",
            marks(registers)
        );
        self.read(|conn| Self::bodies_in(conn, &sql, values))
    }

    fn shifts_opened(
        &self,
        registers: &[RegisterId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Shift>, StoreError> {
        let mut values = register_values(registers);
        values.extend([from.as_millis().into(), to.as_millis().into()]);
        let sql = format!(
            "SELECT body FROM shifts WHERE register IN ({}) AND opened_at >= ? AND opened_at < ?
             ORDER BY opened_at, id",
            marks(registers)
        );
        self.read(|conn| Self::bodies_in(conn, &sql, values))
    }

    fn add_enrolment(
        &self,
        secret_sha256: &str,
        register: Option<&RegisterId>,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO enrolments (secret_sha256, register, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                secret_sha256,
                register.map(RegisterId::as_str),
                now.as_millis(),
                expires.as_millis()
            ],
        )?;
        Ok(())
    }

    fn enrol(
        &self,
        new: &registers::NewRegister,
        configured: &[RegisterId],
        now: Timestamp,
    ) -> Result<Result<RegisterId, registers::EnrolRefusal>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = tx
            .query_row(
                "SELECT register, expires_at, used_at FROM enrolments WHERE secret_sha256 = ?1",
                params![new.secret_sha256],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .map(|(register, expires, used)| registers::stored_enrolment(register, expires, used))
            .transpose()?;
        let mut taken: std::collections::BTreeSet<RegisterId> =
            configured.iter().cloned().collect();
        let mut q = tx.prepare(registers::TAKEN_IDS)?;
        for id in q.query_map([], |r| r.get::<_, String>(0))? {
            taken.insert(registers::stored_register(id?)?);
        }
        drop(q);
        let decided = registers::decide_enrolment(found.as_ref(), &taken, now);
        if let Ok(id) = &decided {
            tx.execute(
                "UPDATE enrolments SET used_at = ?2, used_by = ?3 WHERE secret_sha256 = ?1",
                params![new.secret_sha256, now.as_millis(), id.as_str()],
            )?;
            tx.execute(
                "INSERT INTO registers (id, token_sha256, fingerprint, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    id.as_str(),
                    new.token_sha256,
                    new.fingerprint,
                    now.as_millis()
                ],
            )?;
            tx.commit()?;
        }
        Ok(decided)
    }

    fn registers(&self) -> Result<Vec<registers::RegisterRow>, StoreError> {
        self.read(|conn| {
            let mut q =
                conn.prepare("SELECT id, enrolled_at, revoked_at, fingerprint FROM registers")?;
            let rows = q
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .map(|row| {
                    let (id, enrolled, revoked, fingerprint) = row?;
                    registers::stored_register_row(id, enrolled, revoked, fingerprint)
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut q =
                conn.prepare("SELECT register, MAX(received_at) FROM orders GROUP BY register")?;
            let last = q
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .map(|row| {
                    let (id, at) = row?;
                    Ok((registers::stored_register(id)?, Timestamp::from_millis(at)))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(registers::merge_registers(rows, last))
        })
    }

    fn revoke_register(
        &self,
        id: &RegisterId,
        now: Timestamp,
    ) -> Result<registers::Revocation, StoreError> {
        let n = self
            .conn()
            .execute(registers::REVOKE, params![id.as_str(), now.as_millis()])?;
        Ok(match n {
            0 => registers::Revocation::AlreadyRevoked,
            _ => registers::Revocation::Revoked,
        })
    }

    fn token_owner(&self, token_sha256: &str) -> Result<Option<registers::TokenOwner>, StoreError> {
        self.read(|conn| {
            let found = conn
                .prepare_cached(
                    "SELECT id, fingerprint, revoked_at IS NOT NULL FROM registers
                     WHERE token_sha256 = ?1",
                )?
                .query_row(params![token_sha256], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get(2)?,
                    ))
                })
                .optional()?;
            found
                .map(|(id, fingerprint, revoked)| {
                    Ok(registers::TokenOwner {
                        id: registers::stored_register(id)?,
                        fingerprint: fingerprint.unwrap_or_default(),
                        revoked,
                    })
                })
                .transpose()
        })
    }

    fn is_revoked(&self, id: &RegisterId) -> Result<bool, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM registers WHERE id = ?1 AND revoked_at IS NOT NULL")?
                .exists(params![id.as_str()])?)
        })
    }

    fn refund(&self, id: &till_core::refund::RefundId) -> Result<Option<Refund>, StoreError> {
        self.read(
            |conn| match Self::stored_row(conn, "refunds", &id.to_string())? {
                Some(row) => Ok(Some(serde_json::from_str(&row.body)?)),
                None => Ok(None),
            },
        )
    }

    fn order(&self, id: &OrderId) -> Result<OrderLookup, StoreError> {
        self.read(|conn| {
            let id = id.to_string();
            let order = match Self::stored_order(conn, &id)? {
                Some(row) => Some(serde_json::from_str(&row.body)?),
                None => None,
            };
            Ok(OrderLookup {
                order,
                payments: Self::payments_of(conn, &id)?,
                refunds: Self::refunds_of(conn, &id)?,
            })
        })
    }

    fn orders_of_day(
        &self,
        registers: &[RegisterId],
        date: BusinessDate,
        after: Option<&DayCursor>,
        limit: usize,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        if registers.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let marks = vec!["?"; registers.len()].join(", ");
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT id, body FROM orders
                 WHERE register IN ({marks}) AND business_date = ?
                   AND (created_at > ? OR (created_at = ? AND id > ?))
                 ORDER BY created_at, id LIMIT ?"
            ))?;
            let (at, id) = match after {
                Some(c) => (c.created_at.as_millis(), c.id.to_string()),
                None => (i64::MIN, String::new()),
            };
            let mut values: Vec<rusqlite::types::Value> = registers
                .iter()
                .map(|r| r.as_str().to_owned().into())
                .collect();
            values.push(date.to_string().into());
            values.extend([at.into(), at.into(), id.into()]);
            values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
            let rows = stmt
                .query_map(rusqlite::params_from_iter(values), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (id, body) in rows {
                out.push(StoredOrder {
                    order: serde_json::from_str(&body)?,
                    payments: Self::payments_of(conn, &id)?,
                    refunds: Self::refunds_of(conn, &id)?,
                });
            }
            Ok(out)
        })
    }

    fn record_payment(
        &self,
        report: &PaymentReport,
        now: Timestamp,
    ) -> Result<PaymentWrite, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let reference = report.reference.to_string();
        let existing: Option<String> = tx
            .query_row(
                "SELECT body FROM payments WHERE reference = ?1",
                [&reference],
                |r| r.get(0),
            )
            .optional()?;
        let result = match existing {
            Some(body) => {
                let stored: PaymentReport = serde_json::from_str(&body)?;
                if &stored == report {
                    PaymentWrite::Unchanged
                } else {
                    PaymentWrite::Conflict(Box::new(stored))
                }
            }
            None => {
                tx.execute(
                    "INSERT INTO payments (reference, order_id, received_at, body) VALUES (?1, ?2, ?3, ?4)",
                    params![reference, report.order_id.to_string(), now.as_millis(), serde_json::to_string(report)?],
                )?;
                PaymentWrite::Created
            }
        };
        tx.commit()?;
        Ok(result)
    }

    fn upsert_shift(
        &self,
        shift: &Shift,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<ShiftResult, StoreError> {
        let body = serde_json::to_string(shift)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = Self::stored_row(&tx, "shifts", &shift.id.to_string())?;
        let result = decide_shift(shift, &body, stored.as_ref())?;
        if result.writes() {
            tx.prepare_cached(
                "INSERT INTO shifts (id, register, version, opened_at, closed_at, received_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                     closed_at = excluded.closed_at, received_at = excluded.received_at,
                     body = excluded.body",
            )?
            .execute(params![
                shift.id.to_string(),
                shift.register.as_str(),
                shift.version,
                shift.opened_at.as_millis(),
                shift.close.as_ref().map(|c| c.at.as_millis()),
                now.as_millis(),
                body
            ])?;
            let id = shift.id.to_string();
            Self::write_history(&tx, SHIFT_HISTORY, &id, shift.version, writer, now, &body)?;
        }
        tx.commit()?;
        Ok(result)
    }

    fn shift(&self, id: &ShiftId) -> Result<Option<Shift>, StoreError> {
        self.read(
            |conn| match Self::stored_row(conn, "shifts", &id.to_string())? {
                Some(row) => Ok(Some(serde_json::from_str(&row.body)?)),
                None => Ok(None),
            },
        )
    }

    fn upsert_refund(
        &self,
        refund: &Refund,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<RefundResult, StoreError> {
        let body = serde_json::to_string(refund)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let order_id = refund.order_id.map(|o| o.to_string());
        let order: Option<Order> = match &order_id {
            Some(id) => match Self::stored_order(&tx, id)? {
                Some(row) => Some(serde_json::from_str(&row.body)?),
                None => None,
            },
            None => None,
        };
        let stored = Self::stored_row(&tx, "refunds", &refund.id.to_string())?;
        let others = match &order_id {
            Some(id) => Self::refunds_of(&tx, id)?,
            None => Vec::new(),
        };
        let result = decide_refund(refund, &body, stored.as_ref(), order.as_ref(), &others)?;
        if result.writes() {
            tx.prepare_cached(
                "INSERT INTO refunds (id, order_id, register, business_date, version, created_at, received_at, body, shift)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                     received_at = excluded.received_at, body = excluded.body, shift = excluded.shift",
            )?
            .execute(params![
                refund.id.to_string(),
                order_id,
                refund.number.register().as_str(),
                refund.number.date().to_string(),
                refund.version,
                refund.created_at.as_millis(),
                now.as_millis(),
                body,
                refund.shift.map(|s| s.to_string())
            ])?;
            let id = refund.id.to_string();
            Self::write_history(&tx, REFUND_HISTORY, &id, refund.version, writer, now, &body)?;
        }
        tx.commit()?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_stored_before_the_history_start_it() {
        // A database of the first release: its one migration, counted in
        // user_version, before refinery kept the migrations.
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!(
            "../../migrations/sqlite/V1__catalog_orders_payments.sql"
        ))
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO orders VALUES ('o1', 'R1', '2026-11-27', 'R1-20261127-0001', 3, 1, 2, '{}'),
                 ('o2', 'R1', '2026-11-27', 'R1-20261127-0002', 1, 1, 2, '{\"shift\":\"s1\"}')",
            [],
        )
        .unwrap();
        let store = SqliteStore::setup(conn).unwrap();
        // The shift an order names became a column.
        let shifts: Vec<(String, Option<String>)> = store
            .conn()
            .prepare("SELECT id, shift FROM orders ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            shifts,
            [("o1".into(), None), ("o2".into(), Some("s1".into()))]
        );
        let row: (String, u32, String) = store
            .conn()
            .query_row(
                "SELECT order_id, version, token FROM order_history WHERE order_id = 'o1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            ("o1".into(), 3, "stored before the history was kept".into())
        );
        // Every migration is recorded for refinery (the first as adopted,
        // the rest as run), and counted as before.
        let conn = store.conn();
        let recorded: i64 = conn
            .query_row("SELECT count(*) FROM refinery_schema_history", [], |r| {
                r.get(0)
            })
            .unwrap();
        let counted: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        let known = embedded::migrations::runner().get_migrations().len() as i64;
        assert!(known >= 3, "the refunds migration is embedded");
        assert_eq!((recorded, counted), (known, known));
    }

    fn file_store() -> (SqliteStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "till-oms-store-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("oms.sqlite3")).unwrap();
        store
            .replace_catalog(&crate::demo::demo_catalog(Currency::EUR))
            .unwrap();
        (store, dir)
    }

    #[test]
    fn a_catalog_read_does_not_wait_for_the_writer() {
        let (store, dir) = file_store();
        let store = std::sync::Arc::new(store);
        // The writer is busy (a batch being ingested holds it)...
        let writer = store.conn();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        // ...and a catalog page is read meanwhile, on another thread.
        let (done, page) = std::sync::mpsc::channel();
        let reader = store.clone();
        std::thread::spawn(move || {
            let _ = done.send(reader.catalog_page(None, 10).map(|p| p.is_some()));
        });
        let read = page
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the catalog read waited for the writer");
        assert!(read.unwrap(), "no catalog page");
        writer.execute_batch("ROLLBACK").unwrap();
        drop(writer);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_catalog_written_before_its_size_was_kept_is_counted() {
        let (store, dir) = file_store();
        let written = store.catalog_meta().unwrap().unwrap();
        store
            .conn()
            .execute("DELETE FROM meta WHERE key = 'products_total'", [])
            .unwrap();
        let counted = store.catalog_meta().unwrap().unwrap();
        assert_eq!(counted, written);
        assert!(counted.products_total > 0);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_readers_cannot_write() {
        let (store, dir) = file_store();
        let refused = store.read(|c| {
            Ok(c.execute("DELETE FROM products", [])
                .map_err(|e| e.to_string()))
        });
        let message = refused.unwrap().expect_err("a reader deleted the catalog");
        assert!(message.contains("readonly"), "{message}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
