//! Settings, and the first-run setup: where the back office and the bridge
//! are, and which register this is.

use crate::error::AppError;
use crate::platform;
use crate::state::use_app;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::api::PairResponse;
use till_core::lan::SetupLink;
use till_core::money::Currency;
use till_core::order::RegisterId;
use till_core::register::answers::Answer;
use till_core::register::settings::{
    BaseUrl, NewPairing, PairedAs, RegisterSettings, SettingsForm,
};

/// The form's fields, as signals.
#[derive(Clone, Copy)]
struct Fields {
    oms_url: RwSignal<String>,
    register_id: RwSignal<String>,
    register_token: RwSignal<String>,
    bridge_url: RwSignal<String>,
    pairing_token: RwSignal<String>,
    result_wait: RwSignal<String>,
    idle: RwSignal<String>,
    discount: RwSignal<String>,
    paid_out_limit: RwSignal<String>,
    auto_print: RwSignal<bool>,
    returns: RwSignal<bool>,
    tips: RwSignal<bool>,
    new_pairing: RwSignal<Option<NewPairing>>,
    unpair: RwSignal<bool>,
}

impl Fields {
    /// The fields showing `current` (a first run: the OMS this page came from).
    fn new(current: Option<&RegisterSettings>, currency: Currency) -> Fields {
        let form = current.map_or_else(
            || SettingsForm {
                oms_url: platform::origin(),
                ..SettingsForm::default()
            },
            |s| s.form(currency),
        );
        Fields {
            oms_url: RwSignal::new(form.oms_url),
            register_id: RwSignal::new(form.register_id),
            register_token: RwSignal::new(form.register_token),
            bridge_url: RwSignal::new(form.bridge_url),
            pairing_token: RwSignal::new(form.pairing_token),
            result_wait: RwSignal::new(form.result_wait),
            idle: RwSignal::new(form.idle_lock),
            discount: RwSignal::new(form.discount),
            paid_out_limit: RwSignal::new(form.paid_out_limit),
            auto_print: RwSignal::new(form.auto_print),
            returns: RwSignal::new(form.returns_without_receipt),
            tips: RwSignal::new(form.ask_tip),
            new_pairing: RwSignal::new(None),
            unpair: RwSignal::new(false),
        }
    }

    /// The form as typed (till-core checks it).
    fn form(self) -> SettingsForm {
        SettingsForm {
            oms_url: self.oms_url.get_untracked(),
            register_id: self.register_id.get_untracked(),
            register_token: self.register_token.get_untracked(),
            bridge_url: self.bridge_url.get_untracked(),
            pairing_token: self.pairing_token.get_untracked(),
            new_pairing: self.new_pairing.get_untracked(),
            unpair: self.unpair.get_untracked(),
            result_wait: self.result_wait.get_untracked(),
            idle_lock: self.idle.get_untracked(),
            discount: self.discount.get_untracked(),
            paid_out_limit: self.paid_out_limit.get_untracked(),
            auto_print: self.auto_print.get_untracked(),
            returns_without_receipt: self.returns.get_untracked(),
            ask_tip: self.tips.get_untracked(),
        }
    }
}

