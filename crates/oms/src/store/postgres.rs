//! The PostgreSQL store: a chain's back office, with any number of OMS
//! processes in front of one database.
//!
//! tokio-postgres with a deadpool pool: the client is async, and the
//! [`Store`] trait is synchronous (the HTTP layer calls it on tokio's
//! blocking pool), so each method waits for its queries on that blocking
//! thread while the runtime's workers drive the connections.
//!
//! Several processes write at once, so every write is safe against the
//! others, not only against this process's own requests:
//! - an order batch locks the rows it reads (`FOR UPDATE`, in id order),
//!   inserts new orders with `ON CONFLICT DO NOTHING` and starts again when
//!   another process created one of them meanwhile; a deadlock or
//!   serialisation failure between two batches is retried here, never
//!   answered with a 500;
//! - a payment report is inserted with `ON CONFLICT DO NOTHING`, then the
//!   stored one is compared;
//! - catalog replacements and migrations take an advisory lock.
//!
//! `sslmode=require` in the URL makes every connection TLS (rustls), with
//! the server's certificate checked against the system's roots, or only
//! against the CA file given (`--database-ca`). Without it the connection
//! is plain TCP, for a database on loopback or a private network.
//!
//! Each batch is a handful of round trips whatever its size: the stored
//! rows, the payments and the writes each go as one statement over arrays.

use super::*;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Transaction,
};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use till_core::api::OrderLookup;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls};

#[path = "postgres_journal.rs"]
mod journal_part;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Advisory lock keys ("till" + a purpose), the same in every till-oms.
const MIGRATION_LOCK: i64 = 0x7469_6c6c_0000_0001;
const CATALOG_LOCK: i64 = 0x7469_6c6c_0000_0002;
/// Times a batch that lost a race with another process is tried again.
const ATTEMPTS: u32 = 20;
/// Products written per statement when a catalog is replaced.
const PRODUCT_CHUNK: usize = 5_000;
/// Connections of one process, unless told otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

pub struct PgStore {
    pool: Pool,
    runtime: tokio::runtime::Handle,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        match e.as_db_error() {
            Some(db) => StoreError(format!("postgres: {} ({})", db.message(), db.code().code())),
            None => {
                // The client's own words, then why (a TLS handshake's
                // certificate error, a refused connection).
                let mut message = format!("postgres: {e}");
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    message.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                StoreError(message)
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => {
                StoreError(format!("no database connection: {}", StoreError::from(e)))
            }
            e => StoreError(format!("no database connection: {e}")),
        }
    }
}

/// Why one attempt at a batch failed: a race to run again, or an error.
enum Attempt {
    Race,
    Failed(StoreError),
}

impl From<tokio_postgres::Error> for Attempt {
    fn from(e: tokio_postgres::Error) -> Attempt {
        let race = [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::UNIQUE_VIOLATION,
        ];
        match e.code() {
            Some(code) if race.contains(code) => Attempt::Race,
            _ => Attempt::Failed(e.into()),
        }
    }
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Attempt {
        Attempt::Failed(e)
    }
}

