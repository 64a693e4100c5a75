//! The register's journal: one gapless, hash-chained, signed sequence of
//! entries per register, one for every event that moves money or control.
//!
//! What the rules are, so that an auditor can check them without Till:
//!
//! - `seq` counts from 1 with no gap.
//! - `prev` is the previous entry's `hash`; the first entry's is
//!   [`GENESIS`] (64 zeros).
//! - `hash` is the lower-case hex SHA-256 of the entry's **canonical
//!   encoding**: the JSON object of `register, seq, time, kind, record,
//!   actor, approver, amount, prev` in that order, with no whitespace, an
//!   absent value as `null`, and `record` as `{kind, id, version, sha256}`
//!   in that order ([`Entry::canonical`]).
//! - `sig` is an ES256 signature (ECDSA P-256 with SHA-256, as WebCrypto's
//!   `sign({name: "ECDSA", hash: "SHA-256"})` makes it) of the canonical
//!   encoding, so of `hash`: the 64 bytes `r ‖ s`, base64url without
//!   padding. The register's public key is its SEC1 uncompressed point (65
//!   bytes, WebCrypto's `"raw"` export), base64url without padding.
//! - A record an entry names is pinned by `sha256`: the hex SHA-256 of the
//!   record's JSON as Till serializes it ([`record_digest`]).
//!
//! The register makes entries ([`chain`], then [`Unsigned::seal`] with the
//! signature its non-extractable key made); the back office checks them
//! ([`check_next`], [`verify_chain`]). Both are here, so the two ends cannot
//! disagree on what a valid chain is.

use crate::money::Money;
use crate::order::RegisterId;
use crate::staff::StaffId;
use crate::time::Timestamp;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
#[cfg(feature = "signatures")]
use p256::ecdsa::signature::hazmat::PrehashVerifier;
#[cfg(feature = "signatures")]
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The `prev` of a register's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    SalePaid,
    Void,
    Refund,
    /// One card part's outcome (approved, declined, cancelled, unknown).
    CardOutcome,
    NoSale,
    PaidIn,
    PaidOut,
    PriceOverride,
    DiscountApproval,
    /// A manager's approval of any other guarded action.
    Approval,
    SignIn,
    SignOut,
    LockOut,
    ShiftOpen,
    /// A shift's close; its record pins the Z report.
    ShiftClose,
    SettingsSaved,
    Pairing,
    CatalogActivated,
}

impl EntryKind {
    /// The name on the wire and in exports (`sale_paid`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::SalePaid => "sale_paid",
            EntryKind::Void => "void",
            EntryKind::Refund => "refund",
            EntryKind::CardOutcome => "card_outcome",
            EntryKind::NoSale => "no_sale",
            EntryKind::PaidIn => "paid_in",
            EntryKind::PaidOut => "paid_out",
            EntryKind::PriceOverride => "price_override",
            EntryKind::DiscountApproval => "discount_approval",
            EntryKind::Approval => "approval",
            EntryKind::SignIn => "sign_in",
            EntryKind::SignOut => "sign_out",
            EntryKind::LockOut => "lock_out",
            EntryKind::ShiftOpen => "shift_open",
            EntryKind::ShiftClose => "shift_close",
            EntryKind::SettingsSaved => "settings_saved",
            EntryKind::Pairing => "pairing",
            EntryKind::CatalogActivated => "catalog_activated",
        }
    }
}

/// Which kind of record an entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Order,
    Refund,
    Shift,
    Settings,
    Catalog,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Order => "order",
            RecordKind::Refund => "refund",
            RecordKind::Shift => "shift",
            RecordKind::Settings => "settings",
            RecordKind::Catalog => "catalog",
        }
    }
}

/// The record an entry describes, pinned at one version by its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    pub kind: RecordKind,
    pub id: String,
    pub version: u32,
    /// [`record_digest`] of the record at `version`.
    pub sha256: String,
}

/// One journal entry, as stored on the register and sent to the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub register: RegisterId,
    pub seq: u64,
    pub time: Timestamp,
    pub kind: EntryKind,
    pub record: Option<RecordRef>,
    pub actor: Option<StaffId>,
    pub approver: Option<StaffId>,
    /// The money the event moves, when it moves any.
    pub amount: Option<Money>,
    pub prev: String,
    pub hash: String,
    pub sig: String,
}

