//! Starting the whole system: the OMS (serving the app), the simulated card
//! terminal (`till-terminal`, over HTTPS as a real one) and the bridge that
//! drives it, wired to each other. Used by `serve`, the end-to-end tests and
//! the benchmarks.

use crate::proc::{self, root, step, Server};
use crate::Result;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The register the development setup knows.
pub const DEV_REGISTER: &str = "R1";
/// The published development tokens: fine on loopback, never on a LAN.
pub const DEV_REGISTER_TOKEN: &str = "dev-register-token";
/// The bridge's token at the OMS (to report payments).
pub const DEV_BRIDGE_TOKEN: &str = "dev-bridge-token";
/// The token a register presents to the bridge.
pub const DEV_PAIRING_TOKEN: &str = "dev-pairing-token";
/// The back office's token: reads every register's orders and history.
pub const DEV_ADMIN_TOKEN: &str = "dev-back-office-token";
/// The simulated terminal's shared key (its passphrase).
pub const DEV_TERMINAL_PASSPHRASE: &str = "dev-terminal-passphrase";
/// The key the terminal's "vendor cloud" signs notifications with (hex).
pub const DEV_WEBHOOK_KEY: &str =
    "de5e11de5e11de5e11de5e11de5e11de5e11de5e11de5e11de5e11de5e11de5e";
/// The simulated terminal's POIID and key identifier.
pub const TERMINAL_POIID: &str = "V400m-000000001";
pub const TERMINAL_KEY_ID: &str = "TillKey01";

/// The tokens the servers start with. They reach the servers through
/// environment variables, never the command line (`ps` shows that to
/// every user of the machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    pub register_token: String,
    pub bridge_token: String,
    pub pairing_token: String,
    pub admin_token: String,
    /// The simulated terminal's shared key, which the bridge holds too.
    pub terminal_passphrase: String,
    /// The terminal vendor's webhook key, which the OMS checks (hex).
    pub webhook_key: String,
}

/// Where `serve --lan` keeps its tokens, inside the data folder.
pub const LAN_SECRETS_FILE: &str = "lan-tokens.env";

impl Secrets {
    pub fn development() -> Secrets {
        Secrets {
            register_token: DEV_REGISTER_TOKEN.into(),
            bridge_token: DEV_BRIDGE_TOKEN.into(),
            pairing_token: DEV_PAIRING_TOKEN.into(),
            admin_token: DEV_ADMIN_TOKEN.into(),
            terminal_passphrase: DEV_TERMINAL_PASSPHRASE.into(),
            webhook_key: DEV_WEBHOOK_KEY.into(),
        }
    }

    /// The LAN's tokens: read from `data/lan-tokens.env`, or made up from
    /// the operating system's random source and written there (readable by
    /// this user only). `true` when they were just made.
    pub fn for_lan(data: &std::path::Path) -> Result<(Secrets, bool)> {
        let path = data.join(LAN_SECRETS_FILE);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let secrets = Secrets::parse(&text).ok_or_else(|| {
                format!(
                    "{} is damaged: delete it to make new tokens",
                    path.display()
                )
            })?;
            return Secrets::with_terminal_keys(secrets, &text, &path).map(|s| (s, false));
        }
        let secrets = Secrets {
            register_token: random_token()?,
            bridge_token: random_token()?,
            pairing_token: random_token()?,
            admin_token: random_token()?,
            terminal_passphrase: random_token()?,
            webhook_key: random_hex_key()?,
        };
        std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
        write_private(&path, &secrets.to_env())?;
        Ok((secrets, true))
    }

    fn to_env(&self) -> String {
        format!(
            "# Till's tokens for this store's LAN, made by `cargo xtask serve --lan`.\n\
             REGISTER_TOKEN={}\nBRIDGE_TOKEN={}\nPAIRING_TOKEN={}\nADMIN_TOKEN={}\n\
             TERMINAL_PASSPHRASE={}\nWEBHOOK_KEY={}\n",
            self.register_token,
            self.bridge_token,
            self.pairing_token,
            self.admin_token,
            self.terminal_passphrase,
            self.webhook_key
        )
    }

    /// A tokens file from before the terminal had keys gets them, made now
    /// and added to the file.
    fn with_terminal_keys(mut self, text: &str, path: &std::path::Path) -> Result<Secrets> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::trim)
                .filter(|v| v.len() >= 16)
                .map(str::to_owned)
        };
        match (get("TERMINAL_PASSPHRASE"), get("WEBHOOK_KEY")) {
            (Some(p), Some(k)) => {
                self.terminal_passphrase = p;
                self.webhook_key = k;
            }
            _ => {
                self.terminal_passphrase = random_token()?;
                self.webhook_key = random_hex_key()?;
                std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
                write_private(path, &self.to_env())?;
            }
        }
        Ok(self)
    }

    fn parse(text: &str) -> Option<Secrets> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::trim)
                .filter(|v| v.len() >= 16)
                .map(str::to_owned)
        };
        Some(Secrets {
            register_token: get("REGISTER_TOKEN")?,
            bridge_token: get("BRIDGE_TOKEN")?,
            pairing_token: get("PAIRING_TOKEN")?,
            admin_token: get("ADMIN_TOKEN")?,
            terminal_passphrase: String::new(),
            webhook_key: String::new(),
        })
    }
}

