use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use till_core::api::PaymentReport;
use till_core::cart::Cart;
use till_core::catalog::{fixtures::small, ProductId};
use till_core::money::{Currency, Money};
use till_core::order::{CardDetails, Order, OrderId};
use till_core::payment::PaymentRef;
use till_core::time::Timestamp;
use till_oms::auth::Tokens;
use till_oms::{Application, Config};
use uuid::Uuid;

pub const REGISTER_TOKEN: &str = "r1-test-token-0001";
pub const OTHER_REGISTER_TOKEN: &str = "r2-test-token-0002";
pub const BRIDGE_TOKEN: &str = "bridge-test-token";
pub const ADMIN_TOKEN: &str = "admin-test-token-0003";
/// The chain the test servers know: store S01 has both test registers.
pub const STORES: &str = "S01=R1+R2";
pub const BRIDGE_ORIGIN: &str = "http://192.0.2.10:7878";
/// The content of the fake build's precompressed wasm.
pub const BROTLI_MARK: &[u8] = b"precompressed at build time";

pub struct TestApp {
    pub address: String,
    pub data: PathBuf,
    pub database: till_oms::Database,
    pub client: Client,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh folder under the system's temporary directory.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small stand-in for Trunk's output, with an inline loader like Trunk's.
fn fake_dist() -> PathBuf {
    let dir = temp_dir("till-oms-dist");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Till</title><script type=\"module\">\nimport init from '/till-0123456789abcdef.js';\nawait init();\n</script><body></body>",
    )
    .unwrap();
    std::fs::write(
        dir.join("till-0123456789abcdef_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    // What tools/precompress.mjs writes beside it (the bytes only mark it).
    std::fs::write(dir.join("till-0123456789abcdef_bg.wasm.br"), BROTLI_MARK).unwrap();
    std::fs::write(
        dir.join("till-0123456789abcdef.js"),
        "export default function init() {}",
    )
    .unwrap();
    std::fs::write(
        dir.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    dir
}

pub fn config(data: PathBuf) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: Some(fake_dist()),
        database: crate::db::database_for(&data),
        data,
        tokens: Tokens::new(
            Tokens::parse_register_pairs(&[
                format!("R1={REGISTER_TOKEN}"),
                format!("R2={OTHER_REGISTER_TOKEN}"),
            ])
            .unwrap(),
            Some(BRIDGE_TOKEN.into()),
            Some(ADMIN_TOKEN.into()),
        )
        .unwrap(),
        stores: till_oms::stores::Stores::parse(&[STORES.into()]).unwrap(),
        bridge_origin: Some(BRIDGE_ORIGIN.into()),
        currency: Currency::EUR,
        faults: true,
        demo: true,
        webhook_key: None,
    }
}

pub async fn spawn_with(config: Config) -> TestApp {
    let data = config.data.clone();
    let database = config.database.clone();
    crate::db::create(&database).await;
    let app = Application::build(config).await.unwrap();
    let address = format!("http://{}", app.local_addr());
    tokio::spawn(app.run());
    TestApp {
        address,
        data,
        database,
        client: Client::builder().no_gzip().build().unwrap(),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(config(temp_dir("till-oms-data"))).await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(REGISTER_TOKEN)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_order(&self, order: &Order) -> Response {
        self.put_json(
            &format!("/api/v1/orders/{}", order.id),
            &serde_json::to_value(order).unwrap(),
        )
        .await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(REGISTER_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A PUT of an order with another caller's token.
    pub async fn put_order_as(&self, token: &str, order: &Order) -> Response {
        self.client
            .put(self.url(&format!("/api/v1/orders/{}", order.id)))
            .bearer_auth(token)
            .json(order)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn fault(&self, what: &str, body: Value) {
        let r = self
            .client
            .post(self.url(&format!("/_faults/{what}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    /// The first row of a query on what the OMS stored (bypassing it),
    /// each column as text.
    pub fn row(&self, sql: &str) -> Vec<String> {
        crate::db::first_row(&self.database, &self.data, sql).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.row(sql)[0].parse().unwrap()
    }

    /// Runs SQL on the database directly; the engine's error if it refuses.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        crate::db::first_row(&self.database, &self.data, sql).map(drop)
    }
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR).unwrap()
}

/// A v7 order id from a number.
pub fn order_id(n: u128) -> OrderId {
    let raw =
        (n & 0xFFFF_FFFF_FFFF_0FFF_3FFF_FFFF_FFFF_FFFF) | 0x0191_0000_0000_7000_8000_0000_0000_0000;
    OrderId::from_uuid(Uuid::from_u128(raw)).unwrap()
}

pub fn reference(n: u128) -> PaymentRef {
    PaymentRef::from_uuid(Uuid::from_u128(
        n | 0x0000_0000_0000_4000_8000_0000_0000_0000,
    ))
}

/// An open order of register R1: a coffee (3.50) and a croissant (1.95).
pub fn order(n: u128) -> Order {
    order_of("R1", n)
}

pub fn order_of(register: &str, n: u128) -> Order {
    let c = small();
    let mut cart = Cart::new(Currency::EUR);
    cart.add_by_id(&c, &ProductId::new("coffee").unwrap())
        .unwrap();
    cart.add_by_id(&c, &ProductId::new("croissant").unwrap())
        .unwrap();
    let number = format!("{register}-20261127-{:04}", n % 10_000)
        .parse()
        .unwrap();
    Order::from_cart(
        order_id(n),
        number,
        &cart,
        Timestamp::from_millis(1_795_766_400_000 + n as i64),
    )
    .unwrap()
}

/// The order's next version (a change of its updated time).
pub fn next_version(o: &Order) -> Order {
    let mut next = o.clone();
    next.version += 1;
    next.updated_at = Timestamp::from_millis(o.updated_at.as_millis() + 5);
    next
}

pub fn report(order: &Order, n: u128) -> PaymentReport {
    PaymentReport {
        reference: reference(n),
        order_id: order.id,
        amount: order.totals.total,
        status: till_core::api::ReportedStatus::Approved,
        card: CardDetails {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: format!("A{n}"),
            masked_pan: None,
            psp_reference: None,
            tip: None,
        },
        approved_at: Timestamp::from_millis(1_795_766_500_000),
        original: None,
    }
}

/// Checks a JSON value against a schema of the served OpenAPI document.
pub fn assert_schema(component: &str, value: &Value) {
    let doc: Value = serde_json::from_str(till_oms::api::OPENAPI).unwrap();
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{component}"),
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{component} does not match the OpenAPI document: {errors:#?}\n{value:#}"
    );
}

/// The body as JSON, checked against the schema its status promises.
pub async fn body_as(r: Response, component: &str) -> Value {
    let v: Value = r.json().await.unwrap();
    assert_schema(component, &v);
    v
}

/// An error answer: status, JSON body matching ApiError, and its code.
pub async fn assert_error(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "expected {status} {code}");
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "errors are JSON"
    );
    let v = body_as(r, "ApiError").await;
    assert_eq!(v["error"], code, "{v}");
    v
}

/// Runs `f` on the app's store off the async threads, as the server does
/// (the PostgreSQL store waits on its own client).
pub async fn on_store<T: Send + 'static>(
    app: &TestApp,
    f: impl FnOnce(&dyn till_oms::store::Store) -> Result<T, till_oms::store::StoreError>
        + Send
        + 'static,
) -> Result<T, String> {
    let store = till_oms::open_store(&app.database, &app.data).await?;
    till_oms::with_store(&store, f).await
}

/// The `till-oms` binary with the app's data folder and database, for its
/// commands (`staff`, `registers`, `exceptions`).
pub fn oms_command(app: &TestApp) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_till-oms"));
    cmd.arg("--data").arg(&app.data).env_remove("RUST_LOG");
    cmd.env_remove("TILL_DATABASE_URL")
        .env_remove("TILL_DATABASE_CA");
    if let till_oms::Database::Postgres { url, ca, .. } = &app.database {
        cmd.env("TILL_DATABASE_URL", url);
        if let Some(ca) = ca {
            cmd.env("TILL_DATABASE_CA", ca);
        }
    }
    cmd
}
