//! The registers' journals at the back office: a register registers its
//! public key once (`PUT /api/v1/journal/key`), sends its entries in the
//! batch (`journal`, after the records they name), and reads the head the
//! back office confirmed (`GET /api/v1/registers/{register}/journal`).
//!
//! Entries are verified as they arrive (till-core's chain rules, in the
//! store's transaction: [`crate::store::journal::decide_journal`]). A gap,
//! fork, reordering, edited entry or bad signature is refused for that
//! register alone, with the seq named, and kept for inspection; nothing
//! stored before is touched. `till-oms journal verify` walks every stored
//! chain again; `till-oms journal export` writes them out for an auditor.

use crate::api::{blocking, now};
use crate::auth::{Caller, Writer};
use crate::batch::{Item, Refused};
use crate::error::{AppError, AppJson};
use crate::store::journal::{KeyOutcome, StoredEntry, Verdict};
use crate::store::{Store, StoreError};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use till_core::api::{BatchResult, JournalHead, JournalKey};
use till_core::journal::{
    record_digest, verify_chain, ChainError, Entry, Head, PublicKey, RecordKind, RecordRef,
};
use till_core::order::RegisterId;
use till_core::time::Timestamp;

/// The code of an entry refused because the chain breaks.
pub const BREAK_CODE: &str = "journal_break";

/// `PUT /api/v1/journal/key`: 201 when registered, 200 when this key
/// already is, 409 when another key is (a register's key never changes).
pub async fn put_key(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<JournalKey>,
) -> Result<(StatusCode, Json<JournalHead>), AppError> {
    let writer = caller.writer()?;
    let key = PublicKey::parse(&body.public_key)
        .map_err(|e| AppError::invalid("invalid_key", e).with_field("public_key"))?;
    let register = writer.register.clone();
    let (outcome, head) = blocking(&state.store, move |s| {
        let outcome = s.set_register_key(&writer.register, &key, &writer, now())?;
        Ok((outcome, s.journal_head(&writer.register)?))
    })
    .await?;
    let status = match outcome {
        KeyOutcome::Registered => StatusCode::CREATED,
        KeyOutcome::Same => StatusCode::OK,
        KeyOutcome::Other => {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                "journal_key_taken",
                format!(
                    "register {register} has another journal key; a register's key never changes (enrol the tablet again as a new register)"
                ),
            ))
        }
    };
    tracing::info!(register = %register, "journal key registered");
    Ok((status, Json(journal_head(register, head, true))))
}

fn journal_head(register: RegisterId, head: Head, key_registered: bool) -> JournalHead {
    JournalHead {
        register,
        seq: head.seq,
        hash: head.hash,
        key_registered,
    }
}

/// `GET /api/v1/registers/{register}/journal`: the head the back office
/// holds. A register reads its own; the back office any.
pub async fn get_head(
    State(state): State<AppState>,
    caller: Caller,
    Path(register): Path<String>,
) -> Result<Json<JournalHead>, AppError> {
    caller.reader()?;
    let register = RegisterId::new(register.as_str())
        .map_err(|e| AppError::invalid("invalid_register", e.to_string()).with_field("register"))?;
    caller.may_read(&register)?;
    let (head, key) = blocking(&state.store, {
        let register = register.clone();
        move |s| Ok((s.journal_head(&register)?, s.register_key(&register)?))
    })
    .await?;
    Ok(Json(journal_head(register, head, key.is_some())))
}

/// An entry's id in a batch's results: `R1/12`.
pub fn entry_id(register: &RegisterId, seq: u64) -> String {
    format!("{register}/{seq}")
}

fn ok_result(id: String) -> BatchResult {
    BatchResult {
        id: Some(id),
        status: 200,
        version: None,
        error: None,
    }
}

fn err_result(id: Option<String>, e: AppError) -> BatchResult {
    BatchResult {
        id,
        status: e.status.as_u16(),
        version: None,
        error: Some(e.body),
    }
}

fn broke(register: &RegisterId, e: &ChainError) -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        BREAK_CODE,
        format!("register {register}'s journal breaks at {e}; the entry is kept for the back office to inspect and nothing after it is taken"),
    )
}

fn after_break(register: &RegisterId, at: u64) -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        BREAK_CODE,
        format!("not taken: register {register}'s journal breaks at seq {at}, before this entry"),
    )
}

