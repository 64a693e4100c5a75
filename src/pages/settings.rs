//! Settings, and the first-run setup: where the back office and the bridge
//! are, and which register this is.

use crate::platform;
use crate::state::use_app;
use crate::store::repo::Settings;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::order::RegisterId;

fn check_url(label: &str, url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/').to_owned();
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(format!("{label} must start with http:// or https://"))
    }
}

fn validate(f: &Settings) -> Result<Settings, String> {
    let register_id = RegisterId::new(f.register_id.trim())
        .map_err(|e| e.to_string())?
        .to_string();
    let need = |label: &str, v: &str| {
        if v.trim().is_empty() {
            Err(format!("Enter the {label}"))
        } else {
            Ok(v.trim().to_owned())
        }
    };
    Ok(Settings {
        oms_url: check_url("The OMS URL", &f.oms_url)?,
        register_id,
        register_token: need("register token", &f.register_token)?,
        bridge_url: check_url("The bridge URL", &f.bridge_url)?,
        pairing_token: need("pairing token", &f.pairing_token)?,
        result_wait_secs: f.result_wait_secs,
        auto_print: f.auto_print,
        returns_without_receipt: f.returns_without_receipt,
        idle_lock_mins: f.idle_lock_mins,
        manager_discount_bp: f.manager_discount_bp,
    })
}

/// The form as typed.
struct Form {
    oms_url: String,
    register_id: String,
    register_token: String,
    bridge_url: String,
    pairing_token: String,
    result_wait: String,
    idle: String,
    discount: String,
    auto_print: bool,
    returns: bool,
}

impl Form {
    /// The settings the form says, or why not.
    fn settings(&self) -> Result<Settings, String> {
        let result_wait_secs =
            optional_number(&self.result_wait, 1..=600, "The card result wait (seconds)")?;
        let idle = optional_number(&self.idle, 1..=240, "The idle sign-out (minutes)")?;
        let manager_discount_bp = match self.discount.trim() {
            "" => None,
            d => Some(
                till_core::cart::parse_percent(d)
                    .map_err(|e| format!("The largest discount without a manager: {e}"))?,
            ),
        };
        validate(&Settings {
            oms_url: self.oms_url.clone(),
            register_id: self.register_id.clone(),
            register_token: self.register_token.clone(),
            bridge_url: self.bridge_url.clone(),
            pairing_token: self.pairing_token.clone(),
            result_wait_secs,
            auto_print: self.auto_print,
            returns_without_receipt: self.returns,
            idle_lock_mins: idle.and_then(|m| u32::try_from(m).ok()),
            manager_discount_bp,
        })
    }
}

/// An optional whole number from a form field: `None` when empty.
fn optional_number(
    text: &str,
    range: std::ops::RangeInclusive<u64>,
    what: &str,
) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{what} is a number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

