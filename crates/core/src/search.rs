//! Product search for the register: what a cashier types in "Search
//! products" finds products by name, SKU or barcode, ignoring case and
//! accents, fast enough for every keystroke over 100,000 products.
//!
//! # What matches
//!
//! The query is split into terms at spaces; a product matches when **every**
//! term is the beginning of one of its *tokens*: a word of its name, its
//! SKU, or one of its barcodes. Terms and tokens are compared after
//! [`fold`]: lower case, accents removed ("Crème brûlée" is found by "creme
//! bru"). Prefixes rather than arbitrary substrings because that is how
//! people type product names and how scanners and labels print codes, and
//! because prefixes can be indexed.
//!
//! # Why an index, and this one
//!
//! A scan of 100,000 names per keystroke costs several milliseconds in
//! WebAssembly and grows with the catalog; a frame is 16 ms. [`SearchIndex`]
//! keeps every token once, sorted, so a term's matches are one binary search
//! away (a contiguous range of the sorted tokens). With several terms the
//! rarest term's range supplies the candidates and the others are checked
//! per candidate. Products are numbered in name order when the index is
//! built, so results come out sorted by name by sorting small integers.

use crate::catalog::Product;

/// Most results a query returns: a screenful of tiles and more than anyone
/// scrolls through before typing another letter.
pub const RESULTS_MAX: usize = 200;