/// The journal entries of a batch, after its records: the writing
/// register's own only, verified and appended in one transaction.
pub fn answer_journal(
    store: &dyn Store,
    writer: &Writer,
    items: Vec<Item<Entry>>,
    now: Timestamp,
) -> Vec<BatchResult> {
    let register = &writer.register;
    let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(items.len());
    let mut own = Vec::new();
    for item in items {
        match item {
            Ok(e) if &e.register != register => results.push(Some(err_result(
                Some(entry_id(&e.register, e.seq)),
                AppError::forbidden(format!(
                    "this token belongs to register {register}; entry {} is register {}'s",
                    e.seq, e.register
                )),
            ))),
            Ok(e) => {
                own.push((results.len(), e));
                results.push(None);
            }
            Err(Refused { id, error }) => results.push(Some(err_result(id, error))),
        }
    }
    if !own.is_empty() {
        let entries: Vec<Entry> = own.iter().map(|(_, e)| e.clone()).collect();
        let answers = verdicts(store, writer, &entries, now);
        for ((pos, e), answer) in own.iter().zip(answers) {
            let id = entry_id(register, e.seq);
            results[*pos] = Some(match answer {
                Ok(()) => ok_result(id),
                Err(err) => err_result(Some(id), err),
            });
        }
    }
    results.into_iter().flatten().collect()
}

/// One answer per entry: taken, or why not.
fn verdicts(
    store: &dyn Store,
    writer: &Writer,
    entries: &[Entry],
    now: Timestamp,
) -> Vec<Result<(), AppError>> {
    let register = &writer.register;
    let all = |e: AppError| {
        entries
            .iter()
            .map(|_| {
                Err(AppError {
                    status: e.status,
                    body: e.body.clone(),
                })
            })
            .collect()
    };
    let key = match store.register_key(register) {
        Ok(Some(k)) => k,
        Ok(None) => {
            return all(AppError::new(
                StatusCode::CONFLICT,
                "journal_key_missing",
                format!("register {register} has no journal key at the back office; register it (PUT /api/v1/journal/key) and send the entries again"),
            ))
        }
        Err(e) => return all(AppError::internal(e)),
    };
    let key = match PublicKey::parse(&key) {
        Ok(k) => k,
        Err(e) => {
            return all(AppError::internal(format!(
                "register {register}'s stored key: {e}"
            )))
        }
    };
    match store.append_journal(register, &key, entries, writer, now) {
        Ok(vs) => vs
            .into_iter()
            .map(|v| match v {
                Verdict::Stored | Verdict::AlreadyStored => Ok(()),
                Verdict::Refused(e) => Err(broke(register, &e)),
                Verdict::AfterBreak(at) => Err(after_break(register, at)),
            })
            .collect(),
        Err(e) => all(AppError::internal(e)),
    }
}

/// One register's stored chain, checked again from its first entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub register: RegisterId,
    pub entries: u64,
    /// Where the verified part ends.
    pub head: Head,
    /// The first break, if the chain has one.
    pub broken: Option<String>,
    /// Verified entries whose record the back office holds at another
    /// digest than the entry pinned (`seq N: order … version V`).
    pub records_differ: Vec<String>,
}

/// The digest of the version of a record an entry pins, as held here: the
/// stored body parsed and serialized as the register does
/// ([`till_core::journal::record_digest`]). `None` while that version has
/// not arrived, or for a kind the back office keeps no history of.
pub fn held_digest(store: &dyn Store, pinned: &RecordRef) -> Result<Option<String>, StoreError> {
    fn digest<T: serde::de::DeserializeOwned + serde::Serialize>(
        body: &str,
    ) -> Result<String, StoreError> {
        let record: T = serde_json::from_str(body)?;
        Ok(record_digest(&record)?)
    }
    let Some(body) = store.record_version(pinned.kind, &pinned.id, pinned.version)? else {
        return Ok(None);
    };
    Ok(Some(match pinned.kind {
        RecordKind::Order => digest::<till_core::order::Order>(&body)?,
        RecordKind::Refund => digest::<till_core::refund::Refund>(&body)?,
        RecordKind::Shift => digest::<till_core::shift::Shift>(&body)?,
        RecordKind::Settings | RecordKind::Catalog => return Ok(None),
    }))
}

