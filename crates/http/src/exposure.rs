//! What a server refuses, or warns about, before it starts: set-ups that
//! are fine on one machine and unsafe on a store's LAN, where anyone on the
//! Wi-Fi can listen and connect. Each server collects its findings in a
//! [`StartChecks`] and does not start while one is refused; a warning is
//! logged and the server starts.
//!
//! - a published development token (`dev-…`, printed in the README) on an
//!   address other than loopback: refused;
//! - plain HTTP on an address other than loopback (tokens, PIN hashes and
//!   pairing codes would cross the Wi-Fi in clear): refused unless the
//!   operator says `--insecure-lan`, and then a loud warning;
//! - `*` among the origins allowed to call a server: refused (any web page
//!   could then call it from a tablet's browser);
//! - a token on the command line (every user of the machine sees it in
//!   `ps`): a warning;
//! - an upstream (the OMS, the card terminal) over plain HTTP to another
//!   machine: a warning;
//! - PostgreSQL on another machine without TLS (`sslmode=require` or
//!   stricter): a warning.

use crate::ServerError;
use std::net::{IpAddr, SocketAddr};

/// Which of `ids` (clap's argument ids) were given on the command line
/// rather than through the environment.
pub fn on_command_line(matches: &clap::ArgMatches, ids: &[&'static str]) -> Vec<&'static str> {
    ids.iter()
        .copied()
        .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .collect()
}

/// The prefix of the development tokens the README publishes.
pub const DEV_TOKEN_PREFIX: &str = "dev-";

/// A server's findings about its own set-up.
#[derive(Debug, PartialEq, Eq)]
pub struct StartChecks {
    listen: SocketAddr,
    refused: Vec<String>,
    warnings: Vec<String>,
}

/// Whether `host` (a name or an address, as in a URL) is this machine.
fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

impl StartChecks {
    /// The checks of a server listening on `listen`.
    pub fn new(listen: SocketAddr) -> StartChecks {
        StartChecks {
            listen,
            refused: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Whether the server is reachable from other machines.
    fn on_lan(&self) -> bool {
        !self.listen.ip().is_loopback()
    }

    /// The transport: plain HTTP on the LAN is refused unless
    /// `insecure_lan`, and then warned about.
    pub fn transport(&mut self, tls: bool, insecure_lan: bool) -> &mut Self {
        if tls || !self.on_lan() {
            return self;
        }
        let said = "plain HTTP on a LAN address: tokens, PIN hashes and pairing codes \
                    cross the network in clear (give --tls-cert and --tls-key; see the README)";
        if insecure_lan {
            self.warnings
                .push(format!("{said}; started anyway because of --insecure-lan"));
        } else {
            self.refused
                .push(format!("{said}; --insecure-lan starts it anyway"));
        }
        self
    }

    /// A token given by `flag`: a published development token only on
    /// loopback.
    pub fn token(&mut self, flag: &str, token: Option<&str>) -> &mut Self {
        if token.is_some_and(|t| t.starts_with(DEV_TOKEN_PREFIX)) && self.on_lan() {
            self.refused.push(format!(
                "{flag}: a development token (dev-…, published in the README) on a LAN address; \
                 make a token of its own (cargo xtask serve --lan makes them)"
            ));
        }
        self
    }

    /// A secret given by `flag` on the command line, where every user of
    /// the machine reads it.
    pub fn secret_on_command_line(&mut self, flag: &str) -> &mut Self {
        self.warnings.push(format!(
            "{flag} was given on the command line, where every user of this machine can \
             read it (ps); use its environment variable instead"
        ));
        self
    }

    /// The origins allowed to call the server from a browser (CORS).
    pub fn origins(&mut self, flag: &str, origins: &[String]) -> &mut Self {
        if origins.iter().any(|o| o.trim() == "*") {
            self.refused.push(format!(
                "{flag} '*': any web page a tablet opens could call this server; \
                 name the app's origins (for example https://till.example:8443)"
            ));
        }
        self
    }

    /// An upstream this server calls (`flag` names it): plain HTTP to
    /// another machine is warned about.
    pub fn upstream(&mut self, flag: &str, url: &str) -> &mut Self {
        match url::Url::parse(url) {
            Ok(u) if u.scheme() == "http" && !u.host_str().is_some_and(is_local_host) => {
                self.warnings.push(format!(
                    "{flag} {url}: plain HTTP to another machine; what this server \
                     sends there crosses the network in clear (use https://)"
                ));
            }
            _ => {}
        }
        self
    }

    /// A PostgreSQL URL: another machine without TLS is warned about.
    pub fn database(&mut self, url: &str) -> &mut Self {
        let Ok(u) = url::Url::parse(url) else {
            return self;
        };
        let remote = !u.host_str().is_none_or(is_local_host);
        let mode = u
            .query_pairs()
            .find(|(k, _)| k == "sslmode")
            .map(|(_, v)| v.into_owned());
        let encrypted = matches!(
            mode.as_deref(),
            Some("require" | "verify-ca" | "verify-full")
        );
        if remote && !encrypted {
            self.warnings.push(
                "the PostgreSQL database is on another machine without TLS: orders and PIN \
                 hashes cross the network in clear (add sslmode=require to the URL)"
                    .into(),
            );
        }
        self
    }

    /// The warnings, for the log.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Logs each warning; refuses to start, saying every reason, if any
    /// finding was refused.
    pub fn finish(self) -> Result<(), ServerError> {
        for w in &self.warnings {
            tracing::warn!("{w}");
        }
        if self.refused.is_empty() {
            return Ok(());
        }
        Err(ServerError::Config(format!(
            "not starting: {}",
            self.refused.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lan() -> StartChecks {
        StartChecks::new("0.0.0.0:8080".parse().unwrap())
    }

    fn local() -> StartChecks {
        StartChecks::new("127.0.0.1:8080".parse().unwrap())
    }

    fn refusal(c: StartChecks) -> String {
        c.finish().expect_err("refused").to_string()
    }

    #[test]
    fn a_development_token_is_refused_on_the_lan_only() {
        let mut c = lan();
        c.token("--register-token", Some("dev-register-token"));
        assert!(refusal(c).contains("--register-token: a development token"));
        let mut c = local();
        c.token("--register-token", Some("dev-register-token"));
        assert_eq!(c.finish().map_err(|e| e.to_string()), Ok(()));
        let mut c = lan();
        c.token("--register-token", Some("k7Hq2mYx"));
        assert!(c.finish().is_ok());
    }

    #[test]
    fn plain_http_on_the_lan_is_refused_unless_the_operator_insists() {
        let mut c = lan();
        c.transport(false, false);
        assert!(refusal(c).contains("plain HTTP on a LAN address"));
        let mut c = lan();
        c.transport(false, true);
        assert_eq!(c.warnings().len(), 1);
        assert!(
            c.finish().is_ok(),
            "--insecure-lan: a warning, not a refusal"
        );
        let mut c = lan();
        c.transport(true, false);
        assert!(c.warnings().is_empty() && c.finish().is_ok());
        let mut c = local();
        c.transport(false, false);
        assert!(c.finish().is_ok(), "loopback is this machine alone");
    }

    #[test]
    fn any_origin_is_refused_with_a_message() {
        let mut c = local();
        c.origins(
            "--allow-origin",
            &["http://127.0.0.1:8080".into(), " * ".into()],
        );
        assert!(refusal(c).contains("--allow-origin '*'"));
    }

    #[test]
    fn a_token_on_the_command_line_is_a_warning() {
        let mut c = local();
        c.secret_on_command_line("--pairing-token");
        assert!(c.warnings()[0].contains("--pairing-token was given on the command line"));
        assert!(c.finish().is_ok());
    }

    #[test]
    fn plain_http_to_another_machine_is_a_warning() {
        let mut c = local();
        c.upstream("--oms-url", "http://192.168.1.10:8080")
            .upstream("--oms-url", "http://localhost:8080")
            .upstream("--oms-url", "http://[::1]:8080")
            .upstream("--oms-url", "https://oms.example");
        assert_eq!(c.warnings().len(), 1);
        assert!(c.warnings()[0].starts_with("--oms-url http://192.168.1.10:8080"));
    }

    #[test]
    fn postgres_elsewhere_without_tls_is_a_warning() {
        let warned = |url: &str| {
            let mut c = local();
            c.database(url);
            !c.warnings().is_empty()
        };
        assert!(warned("postgres://till@db.example:5432/till"));
        assert!(warned("postgres://till@10.0.0.5/till?sslmode=prefer"));
        assert!(!warned("postgres://till@db.example/till?sslmode=require"));
        assert!(!warned("postgres://till@127.0.0.1:5432/till"));
        assert!(!warned("postgres://till@localhost/till"));
    }

    #[test]
    fn every_refusal_is_said() {
        let mut c = lan();
        c.transport(false, false)
            .token("--bridge-token", Some("dev-bridge-token"))
            .origins("--allow-origin", &["*".into()]);
        let said = refusal(c);
        assert!(said.starts_with("not starting: "));
        assert!(said.matches("; ").count() >= 2, "{said}");
    }
}
