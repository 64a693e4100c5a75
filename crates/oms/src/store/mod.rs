//! Storage of the back office, behind a trait.
//!
//! One store runs on one SQLite file ([`SqliteStore`]); a chain runs the
//! same trait on PostgreSQL ([`PgStore`]), with several OMS processes in
//! front of one database. The contract every implementation keeps:
//!
//! - **Durable commits**: when a write method returns `Ok`, the data
//!   survives a power cut.
//! - **All or nothing**: each method is one transaction; on error nothing of
//!   it is written.
//! - **Idempotent order upserts** decided by [`decide`]: same id, version
//!   and body stores nothing new; a higher version replaces; a lower one
//!   changes nothing; the same version with another body is a conflict.
//! - **Idempotent payment reports** by reference.
//! - **Refunds** by the same rule as orders ([`decide_refund`]), checked
//!   against their order and the order's other refunds in the same
//!   transaction: never beyond what was paid, whichever process takes them.
//!
//! Methods are synchronous (SQLite is); the HTTP layer calls them on
//! tokio's blocking pool, where [`PgStore`] waits for its async client.
//!
//! Schemas are versioned SQL files under `migrations/<engine>/`, embedded
//! in the binary and applied on start by refinery, the same tool for both
//! engines. Never edit a file that shipped: add the next.

pub mod journal;
pub mod pins;
mod postgres;
pub mod registers;
mod sqlite;

pub use postgres::{PgStore, DEFAULT_POOL_SIZE};
pub use sqlite::SqliteStore;

use crate::auth::Writer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use till_core::api::{OrderLookup, PaymentReport, StoredOrder};
use till_core::audit::{StaffList, Standing};
use till_core::catalog::{Category, Product, ProductId, TaxRate};
use till_core::money::Currency;
use till_core::order::{BusinessDate, Order, OrderId, RegisterId};
use till_core::refund::{Refund, RefundError};
use till_core::shift::{Shift, ShiftError, ShiftId};
use till_core::staff::{Role, StaffId, StaffMember};
use till_core::time::Timestamp;

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(format!("sqlite: {e}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError(format!("stored JSON: {e}"))
    }
}

impl From<refinery::Error> for StoreError {
    fn from(e: refinery::Error) -> StoreError {
        StoreError(format!("migrating the database: {e}"))
    }
}

/// A whole catalog, as written by the demo data or `gen-catalog`.
#[derive(Debug, Clone)]
pub struct CatalogData {
    pub currency: Currency,
    pub categories: Vec<Category>,
    pub tax_rates: Vec<TaxRate>,
    pub products: Vec<Product>,
}

