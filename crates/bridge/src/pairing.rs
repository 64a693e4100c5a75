//! Pairing by code: each register gets a token of its own.
//!
//! The bridge shows a 6-digit code (printed at start, on its local admin
//! page `/pair`, and by `till-bridge pairings code`), valid for
//! [`CODE_TTL`]. The cashier types it with the bridge's address in the
//! register's Settings; `POST /v1/pairings` trades it for a token that
//! register alone holds. A code is used once; [`CODE_TRIES`] wrong codes
//! withdraw it, so six digits cannot be guessed through the API.
//!
//! Pairings live in their own SQLite file in the data folder, which the
//! running bridge and the `till-bridge pairings` commands share: a token
//! revoked from the command line is refused by the very next request. Only
//! a token's SHA-256 is kept.

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Mutex;
use till_core::time::{Duration, Timestamp};

/// The pairings file inside the data folder.
pub const PAIRINGS_FILE: &str = "pairings.sqlite3";
/// How long a code may be used.
pub const CODE_TTL: Duration = Duration::from_secs(5 * 60);
/// Wrong codes tried before the code is withdrawn.
pub const CODE_TRIES: u32 = 5;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pairings (
    id          TEXT PRIMARY KEY,
    register    TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    paired_at   INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE TABLE IF NOT EXISTS pairing_code (
    one         INTEGER PRIMARY KEY CHECK (one = 1),
    code        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    wrong       INTEGER NOT NULL DEFAULT 0
);
";

/// A code as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub digits: String,
    pub expires_at: Timestamp,
}

impl Code {
    /// `123 456`: easier to read out and type.
    pub fn spaced(&self) -> String {
        format!("{} {}", &self.digits[..3], &self.digits[3..])
    }
}

/// One register's pairing, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub id: String,
    pub register: String,
    pub paired_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// What a presented token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Paired { id: String },
    Revoked,
    Unknown,
}

/// Why a code was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairError {
    /// Wrong or expired; the code is withdrawn when `withdrawn`.
    WrongCode {
        withdrawn: bool,
    },
    /// The register's name is empty or too long.
    BadRegister,
    Storage(String),
}

pub struct Pairings {
    conn: Mutex<Connection>,
}

fn storage(e: rusqlite::Error) -> String {
    format!("pairings: {e}")
}

