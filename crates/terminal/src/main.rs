//! `till-terminal`: the simulated card terminal (development and tests).

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use till_core::time::Duration;
use till_nexo::notification::WebhookKey;
use till_terminal::device::{DeviceConfig, APPROVE_DELAY_DEFAULT, TERMINAL_TIMEOUT_DEFAULT};
use till_terminal::notifier::NotifyTarget;
use till_terminal::{Application, Config};

#[derive(Debug, Parser)]
#[command(
    name = "till-terminal",
    version,
    about = "A simulated card terminal speaking the Terminal API (nexo, local integration)"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    tls: till_http::tls::TlsArgs,
    /// Where /nexo is served (HTTPS); terminals use port 8443.
    #[arg(long, env = "TILL_TERMINAL_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Data folder for the terminal's memory.
    #[arg(
        long,
        env = "TILL_TERMINAL_DATA",
        default_value = "data/terminal",
        global = true
    )]
    data: PathBuf,
    /// The terminal's POIID (model-serial), as its certificate names it.
    #[arg(
        long,
        env = "TILL_TERMINAL_POIID",
        default_value = "V400m-000000001",
        global = true
    )]
    poiid: String,
    /// The shared key's identifier and version.
    #[arg(long, env = "TILL_TERMINAL_KEY_ID", default_value = "TillKey01")]
    key_id: String,
    #[arg(long, env = "TILL_TERMINAL_KEY_VERSION", default_value_t = 1)]
    key_version: u32,
    /// A file holding the shared key's passphrase (or set
    /// TILL_TERMINAL_PASSPHRASE; never on the command line).
    #[arg(long, env = "TILL_TERMINAL_PASSPHRASE_FILE")]
    passphrase_file: Option<PathBuf>,
    /// How long a normal approval takes, in milliseconds.
    #[arg(long, default_value_t = APPROVE_DELAY_DEFAULT.as_millis())]
    approve_delay_ms: u64,
    /// How long the terminal waits for a card, in seconds.
    #[arg(long, default_value_t = TERMINAL_TIMEOUT_DEFAULT.as_millis() / 1000)]
    terminal_timeout_secs: u64,
    /// Serve the tests' controls (plain HTTP) at this address; never in a store.
    #[arg(long)]
    sim_controls: Option<SocketAddr>,
    /// The back office's notification endpoint, e.g.
    /// https://oms.example/api/v1/notifications/terminal. The signing key
    /// (hex) comes from TILL_WEBHOOK_HMAC_KEY.
    #[arg(long, env = "TILL_NOTIFY_URL")]
    notify_url: Option<String>,
    /// A CA (PEM) to trust for the notification endpoint.
    #[arg(long, env = "TILL_NOTIFY_CA")]
    notify_ca: Option<PathBuf>,
    /// The merchant account the notifications name.
    #[arg(long, default_value = "TillStore")]
    merchant_account: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The terminal's certificate.
    #[command(subcommand)]
    Tls(TlsCommand),
}

#[derive(Debug, Subcommand)]
enum TlsCommand {
    /// Issues a certificate naming the POIID from the store's local CA in
    /// --dir (made there if missing).
    Init {
        #[arg(long)]
        dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    till_http::main("till-terminal", "info", run(Args::parse())).await
}

async fn run(args: Args) -> Result<(), till_http::ServerError> {
    if let Some(Command::Tls(TlsCommand::Init { dir })) = &args.command {
        // The terminal's own CA (a real one's is its vendor's), for its
        // POIID alone.
        let names = std::slice::from_ref(&args.poiid);
        let ca = till_http::tls::LocalCa::open_or_create(dir, "Till terminal test CA", names)?;
        let issued = ca.issue("terminal", std::slice::from_ref(&args.poiid))?;
        println!("Certificate for {}:", args.poiid);
        println!("  --tls-cert {}", issued.cert.display());
        println!("  --tls-key  {}", issued.key.display());
        return Ok(());
    }
    let config = config(&args)?;
    let app = Application::build(config).await?;
    println!("till-terminal {} listening on {}", args.poiid, app.url());
    if let Some(url) = app.controls_url() {
        println!("till-terminal controls on {url}");
    }
    Ok(app.run().await?)
}

fn secret(file: &Option<PathBuf>, env: &str, what: &str) -> Result<Option<String>, String> {
    let text = match (file, std::env::var(env)) {
        (Some(f), _) => {
            std::fs::read_to_string(f).map_err(|e| format!("{what} {}: {e}", f.display()))?
        }
        (None, Ok(v)) => v,
        (None, Err(_)) => return Ok(None),
    };
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()).filter(|s| !s.is_empty()))
}

fn config(args: &Args) -> Result<Config, till_http::ServerError> {
    let passphrase = secret(
        &args.passphrase_file,
        "TILL_TERMINAL_PASSPHRASE",
        "passphrase file",
    )?
    .ok_or("no shared key: set TILL_TERMINAL_PASSPHRASE or give --passphrase-file")?;
    let tls = args
        .tls
        .acceptor()?
        .ok_or("a terminal serves HTTPS: give --tls-cert and --tls-key (till-terminal tls init makes them)")?;
    let notify = match &args.notify_url {
        None => None,
        Some(url) => {
            let key = secret(&None, "TILL_WEBHOOK_HMAC_KEY", "webhook key")?
                .ok_or("--notify-url needs the signing key in TILL_WEBHOOK_HMAC_KEY (hex)")?;
            Some(NotifyTarget {
                url: url.clone(),
                key: WebhookKey::from_hex(&key)
                    .map_err(|e| format!("TILL_WEBHOOK_HMAC_KEY: {e}"))?,
                ca: args.notify_ca.clone(),
            })
        }
    };
    Ok(Config {
        listen: args.listen,
        data: args.data.clone(),
        device: DeviceConfig {
            poi_id: args.poiid.clone(),
            approve_delay: Duration::from_millis(args.approve_delay_ms),
            terminal_timeout: Duration::from_secs(args.terminal_timeout_secs),
            merchant_account: args.merchant_account.clone(),
        },
        key: till_nexo::Key::derive(&passphrase, &args.key_id, args.key_version),
        tls,
        controls: args.sim_controls,
        notify,
    })
}
