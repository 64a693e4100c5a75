use reqwest::{Client, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use till_bridge::reporter::OmsTarget;
use till_bridge::terminal::TerminalConfig;
use till_bridge::{Application, Config};
use till_core::time::Duration as TillDuration;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub const PAIRING: &str = "pairing-test-token";
pub const APP_ORIGIN: &str = "http://127.0.0.1:8080";
pub const OMS_REGISTER_TOKEN: &str = "r1-test-token-0001";
pub const OMS_BRIDGE_TOKEN: &str = "bridge-test-token";

static COUNTER: AtomicU32 = AtomicU32::new(0);

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

pub struct TestBridge {
    pub address: String,
    pub data: PathBuf,
    pub client: Client,
    pub terminal: Arc<TestTerminal>,
    server: JoinHandle<std::io::Result<()>>,
}

/// The test terminal's key: the vectors' test passphrase.
pub const PASSPHRASE: &str = "Till-Test-Key#2026";
pub const KEY_ID: &str = "TillTestKey01";
pub const POIID: &str = "V400m-000000042";
/// The webhook key the test OMS and terminals share (hex).
pub const WEBHOOK_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

/// A `till-terminal` on its own port, with its controls: approvals take
/// 300 ms and it gives up after 3 s, so tests run fast; `/_sim/next`
/// sets anything else.
pub struct TestTerminal {
    pub url: String,
    pub controls: String,
    pub ca: PathBuf,
    pub client: Client,
    server: JoinHandle<std::io::Result<()>>,
}

impl Drop for TestTerminal {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn spawn_terminal(oms: Option<&TestOms>) -> Arc<TestTerminal> {
    spawn_terminal_with(oms, TillDuration::from_secs(3)).await
}

/// A terminal that waits `timeout` for a card.
pub async fn spawn_terminal_with(
    oms: Option<&TestOms>,
    timeout: TillDuration,
) -> Arc<TestTerminal> {
    let data = temp_dir("till-terminal");
    let tls_dir = data.join("tls");
    let ca = till_http::tls::LocalCa::open_or_create(&tls_dir, "Till test CA", &[POIID.to_owned()])
        .unwrap();
    let issued = ca.issue("terminal", &[POIID.to_owned()]).unwrap();
    let config = till_terminal::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data: data.clone(),
        device: till_terminal::device::DeviceConfig {
            poi_id: POIID.into(),
            approve_delay: TillDuration::from_millis(300),
            terminal_timeout: timeout,
            merchant_account: "TillTest".into(),
        },
        key: till_nexo::Key::derive(PASSPHRASE, KEY_ID, 1),
        tls: till_http::tls::acceptor(&issued.cert, &issued.key).unwrap(),
        controls: Some("127.0.0.1:0".parse().unwrap()),
        notify: oms.map(|o| till_terminal::notifier::NotifyTarget {
            url: format!("{}/api/v1/notifications/terminal", o.address),
            key: till_nexo::notification::WebhookKey::from_hex(WEBHOOK_KEY).unwrap(),
            ca: None,
        }),
    };
    let app = till_terminal::Application::build(config).await.unwrap();
    let url = app.url();
    let controls = app.controls_url().unwrap();
    let server = tokio::spawn(app.run());
    Arc::new(TestTerminal {
        url,
        controls,
        ca: ca.cert_file(),
        client: Client::new(),
        server,
    })
}

impl TestTerminal {
    pub async fn control(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.controls))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn next(&self, behaviour: Value) {
        assert_eq!(self.control("/_sim/next", &behaviour).await.status(), 200);
    }

    /// Every operation the terminal made on a card.
    pub async fn charges(&self) -> Vec<Value> {
        let r = self
            .client
            .get(format!("{}/_sim/charges", self.controls))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v.as_array().unwrap().clone()
    }

    /// The faults in force at the terminal (and how many answers it holds).
    pub async fn faults(&self) -> Value {
        let r = self
            .client
            .get(format!("{}/_sim/faults", self.controls))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    /// What the bridge needs to drive this terminal.
    pub fn config(&self, timeout: TillDuration) -> TerminalConfig {
        TerminalConfig {
            url: self.url.clone(),
            poi_id: POIID.into(),
            key_id: KEY_ID.into(),
            key_version: 1,
            passphrase: PASSPHRASE.into(),
            ca: self.ca.clone(),
            sale_id: "TillTestBridge".into(),
            timeout,
        }
    }
}

pub async fn spawn_bridge(data: PathBuf, oms: Option<&TestOms>) -> TestBridge {
    let terminal = spawn_terminal(oms).await;
    spawn_with(config(data, oms, &terminal), terminal).await
}

/// The test configuration: the API's faults on, a terminal of its own.
pub fn config(data: PathBuf, oms: Option<&TestOms>, terminal: &TestTerminal) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data: data.clone(),
        pairing_token: Some(PAIRING.into()),
        allow_origins: vec![APP_ORIGIN.into()],
        oms: oms.map(|o| OmsTarget {
            ca: None,
            url: o.address.clone(),
            token: OMS_BRIDGE_TOKEN.into(),
        }),
        terminal: terminal.config(TillDuration::from_secs(3)),
        faults: true,
        tombstones_per_caller: till_bridge::TOMBSTONES_PER_CALLER,
    }
}

