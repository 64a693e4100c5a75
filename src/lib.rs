//! # till: the register in the browser
//!
//! A Leptos single-page app compiled to WebAssembly: the register, the
//! payment page and the card-payment popup a cashier uses all day. This crate
//! renders state and performs effects (IndexedDB, HTTP to the back office
//! and the LAN bridge, timers); every decision about money, orders and
//! payments is made by `till-core`'s `Register`, which [`runner`] drives.
//!
//! `main.rs` only installs the panic hook and mounts [`app::App`]; the app is
//! a library so that browser tests (wasm-bindgen-test) can mount it too.

pub mod app;
pub mod catalog;
pub mod components;
pub mod error;
pub mod locks;
pub mod net;
pub mod pages;
pub mod platform;
pub mod pwa;
pub mod runner;
pub mod state;
pub mod store;

pub use app::App;

/// Mounts the app on the page's `<body>`. Called once by `main`.
pub fn start() {
    console_error_panic_hook::set_once();
    // index.html's "Loading the register…" goes when the app draws.
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
    leptos::mount::mount_to_body(App);
}