/// The fields the hash covers, in the canonical order.
#[derive(Serialize)]
struct Canonical<'a> {
    register: &'a RegisterId,
    seq: u64,
    time: Timestamp,
    kind: EntryKind,
    record: &'a Option<RecordRef>,
    actor: &'a Option<StaffId>,
    approver: &'a Option<StaffId>,
    amount: &'a Option<Money>,
    prev: &'a str,
}

impl Entry {
    /// The canonical encoding: what `hash` is the SHA-256 of, and what
    /// `sig` signs.
    pub fn canonical(&self) -> Vec<u8> {
        let c = Canonical {
            register: &self.register,
            seq: self.seq,
            time: self.time,
            kind: self.kind,
            record: &self.record,
            actor: &self.actor,
            approver: &self.approver,
            amount: &self.amount,
            prev: &self.prev,
        };
        // A struct of strings, integers and enums always serializes.
        serde_json::to_vec(&c).unwrap_or_default()
    }

    /// The SHA-256 of [`Entry::canonical`], as bytes.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.canonical()).into()
    }

    /// Where this entry leaves the chain.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The digest an entry pins a record with: the hex SHA-256 of the record's
/// JSON as Till serializes it.
pub fn record_digest<T: Serialize>(record: &T) -> Result<String, serde_json::Error> {
    Ok(hex(&Sha256::digest(serde_json::to_vec(record)?)))
}

/// The last entry of a chain (seq 0 and [`GENESIS`] before the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Head {
    pub fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// What a register is about to journal, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub register: RegisterId,
    pub time: Timestamp,
    pub kind: EntryKind,
    pub record: Option<RecordRef>,
    pub actor: Option<StaffId>,
    pub approver: Option<StaffId>,
    pub amount: Option<Money>,
}

/// An entry chained after a head, waiting for its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned(Entry);

impl Unsigned {
    /// The bytes the register's key signs (ES256).
    pub fn message(&self) -> Vec<u8> {
        self.0.canonical()
    }

    /// The entry with its signature (`r ‖ s`, 64 bytes).
    pub fn seal(self, signature: &[u8]) -> Entry {
        Entry {
            sig: URL_SAFE_NO_PAD.encode(signature),
            ..self.0
        }
    }

    pub fn entry(&self) -> &Entry {
        &self.0
    }
}

/// Chains a draft after `head`: the next seq, `prev` and `hash` set.
pub fn chain(head: &Head, draft: Draft) -> Unsigned {
    let mut entry = Entry {
        register: draft.register,
        seq: head.seq + 1,
        time: draft.time,
        kind: draft.kind,
        record: draft.record,
        actor: draft.actor,
        approver: draft.approver,
        amount: draft.amount,
        prev: head.hash.clone(),
        hash: String::new(),
        sig: String::new(),
    };
    entry.hash = hex(&entry.digest());
    Unsigned(entry)
}

/// A register's public key, as registered with the back office (feature
/// `signatures`: the register signs with WebCrypto and never checks).
#[cfg(feature = "signatures")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

#[cfg(feature = "signatures")]
impl PublicKey {
    /// From the SEC1 point, base64url (WebCrypto's `"raw"` export).
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|e| format!("the public key is not base64url: {e}"))?;
        if bytes.len() != 65 || bytes[0] != 4 {
            return Err(
                "the public key is not an uncompressed P-256 point (65 bytes, WebCrypto's raw export)"
                    .to_owned(),
            );
        }
        VerifyingKey::from_sec1_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "the public key is not a point on the P-256 curve".to_owned())
    }

    pub fn from_verifying(key: VerifyingKey) -> PublicKey {
        PublicKey(key)
    }

    /// The SEC1 uncompressed point, base64url: how the key is registered.
    pub fn encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.to_encoded_point(false).as_bytes())
    }

    /// Whether `sig` (base64url `r ‖ s`) signs the message whose SHA-256
    /// is `digest`.
    pub fn verifies(&self, digest: &[u8; 32], sig: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.0.verify_prehash(digest, &sig).is_ok()
    }
}

/// How a chain breaks at an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The entry names another register than the chain's.
    Register(RegisterId),
    /// The entry's seq is not the next one.
    Gap { found: u64 },
    /// The entry's `prev` is not the hash of the entry before it.
    Fork,
    /// Another entry is already held for this seq.
    Taken,
    /// The entry's `hash` is not the hash of what it says.
    Edited,
    /// The signature is not the register key's.
    Signature,
}

