//! Data safety: what has not reached the back office yet, what it refused,
//! whether the browser keeps our data, and a way to take the unsynced
//! orders out of the browser.

use crate::platform;
use crate::runner::act;
use crate::state::use_app;
use crate::state::AppState;
use crate::store::StoreError;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::outbox::{EntryState, OutboxEntry, RecordKind};
use till_core::register::Action;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// What an outbox entry is, to a person.
fn record_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Order => "Order",
        RecordKind::Refund => "Refund",
        RecordKind::Shift => "Shift",
    }
}

fn mb(bytes: f64) -> String {
    let mut mb = (bytes / 1_048_576.0 * 10.0).round() as i64;
    if mb == 0 && bytes > 0.0 {
        mb = 1;
    }
    format!("{}.{} MB", mb / 10, mb % 10)
}

async fn estimate() -> Option<(f64, f64)> {
    let storage = web_sys::window()?.navigator().storage();
    let e = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let get = |k: &str| {
        js_sys::Reflect::get(&e, &k.into())
            .ok()
            .and_then(|v| v.as_f64())
    };
    Some((get("usage")?, get("quota")?))
}

/// Offers a JSON file of the unsynced orders for download.
fn export(json: &str) -> Result<(), wasm_bindgen::JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&json.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    let (y, m, d) = till_core::time::civil_date(platform::now(), platform::utc_offset_min());
    a.set_download(&format!("till-unsynced-{y:04}-{m:02}-{d:02}.json"));
    a.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}

/// Every record the back office has not confirmed yet, as JSON.
async fn unsynced_json(app: AppState) -> Result<(String, String), StoreError> {
    let ids = app.db().unsynced_record_ids().await?;
    let unsynced = |id: String| ids.contains(&id);
    let orders: Vec<_> = app
        .db()
        .orders()
        .await?
        .into_iter()
        .filter(|o| unsynced(o.id.to_string()))
        .collect();
    let refunds: Vec<_> = app
        .db()
        .refunds()
        .await?
        .into_iter()
        .filter(|r| unsynced(r.id.to_string()))
        .collect();
    let shifts: Vec<_> = app
        .db()
        .shifts()
        .await?
        .into_iter()
        .filter(|s| unsynced(s.id.to_string()))
        .collect();
    let said = format!(
        "Exported {} orders, {} refunds and {} shifts.",
        orders.len(),
        refunds.len(),
        shifts.len()
    );
    let body = Unsynced {
        exported_at: platform::now(),
        orders: &orders,
        refunds: &refunds,
        shifts: &shifts,
    };
    let json = serde_json::to_string(&body)
        .map_err(|e| StoreError::Corrupt(format!("a record does not write out as JSON: {e}")))?;
    Ok((indented(&json), said))
}

/// The export file's contents. Written by the serializer the records are
/// stored with (a `serde_json::Value` or a pretty printer would compile
/// every record's serializer a second and third time into the wasm).
#[derive(serde::Serialize)]
struct Unsynced<'a> {
    exported_at: till_core::time::Timestamp,
    orders: &'a [till_core::order::Order],
    refunds: &'a [till_core::refund::Refund],
    shifts: &'a [till_core::shift::Shift],
}

/// `json` indented by two spaces for a person to read, by the browser's
/// own JSON; as it is if the browser cannot.
fn indented(json: &str) -> String {
    js_sys::JSON::parse(json)
        .and_then(|v| {
            js_sys::JSON::stringify_with_replacer_and_space(
                &v,
                &wasm_bindgen::JsValue::NULL,
                &2.into(),
            )
        })
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| json.to_owned())
}

/// Exports the unsynced records to a file; what happened, for the page.
async fn export_unsynced(app: AppState) -> String {
    let (json, said) = match unsynced_json(app).await {
        Ok(j) => j,
        Err(e) => {
            return format!(
                "The export failed: the orders could not be read ({e}). Nothing was lost."
            )
        }
    };
    match export(&json) {
        Ok(()) => said,
        Err(e) => format!("The export failed: {e:?}"),
    }
}