impl From<&till_core::catalog::Catalog> for CatalogData {
    /// The catalog a register holds, as the back office writes it.
    fn from(c: &till_core::catalog::Catalog) -> CatalogData {
        let mut products: Vec<Product> = c.products().cloned().collect();
        products.sort_by(|a, b| a.id.cmp(&b.id));
        CatalogData {
            currency: c.currency(),
            categories: c.categories().to_vec(),
            tax_rates: c.tax_rates().into_iter().cloned().collect(),
            products,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogMeta {
    /// Changes whenever the catalog does; the ETag of `GET /catalog`.
    pub version: String,
    pub currency: Currency,
    pub products_total: u64,
}

/// One page of the catalog with products as stored JSON (no re-encoding on
/// the hot path of a 100,000-product download).
pub struct RawCatalogPage {
    pub meta: CatalogMeta,
    pub categories: Box<RawValue>,
    pub tax_rates: Box<RawValue>,
    pub products: Vec<Box<RawValue>>,
    pub next_cursor: Option<String>,
}

/// A catalog as stored: each record's JSON body, and the version they make
/// (the same on every engine for the same catalog).
pub(crate) struct EncodedCatalog {
    pub categories: Vec<String>,
    pub tax_rates: Vec<String>,
    /// (id, body), in the catalog's order.
    pub products: Vec<(String, String)>,
    pub version: String,
}

impl EncodedCatalog {
    pub fn new(data: &CatalogData) -> Result<EncodedCatalog, StoreError> {
        use sha2::{Digest, Sha256};
        fn encode<T: Serialize>(hash: &mut Sha256, value: &T) -> Result<String, StoreError> {
            let body = serde_json::to_string(value)?;
            hash.update(body.as_bytes());
            Ok(body)
        }
        let mut hash = Sha256::new();
        let categories = data
            .categories
            .iter()
            .map(|c| encode(&mut hash, c))
            .collect::<Result<_, _>>()?;
        let tax_rates = data
            .tax_rates
            .iter()
            .map(|t| encode(&mut hash, t))
            .collect::<Result<_, _>>()?;
        let products = data
            .products
            .iter()
            .map(|p| Ok((p.id.as_str().to_owned(), encode(&mut hash, p)?)))
            .collect::<Result<_, StoreError>>()?;
        hash.update(data.currency.code().as_bytes());
        let hex: String = hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(EncodedCatalog {
            categories,
            tax_rates,
            products,
            version: format!("c-{hex}"),
        })
    }
}

impl EncodedCatalog {
    /// What the store says of this catalog once it is written.
    pub fn meta(&self, currency: Currency) -> CatalogMeta {
        CatalogMeta {
            version: self.version.clone(),
            currency,
            products_total: self.products.len() as u64,
        }
    }
}

/// Stored bodies as one JSON array, without decoding them.
pub(crate) fn json_array(bodies: &[String]) -> Result<Box<RawValue>, StoreError> {
    Ok(RawValue::from_string(format!("[{}]", bodies.join(",")))?)
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created,
    Replaced,
    /// Same id, version and body: nothing to do.
    Unchanged,
    /// An older version: the stored newer one stays.
    Stale,
    /// Same version, another body: refused.
    Conflict,
    /// The stored order is another register's: refused, nothing changes.
    OtherRegister,
}

/// What is stored of an order, as the idempotency rule needs it.
#[derive(Debug, Clone, Copy)]
pub struct StoredVersion<'a> {
    pub version: u32,
    pub register: &'a str,
    pub body: &'a str,
}

/// The idempotency rule of `PUT /orders/{id}`, given what is stored. An
/// order keeps the register that created it: no other register's version,
/// however high, replaces it.
pub fn decide(
    stored: Option<StoredVersion<'_>>,
    register: &str,
    version: u32,
    body: &str,
) -> Upsert {
    match stored {
        None => Upsert::Created,
        Some(s) if s.register != register => Upsert::OtherRegister,
        Some(s) if version > s.version => Upsert::Replaced,
        Some(s) if version < s.version => Upsert::Stale,
        Some(s) if s.body == body => Upsert::Unchanged,
        Some(_) => Upsert::Conflict,
    }
}

/// One stored version of an order, as its history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub version: u32,
    /// When the OMS stored it (milliseconds since the Unix epoch).
    pub received_at: Timestamp,
    /// The register whose token wrote it.
    pub register: String,
    /// The fingerprint of that token (never the token).
    pub token: String,
    pub order: Order,
}

/// An order's row, as the idempotency rule reads it.
#[derive(Debug, Clone)]
pub(crate) struct StoredRow {
    pub version: u32,
    pub register: String,
    pub body: String,
}

impl StoredRow {
    pub fn as_version(&self) -> StoredVersion<'_> {
        StoredVersion {
            version: self.version,
            register: &self.register,
            body: &self.body,
        }
    }
}

/// The order an upsert leaves stored: the one sent when it was written or
/// equal, the stored one otherwise.
pub(crate) fn kept_order(
    outcome: Upsert,
    order: &Order,
    stored: Option<&StoredRow>,
) -> Result<Order, StoreError> {
    match (outcome, stored) {
        (Upsert::Created | Upsert::Replaced | Upsert::Unchanged, _) => Ok(order.clone()),
        (_, Some(row)) => Ok(serde_json::from_str(&row.body)?),
        (_, None) => Err(StoreError(format!(
            "order {}: {outcome:?} without a stored order",
            order.id
        ))),
    }
}

#[derive(Debug, Clone)]
pub struct UpsertResult {
    pub outcome: Upsert,
    /// The order as stored after the upsert (the newer one when stale).
    pub stored: StoredOrder,
}

