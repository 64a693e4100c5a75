//! `till-oms`: starts the reference back office, or generates a large catalog.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use till_core::money::Currency;
use till_core::order::{BusinessDate, RegisterId};
use till_core::staff::{check_pin, Role, StaffId};
use till_core::time::{Duration, Timestamp};
use till_oms::auth::Tokens;
use till_oms::enrol::make_enrolment;
use till_oms::exceptions;
use till_oms::journal;
use till_oms::store::registers::Revocation;
use till_oms::store::Store;
use till_oms::store::DEFAULT_POOL_SIZE;
use till_oms::stores::Stores;
use till_oms::{add_demo_staff, demo, open_store, with_store, Application, Config, Database};

#[derive(Debug, Parser)]
#[command(
    name = "till-oms",
    version,
    about = "Till's reference back office; serves the built app"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    tls: till_http::tls::TlsArgs,
    /// Address to listen on.
    #[arg(long, env = "TILL_OMS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder of the built app (Trunk's output); omit to serve the API only.
    #[arg(long, env = "TILL_DIST")]
    dist: Option<PathBuf>,
    /// Data folder; the database is created there on first start.
    #[arg(long, env = "TILL_DATA", default_value = "data", global = true)]
    data: PathBuf,
    /// A PostgreSQL database (`postgres://user@host:port/database`) shared
    /// by every OMS process of a chain; without it, SQLite in the data
    /// folder. Prefer the environment variable when the URL has a password.
    #[arg(long, env = "TILL_DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// The CA certificate (PEM) that signed the database server's, for
    /// `sslmode=require` in the URL; without it, the system's roots.
    #[arg(long, env = "TILL_DATABASE_CA", global = true)]
    database_ca: Option<PathBuf>,
    /// Connections to PostgreSQL this process opens at most.
    #[arg(long, env = "TILL_DATABASE_POOL", default_value_t = DEFAULT_POOL_SIZE, global = true)]
    database_pool: usize,
    /// A register and its token, REGISTER=TOKEN; repeat, or separate with
    /// commas. Prefer the environment variable: a command line is visible
    /// to every user of the machine (`ps`).
    #[arg(
        long = "register-token",
        env = "TILL_REGISTER_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    register_tokens: Vec<String>,
    /// A chain's store and its registers, STORE=REGISTER+REGISTER; repeat,
    /// or separate with commas. The back office reads a store's day.
    #[arg(long = "store", env = "TILL_STORES", value_delimiter = ',')]
    stores: Vec<String>,
    /// The token the bridge uses to report payments.
    #[arg(long, env = "TILL_BRIDGE_TOKEN", hide_env_values = true)]
    bridge_token: Option<String>,
    /// The back office's token: reads every register's orders and their
    /// history; writes nothing.
    #[arg(long, env = "TILL_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The bridge's origin, allowed in the app's Content-Security-Policy.
    #[arg(long, env = "TILL_BRIDGE_ORIGIN")]
    bridge_origin: Option<String>,
    /// Currency of the demo catalog written on first start (ISO 4217).
    #[arg(long, env = "TILL_CURRENCY", default_value = "EUR", global = true)]
    currency: String,
    /// Enable the /_faults controls (for tests; never in a store).
    #[arg(long)]
    faults: bool,
    /// Try Till: on a first start with the demo catalog, write the demo
    /// staff with the PINs the README publishes (never in a real store;
    /// `cargo xtask serve` passes it).
    #[arg(long)]
    demo: bool,
    /// Serve plain HTTP on a LAN address anyway (refused without it:
    /// tokens and PIN hashes would cross the network in clear).
    #[arg(long, env = "TILL_INSECURE_LAN")]
    insecure_lan: bool,
}

/// The arguments that carry a secret: on the command line, a warning.
const SECRETS: &[&str] = &[
    "register_tokens",
    "bridge_token",
    "admin_token",
    "database_url",
];

#[derive(Debug, Subcommand)]
enum Command {
    /// Replace the catalog with a generated one (for benchmarks).
    GenCatalog {
        #[arg(long, default_value_t = 100_000)]
        products: usize,
    },
    /// The store's staff: who signs in on the registers.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The store's registers: enrol a new tablet, list them, remove one.
    #[command(subcommand)]
    Registers(RegistersCommand),
    /// A day's exceptions: records the staff list does not bear out (a
    /// sale by someone unknown or disabled, an approval by someone who is
    /// not a manager, a void, refund or no-sale by a cashier with no
    /// manager's approval).
    Exceptions {
        /// The business date, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// Only this store's registers (a store of `--store`).
        #[arg(long = "of-store")]
        of_store: Option<String>,
    },
    /// The registers' signed journals: verify what is stored, or export it
    /// for an auditor.
    #[command(subcommand)]
    Journal(JournalCommand),
}

