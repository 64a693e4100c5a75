//! URL-encoded `key=value` lists: `AdditionalResponse`
//! (`pspReference=…&authCode=…`), `SaleToAcquirerData`
//! (`tenderOption=AskGratuity&metadata.orderId=…`) and each receipt line
//! (`key=…&name=…&value=…`).

use std::collections::BTreeMap;

/// Longest list read: an AdditionalResponse is a few hundred bytes.
pub const PAIRS_TEXT_MAX: usize = 8 * 1024;

/// The pairs of a URL-encoded list; a key given twice keeps its first
/// value. Text beyond [`PAIRS_TEXT_MAX`] is ignored.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let text = text.get(..text.len().min(PAIRS_TEXT_MAX)).unwrap_or("");
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Writes pairs in the order given.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_with_escapes() {
        let text = encode([("pspReference", "TILL 1&2"), ("authCode", "123456")]);
        assert_eq!(text, "pspReference=TILL+1%262&authCode=123456");
        let pairs = parse(&text);
        assert_eq!(pairs["pspReference"], "TILL 1&2");
        assert_eq!(pairs["authCode"], "123456");
        assert!(parse("").is_empty());
        assert_eq!(parse("a=1&a=2")["a"], "1");
    }
}