/// The verified entries whose pinned record is held at another digest.
fn records_differing(store: &dyn Store, entries: &[Entry]) -> Result<Vec<String>, StoreError> {
    let mut differ = Vec::new();
    for e in entries {
        let Some(pinned) = &e.record else { continue };
        if held_digest(store, pinned)?.is_some_and(|d| d != pinned.sha256) {
            differ.push(format!(
                "seq {}: {} {} version {}",
                e.seq,
                pinned.kind.as_str(),
                pinned.id,
                pinned.version
            ));
        }
    }
    Ok(differ)
}

/// Verifies a register's stored chain: its key, every row's seq against its
/// body, the chain rules from genesis, and no row after a break.
pub fn verify_register(store: &dyn Store, register: &RegisterId) -> Result<Verified, StoreError> {
    let rows = store.journal_of(register)?;
    let mut verified = Verified {
        register: register.clone(),
        entries: rows.len() as u64,
        head: Head::genesis(),
        broken: None,
        records_differ: Vec::new(),
    };
    let key = match store.register_key(register)?.map(|k| PublicKey::parse(&k)) {
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            verified.broken = Some(format!("its stored key: {e}"));
            return Ok(verified);
        }
        None if rows.is_empty() => return Ok(verified),
        None => {
            verified.broken = Some("entries are stored but no key is registered".into());
            return Ok(verified);
        }
    };
    let entries = match parse_rows(&rows) {
        Ok(entries) => entries,
        Err(why) => {
            verified.broken = Some(why);
            return Ok(verified);
        }
    };
    match verify_chain(register, Head::genesis(), &key, &entries) {
        Ok(head) => verified.head = head,
        Err(e) => {
            let at = e.seq;
            verified.head = entries
                .iter()
                .take_while(|x| x.seq < at)
                .last()
                .map_or_else(Head::genesis, Entry::head);
            verified.broken = Some(e.to_string());
        }
    }
    let good = entries.iter().take_while(|e| e.seq <= verified.head.seq);
    verified.records_differ = records_differing(store, &good.cloned().collect::<Vec<_>>())?;
    Ok(verified)
}

/// The stored rows as entries; a body that does not parse, or whose seq is
/// not its row's, is a break at that row.
fn parse_rows(rows: &[StoredEntry]) -> Result<Vec<Entry>, String> {
    rows.iter()
        .map(|row| {
            let e: Entry = serde_json::from_str(&row.body).map_err(|err| {
                format!("seq {}: the stored entry does not parse: {err}", row.seq)
            })?;
            if e.seq != row.seq {
                return Err(format!(
                    "seq {}: the stored row holds seq {} (edited)",
                    row.seq, e.seq
                ));
            }
            Ok(e)
        })
        .collect()
}

