//! The engine under test, and direct reads of what it stored.
//!
//! The suite runs on SQLite (the native tier) and on PostgreSQL (the `pg`
//! tier, which sets `TILL_TEST_POSTGRES` to a throw-away cluster's
//! `postgres://user@host:port`): the same tests, the engine a parameter.
//! On PostgreSQL every data folder gets a database of its own, named after
//! it, so a restart with the same folder finds the same data.

use std::path::Path;
use till_oms::{Database, DATABASE_FILE};

/// Set by the `pg` tier: the cluster to run the suite against.
pub const POSTGRES_ENV: &str = "TILL_TEST_POSTGRES";
/// Set by the `pg` tier too: the CA of the cluster's certificate. The OMS
/// then connects with `sslmode=require`: the whole suite runs over TLS.
pub const POSTGRES_CA_ENV: &str = "TILL_TEST_POSTGRES_CA";

fn tls_query() -> String {
    match std::env::var_os(POSTGRES_CA_ENV) {
        Some(_) => "?sslmode=require".into(),
        None => String::new(),
    }
}

/// The engine under test, for the data folder `data`.
pub fn database_for(data: &Path) -> Database {
    match std::env::var(POSTGRES_ENV) {
        Ok(cluster) if !cluster.is_empty() => Database::Postgres {
            url: format!("{}/{}", cluster.trim_end_matches('/'), name_for(data)) + &tls_query(),
            pool_size: 8,
            ca: std::env::var_os(POSTGRES_CA_ENV).map(Into::into),
        },
        _ => Database::Sqlite,
    }
}

/// A database name from a data folder's name (letters, digits and `_`).
fn name_for(data: &Path) -> String {
    let folder = data.file_name().and_then(|n| n.to_str()).unwrap_or("till");
    let name: String = folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    name.chars().take(63).collect()
}

/// A database URL without its `?sslmode=…`: the test's own connections
/// are plain.
fn without_options(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Creates the PostgreSQL database of `database` if it does not exist.
pub async fn create(database: &Database) {
    let Database::Postgres { url, .. } = database else {
        return;
    };
    let (cluster, name) = without_options(url)
        .rsplit_once('/')
        .expect("a database URL");
    let (client, conn) =
        tokio_postgres::connect(&format!("{cluster}/postgres"), tokio_postgres::NoTls)
            .await
            .expect("the test cluster answers");
    tokio::spawn(conn);
    let found = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap();
    if found.is_none() {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
    }
}

/// Runs SQL against what `database` stored, bypassing the OMS: the first
/// row's columns as text, or the engine's error message.
pub fn first_row(database: &Database, data: &Path, sql: &str) -> Result<Vec<String>, String> {
    match database {
        Database::Sqlite => sqlite_row(&data.join(DATABASE_FILE), sql),
        Database::Postgres { url, .. } => {
            let url = without_options(url).to_owned();
            let sql = sql.to_owned();
            // Its own thread and runtime: callers are sync code inside a
            // test's runtime.
            std::thread::spawn(move || postgres_row(&url, &sql))
                .join()
                .expect("the query thread")
        }
    }
}

fn sqlite_row(path: &Path, sql: &str) -> Result<Vec<String>, String> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let width = stmt.column_count();
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let Some(row) = rows.next().map_err(|e| e.to_string())? else {
        return Ok(Vec::new());
    };
    (0..width)
        .map(|i| {
            Ok(match row.get_ref(i).map_err(|e| e.to_string())? {
                ValueRef::Null => String::new(),
                ValueRef::Integer(n) => n.to_string(),
                ValueRef::Real(x) => x.to_string(),
                ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
            })
        })
        .collect()
}

fn postgres_row(url: &str, sql: &str) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let messages = client
            .simple_query(sql)
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_owned(),
                None => e.to_string(),
            })?;
        Ok(messages
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or_default().to_owned())
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default())
    })
}
