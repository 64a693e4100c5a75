//! A register's journal key for tests and the simulator: a P-256 key from
//! a seed, signing as WebCrypto does (ES256 over the canonical encoding).

use crate::journal::{chain, Draft, Entry, Head, PublicKey, Unsigned};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};

/// A register's signing key.
#[derive(Clone)]
pub struct Signer(SigningKey);

/// The key of a seed: the same seed, the same key.
pub fn signer(seed: u64) -> Signer {
    let mut counter = 0u64;
    loop {
        let mut h = Sha256::new();
        h.update(b"till journal test key");
        h.update(seed.to_be_bytes());
        h.update(counter.to_be_bytes());
        let bytes: [u8; 32] = h.finalize().into();
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return Signer(key);
        }
        counter += 1;
    }
}

impl Signer {
    pub fn public(&self) -> PublicKey {
        PublicKey::from_verifying(*self.0.verifying_key())
    }

    /// Signs a chained entry.
    pub fn seal(&self, unsigned: Unsigned) -> Entry {
        let sig: Signature = self.0.sign(&unsigned.message());
        unsigned.seal(&sig.to_bytes())
    }

    /// Chains a draft after `head` and signs it.
    pub fn append(&self, head: &Head, draft: Draft) -> Entry {
        self.seal(chain(head, draft))
    }
}
