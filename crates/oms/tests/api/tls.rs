//! The OMS's connections to PostgreSQL over TLS. The `pg` tier's cluster
//! serves TLS with a certificate for 127.0.0.1 from a CA of its own, and the
//! whole suite connects with `sslmode=require` trusting only that CA.

use crate::db::{POSTGRES_CA_ENV, POSTGRES_ENV};
use crate::helpers::*;
use std::path::PathBuf;
use till_oms::store::PgStore;

/// The cluster and its CA, in the `pg` tier.
fn cluster_with_tls() -> Option<(String, PathBuf)> {
    let cluster = std::env::var(POSTGRES_ENV).ok().filter(|c| !c.is_empty())?;
    let ca = std::env::var_os(POSTGRES_CA_ENV)?;
    Some((cluster, ca.into()))
}

#[tokio::test]
async fn asked_for_tls_the_oms_uses_nothing_else() {
    let Some(_) = cluster_with_tls() else {
        return; // SQLite: no database connection to secure.
    };
    let app = spawn_app().await;
    assert_eq!(app.put_order(&order(1)).await.status(), 200);
    let of_this_database = "FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
         WHERE a.datname = current_database() AND a.backend_type = 'client backend'";
    let tls = app.count(&format!("SELECT count(*) {of_this_database} AND s.ssl"));
    let plain = app.count(&format!("SELECT count(*) {of_this_database} AND NOT s.ssl"));
    assert!(tls >= 1, "the OMS's connections are TLS");
    assert_eq!(plain, 1, "the only plain one is this check's own");
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused_saying_why() {
    let Some((cluster, ca)) = cluster_with_tls() else {
        return; // SQLite: no database server to check.
    };
    // The certificate names 127.0.0.1; "localhost" is not in it.
    let url = format!(
        "{}/postgres?sslmode=require",
        cluster.replace("127.0.0.1", "localhost")
    );
    let refused = PgStore::connect(&url, 1, Some(&ca)).await.err().unwrap();
    assert!(refused.0.contains("certificate"), "{refused}");
}

#[tokio::test]
async fn a_ca_file_without_a_certificate_is_refused_before_connecting() {
    let dir = temp_dir("till-oms-ca");
    let not_a_ca = dir.join("ca.pem");
    std::fs::write(&not_a_ca, "not a certificate").unwrap();
    // Nothing listens at this address: the CA is read first.
    let url = "postgres://till@127.0.0.1:9/till?sslmode=require";
    let refused = PgStore::connect(url, 1, Some(&not_a_ca))
        .await
        .err()
        .unwrap();
    assert!(refused.0.contains("no certificate in it"), "{refused}");
}
