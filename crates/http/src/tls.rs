//! HTTPS for Till's servers on a store's LAN.
//!
//! A register is opened from an HTTPS origin (browsers give service
//! workers, Web Locks and persistent storage to secure origins only), so
//! the bridge it calls must be HTTPS too, or the browser blocks it as mixed
//! content. Both servers take a certificate and key in PEM files
//! ([`acceptor`]). A store with a DNS name of its own uses a certificate
//! issued for it; one without makes a small local CA ([`LocalCa`]), trusts
//! it once on each tablet, and issues the servers' certificates from it.

use crate::ServerError;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType,
};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
pub use tokio_rustls::TlsAcceptor;

/// A TLS acceptor for the certificate chain and key in these PEM files;
/// a missing file, a file with no certificate, a key that is not the
/// certificate's, each say so and which file.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServerError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(ServerError::Config(format!(
            "TLS certificate {}: no certificate in the file",
            cert.display()
        )));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("TLS key {}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            format!(
                "TLS key {} does not go with certificate {}: {e}",
                key.display(),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The CA's files in a folder: `ca.pem` (trusted on each tablet) and
/// `ca-key.pem` (stays on the machine that made it).
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// The names and addresses the CA may issue for, one per line: what its
/// name constraints permit.
const CA_NAMES_FILE: &str = "ca-names.txt";
/// How long a server certificate is valid: under the 398 days Apple's and
/// Google's clients accept for a server certificate.
const SERVER_CERT_DAYS: i64 = 397;
/// A CA lives 2 years: a key copied from a bridge PC stops being of use.
pub const CA_YEARS: i64 = 2;

/// How to trust a local CA on the store's tablets, printed beside it.
pub const TRUST_STEPS: &str = "\
Trust this CA once on each tablet (copy ca.pem to it: USB, mail or a download):
  Android:   Settings > Security > Encryption & credentials > Install a certificate > CA certificate
  iPad:      open the file, Settings > Profile Downloaded > Install; then
             Settings > General > About > Certificate Trust Settings: turn it on
  ChromeOS:  chrome://certificate-manager > Local certificates > Custom > Import
  Windows:   certutil -addstore Root ca.pem (as an administrator)
  Managed tablets: push ca.pem as a trusted root with the device policy.
The CA may issue only for the names it was made for (its name constraints),
so its key cannot impersonate any other website to these tablets.";

/// What to do with the CA's key once the certificates are issued.
pub const KEY_AWAY_STEPS: &str = "\
Now take ca-key.pem off this machine: copy it to a USB stick kept locked
away, then delete it here. The servers need only their certificate and key;
whoever copies ca-key.pem from this machine could issue certificates for the
store's names. To renew the certificate (every 397 days), put ca-key.pem back
and run `till-bridge tls renew`, then take it away again.";

/// A server certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A store's own small certificate authority, kept in a folder.
pub struct LocalCa {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    /// What its name constraints permit; `None` for a CA made before Till
    /// constrained its CAs (it may issue for any name).
    pub permitted: Option<Vec<String>>,
    /// Made by this call (tablets must trust it), not read from the folder.
    pub created: bool,
}

impl LocalCa {
    /// The CA in `dir`, made there first if the folder has none, for
    /// `names` alone (X.509 name constraints) and [`CA_YEARS`]. An existing
    /// CA is kept, with the names it was made for: the tablets that trust
    /// it go on trusting the certificates it issues next.
    pub fn open_or_create(
        dir: &Path,
        name: &str,
        names: &[String],
    ) -> Result<LocalCa, ServerError> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (cert, key) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        let created = !cert.exists();
        if created {
            let key_pair = KeyPair::generate()?;
            let ca = ca_params(name, names)?.self_signed(&key_pair)?;
            write_private(&key, &key_pair.serialize_pem())?;
            std::fs::write(&cert, ca.pem()).map_err(|e| format!("{}: {e}", cert.display()))?;
            let listed = dir.join(CA_NAMES_FILE);
            std::fs::write(&listed, names.join("\n") + "\n")
                .map_err(|e| format!("{}: {e}", listed.display()))?;
        }
        Self::load(dir, created)
    }

    /// The CA already in `dir`; its key must be there (given back).
    pub fn open(dir: &Path) -> Result<LocalCa, ServerError> {
        if !dir.join(CA_CERT_FILE).exists() {
            return Err(ServerError::Config(format!(
                "no CA in {}: make one with till-bridge tls init",
                dir.display()
            )));
        }
        Self::load(dir, false)
    }

    fn load(dir: &Path, created: bool) -> Result<LocalCa, ServerError> {
        let (cert, key) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        let read =
            |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        if !key.exists() {
            return Err(ServerError::Config(format!(
                "{} is not there: put the CA's key back into {} to issue a certificate",
                key.display(),
                dir.display()
            )));
        }
        let key_pair =
            KeyPair::from_pem(&read(&key)?).map_err(|e| format!("{}: {e}", key.display()))?;
        let issuer = Issuer::from_ca_cert_pem(&read(&cert)?, key_pair)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        let listed = dir.join(CA_NAMES_FILE);
        let permitted = listed
            .exists()
            .then(|| read(&listed))
            .transpose()?
            .map(|t| {
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            });
        Ok(LocalCa {
            dir: dir.to_owned(),
            issuer,
            permitted,
            created,
        })
    }

    /// The base64 SHA-256 of the CA's public key (SubjectPublicKeyInfo):
    /// what Chromium's `--ignore-certificate-errors-spki-list` takes, so a
    /// test browser trusts this CA alone without ignoring other errors.
    pub fn spki_sha256(&self) -> String {
        use base64::Engine;
        use sha2::Digest;
        let spki = rcgen::PublicKeyData::subject_public_key_info(self.issuer.key());
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki))
    }

    /// The CA certificate a tablet trusts.
    pub fn cert_file(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    /// Issues `<file>.pem` (the certificate and the CA's: the chain) and
    /// `<file>-key.pem` in the CA's folder for these names: DNS names and IP addresses, as a browser will ask for
    /// them.
    pub fn issue(&self, file: &str, names: &[String]) -> Result<Issued, ServerError> {
        if names.is_empty() {
            return Err("a certificate needs at least one name or address".into());
        }
        if let Some(permitted) = &self.permitted {
            if let Some(other) = names.iter().find(|n| !permitted.contains(n)) {
                return Err(ServerError::Config(format!(
                    "this CA may issue only for {} (its name constraints), not for {other}: \
                     make a new CA in another folder for other names",
                    permitted.join(", ")
                )));
            }
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_, _>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(SERVER_CERT_DAYS);
        let key_pair = KeyPair::generate()?;
        let cert = params.signed_by(&key_pair, &self.issuer)?;
        let issued = Issued {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}-key.pem")),
        };
        // The chain: the certificate, then the CA's, which a client that
        // trusts the CA does not need but a pinned test browser matches.
        let ca_pem = std::fs::read_to_string(self.cert_file())
            .map_err(|e| format!("{}: {e}", self.cert_file().display()))?;
        std::fs::write(&issued.cert, cert.pem() + &ca_pem)
            .map_err(|e| format!("{}: {e}", issued.cert.display()))?;
        write_private(&issued.key, &key_pair.serialize_pem())?;
        Ok(issued)
    }
}