/// Where the next page of a day's orders starts: after this order, in the
/// day's order (creation time, then id). Opaque to clients:
/// `<created_at millis>_<order id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCursor {
    pub created_at: Timestamp,
    pub id: OrderId,
}

impl DayCursor {
    pub fn after(order: &Order) -> DayCursor {
        DayCursor {
            created_at: order.created_at,
            id: order.id,
        }
    }
}

impl std::fmt::Display for DayCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.created_at.as_millis(), self.id)
    }
}

impl std::str::FromStr for DayCursor {
    type Err = String;

    fn from_str(s: &str) -> Result<DayCursor, String> {
        let bad = || format!("{s:?} is not a cursor this server gave");
        let (at, id) = s.split_once('_').ok_or_else(bad)?;
        Ok(DayCursor {
            created_at: Timestamp::from_millis(at.parse().map_err(|_| bad())?),
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentWrite {
    Created,
    Unchanged,
    /// A different report for a known reference; the stored one stays.
    Conflict(Box<PaymentReport>),
}

/// What `PUT /refunds/{id}` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The order's rule, as for orders: created, replaced, unchanged, stale,
    /// conflict, or another register's refund.
    Upsert(Upsert),
    /// The back office has no such order (yet): nothing stored.
    OrderUnknown,
    /// The refund goes beyond what its order allows: nothing stored.
    Refused(RefundError),
}

#[derive(Debug, Clone)]
pub struct RefundResult {
    pub outcome: RefundOutcome,
    /// The refund as stored after the call (the newer one when stale).
    pub stored: Option<Refund>,
}

impl RefundResult {
    /// Whether the refund sent is to be written.
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self.outcome,
            RefundOutcome::Upsert(Upsert::Created | Upsert::Replaced)
        )
    }
}

/// The rule of `PUT /refunds/{id}`, given the stored row of this refund,
/// its order and the order's refunds: the order's idempotency rule, and a
/// refund to be written must fit what its order still allows.
/// A refund's own checks: against its order and the order's other
/// refunds, or (a return without a receipt) against its items.
fn validate_refund(
    refund: &Refund,
    order: Option<&Order>,
    others: &[Refund],
) -> Result<(), till_core::refund::RefundError> {
    match order {
        Some(order) => refund.validate_against(order, others),
        None => refund.validate_without_receipt(),
    }
}

pub(crate) fn decide_refund(
    refund: &Refund,
    body: &str,
    stored: Option<&StoredRow>,
    order: Option<&Order>,
    others: &[Refund],
) -> Result<RefundResult, StoreError> {
    let kept = |outcome| -> Result<RefundResult, StoreError> {
        let stored = match stored {
            Some(row) => Some(serde_json::from_str(&row.body)?),
            None => None,
        };
        Ok(RefundResult { outcome, stored })
    };
    if refund.order_id.is_some() && order.is_none() {
        return kept(RefundOutcome::OrderUnknown);
    }
    let register = refund.number.register().as_str();
    let outcome = decide(
        stored.map(StoredRow::as_version),
        register,
        refund.version,
        body,
    );
    if let (Upsert::Replaced, Some(row)) = (outcome, stored) {
        let before: Refund = serde_json::from_str(&row.body)?;
        if let Err(e) = before.check_next(refund) {
            return kept(RefundOutcome::Refused(e));
        }
    }
    match outcome {
        Upsert::Created | Upsert::Replaced => match validate_refund(refund, order, others) {
            Ok(()) => Ok(RefundResult {
                outcome: RefundOutcome::Upsert(outcome),
                stored: Some(refund.clone()),
            }),
            Err(e) => kept(RefundOutcome::Refused(e)),
        },
        Upsert::Unchanged => Ok(RefundResult {
            outcome: RefundOutcome::Upsert(outcome),
            stored: Some(refund.clone()),
        }),
        other => kept(RefundOutcome::Upsert(other)),
    }
}

/// Appends a stored version of an order to its history: id, version,
/// received at, register, token fingerprint, body.
pub(crate) const ORDER_HISTORY: &str =
    "INSERT INTO order_history (order_id, version, received_at, register, token, body)
     VALUES ($1, $2, $3, $4, $5, $6)";
/// Appends a stored version of a refund to its history: id, version,
/// received at, register, token fingerprint, body (both engines).
pub(crate) const REFUND_HISTORY: &str =
    "INSERT INTO refund_history (refund_id, version, received_at, register, token, body)
     VALUES ($1, $2, $3, $4, $5, $6)";
/// Appends a stored version of a shift to its history, likewise.
pub(crate) const SHIFT_HISTORY: &str =
    "INSERT INTO shift_history (shift_id, version, received_at, register, token, body)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// What storing a shift did, and the shift as stored after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftResult {
    pub outcome: Upsert,
    pub stored: Option<Shift>,
    /// A newer version that rewrites the stored one ([`Shift::check_next`]):
    /// nothing is written.
    pub refused: Option<ShiftError>,
}

