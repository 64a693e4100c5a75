//! Running commands: announce them, time them, capture their output while
//! showing it, and make sure servers we start are stopped.

use crate::Result;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

/// The processes xtask started and has not yet seen exit.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// Set when xtask was asked to stop (Ctrl-C, SIGTERM, SIGHUP).
static STOPPING: AtomicBool = AtomicBool::new(false);

/// On Ctrl-C, SIGTERM or SIGHUP, xtask passes SIGTERM on to every process it
/// started (servers, Playwright, cargo), then unwinds as they exit: a
/// supervisor or `timeout` that stops xtask stops everything, and no server
/// is left holding its port.
pub fn stop_children_on_signal() {
    let installed = ctrlc::set_handler(|| {
        STOPPING.store(true, Ordering::SeqCst);
        let pids = CHILDREN.lock().map(|c| c.clone()).unwrap_or_default();
        if pids.is_empty() {
            std::process::exit(130);
        }
        for pid in pids {
            terminate(pid);
        }
    });
    if let Err(e) = installed {
        eprintln!("xtask: cannot watch for Ctrl-C and SIGTERM ({e}); stop servers by hand");
    }
}

/// True once xtask was asked to stop.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

fn terminate(pid: u32) {
    #[cfg(unix)]
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .status();
    #[cfg(not(unix))]
    let _ = Command::new("taskkill")
        .args(["/PID", &pid.to_string(), "/T", "/F"])
        .status();
}

/// Spawns and remembers a child, so a signal to xtask reaches it.
fn spawn(cmd: &mut Command, what: &str) -> Result<Child> {
    let mut children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner());
    if stopping() {
        return Err("xtask is stopping".into());
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("could not start `{what}`: {e}"))?;
    children.push(child.id());
    Ok(child)
}

fn forget(child: &Child) {
    if let Ok(mut c) = CHILDREN.lock() {
        c.retain(|pid| *pid != child.id());
    }
}

/// Waits for a child, then forgets it.
fn wait(child: &mut Child, what: &str) -> Result<std::process::ExitStatus> {
    let status = child.wait().map_err(|e| format!("`{what}`: {e}"));
    forget(child);
    status
}

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
    let mut child = spawn(cmd, &what)?;
    let status = wait(&mut child, &what)?;
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
    let mut child = spawn(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null()),
        &what,
    )?;
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
    let status = wait(&mut child, &what)?;
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
        let mut child = spawn(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .stdin(Stdio::null()),
            &what,
        )?;
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

    /// Waits until the server exits (for `serve`): an error, unless xtask
    /// was asked to stop.
    pub fn wait(&mut self) -> Result {
        let status = wait(&mut self.child, self.name)?;
        if stopping() {
            return Ok(());
        }
        Err(format!("{} stopped ({status})", self.name))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGTERM first so the server can close its database cleanly;
            // killed if it has not stopped within 5 s.
            terminate(self.child.id());
            let asked = Instant::now();
            while matches!(self.child.try_wait(), Ok(None))
                && asked.elapsed() < Duration::from_secs(5)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        forget(&self.child);
    }
}
