//! One tab owns the register (Web Locks): two tabs selling at once would
//! hand out the same order sequence numbers and race on the cart.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const LOCK: &str = "till-register";

/// A promise that never settles: the lock is held until the page goes away.
fn hold() -> js_sys::Promise {
    js_sys::Promise::new(&mut |_, _| {})
}

/// Asks for the register lock. `owner` becomes `Some(true)` when this tab
/// holds it, `Some(false)` while another tab does; when that tab closes, this
/// one takes over (and reloads, to start from what the other tab stored).
/// Browsers without Web Locks count as owner.
pub fn acquire(owner: RwSignal<Option<bool>>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let locks =
        js_sys::Reflect::get(&window.navigator(), &"locks".into()).unwrap_or(JsValue::UNDEFINED);
    let request = js_sys::Reflect::get(&locks, &"request".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let Some(request) = request else {
        return owner.set(Some(true));
    };

    // Queued behind the owner: when it leaves, take over with a fresh start.
    let take_over = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |_lock: JsValue| {
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
        hold()
    });
    let (locks2, request2) = (locks.clone(), request.clone());
    let first = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |lock: JsValue| {
        if lock.is_null() {
            owner.set(Some(false));
            let _ = request2.call2(&locks2, &LOCK.into(), take_over.as_ref().unchecked_ref());
            js_sys::Promise::resolve(&JsValue::UNDEFINED)
        } else {
            owner.set(Some(true));
            hold()
        }
    });
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"ifAvailable".into(), &true.into());
    if request
        .call3(
            &locks,
            &LOCK.into(),
            &options,
            first.as_ref().unchecked_ref(),
        )
        .is_err()
    {
        owner.set(Some(true));
    }
    first.forget();
}
