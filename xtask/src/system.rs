//! Starting the whole system: the OMS (serving the app) and the bridge with
//! the simulated terminal, wired to each other. Used by `serve`, the
//! end-to-end tests and the benchmarks.

use crate::proc::{self, root, step, Server};
use crate::Result;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The register the development setup knows, and its token.
pub const DEV_REGISTER: &str = "R1";
pub const DEV_REGISTER_TOKEN: &str = "dev-register-token";
/// The bridge's token at the OMS (to report payments).
pub const DEV_BRIDGE_TOKEN: &str = "dev-bridge-token";
/// The token a register presents to the bridge.
pub const DEV_PAIRING_TOKEN: &str = "dev-pairing-token";

pub struct Options {
    /// Interface to listen on: 127.0.0.1, or 0.0.0.0 for the LAN.
    pub host: &'static str,
    /// 0: any free port.
    pub oms_port: u16,
    pub bridge_port: u16,
    /// Data folder; the OMS and the bridge each get a folder inside.
    pub data: PathBuf,
    pub faults: bool,
    /// The simulated terminal's approval delay.
    pub sim_delay_ms: Option<u64>,
    pub terminal_timeout_secs: Option<u64>,
}

pub struct System {
    pub oms: Server,
    pub bridge: Server,
}

impl System {
    pub fn oms_url(&self) -> &str {
        &self.oms.url
    }

    pub fn bridge_url(&self) -> &str {
        &self.bridge.url
    }
}

/// A free port on loopback (the OS picks; a tiny race is acceptable for
/// tests and a dev server).
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Builds the release servers.
pub fn build_servers() -> Result {
    step("Building the servers (release)");
    proc::run(
        Command::new("cargo")
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "till-oms",
                "-p",
                "till-bridge",
            ])
            .current_dir(root()),
    )
}

/// A second OMS with a large generated catalog (for the download progress
/// and big-catalog tests): it serves the app on its own origin.
pub fn start_big_catalog_oms(data: &std::path::Path, products: usize) -> Result<Server> {
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let oms = root().join("target/release/till-oms");
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
            .arg("--register-token")
            .arg(format!("{DEV_REGISTER}={DEV_REGISTER_TOKEN}")),
        "listening on ",
        Duration::from_secs(30),
    )
}

pub fn start(opts: &Options) -> Result<System> {
    let oms_port = if opts.oms_port == 0 {
        free_port()?
    } else {
        opts.oms_port
    };
    let bridge_port = if opts.bridge_port == 0 {
        free_port()?
    } else {
        opts.bridge_port
    };
    // The origins the app is opened from: the bridge allows them (CORS).
    let mut origins = vec![
        format!("http://127.0.0.1:{oms_port}"),
        format!("http://localhost:{oms_port}"),
    ];
    if let Ok(extra) = std::env::var("TILL_BRIDGE_ALLOW_ORIGINS") {
        origins.extend(
            extra
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    let bridge_origin = std::env::var("TILL_BRIDGE_ORIGIN")
        .unwrap_or_else(|_| format!("http://127.0.0.1:{bridge_port}"));
    let oms_data = opts.data.join("oms");
    let bridge_data = opts.data.join("bridge");
    for d in [&oms_data, &bridge_data] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }

    let mut oms = Command::new(root().join("target/release/till-oms"));
    oms.arg("--listen")
        .arg(format!("{}:{oms_port}", opts.host))
        .arg("--dist")
        .arg(root().join("dist"))
        .arg("--data")
        .arg(&oms_data)
        .arg("--register-token")
        .arg(format!("{DEV_REGISTER}={DEV_REGISTER_TOKEN}"))
        .arg("--bridge-token")
        .arg(DEV_BRIDGE_TOKEN)
        .arg("--bridge-origin")
        .arg(&bridge_origin);
    if opts.faults {
        oms.arg("--faults");
    }
    let oms = Server::start("oms", &mut oms, "listening on ", Duration::from_secs(30))?;

    let mut bridge = Command::new(root().join("target/release/till-bridge"));
    bridge
        .arg("--listen")
        .arg(format!("{}:{bridge_port}", opts.host))
        .arg("--data")
        .arg(&bridge_data)
        .arg("--pairing-token")
        .arg(DEV_PAIRING_TOKEN)
        .arg("--allow-origin")
        .arg(origins.join(","))
        .arg("--oms-url")
        .arg(format!("http://127.0.0.1:{oms_port}"))
        .arg("--oms-token")
        .arg(DEV_BRIDGE_TOKEN)
        .arg("--simulator");
    if let Some(ms) = opts.sim_delay_ms {
        bridge.arg("--sim-delay-ms").arg(ms.to_string());
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
    Ok(System { oms, bridge })
}
