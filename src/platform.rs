//! The only place that reads the clock, makes ids and random numbers, or
//! asks the browser about the world. Everything else receives these values.

use till_core::time::Timestamp;

pub fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

/// Time since the page started (`performance.now()`): it never jumps when
/// the tablet's clock is set. Zero where there is no `performance`.
pub fn monotonic() -> till_core::time::Duration {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now());
    till_core::time::Duration::from_millis(ms as u64)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    match crypto {
        Some(c) if c.get_random_values_with_u8_array(&mut bytes).is_ok() => {}
        // No Web Crypto (never in a supported browser): Math.random.
        _ => bytes
            .iter_mut()
            .for_each(|b| *b = (js_sys::Math::random() * 256.0) as u8),
    }
    bytes
}

/// The seed of the register's RNG (order ids, payment references,
/// jitter): 32 bytes from Web Crypto.
pub fn seed() -> [u8; 32] {
    random_bytes()
}

/// The tablet's zone, in minutes ahead of UTC (the business day follows it).
pub fn utc_offset_min() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// The origin that served the app: the default OMS URL.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// The browser's Local Network Access permission for this page to reach the
/// bridge at `bridge_url`; `None` when reaching it is no local network
/// request (the same or a more public address space than the page's).
pub async fn bridge_permission(bridge_url: &str) -> Option<till_core::lan::Permission> {
    let space = till_core::lan::local_network_request(&origin(), bridge_url)?;
    Some(lan_permission(space).await)
}

/// The browser's Local Network Access permission for reaching `space`, as
/// `navigator.permissions.query` says it. Chrome named it
/// `local-network-access` first, then split it into `local-network` and
/// `loopback-network`: the first name this browser knows answers.
async fn lan_permission(space: till_core::lan::Space) -> till_core::lan::Permission {
    use till_core::lan::{Permission, Space};
    let names: &[&str] = match space {
        Space::Loopback => &["loopback-network", "local-network-access"],
        _ => &["local-network", "local-network-access"],
    };
    let Some(permissions) = web_sys::window().and_then(|w| w.navigator().permissions().ok()) else {
        return Permission::Unsupported;
    };
    for name in names {
        let query = js_sys::Object::new();
        if js_sys::Reflect::set(&query, &"name".into(), &(*name).into()).is_err() {
            continue;
        }
        let Ok(promise) = permissions.query(&query) else {
            continue;
        };
        // An unknown name rejects: try the next.
        if let Ok(status) = wasm_bindgen_futures::JsFuture::from(promise).await {
            let state = js_sys::Reflect::get(&status, &"state".into())
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default();
            return Permission::from_state(&state);
        }
    }
    Permission::Unsupported
}

/// Whether storage is persistent, asking for it when it is not yet
/// (`navigator.storage.persist()`); `None` where the browser cannot say.
pub async fn persisted() -> Option<bool> {
    use wasm_bindgen_futures::JsFuture;
    let storage = web_sys::window()?.navigator().storage();
    let already = JsFuture::from(storage.persisted().ok()?)
        .await
        .ok()?
        .as_bool();
    if already == Some(true) {
        return Some(true);
    }
    JsFuture::from(storage.persist().ok()?)
        .await
        .ok()?
        .as_bool()
}
