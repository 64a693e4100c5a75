//! The link to the card terminal: HTTPS to its `/nexo` endpoint, every
//! message sealed with the terminal's shared key.
//!
//! A store's terminal presents a certificate whose name is its `POIID`
//! (`V400m-324688179`), which no DNS on the LAN resolves; the bridge is
//! given its address by URL and its vendor's (or the store's) CA, and
//! accepts the terminal only when its certificate chains to that CA **and**
//! names the configured POIID, whatever address it was reached at.
//!
//! [`TerminalLink::send`] turns every way a call can end into a
//! [`CallResult`]: the decrypted answer; nothing sent (the connection was
//! refused or its TLS handshake failed); or sent and lost (a timeout, a
//! reset, an answer whose MAC does not verify or that is not the answer to
//! this request). What each means for the payment is the driver's call.

use crate::driver::CallResult;
use crate::journal::Outgoing;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error as TlsError, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;
use till_nexo::{Codec, Key};

/// How the bridge reaches its terminal.
#[derive(Clone)]
pub struct TerminalConfig {
    /// `https://192.168.1.30:8443/nexo`.
    pub url: String,
    /// The terminal's `model-serial`, as its certificate names it.
    pub poi_id: String,
    pub key_id: String,
    pub key_version: u32,
    /// The shared key's passphrase (from the environment or a file, never
    /// the command line).
    pub passphrase: String,
    /// The CA the terminal's certificate chains to (PEM).
    pub ca: PathBuf,
    /// Who the bridge is to the terminal (`SaleID`).
    pub sale_id: String,
    /// How long the terminal may work on a payment.
    pub timeout: till_core::time::Duration,
}

impl std::fmt::Debug for TerminalConfig {
    /// Never prints the passphrase.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalConfig")
            .field("url", &self.url)
            .field("poi_id", &self.poi_id)
            .field("key_id", &self.key_id)
            .field("key_version", &self.key_version)
            .field("ca", &self.ca)
            .field("sale_id", &self.sale_id)
            .finish_non_exhaustive()
    }
}

/// Verifies the terminal's certificate against its CA, for its POIID.
#[derive(Debug)]
struct PoiVerifier {
    inner: Arc<WebPkiServerVerifier>,
    poi: ServerName<'static>,
}

impl ServerCertVerifier for PoiVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        // The name in the URL is an address; the certificate must name the
        // terminal.
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.poi, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The TLS client of the link: the terminal's CA only, its POIID as name.
fn tls_config(config: &TerminalConfig) -> Result<rustls::ClientConfig, String> {
    let what = |e: &dyn std::fmt::Display| format!("terminal CA {}: {e}", config.ca.display());
    let pem = std::fs::read(&config.ca).map_err(|e| what(&e))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(&pem).map_err(|e| what(&e))? {
        roots.add(cert).map_err(|e| what(&e))?;
    }
    if roots.is_empty() {
        return Err(what(&"no certificate in the file"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| what(&e))?;
    let poi = ServerName::try_from(config.poi_id.clone())
        .map_err(|_| format!("POIID {:?} cannot be a certificate's name", config.poi_id))?;
    let verifier = PoiVerifier { inner, poi };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS to the terminal: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

fn rustls_pemfile_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the terminal's CA certificate: {e}"))
}

/// The bridge's HTTPS link to its terminal.
pub struct TerminalLink {
    url: String,
    codec: Codec,
    client: reqwest::Client,
}

impl TerminalLink {
    pub fn new(config: &TerminalConfig) -> Result<TerminalLink, String> {
        if !config.url.starts_with("https://") {
            return Err(format!(
                "--terminal-url {}: a terminal is reached over HTTPS (https://<address>:8443/nexo)",
                config.url
            ));
        }
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(config)?)
            .build()
            .map_err(|e| format!("the terminal's HTTP client: {e}"))?;
        let key = Key::derive(&config.passphrase, &config.key_id, config.key_version);
        Ok(TerminalLink {
            url: config.url.clone(),
            codec: Codec::new(key),
            client,
        })
    }

    /// Sends one request and says how it ended.
    pub async fn send(&self, out: &Outgoing) -> CallResult {
        let body = self.codec.seal_request(&out.request, rand::random());
        let sent = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(std::time::Duration::from_millis(out.timeout.as_millis()))
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_connect() => return CallResult::NotConnected(crate::reporter::why(&e)),
            Err(e) => return CallResult::Lost(crate::reporter::why(&e)),
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return CallResult::Lost(crate::reporter::why(&e)),
        };
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return CallResult::Lost(format!("the terminal answered HTTP {status}: {text}"));
        }
        if bytes.is_empty() {
            return CallResult::Empty;
        }
        self.read(out, &bytes)
    }

    /// The terminal's answer, once it opens, verifies and answers `out`.
    pub fn read(&self, out: &Outgoing, bytes: &[u8]) -> CallResult {
        read_answer(&self.codec, out, bytes)
    }
}

/// A body the terminal answered `out` with: the answer, once it opens (its
/// MAC verifies) and it answers this very request; otherwise the call is
/// as good as lost, and the payment is asked about.
pub fn read_answer(codec: &Codec, out: &Outgoing, bytes: &[u8]) -> CallResult {
    match codec.open_response(bytes) {
        Ok(r) if r.header.service_id == *out.service_id() => CallResult::Answered(Box::new(r)),
        Ok(r) => CallResult::Lost(format!(
            "the terminal answered ServiceID {} to request {}",
            r.header.service_id,
            out.service_id()
        )),
        Err(e) => {
            tracing::warn!(
                "payment {}: refused the terminal's answer: {e}",
                out.reference
            );
            CallResult::Lost(format!("the terminal's answer was refused: {e}"))
        }
    }
}
