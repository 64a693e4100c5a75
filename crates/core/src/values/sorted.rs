//! Sorting lists of records through one compiled sort.
//!
//! The register is WebAssembly that a tablet downloads: every `sort_by` on
//! another element type is another copy of the standard library's sort
//! (about 3 KB each, fifteen of them in the app). These helpers sort the
//! positions `0..len` with one comparator behind a `dyn`, so the sort
//! itself is compiled once, then move the elements into that order. The
//! result is the standard library's stable sort's: equal elements keep
//! their order.
//!
//! Hot paths (the search index, the product list) keep the standard
//! library's sort, where its speed matters more than its size.

use std::cmp::Ordering;

/// Sorts `items` stably by `cmp`.
pub fn sort_by<T>(items: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    let order = stable_order(items.len(), &|a, b| cmp(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// Sorts `items` stably by the key `key` gives each.
pub fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// The positions `0..len` in the order `cmp` puts them, equal ones in
/// their first order: the one sort the helpers compile.
fn stable_order(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same order as the standard library's stable sort, equal
        /// keys included.
        #[test]
        fn sorts_as_the_standard_library_does(items in proptest::collection::vec((0u8..8, any::<u32>()), 0..64)) {
            let mut ours = items.clone();
            sort_by_key(&mut ours, |(k, _)| *k);
            let mut std_sorted = items.clone();
            std_sorted.sort_by_key(|(k, _)| *k);
            prop_assert_eq!(ours, std_sorted);
        }

        #[test]
        fn sorts_by_a_comparator(items in proptest::collection::vec(any::<i16>(), 0..64)) {
            let mut ours = items.clone();
            sort_by(&mut ours, |a, b| b.cmp(a));
            let mut std_sorted = items;
            std_sorted.sort_by(|a, b| b.cmp(a));
            prop_assert_eq!(ours, std_sorted);
        }
    }
}
