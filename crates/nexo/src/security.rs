//! The local integration's encryption: every message on the LAN is a
//! secured envelope, keyed by a passphrase the terminal and the bridge
//! share.
//!
//! ```text
//! {"SaleToPOIRequest": {
//!    "MessageHeader": {... in clear ...},
//!    "NexoBlob": base64(AES-256-CBC(whole message, PKCS#7, IV = derived IV ^ nonce)),
//!    "SecurityTrailer": {"AdyenCryptoVersion": 1, "KeyIdentifier", "KeyVersion",
//!                        "Nonce": base64(16 random bytes), "Hmac": base64(HMAC-SHA256(message))}}}
//! ```
//!
//! The keys come from the passphrase by PBKDF2-HMAC-SHA1 (salt
//! `AdyenNexoV1Salt`, 4000 iterations, 80 bytes: 32 for the HMAC, 32 for
//! AES, 16 for the IV). A receiver decrypts, then checks the MAC of the
//! plaintext in constant time, and refuses the message when it differs;
//! the header in clear must also be the header inside, so nobody can
//! reroute an answer by editing what is not encrypted. Nothing is acted on
//! before all of that holds.
//!
//! The primitives are RustCrypto's (`pbkdf2`, `hmac`, `sha1`, `sha2`,
//! `aes`, `cbc`); the nonce is passed in by the caller (sans-IO: the
//! bridge draws it from the OS, the simulator from its seed).

use crate::message::{MessageError, MessageHeader, Request, Response};
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use thiserror::Error;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

