//! A Code 128 barcode of an order number, on the receipt: a store's
//! scanner reads it into "Find order by number" (it types the number and
//! Enter), the way into a refund. Encoded by `barcoders`; drawn here as SVG
//! bars, which print sharp at any paper width.

use barcoders::sym::code128::Code128;
use leptos::prelude::*;

/// Modules of white either side, as the symbology asks (10 × the narrowest bar).
const QUIET: usize = 10;

/// `text` in barcoders' Code 128 notation: character set B, switching to C
/// (two digits per symbol) for runs of four digits or more, so the symbol
/// stays wide enough to scan on 58 mm paper.
pub fn code128_notation(text: &str) -> String {
    const B: char = '\u{0181}';
    const C: char = '\u{0106}';
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut set = None;
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run >= 4 {
            // An odd run leaves its first digit in set B.
            let odd = run % 2;
            for c in &chars[i..i + odd] {
                switch(&mut out, &mut set, B);
                out.push(*c);
            }
            switch(&mut out, &mut set, C);
            out.extend(&chars[i + odd..i + run]);
            i += run;
        } else {
            switch(&mut out, &mut set, B);
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn switch(out: &mut String, set: &mut Option<char>, to: char) {
    if *set != Some(to) {
        out.push(to);
        *set = Some(to);
    }
}

/// The bars of `text`: (start, width) in modules, after the quiet zone;
/// and the symbol's width with both quiet zones. `None` when it cannot be
/// encoded (a character outside Code 128).
pub fn bars(text: &str) -> Option<(Vec<(usize, usize)>, usize)> {
    let modules = Code128::new(code128_notation(text)).ok()?.encode();
    let mut out = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        if modules[i] == 1 {
            let w = modules[i..].iter().take_while(|m| **m == 1).count();
            out.push((QUIET + i, w));
            i += w;
        } else {
            i += 1;
        }
    }
    Some((out, modules.len() + 2 * QUIET))
}

/// The barcode with the number under it; nothing if it cannot be encoded.
#[component]
pub fn Barcode(text: String) -> impl IntoView {
    let (bars, width) = bars(&text)?;
    let label = format!("Barcode of order {text}");
    Some(view! {
        <figure class="barcode">
            <svg role="img" aria-label=label viewBox=format!("0 0 {width} 40") preserveAspectRatio="none" shape-rendering="crispEdges">
                {bars.into_iter().map(|(x, w)| view! { <rect x=x.to_string() y="0" width=w.to_string() height="40"/> }).collect_view()}
            </svg>
            <figcaption>{text}</figcaption>
        </figure>
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn an_order_number_packs_its_digit_runs_two_to_a_symbol() {
        assert_eq!(
            code128_notation("R1-20261127-0001"),
            "\u{0181}R1-\u{0106}20261127\u{0181}-\u{0106}0001"
        );
        // An odd run keeps its first digit in set B.
        assert_eq!(code128_notation("A-12345"), "\u{0181}A-1\u{0106}2345");
        assert_eq!(code128_notation("R12"), "\u{0181}R12");
    }

    #[wasm_bindgen_test]
    fn an_order_numbers_barcode_is_a_valid_code_128_symbol() {
        let (drawn, width) = bars("R1-20261127-0001").unwrap();
        // 13 data symbols, start and check (11 modules each), stop (13),
        // and two quiet zones.
        assert_eq!(width, 15 * 11 + 13 + 2 * QUIET);
        // Every symbol has three bars, the stop four.
        assert_eq!(drawn.len(), 15 * 3 + 4);
        assert!(bars("R1-2026é").is_none(), "not Code 128: no barcode");
    }
}