#[derive(Debug, Subcommand)]
enum JournalCommand {
    /// Verify every stored chain again from its first entry (seq, prev,
    /// hash, signature) and print each register's head or first break.
    /// Exits with status 1 when a chain breaks.
    Verify {
        /// Only this register.
        #[arg(long)]
        register: Option<String>,
        /// Only this store's registers (a store of `--store`).
        #[arg(long = "of-store")]
        of_store: Option<String>,
        /// Also count each register's entries of this UTC day, YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
    },
    /// Write the entries of the UTC days FROM to TO (inclusive) as JSON
    /// lines (PREFIX.jsonl, each entry as signed) and CSV (PREFIX.csv).
    Export {
        /// Only this store's registers (a store of `--store`).
        #[arg(long = "of-store")]
        of_store: Option<String>,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// The files' path without extension; `journal-FROM-TO` by default.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum RegistersCommand {
    /// Make a one-time enrolment secret, good once for 10 minutes: the
    /// tablet that presents it first becomes a register with a token of
    /// its own. It is printed alone on standard output, for a setup link
    /// (`cargo xtask serve --enrol` makes the link and its QR code).
    Enrol {
        /// The register id to give (letters, digits, `_`); without it, the
        /// next free one (R1, R2, …).
        #[arg(long)]
        register: Option<String>,
        /// The app's address as the tablets open it (for example
        /// `https://till.store.example`): prints the whole setup link, not
        /// the secret alone. The tablet then pairs with the bridge by code.
        #[arg(long)]
        link: Option<String>,
    },
    /// Every register the back office knows: enrolled, removed, or
    /// configured by token (seen by its orders).
    List,
    /// Remove a register: its token is refused from its next request, and
    /// the register says so. Its id is never given again.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Add a person. The PIN (4 to 8 digits; a manager's at least 6; not
    /// one digit repeated, a run such as 123456, or a demo PIN) is read
    /// from TILL_STAFF_PIN,
    /// or else from the first line of standard input, never from the
    /// command line (which every user of the machine can see).
    Add {
        /// A short id: letters, digits, '-' or '_' (for example `sam`).
        #[arg(long)]
        id: String,
        /// The name shown on the sign-in screen and on receipts.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A store they work in (repeat, or separate with commas): only
        /// that store's registers get them. Without it, every store's.
        #[arg(long = "store", value_delimiter = ',')]
        stores: Vec<String>,
    },
    /// List everyone, disabled people too.
    List,
    /// Disable a person: they can no longer sign in (their name stays on
    /// what they did). Registers drop them at their next download.
    Disable { id: String },
    /// Enable a disabled person again.
    Enable { id: String },
    /// Give a person a new PIN (by `add`'s rules), read like `add`'s: from
    /// TILL_STAFF_PIN, or else the first line of standard input. Registers
    /// take it at their next download.
    SetPin { id: String },
    /// Add the demo staff to an empty staff list (for trying Till).
    Demo,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Cashier,
    Manager,
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Args::command().get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let on_argv = till_http::exposure::on_command_line(&matches, SECRETS);
    till_http::main("till-oms", "info,refinery_core=warn", run(args, on_argv)).await
}

/// What the back office refuses, or warns about, before it starts.
fn start_checks(
    args: &Args,
    registers: &[(till_core::order::RegisterId, String)],
    tls: bool,
    on_argv: &[&str],
) -> Result<(), till_http::ServerError> {
    let mut checks = till_http::exposure::StartChecks::new(args.listen);
    checks.transport(tls, args.insecure_lan);
    for (register, token) in registers {
        checks.token(&format!("--register-token {register}=…"), Some(token));
    }
    checks
        .token("--bridge-token", args.bridge_token.as_deref())
        .token("--admin-token", args.admin_token.as_deref());
    for id in on_argv {
        let flag = match *id {
            "register_tokens" => "--register-token".to_owned(),
            other => format!("--{}", other.replace('_', "-")),
        };
        checks.secret_on_command_line(&flag);
    }
    if let Some(url) = &args.database_url {
        checks.database(url);
    }
    checks.finish()
}

async fn run(args: Args, on_argv: Vec<&str>) -> Result<(), till_http::ServerError> {
    let currency = Currency::from_code(&args.currency)
        .map_err(|e| format!("--currency {}: {e}", args.currency))?;
    let database = match args.database_url.clone() {
        Some(url) => Database::Postgres {
            url,
            pool_size: args.database_pool,
            ca: args.database_ca.clone(),
        },
        None => Database::Sqlite,
    };
    match args.command {
        Some(Command::GenCatalog { products }) => {
            let store = open_store(&database, &args.data).await?;
            let catalog = demo::generated_catalog(products, currency);
            let meta = with_store(&store, move |s| s.replace_catalog(&catalog)).await?;
            println!(
                "wrote a catalog of {} products (version {})",
                meta.products_total, meta.version
            );
            // The bench signs in as the demo staff.
            add_demo_staff(&store).await?;
            return Ok(());
        }
        Some(Command::Staff(cmd)) => {
            let store = open_store(&database, &args.data).await?;
            return Ok(staff_command(&store, cmd).await?);
        }
        Some(Command::Registers(cmd)) => {
            let store = open_store(&database, &args.data).await?;
            return Ok(registers_command(&store, cmd).await?);
        }
        Some(Command::Journal(cmd)) => {
            let store = open_store(&database, &args.data).await?;
            let stores = Stores::parse(&args.stores)?;
            return Ok(journal_command(&store, &stores, cmd).await?);
        }
        Some(Command::Exceptions { date, of_store }) => {
            let store = open_store(&database, &args.data).await?;
            let stores = Stores::parse(&args.stores)?;
            return Ok(exceptions_command(&store, &stores, &date, of_store).await?);
        }
        None => {}
    }
    if let Some(dist) = &args.dist {
        if !dist.join("index.html").is_file() {
            return Err(format!(
                "{} has no index.html; build the app first (cargo xtask serve does)",
                dist.display()
            )
            .into());
        }
    }
    let registers = Tokens::parse_register_pairs(&args.register_tokens)?;
    let tls = args.tls.acceptor()?;
    start_checks(&args, &registers, tls.is_some(), &on_argv)?;
    let config = Config {
        listen: args.listen,
        dist: args.dist,
        data: args.data,
        database,
        tokens: Tokens::new(registers, args.bridge_token, args.admin_token)?,
        stores: Stores::parse(&args.stores)?,
        bridge_origin: args.bridge_origin,
        currency,
        faults: args.faults,
        demo: args.demo,
        webhook_key: webhook_key()?,
    };
    let mut app = Application::build(config).await?;
    if let Some(tls) = tls {
        app = app.with_tls(tls);
    }
    // xtask and people read this line to find the server.
    println!("till-oms listening on {}", app.url());
    Ok(app.run().await?)
}

async fn staff_command(store: &Arc<dyn Store>, cmd: StaffCommand) -> Result<(), String> {
    match cmd {
        StaffCommand::Add {
            id,
            name,
            role,
            stores,
        } => {
            for s in &stores {
                till_oms::stores::check_store_id(s).map_err(|e| format!("--store: {e}"))?;
            }
            let role = match role {
                RoleArg::Cashier => Role::Cashier,
                RoleArg::Manager => Role::Manager,
            };
            let pin = read_pin()?;
            demo::check_chosen_pin(&pin, role)?;
            let member = demo::staff_member(&id, &name, role, &pin)?;
            let shown = format!(
                "{} ({}, {})",
                member.name,
                member.id,
                role.label().to_lowercase()
            );
            let now = till_oms::api::now();
            with_store(store, move |s| s.add_staff(&member, &stores, now)).await?;
            println!("added {shown}; registers get them at their next catalog check");
        }
        StaffCommand::List => {
            let rows = with_store(store, |s| s.staff(true)).await?;
            if rows.is_empty() {
                println!("no staff yet: add someone with `till-oms staff add`");
            }
            for r in rows {
                let m = r.member;
                let state = if r.active { "active" } else { "disabled" };
                let stores = match r.stores.is_empty() {
                    true => "every store".to_owned(),
                    false => r.stores.join(","),
                };
                println!(
                    "{:<20} {:<24} {:<8} {state:<9} {stores}",
                    m.id.as_str(),
                    m.name,
                    m.role.label().to_lowercase()
                );
            }
        }
        StaffCommand::Disable { id } => set_active(store, id, false).await?,
        StaffCommand::SetPin { id } => {
            let staff_id = StaffId::new(id.clone()).map_err(|e| format!("staff id {id:?}: {e}"))?;
            let pin = read_pin()?;
            let all = with_store(store, |s| s.staff(true)).await?;
            let Some(person) = all.iter().find(|r| r.member.id == staff_id) else {
                return Err(format!(
                    "nobody has the staff id {id:?} (see `till-oms staff list`)"
                ));
            };
            demo::check_chosen_pin(&pin, person.member.role)?;
            let salt: [u8; 16] = rand::random();
            let hash =
                till_core::staff::hash_pin(&pin, salt).map_err(|e| format!("the PIN: {e}"))?;
            if !with_store(store, move |s| s.set_staff_pin(&staff_id, &hash)).await? {
                return Err(format!(
                    "nobody has the staff id {id:?} (see `till-oms staff list`)"
                ));
            }
            println!("set a new PIN for {id}; registers take it at their next catalog check");
        }
        StaffCommand::Enable { id } => set_active(store, id, true).await?,
        StaffCommand::Demo => {
            if add_demo_staff(store).await? {
                println!("added the demo staff");
            } else {
                println!("the staff list is not empty: nothing added");
            }
        }
    }
    Ok(())
}

async fn registers_command(store: &Arc<dyn Store>, cmd: RegistersCommand) -> Result<(), String> {
    let now = till_oms::api::now();
    match cmd {
        RegistersCommand::Enrol { register, link } => {
            let register = register
                .map(|r| RegisterId::new(r.trim()).map_err(|e| format!("--register: {e}")))
                .transpose()?;
            if let Some(app) = &link {
                if !(app.starts_with("https://") || app.starts_with("http://")) {
                    return Err(format!("--link {app}: give the app's address, https://…"));
                }
            }
            let for_whom = register
                .as_ref()
                .map_or("the next free register id".to_owned(), |r| {
                    format!("register {r}")
                });
            let (secret, expires) =
                with_store(store, move |s| make_enrolment(s, register.as_ref(), now)).await?;
            match link {
                Some(app) => {
                    let app = app.trim_end_matches('/').to_owned();
                    let link = till_core::lan::SetupLink {
                        oms_url: app.clone(),
                        secret,
                        bridge: None,
                    };
                    println!("{app}/#{}", link.to_fragment());
                }
                None => println!("{secret}"),
            }
            eprintln!(
                "a one-time enrolment secret for {for_whom}, good once until {} UTC; \
                 it is shown only now",
                clock(expires)
            );
        }
        RegistersCommand::List => list_registers(store).await?,
        RegistersCommand::Revoke { id } => {
            let register =
                RegisterId::new(id.trim()).map_err(|e| format!("register {id:?}: {e}"))?;
            let shown = register.to_string();
            let done = with_store(store, move |s| s.revoke_register(&register, now)).await?;
            match done {
                Revocation::Revoked => {
                    tracing::warn!(register = shown, "register revoked");
                    println!(
                        "removed register {shown}: its token is refused from its next request"
                    );
                }
                Revocation::AlreadyRevoked => println!("register {shown} was already removed"),
            }
        }
    }
    Ok(())
}

async fn list_registers(store: &Arc<dyn Store>) -> Result<(), String> {
    let rows = with_store(store, |s| s.registers()).await?;
    if rows.is_empty() {
        println!("no register yet: enrol one with `till-oms registers enrol`");
    }
    for r in rows {
        let state = match (r.revoked_at, r.enrolled_at) {
            (Some(at), _) => format!("removed {}", clock(at)),
            (None, Some(at)) => format!("enrolled {}", clock(at)),
            (None, None) => "configured by token".to_owned(),
        };
        let last = r.last_order_at.map_or("no order yet".to_owned(), |at| {
            format!("last order {}", clock(at))
        });
        let token = r.fingerprint.unwrap_or_default();
        println!("{:<10} {state:<30} {last:<32} {token}", r.id.as_str());
    }
    Ok(())
}

/// The registers a command names: one, a store's, or every one.
fn chosen_registers(
    stores: &Stores,
    register: Option<String>,
    of_store: Option<String>,
) -> Result<Option<Vec<RegisterId>>, String> {
    if let Some(r) = register {
        return RegisterId::new(r.as_str())
            .map(|r| Some(vec![r]))
            .map_err(|e| format!("--register {r}: {e}"));
    }
    match &of_store {
        Some(s) => Ok(Some(
            stores
                .registers(s)
                .ok_or_else(|| format!("--of-store {s}: no such store in --store"))?
                .to_vec(),
        )),
        None => Ok(None),
    }
}

fn utc_day(flag: &str, text: &str) -> Result<Timestamp, String> {
    let date: BusinessDate = text.parse().map_err(|e| format!("{flag} {text}: {e}"))?;
    Ok(date.midnight_utc())
}

async fn journal_command(
    store: &Arc<dyn Store>,
    stores: &Stores,
    cmd: JournalCommand,
) -> Result<(), String> {
    match cmd {
        JournalCommand::Verify {
            register,
            of_store,
            date,
        } => {
            let registers = chosen_registers(stores, register, of_store)?;
            let day = date.map(|d| utc_day("--date", &d)).transpose()?;
            let verified =
                with_store(store, move |s| journal::verify_all(s, registers, day)).await?;
            let mut broken = false;
            for v in &verified {
                println!("{}", journal::verified_line(v));
                broken |= v.broken.is_some() || !v.records_differ.is_empty();
            }
            if verified.is_empty() {
                println!("no register has a journal here yet");
            }
            if broken {
                return Err("a journal does not verify (see above)".into());
            }
            Ok(())
        }
        JournalCommand::Export {
            of_store,
            from,
            to,
            out,
        } => {
            let registers = chosen_registers(stores, None, of_store)?;
            let span = (
                utc_day("--from", &from)?,
                utc_day("--to", &to)? + Duration::from_mins(24 * 60),
            );
            let out = out.unwrap_or_else(|| format!("journal-{from}-{to}").into());
            let (n, jsonl, csv) = with_store(store, move |s| {
                journal::export_files(s, registers, span, &out)
            })
            .await?;
            println!(
                "{n} entries written to {} and {}",
                jsonl.display(),
                csv.display()
            );
            Ok(())
        }
    }
}

async fn exceptions_command(
    store: &Arc<dyn Store>,
    stores: &Stores,
    date: &str,
    of_store: Option<String>,
) -> Result<(), String> {
    let date: BusinessDate = date.parse().map_err(|e| format!("--date {date}: {e}"))?;
    let registers = match &of_store {
        Some(s) => Some(
            stores
                .registers(s)
                .ok_or_else(|| format!("--of-store {s}: no such store in --store"))?
                .to_vec(),
        ),
        None => None,
    };
    let stores = stores.clone();
    let (checked, found) = with_store(store, move |s| {
        let registers = match registers {
            Some(r) => r,
            None => exceptions::all_registers(s)?,
        };
        exceptions::exceptions_of_day(s, &stores, &registers, date)
    })
    .await?;
    for e in &found {
        let r = &e.record;
        let name = r.number.clone().unwrap_or_else(|| r.id.clone());
        let kind = serde_json::to_value(r.kind).unwrap_or_default();
        let finding = serde_json::to_value(e.finding).unwrap_or_default();
        println!(
            "{}  {} {} v{}  {}: {}",
            clock(e.at),
            kind.as_str().unwrap_or_default(),
            name,
            r.version,
            finding.as_str().unwrap_or_default(),
            e.message
        );
    }
    println!(
        "{date}: {} exception(s) in {} orders, {} refunds and {} shifts checked",
        found.len(),
        checked.orders,
        checked.refunds,
        checked.shifts
    );
    Ok(())
}

/// `YYYY-MM-DD HH:MM` in UTC.
fn clock(t: till_core::time::Timestamp) -> String {
    let (y, m, d) = till_core::time::civil_date(t, 0);
    let minutes = t.as_millis().rem_euclid(86_400_000) / 60_000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

async fn set_active(store: &Arc<dyn Store>, id: String, active: bool) -> Result<(), String> {
    let staff_id = StaffId::new(id.clone()).map_err(|e| format!("staff id {id:?}: {e}"))?;
    if !with_store(store, move |s| {
        s.set_staff_active(&staff_id, active, till_oms::api::now())
    })
    .await?
    {
        return Err(format!(
            "nobody has the staff id {id:?} (see `till-oms staff list`)"
        ));
    }
    let done = if active { "enabled" } else { "disabled" };
    println!("{done} {id}");
    Ok(())
}

/// The PIN from TILL_STAFF_PIN, or the first line of standard input.
fn read_pin() -> Result<String, String> {
    let pin = match std::env::var("TILL_STAFF_PIN") {
        Ok(pin) => pin,
        Err(_) => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprint!("PIN (4 to 8 digits; a manager's at least 6): ");
            }
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("reading the PIN: {e}"))?;
            line.trim().to_owned()
        }
    };
    check_pin(&pin).map_err(|e| format!("the PIN is refused: {e}"))?;
    Ok(pin)
}

/// The card terminal's webhook key (hex), from `TILL_WEBHOOK_HMAC_KEY`:
/// never the command line.
fn webhook_key() -> Result<Option<till_nexo::notification::WebhookKey>, String> {
    match std::env::var("TILL_WEBHOOK_HMAC_KEY") {
        Ok(hex) if !hex.trim().is_empty() => till_nexo::notification::WebhookKey::from_hex(&hex)
            .map(Some)
            .map_err(|e| format!("TILL_WEBHOOK_HMAC_KEY: {e}")),
        _ => Ok(None),
    }
}
