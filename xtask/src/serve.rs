//! `cargo xtask serve`: the whole system on this machine.
//!
//! Builds the app (release) and the servers, starts the OMS serving the app
//! on an embedded database in `./data`, and prints the URL to open. Ctrl-C
//! stops everything.

use crate::proc::{self, root, step, Server};
use crate::tools;
use crate::Result;
use std::process::Command;
use std::time::Duration;

pub fn run(args: &[String]) -> Result {
    let mut port = 8080u16;
    let mut lan = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lan" => lan = true,
            "--port" => {
                port = it
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or("--port needs a number, e.g. --port 8080")?;
            }
            other => {
                return Err(format!(
                    "unknown option {other:?} (options: --lan, --port N)"
                ))
            }
        }
    }
    tools::build_app()?;
    step("Building the servers (release)");
    proc::run(
        Command::new("cargo")
            .args(["build", "--release", "--locked", "-p", "till-oms"])
            .current_dir(root()),
    )?;

    let data = root().join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let host = if lan { "0.0.0.0" } else { "127.0.0.1" };
    step("Starting Till");
    let mut oms = Server::start(
        "oms",
        Command::new(root().join("target/release/till-oms"))
            .arg("--listen")
            .arg(format!("{host}:{port}"))
            .arg("--dist")
            .arg(root().join("dist"))
            .current_dir(&data),
        "listening on ",
        Duration::from_secs(30),
    )?;
    let url = if lan {
        format!("http://localhost:{port}")
    } else {
        oms.url.clone()
    };
    println!();
    println!("  Till is running.");
    println!("  Open the register:  {url}/");
    if lan {
        println!("  From a tablet on this network: http://<this machine's LAN address>:{port}/");
        println!("  (offline mode and card payments need HTTPS on a LAN address; see the README)");
    }
    println!("  Stop with Ctrl-C.");
    println!();
    oms.wait()
}