impl From<serde_json::Error> for Attempt {
    fn from(e: serde_json::Error) -> Attempt {
        Attempt::Failed(e.into())
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`), with at
    /// most `pool_size` connections, and migrates the database. With
    /// `sslmode=require`, over TLS checked against `ca` (a PEM file) or the
    /// system's roots. Call it on the runtime the store will be used from.
    pub async fn connect(
        url: &str,
        pool_size: usize,
        ca: Option<&Path>,
    ) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError(format!("the database URL: {e}")))?;
        let recycling = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.get_ssl_mode() {
            SslMode::Require => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(ca)?);
                Manager::from_config(config, tls, recycling)
            }
            _ => Manager::from_config(config, NoTls, recycling),
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError(format!("the database pool: {e}")))?;
        let store = PgStore {
            pool,
            runtime: tokio::runtime::Handle::current(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// One process at a time migrates; the others wait, then find nothing
    /// left to do.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let runner = embedded::migrations::runner().set_grouped(true);
        let known = runner.get_migrations().len() as i64;
        let client: &mut tokio_postgres::Client = &mut conn;
        let result = async {
            let recorded = client
                .query_one(
                    "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
                    &[],
                )
                .await?
                .get::<_, bool>(0);
            let applied = match recorded {
                true => runner
                    .get_last_applied_migration_async(client)
                    .await?
                    .map_or(0, |m| i64::from(m.version())),
                false => 0,
            };
            if applied > known {
                return Err(StoreError(format!(
                    "the database has schema version {applied}, newer than this till-oms ({known}); upgrade till-oms"
                )));
            }
            runner.run_async(client).await?;
            Ok(())
        }
        .await;
        conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        result
    }

    /// The stored body of `id` in `table` (refunds, shifts), parsed.
    async fn body_of<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!("SELECT body FROM {table} WHERE id = $1");
        match conn.query_opt(&sql, &[&id]).await? {
            Some(row) => Ok(Some(serde_json::from_str(row.get(0))?)),
            None => Ok(None),
        }
    }

    /// The bodies a query selects, parsed, in its order.
    async fn bodies<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn.query(sql, params).await?;
        rows.iter()
            .map(|row| Ok(serde_json::from_str(row.get(0))?))
            .collect()
    }

    /// Runs `f` to completion on this blocking thread.
    fn wait<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(f)
    }

    async fn conn(&self) -> Result<Object, StoreError> {
        Ok(self.pool.get().await?)
    }
}

/// What a TLS connection to the database trusts: the CA in `ca` (PEM), or
/// the system's roots.
fn tls_config(ca: Option<&Path>) -> Result<rustls::ClientConfig, StoreError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError(format!("the database CA {}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(StoreError(format!(
                    "the database CA {}: no certificate in it",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A read-only transaction in which every query sees one snapshot.
async fn snapshot(conn: &mut Object) -> Result<Transaction<'_>, StoreError> {
    Ok(conn
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

fn millis(t: Timestamp) -> i64 {
    t.as_millis()
}

/// A version as the database stores it, and back.
fn stored_version(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError(format!("a stored version is out of range: {v}")))
}

async fn catalog_meta_in(tx: &Transaction<'_>) -> Result<Option<CatalogMeta>, StoreError> {
    let rows = tx
        .query(
            "SELECT key, value FROM meta WHERE key IN ('catalog_version', 'currency', 'products_total')",
            &[],
        )
        .await?;
    let get = |key: &str| {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == key)
            .map(|r| r.get::<_, String>(1))
    };
    let (Some(version), Some(currency)) = (get("catalog_version"), get("currency")) else {
        return Ok(None);
    };
    let total = match get("products_total").and_then(|t| t.parse::<u64>().ok()) {
        Some(total) => total,
        // A catalog written before its size was kept.
        None => tx
            .query_one("SELECT count(*) FROM products", &[])
            .await?
            .get::<_, i64>(0) as u64,
    };
    let currency = Currency::from_code(&currency).map_err(|e| StoreError(e.to_string()))?;
    Ok(Some(CatalogMeta {
        version,
        currency,
        products_total: total,
    }))
}

async fn catalog_page_in(
    tx: &Transaction<'_>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Option<RawCatalogPage>, StoreError> {
    let Some(meta) = catalog_meta_in(tx).await? else {
        return Ok(None);
    };
    let bodies = |table: &'static str| async move {
        let sql = format!("SELECT body FROM {table} ORDER BY position");
        let rows = tx.query(&sql, &[]).await?;
        json_array(&rows.iter().map(|r| r.get(0)).collect::<Vec<String>>())
    };
    let categories = bodies("categories").await?;
    let tax_rates = bodies("tax_rates").await?;
    let rows = tx
        .query(
            "SELECT id, body FROM products WHERE id > $1 ORDER BY id LIMIT $2",
            &[&cursor.unwrap_or(""), &(limit as i64 + 1)],
        )
        .await?;
    let more = rows.len() > limit;
    let page = &rows[..rows.len().min(limit)];
    let products = page
        .iter()
        .map(|r| RawValue::from_string(r.get(1)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(RawCatalogPage {
        meta,
        categories,
        tax_rates,
        products,
        next_cursor: more.then(|| page.last().map(|r| r.get(0))).flatten(),
    }))
}

async fn replace_catalog_in(
    tx: &Transaction<'_>,
    data: &CatalogData,
    encoded: &EncodedCatalog,
) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CATALOG_LOCK])
        .await?;
    tx.batch_execute("DELETE FROM categories; DELETE FROM tax_rates; DELETE FROM products;")
        .await?;
    for (table, bodies) in [
        ("categories", &encoded.categories),
        ("tax_rates", &encoded.tax_rates),
    ] {
        let sql = format!(
            "INSERT INTO {table} (position, body)
             SELECT (n - 1)::int, b FROM unnest($1::text[]) WITH ORDINALITY AS t(b, n)"
        );
        tx.execute(&sql, &[bodies]).await?;
    }
    for chunk in encoded.products.chunks(PRODUCT_CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let bodies: Vec<&str> = chunk.iter().map(|(_, b)| b.as_str()).collect();
        tx.execute(
            "INSERT INTO products (id, body) SELECT * FROM unnest($1::text[], $2::text[])",
            &[&ids, &bodies],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO meta (key, value)
         VALUES ('catalog_version', $1), ('currency', $2), ('products_total', $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[
            &encoded.version,
            &data.currency.code(),
            &encoded.products.len().to_string(),
        ],
    )
    .await?;
    Ok(())
}

/// Every refund of these orders, by order, oldest first.
async fn refunds_of(
    tx: &Transaction<'_>,
    ids: &[String],
) -> Result<HashMap<String, Vec<Refund>>, StoreError> {
    bodies_by_order(
        tx,
        "SELECT order_id, body FROM refunds WHERE order_id = ANY($1) ORDER BY created_at, id",
        ids,
    )
    .await
}

/// The bodies a query returns as `(order_id, body)` rows, parsed and
/// grouped by order, in the query's order.
async fn bodies_by_order<T: serde::de::DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    ids: &[String],
) -> Result<HashMap<String, Vec<T>>, StoreError> {
    let rows = tx.query(sql, &[&ids]).await?;
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        let body = serde_json::from_str(row.get(1))?;
        out.entry(row.get(0)).or_default().push(body);
    }
    Ok(out)
}

/// Stores a refund: its order's row is locked first, so refunds of one
/// order are decided one at a time across processes.
/// The stored row of `id` in `table` (refunds, shifts), locked until the
/// transaction ends: the upsert that read it decides alone.
async fn stored_row(
    tx: &Transaction<'_>,
    table: &str,
    id: &str,
) -> Result<Option<StoredRow>, Attempt> {
    let sql = format!("SELECT version, register, body FROM {table} WHERE id = $1 FOR UPDATE");
    match tx.query_opt(&sql, &[&id]).await? {
        Some(row) => Ok(Some(StoredRow {
            version: stored_version(row.get(0))?,
            register: row.get(1),
            body: row.get(2),
        })),
        None => Ok(None),
    }
}

/// One try of a shift's upsert (the row locked while it is decided).
async fn shift_attempt(
    tx: &Transaction<'_>,
    shift: &Shift,
    writer: &Writer,
    now: Timestamp,
) -> Result<ShiftResult, Attempt> {
    let body = serde_json::to_string(shift)?;
    let id = shift.id.to_string();
    let stored = stored_row(tx, "shifts", &id).await?;
    let result = decide_shift(shift, &body, stored.as_ref())?;
    if result.writes() {
        tx.execute(
            "INSERT INTO shifts (id, register, version, opened_at, closed_at, received_at, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                 closed_at = excluded.closed_at, received_at = excluded.received_at,
                 body = excluded.body",
            &[
                &id,
                &shift.register.as_str(),
                &i64::from(shift.version),
                &millis(shift.opened_at),
                &shift.close.as_ref().map(|c| millis(c.at)),
                &millis(now),
                &body,
            ],
        )
        .await?;
        let version = i64::from(shift.version);
        write_history(tx, SHIFT_HISTORY, &id, version, writer, now, &body).await?;
    }
    Ok(result)
}

/// Appends one stored version of a refund or shift to its history (`sql`:
/// [`REFUND_HISTORY`] or [`SHIFT_HISTORY`]).
async fn write_history(
    tx: &Transaction<'_>,
    sql: &str,
    id: &str,
    version: i64,
    writer: &Writer,
    now: Timestamp,
    body: &str,
) -> Result<(), StoreError> {
    let register = writer.register.as_str();
    tx.execute(
        sql,
        &[&id, &version, &millis(now), &register, &writer.token, &body],
    )
    .await?;
    Ok(())
}

async fn refund_attempt(
    tx: &Transaction<'_>,
    refund: &Refund,
    writer: &Writer,
    now: Timestamp,
) -> Result<RefundResult, Attempt> {
    let body = serde_json::to_string(refund)?;
    let order_id = refund.order_id.map(|o| o.to_string());
    let order: Option<Order> = match &order_id {
        Some(order_id) => match tx
            .query_opt(
                "SELECT body FROM orders WHERE id = $1 FOR UPDATE",
                &[order_id],
            )
            .await?
        {
            Some(row) => Some(serde_json::from_str(row.get(0))?),
            None => None,
        },
        None => None,
    };
    let id = refund.id.to_string();
    let stored = stored_row(tx, "refunds", &id).await?;
    let others = match &order_id {
        Some(order_id) => refunds_of(tx, std::slice::from_ref(order_id))
            .await?
            .remove(order_id)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let result = decide_refund(refund, &body, stored.as_ref(), order.as_ref(), &others)?;
    if result.writes() {
        tx.execute(
            "INSERT INTO refunds (id, order_id, register, business_date, version, created_at, received_at, body, shift)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                 received_at = excluded.received_at, body = excluded.body, shift = excluded.shift",
            &[
                &id,
                &order_id,
                &refund.number.register().as_str(),
                &refund.number.date().to_string(),
                &i64::from(refund.version),
                &millis(refund.created_at),
                &millis(now),
                &body,
                &refund.shift.map(|s| s.to_string()),
            ],
        )
        .await?;
        let version = i64::from(refund.version);
        write_history(tx, REFUND_HISTORY, &id, version, writer, now, &body).await?;
    }
    Ok(result)
}

/// Every payment of these orders, by order, oldest first.
async fn payments_of(
    tx: &Transaction<'_>,
    ids: &[String],
) -> Result<HashMap<String, Vec<PaymentReport>>, StoreError> {
    bodies_by_order(
        tx,
        "SELECT order_id, body FROM payments WHERE order_id = ANY($1) ORDER BY received_at, reference",
        ids,
    )
    .await
}

/// One accepted version, waiting to be written with the rest of its batch.
struct Accepted<'a> {
    order: &'a Order,
    body: String,
}

/// What one batch writes: each order's last accepted version, and every
/// accepted version for the history.
#[derive(Default)]
struct Writes<'a> {
    history: Vec<Accepted<'a>>,
    /// Ids not in the database when the batch read it.
    new: std::collections::HashSet<String>,
}

impl<'a> Writes<'a> {
    /// Each order's last version in this batch, split into new and stored.
    fn rows(&self) -> (Vec<&Accepted<'a>>, Vec<&Accepted<'a>>) {
        let mut last: HashMap<String, &Accepted<'a>> = HashMap::new();
        for a in &self.history {
            last.insert(a.order.id.to_string(), a);
        }
        let mut rows: Vec<_> = last.into_iter().collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.into_iter()
            .map(|(_, a)| a)
            .partition(|a| self.new.contains(&a.order.id.to_string()))
    }
}

/// The columns of `orders` for these versions, as arrays for `unnest`.
struct OrderColumns<'a> {
    id: Vec<String>,
    register: Vec<&'a str>,
    date: Vec<String>,
    number: Vec<String>,
    version: Vec<i64>,
    created_at: Vec<i64>,
    body: Vec<&'a str>,
    shift: Vec<Option<String>>,
}

impl<'a> OrderColumns<'a> {
    fn of(rows: &[&'a Accepted<'a>]) -> OrderColumns<'a> {
        OrderColumns {
            id: rows.iter().map(|a| a.order.id.to_string()).collect(),
            register: rows.iter().map(|a| a.order.register().as_str()).collect(),
            date: rows
                .iter()
                .map(|a| a.order.number.date().to_string())
                .collect(),
            number: rows.iter().map(|a| a.order.number.to_string()).collect(),
            version: rows.iter().map(|a| i64::from(a.order.version)).collect(),
            created_at: rows.iter().map(|a| millis(a.order.created_at)).collect(),
            body: rows.iter().map(|a| a.body.as_str()).collect(),
            shift: rows
                .iter()
                .map(|a| a.order.shift.map(|s| s.to_string()))
                .collect(),
        }
    }
}

/// Writes a batch's accepted versions. A new order another process created
/// since this batch read is a race: the caller starts the batch again.
async fn write_batch(
    tx: &Transaction<'_>,
    writes: &Writes<'_>,
    writer: &Writer,
    now: Timestamp,
) -> Result<(), Attempt> {
    let (new, stored) = writes.rows();
    let now = millis(now);
    let c = OrderColumns::of(&new);
    let inserted = tx
        .execute(
            "INSERT INTO orders (id, register, business_date, number, version, created_at, received_at, body, shift)
             SELECT i, r, d, n, v, c, $8, b, s
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[], $9::text[])
                 AS t(i, r, d, n, v, c, b, s)
             ON CONFLICT (id) DO NOTHING",
            &[&c.id, &c.register, &c.date, &c.number, &c.version, &c.created_at, &c.body, &now, &c.shift],
        )
        .await?;
    if inserted as usize != new.len() {
        return Err(Attempt::Race);
    }
    let c = OrderColumns::of(&stored);
    tx.execute(
        "UPDATE orders o SET business_date = t.d, number = t.n, version = t.v,
             created_at = t.c, received_at = $7, body = t.b, shift = t.s
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $8::text[])
             AS t(i, d, n, v, c, b, s)
         WHERE o.id = t.i",
        &[
            &c.id,
            &c.date,
            &c.number,
            &c.version,
            &c.created_at,
            &c.body,
            &now,
            &c.shift,
        ],
    )
    .await?;
    let all: Vec<&Accepted> = writes.history.iter().collect();
    let c = OrderColumns::of(&all);
    tx.execute(
        "INSERT INTO order_history (order_id, version, received_at, register, token, body)
         SELECT i, v, $3, $4, $5, b FROM unnest($1::text[], $2::int8[], $6::text[]) AS t(i, v, b)",
        &[
            &c.id,
            &c.version,
            &now,
            &writer.register.as_str(),
            &writer.token,
            &c.body,
        ],
    )
    .await?;
    Ok(())
}

/// The stored rows of these orders, locked until the transaction ends
/// (taken in id order, so two batches wait for each other, not deadlock).
async fn lock_stored(
    tx: &Transaction<'_>,
    ids: &[String],
) -> Result<HashMap<String, StoredRow>, Attempt> {
    let rows = tx
        .query(
            "SELECT id, version, register, body FROM orders WHERE id = ANY($1)
             ORDER BY id FOR UPDATE",
            &[&ids],
        )
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let version = stored_version(row.get(1))?;
        out.insert(
            row.get(0),
            StoredRow {
                version,
                register: row.get(2),
                body: row.get(3),
            },
        );
    }
    Ok(out)
}

/// One attempt at a batch, in the transaction `tx`.
async fn upsert_attempt(
    tx: &Transaction<'_>,
    orders: &[Order],
    writer: &Writer,
    now: Timestamp,
) -> Result<Vec<UpsertResult>, Attempt> {
    let ids: Vec<String> = orders.iter().map(|o| o.id.to_string()).collect();
    let mut current = lock_stored(tx, &ids).await?;
    let mut writes = Writes::default();
    let mut decided = Vec::with_capacity(orders.len());
    for (order, id) in orders.iter().zip(&ids) {
        let body = serde_json::to_string(order)?;
        let stored = current.get(id);
        let outcome = decide(
            stored.map(StoredRow::as_version),
            writer.register.as_str(),
            order.version,
            &body,
        );
        let kept = kept_order(outcome, order, stored)?;
        if matches!(outcome, Upsert::Created | Upsert::Replaced) {
            if stored.is_none() {
                writes.new.insert(id.clone());
            }
            let row = StoredRow {
                version: order.version,
                register: order.register().as_str().to_owned(),
                body: body.clone(),
            };
            current.insert(id.clone(), row);
            writes.history.push(Accepted { order, body });
        }
        decided.push((outcome, kept));
    }
    write_batch(tx, &writes, writer, now).await?;
    let mut payments = payments_of(tx, &ids).await?;
    let mut refunds = refunds_of(tx, &ids).await?;
    Ok(decided
        .into_iter()
        .zip(&ids)
        .map(|((outcome, order), id)| UpsertResult {
            outcome,
            stored: StoredOrder {
                order,
                payments: payments.get_mut(id).map(std::mem::take).unwrap_or_default(),
                refunds: refunds.get_mut(id).map(std::mem::take).unwrap_or_default(),
            },
        })
        .collect())
}

impl PgStore {
    /// Runs `attempt` in a transaction until it commits without racing
    /// another writer (a deadlock, a serialisation failure, a row another
    /// process inserted first), at most [`ATTEMPTS`] times.
    async fn retrying<T>(
        &self,
        what: &str,
        attempt: impl AsyncFn(&Transaction<'_>) -> Result<T, Attempt>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn().await?;
        for n in 1..=ATTEMPTS {
            let tx = conn.transaction().await?;
            match attempt(&tx).await {
                Ok(results) => match tx.commit().await {
                    Ok(()) => return Ok(results),
                    Err(e) => match Attempt::from(e) {
                        Attempt::Race => {}
                        Attempt::Failed(e) => return Err(e),
                    },
                },
                Err(Attempt::Race) => tx.rollback().await?,
                Err(Attempt::Failed(e)) => return Err(e),
            }
            tracing::debug!("{what} raced another writer; attempt {n} again");
            tokio::time::sleep(Duration::from_millis(u64::from(n) * 5)).await;
        }
        Err(StoreError(format!(
            "{what} lost {ATTEMPTS} races with other writers in a row; try again"
        )))
    }

    async fn record_payment_async(
        &self,
        report: &PaymentReport,
        now: Timestamp,
    ) -> Result<PaymentWrite, StoreError> {
        let conn = self.conn().await?;
        let reference = report.reference.to_string();
        let inserted = conn
            .execute(
                "INSERT INTO payments (reference, order_id, received_at, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (reference) DO NOTHING",
                &[
                    &reference,
                    &report.order_id.to_string(),
                    &millis(now),
                    &serde_json::to_string(report)?,
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(PaymentWrite::Created);
        }
        let row = conn
            .query_one(
                "SELECT body FROM payments WHERE reference = $1",
                &[&reference],
            )
            .await?;
        let stored: PaymentReport = serde_json::from_str(row.get(0))?;
        Ok(if &stored == report {
            PaymentWrite::Unchanged
        } else {
            PaymentWrite::Conflict(Box::new(stored))
        })
    }

    async fn order_async(&self, id: &OrderId) -> Result<OrderLookup, StoreError> {
        let mut conn = self.conn().await?;
        let tx = snapshot(&mut conn).await?;
        let id = id.to_string();
        let order = match tx
            .query_opt("SELECT body FROM orders WHERE id = $1", &[&id])
            .await?
        {
            Some(row) => Some(serde_json::from_str(row.get(0))?),
            None => None,
        };
        let ids = std::slice::from_ref(&id);
        let mut payments = payments_of(&tx, ids).await?;
        let mut refunds = refunds_of(&tx, ids).await?;
        Ok(OrderLookup {
            order,
            payments: payments.remove(&id).unwrap_or_default(),
            refunds: refunds.remove(&id).unwrap_or_default(),
        })
    }

    async fn orders_of_day_async(
        &self,
        registers: &[RegisterId],
        date: BusinessDate,
        after: Option<&DayCursor>,
        limit: usize,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = snapshot(&mut conn).await?;
        let registers: Vec<&str> = registers.iter().map(RegisterId::as_str).collect();
        let (at, id) = match after {
            Some(c) => (c.created_at.as_millis(), c.id.to_string()),
            None => (i64::MIN, String::new()),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = tx
            .query(
                "SELECT id, body FROM orders
                 WHERE register = ANY($1) AND business_date = $2 AND (created_at, id) > ($3, $4)
                 ORDER BY created_at, id LIMIT $5",
                &[&registers, &date.to_string(), &at, &id, &limit],
            )
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let mut payments = payments_of(&tx, &ids).await?;
        let mut refunds = refunds_of(&tx, &ids).await?;
        rows.iter()
            .map(|r| {
                let id = r.get::<_, &str>(0);
                Ok(StoredOrder {
                    order: serde_json::from_str(r.get(1))?,
                    payments: payments.remove(id).unwrap_or_default(),
                    refunds: refunds.remove(id).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn order_history_async(&self, id: &OrderId) -> Result<Vec<HistoryEntry>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT version, received_at, register, token, body FROM order_history
                 WHERE order_id = $1 ORDER BY version",
                &[&id.to_string()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    version: stored_version(r.get(0))?,
                    received_at: Timestamp::from_millis(r.get(1)),
                    register: r.get(2),
                    token: r.get(3),
                    order: serde_json::from_str(r.get(4))?,
                })
            })
            .collect()
    }
}

impl PgStore {
    /// [`Store::enrol`]: the registers table is locked for the
    /// transaction, so two tablets enrolling at once get two ids.
    async fn enrol_async(
        &self,
        new: &registers::NewRegister,
        configured: &[RegisterId],
        now: Timestamp,
    ) -> Result<Result<RegisterId, registers::EnrolRefusal>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.batch_execute("LOCK TABLE registers IN EXCLUSIVE MODE")
            .await?;
        let found = tx
            .query_opt(
                "SELECT register, expires_at, used_at FROM enrolments
                 WHERE secret_sha256 = $1 FOR UPDATE",
                &[&new.secret_sha256],
            )
            .await?
            .map(|r| registers::stored_enrolment(r.get(0), r.get(1), r.get(2)))
            .transpose()?;
        let mut taken: std::collections::BTreeSet<RegisterId> =
            configured.iter().cloned().collect();
        for row in tx.query(registers::TAKEN_IDS, &[]).await? {
            taken.insert(registers::stored_register(row.get(0))?);
        }
        let decided = registers::decide_enrolment(found.as_ref(), &taken, now);
        if let Ok(id) = &decided {
            tx.execute(
                "UPDATE enrolments SET used_at = $2, used_by = $3 WHERE secret_sha256 = $1",
                &[&new.secret_sha256, &millis(now), &id.as_str()],
            )
            .await?;
            tx.execute(
                "INSERT INTO registers (id, token_sha256, fingerprint, enrolled_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &id.as_str(),
                    &new.token_sha256,
                    &new.fingerprint,
                    &millis(now),
                ],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(decided)
    }
}

impl Store for PgStore {
    fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        self.wait(self.body_of("products", id.as_str()))
    }

    fn catalog_meta(&self) -> Result<Option<CatalogMeta>, StoreError> {
        self.wait(async {
            let mut conn = self.conn().await?;
            let tx = snapshot(&mut conn).await?;
            catalog_meta_in(&tx).await
        })
    }

    fn catalog_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Option<RawCatalogPage>, StoreError> {
        // One snapshot: the page and the version it names belong together
        // even while another process replaces the catalog.
        self.wait(async {
            let mut conn = self.conn().await?;
            let tx = snapshot(&mut conn).await?;
            catalog_page_in(&tx, cursor, limit).await
        })
    }

    fn replace_catalog(&self, data: &CatalogData) -> Result<CatalogMeta, StoreError> {
        let encoded = EncodedCatalog::new(data)?;
        self.wait(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            replace_catalog_in(&tx, data, &encoded).await?;
            tx.commit().await?;
            Ok(encoded.meta(data.currency))
        })
    }

    fn upsert_orders(
        &self,
        orders: &[Order],
        writer: &Writer,
        now: Timestamp,
    ) -> Result<Vec<UpsertResult>, StoreError> {
        self.wait(self.retrying("an order batch", async |tx| {
            upsert_attempt(tx, orders, writer, now).await
        }))
    }

    fn order_history(&self, id: &OrderId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.wait(self.order_history_async(id))
    }

    fn order(&self, id: &OrderId) -> Result<OrderLookup, StoreError> {
        self.wait(self.order_async(id))
    }

    fn staff(&self, all: bool) -> Result<Vec<StaffRow>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let rows = conn
                .query(
                    "SELECT id, name, role, pin_hash, active, stores FROM staff
                     WHERE active OR $1 ORDER BY name, id",
                    &[&all],
                )
                .await?;
            rows.into_iter()
                .map(|r| staff_row(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect()
        })
    }

    fn add_staff(
        &self,
        m: &StaffMember,
        stores: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.wait(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            let inserted = tx
                .execute(
                    "INSERT INTO staff (id, name, role, pin_hash, active, created_at, stores)
                     VALUES ($1, $2, $3, $4, TRUE, $5, $6) ON CONFLICT (id) DO NOTHING",
                    &[
                        &m.id.as_str(),
                        &m.name,
                        &role_column(m.role),
                        &m.pin_hash,
                        &millis(now),
                        &stores_column(stores),
                    ],
                )
                .await?;
            if inserted == 0 {
                let row = tx
                    .query_one("SELECT name FROM staff WHERE id = $1", &[&m.id.as_str()])
                    .await?;
                return Err(staff_taken(&m.id, row.get(0)));
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn set_staff_active(
        &self,
        id: &StaffId,
        active: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.wait(async {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            let was = tx
                .query_opt(
                    "SELECT active FROM staff WHERE id = $1 FOR UPDATE",
                    &[&id.as_str()],
                )
                .await?;
            let Some(was) = was.map(|r| r.get::<_, bool>(0)) else {
                return Ok(false);
            };
            if was != active {
                tx.execute(
                    "UPDATE staff SET active = $2, inactive_since = $3 WHERE id = $1",
                    &[&id.as_str(), &active, &(!active).then(|| millis(now))],
                )
                .await?;
                tx.execute(
                    "INSERT INTO staff_changes (staff_id, at, active) VALUES ($1, $2, $3)",
                    &[&id.as_str(), &millis(now), &active],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    fn records_of_shift(&self, shift: &ShiftId) -> Result<(Vec<Order>, Vec<Refund>), StoreError> {
        let id = shift.to_string();
        self.wait(async {
            let orders = self
                .bodies("SELECT body FROM orders WHERE shift = $1", &[&id])
                .await?;
            let refunds = self
                .bodies("SELECT body FROM refunds WHERE shift = $1", &[&id])
                .await?;
            Ok((orders, refunds))
        })
    }

    fn known_registers(&self) -> Result<Vec<RegisterId>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let rows = conn.query(registers::TAKEN_IDS, &[]).await?;
            rows.into_iter()
                .map(|r| registers::stored_register(r.get(0)))
                .collect()
        })
    }

    fn set_staff_pin(&self, id: &StaffId, pin_hash: &str) -> Result<bool, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let n = conn
                .execute(
                    "UPDATE staff SET pin_hash = $2 WHERE id = $1",
                    &[&id.as_str(), &pin_hash],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn staff_standing(&self) -> Result<StaffList, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let changes = conn
                .query(
                    "SELECT staff_id, at, active FROM staff_changes ORDER BY staff_id, at, seq",
                    &[],
                )
                .await?;
            let changes = changes_by_staff(changes.iter().map(|r| (r.get(0), r.get(1), r.get(2))));
            let rows = conn
                .query("SELECT id, role, active, stores FROM staff", &[])
                .await?;
            rows.into_iter()
                .map(|r| {
                    let id: String = r.get(0);
                    let of = changes.get(&id).map_or(&[][..], Vec::as_slice);
                    standing_row(id, r.get(1), r.get(2), of, r.get(3))
                })
                .collect()
        })
    }

    fn refunds_of_day(
        &self,
        registers: &[RegisterId],
        date: BusinessDate,
    ) -> Result<Vec<Refund>, StoreError> {
        let registers: Vec<&str> = registers.iter().map(RegisterId::as_str).collect();
        self.wait(self.bodies(
            "SELECT body FROM refunds WHERE register = ANY($1) AND business_date = $2
             ORDER BY created_at, id",
            &[&registers, &date.to_string()],
        ))
    }

    fn shifts_opened(
        &self,
        registers: &[RegisterId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Shift>, StoreError> {
        let registers: Vec<&str> = registers.iter().map(RegisterId::as_str).collect();
        self.wait(self.bodies(
            "SELECT body FROM shifts WHERE register = ANY($1) AND opened_at >= $2 AND opened_at < $3
             ORDER BY opened_at, id",
            &[&registers, &millis(from), &millis(to)],
        ))
    }

    fn add_enrolment(
        &self,
        secret_sha256: &str,
        register: Option<&RegisterId>,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        self.wait(async {
            self.conn()
                .await?
                .execute(
                    "INSERT INTO enrolments (secret_sha256, register, created_at, expires_at)
                     VALUES ($1, $2, $3, $4)",
                    &[
                        &secret_sha256,
                        &register.map(RegisterId::as_str),
                        &millis(now),
                        &millis(expires),
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn enrol(
        &self,
        new: &registers::NewRegister,
        configured: &[RegisterId],
        now: Timestamp,
    ) -> Result<Result<RegisterId, registers::EnrolRefusal>, StoreError> {
        self.wait(self.enrol_async(new, configured, now))
    }

    fn registers(&self) -> Result<Vec<registers::RegisterRow>, StoreError> {
        self.wait(async {
            let conn = self.conn().await?;
            let rows = conn
                .query(
                    "SELECT id, enrolled_at, revoked_at, fingerprint FROM registers",
                    &[],
                )
                .await?
                .into_iter()
                .map(|r| registers::stored_register_row(r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let last = conn
                .query(
                    "SELECT register, MAX(received_at) FROM orders GROUP BY register",
                    &[],
                )
                .await?
                .into_iter()
                .map(|r| {
                    Ok((
                        registers::stored_register(r.get(0))?,
                        Timestamp::from_millis(r.get(1)),
                    ))
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
        self.wait(async {
            let n = self
                .conn()
                .await?
                .execute(registers::REVOKE, &[&id.as_str(), &millis(now)])
                .await?;
            Ok(match n {
                0 => registers::Revocation::AlreadyRevoked,
                _ => registers::Revocation::Revoked,
            })
        })
    }

    fn token_owner(&self, token_sha256: &str) -> Result<Option<registers::TokenOwner>, StoreError> {
        self.wait(async {
            let row = self
                .conn()
                .await?
                .query_opt(
                    "SELECT id, fingerprint, revoked_at IS NOT NULL FROM registers
                     WHERE token_sha256 = $1",
                    &[&token_sha256],
                )
                .await?;
            row.map(|r| {
                Ok(registers::TokenOwner {
                    id: registers::stored_register(r.get(0))?,
                    fingerprint: r.get::<_, Option<String>>(1).unwrap_or_default(),
                    revoked: r.get(2),
                })
            })
            .transpose()
        })
    }

    fn is_revoked(&self, id: &RegisterId) -> Result<bool, StoreError> {
        self.wait(async {
            let row = self
                .conn()
                .await?
                .query_opt(
                    "SELECT 1 FROM registers WHERE id = $1 AND revoked_at IS NOT NULL",
                    &[&id.as_str()],
                )
                .await?;
            Ok(row.is_some())
        })
    }

    fn refund(&self, id: &till_core::refund::RefundId) -> Result<Option<Refund>, StoreError> {
        self.wait(self.body_of("refunds", &id.to_string()))
    }

    fn orders_of_day(
        &self,
        registers: &[RegisterId],
        date: BusinessDate,
        after: Option<&DayCursor>,
        limit: usize,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        self.wait(self.orders_of_day_async(registers, date, after, limit))
    }

    fn record_payment(
        &self,
        report: &PaymentReport,
        now: Timestamp,
    ) -> Result<PaymentWrite, StoreError> {
        self.wait(self.record_payment_async(report, now))
    }

    fn upsert_refund(
        &self,
        refund: &Refund,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<RefundResult, StoreError> {
        self.wait(self.retrying("a refund", async |tx| {
            refund_attempt(tx, refund, writer, now).await
        }))
    }

    fn upsert_shift(
        &self,
        shift: &Shift,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<ShiftResult, StoreError> {
        self.wait(self.retrying("a shift", async |tx| {
            shift_attempt(tx, shift, writer, now).await
        }))
    }

    fn shift(&self, id: &ShiftId) -> Result<Option<Shift>, StoreError> {
        self.wait(self.body_of("shifts", &id.to_string()))
    }
}
