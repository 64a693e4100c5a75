//! The search index in WebAssembly, against the obvious filter, on a
//! generated catalog with accents.
#![cfg(target_arch = "wasm32")]

use till_core::catalog::{fixtures, Product};
use till_core::search::{terms, tokens, SearchIndex};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ADJECTIVES: &[&str] = &[
    "Organic",
    "Crème",
    "Fresh",
    "Smoked",
    "Café",
    "Jalapeño",
    "Déjà",
    "Œuvre",
];
const NOUNS: &[&str] = &[
    "Bread", "Cheese", "Coffee", "Crêpe", "Pâté", "Muffin", "Straße",
];

fn catalog(n: usize) -> Vec<Product> {
    (0..n)
        .map(|i| {
            let mut p = fixtures::product(
                &format!("g{i:06}"),
                100,
                &fixtures::vat_standard(),
                &format!("{}", 2_000_000_000_000u64 + i as u64),
            );
            p.name = format!(
                "{} {} {i}",
                ADJECTIVES[i % ADJECTIVES.len()],
                NOUNS[(i / 3) % NOUNS.len()]
            );
            p.sku = format!("GEN-{i:06}");
            p
        })
        .collect()
}

fn naive(products: &[Product], query: &str) -> Vec<u32> {
    let terms = terms(query);
    (0..products.len())
        .filter(|i| {
            let t = tokens(&products[*i]);
            !terms.is_empty()
                && terms
                    .iter()
                    .all(|term| t.iter().any(|tok| tok.starts_with(term.as_str())))
        })
        .map(|i| i as u32)
        .collect()
}

#[wasm_bindgen_test]
fn the_index_agrees_with_a_naive_filter() {
    let products = catalog(5_000);
    let index = SearchIndex::build(&products);
    for q in [
        "creme",
        "CRÈME CHE",
        "cafe cof 12",
        "strasse",
        "oeuvre p",
        "gen-0042",
        "2000000000123",
        "deja",
        "zzz",
        "",
        "1",
    ] {
        let (found, total) = index.search(q, usize::MAX);
        let expected = naive(&products, q);
        assert_eq!(total, expected.len(), "{q:?}");
        assert_eq!(found, expected, "{q:?}");
    }
}
