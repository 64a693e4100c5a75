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
//!
//! A new tablet enrols with a one-time setup link (and its QR code): the
//! OMS's enrolment secret, good once for 10 minutes, and the bridge's
//! pairing code. The first start on a new data folder prints one; later,
//! `serve --enrol` prints one, from another terminal while Till runs (it
//! finds the running serve by `data/serve-running.txt`) or at start.

use crate::pg;
use crate::proc::{self, root, step};
use crate::system::{self, Options, Secrets, DEV_REGISTER, LAN_SECRETS_FILE};
use crate::tools;
use crate::Result;
use std::path::{Path, PathBuf};

struct Args {
    /// Print a one-time setup link for a new tablet.
    enrol: bool,
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
        enrol: false,
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
            "--enrol" => out.enrol = true,
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
                    "unknown option {other:?} (options: --enrol, --lan, --tls, --postgres, --port N, --bridge-port N, --data DIR, --no-build, --debug-servers)"
                ))
            }
        }
    }
    Ok(out)
}

pub fn run(args: &[String]) -> Result {
    let args = parse(args)?;
    if args.enrol {
        if let Some(running) = Running::read(&args.data) {
            return enrol_running(&args, &running);
        }
    }
    // A new data folder: the first tablet needs a link, asked or not.
    let fresh = args.postgres || !args.data.join("oms").join("oms.sqlite3").exists();
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
    let running = Running {
        pid: std::process::id(),
        app: sys.oms_public_url(),
        bridge: sys.bridge_public_url(),
        build: args.servers,
        postgres: args.postgres,
    };
    running.write(&args.data);
    greet(&args, &sys, &secrets.0, secrets.1, args.enrol || fresh);
    sys.oms.wait()?;
    Running::remove(&args.data);
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

/// The one-time link that opens a new register enrolled, set up and
/// paired: the OMS's enrolment secret and the bridge's pairing code.
fn setup_link(app: &str, bridge: &str, build: system::Build, data: &Path) -> Result<String> {
    let secret = system::enrolment_secret(build, &data.join("oms"), None)?;
    let code = system::pairing_code(build, &data.join("bridge"))?;
    Ok(link_of(app, bridge, secret, code))
}

fn link_of(app: &str, bridge: &str, secret: String, code: String) -> String {
    let link = till_core::lan::SetupLink {
        oms_url: app.to_owned(),
        secret,
        bridge: Some(till_core::lan::LinkBridge {
            url: bridge.to_owned(),
            code,
        }),
    };
    format!("{app}/#{}", link.to_fragment())
}

/// Prints a new tablet's link and its QR code, with what it does.
fn print_setup_link(link: Result<String>) {
    match link {
        Ok(link) => {
            println!("  A new tablet: open this link on it once (valid 10 minutes, used once). It enrols");
            println!("  the tablet as a register of its own with its own token, and pairs it with the bridge.");
            println!("    {link}");
            print_qr(&link);
        }
        Err(e) => println!("  (no setup link: {e})"),
    }
    println!(
        "  Another tablet: `cargo xtask serve --enrol` (in another terminal while this runs)."
    );
    println!();
}

/// What a running `serve` writes in its data folder, so that `serve
/// --enrol` from another terminal makes a link for it.
struct Running {
    pid: u32,
    app: String,
    bridge: String,
    build: system::Build,
    postgres: bool,
}

const RUNNING_FILE: &str = "serve-running.txt";

impl Running {
    fn write(&self, data: &Path) {
        let build = match self.build {
            system::Build::Debug => "debug",
            system::Build::Release => "release",
        };
        let text = format!(
            "{}\n{}\n{}\n{build}\n{}\n",
            self.pid, self.app, self.bridge, self.postgres
        );
        let _ = std::fs::write(data.join(RUNNING_FILE), text);
    }

    /// The serve running on this data folder, if its process still is.
    fn read(data: &Path) -> Option<Running> {
        let text = std::fs::read_to_string(data.join(RUNNING_FILE)).ok()?;
        let mut lines = text.lines();
        let pid: u32 = lines.next()?.parse().ok()?;
        let alive = std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let (app, bridge) = (lines.next()?.to_owned(), lines.next()?.to_owned());
        let build = match lines.next()? {
            "debug" => system::Build::Debug,
            _ => system::Build::Release,
        };
        let postgres = lines.next()? == "true";
        alive.then_some(Running {
            pid,
            app,
            bridge,
            build,
            postgres,
        })
    }

    fn remove(data: &Path) {
        let _ = std::fs::remove_file(data.join(RUNNING_FILE));
    }
}

/// `serve --enrol` while Till runs: a link for one more tablet.
fn enrol_running(args: &Args, running: &Running) -> Result {
    if running.postgres {
        return Err(
            "Till runs on a throw-away PostgreSQL here: start it with --enrol for a link".into(),
        );
    }
    println!(
        "\n  Till is running (process {}) at {}/",
        running.pid, running.app
    );
    println!();
    print_setup_link(setup_link(
        &running.app,
        &running.bridge,
        running.build,
        &args.data,
    ));
    Ok(())
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

fn greet(args: &Args, sys: &system::System, secrets: &Secrets, show_tokens: bool, link: bool) {
    let app = sys.oms_public_url();
    println!();
    println!("  Till is running. Open the register:  {app}/");
    println!();
    if link {
        let secret = sys.enrolment_secret();
        let code = sys.pairing_code();
        print_setup_link(
            secret.and_then(|s| Ok(link_of(&app, &sys.bridge_public_url(), s, code?))),
        );
    } else {
        println!(
            "  A new tablet: `cargo xtask serve --enrol` (in another terminal while this runs)"
        );
        println!("  prints a one-time setup link and its QR code.");
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
