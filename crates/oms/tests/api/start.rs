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
