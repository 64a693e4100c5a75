//! The only place that reads the clock, makes ids and random numbers, or
//! asks the browser about the world. Everything else receives these values.

use till_core::order::OrderId;
use till_core::payment::PaymentRef;
use till_core::time::Timestamp;
use uuid::Uuid;

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

/// A new order id: UUID version 7 (48 bits of milliseconds, then random), so
/// ids sort by creation and the back office's index stays append-only.
pub fn new_order_id() -> OrderId {
    let ms = now().as_millis().max(0) as u64;
    let mut b: [u8; 16] = random_bytes();
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70 | (b[6] & 0x0F);
    b[8] = 0x80 | (b[8] & 0x3F);
    OrderId::from_uuid(Uuid::from_bytes(b)).expect("built as version 7")
}

/// A new card payment reference: UUID version 4.
pub fn new_payment_ref() -> PaymentRef {
    let mut b: [u8; 16] = random_bytes();
    b[6] = 0x40 | (b[6] & 0x0F);
    b[8] = 0x80 | (b[8] & 0x3F);
    PaymentRef::from_uuid(Uuid::from_bytes(b))
}

/// Jitter for backoffs, in 0..=1000.
pub fn jitter() -> u16 {
    let [a, b] = random_bytes::<2>();
    u16::from_be_bytes([a, b]) % 1001
}

/// The origin that served the app: the default OMS URL.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}
