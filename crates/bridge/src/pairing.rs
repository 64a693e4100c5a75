//! Pairing by code: each register gets a token of its own.
//!
//! The bridge shows a 6-digit code (printed at start, on its local admin
//! page `/pair`, and by `till-bridge pairings code`), valid for
//! [`CODE_TTL`]. The cashier types it with the bridge's address in the
//! register's Settings; `POST /v1/pairings` trades it for a token that
//! register alone holds. A code is used once, and only the bridge's own
//! machine makes a new one.
//!
//! Wrong codes are counted per peer (an IPv4 address, or an IPv6 /64, which
//! one host on the LAN can fill with addresses of its own): after
//! [`CODE_TRIES`] the peer cools down ([`cool_down`]: 1 min, 5 min,
//! 15 min, 1 h, then 4 h), and the code stays good for everyone else, so a
//! guesser neither gets many tries nor blocks the cashier who has the code.
//! [`CODE_WRONG_TOTAL`] wrong tries from all peers together withdraw the
//! code: six digits cannot be guessed through the API from many addresses
//! either.
//!
//! Pairings live in their own SQLite file in the data folder, which the
//! running bridge and the `till-bridge pairings` commands share: a token
//! revoked from the command line is refused by the very next request. Only
//! a token's SHA-256 is kept.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use till_core::time::{Duration, Timestamp};

/// The pairings file inside the data folder.
pub const PAIRINGS_FILE: &str = "pairings.sqlite3";
/// How long a code may be used.
pub const CODE_TTL: Duration = Duration::from_secs(5 * 60);
/// Wrong codes one peer may try before it cools down.
pub const CODE_TRIES: u32 = 5;
/// Wrong codes from all peers together that withdraw the code.
pub const CODE_WRONG_TOTAL: u32 = 25;
/// A peer's cool-downs are forgotten this long after its last one ended.
pub const PEER_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a peer waits after its `n`-th (from 1) run of wrong codes.
pub fn cool_down(n: u32) -> Duration {
    let minutes = match n {
        0 | 1 => 1,
        2 => 5,
        3 => 15,
        4 => 60,
        _ => 240,
    };
    Duration::from_secs(minutes * 60)
}

