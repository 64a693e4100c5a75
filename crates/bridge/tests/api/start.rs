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