/// The test configuration and the terminal it drives.
pub async fn test_config(data: PathBuf, oms: Option<&TestOms>) -> (Config, Arc<TestTerminal>) {
    let terminal = spawn_terminal(oms).await;
    (config(data, oms, &terminal), terminal)
}

pub async fn spawn_with(config: Config, terminal: Arc<TestTerminal>) -> TestBridge {
    let data = config.data.clone();
    let app = Application::build(config).await.unwrap();
    let address = format!("http://{}", app.local_addr());
    let server = tokio::spawn(app.run());
    TestBridge {
        address,
        data,
        client: Client::new(),
        terminal,
        server,
    }
}

impl TestBridge {
    /// Stops the bridge as a crash would: no goodbye.
    pub async fn kill(self) -> Arc<TestTerminal> {
        self.server.abort();
        let _ = self.server.await;
        // Let the blocking pool drop its handles on the journal.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.terminal
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("X-Pairing-Token", PAIRING)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("X-Pairing-Token", PAIRING)
            .send()
            .await
            .unwrap()
    }

    pub async fn start(&self, reference: &str, amount: i64) -> Response {
        self.post("/v1/payments", &start_body(reference, amount))
            .await
    }

    pub async fn status(&self, reference: &str) -> Value {
        let r = self.get(&format!("/v1/payments/{reference}")).await;
        assert_eq!(r.status(), 200);
        let v = r.json().await.unwrap();
        assert_schema("PaymentStatus", &v);
        v
    }

