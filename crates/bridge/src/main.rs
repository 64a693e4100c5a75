//! `till-bridge`: the LAN bridge to the card terminal.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use till_bridge::reporter::OmsTarget;
use till_bridge::simulator::{SimConfig, APPROVE_DELAY_DEFAULT, TERMINAL_TIMEOUT_DEFAULT};
use till_bridge::{Application, Config};
use till_core::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "till-bridge",
    version,
    about = "Till's LAN bridge to the card terminal"
)]
struct Args {
    /// Address to listen on (a LAN address in a store).
    #[arg(long, env = "TILL_BRIDGE_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Data folder for the journal.
    #[arg(long, env = "TILL_BRIDGE_DATA", default_value = "data")]
    data: PathBuf,
    /// The token registers must present; made up and printed when absent.
    /// Prefer the environment variable: a command line is visible to every
    /// user of the machine (`ps`).
    #[arg(long, env = "TILL_PAIRING_TOKEN", hide_env_values = true)]
    pairing_token: Option<String>,
    /// Origins of the app allowed to call the bridge (CORS); repeat or separate with commas.
    #[arg(
        long = "allow-origin",
        env = "TILL_BRIDGE_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// The OMS to report approved payments to, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "TILL_OMS_URL")]
    oms_url: Option<String>,
    /// The bridge's token at the OMS.
    #[arg(long, env = "TILL_BRIDGE_TOKEN", hide_env_values = true)]
    oms_token: Option<String>,
    /// Use the simulated terminal (development and tests).
    #[arg(long)]
    simulator: bool,
    /// Enable /_sim, the simulated terminal's controls: they force outcomes
    /// and faults (tests only; never in a store).
    #[arg(long)]
    sim_controls: bool,
    /// Simulator: how long a normal approval takes, in milliseconds.
    #[arg(long, default_value_t = APPROVE_DELAY_DEFAULT.as_millis())]
    sim_delay_ms: u64,
    /// Simulator: how long the terminal waits before giving up, in seconds.
    #[arg(long, default_value_t = TERMINAL_TIMEOUT_DEFAULT.as_millis() / 1000)]
    terminal_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("till-bridge: {e}");
            ExitCode::from(2)
        }
    }
}

fn made_up_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..24)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

async fn run(args: Args) -> Result<(), String> {
    let oms = match (args.oms_url, args.oms_token) {
        (Some(url), Some(token)) => Some(OmsTarget { url, token }),
        (None, None) => None,
        _ => return Err("--oms-url and --oms-token go together".into()),
    };
    let made_up = args.pairing_token.is_none();
    let pairing_token = args.pairing_token.unwrap_or_else(made_up_token);
    let config = Config {
        listen: args.listen,
        data: args.data,
        pairing_token: pairing_token.clone(),
        allow_origins: args.allow_origins,
        oms,
        simulator: args.simulator.then_some(SimConfig {
            approve_delay: Duration::from_millis(args.sim_delay_ms),
            terminal_timeout: Duration::from_secs(args.terminal_timeout_secs),
        }),
        sim_controls: args.sim_controls,
    };
    let app = Application::build(config).await?;
    // xtask and people read these lines. A token that was given is never
    // printed (logs are read by more people than tokens should be).
    if made_up {
        println!("till-bridge pairing token (made up for this run): {pairing_token}");
    }
    println!("till-bridge listening on http://{}", app.local_addr());
    app.run().await.map_err(|e| e.to_string())
}
