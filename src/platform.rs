//! The only place that reads the clock, makes ids and random numbers, or
//! asks the browser about the world. Everything else receives these values.

use till_core::time::Timestamp;

pub fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as i64)
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
