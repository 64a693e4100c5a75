//! Who is calling: a register (by its bearer token) or the bridge.
//!
//! Each register has its own token, so a lost tablet is revoked alone; the
//! bridge has one of its own and may only report payments. Tokens are
//! compared in constant time.

use crate::error::AppError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use till_core::order::RegisterId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Register(RegisterId),
    Bridge,
}

/// The configured tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub registers: Vec<(RegisterId, String)>,
    pub bridge: Option<String>,
}

impl Tokens {
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
            let id = RegisterId::new(id.trim()).map_err(|e| e.to_string())?;
            let token = token.trim();
            if token.len() < 8 {
                return Err(format!(
                    "the token of register {id} is shorter than 8 characters"
                ));
            }
            out.push((id, token.to_owned()));
        }
        Ok(out)
    }

    fn find(&self, presented: &str) -> Option<Caller> {
        let mut found = None;
        // Look at every token whatever matches, so timing says nothing.
        for (id, token) in &self.registers {
            if constant_time_eq(token.as_bytes(), presented.as_bytes()) {
                found = Some(Caller::Register(id.clone()));
            }
        }
        if let Some(b) = &self.bridge {
            if constant_time_eq(b.as_bytes(), presented.as_bytes()) {
                found = Some(Caller::Bridge);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, AppError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            AppError::unauthorized("missing Authorization: Bearer <register token>")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                AppError::unauthorized("the Authorization header must be: Bearer <register token>")
            })?;
        state
            .tokens
            .find(token.trim())
            .ok_or_else(|| AppError::unauthorized("unknown token"))
    }
}

impl Caller {
    pub fn register(&self) -> Result<&RegisterId, AppError> {
        match self {
            Caller::Register(r) => Ok(r),
            Caller::Bridge => Err(AppError::forbidden(
                "the bridge's token may only report payments",
            )),
        }
    }

    pub fn bridge(&self) -> Result<(), AppError> {
        match self {
            Caller::Bridge => Ok(()),
            Caller::Register(_) => Err(AppError::forbidden("only the bridge reports payments")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_register_tokens() {
        let t = Tokens::parse_register_pairs(&[
            "R1=abcdefgh, R2=ijklmnop".into(),
            "R3=qrstuvwx".into(),
        ])
        .unwrap();
        assert_eq!(t.len(), 3);
        assert!(Tokens::parse_register_pairs(&["R1".into()]).is_err());
        assert!(Tokens::parse_register_pairs(&["R-1=abcdefgh".into()]).is_err());
        assert!(Tokens::parse_register_pairs(&["R1=short".into()]).is_err());
    }

    #[test]
    fn finds_the_caller() {
        let tokens = Tokens {
            registers: Tokens::parse_register_pairs(&["R1=abcdefgh".into()]).unwrap(),
            bridge: Some("bridge-token".into()),
        };
        assert_eq!(
            tokens.find("abcdefgh"),
            Some(Caller::Register(RegisterId::new("R1").unwrap()))
        );
        assert_eq!(tokens.find("bridge-token"), Some(Caller::Bridge));
        assert_eq!(tokens.find("abcdefgX"), None);
        assert_eq!(tokens.find(""), None);
    }
}
