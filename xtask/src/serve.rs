//! `cargo xtask serve`: the whole system on this machine.
//!
//! Builds the app (release) and the servers, starts the OMS serving the app
//! and the bridge with the simulated terminal, both on embedded SQLite
//! databases under `./data`, and prints what to open and type. Ctrl-C or a
//! SIGTERM to xtask stops everything.
//!
//! With `--postgres` the OMS keeps its data in a throw-away PostgreSQL
//! cluster (a chain's engine) instead, deleted when serve stops.
//!
//! On loopback it uses the published development tokens. With `--lan` it
//! never does: the first run makes random tokens, prints them once and keeps
//! them in `data/lan-tokens.env`; later runs read them from there. On the
//! LAN the bridge has no shared pairing token: each register pairs by code
//! (the setup link carries one). `--tls` serves both over HTTPS with a
//! local CA kept in `data/tls`.

use crate::pg;
use crate::proc::{self, root, step};
use crate::system::{self, Options, Secrets, DEV_REGISTER, LAN_SECRETS_FILE};
use crate::tools;
use crate::Result;
use std::path::PathBuf;

struct Args {
    lan: bool,
    tls: bool,
    postgres: bool,
    port: u16,
    bridge_port: u16,
    data: PathBuf,
    build: bool,
    /// Which build of the servers: release, or the debug one the tests built.
    servers: system::Build,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut out = Args {
        lan: false,
        tls: false,
        postgres: false,
        port: 8080,
        bridge_port: 7878,
        data: root().join("data"),
        build: true,
        servers: system::Build::Release,
    };
    let mut it = args.iter();
    let number = |v: Option<&String>, what: &str| {
        v.and_then(|p| p.parse().ok())
            .ok_or(format!("{what} needs a number, e.g. {what} 8080"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lan" => out.lan = true,
            "--tls" => out.tls = true,
            "--postgres" => out.postgres = true,
            "--port" => out.port = number(it.next(), "--port")?,
            "--bridge-port" => out.bridge_port = number(it.next(), "--bridge-port")?,
            "--data" => out.data = it.next().map(PathBuf::from).ok_or("--data needs a folder")?,
            "--no-build" => out.build = false,
            "--debug-servers" => out.servers = system::Build::Debug,
            other => {
                return Err(format!(
                    "unknown option {other:?} (options: --lan, --tls, --postgres, --port N, --bridge-port N, --data DIR, --no-build, --debug-servers)"
                ))
            }
        }
    }
    Ok(out)
}

pub fn run(args: &[String]) -> Result {
    let args = parse(args)?;
    if args.build {
        tools::build_app()?;
        system::build_servers(args.servers)?;
    }
    let secrets = if args.lan {
        let (secrets, new) = Secrets::for_lan(&args.data)?;
        if !new {
            println!(
                "\n  The LAN tokens are those made at the first run, kept in {}.",
                args.data.join(LAN_SECRETS_FILE).display()
            );
        }
        (secrets, new)
    } else {
        (Secrets::development(), true)
    };
    let cluster = match args.postgres {
        true => Some(pg::Cluster::start(pg::Durability::Full, false)?),
        false => None,
    };
    let database_url = match &cluster {
        Some(c) => Some(c.create_database("till")?),
        None => None,
    };
    if cluster.is_none() {
        demo_staff(&args)?;
    }
    step("Starting Till");
    let mut sys = system::start(&Options {
        host: if args.lan { "0.0.0.0" } else { "127.0.0.1" },
        oms_port: args.port,
        bridge_port: args.bridge_port,
        data: args.data.clone(),
        faults: false,
        approve_delay_ms: None,
        terminal_timeout_secs: None,
        secrets: secrets.0.clone(),
        build: args.servers,
        database_url,
        tls: args.tls,
    })?;
    greet(&args, &sys, &secrets.0, secrets.1);
    sys.oms.wait()?;
    drop(sys);
    drop(cluster);
    if proc::stopping() {
        println!("\n  Till stopped.");
    }
    Ok(())
}

/// The demo staff, on a staff list nobody was ever added to (a data
/// folder from before Till had staff, or a new one); a list anyone was
/// added to is left as it is.
fn demo_staff(args: &Args) -> Result {
    let oms_data = args.data.join("oms");
    std::fs::create_dir_all(&oms_data).map_err(|e| format!("{}: {e}", oms_data.display()))?;
    proc::run(
        std::process::Command::new(args.servers.binary("till-oms"))
            .args(["staff", "demo", "--data"])
            .arg(&oms_data),
    )
}

/// The one-time link that opens a new register set up and paired, and the
/// same as a QR code for a tablet's camera.
fn setup_link(app: &str, sys: &system::System, secrets: &Secrets) -> Option<String> {
    let code = match sys.pairing_code() {
        Ok(code) => code,
        Err(e) => {
            println!("  (no setup link: {e})");
            return None;
        }
    };
    let link = till_core::lan::SetupLink {
        oms_url: app.to_owned(),
        register_id: DEV_REGISTER.to_owned(),
        register_token: secrets.register_token.clone(),
        bridge_url: sys.bridge_public_url(),
        code,
    };
    Some(format!("{app}/#{}", link.to_fragment()))
}

fn print_qr(text: &str) {
    use qrcode::render::unicode::Dense1x2;
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let art = code
                .render::<Dense1x2>()
                .dark_color(Dense1x2::Light)
                .light_color(Dense1x2::Dark)
                .quiet_zone(true)
                .build();
            for line in art.lines() {
                println!("    {line}");
            }
        }
        Err(e) => println!("    (no QR code: {e})"),
    }
}

