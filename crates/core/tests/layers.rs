//! The layers `src/lib.rs` writes down, checked against the sources: every
//! `crate::…` path outside comments and test modules names a module of the
//! same or a lower layer, and no modules import one another in a circle.
//! `cargo test -p till-core --test layers -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first, as `src/lib.rs` has them.
const LAYERS: &[(&str, &[&str])] = &[
    ("ids", &["ids"]),
    ("values", &["money", "time", "catalog", "search", "sorted"]),
    (
        "records",
        &[
            "staff", "cart", "card", "order", "refund", "report", "drawer", "shift",
        ],
    ),
    ("wire", &["api", "outbox", "download", "audit", "journal"]),
    ("plans", &["update", "park", "shift_plan"]),
    (
        "machines",
        &["payment", "sync", "desk", "lan", "refresh", "edge"],
    ),
    ("register", &["register"]),
    ("testing", &["memstore", "testing"]),
];

/// The folders of `src/` that hold a layer's modules.
const FOLDERS: &[&str] = &["values", "records", "wire", "plans", "machines"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The source without comments and without its `#[cfg(test)] mod tests`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a source names through `crate::`, by their short names.
fn imports_of(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let mut words = rest.split("::").map(|w| {
            w.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
        });
        let mut word = words.next().unwrap_or("");
        if FOLDERS.contains(&word) {
            word = words.next().unwrap_or("");
        }
        if layer_of(word).is_some() {
            out.insert(word.to_owned());
        }
    }
    out
}

/// The module a file belongs to: its own name in `src/` or in a layer's
/// folder; the folder's name for a module split into files
/// (`src/register/card.rs` is part of `register`); `None` for `lib.rs` and
/// a layer's `mod.rs`.
fn module_of(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    let parent = path.parent()?.file_name()?.to_string_lossy().into_owned();
    if parent == "src" || FOLDERS.contains(&parent.as_str()) {
        (stem != "lib" && stem != "mod").then_some(stem)
    } else {
        Some(parent)
    }
}

/// Every module of the crate and what it imports, from `src/`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Some(name) = module_of(&path) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("a source file");
            let mut imports = imports_of(&code_of(&text));
            imports.remove(&name);
            graph
                .entry(name)
                .or_insert_with(BTreeSet::new)
                .extend(imports);
        }
    }
    graph
}

#[test]
fn every_module_is_in_a_layer() {
    let unplaced: Vec<String> = graph()
        .into_keys()
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "not in a layer of lib.rs: {unplaced:?}"
    );
}

#[test]
fn no_import_runs_back_up_a_layer() {
    let graph = graph();
    let mut up = Vec::new();
    for (module, imports) in &graph {
        println!(
            "{module} ({}) -> {}",
            LAYERS[layer_of(module).unwrap_or(0)].0,
            { imports.iter().cloned().collect::<Vec<_>>().join(" ") }
        );
        for import in imports {
            if layer_of(import) > layer_of(module) {
                up.push(format!("{module} imports {import}"));
            }
        }
    }
    assert!(up.is_empty(), "imports against the layers: {up:?}");
}

/// The modules on an import circle (or importing one): what Kahn's
/// algorithm cannot put in order.
fn on_a_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut left = graph.clone();
    loop {
        let free: Vec<String> = left
            .iter()
            .filter(|(_, imports)| imports.iter().all(|i| !left.contains_key(i)))
            .map(|(m, _)| m.clone())
            .collect();
        if free.is_empty() {
            break;
        }
        for m in free {
            left.remove(&m);
        }
    }
    left.into_keys().collect()
}

#[test]
fn no_modules_import_one_another_in_a_circle() {
    let circle = on_a_circle(&graph());
    assert!(circle.is_empty(), "modules on an import circle: {circle:?}");
}

#[test]
fn the_check_sees_a_circle_and_a_wrong_way_import() {
    let code = code_of("use crate::values::money::Money;\n// crate::register\nuse crate::order::Order;\n#[cfg(test)]\nmod tests { use crate::sync; }");
    let names: Vec<String> = imports_of(&code).into_iter().collect();
    assert_eq!(names, ["money", "order"]);
    assert!(layer_of("register") > layer_of("order"));
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    let mut g = BTreeMap::new();
    g.insert("order".to_string(), set(&["refund", "money"]));
    g.insert("refund".to_string(), set(&["order"]));
    g.insert("money".to_string(), set(&[]));
    assert_eq!(on_a_circle(&g), ["order", "refund"]);
}