impl ShiftResult {
    pub(crate) fn writes(&self) -> bool {
        self.refused.is_none() && matches!(self.outcome, Upsert::Created | Upsert::Replaced)
    }
}

/// The rule of a shift's upsert: the orders' ([`decide`]), given its
/// stored row; a newer version may only add to the stored one.
pub(crate) fn decide_shift(
    shift: &Shift,
    body: &str,
    stored: Option<&StoredRow>,
) -> Result<ShiftResult, StoreError> {
    let register = shift.register.as_str();
    let outcome = decide(
        stored.map(StoredRow::as_version),
        register,
        shift.version,
        body,
    );
    if let (Upsert::Replaced, Some(row)) = (outcome, stored) {
        let before: Shift = serde_json::from_str(&row.body)?;
        if let Err(e) = before.check_next(shift) {
            return Ok(ShiftResult {
                outcome,
                stored: Some(before),
                refused: Some(e),
            });
        }
    }
    let stored = match (outcome, stored) {
        (Upsert::Created | Upsert::Replaced | Upsert::Unchanged, _) => Some(shift.clone()),
        (_, Some(row)) => Some(serde_json::from_str(&row.body)?),
        (_, None) => None,
    };
    Ok(ShiftResult {
        outcome,
        stored,
        refused: None,
    })
}

