//! Who is calling: a register, the bridge, or the back office.
//!
//! Each register has its own token, so a lost tablet is revoked alone; the
//! bridge has one of its own and may only report payments; the back-office
//! token reads everything (every register's orders, and their history) and
//! writes nothing. Tokens are compared in constant time (`subtle`), are at
//! least [`TOKEN_LEN_MIN`] characters, and no two callers share one.

use crate::error::AppError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use till_core::order::RegisterId;

/// The shortest token accepted at start.
pub const TOKEN_LEN_MIN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A register, and the fingerprint of the token it presented.
    Register(RegisterId, String),
    Bridge,
    BackOffice,
}

/// The configured tokens, checked by [`Tokens::new`].
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    registers: Vec<(RegisterId, String)>,
    bridge: Option<String>,
    admin: Option<String>,
}

impl Tokens {
    /// Refuses a token shorter than [`TOKEN_LEN_MIN`] and a token given to
    /// two callers (the OMS could not tell them apart).
    pub fn new(
        registers: Vec<(RegisterId, String)>,
        bridge: Option<String>,
        admin: Option<String>,
    ) -> Result<Tokens, String> {
        let mut named: Vec<(String, &str)> = registers
            .iter()
            .map(|(id, t)| (format!("register {id}"), t.as_str()))
            .collect();
        named.extend(bridge.as_deref().map(|t| ("the bridge".to_owned(), t)));
        named.extend(admin.as_deref().map(|t| ("the back office".to_owned(), t)));
        for (i, (who, token)) in named.iter().enumerate() {
            if token.chars().count() < TOKEN_LEN_MIN {
                return Err(format!(
                    "the token of {who} is shorter than {TOKEN_LEN_MIN} characters"
                ));
            }
            if let Some((other, _)) = named[..i].iter().find(|(_, t)| t == token) {
                return Err(format!("{other} and {who} have the same token"));
            }
        }
        let mut ids: Vec<&RegisterId> = registers.iter().map(|(id, _)| id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("register {} is given twice", w[0]));
        }
        Ok(Tokens {
            registers,
            bridge,
            admin,
        })
    }

    /// Parses `R1=token,R2=token` (the `--register-token` list may also be
    /// given one pair at a time).
    pub fn parse_register_pairs(pairs: &[String]) -> Result<Vec<(RegisterId, String)>, String> {
        let mut out = Vec::new();
        for pair in pairs
            .iter()
            .flat_map(|p| p.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (id, token) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?}: expected REGISTER=TOKEN"))?;
            let id = RegisterId::new(id.trim()).map_err(|e| format!("{pair:?}: {e}"))?;
            out.push((id, token.trim().to_owned()));
        }
        Ok(out)
    }

    pub fn registers(&self) -> impl Iterator<Item = &RegisterId> {
        self.registers.iter().map(|(id, _)| id)
    }

    fn find(&self, presented: &str) -> Option<Caller> {
        let p = presented.as_bytes();
        let mut found = None;
        // Look at every token whatever matches, so timing says nothing.
        for (id, token) in &self.registers {
            if bool::from(token.as_bytes().ct_eq(p)) {
                found = Some(Caller::Register(id.clone(), fingerprint(token)));
            }
        }
        if let Some(b) = &self.bridge {
            if bool::from(b.as_bytes().ct_eq(p)) {
                found = Some(Caller::Bridge);
            }
        }
        if let Some(a) = &self.admin {
            if bool::from(a.as_bytes().ct_eq(p)) {
                found = Some(Caller::BackOffice);
            }
        }
        found
    }
}

/// Names a token without revealing it: what the order history records, so
/// an owner can tell which of a register's tokens (before or after a
/// rotation) wrote a version.
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The bearer token of a request, or why there is none.
fn presented(parts: &Parts) -> Result<&str, AppError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| AppError::unauthorized("missing Authorization: Bearer <register token>"))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            AppError::unauthorized("the Authorization header must be: Bearer <register token>")
        })
}

/// The address a request came from (empty when the server does not say).
pub struct Peer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer(peer_of(parts)))
    }
}

fn peer_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// The 401 of a register the back office removed.
fn removed() -> AppError {
    AppError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        till_core::api::REGISTER_REMOVED_CODE,
        till_core::api::REGISTER_REMOVED,
    )
}

/// Who holds `token`: a configured caller, or an enrolled register; a
/// removed register is refused whichever token it shows.
async fn identify(state: &AppState, token: &str) -> Result<Caller, AppError> {
    let caller = match state.tokens.find(token) {
        Some(caller) => caller,
        None => {
            let sha = till_http::secret::sha256_hex(token);
            let owner = crate::api::blocking(&state.store, move |s| s.token_owner(&sha)).await?;
            return match owner {
                Some(o) if o.revoked => Err(removed()),
                Some(o) => Ok(Caller::Register(o.id, o.fingerprint)),
                None => Err(AppError::unauthorized("unknown token")),
            };
        }
    };
    if let Caller::Register(id, _) = &caller {
        let id = id.clone();
        if crate::api::blocking(&state.store, move |s| s.is_revoked(&id)).await? {
            return Err(removed());
        }
    }
    Ok(caller)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, AppError> {
        let found = match presented(parts) {
            Ok(token) => identify(state, token.trim()).await,
            Err(e) => Err(e),
        };
        if let Err(refused) = &found {
            // The security log: who was refused, never what they sent.
            let peer = peer_of(parts);
            let path = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or(parts.uri.path(), |u| u.0.path());
            tracing::warn!(
                peer,
                path,
                why = %refused.body.message,
                "token refused"
            );
        }
        found
    }
}

