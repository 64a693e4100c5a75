//! `till-bridge`: the LAN bridge to the card terminal.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use till_bridge::api::now;
use till_bridge::driver::TERMINAL_TIMEOUT_DEFAULT;
use till_bridge::pairing::Pairings;
use till_bridge::reporter::OmsTarget;
use till_bridge::terminal::TerminalConfig;
use till_bridge::{Application, Config};
use till_core::time::Duration;
use till_core::time::Timestamp;

#[derive(Debug, Parser)]
#[command(
    name = "till-bridge",
    version,
    about = "Till's LAN bridge to the card terminal"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    tls: till_http::tls::TlsArgs,
    /// Address to listen on (a LAN address in a store).
    #[arg(long, env = "TILL_BRIDGE_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Data folder for the journal.
    #[arg(long, env = "TILL_BRIDGE_DATA", default_value = "data", global = true)]
    data: PathBuf,
    /// One token every register may present, for development and tests; in
    /// a store, registers pair by code (Settings, Pair with payment bridge)
    /// and each gets its own. Prefer the environment variable: a command
    /// line is visible to every user of the machine (`ps`).
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
    /// A CA certificate (PEM) to trust for an https:// OMS, beside the
    /// system's roots (a store's own CA).
    #[arg(long, env = "TILL_OMS_CA")]
    oms_ca: Option<PathBuf>,
    /// The card terminal's Terminal API (local integration), e.g.
    /// https://192.168.1.30:8443/nexo.
    #[arg(long, env = "TILL_TERMINAL_URL")]
    terminal_url: Option<String>,
    /// The terminal's POIID (model-serial, e.g. V400m-324688179): the name
    /// its certificate must carry.
    #[arg(long, env = "TILL_TERMINAL_POIID")]
    poiid: Option<String>,
    /// The terminal's shared key: its identifier and version, as set on the
    /// terminal.
    #[arg(long, env = "TILL_TERMINAL_KEY_ID")]
    terminal_key_id: Option<String>,
    #[arg(long, env = "TILL_TERMINAL_KEY_VERSION", default_value_t = 1)]
    terminal_key_version: u32,
    /// A file holding the shared key's passphrase (or set
    /// TILL_TERMINAL_PASSPHRASE; never on the command line).
    #[arg(long, env = "TILL_TERMINAL_PASSPHRASE_FILE")]
    terminal_passphrase_file: Option<PathBuf>,
    /// The CA (PEM) the terminal's certificate chains to (the vendor's, or
    /// the store's own for till-terminal).
    #[arg(long, env = "TILL_TERMINAL_CA")]
    terminal_ca: Option<PathBuf>,
    /// How the bridge names itself to the terminal (nexo SaleID).
    #[arg(long, env = "TILL_SALE_ID", default_value = "TillBridge")]
    sale_id: String,
    /// How long the terminal may work on a payment, in seconds.
    #[arg(long, default_value_t = TERMINAL_TIMEOUT_DEFAULT.as_millis() / 1000)]
    terminal_timeout_secs: u64,
    /// Enable /_faults: faults of the bridge's own API (tests only; never
    /// in a store).
    #[arg(long)]
    faults: bool,
    /// Serve plain HTTP on a LAN address anyway (refused without it:
    /// pairing codes and tokens would cross the Wi-Fi in clear).
    #[arg(long, env = "TILL_INSECURE_LAN")]
    insecure_lan: bool,
}

/// The arguments that carry a secret: on the command line, a warning.
const SECRETS: &[&str] = &["pairing_token", "oms_token"];

#[derive(Debug, Subcommand)]
enum Command {
    /// HTTPS for a store without a DNS name of its own.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// The registers paired with this bridge.
    #[command(subcommand)]
    Pairings(PairingsCommand),
}

