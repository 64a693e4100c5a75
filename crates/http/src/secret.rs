//! Secrets both servers make and keep: tokens a person can read, and the
//! SHA-256 they keep instead of a token.

use sha2::{Digest, Sha256};

/// A random token of `len` characters a person can read without confusing
/// 1, l and I or 0 and O (31 letters and digits: about 4.95 bits each),
/// from the operating system's generator through `rand`.
pub fn made_up_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

/// A token's or secret's SHA-256 in hex: what a server keeps of it.
pub fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_readable_and_hashes_are_hex() {
        let t = made_up_token(43);
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(|b| !b"01ilo".contains(&b)), "{t}");
        assert_ne!(t, made_up_token(43));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
