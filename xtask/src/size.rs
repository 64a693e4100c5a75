//! The size budget of the first download: the wasm, the JavaScript and
//! the CSS a browser fetches to open the register, brotli as the OMS
//! serves them (the build writes a `.br` beside each). `cargo xtask test`
//! fails when they exceed the budget kept in `tests/size-budget.toml`, and
//! prints the size next to the budget on every run.
//!
//! The budget only goes down: lower it as the size drops, and never raise
//! it without a line in the commit message saying what paid for it.

use crate::proc::root;
use crate::Result;
use std::path::Path;

/// Where the budget is kept.
pub const BUDGET_FILE: &str = "tests/size-budget.toml";
const BUDGET_KEY: &str = "first_download_brotli_bytes";

/// The first download of a build in `dist`, and the files it counts.
#[derive(Debug, PartialEq, Eq)]
pub struct Measured {
    pub brotli_bytes: u64,
    pub files: Vec<String>,
}

/// Whether `name` is fetched to open the register: the app's wasm, its
/// scripts and styles. Not the service worker (installed afterwards) nor
/// the precompressed copies themselves.
fn first_download(name: &str) -> bool {
    let counted = [".wasm", ".js", ".mjs", ".css"]
        .iter()
        .any(|ext| name.ends_with(ext));
    counted && name != "sw.js"
}

/// The build compresses files of this size and more (tools/precompress.mjs);
/// smaller ones are sent as they are.
const PRECOMPRESS_MIN_BYTES: u64 = 1024;

/// The bytes the OMS sends of `name` to a browser that takes brotli: its
/// `.br` copy, or the file itself when it is too small to compress. A
/// larger file without a copy is an error: it would go out uncompressed.
fn served_size(dist: &Path, name: &str) -> Result<u64> {
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len());
    let br = dist.join(format!("{name}.br"));
    match size(&br) {
        Ok(n) => Ok(n),
        Err(_) => match size(&dist.join(name)) {
            Ok(n) if n < PRECOMPRESS_MIN_BYTES => Ok(n),
            _ => Err(format!(
                "{}: the build did not precompress {name}",
                br.display()
            )),
        },
    }
}

/// Sums what the OMS sends of the first download's files in `dist`.
pub fn measure(dist: &Path) -> Result<Measured> {
    let entries = std::fs::read_dir(dist)
        .map_err(|e| format!("{}: {e} (build the app first)", dist.display()))?;
    let mut files = Vec::new();
    let mut brotli_bytes = 0;
    for entry in entries {
        let name = entry
            .map_err(|e| format!("{}: {e}", dist.display()))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !first_download(&name) {
            continue;
        }
        brotli_bytes += served_size(dist, &name)?;
        files.push(name);
    }
    if files.is_empty() {
        return Err(format!(
            "{}: no wasm, JS or CSS (build the app first)",
            dist.display()
        ));
    }
    files.sort();
    Ok(Measured {
        brotli_bytes,
        files,
    })
}

/// The budget in `text` (the budget file's contents).
pub fn parse_budget(text: &str) -> Result<u64> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == BUDGET_KEY {
                return value
                    .trim()
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("{BUDGET_FILE}: {BUDGET_KEY}: {e}"));
            }
        }
    }
    Err(format!("{BUDGET_FILE}: no {BUDGET_KEY} = <bytes>"))
}

/// The budget kept in the repo.
pub fn budget() -> Result<u64> {
    let path = root().join(BUDGET_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_budget(&text)
}

/// "612.3 KB".
pub fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// The line the test run prints, and whether the size is within budget.
pub fn verdict(measured: u64, budget: u64) -> (bool, String) {
    let within = measured <= budget;
    let line = format!(
        "first download {} brotli, budget {}{}",
        kb(measured),
        kb(budget),
        if within { "" } else { ": over budget" }
    );
    (within, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_read_with_its_comments_and_separators() {
        let text = "# the first download\nfirst_download_brotli_bytes = 640_000 # bytes\n";
        assert_eq!(parse_budget(text), Ok(640_000));
        assert!(parse_budget("other = 1\n").is_err());
        assert!(parse_budget("first_download_brotli_bytes = lots\n").is_err());
    }

    #[test]
    fn over_budget_fails_and_says_both_figures() {
        assert_eq!(
            verdict(450_000, 450_000),
            (
                true,
                "first download 450.0 KB brotli, budget 450.0 KB".into()
            )
        );
        let (ok, line) = verdict(450_001, 450_000);
        assert!(!ok);
        assert!(line.ends_with("over budget"), "{line}");
    }

    #[test]
    fn only_the_first_download_counts_and_every_file_needs_its_brotli_copy() {
        let dir = std::env::temp_dir().join(format!("till-size-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let write =
            |name: &str, len: usize| std::fs::write(dir.join(name), vec![b'x'; len]).unwrap();
        write("till-1.wasm", 100);
        write("till-1.wasm.br", 40);
        write("till-1.js", 2000);
        write("till-1.js.br", 4);
        write("boot.mjs", 900);
        write("style-1.css", 10);
        write("style-1.css.br", 3);
        write("sw.js", 10);
        write("sw.js.br", 5);
        write("index.html", 10);
        write("index.html.br", 6);
        let m = measure(&dir).unwrap();
        assert_eq!(
            m.brotli_bytes,
            40 + 4 + 3 + 900,
            "boot.mjs is sent as it is"
        );
        assert_eq!(
            m.files,
            ["boot.mjs", "style-1.css", "till-1.js", "till-1.wasm"]
        );
        std::fs::remove_file(dir.join("till-1.js.br")).unwrap();
        let err = measure(&dir).unwrap_err();
        assert!(err.contains("did not precompress till-1.js"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
