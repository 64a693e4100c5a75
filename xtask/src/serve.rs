//! `cargo xtask serve`: the whole system on this machine.
//!
//! Builds the app (release) and the servers, starts the OMS serving the app
//! and the bridge with the simulated terminal, both on embedded SQLite
//! databases under `./data`, and prints what to open and type. Ctrl-C stops
//! everything.

use crate::proc::{root, step};
use crate::system::{self, Options, DEV_PAIRING_TOKEN, DEV_REGISTER, DEV_REGISTER_TOKEN};
use crate::tools;
use crate::Result;

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
    system::build_servers()?;
    step("Starting Till");
    let mut sys = system::start(&Options {
        host: if lan { "0.0.0.0" } else { "127.0.0.1" },
        oms_port: port,
        bridge_port: 7878,
        data: root().join("data"),
        faults: false,
        sim_delay_ms: None,
        terminal_timeout_secs: None,
    })?;
    let app = format!("http://127.0.0.1:{port}");
    println!();
    println!("  Till is running. Open the register:  {app}/");
    println!();
    println!("  First run asks for these (development values):");
    println!("    OMS URL         {app}");
    println!("    register id     {DEV_REGISTER}");
    println!("    register token  {DEV_REGISTER_TOKEN}");
    println!("    bridge URL      {}", sys.bridge_url());
    println!("    pairing token   {DEV_PAIRING_TOKEN}");
    println!();
    println!("  The simulated terminal decides by the amount's last two digits:");
    println!("    00-49 approved (3 s) · 51 declined · 52 result hidden 120 s · 53 result lost, reported to the OMS after 60 s");
    println!("    54 terminal never answers · 55 approved after 40 s   (the \"Card tests\" category has one item for each)");
    if lan {
        println!();
        println!("  On the LAN: http://<this machine's address>:{port}/ (offline mode and card payments need HTTPS; see the README)");
    }
    println!();
    println!("  Data lives in ./data. Stop with Ctrl-C.");
    println!();
    sys.oms.wait()
}