#[component]
pub fn SettingsPage(first_run: bool) -> impl IntoView {
    let app = use_app();
    let persistent = app.persistent;
    let current = app.settings.get_untracked();
    let field = |v: Option<String>| RwSignal::new(v.unwrap_or_default());
    let oms_url = field(
        current
            .as_ref()
            .map(|s| s.oms_url.clone())
            .or_else(|| Some(platform::origin())),
    );
    let register_id = field(current.as_ref().map(|s| s.register_id.clone()));
    let register_token = field(current.as_ref().map(|s| s.register_token.clone()));
    let bridge_url = field(current.as_ref().map(|s| s.bridge_url.clone()));
    let pairing_token = field(current.as_ref().map(|s| s.pairing_token.clone()));
    let result_wait = field(
        current
            .as_ref()
            .and_then(|s| s.result_wait_secs)
            .map(|s| s.to_string()),
    );
    let idle = field(
        current
            .as_ref()
            .and_then(|s| s.idle_lock_mins)
            .map(|m| m.to_string()),
    );
    let discount = field(
        current
            .as_ref()
            .and_then(|s| s.manager_discount_bp)
            .map(till_core::cart::percent_text),
    );
    let auto_print = RwSignal::new(current.as_ref().is_some_and(|s| s.auto_print));
    let returns = RwSignal::new(current.as_ref().is_some_and(|s| s.returns_without_receipt));
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);

    // Saving waits for Settings to be authorized (a manager, or a
    // cashier with a manager's PIN); the first setup needs nobody.
    let pending = StoredValue::new(None::<Settings>);
    let persist = move |settings: Settings| {
        spawn_local(async move {
            match app.db().save_settings(&settings).await {
                Ok(()) => {
                    error.set(None);
                    saved.set(true);
                    app.settings.set(Some(settings));
                    app.persistent
                        .set(crate::components::status_bar::persisted().await);
                    // The register starts (or starts again) from its storage
                    // with the new settings.
                    crate::runner::start(&app);
                    crate::app::sync_staff(app).await;
                    crate::app::sync_catalog(app).await;
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    Effect::new(move |_| {
        if app.settings_authorized.get() > 0 {
            if let Some(settings) = pending.try_update_value(Option::take).flatten() {
                persist(settings);
            }
        }
    });

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = Form {
            oms_url: oms_url.get_untracked(),
            register_id: register_id.get_untracked(),
            register_token: register_token.get_untracked(),
            bridge_url: bridge_url.get_untracked(),
            pairing_token: pairing_token.get_untracked(),
            result_wait: result_wait.get_untracked(),
            idle: idle.get_untracked(),
            discount: discount.get_untracked(),
            auto_print: auto_print.get_untracked(),
            returns: returns.get_untracked(),
        };
        let settings = match form.settings() {
            Ok(s) => s,
            Err(e) => return error.set(Some(e)),
        };
        if first_run {
            persist(settings);
        } else {
            pending.set_value(Some(settings));
            crate::runner::act(&app, till_core::register::Action::AuthorizeSettings);
        }
    };

    let input = move |label: &'static str, signal: RwSignal<String>, kind: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input type=kind prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev)) autocomplete="off"/>
            </label>
        }
    };
    view! {
        <section class="page settings">
            <h1>{if first_run { "Set up this register" } else { "Settings" }}</h1>
            {first_run.then(|| view! { <p>"Till needs to know where its back office and card terminal bridge are. Your store's administrator has these values."</p> })}
            <form on:submit=save>
                {input("OMS URL", oms_url, "url")}
                {input("Register id", register_id, "text")}
                {input("Register token", register_token, "password")}
                {input("Bridge URL", bridge_url, "url")}
                {input("Pairing token", pairing_token, "password")}
                {input("Card result wait (seconds)", result_wait, "text")}
                {input("Sign out after minutes idle (empty: never)", idle, "text")}
                {input("Largest discount without a manager (%; empty: 20)", discount, "text")}
                <label class="field checkbox">
                    <input type="checkbox" prop:checked=move || auto_print.get() on:change=move |ev| auto_print.set(event_target_checked(&ev))/>
                    <span>"Print the receipt by itself when a sale is paid"</span>
                </label>
                <label class="field checkbox">
                    <input type="checkbox" prop:checked=move || returns.get() on:change=move |ev| returns.set(event_target_checked(&ev))/>
                    <span>"Allow returns without a receipt (cash back only)"</span>
                </label>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit">{if first_run { "Start selling" } else { "Save" }}</button>
                {move || saved.get().then(|| view! { <p role="status">"Saved."</p> })}
            </form>
            <p class="storage">
                {move || match persistent.get() {
                    Some(true) => "Storage is persistent: the browser will not clear Till's data to free space.",
                    Some(false) => "Storage is not persistent: the browser may clear Till's data when the device runs low on space. Install Till as an app to make it persistent.",
                    None => "This browser cannot say whether storage is persistent.",
                }}
            </p>
        </section>
    }
}
