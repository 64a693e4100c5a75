//! What `till-bridge` refuses before it starts, run as a store would run
//! it (the binary itself): each refusal says why and exits with an error,
//! never a panic, and nothing listens.

use std::process::{Command, Output};

fn bridge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let data = std::env::temp_dir().join(format!("till-bridge-start-{}", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_till-bridge"));
    cmd.args(args)
        .arg("--data")
        .arg(&data)
        .env_remove("TILL_PAIRING_TOKEN")
        .env_remove("TILL_BRIDGE_ALLOW_ORIGINS")
        .env_remove("TILL_INSECURE_LAN")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("till-bridge runs");
    let _ = std::fs::remove_dir_all(&data);
    out
}

fn refused(out: &Output) -> String {
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "an error, not a panic: {said}");
    assert!(said.contains("not starting: "), "{said}");
    said
}

#[test]
fn any_origin_is_refused_with_a_message_not_a_panic() {
    let out = bridge(&["--listen", "127.0.0.1:0", "--allow-origin", "*"], &[]);
    assert!(refused(&out).contains("--allow-origin '*'"));
}

#[test]
fn a_development_token_on_a_lan_address_is_refused() {
    let out = bridge(
        &["--listen", "0.0.0.0:0", "--insecure-lan"],
        &[("TILL_PAIRING_TOKEN", "dev-pairing-token")],
    );
    assert!(refused(&out).contains("--pairing-token: a development token"));
}

#[test]
fn plain_http_on_a_lan_address_is_refused_without_insecure_lan() {
    let out = bridge(&["--listen", "0.0.0.0:0"], &[]);
    let said = refused(&out);
    assert!(said.contains("plain HTTP on a LAN address"), "{said}");
    assert!(said.contains("--insecure-lan starts it anyway"), "{said}");
}

#[test]
fn a_token_on_the_command_line_is_warned_about() {
    // Refused for the origin, after the warning about the token is logged.
    let out = bridge(
        &[
            "--listen",
            "127.0.0.1:0",
            "--pairing-token",
            "p-secret",
            "--allow-origin",
            "*",
        ],
        &[],
    );
    let said = refused(&out);
    assert!(
        said.contains("--pairing-token was given on the command line"),
        "{said}"
    );
    assert!(!said.contains("p-secret"), "the secret is never logged");
}

/// Sends one raw HTTP/1.1 request and reads the answer's status line.
fn send(addr: &str, request: &str) -> String {
    use std::io::{BufRead, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("the bridge listens");
    s.write_all(request.as_bytes()).expect("sent");
    let mut status = String::new();
    std::io::BufReader::new(s)
        .read_line(&mut status)
        .expect("an answer");
    status
}

#[test]
fn refused_tokens_and_wrong_codes_are_logged_with_the_peer_never_the_secret() {
    use std::io::{BufRead, Read};
    use std::process::Stdio;
    let data = std::env::temp_dir().join(format!("till-bridge-log-{}", std::process::id()));
    let ca = till_http::tls::LocalCa::open_or_create(
        &data.join("tls"),
        "Till test CA",
        &["V400m-1".into()],
    )
    .expect("a CA");
    let mut child = Command::new(env!("CARGO_BIN_EXE_till-bridge"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--terminal-url",
            "https://127.0.0.1:9/nexo",
        ])
        .args([
            "--poiid",
            "V400m-1",
            "--terminal-key-id",
            "k1",
            "--terminal-ca",
        ])
        .arg(ca.cert_file())
        .arg("--data")
        .arg(&data)
        .env("TILL_TERMINAL_PASSPHRASE", "a passphrase")
        .env_remove("TILL_PAIRING_TOKEN")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("till-bridge runs");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut code = String::new();
    let addr = loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(c) = line.strip_prefix("till-bridge pairing code: ") {
            code = c.split(" (").next().unwrap_or("").replace(' ', "");
        }
        if let Some(url) = line.strip_prefix("till-bridge listening on http://") {
            break url.trim().to_owned();
        }
    };
    let token = "not-a-token-of-this-bridge";
    let asked = send(
        &addr,
        &format!("GET /v1/health HTTP/1.1\r\nHost: b\r\nX-Pairing-Token: {token}\r\nConnection: close\r\n\r\n"),
    );
    assert!(asked.contains(" 401 "), "{asked}");
    let wrong = if code == "918273" { "918274" } else { "918273" };
    let body = format!(r#"{{"code":"{wrong}","register":"R1"}}"#);
    let tried = send(
        &addr,
        &format!(
            "POST /v1/pairings HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(tried.contains(" 401 "), "{tried}");
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
        refused.contains("peer=\"127.0.0.1\"") || refused.contains("peer=127.0.0.1"),
        "{refused}"
    );
    let guessed = log
        .lines()
        .find(|l| l.contains("pairing: wrong code"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(guessed.contains("127.0.0.1"), "{guessed}");
    assert!(!log.contains(token), "a token is never logged: {log}");
    // (Said in a field or in words: a timestamp's digits are no code.)
    for shown in [
        format!("={wrong}"),
        format!("\"{wrong}"),
        format!(" {wrong}"),
    ] {
        assert!(!log.contains(&shown), "a typed code is never logged: {log}");
    }
}