/// Saves settings, then starts the register again with them (it reads its
/// storage and downloads the staff list and the catalog). Outside the first
/// run, saving waits for Settings to be authorized (a manager, or a
/// cashier with a manager's PIN).
fn saver(
    first_run: bool,
    error: RwSignal<Option<String>>,
    saved: RwSignal<bool>,
) -> impl Fn(RegisterSettings) + Copy + 'static {
    let app = use_app();
    let persist = move |settings: RegisterSettings| {
        spawn_local(async move {
            match app.db().save_settings(&settings).await {
                Ok(()) => {
                    error.set(None);
                    saved.set(true);
                    app.settings.set(Some(settings));
                    app.persistent.set(crate::platform::persisted().await);
                    crate::runner::start(&app);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let pending = StoredValue::new(None::<RegisterSettings>);
    let authorized = Memo::new(move |_| app.answered(Answer::Authorized));
    Effect::new(move |_| {
        if authorized.get() > 0 {
            if let Some(settings) = pending.try_update_value(Option::take).flatten() {
                persist(settings);
            }
        }
    });
    move |settings: RegisterSettings| {
        if first_run {
            persist(settings);
        } else {
            pending.set_value(Some(settings));
            crate::runner::act(&app, till_core::register::Action::AuthorizeSettings);
        }
    }
}

#[component]
pub fn SettingsPage(first_run: bool) -> impl IntoView {
    let app = use_app();
    let currency = app.currency();
    let fields = Fields::new(app.settings.get_untracked().as_ref(), currency);
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    let save = saver(first_run, error, saved);
    let submit = move || {
        let parsed = fields
            .form()
            .parse(currency, app.settings.get_untracked().as_ref());
        // Said once: a later Save keeps what is saved by then.
        fields.new_pairing.set(None);
        fields.unpair.set(false);
        match parsed {
            Ok(s) => {
                // A token typed in is not shown again.
                fields.register_token.set(String::new());
                fields.pairing_token.set(String::new());
                save(s)
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    // Paired: the register keeps the bridge's address and its own token,
    // saved as the form's Save would.
    let on_paired = move |address: String, paired: PairResponse| {
        fields.bridge_url.set(address);
        fields.new_pairing.set(Some(NewPairing {
            paired_as: PairedAs {
                id: paired.id,
                at: platform::now(),
            },
            token: paired.token,
        }));
        submit();
    };
    let on_unpair = move || {
        fields.unpair.set(true);
        submit();
    };
    let from_link = setup_link(first_run);
    match &from_link {
        Some(Ok(link)) => fields.oms_url.set(link.oms_url.clone()),
        Some(Err(e)) => error.set(Some(e.clone())),
        None => {}
    }
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit();
    };
    view! {
        <section class="page settings">
            <h1>{if first_run { "Set up this register" } else { "Settings" }}</h1>
            {first_run.then(|| view! { <p>"Till needs to know where its back office and card terminal bridge are. Your store's administrator has these values."</p> })}
            <form on:submit=on_submit>
                <SettingsFields fields/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit">{if first_run { "Start selling" } else { "Save" }}</button>
                {move || saved.get().then(|| view! { <p role="status">"Saved."</p> })}
            </form>
            // How the register is paired (never its token), and Unpair.
            {move || app.settings.with(|s| s.as_ref().and_then(|s| s.pairing_words(platform::utc_offset_min()))).map(|w| view! {
                <p class="paired" role="status">{w}". "
                    <button type="button" on:click=move |_| on_unpair()>"Unpair"</button>
                </p>
            })}
            <PairBridge register_id=fields.register_id register_token=fields.register_token on_paired from_link=from_link.and_then(Result::ok) current=fields.bridge_url.get_untracked()/>
            <StorageNote/>
        </section>
    }
}

#[component]
fn SettingsFields(fields: Fields) -> impl IntoView {
    let saved = use_app().settings.get_untracked().is_some();
    let input = move |label: &'static str, signal: RwSignal<String>, kind: &'static str| {
        // A saved token is never shown: the field is empty, and stays
        // empty to keep it.
        let hint = (kind == "password" && saved).then_some("Saved: type a new one to replace it");
        view! {
            <label class="field">
                <span>{label}</span>
                <input type=kind placeholder=hint prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev)) autocomplete="off"/>
            </label>
        }
    };
    let check = move |label: &'static str, signal: RwSignal<bool>| {
        view! {
            <label class="field checkbox">
                <input type="checkbox" prop:checked=move || signal.get() on:change=move |ev| signal.set(event_target_checked(&ev))/>
                <span>{label}</span>
            </label>
        }
    };
    view! {
        {input("OMS URL", fields.oms_url, "url")}
        {input("Register id", fields.register_id, "text")}
        {input("Register token", fields.register_token, "password")}
        {input("Bridge URL", fields.bridge_url, "url")}
        {input("Pairing token (development; in a store, pair below)", fields.pairing_token, "password")}
        {input("Card result wait (seconds)", fields.result_wait, "text")}
        {input("Sign out after minutes idle (empty: never)", fields.idle, "text")}
        {input("Largest discount without a manager (%; empty: 20)", fields.discount, "text")}
        {input("Largest paid out without a manager (empty: 50.00)", fields.paid_out_limit, "text")}
        {check("Print the receipt by itself when a sale is paid", fields.auto_print)}
        {check("Allow returns without a receipt (cash back only)", fields.returns)}
        {check("Ask for a tip on the card terminal", fields.tips)}
    }
}

/// Whether the browser may clear Till's data.
#[component]
fn StorageNote() -> impl IntoView {
    let persistent = use_app().persistent;
    view! {
        <p class="storage">
            {move || match persistent.get() {
                Some(true) => "Storage is persistent: the browser will not clear Till's data to free space.",
                Some(false) => "Storage is not persistent: the browser may clear Till's data when the device runs low on space. Install Till as an app to make it persistent.",
                None => "This browser cannot say whether storage is persistent.",
            }}
        </p>
    }
}

/// The setup link this page was opened with (first run only). The page's
/// boot script took it off the address bar and the history before the app
/// loaded (`public/boot.mjs`), and kept it in `tillSetupLink`, read once.
fn setup_link(first_run: bool) -> Option<Result<SetupLink, String>> {
    let window = web_sys::window()?;
    let key = wasm_bindgen::JsValue::from_str("tillSetupLink");
    let hash = js_sys::Reflect::get(&window, &key).ok()?.as_string()?;
    let _ = js_sys::Reflect::delete_property(&window, &key);
    first_run.then(|| SetupLink::parse(&hash)).flatten()
}

/// Trades the setup link's one-time secret for this tablet's register id
/// and token (the back office's enrolment), into the form; `false`, with
/// the reason in `said`, when the back office refused or is not there.
async fn enrol(
    link: &SetupLink,
    (register_id, register_token): (RwSignal<String>, RwSignal<String>),
    said: RwSignal<Option<Result<String, String>>>,
) -> bool {
    let oms = crate::net::oms::Oms {
        base: link.oms_url.clone(),
        token: String::new(),
    };
    let why = match oms.enrol(&link.secret).await {
        Ok((register, token)) => {
            register_id.set(register);
            register_token.set(token);
            return true;
        }
        Err(till_core::sync::NetFailure::Refused { message, .. }) => message,
        Err(e) => format!("{e} Open the setup link again when it is reachable."),
    };
    said.set(Some(Err(why)));
    false
}

/// The pairing form's state.
#[derive(Clone, Copy)]
struct Pairing {
    address: RwSignal<String>,
    code: RwSignal<String>,
    message: RwSignal<Option<Result<String, String>>>,
    busy: RwSignal<bool>,
    permission: RwSignal<Option<&'static str>>,
}

impl Pairing {
    /// Reads the browser's Local Network Access permission for the address.
    fn look(self) {
        spawn_local(async move {
            let words = permission_words(&self.address.get_untracked()).await;
            self.permission.set(words);
        })
    }

    /// The register id typed above, checked: the bridge lists registers by it.
    fn register(typed: &str) -> Result<String, AppError> {
        if typed.trim().is_empty() {
            return Err(AppError::Rule(
                "Type the register id above first: the bridge lists registers by it".into(),
            ));
        }
        Ok(RegisterId::new(typed.trim())?.to_string())
    }

    /// Pair: trades the code for this register's token, then `on_paired`.
    fn pair(self, register_id: &str, on_paired: impl Fn(String, PairResponse) + 'static) {
        let checked = BaseUrl::parse("The bridge address", &self.address.get_untracked())
            .map_err(AppError::from)
            .and_then(|base| Ok((base.to_string(), Self::register(register_id)?)));
        let (base, register) = match checked {
            Ok(c) => c,
            Err(e) => return self.message.set(Some(Err(e.to_string()))),
        };
        self.busy.set(true);
        spawn_local(async move {
            let answer = crate::runner::pair(&base, &self.code.get_untracked(), &register).await;
            self.busy.set(false);
            self.look();
            match answer {
                Ok(paired) => {
                    self.code.set(String::new());
                    let text = format!("Paired with the bridge at {base}.");
                    self.message.set(Some(Ok(text)));
                    on_paired(base, paired);
                }
                Err(e) => self.message.set(Some(Err(e))),
            }
        });
    }
}

/// "Pair with payment bridge": the bridge's address and the code it shows,
/// for this register's own token. The tap on Pair is the user gesture the
/// browser's Local Network Access prompt needs; nothing else asks it.
#[component]
fn PairBridge(
    register_id: RwSignal<String>,
    on_paired: impl Fn(String, PairResponse) + Copy + 'static,
    register_token: RwSignal<String>,
    from_link: Option<SetupLink>,
    current: String,
) -> impl IntoView {
    let link_bridge = from_link.as_ref().and_then(|l| l.bridge.clone());
    let (address, code) = match &link_bridge {
        Some(b) => (b.url.clone(), b.code.clone()),
        None => (current, String::new()),
    };
    let p = Pairing {
        address: RwSignal::new(address),
        code: RwSignal::new(code),
        message: RwSignal::new(None),
        busy: RwSignal::new(false),
        permission: RwSignal::new(None),
    };
    p.look();
    let pair = move || p.pair(&register_id.get_untracked(), on_paired);
    // A setup link first enrols this tablet at the back office (pairing
    // names the register id enrolment gave), then pairs by itself, unless
    // that would make the browser ask for the Local Network Access
    // permission on page load: then a tap on Pair does it.
    if let Some(link) = from_link {
        spawn_local(async move {
            let enrolled = enrol(&link, (register_id, register_token), p.message).await;
            if !enrolled || link.bridge.is_none() {
                return;
            }
            let permission = platform::bridge_permission(&p.address.get_untracked()).await;
            if permission == Some(till_core::lan::Permission::Prompt) {
                p.message.set(Some(Ok("Tap Pair to finish: the browser will ask to let Till reach the store's network; answer Allow.".into())));
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
                {field("Bridge address", p.address, "url")}
                {field("Pairing code", p.code, "numeric")}
                <button type="submit" disabled=move || p.busy.get()>"Pair"</button>
            </form>
            <PairingWords p/>
        </section>
    }
}

/// What pairing said, the browser's permission, and the link's advice.
#[component]
fn PairingWords(p: Pairing) -> impl IntoView {
    let app = use_app();
    let link = Memo::new(move |_| {
        app.register(|r| r.status().bridge)
            .unwrap_or(till_core::lan::BridgeLink::Unknown)
    });
    view! {
        {move || p.message.get().map(|m| match m {
            Ok(text) => view! { <p role="status">{text}</p> }.into_any(),
            Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
        })}
        {move || p.permission.get().map(|p| view! { <p>{p}</p> })}
        {move || link.get().advice().map(|advice| view! {
            <p class="advice">{link.get().label()}". "{advice}</p>
        })}
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
