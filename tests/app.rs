//! Browser tests of the app shell, in headless Chromium.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Lets the reactive system and the router run before looking at the page.
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

#[wasm_bindgen_test]
async fn the_app_mounts_and_shows_the_register() {
    let host = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone().unchecked_into(), till::App);
    settle().await;
    let heading = host.query_selector("h1").unwrap().expect("a heading");
    assert_eq!(heading.text_content().unwrap(), "Register");
    drop(handle);
}