/// Lower case with accents and ligatures folded to plain letters, for the
/// Latin scripts a store's catalog uses (Latin-1 and Latin Extended-A);
/// other characters are only lower-cased. Hand-written rather than a full
/// Unicode normalization table, which would add far more to the app's
/// download than this covers in practice.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'À'..='Å' | 'à'..='å' | 'Ā'..='ą' => out.push('a'),
            'Æ' | 'æ' => out.push_str("ae"),
            'Ç' | 'ç' | 'Ć'..='č' => out.push('c'),
            'Ď'..='đ' | 'Ð' | 'ð' => out.push('d'),
            'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' => out.push('e'),
            'Ĝ'..='ģ' => out.push('g'),
            'Ĥ'..='ħ' => out.push('h'),
            'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='ı' => out.push('i'),
            'Ĳ' | 'ĳ' => out.push_str("ij"),
            'Ĵ' | 'ĵ' => out.push('j'),
            'Ķ'..='ĸ' => out.push('k'),
            'Ĺ'..='ł' => out.push('l'),
            'Ñ' | 'ñ' | 'Ń'..='ŋ' => out.push('n'),
            'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō'..='ő' => out.push('o'),
            'Œ' | 'œ' => out.push_str("oe"),
            'Ŕ'..='ř' => out.push('r'),
            'Ś'..='š' => out.push('s'),
            'ß' => out.push_str("ss"),
            'Ţ'..='ŧ' => out.push('t'),
            'Þ' | 'þ' => out.push_str("th"),
            'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' => out.push('u'),
            'Ŵ' | 'ŵ' => out.push('w'),
            'Ý' | 'ý' | 'ÿ' | 'Ŷ'..='Ÿ' => out.push('y'),
            'Ź'..='ž' => out.push('z'),
            'ſ' => out.push('s'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The tokens of a product: folded words of its name, its SKU, its barcodes.
pub fn tokens(p: &Product) -> Vec<String> {
    let mut t: Vec<String> = fold(&p.name)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    t.push(fold(&p.sku));
    t.extend(p.barcodes.iter().map(|b| fold(b)));
    t.sort();
    t.dedup();
    t
}

/// The terms of a query.
pub fn terms(query: &str) -> Vec<String> {
    fold(query)
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A product's position in the index (name order).
pub type Slot = u32;

/// The index: every (token, product) pair, sorted by token.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    /// All token text, concatenated.
    arena: String,
    /// (start, len, slot), sorted by the token's text.
    entries: Vec<(u32, u16, Slot)>,
    /// Each slot's tokens, as ranges of `entries`-style (start, len).
    by_slot: Vec<Vec<(u32, u16)>>,
}

impl SearchIndex {
    /// Indexes products; slot `i` is `products[i]` (the caller orders them,
    /// by name for the register).
    pub fn build<'a>(products: impl IntoIterator<Item = &'a Product>) -> SearchIndex {
        let mut arena = String::new();
        let mut entries = Vec::new();
        let mut by_slot = Vec::new();
        for (slot, p) in products.into_iter().enumerate() {
            let mut mine = Vec::new();
            for t in tokens(p) {
                let start = arena.len() as u32;
                let len = t.len().min(u16::MAX as usize) as u16;
                arena.push_str(&t[..len as usize]);
                entries.push((start, len, slot as Slot));
                mine.push((start, len));
            }
            by_slot.push(mine);
        }
        let text = |e: &(u32, u16, Slot)| &arena[e.0 as usize..e.0 as usize + e.1 as usize];
        entries.sort_unstable_by(|a, b| text(a).cmp(text(b)).then(a.2.cmp(&b.2)));
        SearchIndex {
            arena,
            entries,
            by_slot,
        }
    }

    pub fn len(&self) -> usize {
        self.by_slot.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_slot.is_empty()
    }

    fn text(&self, start: u32, len: u16) -> &str {
        &self.arena[start as usize..start as usize + len as usize]
    }

    /// The range of `entries` whose token starts with `term`.
    fn range(&self, term: &str) -> std::ops::Range<usize> {
        let lo = self.entries.partition_point(|e| self.text(e.0, e.1) < term);
        let hi = lo + self.entries[lo..].partition_point(|e| self.text(e.0, e.1).starts_with(term));
        lo..hi
    }

    fn slot_matches(&self, slot: Slot, term: &str) -> bool {
        self.by_slot[slot as usize]
            .iter()
            .any(|(s, l)| self.text(*s, *l).starts_with(term))
    }

    /// Slots matching every term of `query`, in slot order, at most `limit`,
    /// and how many matched in all. An empty query matches nothing (the
    /// register then shows the category instead).
    pub fn search(&self, query: &str, limit: usize) -> (Vec<Slot>, usize) {
        let terms = terms(query);
        if terms.is_empty() {
            return (Vec::new(), 0);
        }
        let ranges: Vec<_> = terms.iter().map(|t| self.range(t)).collect();
        let (rarest, _) = ranges
            .iter()
            .enumerate()
            .min_by_key(|(_, r)| r.len())
            .expect("at least one term");
        let mut slots: Vec<Slot> = self.entries[ranges[rarest].clone()]
            .iter()
            .map(|e| e.2)
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots.retain(|s| {
            terms
                .iter()
                .enumerate()
                .all(|(i, t)| i == rarest || self.slot_matches(*s, t))
        });
        let total = slots.len();
        slots.truncate(limit);
        (slots, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures;
    use proptest::prelude::*;

    fn product(i: usize, name: &str, sku: &str, barcode: &str) -> Product {
        let mut p = fixtures::product(&format!("p{i}"), 100, &fixtures::vat_standard(), barcode);
        p.name = name.into();
        p.sku = sku.into();
        p
    }

    fn names(index: &SearchIndex, products: &[Product], q: &str) -> Vec<String> {
        index
            .search(q, RESULTS_MAX)
            .0
            .iter()
            .map(|s| products[*s as usize].name.clone())
            .collect()
    }

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Crème Brûlée"), "creme brulee");
        assert_eq!(fold("Jalapeño ÆØÅ ß Łódź"), "jalapeno aeoa ss lodz");
        assert_eq!(fold("ÇA"), "ca");
    }

    #[test]
    fn finds_by_word_prefix_sku_and_barcode() {
        let products = vec![
            product(0, "Café latte", "COF-005", "2000000000053"),
            product(1, "Crème brûlée tart", "BAK-010", "2000000000305"),
            product(2, "Cappuccino", "COF-004", "2000000000046"),
        ];
        let index = SearchIndex::build(&products);
        assert_eq!(names(&index, &products, "cafe"), vec!["Café latte"]);
        assert_eq!(names(&index, &products, "LAT"), vec!["Café latte"]);
        assert_eq!(
            names(&index, &products, "creme bru"),
            vec!["Crème brûlée tart"]
        );
        assert_eq!(
            names(&index, &products, "cof-00"),
            vec!["Café latte", "Cappuccino"]
        );
        assert_eq!(
            names(&index, &products, "2000000000046"),
            vec!["Cappuccino"]
        );
        assert_eq!(
            names(&index, &products, "c"),
            vec!["Café latte", "Crème brûlée tart", "Cappuccino"]
        );
        assert!(names(&index, &products, "tea").is_empty());
        assert!(names(&index, &products, "   ").is_empty());
        assert!(
            names(&index, &products, "atte").is_empty(),
            "prefixes, not substrings"
        );
    }

    #[test]
    fn counts_all_matches_but_returns_at_most_the_limit() {
        let products: Vec<_> = (0..500)
            .map(|i| product(i, &format!("Bread {i}"), &format!("B{i}"), &format!("{i}")))
            .collect();
        let index = SearchIndex::build(&products);
        let (slots, total) = index.search("bread", 10);
        assert_eq!((slots.len(), total), (10, 500));
        assert_eq!(slots, (0..10).collect::<Vec<_>>());
    }

    /// The obvious implementation, to check the index against.
    fn naive(products: &[Product], query: &str) -> Vec<Slot> {
        let terms = terms(query);
        if terms.is_empty() {
            return Vec::new();
        }
        (0..products.len())
            .filter(|i| {
                let t = tokens(&products[*i]);
                terms
                    .iter()
                    .all(|term| t.iter().any(|tok| tok.starts_with(term.as_str())))
            })
            .map(|i| i as Slot)
            .collect()
    }

    const WORDS: &[&str] = &[
        "Café", "crème", "Cream", "bread", "Brûlée", "tea", "Tart", "coffee", "çà", "Œuf", "ß-bar",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_index_finds_exactly_what_a_naive_filter_finds(
            names in proptest::collection::vec(proptest::collection::vec(0usize..WORDS.len(), 1..4), 1..60),
            query in proptest::collection::vec((0usize..WORDS.len(), 1usize..6), 1..3),
        ) {
            let products: Vec<Product> = names
                .iter()
                .enumerate()
                .map(|(i, ws)| {
                    let name = ws.iter().map(|w| WORDS[*w]).collect::<Vec<_>>().join(" ");
                    product(i, &name, &format!("SKU-{i}"), &format!("{}", 4_000_000 + i))
                })
                .collect();
            let q = query.iter().map(|(w, n)| WORDS[*w].chars().take(*n).collect::<String>()).collect::<Vec<_>>().join(" ");
            let index = SearchIndex::build(&products);
            let (found, total) = index.search(&q, usize::MAX);
            let expected = naive(&products, &q);
            prop_assert_eq!(total, expected.len());
            prop_assert_eq!(found, expected);
        }
    }
}
