//! The store's local CA may issue only for the names it was made for, for
//! two years: its key, copied from a bridge PC, cannot impersonate another
//! website to the tablets that trust it.

use rcgen::{CertificateParams, Issuer, KeyPair, SanType};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use till_http::tls::{LocalCa, CA_CERT_FILE, CA_KEY_FILE, CA_YEARS};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "till-ca-{what}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A certificate for `sans` signed with the CA's key directly, as whoever
/// copied `ca-key.pem` would: `LocalCa::issue` would refuse these names.
fn forged(dir: &Path, sans: &[&str]) -> (PathBuf, PathBuf) {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let issuer = Issuer::from_ca_cert_pem(
        &read(CA_CERT_FILE),
        KeyPair::from_pem(&read(CA_KEY_FILE)).unwrap(),
    )
    .unwrap();
    let mut params = CertificateParams::default();
    params.subject_alt_names = sans
        .iter()
        .map(|n| match n.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(n.to_string().try_into().unwrap()),
        })
        .collect();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (cert_file, key_file) = (dir.join("forged.pem"), dir.join("forged-key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (cert_file, key_file)
}

/// Whether a client that trusts only `ca` completes a TLS handshake with
/// a server of this certificate, reached as 127.0.0.1.
async fn handshake(ca: &Path, cert: &Path, key: &Path) -> Result<(), String> {
    let acceptor = till_http::tls::acceptor(cert, key).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(tcp).await;
    });
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let done = connector
        .connect(name, tcp)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    server.abort();
    done
}

/// A CA certificate's excluded subtrees (their kinds) and its life in days.
fn constraints_of(pem: &str) -> (Vec<String>, i64) {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    let validity = cert.validity();
    let days = (validity.not_after.timestamp() - validity.not_before.timestamp()) / 86_400;
    let excluded = cert
        .name_constraints()
        .unwrap()
        .expect("name constraints")
        .value
        .excluded_subtrees
        .iter()
        .flatten()
        .map(|s| match &s.base {
            x509_parser::extensions::GeneralName::IPAddress(_) => "ip".to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    (excluded, days)
}

#[tokio::test]
async fn a_cas_key_cannot_vouch_for_any_other_name() {
    let dir = temp_dir("constrained");
    let ca =
        LocalCa::open_or_create(&dir, "Till test CA", &names(&["127.0.0.1", "pos.local"])).unwrap();
    assert_eq!(ca.permitted, Some(names(&["127.0.0.1", "pos.local"])));
    // Its own names: trusted.
    let issued = ca
        .issue("server", &names(&["127.0.0.1", "pos.local"]))
        .unwrap();
    handshake(&ca.cert_file(), &issued.cert, &issued.key)
        .await
        .unwrap();
    // Another name, through Till: refused, saying why.
    let refused = ca
        .issue("other", &names(&["127.0.0.1", "bank.example"]))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("may issue only for 127.0.0.1, pos.local"),
        "{refused}"
    );
    // Forged with the key itself: the tablets' TLS refuses the chain, for a
    // name or an address it does not permit.
    for sans in [
        &["127.0.0.1", "bank.example"][..],
        &["127.0.0.1", "10.1.2.3"][..],
    ] {
        let (cert, key) = forged(&dir, sans);
        let refused = handshake(&ca.cert_file(), &cert, &key).await;
        assert!(refused.is_err(), "{sans:?} was trusted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_ca_for_addresses_alone_permits_no_dns_name_and_one_for_names_alone_no_address() {
    let dir = temp_dir("addresses");
    let ca = LocalCa::open_or_create(&dir, "Till test CA", &names(&["127.0.0.1"])).unwrap();
    let (cert, key) = forged(&dir, &["127.0.0.1", "bank.example"]);
    assert!(handshake(&ca.cert_file(), &cert, &key).await.is_err());
    let (cert, key) = forged(&dir, &["127.0.0.1"]);
    handshake(&ca.cert_file(), &cert, &key).await.unwrap();

    let dir = temp_dir("names");
    LocalCa::open_or_create(&dir, "Till test CA", &names(&["pos.local"])).unwrap();
    let pem = std::fs::read_to_string(dir.join(CA_CERT_FILE)).unwrap();
    let (excluded, _) = constraints_of(&pem);
    assert!(excluded.iter().any(|n| n.starts_with("ip")), "{excluded:?}");
}
#[test]
fn a_ca_lives_two_years_and_renews_only_with_its_key_given_back() {
    let dir = temp_dir("renew");
    LocalCa::open_or_create(&dir, "Till test CA", &names(&["127.0.0.1"])).unwrap();
    let pem = std::fs::read_to_string(dir.join(CA_CERT_FILE)).unwrap();
    let (_, days) = constraints_of(&pem);
    assert!(days <= 365 * CA_YEARS + 2, "{days} days");
    assert_eq!(CA_YEARS, 2);

    // The key taken off the machine: no certificate can be issued.
    let away = dir.with_extension("key-away");
    std::fs::rename(dir.join(CA_KEY_FILE), &away).unwrap();
    let refused = LocalCa::open(&dir).err().expect("no key, no CA");
    assert!(
        refused.to_string().contains("put the CA's key back"),
        "{refused}"
    );
    // Given back: the same CA issues again, for its names.
    std::fs::rename(&away, dir.join(CA_KEY_FILE)).unwrap();
    let ca = LocalCa::open(&dir).unwrap();
    assert!(!ca.created);
    assert_eq!(ca.permitted, Some(names(&["127.0.0.1"])));
    ca.issue("bridge", &names(&["127.0.0.1"])).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