    /// Polls the status until `want`, for at most `within`.
    pub async fn wait_for(&self, reference: &str, want: &str, within: Duration) -> Value {
        let started = std::time::Instant::now();
        loop {
            let s = self.status(reference).await;
            if s["status"] == want {
                return s;
            }
            assert!(
                started.elapsed() < within,
                "payment {reference} is {s}, not {want}, after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `cond` holds, asking again every 50 ms, at most `within`.
    pub async fn wait_until<F, Fut>(&self, cond: F, within: Duration)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let end = std::time::Instant::now() + within;
        while !cond().await {
            assert!(std::time::Instant::now() < end, "the condition never held");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn next(&self, behaviour: Value) {
        self.terminal.next(behaviour).await
    }

    pub async fn charges(&self) -> Vec<Value> {
        self.terminal.charges().await
    }

    pub fn journal_count(&self, sql: &str) -> i64 {
        let db = rusqlite_open(&self.data.join(till_bridge::JOURNAL_FILE));
        db.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn rusqlite_open(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

pub fn new_reference() -> String {
    Uuid::new_v4().to_string()
}

pub fn order_id_for(reference: &str) -> String {
    // A v7 id derived from the reference, so each test's order is distinct.
    let u = Uuid::parse_str(reference).unwrap().as_u128();
    let raw =
        (u & 0xFFFF_FFFF_FFFF_0FFF_3FFF_FFFF_FFFF_FFFF) | 0x0000_0000_0000_7000_8000_0000_0000_0000;
    Uuid::from_u128(raw).to_string()
}

pub fn start_body(reference: &str, amount: i64) -> Value {
    json!({"reference": reference, "order_id": order_id_for(reference), "amount": amount, "currency": "EUR"})
}

pub struct TestOms {
    pub address: String,
    pub client: Client,
}

pub async fn spawn_oms() -> TestOms {
    spawn_oms_on(None).await
}

/// An OMS serving HTTPS with this certificate.
pub async fn spawn_oms_with_tls(tls: till_http::tls::TlsAcceptor) -> TestOms {
    spawn_oms_on(Some(tls)).await
}

async fn spawn_oms_on(tls: Option<till_http::tls::TlsAcceptor>) -> TestOms {
    let config = till_oms::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: None,
        data: temp_dir("till-bridge-oms"),
        database: till_oms::Database::Sqlite,
        tokens: till_oms::auth::Tokens::new(
            till_oms::auth::Tokens::parse_register_pairs(&[format!("R1={OMS_REGISTER_TOKEN}")])
                .unwrap(),
            Some(OMS_BRIDGE_TOKEN.into()),
            None,
        )
        .unwrap(),
        stores: Default::default(),
        bridge_origin: None,
        currency: till_core::money::Currency::EUR,
        faults: true,
        demo: false,
        webhook_key: Some(till_nexo::notification::WebhookKey::from_hex(WEBHOOK_KEY).unwrap()),
    };
    let mut app = till_oms::Application::build(config).await.unwrap();
    if let Some(tls) = tls {
        app = app.with_tls(tls);
    }
    let address = app.url();
    tokio::spawn(app.run());
    TestOms {
        address,
        client: Client::new(),
    }
}

impl TestOms {
    /// Asks with this client (one that trusts the OMS's CA).
    pub fn with_client(mut self, client: Client) -> TestOms {
        self.client = client;
        self
    }

    /// The payments the OMS holds for an order id.
    pub async fn payments_of(&self, order_id: &str) -> Vec<Value> {
        let r = self
            .client
            .get(format!("{}/api/v1/orders/{order_id}", self.address))
            .bearer_auth(OMS_REGISTER_TOKEN)
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            return Vec::new();
        }
        let v: Value = r.json().await.unwrap();
        v["payments"].as_array().cloned().unwrap_or_default()
    }

    pub async fn wait_for_payment(&self, order_id: &str, within: Duration) -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let p = self.payments_of(order_id).await;
            if !p.is_empty() {
                return p;
            }
            assert!(
                started.elapsed() < within,
                "the OMS has no payment for {order_id} after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn fault(&self, what: &str, body: Value) {
        let r = self
            .client
            .post(format!("{}/_faults/{what}", self.address))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

/// Checks a JSON value against a schema of the bridge's OpenAPI document.
pub fn assert_schema(component: &str, value: &Value) {
    assert_schema_value(
        &json!({"$ref": format!("#/components/schemas/{component}")}),
        value,
    );
}

fn assert_schema_value(schema: &Value, value: &Value) {
    let doc: Value = serde_json::from_str(till_bridge::api::OPENAPI).unwrap();
    let mut root = schema.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "does not match the OpenAPI document: {errors:#?}\n{value:#}"
    );
}

/// The body of an answer, checked against the component its status promises.
pub async fn body_as(r: Response, component: &str) -> Value {
    let v: Value = r.json().await.unwrap();
    assert_schema(component, &v);
    v
}
