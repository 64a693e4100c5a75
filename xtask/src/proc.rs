//! Running commands: announce them, time them, capture their output while
//! showing it, and make sure servers we start are stopped.

use crate::Result;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Prints a step the way every command of xtask does.
pub fn step(msg: &str) {
    println!("\n==> {msg}");
    let _ = std::io::stdout().flush();
}

pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs a command with inherited output; fails if it fails.
pub fn run(cmd: &mut Command) -> Result {
    let what = describe(cmd);
    println!("$ {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{what}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{what}` failed ({status})"))
    }
}

/// Runs a command, showing its output as it comes and returning it too
/// (stdout and stderr interleaved by line), with whether it succeeded.
pub fn run_captured(cmd: &mut Command) -> Result<(bool, String)> {
    let what = describe(cmd);
    println!("$ {what}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start `{what}`: {e}"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let pumps: Vec<_> = [
        Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("piped")) as Box<dyn Read + Send>,
    ]
    .into_iter()
    .map(|r| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(std::result::Result::ok) {
                println!("{line}");
                let _ = tx.send(line);
            }
        })
    })
    .collect();
    drop(tx);
    let status = child.wait().map_err(|e| format!("`{what}`: {e}"))?;
    for p in pumps {
        let _ = p.join();
    }
    let output: Vec<String> = rx.into_iter().collect();
    Ok((status.success(), output.join("\n")))
}

/// Output of a command, or None if it cannot run or fails. For version checks.
pub fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A server we started: stopped when dropped, whatever happens.
pub struct Server {
    pub name: &'static str,
    pub url: String,
    child: Child,
}

impl Server {
    /// Starts `cmd` and waits for it to print a line containing `marker`
    /// followed by its URL (e.g. "listening on http://127.0.0.1:41234").
    /// The rest of its output is passed through, prefixed with its name.
    pub fn start(
        name: &'static str,
        cmd: &mut Command,
        marker: &str,
        within: Duration,
    ) -> Result<Server> {
        let what = describe(cmd);
        println!("$ {what}");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {name}: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        let marker = marker.to_owned();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                println!("[{name}] {line}");
                if !sent {
                    if let Some(i) = line.find(&marker) {
                        let url = line[i + marker.len()..]
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_owned();
                        let _ = tx.send(url);
                        sent = true;
                    }
                }
            }
        });
        let started = Instant::now();
        loop {
            if let Ok(url) = rx.recv_timeout(Duration::from_millis(100)) {
                return Ok(Server { name, url, child });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{name} exited before it was ready ({status})"));
            }
            if started.elapsed() > within {
                let _ = child.kill();
                return Err(format!(
                    "{name} did not say it was ready within {}",
                    fmt_duration(within)
                ));
            }
        }
    }

    /// Waits until the server exits (for `serve`).
    pub fn wait(&mut self) -> Result {
        let status = self.child.wait().map_err(|e| e.to_string())?;
        Err(format!("{} stopped ({status})", self.name))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGTERM first so the server can close its database cleanly.
            #[cfg(unix)]
            {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(self.child.id().to_string())
                    .status();
                for _ in 0..50 {
                    if let Ok(Some(_)) = self.child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