impl Break {
    /// A short code for reports and exports.
    pub fn code(&self) -> &'static str {
        match self {
            Break::Register(_) => "other_register",
            Break::Gap { .. } => "gap",
            Break::Fork | Break::Taken => "fork",
            Break::Edited => "edited",
            Break::Signature => "bad_signature",
        }
    }
}

/// Where a chain breaks: the seq the chain expected there, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    pub seq: u64,
    pub why: Break,
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.why {
            Break::Register(r) => write!(f, "seq {seq}: the entry is register {r}'s"),
            Break::Gap { found } => write!(f, "seq {seq}: missing (the next entry is seq {found})"),
            Break::Fork => write!(
                f,
                "seq {seq}: its prev is not the hash of seq {} (a fork or a reordering)",
                seq.saturating_sub(1)
            ),
            Break::Taken => write!(
                f,
                "seq {seq}: another entry is already held for this seq (a fork)"
            ),
            Break::Edited => write!(f, "seq {seq}: its hash does not match its content (edited)"),
            Break::Signature => write!(f, "seq {seq}: the signature is not the register's key's"),
        }
    }
}

impl std::error::Error for ChainError {}

/// Checks the entry that should follow `head` on `register`'s chain:
/// gapless seq, `prev`, the hash recomputed and the signature. Returns the
/// new head.
#[cfg(feature = "signatures")]
pub fn check_next(
    register: &RegisterId,
    head: &Head,
    key: &PublicKey,
    entry: &Entry,
) -> Result<Head, ChainError> {
    let seq = head.seq + 1;
    let fail = |why| Err(ChainError { seq, why });
    if &entry.register != register {
        return fail(Break::Register(entry.register.clone()));
    }
    if entry.seq != seq {
        return fail(Break::Gap { found: entry.seq });
    }
    if entry.prev != head.hash {
        return fail(Break::Fork);
    }
    let digest = entry.digest();
    if hex(&digest) != entry.hash {
        return fail(Break::Edited);
    }
    if !key.verifies(&digest, &entry.sig) {
        return fail(Break::Signature);
    }
    Ok(entry.head())
}

