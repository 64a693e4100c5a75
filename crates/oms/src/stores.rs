//! A chain's stores: which registers each store has, so the back office can
//! read a whole store's day (`GET /stores/{store}/orders?date=`).
//!
//! Configured with `--store STORE=REGISTER+REGISTER` (or `TILL_STORES`,
//! comma-separated), the same on every OMS process of the chain. A register
//! belongs to one store at most; a register in none is read on its own.

use std::collections::BTreeMap;
use till_core::order::RegisterId;

/// A store's id: the same characters as a register's.
pub const STORE_ID_LEN_MAX: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stores {
    registers: BTreeMap<String, Vec<RegisterId>>,
}

/// A store id as `--store` names them: 1 to 32 letters, digits or `_`.
pub fn check_store_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= STORE_ID_LEN_MAX
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match ok {
        true => Ok(()),
        false => Err(format!(
            "{id:?} is not a store id: 1 to {STORE_ID_LEN_MAX} letters, digits or _"
        )),
    }
}

impl Stores {
    /// Parses `STORE=R1+R2` entries (each may hold several, comma-separated;
    /// a store may be named again to add registers).
    pub fn parse(specs: &[String]) -> Result<Stores, String> {
        let mut stores = Stores::default();
        let entries = specs
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty());
        for entry in entries {
            let (store, registers) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?}: expected STORE=REGISTER+REGISTER"))?;
            let store = store.trim();
            check_store_id(store)?;
            for r in registers.split('+').map(str::trim) {
                let register = RegisterId::new(r).map_err(|e| format!("store {store}: {e}"))?;
                if let Some(other) = stores.store_of(&register) {
                    return Err(format!(
                        "register {register} is in store {other} and in store {store}"
                    ));
                }
                stores
                    .registers
                    .entry(store.to_owned())
                    .or_default()
                    .push(register);
            }
        }
        Ok(stores)
    }

    /// The registers of `store`, or None for a store not configured.
    pub fn registers(&self, store: &str) -> Option<&[RegisterId]> {
        self.registers.get(store).map(Vec::as_slice)
    }

    pub fn store_of(&self, register: &RegisterId) -> Option<&str> {
        self.registers
            .iter()
            .find(|(_, rs)| rs.contains(register))
            .map(|(s, _)| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str) -> RegisterId {
        RegisterId::new(id).unwrap()
    }

    #[test]
    fn stores_name_their_registers() {
        let stores = Stores::parse(&["S01=R1+R2, S02=R3".into(), "S01=R4".into()]).unwrap();
        assert_eq!(
            stores.registers("S01"),
            Some(&[r("R1"), r("R2"), r("R4")][..])
        );
        assert_eq!(stores.registers("S02"), Some(&[r("R3")][..]));
        assert_eq!(stores.registers("S03"), None);
        assert_eq!(stores.store_of(&r("R3")), Some("S02"));
    }

    #[test]
    fn a_bad_store_list_is_refused_with_the_reason() {
        for (spec, says) in [
            ("S01", "expected STORE=REGISTER"),
            ("S-1=R1", "not a store id"),
            ("S01=R 1", "store S01"),
            (
                "S01=R1,S02=R1",
                "register R1 is in store S01 and in store S02",
            ),
        ] {
            let e = Stores::parse(&[spec.into()]).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }
}