fn greet(args: &Args, sys: &system::System, secrets: &Secrets, show_tokens: bool) {
    let app = sys.oms_public_url();
    println!();
    println!("  Till is running. Open the register:  {app}/");
    println!();
    if let Some(link) = setup_link(&app, sys, secrets) {
        println!("  A new register: open this link once (valid 5 minutes, used once); it sets up and pairs");
        println!(
            "  the register by itself. A new link: stop and start again, or type the code from"
        );
        println!(
            "  {}/pair (on this machine) in Settings, Pair with payment bridge.",
            sys.bridge_url().replace("0.0.0.0", "127.0.0.1")
        );
        println!("    {link}");
        print_qr(&link);
        println!();
    }
    if let Some(tls) = &sys.tls {
        println!("  HTTPS with this machine's own CA: {}", tls.ca.display());
        println!(
            "  Trust it once on each tablet (README, \"Trust the CA\"); keep ca-key.pem here."
        );
        println!();
    }
    if show_tokens {
        let kind = if args.lan {
            "made for this store's LAN; shown once, kept in data/"
        } else {
            "development values"
        };
        println!("  First run asks for these ({kind}):");
        println!("    OMS URL         {app}");
        println!("    register id     {DEV_REGISTER}");
        println!("    register token  {}", secrets.register_token);
        println!("    bridge URL      {}", sys.bridge_public_url());
        if args.lan {
            println!("    pairing code    from the bridge (Settings, Pair with payment bridge)");
        } else {
            println!("    pairing token   {}", secrets.pairing_token);
        }
        println!("  The back office reads every register's orders and their history with");
        println!("    back-office token {}", secrets.admin_token);
        println!();
    }
    println!("  Sign in with the demo staff (while they are on the staff list):");
    println!("    Dana (manager) PIN 2468 · Alex (cashier) PIN 1357 · Jo (cashier) PIN 8024");
    println!("    Manage staff with: till-oms staff add|list|disable|enable (see the README)");
    println!();
    println!(
        "  The card terminal is till-terminal {} at {} (Terminal API, HTTPS);",
        system::TERMINAL_POIID,
        sys.terminal.url
    );
    println!("  to use a real one instead, see the README (\"A real card terminal\").");
    println!("  The simulated terminal decides by the amount's last two digits:");
    println!("    00-49 approved (3 s) · 51 declined · 52 answer lost, found by Re-sync after 120 s · 53 result lost,");
    println!(
        "    notified to the OMS after 60 s · 54 terminal never answers · 55 approved after 40 s"
    );
    println!("    (the \"Card tests\" category has one item for each)");
    if args.lan {
        println!();
        if args.tls {
            println!(
                "  On the LAN: {}/ (the tablet must trust the CA above)",
                sys.oms_public_url()
            );
        } else {
            println!("  On the LAN: http://<this machine's address>:{}/ (offline mode and card payments need HTTPS: add --tls; see the README)", args.port);
            println!("  WARNING: plain HTTP on the LAN: tokens, PIN hashes and pairing codes cross the Wi-Fi in clear. The servers were started with --insecure-lan; a store uses --tls.");
        }
    }
    println!();
    if args.postgres {
        println!("  The OMS's data lives in a throw-away PostgreSQL cluster, deleted at the end;");
        println!(
            "  the bridge's in {}. Stop with Ctrl-C.",
            args.data.display()
        );
    } else {
        println!("  Data lives in {}. Stop with Ctrl-C.", args.data.display());
    }
    println!();
}
