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

/// Most results a query returns: two screenfuls of tiles on a tablet, more
/// than anyone scrolls through before typing another letter, and few
/// enough that a keystroke which changes every result redraws them within
/// a frame (200 tiles took up to 30 ms to draw).
pub const RESULTS_MAX: usize = 60;

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

/// Products per segment of the index. A segment is built in one go (a few
/// tens of milliseconds for this many products in WebAssembly on a
/// tablet), so a register can build a large catalog's index between
/// frames, one segment at a time ([`SearchIndex::extend`]).
pub const SEGMENT_LEN: usize = 4_096;

/// A (token, slot) pair: the token's text is `arena[start..start + len]`.
type Entry = (u32, u16, Slot);

/// The index of one run of consecutive slots.
#[derive(Debug, Clone, Default)]
struct Segment {
    /// The first slot it holds.
    first: Slot,
    /// All token text, concatenated.
    arena: String,
    /// Every (token, slot) pair, sorted by the token's text, then slot.
    entries: Vec<Entry>,
    /// Each slot's tokens (start, len): slot `first + i` owns
    /// `tokens[offsets[i]..offsets[i + 1]]`.
    tokens: Vec<(u32, u16)>,
    offsets: Vec<u32>,
}

impl Segment {
    fn build(first: Slot, products: &[&Product]) -> Segment {
        let mut seg = Segment {
            first,
            offsets: vec![0],
            ..Segment::default()
        };
        for (i, p) in products.iter().enumerate() {
            for t in tokens(p) {
                let start = seg.arena.len() as u32;
                let len = t.len().min(u16::MAX as usize) as u16;
                seg.arena.push_str(&t[..len as usize]);
                seg.entries.push((start, len, first + i as Slot));
                seg.tokens.push((start, len));
            }
            seg.offsets.push(seg.tokens.len() as u32);
        }
        seg.sort();
        seg
    }

    /// Sorts the entries by each token's first 8 bytes as one integer, then
    /// by the whole text only among equal heads: most comparisons are one
    /// integer compare, not two slices.
    fn sort(&mut self) {
        let arena = self.arena.as_bytes();
        let text = |e: &Entry| &arena[e.0 as usize..][..e.1 as usize];
        let head = |e: &Entry| {
            let mut b = [0u8; 8];
            let t = text(e);
            let n = t.len().min(8);
            b[..n].copy_from_slice(&t[..n]);
            u64::from_be_bytes(b)
        };
        let mut keyed: Vec<(u64, Entry)> = self.entries.iter().map(|e| (head(e), *e)).collect();
        keyed.sort_unstable_by(|(ha, a), (hb, b)| {
            ha.cmp(hb)
                .then_with(|| text(a).cmp(text(b)))
                .then(a.2.cmp(&b.2))
        });
        self.entries = keyed.into_iter().map(|(_, e)| e).collect();
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
        let i = (slot - self.first) as usize;
        let (from, to) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        self.tokens[from..to]
            .iter()
            .any(|(s, l)| self.text(*s, *l).starts_with(term))
    }
}

/// The index: every (token, product) pair, sorted by token, in segments
/// of [`SEGMENT_LEN`] consecutive slots.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    segments: Vec<Segment>,
    len: usize,
}

impl SearchIndex {
    /// Indexes products; slot `i` is `products[i]` (the caller orders them,
    /// by name for the register).
    pub fn build<'a>(products: impl IntoIterator<Item = &'a Product>) -> SearchIndex {
        let all: Vec<&Product> = products.into_iter().collect();
        let mut index = SearchIndex::default();
        for chunk in all.chunks(SEGMENT_LEN) {
            index.extend(chunk);
        }
        index
    }

    /// Indexes the next products: their slots follow the last indexed.
    /// Call it with at most [`SEGMENT_LEN`] products at a time to keep each
    /// call short.
    pub fn extend(&mut self, products: &[&Product]) {
        if products.is_empty() {
            return;
        }
        let first = self.len as Slot;
        self.segments.push(Segment::build(first, products));
        self.len += products.len();
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn segment_of(&self, slot: Slot) -> &Segment {
        let i = self.segments.partition_point(|s| s.first <= slot);
        &self.segments[i - 1]
    }

    /// Slots matching every term of `query`, in slot order, at most `limit`,
    /// and how many matched in all. An empty query matches nothing (the
    /// register then shows the category instead).
    pub fn search(&self, query: &str, limit: usize) -> (Vec<Slot>, usize) {
        let terms = terms(query);
        if terms.is_empty() {
            return (Vec::new(), 0);
        }
        let ranges: Vec<Vec<_>> = self
            .segments
            .iter()
            .map(|seg| terms.iter().map(|t| seg.range(t)).collect())
            .collect();
        // The rarest term over the whole index supplies the candidates.
        let rarest = (0..terms.len())
            .min_by_key(|&t| ranges.iter().map(|r| r[t].len()).sum::<usize>())
            .expect("at least one term");
        // Its products as a bitmap over slots: no sort, and walked in slot
        // (name) order, so the first `limit` found are the results and the
        // rest are only counted.
        let mut candidates = vec![0u64; self.len.div_ceil(64)];
        for (seg, r) in self.segments.iter().zip(&ranges) {
            for e in &seg.entries[r[rarest].clone()] {
                candidates[e.2 as usize / 64] |= 1 << (e.2 % 64);
            }
        }
        let mut slots = Vec::new();
        let mut total = 0;
        for (word, bits) in candidates.iter().enumerate() {
            let mut bits = *bits;
            while bits != 0 {
                let slot = (word * 64) as Slot + bits.trailing_zeros();
                bits &= bits - 1;
                let all = terms.len() == 1 || {
                    let seg = self.segment_of(slot);
                    terms
                        .iter()
                        .enumerate()
                        .all(|(i, t)| i == rarest || seg.slot_matches(slot, t))
                };
                if all {
                    total += 1;
                    if slots.len() < limit {
                        slots.push(slot);
                    }
                }
            }
        }
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

    /// A catalog of several segments, indexed at once or a few products at
    /// a time (as the register does between frames), finds what the naive
    /// filter finds, across segment boundaries.
    #[test]
    fn a_catalog_of_several_segments_finds_what_a_naive_filter_finds() {
        let products: Vec<_> = (0..SEGMENT_LEN * 2 + 300)
            .map(|i| {
                let name = format!(
                    "{} {} {i}",
                    WORDS[i % WORDS.len()],
                    WORDS[(i / 7) % WORDS.len()]
                );
                product(i, &name, &format!("S{i}"), &format!("{}", 10_000 + i))
            })
            .collect();
        let at_once = SearchIndex::build(&products);
        let refs: Vec<&Product> = products.iter().collect();
        let mut by_steps = SearchIndex::default();
        for chunk in refs.chunks(1_000) {
            by_steps.extend(chunk);
        }
        assert_eq!(at_once.len(), products.len());
        assert_eq!(by_steps.len(), products.len());
        for q in [
            "c",
            "cre tea",
            "bread 40",
            "s81",
            "1",
            "12",
            "oeuf ss",
            "tart tart",
            "zzz",
        ] {
            let expected = naive(&products, q);
            let (slots, total) = at_once.search(q, usize::MAX);
            assert_eq!((&slots, total), (&expected, expected.len()), "{q}");
            let first: Vec<Slot> = expected.iter().copied().take(50).collect();
            assert_eq!(by_steps.search(q, 50), (first, expected.len()), "{q}");
        }
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