/// Who wrote an order version: kept in its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    pub register: RegisterId,
    pub token: String,
}

impl Caller {
    /// The register writing orders (only registers write them).
    pub fn writer(&self) -> Result<Writer, AppError> {
        match self {
            Caller::Register(r, token) => Ok(Writer {
                register: r.clone(),
                token: token.clone(),
            }),
            Caller::Bridge => Err(AppError::forbidden(
                "the bridge's token may only report payments",
            )),
            Caller::BackOffice => Err(AppError::forbidden(
                "the back-office token reads; orders are written by registers",
            )),
        }
    }

    /// May this caller read the staff list with its PIN hashes? Registers
    /// only: they check PINs offline.
    pub fn register(&self) -> Result<(), AppError> {
        match self {
            Caller::Register(..) => Ok(()),
            _ => Err(AppError::forbidden(
                "only registers read the staff list (it carries PIN hashes)",
            )),
        }
    }

    /// May this caller read the catalog (registers, and the back office)?
    pub fn reader(&self) -> Result<(), AppError> {
        match self {
            Caller::Bridge => Err(AppError::forbidden(
                "the bridge's token may only report payments",
            )),
            _ => Ok(()),
        }
    }

    /// May this caller read `register`'s orders? A register reads its own;
    /// the back office reads all.
    pub fn may_read(&self, register: &RegisterId) -> Result<(), AppError> {
        match self {
            Caller::BackOffice => Ok(()),
            Caller::Register(r, _) if r == register => Ok(()),
            Caller::Register(r, _) => Err(AppError::forbidden(format!(
                "this token belongs to register {r}; it reads only its own orders"
            ))),
            Caller::Bridge => Err(AppError::forbidden(
                "the bridge's token may only report payments",
            )),
        }
    }

    pub fn back_office(&self) -> Result<(), AppError> {
        match self {
            Caller::BackOffice => Ok(()),
            _ => Err(AppError::forbidden("only the back-office token reads this")),
        }
    }

    pub fn bridge(&self) -> Result<(), AppError> {
        match self {
            Caller::Bridge => Ok(()),
            _ => Err(AppError::forbidden("only the bridge reports payments")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str) -> RegisterId {
        RegisterId::new(id).unwrap()
    }

    #[test]
    fn parses_register_tokens() {
        let t = Tokens::parse_register_pairs(&[
            "R1=abcdefghabcdefgh, R2=ijklmnopijklmnop".into(),
            "R3=qrstuvwxqrstuvwx".into(),
        ])
        .unwrap();
        assert_eq!(t.len(), 3);
        assert!(Tokens::parse_register_pairs(&["R1".into()]).is_err());
        assert!(Tokens::parse_register_pairs(&["R-1=abcdefghabcdefgh".into()]).is_err());
    }

    #[test]
    fn short_and_shared_tokens_are_refused() {
        let long = "abcdefghabcdefgh".to_owned();
        let e = Tokens::new(vec![(r("R1"), "short".into())], None, None).unwrap_err();
        assert!(e.contains("shorter than 16"), "{e}");
        let e = Tokens::new(vec![(r("R1"), long.clone())], Some(long.clone()), None).unwrap_err();
        assert_eq!(e, "register R1 and the bridge have the same token");
        let e = Tokens::new(
            vec![(r("R1"), long.clone()), (r("R2"), long.clone())],
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(e, "register R1 and register R2 have the same token");
        let e = Tokens::new(
            vec![
                (r("R1"), long.clone()),
                (r("R1"), "ijklmnopijklmnop".into()),
            ],
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(e, "register R1 is given twice");
        let e = Tokens::new(vec![], None, Some("admin".into())).unwrap_err();
        assert!(e.contains("the back office"), "{e}");
    }

    #[test]
    fn finds_the_caller() {
        let tokens = Tokens::new(
            vec![(r("R1"), "abcdefghabcdefgh".into())],
            Some("bridge-token-0123".into()),
            Some("admin-token-01234".into()),
        )
        .unwrap();
        assert_eq!(
            tokens.find("abcdefghabcdefgh"),
            Some(Caller::Register(r("R1"), fingerprint("abcdefghabcdefgh")))
        );
        assert_eq!(tokens.find("bridge-token-0123"), Some(Caller::Bridge));
        assert_eq!(tokens.find("admin-token-01234"), Some(Caller::BackOffice));
        assert_eq!(tokens.find("abcdefghabcdefgX"), None);
        assert_eq!(tokens.find(""), None);
    }

    #[test]
    fn a_fingerprint_names_a_token_without_showing_it() {
        let f = fingerprint("abcdefghabcdefgh");
        assert!(f.starts_with("sha256:") && f.len() == 19, "{f}");
        assert!(!f.contains("abcdefgh"));
        assert_ne!(f, fingerprint("abcdefghabcdefgX"));
    }
}
