//! Settings, and the first-run setup: where the back office and the bridge
//! are, and which register this is.

use crate::platform;
use crate::state::use_app;
use crate::store::repo::Settings;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::lan::SetupLink;
use till_core::order::RegisterId;

fn check_url(label: &str, url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/').to_owned();
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(format!("{label} must start with http:// or https://"))
    }
}

/// The bridge's address: empty while the register is not paired.
fn check_bridge_url(url: &str) -> Result<String, String> {
    if url.trim().is_empty() {
        return Ok(String::new());
    }
    check_url("The bridge URL", url)
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
        bridge_url: check_bridge_url(&f.bridge_url)?,
        pairing_token: f.pairing_token.trim().to_owned(),
        result_wait_secs: f.result_wait_secs,
        auto_print: f.auto_print,
        returns_without_receipt: f.returns_without_receipt,
        idle_lock_mins: f.idle_lock_mins,
        manager_discount_bp: f.manager_discount_bp,
        ask_tip: f.ask_tip,
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
    tips: bool,
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
            ask_tip: self.tips,
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
            .map(till_core::money::percent_text),
    );
    let auto_print = RwSignal::new(current.as_ref().is_some_and(|s| s.auto_print));
    let returns = RwSignal::new(current.as_ref().is_some_and(|s| s.returns_without_receipt));
    let tips = RwSignal::new(current.as_ref().is_some_and(|s| s.ask_tip));
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
                    app.persistent.set(crate::platform::persisted().await);
                    // The register starts (or starts again) from its storage
                    // with the new settings, and downloads the staff list
                    // and the catalog.
                    crate::runner::start(&app);
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

    let submit = move || {
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
            tips: tips.get_untracked(),
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
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit();
    };
    // Paired: the register keeps the bridge's address and its own token,
    // saved as the form's Save would.
    let on_paired = move |address: String, token: String| {
        bridge_url.set(address);
        pairing_token.set(token);
        submit();
    };
    let from_link = setup_link(first_run);
    if let Some(Ok(link)) = &from_link {
        oms_url.set(link.oms_url.clone());
        register_id.set(link.register_id.clone());
        register_token.set(link.register_token.clone());
    }
    if let Some(Err(e)) = &from_link {
        error.set(Some(e.clone()));
    }

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
                {input("Pairing token (development; in a store, pair below)", pairing_token, "password")}
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
                <label class="field checkbox">
                    <input type="checkbox" prop:checked=move || tips.get() on:change=move |ev| tips.set(event_target_checked(&ev))/>
                    <span>"Ask for a tip on the card terminal"</span>
                </label>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit">{if first_run { "Start selling" } else { "Save" }}</button>
                {move || saved.get().then(|| view! { <p role="status">"Saved."</p> })}
            </form>
            <PairBridge register_id on_paired from_link=from_link.and_then(Result::ok) current=bridge_url.get_untracked()/>
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

/// The setup link this page was opened with (first run only), taken off the
/// address bar so that its token does not stay in the history.
fn setup_link(first_run: bool) -> Option<Result<SetupLink, String>> {
    if !first_run {
        return None;
    }
    let window = web_sys::window()?;
    let hash = window.location().hash().ok()?;
    let link = SetupLink::parse(&hash)?;
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
    Some(link)
}

/// "Pair with payment bridge": the bridge's address and the code it shows,
/// for this register's own token. The tap on Pair is the user gesture the
/// browser's Local Network Access prompt needs; nothing else asks it.
#[component]
fn PairBridge(
    register_id: RwSignal<String>,
    on_paired: impl Fn(String, String) + Copy + 'static,
    from_link: Option<SetupLink>,
    current: String,
) -> impl IntoView {
    let address = RwSignal::new(
        from_link
            .as_ref()
            .map(|l| l.bridge_url.clone())
            .unwrap_or(current),
    );
    let code = RwSignal::new(
        from_link
            .as_ref()
            .map(|l| l.code.clone())
            .unwrap_or_default(),
    );
    let message = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let permission = RwSignal::new(None::<&'static str>);
    let app = use_app();
    let link = Memo::new(move |_| {
        app.register(|r| r.status().bridge)
            .unwrap_or(till_core::lan::BridgeLink::Unknown)
    });
    let look = move || {
        spawn_local(async move {
            permission.set(permission_words(&address.get_untracked()).await);
        })
    };
    look();
    let pair = move || {
        let base = match check_url("The bridge address", &address.get_untracked()) {
            Ok(b) => b,
            Err(e) => return message.set(Some(Err(e))),
        };
        let typed = register_id.get_untracked();
        if typed.trim().is_empty() {
            return message.set(Some(Err(
                "Type the register id above first: the bridge lists registers by it".into(),
            )));
        }
        let register = match RegisterId::new(typed.trim()) {
            Ok(r) => r.to_string(),
            Err(e) => return message.set(Some(Err(e.to_string()))),
        };
        busy.set(true);
        spawn_local(async move {
            let answer = crate::runner::pair(&base, &code.get_untracked(), &register).await;
            busy.set(false);
            look();
            match answer {
                Ok(paired) => {
                    code.set(String::new());
                    message.set(Some(Ok(format!("Paired with the bridge at {base}."))));
                    on_paired(base, paired.token);
                }
                Err(e) => message.set(Some(Err(e))),
            }
        });
    };
    // A setup link pairs by itself, unless that would make the browser ask
    // for the Local Network Access permission on page load: then a tap on
    // Pair does it.
    if from_link.is_some() {
        spawn_local(async move {
            let permission = platform::bridge_permission(&address.get_untracked()).await;
            if permission == Some(till_core::lan::Permission::Prompt) {
                message.set(Some(Ok("Tap Pair to finish: the browser will ask to let Till reach the store's network; answer Allow.".into())));
            } else {
                pair();
            }
        });
    }
    let field = move |label: &'static str, signal: RwSignal<String>, mode: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input type="text" inputmode=mode prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev)) autocomplete="off"/>
            </label>
        }
    };
    view! {
        <section class="pair" aria-labelledby="pair-heading">
            <h2 id="pair-heading">"Pair with payment bridge"</h2>
            <p>"The bridge shows a 6-digit code (on its screen, or its page /pair). Type its address and the code. Pairing saves the settings above with the register's new token."</p>
            <form on:submit=move |ev| { ev.prevent_default(); pair(); }>
                {field("Bridge address", address, "url")}
                {field("Pairing code", code, "numeric")}
                <button type="submit" disabled=move || busy.get()>"Pair"</button>
            </form>
            {move || message.get().map(|m| match m {
                Ok(text) => view! { <p role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
            {move || permission.get().map(|p| view! { <p>{p}</p> })}
            {move || link.get().advice().map(|advice| view! {
                <p class="advice">{link.get().label()}". "{advice}</p>
            })}
        </section>
    }
}

/// What the browser's Local Network Access permission says for this
/// bridge, when the bridge needs it.
async fn permission_words(address: &str) -> Option<&'static str> {
    use till_core::lan::Permission;
    Some(match platform::bridge_permission(address).await? {
        Permission::Granted => "Local network access: allowed.",
        Permission::Prompt => "Local network access: not asked yet. Pair asks the browser; answer Allow.",
        Permission::Denied => "Local network access: blocked. Allow it in the site's settings (the icon beside the address), or by the tablet's policy.",
        Permission::Unsupported => return None,
    })
}
