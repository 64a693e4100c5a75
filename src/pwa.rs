//! The installable app: registering the service worker, noticing a new
//! deploy, and switching to it only when the cashier says so.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorker, ServiceWorkerRegistration, ServiceWorkerState};

/// Registers `/sw.js` and sets `update_available` when a new version has
/// installed and waits.
pub fn register(update_available: RwSignal<bool>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    // Not every context has service workers (plain HTTP on a LAN address).
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let container = navigator.service_worker();
    leptos::task::spawn_local(async move {
        let Ok(reg) = JsFuture::from(container.register("/sw.js")).await else {
            web_sys::console::warn_1(
                &"Till: the service worker could not be registered; offline start is not available"
                    .into(),
            );
            return;
        };
        let reg: ServiceWorkerRegistration = reg.unchecked_into();
        let has_controller = {
            let container = container.clone();
            move || container.controller().is_some()
        };
        if reg.waiting().is_some() && has_controller() {
            update_available.set(true);
        }
        let reg2 = reg.clone();
        let on_update = Closure::<dyn FnMut()>::new(move || {
            let Some(worker) = reg2.installing() else {
                return;
            };
            let w = worker.clone();
            let has_controller = has_controller.clone();
            let on_state = Closure::<dyn FnMut()>::new(move || {
                if w.state() == ServiceWorkerState::Installed && has_controller() {
                    update_available.set(true);
                }
            });
            worker.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        reg.set_onupdatefound(Some(on_update.as_ref().unchecked_ref()));
        on_update.forget();
    });
}

/// Activates the waiting version and reloads into it.
pub fn apply_update() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    let reload = Closure::<dyn FnMut()>::new(move || {
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
    });
    container.set_oncontrollerchange(Some(reload.as_ref().unchecked_ref()));
    reload.forget();
    leptos::task::spawn_local(async move {
        if let Ok(reg) = JsFuture::from(container.get_registration()).await {
            if let Some(waiting) = reg
                .dyn_into::<ServiceWorkerRegistration>()
                .ok()
                .and_then(|r| r.waiting())
            {
                let _ = ServiceWorker::post_message(&waiting, &"skip-waiting".into());
            }
        }
    });
}
