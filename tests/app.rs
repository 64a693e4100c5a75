//! Browser tests of the app shell, in headless Chromium.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Waits (a bounded number of frames) until `host` holds an `h1`.
async fn heading(host: &web_sys::Element) -> String {
    for _ in 0..200 {
        if let Some(h) = host.query_selector("h1").unwrap() {
            return h.text_content().unwrap();
        }
        gloo_timers::future::TimeoutFuture::new(25).await;
    }
    panic!("no heading appeared");
}

#[wasm_bindgen_test]
async fn a_new_register_mounts_and_asks_to_be_set_up() {
    let host = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone().unchecked_into(), till::App);
    assert_eq!(heading(&host).await, "Set up this register");
    let text = host.text_content().unwrap();
    for want in [
        "OMS URL",
        "Register id",
        "Register token",
        "Bridge URL",
        "Pairing token",
    ] {
        assert!(text.contains(want), "{want} missing from the setup form");
    }
    drop(handle);
}
