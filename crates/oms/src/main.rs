//! `till-oms`: starts the reference back office.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use till_oms::{Application, Config};

#[derive(Debug, Parser)]
#[command(
    name = "till-oms",
    version,
    about = "Till's reference back office; serves the built app"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "TILL_OMS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder of the built app (Trunk's output).
    #[arg(long, env = "TILL_DIST", default_value = "dist")]
    dist: PathBuf,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if !args.dist.join("index.html").is_file() {
        eprintln!(
            "till-oms: {} has no index.html; build the app first (cargo xtask serve does)",
            args.dist.display()
        );
        return std::process::ExitCode::from(2);
    }
    let app = match Application::build(Config {
        listen: args.listen,
        dist: args.dist,
    })
    .await
    {
        Ok(app) => app,
        Err(e) => {
            eprintln!("till-oms: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::from(2);
        }
    };
    // xtask and people read this line to find the server.
    println!("till-oms listening on http://{}", app.local_addr());
    match app.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("till-oms: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
