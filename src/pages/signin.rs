//! The sign-in screen, and the manager's approval dialog: choose a name,
//! enter the PIN on the keypad (or the keyboard). till-core's desk checks
//! the PIN against the stored hash and counts wrong ones; these views only
//! collect and show.
//!
//! Accessibility: the keypad's buttons are labelled with their digits; the
//! PIN field is a password field (a screen reader announces how many
//! characters it holds, not which), and a live line says how many digits
//! were entered.

use crate::platform;
use crate::state::{use_app, AppState};
use leptos::prelude::*;
use till_core::register::answers::Answer;
use till_core::register::Action;
use till_core::staff::{Role, StaffId, StaffMember, PIN_LEN};

const KEYS: [&str; 10] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];

/// The store's staff as the register holds them (`managers`: only those).
fn staff_of(app: AppState, managers: bool) -> Vec<StaffMember> {
    app.register(|r| r.desk().staff().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|m| !managers || m.role == Role::Manager)
        .collect()
}

/// One button per person; `chosen` is who was tapped.
#[component]
fn People(
    staff: Signal<Vec<StaffMember>>,
    chosen: RwSignal<Option<StaffMember>>,
    #[prop(into)] on_choose: Callback<()>,
) -> impl IntoView {
    let people = move || {
        staff
            .get()
            .into_iter()
            .map(|m| {
                let label = match m.role {
                    Role::Manager => format!("{} (manager)", m.name),
                    Role::Cashier => m.name.clone(),
                };
                let id = m.id.clone();
                let pressed = move || chosen.get().is_some_and(|c| c.id == id).to_string();
                view! {
                    <li><button type="button" class="person" aria-pressed=pressed
                        on:click=move |_| { on_choose.run(()); chosen.set(Some(m.clone())); }>{label}</button></li>
                }
            })
            .collect_view()
    };
    view! { <ul class="people" aria-labelledby="who">{people}</ul> }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let app = use_app();
    let chosen = RwSignal::new(None::<StaffMember>);
    let pin = RwSignal::new(String::new());
    let staff: Signal<Vec<StaffMember>> = Memo::new(move |_| staff_of(app, false)).into();
    let enter = Callback::new(move |(person, pin): (StaffId, String)| {
        crate::runner::act(&app, Action::SignIn { person, pin })
    });
    let choose = move || {
        app.clear(Answer::SignInRefused);
        pin.set(String::new());
    };
    view! {
        <section class="page sign-in">
            <h1>"Sign in"</h1>
            <Show when=move || !staff.get().is_empty() fallback=|| view! {
                <p role="alert">"Nobody can sign in yet: this register has no staff list. It downloads it from the back office with the catalog; the back office adds staff with “till-oms staff add”."</p>
            }>
                <h2 id="who">"Who is selling?"</h2>
                <People staff=staff chosen=chosen on_choose=choose/>
                {move || chosen.get().map(|m| view! {
                    <PinPad person=m pin=pin verb="Sign in" on_enter=enter message=Answer::SignInRefused/>
                })}
            </Show>
        </section>
    }
}

/// A cashier did something a manager approves (a void, a refund, a large
/// discount, Settings): a manager enters their PIN here, or it is cancelled.
#[component]
pub fn ApprovalDialog() -> impl IntoView {
    let app = use_app();
    let what = Memo::new(move |_| app.register(|r| r.awaiting_approval()).flatten());
    // Kept while the dialog is up (every answer re-renders the register's
    // views); cleared when it closes.
    let chosen = RwSignal::new(None::<StaffMember>);
    let pin = RwSignal::new(String::new());
    Effect::new(move |_| {
        if what.get().is_none() {
            chosen.set(None);
            pin.set(String::new());
            app.clear(Answer::ApprovalRefused);
        }
    });
    let managers: Signal<Vec<StaffMember>> = Memo::new(move |_| staff_of(app, true)).into();
    let enter = Callback::new(move |(person, pin): (StaffId, String)| {
        crate::runner::act(&app, Action::Approve { person, pin })
    });
    let cancel = move |_| crate::runner::act(&app, Action::CancelApproval);
    let choose = move || {
        app.clear(Answer::ApprovalRefused);
        pin.set(String::new());
    };
    view! {
        <Show when=move || what.get().is_some()>
            <div class="backdrop">
                <div class="dialog approval" role="dialog" aria-modal="true" aria-labelledby="approval-title">
                    <h2 id="approval-title">"Manager approval"</h2>
                    <p class="card-state">{move || what.get().map(|w| w.label())}</p>
                    <p id="who">"A manager enters their PIN:"</p>
                    <People staff=managers chosen=chosen on_choose=choose/>
                    {move || chosen.get().map(|m| view! {
                        <PinPad person=m pin=pin verb="Approve" on_enter=enter message=Answer::ApprovalRefused/>
                    })}
                    <button type="button" on:click=cancel>"Cancel"</button>
                </div>
            </div>
        </Show>
    }
}

/// The PIN of `person`: a password field and a keypad large enough for
/// touch; `verb` submits it to `on_enter`.
#[component]
fn PinPad(
    person: StaffMember,
    pin: RwSignal<String>,
    verb: &'static str,
    on_enter: Callback<(StaffId, String)>,
    message: Answer,
) -> impl IntoView {
    let app = use_app();
    let id = StoredValue::new(person.id.clone());
    let checking = RwSignal::new(false);
    let lock = move || {
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
        app.clear(message);
        let entered = pin.get_untracked();
        pin.set(String::new());
        // The hash takes a moment: "Checking…" paints first.
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(0).await;
            on_enter.run((id.get_value(), entered));
            checking.set(false);
        });
    };
    let digits = move || match pin.get().len() {
        1 => "1 digit entered".to_string(),
        n => format!("{n} digits entered"),
    };
    let keys = KEYS
        .into_iter()
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
                {move || if checking.get() { "Checking…" } else { verb }}
            </button>
            {move || lock().or_else(|| app.said(message)).map(|m| view! { <p role="alert">{m}</p> })}
        </form>
    }
}