/// 24 characters from an alphabet without look-alikes (about 118 bits),
/// easy to type on a tablet.
fn random_token() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source: {e}"))?;
    // 256 is not a multiple of 31: redraw the few bytes that would bias.
    let mut out = String::new();
    let mut pool = bytes.to_vec();
    while out.len() < 24 {
        match pool.pop() {
            Some(b) if usize::from(b) < 248 => out.push(char::from(ALPHABET[usize::from(b) % 31])),
            Some(_) => {}
            None => {
                pool.resize(24, 0);
                getrandom::fill(&mut pool).map_err(|e| format!("no random source: {e}"))?;
            }
        }
    }
    Ok(out)
}

/// 32 random bytes in hex: a webhook signing key.
fn random_hex_key() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> Result {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

pub struct Options {
    /// Interface to listen on: 127.0.0.1, or 0.0.0.0 for the LAN.
    pub host: &'static str,
    /// 0: any free port.
    pub oms_port: u16,
    pub bridge_port: u16,
    /// Data folder; the OMS and the bridge each get a folder inside.
    pub data: PathBuf,
    /// The test controls: the OMS's and the bridge's `/_faults`, the
    /// terminal's `/_sim`.
    pub faults: bool,
    /// The simulated terminal's approval delay.
    pub approve_delay_ms: Option<u64>,
    pub terminal_timeout_secs: Option<u64>,
    pub secrets: Secrets,
    pub build: Build,
    /// The OMS on this PostgreSQL database instead of SQLite in `data`.
    pub database_url: Option<String>,
    /// Both servers over HTTPS, with a local CA kept in `data/tls`.
    pub tls: bool,
}

impl Options {
    /// The whole system on loopback with the development tokens, on free
    /// ports, without test controls: what the tests and benchmarks start
    /// from (they change what they need).
    pub fn loopback(data: PathBuf, build: Build) -> Options {
        Options {
            host: "127.0.0.1",
            oms_port: 0,
            bridge_port: 0,
            data,
            faults: false,
            approve_delay_ms: None,
            terminal_timeout_secs: None,
            secrets: Secrets::development(),
            build,
            database_url: None,
            tls: false,
        }
    }

    /// What the end-to-end tests and the chaos run start: the test controls
    /// on, a 1 s simulated approval and a 20 s terminal timeout.
    pub fn for_playwright(data: PathBuf, build: Build) -> Options {
        Options {
            faults: true,
            approve_delay_ms: Some(1000),
            terminal_timeout_secs: Some(20),
            ..Options::loopback(data, build)
        }
    }
}

/// The development register, as a browser script run by xtask finds it in
/// its environment, and the browser to drive.
pub fn dev_register_env(cmd: &mut Command) -> &mut Command {
    cmd.env("TILL_REGISTER_ID", DEV_REGISTER)
        .env("TILL_REGISTER_TOKEN", DEV_REGISTER_TOKEN)
        .env("TILL_PAIRING_TOKEN", DEV_PAIRING_TOKEN)
        .env("TILL_CHROMIUM", crate::tools::chromium())
}

pub struct System {
    pub oms: Server,
    pub bridge: Server,
    /// The simulated card terminal the bridge drives.
    pub terminal: Server,
    /// Its test controls (`/_sim`), when the system runs with faults.
    pub terminal_controls: Option<String>,
    pub tls: Option<Tls>,
    pub bridge_data: PathBuf,
    pub oms_data: PathBuf,
    database_url: Option<String>,
    build: Build,
    /// The address tablets use: this machine's LAN address when serving
    /// the LAN, else 127.0.0.1.
    host: String,
}

impl System {
    pub fn oms_url(&self) -> &str {
        &self.oms.url
    }

    pub fn bridge_url(&self) -> &str {
        &self.bridge.url
    }

    /// The simulated terminal's test controls (empty without faults).
    pub fn terminal_controls(&self) -> &str {
        self.terminal_controls.as_deref().unwrap_or("")
    }

    /// A server's URL as a tablet opens it (`0.0.0.0` is no address).
    fn reachable(&self, url: &str) -> String {
        url.replace("0.0.0.0", &self.host)
    }

    pub fn oms_public_url(&self) -> String {
        self.reachable(&self.oms.url)
    }

    pub fn bridge_public_url(&self) -> String {
        self.reachable(&self.bridge.url)
    }

    /// A new one-time enrolment secret from the OMS (`till-oms registers
    /// enrol`): the next free register id, good once for 10 minutes.
    pub fn enrolment_secret(&self) -> Result<String> {
        enrolment_secret(self.build, &self.oms_data, self.database_url.as_deref())
    }

    /// The bridge's pairing code in force (a new one when none is), through
    /// `till-bridge pairings code`.
    pub fn pairing_code(&self) -> Result<String> {
        pairing_code(self.build, &self.bridge_data)
    }
}

/// `till-bridge pairings code` on this data folder: the code in force.
pub fn pairing_code(build: Build, bridge_data: &std::path::Path) -> Result<String> {
    let (ok, out) = proc::run_captured(
        Command::new(build.binary("till-bridge"))
            .arg("--data")
            .arg(bridge_data)
            .args(["pairings", "code"]),
    )?;
    let code = out
        .lines()
        .find_map(|l| l.strip_prefix("Pairing code: "))
        .and_then(|rest| rest.split(" (").next())
        .map(|c| c.replace(' ', ""));
    match (ok, code) {
        (true, Some(code)) => Ok(code),
        _ => Err(format!("till-bridge pairings code failed:\n{out}")),
    }
}

/// `till-oms registers enrol` on this data folder (or database): the
/// secret it prints alone on its first line.
pub fn enrolment_secret(
    build: Build,
    oms_data: &std::path::Path,
    database_url: Option<&str>,
) -> Result<String> {
    let mut cmd = Command::new(build.binary("till-oms"));
    cmd.arg("--data").arg(oms_data).args(["registers", "enrol"]);
    if let Some(url) = database_url {
        cmd.env("TILL_DATABASE_URL", url);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("till-oms registers enrol: {e}"))?;
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || secret.is_empty() || secret.contains(char::is_whitespace) {
        return Err(format!(
            "till-oms registers enrol failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(secret)
}

/// A free port on loopback (the OS picks; a tiny race is acceptable for
/// tests and a dev server).
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Which build of the servers to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// The test tiers: the native tier has just built these (its
    /// integration tests need the binaries), so nothing compiles again.
    Debug,
    /// `serve` and the benchmarks.
    Release,
}

impl Build {
    pub fn binary(self, name: &str) -> PathBuf {
        let dir = match self {
            Build::Debug => "target/debug",
            Build::Release => "target/release",
        };
        root().join(dir).join(name)
    }
}

/// Builds the servers (a no-op when they are fresh).
pub fn build_servers(build: Build) -> Result {
    let (what, profile): (&str, &[&str]) = match build {
        Build::Debug => ("debug", &[]),
        Build::Release => ("release", &["--release"]),
    };
    step(&format!("Building the servers ({what})"));
    proc::run(
        Command::new("cargo")
            .arg("build")
            .args(profile)
            .args([
                "--locked",
                "-p",
                "till-oms",
                "-p",
                "till-bridge",
                "-p",
                "till-terminal",
            ])
            .current_dir(root()),
    )
}

/// A second OMS with a large generated catalog (for the download progress
/// and big-catalog tests): it serves the app on its own origin.
pub fn start_big_catalog_oms(
    data: &std::path::Path,
    products: usize,
    build: Build,
) -> Result<Server> {
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let oms = build.binary("till-oms");
    proc::run(
        Command::new(&oms)
            .arg("gen-catalog")
            .arg("--products")
            .arg(products.to_string())
            .arg("--data")
            .arg(data),
    )?;
    Server::start(
        "oms-big",
        Command::new(&oms)
            .args(["--listen", "127.0.0.1:0", "--dist"])
            .arg(root().join("dist"))
            .arg("--data")
            .arg(data)
            .env(
                "TILL_REGISTER_TOKENS",
                format!("{DEV_REGISTER}={DEV_REGISTER_TOKEN}"),
            ),
        "listening on ",
        Duration::from_secs(30),
    )
}

pub fn start(opts: &Options) -> Result<System> {
    let oms_port = port_or_free(opts.oms_port)?;
    let bridge_port = port_or_free(opts.bridge_port)?;
    let oms_data = opts.data.join("oms");
    let bridge_data = opts.data.join("bridge");
    let terminal_data = opts.data.join("terminal");
    for d in [&oms_data, &bridge_data, &terminal_data] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let lan_ip = (opts.host == "0.0.0.0").then(lan_address).flatten();
    let tls = match opts.tls {
        true => Some(local_tls(opts, &bridge_data, lan_ip.as_deref())?),
        false => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let bridge_host = lan_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
    let bridge_origin = std::env::var("TILL_BRIDGE_ORIGIN")
        .unwrap_or_else(|_| format!("{scheme}://{bridge_host}:{bridge_port}"));
    let oms = start_oms(opts, &oms_data, oms_port, &bridge_origin, tls.as_ref())?;
    let oms_local = format!("{scheme}://127.0.0.1:{oms_port}");
    let (terminal, terminal_controls, terminal_ca) =
        start_terminal(opts, &terminal_data, &oms_local, tls.as_ref())?;
    let origins = app_origins(opts, scheme, oms_port, lan_ip.as_deref());
    let mut bridge = Command::new(opts.build.binary("till-bridge"));
    bridge
        .arg("--listen")
        .arg(format!("{}:{bridge_port}", opts.host))
        .arg("--data")
        .arg(&bridge_data)
        .arg("--allow-origin")
        .arg(origins.join(","))
        .arg("--oms-url")
        .arg(&oms_local)
        .env("TILL_BRIDGE_TOKEN", &opts.secrets.bridge_token)
        .args(["--terminal-url", &terminal.url])
        .args([
            "--poiid",
            TERMINAL_POIID,
            "--terminal-key-id",
            TERMINAL_KEY_ID,
        ])
        .arg("--terminal-ca")
        .arg(&terminal_ca)
        .env(
            "TILL_TERMINAL_PASSPHRASE",
            &opts.secrets.terminal_passphrase,
        );
    if let Some(tls) = &tls {
        bridge
            .arg("--tls-cert")
            .arg(&tls.cert)
            .arg("--tls-key")
            .arg(&tls.key)
            .arg("--oms-ca")
            .arg(&tls.ca);
    }
    // One token for every register: on loopback (development and tests)
    // only. On a LAN, each register pairs by code and gets its own.
    if opts.host != "0.0.0.0" {
        bridge.env("TILL_PAIRING_TOKEN", &opts.secrets.pairing_token);
    }
    if opts.faults {
        bridge.arg("--faults");
    }
    if insecure_lan(opts, tls.as_ref()) {
        bridge.arg("--insecure-lan");
    }
    if let Some(s) = opts.terminal_timeout_secs {
        bridge.arg("--terminal-timeout-secs").arg(s.to_string());
    }
    let bridge = Server::start(
        "bridge",
        &mut bridge,
        "listening on ",
        Duration::from_secs(30),
    )?;
    Ok(System {
        oms,
        bridge,
        terminal,
        terminal_controls,
        tls,
        bridge_data,
        oms_data,
        database_url: opts.database_url.clone(),
        build: opts.build,
        host: bridge_host,
    })
}

fn port_or_free(port: u16) -> Result<u16> {
    match port {
        0 => free_port(),
        p => Ok(p),
    }
}

/// The origins the app is opened from: the bridge allows them (CORS).
fn app_origins(opts: &Options, scheme: &str, oms_port: u16, lan_ip: Option<&str>) -> Vec<String> {
    let mut origins = vec![
        format!("{scheme}://127.0.0.1:{oms_port}"),
        format!("{scheme}://localhost:{oms_port}"),
    ];
    if let Some(ip) = lan_ip {
        origins.push(format!("{scheme}://{ip}:{oms_port}"));
    }
    if opts.faults {
        // The end-to-end tests also open the app as a public site named
        // till.test (their browser maps it to this machine), to see the
        // register wait for Local Network Access.
        origins.push(format!("{scheme}://till.test:{oms_port}"));
    }
    if let Ok(extra) = std::env::var("TILL_BRIDGE_ALLOW_ORIGINS") {
        origins.extend(
            extra
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    origins
}

/// Plain HTTP on the LAN (`serve --lan` without `--tls`): the servers
/// refuse it unless told, and `serve` says what it costs when it prints
/// the addresses.
fn insecure_lan(opts: &Options, tls: Option<&Tls>) -> bool {
    opts.host == "0.0.0.0" && tls.is_none()
}

fn start_oms(
    opts: &Options,
    data: &std::path::Path,
    port: u16,
    bridge_origin: &str,
    tls: Option<&Tls>,
) -> Result<Server> {
    let mut oms = Command::new(opts.build.binary("till-oms"));
    oms.arg("--listen")
        .arg(format!("{}:{port}", opts.host))
        .arg("--dist")
        .arg(root().join("dist"))
        .arg("--data")
        .arg(data)
        .env(
            "TILL_REGISTER_TOKENS",
            format!("{DEV_REGISTER}={}", opts.secrets.register_token),
        )
        .env("TILL_BRIDGE_TOKEN", &opts.secrets.bridge_token)
        .env("TILL_ADMIN_TOKEN", &opts.secrets.admin_token)
        .env("TILL_WEBHOOK_HMAC_KEY", &opts.secrets.webhook_key)
        .arg("--bridge-origin")
        .arg(bridge_origin);
    if opts.faults {
        oms.arg("--faults");
    }
    // The tests sign in as the demo staff.
    oms.arg("--demo");
    if insecure_lan(opts, tls) {
        oms.arg("--insecure-lan");
    }
    if let Some(url) = &opts.database_url {
        oms.env("TILL_DATABASE_URL", url);
    }
    if let Some(tls) = tls {
        oms.arg("--tls-cert")
            .arg(&tls.cert)
            .arg("--tls-key")
            .arg(&tls.key);
    }
    Server::start("oms", &mut oms, "listening on ", Duration::from_secs(30))
}

/// The simulated terminal, as a device of its own: HTTPS with a certificate
/// naming its POIID from the store's local CA (made in `data/tls` if
/// missing), its memory in `data/terminal`, notifying the OMS. Returns the
/// server, its controls' URL (with faults) and the CA the bridge trusts.
fn start_terminal(
    opts: &Options,
    data: &std::path::Path,
    oms_url: &str,
    tls: Option<&Tls>,
) -> Result<(Server, Option<String>, PathBuf)> {
    // The terminal's own CA (a real terminal's is its vendor's).
    let ca_dir = opts.data.join("terminal-tls");
    let (ok, out) = proc::run_captured(
        Command::new(opts.build.binary("till-terminal"))
            .args(["--poiid", TERMINAL_POIID, "tls", "init", "--dir"])
            .arg(&ca_dir),
    )?;
    if !ok {
        return Err(format!("till-terminal tls init failed:\n{out}"));
    }
    let mut cmd = Command::new(opts.build.binary("till-terminal"));
    cmd.arg("--listen")
        .arg(format!("127.0.0.1:{}", free_port()?))
        .arg("--data")
        .arg(data)
        .args(["--poiid", TERMINAL_POIID, "--key-id", TERMINAL_KEY_ID])
        .arg("--tls-cert")
        .arg(ca_dir.join("terminal.pem"))
        .arg("--tls-key")
        .arg(ca_dir.join("terminal-key.pem"))
        .arg("--notify-url")
        .arg(format!("{oms_url}/api/v1/notifications/terminal"))
        .env(
            "TILL_TERMINAL_PASSPHRASE",
            &opts.secrets.terminal_passphrase,
        )
        .env("TILL_WEBHOOK_HMAC_KEY", &opts.secrets.webhook_key);
    if let Some(tls) = tls {
        cmd.arg("--notify-ca").arg(&tls.ca);
    }
    if let Some(ms) = opts.approve_delay_ms {
        cmd.arg("--approve-delay-ms").arg(ms.to_string());
    }
    if let Some(s) = opts.terminal_timeout_secs {
        cmd.arg("--terminal-timeout-secs").arg(s.to_string());
    }
    let controls = match opts.faults {
        true => {
            let addr = format!("127.0.0.1:{}", free_port()?);
            cmd.arg("--sim-controls").arg(&addr);
            Some(format!("http://{addr}"))
        }
        false => None,
    };
    let server = Server::start(
        "terminal",
        &mut cmd,
        "listening on ",
        Duration::from_secs(30),
    )?;
    Ok((server, controls, ca_dir.join("ca.pem")))
}

/// The local CA and the servers' certificate, from `till-bridge tls init`.
#[derive(Debug, Clone)]
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA's public key hash, for a test browser's SPKI allow-list.
    pub spki: String,
}

/// Makes (once) the CA in `data/tls` and a certificate for this machine's
/// names, through the bridge's own `tls init`.
fn local_tls(opts: &Options, bridge_data: &std::path::Path, lan_ip: Option<&str>) -> Result<Tls> {
    let dir = opts.data.join("tls");
    let names: Vec<&str> = ["localhost", "127.0.0.1"]
        .into_iter()
        .chain(lan_ip)
        .collect();
    retire_ca_without(&dir, &names)?;
    let mut cmd = Command::new(opts.build.binary("till-bridge"));
    cmd.arg("--data")
        .arg(bridge_data)
        .args(["tls", "init", "--dir"])
        .arg(&dir);
    for name in &names {
        cmd.arg("--name").arg(name);
    }
    let (ok, out) = proc::run_captured(&mut cmd)?;
    let spki = out.lines().find_map(|l| {
        l.split_once("(for test browsers): ")
            .map(|(_, v)| v.trim().to_owned())
    });
    match (ok, spki) {
        (true, Some(spki)) => Ok(Tls {
            ca: dir.join("ca.pem"),
            cert: dir.join("bridge.pem"),
            key: dir.join("bridge-key.pem"),
            spki,
        }),
        _ => Err(format!("till-bridge tls init failed:\n{out}")),
    }
}

/// A CA may issue only for the names it was made for: when this machine's
/// LAN address changed since (or the CA predates name constraints), the
/// old CA is moved aside and a new one made, which tablets must trust anew.
fn retire_ca_without(dir: &std::path::Path, names: &[&str]) -> Result<()> {
    if !dir.join("ca.pem").exists() {
        return Ok(());
    }
    let permitted = std::fs::read_to_string(dir.join("ca-names.txt")).unwrap_or_default();
    if names
        .iter()
        .all(|n| permitted.lines().any(|l| l.trim() == *n))
    {
        return Ok(());
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = dir.with_file_name(format!("tls-retired-{secs}"));
    std::fs::rename(dir, &aside).map_err(|e| format!("{}: {e}", dir.display()))?;
    step(&format!(
        "The local CA in {} may not issue for {}: it is kept in {}, and a new CA is made (trust the new ca.pem on the tablets)",
        dir.display(),
        names.join(", "),
        aside.display()
    ));
    Ok(())
}

/// This machine's address on its LAN: the one a route out would use (a UDP
/// socket's connect sends nothing). `None` without a network.
fn lan_address() -> Option<String> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lan_tokens_are_random_private_and_kept() {
        let dir = crate::test::tempdir("xtask-lan").unwrap();
        let (first, new) = Secrets::for_lan(&dir).unwrap();
        assert!(new);
        assert_ne!(first, Secrets::development());
        for t in [
            &first.register_token,
            &first.bridge_token,
            &first.pairing_token,
            &first.admin_token,
        ] {
            assert_eq!(t.len(), 24);
            assert!(t
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        }
        assert_ne!(first.register_token, first.pairing_token);
        let (again, new) = Secrets::for_lan(&dir).unwrap();
        assert!(!new);
        assert_eq!(again, first, "kept, not made again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(LAN_SECRETS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.join(LAN_SECRETS_FILE), "REGISTER_TOKEN=short\n").unwrap();
        let e = Secrets::for_lan(&dir).unwrap_err();
        assert!(e.contains("damaged"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