#[derive(Debug, Subcommand)]
enum TlsCommand {
    /// Makes a local CA (once, valid 2 years, for these names alone) and a
    /// certificate for the bridge's names and addresses, and says how to
    /// trust the CA on a tablet and to take its key off this machine.
    Init {
        /// A DNS name or IP address tablets use to reach the bridge;
        /// repeat. Default: localhost, 127.0.0.1 and --listen's address.
        #[arg(long = "name")]
        names: Vec<String>,
        /// Where the CA and certificate go (default: the data folder's tls/).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Issues a new certificate for the bridge from the CA whose key is
    /// given back (put ca-key.pem into the folder first).
    Renew {
        /// The names to issue for (default: every name the CA permits).
        #[arg(long = "name")]
        names: Vec<String>,
        /// The CA's folder (default: the data folder's tls/).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum PairingsCommand {
    /// Lists the registers paired with this bridge.
    List,
    /// Refuses this pairing's token from the next request on.
    Revoke { id: String },
    /// Prints the pairing code in force, or makes one (valid 5 minutes).
    Code {
        /// Make a new code even if one is in force (the old one stops working).
        #[arg(long)]
        new: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Args::command().get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let on_argv = till_http::exposure::on_command_line(&matches, SECRETS);
    till_http::main("till-bridge", "info", run(args, on_argv)).await
}

/// What the bridge refuses, or warns about, before it starts.
fn start_checks(args: &Args, tls: bool, on_argv: &[&str]) -> Result<(), till_http::ServerError> {
    let mut checks = till_http::exposure::StartChecks::new(args.listen);
    checks
        .transport(tls, args.insecure_lan)
        .token("--pairing-token", args.pairing_token.as_deref())
        .token("--oms-token", args.oms_token.as_deref())
        .origins("--allow-origin", &args.allow_origins);
    for id in on_argv {
        checks.secret_on_command_line(&format!("--{}", id.replace('_', "-")));
    }
    for (flag, url) in [
        ("--oms-url", &args.oms_url),
        ("--terminal-url", &args.terminal_url),
    ] {
        if let Some(url) = url {
            checks.upstream(flag, url);
        }
    }
    checks.finish()
}

async fn run(args: Args, on_argv: Vec<&str>) -> Result<(), till_http::ServerError> {
    match args.command {
        Some(Command::Tls(TlsCommand::Init { names, dir })) => {
            let dir = dir.unwrap_or_else(|| args.data.join("tls"));
            return tls_init(&dir, names, args.listen);
        }
        Some(Command::Tls(TlsCommand::Renew { names, dir })) => {
            let dir = dir.unwrap_or_else(|| args.data.join("tls"));
            return tls_renew(&dir, names);
        }
        Some(Command::Pairings(cmd)) => return Ok(pairings_command(&args.data, cmd)?),
        None => {}
    }
    let tls = args.tls.acceptor()?;
    start_checks(&args, tls.is_some(), &on_argv)?;
    let terminal = terminal_config(&args)?;
    let oms = match (args.oms_url, args.oms_token) {
        (Some(url), Some(token)) => Some(OmsTarget {
            url,
            token,
            ca: args.oms_ca,
        }),
        (None, None) => None,
        _ => return Err("--oms-url and --oms-token go together".into()),
    };
    let config = Config {
        listen: args.listen,
        data: args.data,
        pairing_token: args.pairing_token,
        allow_origins: args.allow_origins,
        oms,
        terminal,
        faults: args.faults,
        tombstones_per_caller: till_bridge::TOMBSTONES_PER_CALLER,
    };
    let mut app = Application::build(config).await?;
    if let Some(tls) = tls {
        app = app.with_tls(tls);
    }
    // xtask and people read these lines. A token is never printed (logs
    // are read by more people than tokens should be); a pairing code lasts
    // minutes and is used once.
    let code = app.pairings().code_or_new(now())?;
    println!(
        "till-bridge pairing code: {} (valid until {} UTC; a new one: open {}/pair on this machine, or run till-bridge pairings code)",
        code.spaced(),
        clock(code.expires_at),
        app.url().replace("0.0.0.0", "127.0.0.1"),
    );
    println!("till-bridge listening on {}", app.url());
    Ok(app.run().await?)
}

/// The terminal, from the flags; the passphrase from the environment or a
/// file, never the command line.
fn terminal_config(args: &Args) -> Result<TerminalConfig, String> {
    let missing = |flag: &str| {
        format!("no card terminal: give {flag} (see the README: a real terminal, or till-terminal)")
    };
    let passphrase = match (
        &args.terminal_passphrase_file,
        std::env::var("TILL_TERMINAL_PASSPHRASE"),
    ) {
        (Some(file), _) => std::fs::read_to_string(file)
            .map_err(|e| format!("--terminal-passphrase-file {}: {e}", file.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
        (None, Ok(p)) => p,
        (None, Err(_)) => {
            return Err(missing(
                "TILL_TERMINAL_PASSPHRASE or --terminal-passphrase-file",
            ))
        }
    };
    if passphrase.is_empty() {
        return Err("the terminal's passphrase is empty".into());
    }
    Ok(TerminalConfig {
        url: args
            .terminal_url
            .clone()
            .ok_or_else(|| missing("--terminal-url"))?,
        poi_id: args.poiid.clone().ok_or_else(|| missing("--poiid"))?,
        key_id: args
            .terminal_key_id
            .clone()
            .ok_or_else(|| missing("--terminal-key-id"))?,
        key_version: args.terminal_key_version,
        passphrase,
        ca: args
            .terminal_ca
            .clone()
            .ok_or_else(|| missing("--terminal-ca"))?,
        sale_id: args.sale_id.clone(),
        timeout: Duration::from_secs(args.terminal_timeout_secs),
    })
}

/// `YYYY-MM-DD HH:MM:SS` UTC.
fn when(at: Timestamp) -> String {
    let (y, m, d) = till_core::time::civil_date(at, 0);
    format!("{y}-{m:02}-{d:02} {} UTC", clock(at))
}

/// `HH:MM:SS` of a UTC time.
fn clock(at: Timestamp) -> String {
    let secs = at.as_millis().div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn pairings_command(data: &std::path::Path, cmd: PairingsCommand) -> Result<(), String> {
    let file = data.join(till_bridge::pairing::PAIRINGS_FILE);
    if !file.exists() {
        return Err(format!(
            "no pairings in {} (is --data the bridge's data folder?)",
            data.display()
        ));
    }
    let pairings = Pairings::open(&file)?;
    match cmd {
        PairingsCommand::List => {
            let list = pairings.list()?;
            if list.is_empty() {
                println!("No register is paired with this bridge.");
            }
            for p in list {
                let state = match p.revoked_at {
                    Some(at) => format!("revoked {}", when(at)),
                    None => "paired".to_owned(),
                };
                println!(
                    "{}  {:<16} paired {}  {state}",
                    p.id,
                    p.register,
                    when(p.paired_at)
                );
            }
        }
        PairingsCommand::Revoke { id } => {
            if !pairings.revoke(&id, now())? {
                return Err(format!("no pairing {id}: see till-bridge pairings list"));
            }
            println!("Pairing {id} is revoked: its register is refused from its next request.");
        }
        PairingsCommand::Code { new } => {
            let code = match new {
                true => pairings.new_code(now())?,
                false => pairings.code_or_new(now())?,
            };
            println!(
                "Pairing code: {} (valid until {} UTC, used once)",
                code.spaced(),
                clock(code.expires_at)
            );
        }
    }
    Ok(())
}

fn tls_init(
    dir: &std::path::Path,
    mut names: Vec<String>,
    listen: SocketAddr,
) -> Result<(), till_http::ServerError> {
    if names.is_empty() {
        names = vec!["localhost".into(), "127.0.0.1".into()];
        if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
            names.push(listen.ip().to_string());
        }
    }
    let ca = till_http::tls::LocalCa::open_or_create(dir, "Till bridge local CA", &names)?;
    issued(&ca, &names)?;
    println!(
        "{} CA: {}",
        if ca.created { "New" } else { "Existing" },
        ca.cert_file().display()
    );
    match &ca.permitted {
        Some(permitted) => println!(
            "It may issue only for {} and is valid {} years.",
            permitted.join(", "),
            till_http::tls::CA_YEARS
        ),
        None => println!(
            "This CA was made before Till limited its CAs to the store's names: it could issue for any \
             website. Make a new one (move {} away, run this again) and trust that one on the tablets.",
            dir.display()
        ),
    }
    println!("{}", till_http::tls::TRUST_STEPS);
    println!();
    println!("{}", till_http::tls::KEY_AWAY_STEPS);
    println!();
    // Read by cargo xtask: a test browser trusts this CA alone.
    println!(
        "CA public key SHA-256 (for test browsers): {}",
        ca.spki_sha256()
    );
    Ok(())
}

/// `tls renew`: a new bridge certificate from the CA whose key is back.
fn tls_renew(dir: &std::path::Path, names: Vec<String>) -> Result<(), till_http::ServerError> {
    let ca = till_http::tls::LocalCa::open(dir)?;
    let names = match (names.is_empty(), &ca.permitted) {
        (false, _) => names,
        (true, Some(permitted)) => permitted.clone(),
        (true, None) => {
            return Err(till_http::ServerError::Config(
                "this CA lists no names: say which with --name".into(),
            ))
        }
    };
    issued(&ca, &names)?;
    println!("{}", till_http::tls::KEY_AWAY_STEPS);
    Ok(())
}

/// Issues the bridge's certificate and says which flags serve it.
fn issued(ca: &till_http::tls::LocalCa, names: &[String]) -> Result<(), till_http::ServerError> {
    let issued = ca.issue("bridge", names)?;
    println!("Certificate for {} (valid 397 days):", names.join(", "));
    println!("  --tls-cert {}", issued.cert.display());
    println!("  --tls-key  {}", issued.key.display());
    println!();
    Ok(())
}
