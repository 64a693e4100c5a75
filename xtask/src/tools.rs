//! Installing what Till needs to build and test, only when it is missing.
//!
//! Nothing is downloaded from anywhere but the package registries: Trunk and
//! wasm-bindgen-cli come from crates.io (built here, once), wasm-opt and
//! Playwright from npm, Chromium and its driver from the system's packages.
//! Each check compares the installed version with the one the project pins,
//! so later runs take seconds.

use crate::proc::{self, output_of, root, step};
use crate::Result;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Trunk 0.22 needs a newer rustc than this project's toolchain.
pub const TRUNK_VERSION: &str = "0.21.14";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Never an older distribution wasm-opt: with v108 the build "succeeds"
/// and the page stays blank.
pub const WASM_OPT_VERSION: &str = "version 132";

pub fn ensure_all() -> Result {
    ensure_build_tools()?;
    ensure_browser()?;
    ensure_npm_packages()?;
    ensure_schemathesis()?;
    crate::pg::ensure_server()?;
    Ok(())
}

/// What building the app needs: the target, Trunk, wasm-bindgen, wasm-opt.
pub fn ensure_build_tools() -> Result {
    ensure_wasm_target()?;
    ensure_trunk()?;
    ensure_wasm_bindgen()?;
    ensure_npm_packages()?;
    Ok(())
}

fn timed(what: &str, f: impl FnOnce() -> Result) -> Result {
    let t = Instant::now();
    f()?;
    println!("    {what} done in {}", proc::fmt_duration(t.elapsed()));
    Ok(())
}

pub fn ensure_wasm_target() -> Result {
    let installed = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    step(&format!(
        "Installing the Rust target {WASM_TARGET} (rustup; under a minute)"
    ));
    timed("target", || {
        proc::run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
    })
}

pub fn ensure_trunk() -> Result {
    if output_of("trunk", &["--version"])
        .is_some_and(|v| v.split_whitespace().nth(1) == Some(TRUNK_VERSION))
    {
        return Ok(());
    }
    step(&format!(
        "Installing Trunk {TRUNK_VERSION} from crates.io (first run only: about 6 to 15 minutes on 2 cores)"
    ));
    timed("Trunk", || {
        proc::run(Command::new("cargo").args([
            "install",
            "--locked",
            "trunk",
            "--version",
            TRUNK_VERSION,
        ]))
    })
}

/// The wasm-bindgen version in Cargo.lock; the CLI and Trunk.toml must match it.
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen".into())
}

pub fn ensure_wasm_bindgen() -> Result {
    let version = wasm_bindgen_version()?;
    let trunk_toml = std::fs::read_to_string(root().join("Trunk.toml"))
        .map_err(|e| format!("Trunk.toml: {e}"))?;
    if !trunk_toml.contains(&format!("wasm_bindgen = \"{version}\"")) {
        return Err(format!(
            "Trunk.toml's [tools] wasm_bindgen differs from Cargo.lock's wasm-bindgen {version}: make them equal"
        ));
    }
    let cli_ok = output_of("wasm-bindgen", &["--version"])
        .is_some_and(|v| v.split_whitespace().nth(1) == Some(version.as_str()));
    let runner_ok = output_of("wasm-bindgen-test-runner", &["--version"]).is_some();
    if cli_ok && runner_ok {
        return Ok(());
    }
    step(&format!(
        "Installing wasm-bindgen-cli {version} from crates.io (first run only: about 3 to 5 minutes; also gives wasm-bindgen-test-runner)"
    ));
    // Not --locked: its lockfile pins a webpki-roots release the registry no longer has.
    timed("wasm-bindgen-cli", || {
        proc::run(Command::new("cargo").args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &version,
        ]))
    })
}

fn node_bin() -> PathBuf {
    root().join("node_modules").join(".bin")
}

/// PATH with the project's npm tools (wasm-opt, playwright) first.
pub fn path_with_node_bin() -> OsString {
    let mut paths = vec![node_bin()];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).expect("PATH entries are valid")
}

fn ensure_node() -> Result {
    if output_of("node", &["--version"]).is_some() && output_of("npm", &["--version"]).is_some() {
        return Ok(());
    }
    step("Installing Node.js and npm from the system's packages (about a minute)");
    apt_install(&["nodejs", "npm"])
}

