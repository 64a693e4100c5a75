//! The sign-in screen: choose your name, enter your PIN on the keypad (or
//! the keyboard). till-core's desk checks the PIN against the stored hash
//! and counts wrong ones; this page only collects and shows.
//!
//! Accessibility: the keypad's buttons are labelled with their digits; the
//! PIN field is a password field (a screen reader announces how many
//! characters it holds, not which), and a live line says how many digits
//! were entered.

use crate::platform;
use crate::state::use_app;
use leptos::prelude::*;
use till_core::register::Action;
use till_core::staff::{Role, StaffMember, PIN_LEN};

const KEYS: [&str; 9] = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];

#[component]
pub fn SignInPage() -> impl IntoView {
    let app = use_app();
    let chosen = RwSignal::new(None::<StaffMember>);
    let pin = RwSignal::new(String::new());
    let staff = move || {
        app.rev.get();
        app.register(|r| r.desk().staff().to_vec())
            .unwrap_or_default()
    };
    let choose = move |m: StaffMember| {
        app.sign_in_message.set(None);
        pin.set(String::new());
        chosen.set(Some(m));
    };
    let people = move || {
        staff()
            .into_iter()
            .map(|m| {
                let label = match m.role {
                    Role::Manager => format!("{} (manager)", m.name),
                    Role::Cashier => m.name.clone(),
                };
                let pressed = {
                    let id = m.id.clone();
                    move || chosen.get().is_some_and(|c| c.id == id).to_string()
                };
                view! {
                    <li><button type="button" class="person" aria-pressed=pressed
                        on:click=move |_| choose(m.clone())>{label}</button></li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="page sign-in">
            <h1>"Sign in"</h1>
            <Show when=move || !staff().is_empty() fallback=|| view! {
                <p role="alert">"Nobody can sign in yet: this register has no staff list. It downloads it from the back office with the catalog; the back office adds staff with “till-oms staff add”."</p>
            }>
                <h2 id="who">"Who is selling?"</h2>
                <ul class="people" aria-labelledby="who">{people}</ul>
                {move || chosen.get().map(|m| view! { <PinPad person=m pin=pin/> })}
            </Show>
        </section>
    }
}

/// The PIN of `person`: a password field and a keypad large enough for touch.
#[component]
fn PinPad(person: StaffMember, pin: RwSignal<String>) -> impl IntoView {
    let app = use_app();
    let id = StoredValue::new(person.id.clone());
    let checking = RwSignal::new(false);
    let lock = move || {
        app.rev.get();
        app.register(|r| r.desk().lock_of(&id.get_value(), platform::now()).err())
            .flatten()
            .map(|e| e.to_string())
    };
    let press = move |d: &str| {
        pin.update(|p| {
            if p.len() < *PIN_LEN.end() {
                p.push_str(d);
            }
        })
    };
    let submit = move || {
        if checking.get_untracked() {
            return;
        }
        checking.set(true);
        app.sign_in_message.set(None);
        let entered = pin.get_untracked();
        pin.set(String::new());
        // The hash takes a moment: "Checking…" paints first.
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(0).await;
            let action = Action::SignIn {
                person: id.get_value(),
                pin: entered,
            };
            crate::runner::act(&app, action);
            checking.set(false);
        });
    };
    let digits = move || {
        let n = pin.get().len();
        match n {
            1 => "1 digit entered".to_string(),
            n => format!("{n} digits entered"),
        }
    };
    let keys = KEYS
        .into_iter()
        .chain(["0"])
        .map(
            |d| view! { <button type="button" class="key" on:click=move |_| press(d)>{d}</button> },
        )
        .collect_view();
    view! {
        <form class="pin-pad" on:submit=move |e| { e.prevent_default(); submit(); }>
            <label for="pin">{format!("PIN for {}", person.name)}</label>
            <input id="pin" type="password" inputmode="numeric" autocomplete="off"
                maxlength=PIN_LEN.end().to_string() aria-describedby="pin-count"
                prop:value=move || pin.get()
                on:input=move |e| pin.set(event_target_value(&e).chars().filter(char::is_ascii_digit).collect())/>
            <p id="pin-count" class="pin-count" aria-live="polite">{digits}</p>
            <div class="keys" role="group" aria-label="Keypad">
                {keys}
                <button type="button" class="key" on:click=move |_| pin.update(|p| { p.pop(); })>"Delete"</button>
                <button type="button" class="key" on:click=move |_| pin.set(String::new())>"Clear"</button>
            </div>
            <button type="submit" class="primary" disabled=move || checking.get() || lock().is_some()>
                {move || if checking.get() { "Checking…" } else { "Sign in" }}
            </button>
            {move || lock().or_else(|| app.sign_in_message.get()).map(|m| view! { <p role="alert">{m}</p> })}
        </form>
    }
}
