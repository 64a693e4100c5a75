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
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Mutex;
use till_core::api::OrderLookup;

/// Schema migrations, applied in order on start; `PRAGMA user_version` is
/// the number applied. Never edit one that shipped: add the next.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE categories (position INTEGER PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE tax_rates (position INTEGER PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE products (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        register TEXT NOT NULL,
        business_date TEXT NOT NULL,
        number TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX orders_by_register_day ON orders (register, business_date, created_at);
    CREATE TABLE payments (
        reference TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX payments_by_order ON payments (order_id);
"#,
    r#"
    -- Every version an order was stored at, with who wrote it: the audit
    -- trail. Append-only: the triggers refuse any change or deletion.
    CREATE TABLE order_history (
        order_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        register TEXT NOT NULL,
        token TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (order_id, version)
    ) WITHOUT ROWID;
    INSERT INTO order_history (order_id, version, received_at, register, token, body)
        SELECT id, version, received_at, register, 'stored before the history was kept', body FROM orders;
    CREATE TRIGGER order_history_no_update BEFORE UPDATE ON order_history
        BEGIN SELECT RAISE(ABORT, 'the order history is append-only'); END;
    CREATE TRIGGER order_history_no_delete BEFORE DELETE ON order_history
        BEGIN SELECT RAISE(ABORT, 'the order history is append-only'); END;
"#,
];

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
        let applied: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?
            .try_into()
            .unwrap_or(0);
        if applied > MIGRATIONS.len() {
            return Err(StoreError(format!(
                "the database has schema version {applied}, newer than this till-oms ({}); upgrade till-oms",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
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

    fn payments_of(conn: &Connection, order_id: &str) -> Result<Vec<PaymentReport>, StoreError> {
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM payments WHERE order_id = ?1 ORDER BY received_at, reference",
        )?;
        let rows = stmt.query_map([order_id], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    fn stored_order(conn: &Connection, id: &str) -> Result<Option<StoredRow>, StoreError> {
        Ok(conn
            .prepare_cached("SELECT version, register, body FROM orders WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(StoredRow {
                    version: r.get(0)?,
                    register: r.get(1)?,
                    body: r.get(2)?,
                })
            })
            .optional()?)
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
            "INSERT INTO orders (id, register, business_date, number, version, created_at, received_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, received_at = excluded.received_at,
                 body = excluded.body, number = excluded.number,
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
            body
        ])?;
        tx.prepare_cached(
            "INSERT INTO order_history (order_id, version, received_at, register, token, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id,
            order.version,
            now.as_millis(),
            writer.register.as_str(),
            writer.token,
            body
        ])?;
        Ok(())
    }
}

/// An order's row, as the idempotency rule reads it.
struct StoredRow {
    version: u32,
    register: String,
    body: String,
}

impl StoredRow {
    fn as_version(&self) -> StoredVersion<'_> {
        StoredVersion {
            version: self.version,
            register: &self.register,
            body: &self.body,
        }
    }
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
    let total: i64 = conn.query_row("SELECT count(*) FROM products", [], |r| r.get(0))?;
    let currency = Currency::from_code(&currency).map_err(|e| StoreError(e.to_string()))?;
    Ok(Some(CatalogMeta {
        version,
        currency,
        products_total: total as u64,
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
        Ok(RawValue::from_string(format!("[{}]", bodies.join(",")))?)
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
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut hash = Sha256::new();
        tx.execute_batch("DELETE FROM categories; DELETE FROM tax_rates; DELETE FROM products;")?;
        for (i, c) in data.categories.iter().enumerate() {
            let body = serde_json::to_string(c)?;
            hash.update(body.as_bytes());
            tx.execute(
                "INSERT INTO categories (position, body) VALUES (?1, ?2)",
                params![i as i64, body],
            )?;
        }
        for (i, t) in data.tax_rates.iter().enumerate() {
            let body = serde_json::to_string(t)?;
            hash.update(body.as_bytes());
            tx.execute(
                "INSERT INTO tax_rates (position, body) VALUES (?1, ?2)",
                params![i as i64, body],
            )?;
        }
        {
            let mut ins = tx.prepare("INSERT INTO products (id, body) VALUES (?1, ?2)")?;
            for p in &data.products {
                let body = serde_json::to_string(p)?;
                hash.update(body.as_bytes());
                ins.execute(params![p.id.as_str(), body])?;
            }
        }
        hash.update(data.currency.code().as_bytes());
        let digest = hash.finalize();
        let version = format!(
            "c-{}",
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('catalog_version', ?1)",
            [&version],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('currency', ?1)",
            [data.currency.code()],
        )?;
        tx.commit()?;
        Ok(CatalogMeta {
            version,
            currency: data.currency,
            products_total: data.products.len() as u64,
        })
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
            let kept = match (outcome, stored) {
                (Upsert::Created | Upsert::Replaced, _) => {
                    Self::write_version(&tx, order, &body, writer, now)?;
                    order.clone()
                }
                (Upsert::Unchanged, _) => order.clone(),
                (_, Some(row)) => serde_json::from_str(&row.body)?,
                (_, None) => {
                    return Err(StoreError(format!(
                        "order {id}: {outcome:?} without a stored order"
                    )))
                }
            };
            let payments = Self::payments_of(&tx, &id)?;
            results.push(UpsertResult {
                outcome,
                stored: StoredOrder {
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
            })
        })
    }

    fn orders_of_day(
        &self,
        register: &RegisterId,
        date: BusinessDate,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, body FROM orders WHERE register = ?1 AND business_date = ?2 ORDER BY created_at, id",
            )?;
            let rows = stmt
                .query_map(params![register.as_str(), date.to_string()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (id, body) in rows {
                out.push(StoredOrder {
                    order: serde_json::from_str(&body)?,
                    payments: Self::payments_of(conn, &id)?,
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
                    PaymentWrite::Conflict(stored)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_stored_before_the_history_start_it() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO orders VALUES ('o1', 'R1', '2026-11-27', 'R1-20261127-0001', 3, 1, 2, '{}')",
            [],
        )
        .unwrap();
        let store = SqliteStore::setup(conn).unwrap();
        let row: (String, u32, String) = store
            .conn()
            .query_row(
                "SELECT order_id, version, token FROM order_history",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            ("o1".into(), 3, "stored before the history was kept".into())
        );
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