pub trait Store: journal::JournalStore + pins::PinStore + Send + Sync + 'static {
    fn catalog_meta(&self) -> Result<Option<CatalogMeta>, StoreError>;
    /// One product of the catalog in force, if it has it.
    fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError>;
    /// Products with ids after `cursor`, in id order, at most `limit`.
    fn catalog_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Option<RawCatalogPage>, StoreError>;
    fn replace_catalog(&self, data: &CatalogData) -> Result<CatalogMeta, StoreError>;
    /// Upserts every order in one transaction; one result per order, in
    /// order. Each version stored is appended to the order's history with
    /// its writer.
    fn upsert_orders(
        &self,
        orders: &[Order],
        writer: &Writer,
        now: Timestamp,
    ) -> Result<Vec<UpsertResult>, StoreError>;
    /// Every version stored of an order, oldest first; never rewritten.
    fn order_history(&self, id: &OrderId) -> Result<Vec<HistoryEntry>, StoreError>;
    fn order(&self, id: &OrderId) -> Result<OrderLookup, StoreError>;
    /// The orders of these registers on one business day, oldest first
    /// (by creation, then id), after `after`, at most `limit`.
    fn orders_of_day(
        &self,
        registers: &[RegisterId],
        date: BusinessDate,
        after: Option<&DayCursor>,
        limit: usize,
    ) -> Result<Vec<StoredOrder>, StoreError>;
    fn record_payment(
        &self,
        report: &PaymentReport,
        now: Timestamp,
    ) -> Result<PaymentWrite, StoreError>;
    /// Stores a refund by [`decide_refund`], in one transaction that also
    /// reads its order and the order's refunds (and, on PostgreSQL, locks
    /// the order, so refunds of one order are decided one at a time).
    /// Each version stored is appended to the refund's history with its
    /// writer.
    fn upsert_refund(
        &self,
        refund: &Refund,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<RefundResult, StoreError>;
    /// One refund as stored (a return without a receipt has no order to
    /// find it by).
    fn refund(&self, id: &till_core::refund::RefundId) -> Result<Option<Refund>, StoreError>;
    /// Stores a shift by [`decide_shift`]; each version stored is appended
    /// to the shift's history with its writer.
    fn upsert_shift(
        &self,
        shift: &Shift,
        writer: &Writer,
        now: Timestamp,
    ) -> Result<ShiftResult, StoreError>;
    /// One shift as stored.
    fn shift(&self, id: &ShiftId) -> Result<Option<Shift>, StoreError>;
    /// The staff list by name (then id); disabled people too when `all`.
    fn staff(&self, all: bool) -> Result<Vec<StaffRow>, StoreError>;
    /// Adds a person working in `stores` (empty: every store); an id
    /// already taken is refused (with its owner's name).
    fn add_staff(
        &self,
        member: &StaffMember,
        stores: &[String],
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Enables or disables a person (`false` when there is no such id); a
    /// person disabled is kept with the time (`now`), which the exceptions
    /// report judges records by.
    fn set_staff_active(
        &self,
        id: &StaffId,
        active: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Replaces a person's PIN hash; `false` when nobody has the id.
    fn set_staff_pin(&self, id: &StaffId, pin_hash: &str) -> Result<bool, StoreError>;
    /// Everyone on the staff list, with their role and every time they
    /// were disabled: the exceptions report's staff list.
    fn staff_standing(&self) -> Result<StaffList, StoreError>;
    /// The orders and refunds that name a shift, as stored.
    fn records_of_shift(&self, shift: &ShiftId) -> Result<(Vec<Order>, Vec<Refund>), StoreError>;
    /// Every register the back office has heard of: enrolled or removed,
    /// or named by an order, refund or shift it holds.
    fn known_registers(&self) -> Result<Vec<RegisterId>, StoreError>;
    /// These registers' refunds of a business date (returns without a
    /// receipt included), in the order they were made.
    fn refunds_of_day(
        &self,
        registers: &[RegisterId],
        date: BusinessDate,
    ) -> Result<Vec<Refund>, StoreError>;
    /// These registers' shifts opened at or after `from` and before `to`.
    fn shifts_opened(
        &self,
        registers: &[RegisterId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Shift>, StoreError>;
    /// Keeps a new enrolment secret (its SHA-256), good until `expires`.
    fn add_enrolment(
        &self,
        secret_sha256: &str,
        register: Option<&RegisterId>,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError>;
    /// Trades a secret for a register by [`registers::decide_enrolment`],
    /// in one transaction that marks the secret used and writes the
    /// register. `configured`: the ids given by `--register-token`.
    fn enrol(
        &self,
        new: &registers::NewRegister,
        configured: &[RegisterId],
        now: Timestamp,
    ) -> Result<Result<RegisterId, registers::EnrolRefusal>, StoreError>;
    /// Every register known: enrolled, removed, or seen by its orders.
    fn registers(&self) -> Result<Vec<registers::RegisterRow>, StoreError>;
    /// Removes a register: its tokens are refused from its next request.
    fn revoke_register(
        &self,
        id: &RegisterId,
        now: Timestamp,
    ) -> Result<registers::Revocation, StoreError>;
    /// The enrolled register whose token has this SHA-256.
    fn token_owner(&self, token_sha256: &str) -> Result<Option<registers::TokenOwner>, StoreError>;
    /// Whether the back office removed this register.
    fn is_revoked(&self, id: &RegisterId) -> Result<bool, StoreError>;
}

/// A person on the staff list, as the back office holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    pub member: StaffMember,
    pub active: bool,
    /// The stores they work in; empty: every store.
    pub stores: Vec<String>,
}

impl StaffRow {
    /// Whether a register of `store` (`None`: of no configured store) gets
    /// this person: those of every store go to every register, the others
    /// only to their stores' registers.
    pub fn works_in(&self, store: Option<&str>) -> bool {
        till_core::audit::works_in(&self.stores, store)
    }
}

/// The `stores` column of a person of these stores (`NULL`: every store).
pub(crate) fn stores_column(stores: &[String]) -> Option<String> {
    (!stores.is_empty()).then(|| stores.join(","))
}

/// A `staff` row as the exceptions report reads it, with every enable and
/// disable `staff_changes` holds of them (`(at, active)`, oldest first).
/// One disabled with no change recorded counts as disabled since the
/// epoch.
pub(crate) fn standing_row(
    id: String,
    role: &str,
    active: bool,
    changes: &[(i64, bool)],
    stores: Option<String>,
) -> Result<(StaffId, Standing), StoreError> {
    let bad = |what: String| StoreError(format!("staff row {id:?}: {what}"));
    let role = role_of(role).ok_or_else(|| bad(format!("unknown role {role:?}")))?;
    let changes: Vec<(Timestamp, bool)> = changes
        .iter()
        .map(|&(at, active)| (Timestamp::from_millis(at), active))
        .collect();
    let mut disabled = till_core::audit::disabled_periods(&changes);
    if !active && disabled.last().is_none_or(|d| d.until.is_some()) {
        disabled.push(till_core::audit::Disabled {
            since: Timestamp::from_millis(0),
            until: None,
        });
    }
    let staff_id = StaffId::new(id.clone()).map_err(|e| bad(e.to_string()))?;
    let standing = Standing {
        role,
        disabled,
        stores: stores_of(stores),
    };
    Ok((staff_id, standing))
}

/// Each person's changes of standing, `(at, active)` oldest first, from
/// rows of `staff_changes` (`staff_id, at, active`) in that order.
pub(crate) fn changes_by_staff(
    rows: impl IntoIterator<Item = (String, i64, bool)>,
) -> BTreeMap<String, Vec<(i64, bool)>> {
    let mut by_staff: BTreeMap<String, Vec<(i64, bool)>> = BTreeMap::new();
    for (id, at, active) in rows {
        by_staff.entry(id).or_default().push((at, active));
    }
    by_staff
}

/// A role as the `staff` table spells it, read back.
fn role_of(column: &str) -> Option<Role> {
    match column {
        "cashier" => Some(Role::Cashier),
        "manager" => Some(Role::Manager),
        _ => None,
    }
}

/// The `stores` column read back: empty for every store.
fn stores_of(column: Option<String>) -> Vec<String> {
    column
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A role as the `staff` table spells it.
pub(crate) fn role_column(role: Role) -> &'static str {
    match role {
        Role::Cashier => "cashier",
        Role::Manager => "manager",
    }
}

/// A `staff` row read back; a row the checks would not have let in is an
/// error naming it.
pub(crate) fn staff_row(
    id: String,
    name: String,
    role: &str,
    pin_hash: String,
    active: bool,
    stores: Option<String>,
) -> Result<StaffRow, StoreError> {
    let bad = |what: &str| StoreError(format!("staff row {id:?}: {what}"));
    let role = role_of(role).ok_or_else(|| bad("unknown role"))?;
    let member = StaffMember {
        id: StaffId::new(id.clone()).map_err(|e| bad(&e.to_string()))?,
        name,
        role,
        pin_hash,
    };
    Ok(StaffRow {
        member,
        active,
        stores: stores_of(stores),
    })
}

pub(crate) fn staff_taken(id: &StaffId, name: &str) -> StoreError {
    StoreError(format!("staff id {id} is already taken (by {name})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_rule() {
        let at = |version, register, body| {
            Some(StoredVersion {
                version,
                register,
                body,
            })
        };
        assert_eq!(decide(None, "R1", 1, "a"), Upsert::Created);
        assert_eq!(decide(at(1, "R1", "a"), "R1", 2, "b"), Upsert::Replaced);
        assert_eq!(decide(at(2, "R1", "b"), "R1", 1, "a"), Upsert::Stale);
        assert_eq!(decide(at(2, "R1", "b"), "R1", 2, "b"), Upsert::Unchanged);
        assert_eq!(decide(at(2, "R1", "b"), "R1", 2, "c"), Upsert::Conflict);
        assert_eq!(
            decide(at(1, "R1", "a"), "R2", 9, "z"),
            Upsert::OtherRegister
        );
        assert_eq!(
            decide(at(1, "R1", "a"), "R2", 1, "a"),
            Upsert::OtherRegister
        );
    }
}