/// The key wrong tries are counted under: an IPv4 address, or the /64 of an
/// IPv6 address (a host picks addresses in its /64 at will).
pub fn peer_key(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

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
CREATE TABLE IF NOT EXISTS pairing_peers (
    peer        TEXT PRIMARY KEY,
    wrong       INTEGER NOT NULL,
    cool_downs  INTEGER NOT NULL,
    until       INTEGER NOT NULL,
    last        INTEGER NOT NULL
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
    Paired { id: String, register: String },
    Revoked,
    Unknown,
}

/// Why a code was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairError {
    /// Wrong or expired; the code is withdrawn when `withdrawn`, and this
    /// peer may try again at `cooling_until` when that is set.
    WrongCode {
        withdrawn: bool,
        cooling_until: Option<Timestamp>,
    },
    /// This peer tried too many wrong codes: nothing was checked.
    CoolingDown {
        until: Timestamp,
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

    /// Trades the code in force for a new token for `register`, asked by
    /// `peer` ([`peer_key`]). The code is used up; a wrong one counts
    /// toward the peer's [`CODE_TRIES`] and the code's [`CODE_WRONG_TOTAL`].
    pub fn pair(
        &self,
        code: &str,
        register: &str,
        peer: &str,
        now: Timestamp,
    ) -> Result<(String, String), PairError> {
        let register = register.trim();
        if register.is_empty() || register.chars().count() > 64 {
            return Err(PairError::BadRegister);
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(pair_storage)?;
        let tries = PeerTries::read(&tx, peer, now).map_err(pair_storage)?;
        if tries.until > now.as_millis() {
            return Err(PairError::CoolingDown {
                until: Timestamp::from_millis(tries.until),
            });
        }
        let current: Option<(String, i64, u32)> = tx
            .query_row(
                "SELECT code, expires_at, wrong FROM pairing_code WHERE one = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(pair_storage)?;
        let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let right = current.as_ref().is_some_and(|(digits, expires_at, _)| {
            *expires_at > now.as_millis()
                && bool::from(subtle::ConstantTimeEq::ct_eq(
                    typed.as_bytes(),
                    digits.as_bytes(),
                ))
        });
        if !right {
            let refused = wrong_try(&tx, current.map(|c| (c.1, c.2)), tries, peer, now)
                .map_err(pair_storage)?;
            tx.commit().map_err(pair_storage)?;
            return Err(refused);
        }
        let id = format!("p-{}", crate::made_up_token(8));
        let token = crate::made_up_token(32);
        tx.execute("DELETE FROM pairing_code WHERE one = 1", [])
            .and_then(|_| tx.execute("DELETE FROM pairing_peers WHERE peer = ?1", [peer]))
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO pairings (id, register, token_hash, paired_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, register, till_http::secret::sha256_hex(&token), now.as_millis()],
                )
            })
            .map_err(pair_storage)?;
        tx.commit().map_err(pair_storage)?;
        Ok((id, token))
    }

    /// What this token is: read from the file each time, so a revocation
    /// by another process counts at once.
    pub fn check(&self, token: &str) -> Result<Access, String> {
        let row: Option<(String, String, Option<i64>)> = self
            .conn()
            .query_row(
                "SELECT id, register, revoked_at FROM pairings WHERE token_hash = ?1",
                [till_http::secret::sha256_hex(token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(storage)?;
        Ok(match row {
            Some((id, register, None)) => Access::Paired { id, register },
            Some((_, _, Some(_))) => Access::Revoked,
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

fn pair_storage(e: rusqlite::Error) -> PairError {
    PairError::Storage(storage(e))
}

/// One peer's wrong codes since its last cool-down.
#[derive(Debug, Clone, Copy, Default)]
struct PeerTries {
    wrong: u32,
    cool_downs: u32,
    /// Until when it cools down (ms).
    until: i64,
}

impl PeerTries {
    /// The peer's count, forgotten [`PEER_MEMORY`] after its last wrong try.
    fn read(tx: &Connection, peer: &str, now: Timestamp) -> rusqlite::Result<PeerTries> {
        let row: Option<(u32, u32, i64, i64)> = tx
            .query_row(
                "SELECT wrong, cool_downs, until, last FROM pairing_peers WHERE peer = ?1",
                [peer],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(match row {
            Some((_, _, until, last))
                if now.saturating_since(Timestamp::from_millis(until.max(last))) > PEER_MEMORY =>
            {
                PeerTries::default()
            }
            Some((wrong, cool_downs, until, _)) => PeerTries {
                wrong,
                cool_downs,
                until,
            },
            None => PeerTries::default(),
        })
    }
}

/// Counts a wrong (or expired, or absent) code against the peer and the
/// code, and says what to answer.
fn wrong_try(
    tx: &Connection,
    code: Option<(i64, u32)>,
    tries: PeerTries,
    peer: &str,
    now: Timestamp,
) -> rusqlite::Result<PairError> {
    let withdrawn = match code {
        None => false,
        Some((expires_at, wrong)) => {
            let withdraw = expires_at <= now.as_millis() || wrong + 1 >= CODE_WRONG_TOTAL;
            let sql = if withdraw {
                "DELETE FROM pairing_code WHERE one = 1"
            } else {
                "UPDATE pairing_code SET wrong = wrong + 1 WHERE one = 1"
            };
            tx.execute(sql, [])?;
            withdraw
        }
    };
    let mut next = PeerTries {
        wrong: tries.wrong + 1,
        ..tries
    };
    let mut cooling_until = None;
    if next.wrong >= CODE_TRIES {
        next.cool_downs += 1;
        next.wrong = 0;
        let until = now + cool_down(next.cool_downs);
        next.until = until.as_millis();
        cooling_until = Some(until);
    }
    tx.execute(
        "INSERT INTO pairing_peers (peer, wrong, cool_downs, until, last) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (peer) DO UPDATE SET wrong = ?2, cool_downs = ?3, until = ?4, last = ?5",
        params![peer, next.wrong, next.cool_downs, next.until, now.as_millis()],
    )?;
    Ok(PairError::WrongCode {
        withdrawn,
        cooling_until,
    })
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

    const PEER: &str = "192.168.1.20";

    #[test]
    fn a_code_pairs_once_and_its_token_works_until_revoked() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        assert_eq!(code.digits.len(), 6);
        let (id, token) = p
            .pair(&code.spaced(), "R1", PEER, at(1000))
            .expect("paired");
        assert_eq!(
            p.check(&token).expect("check"),
            Access::Paired {
                id: id.clone(),
                register: "R1".into()
            }
        );
        // Used up: the same code pairs nobody else.
        assert_eq!(
            p.pair(&code.digits, "R2", PEER, at(2000)),
            Err(PairError::WrongCode {
                withdrawn: false,
                cooling_until: None
            })
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
            p.pair(&code.digits, "R1", PEER, late),
            Err(PairError::WrongCode {
                withdrawn: true,
                cooling_until: None
            })
        );
        assert_eq!(p.code(late).expect("code"), None);
    }

    fn wrong_for(code: &Code) -> &'static str {
        if code.digits == "000000" {
            "000001"
        } else {
            "000000"
        }
    }

    #[test]
    fn a_peer_cools_down_after_its_wrong_codes_and_others_still_pair() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        let wrong = wrong_for(&code);
        for _ in 1..CODE_TRIES {
            assert_eq!(
                p.pair(wrong, "R1", "192.168.1.66", at(1)),
                Err(PairError::WrongCode {
                    withdrawn: false,
                    cooling_until: None
                })
            );
        }
        let until = at(1) + cool_down(1);
        assert_eq!(
            p.pair(wrong, "R1", "192.168.1.66", at(1)),
            Err(PairError::WrongCode {
                withdrawn: false,
                cooling_until: Some(until)
            })
        );
        // Cooling down: even the right code is not looked at.
        assert_eq!(
            p.pair(&code.digits, "R1", "192.168.1.66", at(2)),
            Err(PairError::CoolingDown { until })
        );
        // The cashier's tablet, another peer, pairs with the code.
        assert!(p.pair(&code.digits, "R1", "192.168.1.20", at(3)).is_ok());
    }

    #[test]
    fn each_cool_down_is_longer_than_the_last() {
        let (_d, p) = pairings();
        let mut now = at(0);
        let mut last = Duration::from_secs(0);
        for n in 1..=6 {
            let code = p.new_code(now).expect("code");
            let mut answer = None;
            for _ in 0..CODE_TRIES {
                answer = Some(p.pair(wrong_for(&code), "R1", PEER, now));
            }
            let Some(Err(PairError::WrongCode {
                cooling_until: Some(until),
                ..
            })) = answer
            else {
                panic!("run {n}: {answer:?}");
            };
            let length = until.saturating_since(now);
            assert_eq!(length, cool_down(n));
            assert!(length >= last, "run {n}: {length:?} after {last:?}");
            last = length;
            now = until;
        }
        assert_eq!(last, Duration::from_secs(4 * 60 * 60));
        // A day after its last wrong try, the peer starts afresh.
        let later = now + PEER_MEMORY + Duration::from_secs(1);
        let code = p.new_code(later).expect("code");
        for _ in 0..CODE_TRIES {
            let _ = p.pair(wrong_for(&code), "R1", PEER, later);
        }
        let code = p.new_code(later).expect("code");
        let mut answer = None;
        for _ in 0..CODE_TRIES {
            answer = Some(p.pair(wrong_for(&code), "R1", PEER, later + cool_down(1)));
        }
        assert!(
            matches!(answer, Some(Err(PairError::WrongCode { cooling_until: Some(u), .. })) if u == later + cool_down(1) + cool_down(2)),
            "{answer:?}"
        );
    }

    #[test]
    fn many_peers_together_withdraw_the_code() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        let wrong = wrong_for(&code);
        let mut withdrawn = false;
        for n in 0..CODE_WRONG_TOTAL {
            let peer = format!("192.168.1.{}", 100 + n / CODE_TRIES);
            match p.pair(wrong, "R1", &peer, at(1)) {
                Err(PairError::WrongCode { withdrawn: w, .. }) => withdrawn = w,
                other => panic!("try {n}: {other:?}"),
            }
            assert_eq!(withdrawn, n + 1 == CODE_WRONG_TOTAL, "try {n}");
        }
        assert!(withdrawn);
        assert!(p.pair(&code.digits, "R1", "192.168.1.20", at(2)).is_err());
        assert!(p.list().expect("list").is_empty());
    }

    #[test]
    fn an_ipv6_host_is_one_peer_whatever_address_of_its_64_it_takes() {
        let key = |s: &str| peer_key(s.parse().expect("address"));
        assert_eq!(key("2001:db8:1:2::5"), key("2001:db8:1:2:abcd::9"));
        assert_ne!(key("2001:db8:1:2::5"), key("2001:db8:1:3::5"));
        assert_eq!(key("::ffff:192.168.1.20"), "192.168.1.20");
        assert_ne!(key("192.168.1.20"), key("192.168.1.21"));
    }

    #[test]
    fn a_register_name_is_needed() {
        let (_d, p) = pairings();
        let code = p.new_code(at(0)).expect("code");
        assert_eq!(
            p.pair(&code.digits, "  ", PEER, at(1)),
            Err(PairError::BadRegister)
        );
    }
}
