//! A throw-away PostgreSQL cluster for the `pg` test tier, the bench and
//! `cargo xtask serve --postgres`: initdb in a temporary folder, a free port
//! on loopback, trust authentication (nothing outside this machine can
//! reach it), removed when dropped.
//!
//! PostgreSQL refuses to run as root, so as root the cluster runs as the
//! `postgres` user that the system's package creates.
//!
//! With TLS, it also serves TLS with a certificate for 127.0.0.1 from a
//! CA made for it (openssl), whose file the tests trust.

use crate::proc::{self, output_of, step};
use crate::tools;
use crate::Result;
use std::path::PathBuf;
use std::process::Command;

/// The cluster's superuser; the databases belong to it.
const USER: &str = "till";
const PACKAGE: &str = "postgresql";

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    tls: bool,
}

/// How the cluster writes: the tests do not need a power cut survived.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every commit, as a production server (for the bench).
    Full,
    /// No fsync (for tests: a throw-away cluster, several times faster).
    Off,
}

/// Installs the PostgreSQL server from the system's packages if missing.
pub fn ensure_server() -> Result {
    server_bin().map(drop)
}

/// The newest installed server's `bin` folder, installing the system's
/// package when there is none.
fn server_bin() -> Result<PathBuf> {
    let find = || -> Option<PathBuf> {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((v, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    step("Installing PostgreSQL from the system's packages (about a minute)");
    tools::apt_install(&[PACKAGE])?;
    find().ok_or_else(|| "PostgreSQL was installed but no initdb was found".into())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

impl Cluster {
    /// Creates and starts a cluster, serving TLS too if `tls`; it is
    /// stopped and deleted on drop.
    pub fn start(durability: Durability, tls: bool) -> Result<Cluster> {
        let bin = server_bin()?;
        let as_postgres = output_of("id", &["-u"]).as_deref() == Some("0");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("till-pg-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cluster = Cluster {
            dir,
            bin,
            port: free_port()?,
            as_postgres,
            tls,
        };
        if tls {
            cluster.make_certificates()?;
        }
        if as_postgres {
            proc::run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&cluster.dir),
            )?;
        }
        step(&format!(
            "Starting a throw-away PostgreSQL on 127.0.0.1:{}",
            cluster.port
        ));
        cluster.initdb()?;
        cluster.pg_ctl_start(durability)?;
        Ok(cluster)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn initdb(&self) -> Result {
        proc::run(
            self.command("initdb")
                .arg("-D")
                .arg(self.data())
                .args(["-U", USER, "--auth=trust", "--encoding=UTF8", "--locale=C"])
                .args(["--no-sync", "--no-instructions"])
                .stdout(std::process::Stdio::null()),
        )
    }

    fn pg_ctl_start(&self, durability: Durability) -> Result {
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
            self.port,
            self.dir.display()
        );
        if self.tls {
            let at = |f: &str| self.dir.join(f).display().to_string();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                at("server.crt"),
                at("server.key")
            ));
        }
        match durability {
            Durability::Off => {
                options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            }
            // The bench says where PostgreSQL's time goes.
            Durability::Full => options.push_str(" -c shared_preload_libraries=pg_stat_statements"),
        }
        proc::run(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-w", "-t", "120", "-o", &options, "start"])
                .stdout(std::process::Stdio::null()),
        )
        .map_err(|e| format!("{e}\n{}", self.log_tail()))
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// A CA, and a certificate for 127.0.0.1 it signed (EC P-256, two days).
    fn make_certificates(&self) -> Result {
        let openssl = |args: &[&str]| {
            proc::run(
                Command::new("openssl")
                    .args(args)
                    .current_dir(&self.dir)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null()),
            )
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Till test CA"];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
        ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
        ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        openssl(&ca)?;
        let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
        csr.extend(ec);
        csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
        openssl(&csr)?;
        let ext =
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
        std::fs::write(self.dir.join("server.ext"), ext).map_err(|e| e.to_string())?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ])?;
        set_private(&self.dir.join("server.key"))
    }

    /// The CA the server's certificate chains to, when it serves TLS.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.join("ca.pem"))
    }

    /// The server's URL, without a database.
    pub fn server_url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}", self.port)
    }

    /// The URL of a database of this cluster (`postgres` always exists).
    pub fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.server_url())
    }

    /// Creates a database and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        proc::run(
            self.command("createdb")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
                .arg(name),
        )?;
        Ok(self.url(name))
    }
}

/// PostgreSQL refuses a key others may read.
#[cfg(unix)]
fn set_private(path: &std::path::Path) -> Result {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(unix))]
fn set_private(_: &std::path::Path) -> Result {
    Ok(())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