#[component]
pub fn SafetyPage() -> impl IntoView {
    let app = use_app();
    let entries = RwSignal::new(Vec::<OutboxEntry>::new());
    let read_error = RwSignal::new(None::<String>);
    let usage = RwSignal::new(None::<(f64, f64)>);
    let message = RwSignal::new(None::<String>);
    let load = move || {
        spawn_local(async move {
            // A failed read is an error on screen, never "0 unsynced".
            match app.db().outbox().await {
                Ok(e) => {
                    entries.set(e);
                    read_error.set(None);
                }
                Err(e) => {
                    read_error.set(Some(format!("The unsynced orders could not be read: {e}")))
                }
            }
            usage.set(estimate().await);
        });
    };
    load();
    let retry = move |e: OutboxEntry| {
        let (record_id, version) = (e.record_id, e.version);
        act(&app, Action::Unpark { record_id, version });
        let name = record_name(e.kind);
        message.set(Some(format!(
            "{name} {record_id} v{version} is queued again."
        )));
        load();
    };
    let do_export =
        move |_| spawn_local(async move { message.set(Some(export_unsynced(app).await)) });
    view! {
        <section class="page safety">
            <h1>"Data safety"</h1>
            {move || message.get().map(|m| view! { <p role="status">{m}</p> })}
            {move || read_error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <SafetyFacts entries read_error usage/>
            <h2>"Refused by the back office"</h2>
            <ParkedList entries retry/>
            <button on:click=do_export>"Export unsynced orders and refunds"</button>
        </section>
    }
}

/// How much waits, since when, and the browser's storage.
#[component]
fn SafetyFacts(
    entries: RwSignal<Vec<OutboxEntry>>,
    read_error: RwSignal<Option<String>>,
    usage: RwSignal<Option<(f64, f64)>>,
) -> impl IntoView {
    let app = use_app();
    let oldest = move || {
        entries
            .with(|e| e.iter().map(|e| e.enqueued_at).min())
            .map(|t| {
                let mins = platform::now().saturating_since(t).as_millis() / 60_000;
                if mins == 0 {
                    "less than a minute".to_owned()
                } else {
                    format!("{mins} min")
                }
            })
    };
    view! {
        <dl class="facts">
            <div><dt>"Unsynced orders and refunds"</dt><dd aria-label="Unsynced orders and refunds">{move || if read_error.get().is_some() { "unknown".to_owned() } else { entries.with(|e| e.len()).to_string() }}</dd></div>
            <div><dt>"Oldest unsynced"</dt><dd>{move || oldest().unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Storage"</dt><dd>{move || match app.persistent.get() {
                Some(true) => "persistent",
                Some(false) => "not persistent: the browser may clear it when space runs low",
                None => "unknown",
            }}</dd></div>
            <div><dt>"Storage used"</dt><dd>{move || usage.get().map(|(u, q)| format!("{} of {}", mb(u), mb(q))).unwrap_or_else(|| "unknown".into())}</dd></div>
        </dl>
    }
}

/// What the back office refused, each with Retry.
#[component]
fn ParkedList(
    entries: RwSignal<Vec<OutboxEntry>>,
    retry: impl Fn(OutboxEntry) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        let parked: Vec<OutboxEntry> = entries
            .get()
            .into_iter()
            .filter(|e| e.is_parked())
            .collect();
        if parked.is_empty() {
            return view! { <p>"None."</p> }.into_any();
        }
        view! {
            <ul class="parked">
                {parked.into_iter().map(|e| {
                    let reason = match &e.state { EntryState::Parked { status, reason, .. } => format!("HTTP {status}: {reason}"), _ => String::new() };
                    let e2 = e.clone();
                    view! { <li><span>{format!("{} {} v{} — {reason}", record_name(e.kind), e.record_id, e.version)}</span> <button on:click=move |_| retry(e2.clone())>"Retry"</button></li> }
                }).collect_view()}
            </ul>
        }.into_any()
    }
}
