//! What `till-oms` refuses before it starts, run as a store would run it
//! (the binary itself): each refusal says why and nothing listens.

use std::process::{Command, Output};

fn oms(args: &[&str], env: &[(&str, &str)]) -> Output {
    let data = std::env::temp_dir().join(format!("till-oms-start-{}", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_till-oms"));
    cmd.args(args)
        .arg("--data")
        .arg(&data)
        .env_remove("TILL_REGISTER_TOKENS")
        .env_remove("TILL_BRIDGE_TOKEN")
        .env_remove("TILL_ADMIN_TOKEN")
        .env_remove("TILL_DATABASE_URL")
        .env_remove("TILL_INSECURE_LAN")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("till-oms runs");
    let _ = std::fs::remove_dir_all(&data);
    out
}

fn refused(out: &Output) -> String {
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("not starting: "), "{said}");
    said
}

#[test]
fn development_tokens_on_a_lan_address_are_refused() {
    let out = oms(
        &["--listen", "0.0.0.0:0", "--insecure-lan"],
        &[
            ("TILL_REGISTER_TOKENS", "R1=dev-register-token"),
            ("TILL_BRIDGE_TOKEN", "dev-bridge-token"),
        ],
    );
    let said = refused(&out);
    assert!(
        said.contains("--register-token R1=…: a development token"),
        "{said}"
    );
    assert!(
        said.contains("--bridge-token: a development token"),
        "{said}"
    );
    assert!(
        !said.contains("dev-register-token"),
        "a token is never printed: {said}"
    );
}

#[test]
fn plain_http_on_a_lan_address_is_refused_without_insecure_lan() {
    let out = oms(
        &["--listen", "0.0.0.0:0"],
        &[("TILL_REGISTER_TOKENS", "R1=k7Hq2mYxP4")],
    );
    assert!(refused(&out).contains("plain HTTP on a LAN address"));
}

#[test]
fn tokens_on_the_command_line_and_plain_postgres_elsewhere_are_warned_about() {
    // Refused for plain HTTP on the LAN, after the warnings are logged.
    let out = oms(
        &["--listen", "0.0.0.0:0", "--register-token", "R1=k7Hq2mYxP4"],
        &[("TILL_DATABASE_URL", "postgres://till@db.example:5432/till")],
    );
    let said = refused(&out);
    assert!(
        said.contains("--register-token was given on the command line"),
        "{said}"
    );
    assert!(
        said.contains("PostgreSQL database is on another machine without TLS"),
        "{said}"
    );
    assert!(!said.contains("k7Hq2mYxP4"), "{said}");
}

#[test]
fn a_refused_token_is_logged_with_the_peer_never_the_token() {
    use std::io::{BufRead, Read, Write};
    use std::process::Stdio;
    let data = std::env::temp_dir().join(format!("till-oms-log-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_till-oms"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("TILL_REGISTER_TOKENS", "R1=k7Hq2mYxP4wZr9Tb")
        .env_remove("TILL_BRIDGE_TOKEN")
        .env_remove("TILL_ADMIN_TOKEN")
        .env_remove("TILL_DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("till-oms runs");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(url) = line.strip_prefix("till-oms listening on http://") {
            break url.trim().to_owned();
        }
    };
    let token = "not-a-token-of-this-oms";
    let mut s = std::net::TcpStream::connect(&addr).expect("the OMS listens");
    write!(
        s,
        "GET /api/v1/staff HTTP/1.1\r\nHost: oms\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .expect("sent");
    let mut status = String::new();
    std::io::BufReader::new(s)
        .read_line(&mut status)
        .expect("an answer");
    assert!(status.contains(" 401 "), "{status}");
    child.kill().expect("stopped");
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("the log");
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    let refused = log
        .lines()
        .find(|l| l.contains("token refused"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        refused.contains("127.0.0.1") && refused.contains("/api/v1/staff"),
        "{refused}"
    );
    assert!(!log.contains(token), "a token is never logged: {log}");
}