fn ca_params(name: &str, names: &[String]) -> Result<CertificateParams, String> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Till local CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.name_constraints = Some(name_constraints(names)?);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365 * CA_YEARS);
    Ok(params)
}

/// Permits exactly these DNS names (and names under them, as X.509 has
/// it) and these addresses. A kind of name with none given is still
/// constrained: a constraint of one kind says nothing of another, so a CA
/// for addresses alone permits the DNS name `invalid` (which never
/// resolves), and one for DNS names alone excludes every address.
fn name_constraints(names: &[String]) -> Result<NameConstraints, String> {
    if names.is_empty() {
        return Err("a CA needs at least one name or address to issue for".into());
    }
    let mut permitted = Vec::new();
    for name in names {
        permitted.push(match san(name)? {
            SanType::IpAddress(ip) => {
                let bits = if ip.is_ipv4() { 32 } else { 128 };
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(ip, bits))
            }
            _ => GeneralSubtree::DnsName(name.clone()),
        });
    }
    let mut excluded = Vec::new();
    if !permitted
        .iter()
        .any(|p| matches!(p, GeneralSubtree::DnsName(_)))
    {
        permitted.push(GeneralSubtree::DnsName("invalid".into()));
    }
    if !permitted
        .iter()
        .any(|p| matches!(p, GeneralSubtree::IpAddress(_)))
    {
        excluded.push(GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix(
            [0; 4], 0,
        )));
        excluded.push(GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
            [0; 16], 0,
        )));
    }
    Ok(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: excluded,
    })
}

fn san(name: &str) -> Result<SanType, String> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    name.to_owned()
        .try_into()
        .map(SanType::DnsName)
        .map_err(|e| format!("{name:?} is neither an IP address nor a DNS name: {e}"))
}

/// A key file only its owner reads.
fn write_private(path: &Path, pem: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(pem.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Both servers' `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// The server's certificate chain (PEM), to serve HTTPS; with --tls-key.
    #[arg(long, env = "TILL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "TILL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The acceptor for the two files, which go together; `None` for
    /// plain HTTP.
    pub fn acceptor(&self) -> Result<Option<TlsAcceptor>, ServerError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => acceptor(cert, key).map(Some),
            (None, None) => Ok(None),
            _ => Err(ServerError::Config(
                "--tls-cert and --tls-key go together".into(),
            )),
        }
    }
}

/// A server's base URL: `https://address` when it serves TLS.
pub fn base_url(address: std::net::SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{address}")
}