/// Checks entries in order after `from`; the first break is the error.
#[cfg(feature = "signatures")]
pub fn verify_chain<'a>(
    register: &RegisterId,
    from: Head,
    key: &PublicKey,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<Head, ChainError> {
    entries
        .into_iter()
        .try_fold(from, |head, e| check_next(register, &head, key, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::testing::journal::{signer, Signer};
    use proptest::prelude::*;

    fn r1() -> RegisterId {
        RegisterId::new("R1").unwrap()
    }

    fn draft(i: u64) -> Draft {
        Draft {
            register: r1(),
            time: Timestamp(1_700_000_000_000 + i as i64 * 1_000),
            kind: if i.is_multiple_of(3) {
                EntryKind::Refund
            } else {
                EntryKind::SalePaid
            },
            record: Some(RecordRef {
                kind: RecordKind::Order,
                id: format!("order-{i}"),
                version: 1 + (i % 4) as u32,
                sha256: hex(&Sha256::digest(i.to_be_bytes())),
            }),
            actor: Some(StaffId::new("sam").unwrap()),
            approver: i.is_multiple_of(5).then(|| StaffId::new("dana").unwrap()),
            amount: Some(Money::new(i as i64 * 100, Currency::EUR).unwrap()),
        }
    }

    fn chain_of(signer: &Signer, n: u64) -> Vec<Entry> {
        let mut head = Head::genesis();
        (1..=n)
            .map(|i| {
                let e = signer.append(&head, draft(i));
                head = e.head();
                e
            })
            .collect()
    }

    /// One chain of 1,000 entries for every proptest case: signing is
    /// the slow part, and each case edits its own copy.
    fn thousand() -> &'static (Signer, Vec<Entry>) {
        static CHAIN: std::sync::OnceLock<(Signer, Vec<Entry>)> = std::sync::OnceLock::new();
        CHAIN.get_or_init(|| {
            let s = signer(11);
            let entries = chain_of(&s, 1000);
            (s, entries)
        })
    }

    fn first_break(key: &PublicKey, entries: &[Entry]) -> Option<u64> {
        verify_chain(&r1(), Head::genesis(), key, entries)
            .err()
            .map(|e| e.seq)
    }

    #[test]
    fn an_honest_chain_verifies_to_its_last_entry() {
        let s = signer(7);
        let entries = chain_of(&s, 20);
        let head = verify_chain(&r1(), Head::genesis(), &s.public(), &entries).unwrap();
        assert_eq!(head.seq, 20);
        assert_eq!(entries[0].prev, GENESIS);
        assert_eq!(head.hash, entries[19].hash);
    }

    #[test]
    fn the_canonical_encoding_is_the_documented_one() {
        let s = signer(7);
        let e = chain_of(&s, 1).remove(0);
        let text = String::from_utf8(e.canonical()).unwrap();
        assert!(text.starts_with(
            r#"{"register":"R1","seq":1,"time":1700000001000,"kind":"sale_paid","record":{"kind":"order","id":"order-1","version":2,"sha256":""#
        ), "{text}");
        assert!(
            text.ends_with(&format!(r#""actor":"sam","approver":null,"amount":{{"amount":100,"currency":"EUR"}},"prev":"{GENESIS}"}}"#)),
            "{text}"
        );
        assert_eq!(e.hash, hex(&Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn another_key_signature_and_another_register_are_named() {
        let entries = chain_of(&signer(7), 3);
        let other = signer(8).public();
        let err = verify_chain(&r1(), Head::genesis(), &other, &entries).unwrap_err();
        assert_eq!((err.seq, err.why.clone()), (1, Break::Signature));
        let r2: RegisterId = RegisterId::new("R2").unwrap();
        let err = verify_chain(&r2, Head::genesis(), &signer(7).public(), &entries).unwrap_err();
        assert_eq!(err.why, Break::Register(r1()));
        assert_eq!(err.to_string(), "seq 1: the entry is register R1's");
    }

    #[test]
    fn a_key_round_trips_through_its_registered_form_and_junk_is_refused() {
        let key = signer(3).public();
        assert_eq!(PublicKey::parse(&key.encoded()).unwrap(), key);
        assert!(PublicKey::parse("not base64!").is_err());
        assert!(PublicKey::parse("AAAA").is_err());
        assert!(!key.verifies(&[0; 32], "junk"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn any_single_byte_edit_is_found_at_its_seq(at in 0usize..1000, field in 0usize..6, byte in 0usize..64, bit in 0u8..8) {
            let (s, entries) = thousand();
            let mut entries = entries.clone();
            let e = &mut entries[at];
            let target: &mut String = match field {
                0 => &mut e.hash,
                1 => &mut e.prev,
                2 => &mut e.sig,
                3 => &mut e.record.as_mut().unwrap().sha256,
                4 => &mut e.record.as_mut().unwrap().id,
                _ => { e.time = Timestamp(e.time.0 ^ (1 << bit)); &mut String::new() }
            };
            if !target.is_empty() {
                let mut bytes = std::mem::take(target).into_bytes();
                let i = byte % bytes.len();
                bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
                *target = String::from_utf8(bytes).unwrap();
            }
            prop_assert_eq!(first_break(&s.public(), &entries), Some(at as u64 + 1));
        }

        #[test]
        fn a_deleted_entry_is_found_at_its_seq(at in 0usize..1000) {
            let (s, entries) = thousand();
            let mut entries = entries.clone();
            entries.remove(at);
            let expected = (at < 999).then_some(at as u64 + 1);
            prop_assert_eq!(first_break(&s.public(), &entries), expected);
        }

        #[test]
        fn a_swapped_pair_is_found_at_the_first_of_them(at in 0usize..999) {
            let (s, entries) = thousand();
            let mut entries = entries.clone();
            entries.swap(at, at + 1);
            prop_assert_eq!(first_break(&s.public(), &entries), Some(at as u64 + 1));
        }

        #[test]
        fn a_fork_is_found_where_the_branches_meet(at in 0usize..999) {
            // A second, validly signed entry for the same seq replaces the
            // first: the break is at the entry after it, whose prev names
            // the entry that was replaced.
            let (s, entries) = thousand();
            let mut entries = entries.clone();
            let head = if at == 0 { Head::genesis() } else { entries[at - 1].head() };
            let mut other = draft(at as u64 + 1);
            other.kind = EntryKind::Void;
            entries[at] = s.append(&head, other);
            prop_assert_eq!(first_break(&s.public(), &entries), Some(at as u64 + 2));
        }
    }
}