/// The PBKDF2 salt of the local integration's key derivation.
pub const KEY_SALT: &[u8] = b"AdyenNexoV1Salt";
/// PBKDF2 iterations of the key derivation.
pub const KEY_ROUNDS: u32 = 4000;
/// The only crypto version there is.
pub const CRYPTO_VERSION: u32 = 1;
/// Largest envelope read: a payment answer with receipts is a few KB.
pub const ENVELOPE_MAX_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NexoError {
    #[error("not a secured nexo message: {0}")]
    Envelope(String),
    #[error("the message is sealed with key {id:?} version {version}, not this terminal's")]
    UnknownKey { id: String, version: u32 },
    #[error("the message cannot be decrypted: {0}")]
    Crypto(&'static str),
    #[error("the message's Hmac does not verify: refused")]
    Mac,
    #[error("the header in clear is not the message's own")]
    HeaderMismatch,
    #[error(transparent)]
    Message(#[from] MessageError),
}

/// The shared key of a terminal, derived from its passphrase.
#[derive(Clone)]
pub struct Key {
    id: String,
    version: u32,
    hmac: [u8; 32],
    cipher: [u8; 32],
    iv: [u8; 16],
}

impl fmt::Debug for Key {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// Derives the keys from the passphrase set on the terminal.
    pub fn derive(passphrase: &str, id: &str, version: u32) -> Key {
        let mut out = [0u8; 80];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(passphrase.as_bytes(), KEY_SALT, KEY_ROUNDS, &mut out);
        let mut key = Key {
            id: id.to_owned(),
            version,
            hmac: [0; 32],
            cipher: [0; 32],
            iv: [0; 16],
        };
        key.hmac.copy_from_slice(&out[..32]);
        key.cipher.copy_from_slice(&out[32..64]);
        key.iv.copy_from_slice(&out[64..]);
        key
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The derived parts (HMAC key, AES key, IV), for known-answer tests.
    pub fn parts(&self) -> (&[u8; 32], &[u8; 32], &[u8; 16]) {
        (&self.hmac, &self.cipher, &self.iv)
    }

    fn iv_for(&self, nonce: &[u8; 16]) -> [u8; 16] {
        let mut iv = self.iv;
        for (b, n) in iv.iter_mut().zip(nonce) {
            *b ^= n;
        }
        iv
    }

    fn mac(&self, plaintext: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.hmac).expect("HMAC takes any key length");
        mac.update(plaintext);
        mac
    }

    /// Encrypts and MACs `plaintext` (the whole message's JSON) into the
    /// envelope sent on the wire.
    fn seal(
        &self,
        plaintext: &[u8],
        header: &MessageHeader,
        outer: Outer,
        nonce: [u8; 16],
    ) -> Vec<u8> {
        let blob = Aes256CbcEnc::new(&self.cipher.into(), &self.iv_for(&nonce).into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        let hmac = self.mac(plaintext).finalize().into_bytes();
        let inner = SecuredInner {
            header: header.clone(),
            blob: BASE64.encode(blob),
            trailer: SecurityTrailer {
                crypto_version: CRYPTO_VERSION,
                key_id: self.id.clone(),
                key_version: self.version,
                nonce: BASE64.encode(nonce),
                hmac: BASE64.encode(hmac),
            },
        };
        let envelope = match outer {
            Outer::Request => Envelope {
                request: Some(inner),
                response: None,
            },
            Outer::Response => Envelope {
                request: None,
                response: Some(inner),
            },
        };
        serde_json::to_vec(&envelope).expect("an envelope serializes")
    }

    /// Opens an envelope: the plaintext, once it decrypts, its MAC verifies
    /// (in constant time) and its header is the one in clear.
    fn open(&self, bytes: &[u8], outer: Outer) -> Result<(MessageHeader, Vec<u8>), NexoError> {
        if bytes.len() > ENVELOPE_MAX_BYTES {
            return Err(NexoError::Envelope(format!(
                "larger than {ENVELOPE_MAX_BYTES} bytes"
            )));
        }
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| NexoError::Envelope(e.to_string()))?;
        let inner = match (outer, envelope.request, envelope.response) {
            (Outer::Request, Some(i), None) | (Outer::Response, None, Some(i)) => i,
            _ => return Err(NexoError::Envelope(format!("not a {outer:?}"))),
        };
        let t = &inner.trailer;
        if t.key_id != self.id || t.key_version != self.version {
            return Err(NexoError::UnknownKey {
                id: t.key_id.clone(),
                version: t.key_version,
            });
        }
        if t.crypto_version != CRYPTO_VERSION {
            return Err(NexoError::Crypto("unknown AdyenCryptoVersion"));
        }
        let nonce: [u8; 16] = BASE64
            .decode(&t.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(NexoError::Crypto("the nonce is not 16 bytes of base64"))?;
        let hmac = BASE64
            .decode(&t.hmac)
            .map_err(|_| NexoError::Crypto("the Hmac is not base64"))?;
        let blob = BASE64
            .decode(&inner.blob)
            .map_err(|_| NexoError::Crypto("the NexoBlob is not base64"))?;
        let plaintext = Aes256CbcDec::new(&self.cipher.into(), &self.iv_for(&nonce).into())
            .decrypt_padded_vec_mut::<Pkcs7>(&blob)
            .map_err(|_| NexoError::Mac)?;
        self.mac(&plaintext)
            .verify_slice(&hmac)
            .map_err(|_| NexoError::Mac)?;
        Ok((inner.header, plaintext))
    }
}

/// Which way a message goes: a request to the terminal, or its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outer {
    Request,
    Response,
}

#[derive(Serialize, Deserialize)]
struct SecurityTrailer {
    #[serde(rename = "AdyenCryptoVersion")]
    crypto_version: u32,
    #[serde(rename = "KeyIdentifier")]
    key_id: String,
    #[serde(rename = "KeyVersion")]
    key_version: u32,
    #[serde(rename = "Nonce")]
    nonce: String,
    #[serde(rename = "Hmac")]
    hmac: String,
}

#[derive(Serialize, Deserialize)]
struct SecuredInner {
    #[serde(rename = "MessageHeader")]
    header: MessageHeader,
    #[serde(rename = "NexoBlob")]
    blob: String,
    #[serde(rename = "SecurityTrailer")]
    trailer: SecurityTrailer,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(
        rename = "SaleToPOIRequest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    request: Option<SecuredInner>,
    #[serde(
        rename = "SaleToPOIResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    response: Option<SecuredInner>,
}

/// Seals and opens whole messages with one terminal's key.
#[derive(Debug, Clone)]
pub struct Codec {
    key: Key,
}

impl Codec {
    pub fn new(key: Key) -> Codec {
        Codec { key }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    pub fn seal_request(&self, request: &Request, nonce: [u8; 16]) -> Vec<u8> {
        self.key
            .seal(&request.to_json(), &request.header, Outer::Request, nonce)
    }

    pub fn seal_response(&self, response: &Response, nonce: [u8; 16]) -> Vec<u8> {
        self.key.seal(
            &response.to_json(),
            &response.header,
            Outer::Response,
            nonce,
        )
    }

    /// A request, once its envelope opens and its MAC verifies.
    pub fn open_request(&self, bytes: &[u8]) -> Result<Request, NexoError> {
        let (clear, plaintext) = self.key.open(bytes, Outer::Request)?;
        let request = Request::from_json(&plaintext)?;
        match request.header == clear {
            true => Ok(request),
            false => Err(NexoError::HeaderMismatch),
        }
    }

    /// A response, once its envelope opens and its MAC verifies.
    pub fn open_response(&self, bytes: &[u8]) -> Result<Response, NexoError> {
        let (clear, plaintext) = self.key.open(bytes, Outer::Response)?;
        let response = Response::from_json(&plaintext)?;
        match response.header == clear {
            true => Ok(response),
            false => Err(NexoError::HeaderMismatch),
        }
    }

    /// The plaintext of an envelope, once its MAC verifies (known-answer
    /// tests compare it byte for byte).
    pub fn open_plaintext(&self, bytes: &[u8], outer: Outer) -> Result<Vec<u8>, NexoError> {
        self.key.open(bytes, outer).map(|(_, p)| p)
    }

    /// Seals a plaintext as it is (known-answer tests).
    pub fn seal_plaintext(
        &self,
        plaintext: &[u8],
        header: &MessageHeader,
        outer: Outer,
        nonce: [u8; 16],
    ) -> Vec<u8> {
        self.key.seal(plaintext, header, outer, nonce)
    }
}
