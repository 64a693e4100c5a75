//! Typed clients of the back office and the bridge. Every request has a
//! deadline: a server that accepts the connection and never answers must
//! end as "no answer" (the register then decides what that means), not as
//! a request that hangs for minutes and holds up what waits on it.

pub mod bridge;
pub mod oms;

use gloo_timers::callback::Timeout;
use web_sys::AbortSignal;

/// How long a request to the bridge (on the store's LAN) may take.
pub const BRIDGE_TIMEOUT_MS: u32 = 10_000;
/// How long a request to the back office may take: a batch of 500 orders
/// over a slow store connection, with margin.
pub const OMS_TIMEOUT_MS: u32 = 30_000;

/// A signal that aborts a request after `timeout_ms`; keep the returned
/// timer alive for as long as the request runs (dropping it cancels it).
pub fn deadline(timeout_ms: u32) -> (Option<AbortSignal>, Option<Timeout>) {
    match web_sys::AbortController::new() {
        Ok(controller) => {
            let signal = controller.signal();
            let timer = Timeout::new(timeout_ms, move || controller.abort());
            (Some(signal), Some(timer))
        }
        // No AbortController (never in a supported browser): no deadline.
        Err(_) => (None, None),
    }
}
