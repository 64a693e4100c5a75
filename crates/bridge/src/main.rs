//! `till-bridge`: the LAN bridge. Not yet runnable: the API and the
//! simulated terminal come next.

fn main() -> std::process::ExitCode {
    eprintln!("till-bridge: the bridge API and its simulated terminal are not built yet");
    std::process::ExitCode::from(2)
}