impl Pairings {
    pub fn open(path: &Path) -> Result<Pairings, String> {
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(storage)?;
        conn.execute_batch(SCHEMA).map_err(storage)?;
        Ok(Pairings {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new code, replacing any other.
    pub fn new_code(&self, now: Timestamp) -> Result<Code, String> {
        let code = Code {
            digits: format!("{:06}", rand::random_range(0..1_000_000u32)),
            expires_at: now + CODE_TTL,
        };
        self.conn()
            .execute(
                "INSERT INTO pairing_code (one, code, expires_at, wrong) VALUES (1, ?1, ?2, 0)
                 ON CONFLICT (one) DO UPDATE SET code = ?1, expires_at = ?2, wrong = 0",
                params![code.digits, code.expires_at.as_millis()],
            )
            .map_err(storage)?;
        Ok(code)
    }

    /// The code in force, if one is.
    pub fn code(&self, now: Timestamp) -> Result<Option<Code>, String> {
        let row: Option<(String, i64)> = self
            .conn()
            .query_row(
                "SELECT code, expires_at FROM pairing_code WHERE one = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(storage)?;
        Ok(row
            .map(|(digits, at)| Code {
                digits,
                expires_at: Timestamp::from_millis(at),
            })
            .filter(|c| c.expires_at > now))
    }

    /// The code in force, or a new one.
    pub fn code_or_new(&self, now: Timestamp) -> Result<Code, String> {
        match self.code(now)? {
            Some(code) => Ok(code),
            None => self.new_code(now),
        }
    }

    /// Trades the code in force for a new token for `register`. The code
    /// is used up; a wrong one counts toward [`CODE_TRIES`].
    pub fn pair(
        &self,
        code: &str,
        register: &str,
        now: Timestamp,
    ) -> Result<(String, String), PairError> {
        let register = register.trim();
        if register.is_empty() || register.chars().count() > 64 {
            return Err(PairError::BadRegister);
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(|e| PairError::Storage(storage(e)))?;
        let current: Option<(String, i64, u32)> = tx
            .query_row(
                "SELECT code, expires_at, wrong FROM pairing_code WHERE one = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| PairError::Storage(storage(e)))?;
        let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let Some((digits, expires_at, wrong)) = current else {
            return Err(PairError::WrongCode { withdrawn: false });
        };
        let valid = expires_at > now.as_millis();
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(typed.as_bytes(), digits.as_bytes()).into();
        if !(valid && matches) {
            let withdrawn = wrong + 1 >= CODE_TRIES || !valid;
            let sql = if withdrawn {
                "DELETE FROM pairing_code WHERE one = 1"
            } else {
                "UPDATE pairing_code SET wrong = wrong + 1 WHERE one = 1"
            };
            tx.execute(sql, [])
                .map_err(|e| PairError::Storage(storage(e)))?;
            tx.commit().map_err(|e| PairError::Storage(storage(e)))?;
            return Err(PairError::WrongCode { withdrawn });
        }
        let id = format!("p-{}", crate::made_up_token(8));
        let token = crate::made_up_token(32);
        tx.execute("DELETE FROM pairing_code WHERE one = 1", [])
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO pairings (id, register, token_hash, paired_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, register, token_hash(&token), now.as_millis()],
                )
            })
            .map_err(|e| PairError::Storage(storage(e)))?;
        tx.commit().map_err(|e| PairError::Storage(storage(e)))?;
        Ok((id, token))
    }

    /// What this token is: read from the file each time, so a revocation
    /// by another process counts at once.
    pub fn check(&self, token: &str) -> Result<Access, String> {
        let row: Option<(String, Option<i64>)> = self
            .conn()
            .query_row(
                "SELECT id, revoked_at FROM pairings WHERE token_hash = ?1",
                [token_hash(token)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(storage)?;
        Ok(match row {
            Some((id, None)) => Access::Paired { id },
            Some((_, Some(_))) => Access::Revoked,
            None => Access::Unknown,
        })
    }

    pub fn list(&self) -> Result<Vec<Pairing>, String> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, register, paired_at, revoked_at FROM pairings ORDER BY paired_at")
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Pairing {
                    id: r.get(0)?,
                    register: r.get(1)?,
                    paired_at: Timestamp::from_millis(r.get(2)?),
                    revoked_at: r.get::<_, Option<i64>>(3)?.map(Timestamp::from_millis),
                })
            })
            .map_err(storage)?;
        rows.collect::<Result<_, _>>().map_err(storage)
    }

    /// Revokes a pairing; `false` when there is none with this id.
    pub fn revoke(&self, id: &str, now: Timestamp) -> Result<bool, String> {
        let exists = self
            .conn()
            .execute(
                "UPDATE pairings SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, now.as_millis()],
            )
            .map_err(storage)?;
        Ok(exists == 1)
    }
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn pairings() -> (tempdir::Dir, Pairings) {
        let dir = tempdir::Dir::new();
        let p = Pairings::open(&dir.0.join(PAIRINGS_FILE)).expect("open");
        (dir, p)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!("till-pairing-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&p).expect("temp dir");
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_code_pairs_once_and_its_token_works_until_revoked() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        assert_eq!(code.digits.len(), 6);
        let (id, token) = p.pair(&code.spaced(), "R1", at(1000)).expect("paired");
        assert_eq!(
            p.check(&token).expect("check"),
            Access::Paired { id: id.clone() }
        );
        // Used up: the same code pairs nobody else.
        assert_eq!(
            p.pair(&code.digits, "R2", at(2000)),
            Err(PairError::WrongCode { withdrawn: false })
        );
        assert!(p.revoke(&id, at(3000)).expect("revoke"));
        assert_eq!(p.check(&token).expect("check"), Access::Revoked);
        assert!(!p.revoke("p-none", at(3000)).expect("revoke"));
        assert_eq!(p.check("another").expect("check"), Access::Unknown);
        let listed = p.list().expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].register, "R1");
        assert_eq!(listed[0].revoked_at, Some(at(3000)));
    }

    #[test]
    fn an_expired_code_is_refused_and_withdrawn() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        let late = at(0) + CODE_TTL;
        assert_eq!(
            p.pair(&code.digits, "R1", late),
            Err(PairError::WrongCode { withdrawn: true })
        );
        assert_eq!(p.code(late).expect("code"), None);
    }

    #[test]
    fn wrong_codes_withdraw_the_code_after_the_last_try() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        let wrong = if code.digits == "000000" {
            "000001"
        } else {
            "000000"
        };
        for _ in 1..CODE_TRIES {
            assert_eq!(
                p.pair(wrong, "R1", at(1)),
                Err(PairError::WrongCode { withdrawn: false })
            );
        }
        assert_eq!(
            p.pair(wrong, "R1", at(1)),
            Err(PairError::WrongCode { withdrawn: true })
        );
        // Even the right code is no use now.
        assert!(p.pair(&code.digits, "R1", at(2)).is_err());
        assert!(p.list().expect("list").is_empty());
    }

    #[test]
    fn a_register_name_is_needed() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        assert_eq!(
            p.pair(&code.digits, "  ", at(1)),
            Err(PairError::BadRegister)
        );
    }
}
