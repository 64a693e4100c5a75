//! Known-answer tests of the local integration's encryption, against the
//! vectors in `fixtures/vectors.json` (made with a test key of Till's own,
//! after the scheme was checked against the vendor's published message).

use serde_json::Value;
use till_nexo::message::{Request, Response, ResponseBody};
use till_nexo::security::Outer;
use till_nexo::{Codec, Key, NexoError};

fn vectors() -> Value {
    serde_json::from_str(include_str!("fixtures/vectors.json")).expect("the vectors parse")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn codec(v: &Value) -> Codec {
    let k = &v["key"];
    Codec::new(Key::derive(
        k["passphrase"].as_str().unwrap(),
        k["KeyIdentifier"].as_str().unwrap(),
        k["KeyVersion"].as_u64().unwrap() as u32,
    ))
}

fn vector<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name:?}"))
}

fn nonce(x: &Value) -> [u8; 16] {
    hex(x["nonce_hex"].as_str().unwrap()).try_into().unwrap()
}

fn wire(x: &Value) -> Vec<u8> {
    serde_json::to_vec(&x["message"]).unwrap()
}

#[test]
fn the_key_derivation_gives_the_known_keys() {
    let v = vectors();
    let c = codec(&v);
    let (hmac, cipher, iv) = c.key().parts();
    let d = &v["derived"];
    assert_eq!(hmac.to_vec(), hex(d["hmac_key_hex"].as_str().unwrap()));
    assert_eq!(cipher.to_vec(), hex(d["cipher_key_hex"].as_str().unwrap()));
    assert_eq!(iv.to_vec(), hex(d["iv_hex"].as_str().unwrap()));
}

#[test]
fn the_payment_request_decrypts_verifies_and_is_what_till_writes() {
    let v = vectors();
    let c = codec(&v);
    let x = vector(&v, "payment request");
    let plaintext = c.open_plaintext(&wire(x), Outer::Request).unwrap();
    assert_eq!(plaintext, x["plaintext"].as_str().unwrap().as_bytes());
    let request = c.open_request(&wire(x)).unwrap();
    // Till's encoder writes the same bytes, so sealing them with the
    // vector's nonce gives the vector's envelope.
    assert_eq!(request.to_json(), plaintext);
    let sealed: Value = serde_json::from_slice(&c.seal_request(&request, nonce(x))).unwrap();
    assert_eq!(sealed, x["message"]);
}

#[test]
fn the_approved_response_decrypts_verifies_and_reads_its_result() {
    let v = vectors();
    let c = codec(&v);
    let x = vector(&v, "payment response (approved)");
    let plaintext = c.open_plaintext(&wire(x), Outer::Response).unwrap();
    assert_eq!(plaintext, x["plaintext"].as_str().unwrap().as_bytes());
    let response = c.open_response(&wire(x)).unwrap();
    let ResponseBody::Payment(p) = &response.body else {
        panic!("{response:?}")
    };
    assert_eq!(p.response.additional()["pspReference"], "TILLTEST0000001");
    let amounts = p
        .payment_result
        .as_ref()
        .unwrap()
        .amounts_resp
        .as_ref()
        .unwrap();
    assert_eq!(amounts.authorized_amount.as_str(), "12.5");
    assert_eq!(response.to_json(), plaintext);
    let sealed: Value = serde_json::from_slice(&c.seal_response(&response, nonce(x))).unwrap();
    assert_eq!(sealed, x["message"]);
}

#[test]
fn the_tampered_response_is_refused() {
    let v = vectors();
    let c = codec(&v);
    let x = vector(&v, "payment response with a wrong Hmac (must be refused)");
    assert_eq!(x["must_fail"], true);
    assert_eq!(c.open_response(&wire(x)), Err(NexoError::Mac));
    assert_eq!(
        c.open_plaintext(&wire(x), Outer::Response),
        Err(NexoError::Mac)
    );
}

#[test]
fn a_flipped_bit_a_swapped_header_or_another_key_is_refused() {
    let v = vectors();
    let c = codec(&v);
    let good = vector(&v, "payment response (approved)");
    // One bit of the ciphertext.
    let mut m = good["message"].clone();
    let blob = m["SaleToPOIResponse"]["NexoBlob"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = base64_decode(&blob);
    bytes[20] ^= 1;
    m["SaleToPOIResponse"]["NexoBlob"] = Value::String(base64_encode(&bytes));
    assert_eq!(
        c.open_response(&serde_json::to_vec(&m).unwrap()),
        Err(NexoError::Mac)
    );
    // The header in clear rewritten: the inner one is the truth.
    let mut m = good["message"].clone();
    m["SaleToPOIResponse"]["MessageHeader"]["ServiceID"] = Value::String("0000000002".into());
    assert_eq!(
        c.open_response(&serde_json::to_vec(&m).unwrap()),
        Err(NexoError::HeaderMismatch)
    );
    // Another terminal's key.
    let other = Codec::new(Key::derive("another passphrase", "TillTestKey01", 1));
    assert_eq!(other.open_response(&wire(good)), Err(NexoError::Mac));
    let other_id = Codec::new(Key::derive("Till-Test-Key#2026", "OtherKey", 1));
    assert!(matches!(
        other_id.open_response(&wire(good)),
        Err(NexoError::UnknownKey { .. })
    ));
    // A request where a response is expected, and garbage.
    let request = vector(&v, "payment request");
    assert!(matches!(
        c.open_response(&wire(request)),
        Err(NexoError::Envelope(_))
    ));
    assert!(matches!(c.open_request(b"{}"), Err(NexoError::Envelope(_))));
    let parsed = Request::from_json(x_plain(&v, "payment request").as_bytes()).unwrap();
    assert!(Response::from_json(&parsed.to_json()).is_err());
}

fn x_plain(v: &Value, name: &str) -> String {
    vector(v, name)["plaintext"].as_str().unwrap().to_owned()
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}