/// An instant as an auditor reads it: `2026-12-07T21:54:06.123Z`.
pub fn iso_utc(t: Timestamp) -> String {
    let (y, m, d) = till_core::time::civil_date(t, 0);
    let ms = t.as_millis().rem_euclid(86_400_000);
    let (h, min, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

/// The columns of the CSV export, one row per entry.
pub const EXPORT_COLUMNS: [&str; 16] = [
    "register",
    "seq",
    "time",
    "kind",
    "record_kind",
    "record_id",
    "record_version",
    "record_sha256",
    "amount_minor",
    "currency",
    "actor",
    "approver",
    "prev",
    "hash",
    "sig",
    "verified",
];

fn export_row(e: &Entry, verified: bool) -> [String; 16] {
    let record = e.record.as_ref();
    let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    [
        e.register.to_string(),
        e.seq.to_string(),
        iso_utc(e.time),
        e.kind.as_str().to_owned(),
        text(record.map(|r| r.kind.as_str())),
        text(record.map(|r| r.id.as_str())),
        record.map(|r| r.version.to_string()).unwrap_or_default(),
        text(record.map(|r| r.sha256.as_str())),
        e.amount.map(|a| a.minor().to_string()).unwrap_or_default(),
        e.amount
            .map(|a| a.currency().code().to_owned())
            .unwrap_or_default(),
        text(e.actor.as_ref().map(|a| a.as_str())),
        text(e.approver.as_ref().map(|a| a.as_str())),
        e.prev.clone(),
        e.hash.clone(),
        e.sig.clone(),
        verified.to_string(),
    ]
}

/// Writes the entries of `registers` whose time is in `[from, to)`, each
/// register's by seq, as JSON lines (the entry as signed) and CSV (with a
/// `verified` column: whether the chain verifies up to that entry).
/// Returns how many entries were written.
pub fn export(
    store: &dyn Store,
    registers: &[RegisterId],
    (from, to): (Timestamp, Timestamp),
    jsonl: &mut impl std::io::Write,
    csv: &mut csv::Writer<impl std::io::Write>,
) -> Result<usize, String> {
    let io = |e: std::io::Error| format!("writing the export: {e}");
    csv.write_record(EXPORT_COLUMNS)
        .map_err(|e| format!("writing the export: {e}"))?;
    let mut written = 0;
    for register in registers {
        let verified = verify_register(store, register).map_err(|e| e.to_string())?;
        let rows = store.journal_of(register).map_err(|e| e.to_string())?;
        for row in rows {
            let entry: Entry = serde_json::from_str(&row.body)
                .map_err(|e| format!("{register} seq {}: {e}", row.seq))?;
            if entry.time < from || entry.time >= to {
                continue;
            }
            writeln!(jsonl, "{}", row.body).map_err(io)?;
            let ok = entry.seq <= verified.head.seq;
            csv.write_record(export_row(&entry, ok))
                .map_err(|e| format!("writing the export: {e}"))?;
            written += 1;
        }
    }
    csv.flush().map_err(io)?;
    Ok(written)
}

/// Verifies the chains of `registers` (every register with a journal when
/// `None`). With `day`, each result's `entries` counts that UTC day's only.
pub fn verify_all(
    store: &dyn Store,
    registers: Option<Vec<RegisterId>>,
    day: Option<Timestamp>,
) -> Result<Vec<Verified>, StoreError> {
    let registers = match registers {
        Some(r) => r,
        None => store.journal_registers()?,
    };
    registers
        .iter()
        .map(|r| {
            let mut v = verify_register(store, r)?;
            if let Some(from) = day {
                let to = from + till_core::time::Duration::from_mins(24 * 60);
                v.entries = store
                    .journal_of(r)?
                    .iter()
                    .filter_map(|row| serde_json::from_str::<Entry>(&row.body).ok())
                    .filter(|e| e.time >= from && e.time < to)
                    .count() as u64;
            }
            Ok(v)
        })
        .collect()
}

/// One line of `till-oms journal verify`.
pub fn verified_line(v: &Verified) -> String {
    let head = format!(
        "head seq {} {}",
        v.head.seq,
        &v.head.hash[..16.min(v.head.hash.len())]
    );
    let chain = match &v.broken {
        None => format!("{}: {} entries, verified; {head}", v.register, v.entries),
        Some(why) => format!("{}: BREAKS at {why}; verified up to {head}", v.register),
    };
    match v.records_differ.as_slice() {
        [] => chain,
        [first, ..] => format!(
            "{chain}; {} record(s) held otherwise than the journal pinned them (first: {first})",
            v.records_differ.len()
        ),
    }
}

/// `till-oms journal export`: PREFIX.jsonl and PREFIX.csv. Returns how
/// many entries, and the two files.
pub fn export_files(
    store: &dyn Store,
    registers: Option<Vec<RegisterId>>,
    span: (Timestamp, Timestamp),
    prefix: &std::path::Path,
) -> Result<(usize, std::path::PathBuf, std::path::PathBuf), StoreError> {
    let registers = match registers {
        Some(r) => r,
        None => store.journal_registers()?,
    };
    let (jsonl_path, csv_path) = (prefix.with_extension("jsonl"), prefix.with_extension("csv"));
    let open = |p: &std::path::Path| {
        std::fs::File::create(p)
            .map(std::io::BufWriter::new)
            .map_err(|e| StoreError(format!("{}: {e}", p.display())))
    };
    let mut jsonl = open(&jsonl_path)?;
    let mut csv = csv::Writer::from_writer(open(&csv_path)?);
    let n = export(store, &registers, span, &mut jsonl, &mut csv).map_err(StoreError)?;
    std::io::Write::flush(&mut jsonl)
        .map_err(|e| StoreError(format!("{}: {e}", jsonl_path.display())))?;
    Ok((n, jsonl_path, csv_path))
}
