//! The OMS over a real socket: one test binary, `helpers::spawn_app` starts
//! the server on port 0.

mod helpers;
mod serving;