pub fn ensure_npm_packages() -> Result {
    ensure_node()?;
    let wasm_opt = node_bin().join("wasm-opt");
    let playwright = node_bin().join("playwright");
    let wasm_opt_ok = output_of(&wasm_opt.to_string_lossy(), &["--version"])
        .is_some_and(|v| v.contains(WASM_OPT_VERSION));
    let lock = root().join("package-lock.json");
    let installed_lock = root().join("node_modules").join(".package-lock.json");
    let fresh = modified(&installed_lock)
        .zip(modified(&lock))
        .is_some_and(|(i, l)| i >= l);
    if wasm_opt_ok && playwright.exists() && fresh {
        return Ok(());
    }
    step("Installing npm packages: wasm-opt (binaryen 132) and Playwright (npm ci; seconds)");
    timed("npm ci", || {
        proc::run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(root()),
        )
    })
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The Chromium the browser and end-to-end tests drive.
pub fn chromium() -> PathBuf {
    std::env::var_os("TILL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

pub fn chromedriver() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

/// The API contract checker, pinned: its findings change between releases.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Schemathesis's command, in a virtual environment of its own under
/// `target/` (from PyPI, once; later runs check the version and go on).
pub fn ensure_schemathesis() -> Result<PathBuf> {
    let venv = root().join("target/tools/schemathesis");
    let st = venv.join("bin/st");
    let wanted = format!("version {SCHEMATHESIS_VERSION}");
    if output_of(&st.to_string_lossy(), &["--version"]).is_some_and(|v| v.contains(&wanted)) {
        return Ok(st);
    }
    if output_of("python3", &["-m", "venv", "--help"]).is_none() {
        step("Installing Python's venv module from the system's packages");
        apt_install(&["python3", "python3-venv"])?;
    }
    step(&format!(
        "Installing Schemathesis {SCHEMATHESIS_VERSION} into target/tools/schemathesis (PyPI; about a minute)"
    ));
    timed("schemathesis", || {
        let _ = std::fs::remove_dir_all(&venv);
        proc::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        proc::run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}")),
        )
    })?;
    Ok(st)
}

/// Lighthouse for `cargo xtask bench lighthouse`: the last major version
/// that runs on the Node.js this machine has (13 needs Node 22).
const LIGHTHOUSE_VERSION: &str = "12.8.2";

/// Installs Lighthouse (npm) into `target/tools/lighthouse` when missing;
/// returns its command-line script. Only the bench needs it, so the test
/// tiers never download it.
pub fn ensure_lighthouse() -> Result<PathBuf> {
    let dir = root().join("target/tools/lighthouse");
    let cli = dir.join("node_modules/lighthouse/cli/index.js");
    let manifest = dir.join("node_modules/lighthouse/package.json");
    let installed = std::fs::read_to_string(&manifest)
        .is_ok_and(|m| m.contains(&format!("\"version\": \"{LIGHTHOUSE_VERSION}\"")));
    if installed {
        return Ok(cli);
    }
    step(&format!(
        "Installing Lighthouse {LIGHTHOUSE_VERSION} into target/tools/lighthouse (npm; about a minute)"
    ));
    timed("lighthouse", || {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        proc::run(
            Command::new("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--no-save",
                    "--prefix",
                ])
                .arg(&dir)
                .arg(format!("lighthouse@{LIGHTHOUSE_VERSION}")),
        )
    })?;
    Ok(cli)
}

pub fn ensure_browser() -> Result {
    if chromium().exists() && chromedriver().exists() {
        return Ok(());
    }
    step("Installing Chromium and ChromeDriver from the system's packages (about a minute)");
    apt_install(&["chromium", "chromium-driver"])
}

pub fn apt_install(packages: &[&str]) -> Result {
    let is_root = output_of("id", &["-u"]).as_deref() == Some("0");
    let apt = |args: &[&str]| {
        let mut cmd = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        proc::run(&mut cmd)
    };
    timed("apt-get", || {
        apt(&["update", "-q"])?;
        let mut args = vec!["install", "-y", "-q"];
        args.extend_from_slice(packages);
        apt(&args)
    })
    .map_err(|e| {
        format!(
            "{e}\n(install {} with your system's package manager and run again)",
            packages.join(" ")
        )
    })
}

/// `cargo fetch --locked`: Trunk builds offline, so dependencies must be here first.
pub fn fetch() -> Result {
    proc::run(
        Command::new("cargo")
            .args(["fetch", "--locked", "--quiet"])
            .current_dir(root()),
    )
}

/// Builds the app in release mode into `dist/`, once per run: the size,
/// e2e, https and contract tiers share the build.
pub fn build_app() -> Result {
    static BUILT: AtomicBool = AtomicBool::new(false);
    if BUILT.load(Ordering::SeqCst) {
        return Ok(());
    }
    ensure_build_tools()?;
    step("Building the app (Trunk, release; the first build takes a few minutes)");
    fetch()?;
    timed("app build", || {
        proc::run(
            Command::new("trunk")
                .args(["build", "--release", "--skip-version-check"])
                .env("PATH", path_with_node_bin())
                .current_dir(root()),
        )
    })?;
    BUILT.store(true, Ordering::SeqCst);
    Ok(())
}
