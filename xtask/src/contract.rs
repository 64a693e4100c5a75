//! The API contract tier: Schemathesis against the documents the servers
//! serve, with every check, as each kind of caller. The servers must do
//! what their documents say, and the documents say what the servers do.

use crate::proc::{self, root, step};
use crate::system::{self, Secrets};
use crate::{tools, Result};
use std::process::Command;

/// One Schemathesis run: a document, a caller, the operations it may use.
struct Run {
    name: &'static str,
    config: &'static str,
    token: String,
    document: String,
    filter: &'static [&'static str],
}

/// The same examples every time, so that a failure in CI is a failure here;
/// `TILL_CONTRACT_SEED` tries others.
const DEFAULT_SEED: &str = "20261128";

/// Examples per operation and phase in `cargo xtask test` (Schemathesis's
/// own default is 100): the coverage phase still walks every keyword of
/// every schema, so this bounds only the random fuzzing, and keeps the
/// tier to about a minute on 2 cores. `TILL_CONTRACT_EXAMPLES` asks for more.
const DEFAULT_EXAMPLES: &str = "30";

fn runs(sys: &system::System, secrets: &Secrets) -> Vec<Run> {
    let oms = format!("{}/api/v1/openapi.json", sys.oms_url());
    vec![
        Run {
            name: "OMS as a register",
            config: "tests/contract/oms.toml",
            token: secrets.register_token.clone(),
            document: oms.clone(),
            // The bridge's and the back office's operations answer a
            // register 403; they are run below with their own tokens. The
            // terminal's notifications need no token (their signature is
            // checked) and run here.
            filter: &[
                "--exclude-path",
                "/payments",
                "--exclude-path-regex",
                "/history$",
            ],
        },
        Run {
            name: "OMS as the bridge",
            config: "tests/contract/oms.toml",
            token: secrets.bridge_token.clone(),
            document: oms.clone(),
            filter: &["--include-path", "/payments"],
        },
        Run {
            name: "OMS as the back office",
            config: "tests/contract/oms.toml",
            token: secrets.admin_token.clone(),
            document: oms,
            filter: &["--include-method", "GET"],
        },
        Run {
            name: "bridge as a register",
            config: "tests/contract/bridge.toml",
            token: secrets.pairing_token.clone(),
            document: format!("{}/v1/openapi.json", sys.bridge_url()),
            filter: &[],
        },
    ]
}

/// Runs every contract run against fresh servers; the runs that passed and
/// the output of each.
pub fn run() -> Result<(bool, String)> {
    let st = tools::ensure_schemathesis()?;
    // The OMS serves an app; any build will do for the API (after the e2e
    // tier there is a fresh one).
    if !root().join("dist/index.html").is_file() {
        tools::build_app()?;
    }
    system::build_servers(system::Build::Debug)?;
    let data = crate::test::tempdir("till-contract")?;
    let sys = system::start(&system::Options {
        approve_delay_ms: Some(200),
        terminal_timeout_secs: Some(5),
        ..system::Options::loopback(data.clone(), system::Build::Debug)
    })?;
    let seed = std::env::var("TILL_CONTRACT_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let examples =
        std::env::var("TILL_CONTRACT_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.into());
    let reports = data.join("reports");
    let mut all_ok = true;
    let mut summary = Vec::new();
    for r in runs(&sys, &Secrets::development()) {
        step(&format!("Schemathesis: {} ({})", r.name, r.document));
        let mut cmd = Command::new(&st);
        cmd.arg("--config-file")
            .arg(root().join(r.config))
            .args(["run", &r.document, "--checks", "all", "--seed", &seed])
            .args(["--max-examples", &examples])
            .arg("--report-dir")
            .arg(&reports)
            .args(r.filter)
            .env("TILL_CONTRACT_TOKEN", &r.token)
            .env("NO_COLOR", "1")
            .current_dir(&data);
        let (ok, out) = proc::run_captured(&mut cmd)?;
        all_ok &= ok;
        summary.push(format!(
            "contract run {}: {}",
            if ok { "passed" } else { "failed" },
            r.name
        ));
        if !ok {
            summary.push(out);
        }
    }
    drop(sys);
    let _ = std::fs::remove_dir_all(&data);
    Ok((all_ok, summary.join("\n")))
}

/// Passed and failed runs, from the summary lines of [`run`].
pub fn counts(out: &str) -> (u64, u64) {
    let count = |word: &str| {
        out.lines()
            .filter(|l| l.starts_with(&format!("contract run {word}:")))
            .count() as u64
    };
    (count("passed"), count("failed"))
}
