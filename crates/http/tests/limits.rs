//! A server behind `till_http::serve` keeps answering while clients that
//! say nothing, or say it slowly, hold connections open.

use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use till_http::testing::{
    closed_by_server, enough_file_descriptors, idle_sockets, raw_get, trickle,
};
use till_http::{serve, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Idle sockets held open by the test (and as many accepted by the server).
const IDLE_SOCKETS: usize = 2_000;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(limits: Limits) -> Server {
        Server::start_with(limits, None).await
    }

    async fn start_with(limits: Limits, tls: Option<till_http::tls::TlsAcceptor>) -> Server {
        let router = Router::new()
            .route("/health", get(|| async { "ok" }))
            .route("/echo", post(|body: String| async move { body }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(serve(listener, router, limits, tls, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            done,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap().unwrap();
    }
}

fn limits(header_read: Duration, connections: usize) -> Limits {
    Limits {
        header_read,
        request: Duration::from_secs(2),
        connections,
        per_peer: connections,
        drain: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_beside_two_thousand_idle_sockets_and_a_trickling_request() {
    enough_file_descriptors(IDLE_SOCKETS);
    // A header deadline far longer than this test: nothing is shed, the
    // server simply keeps serving beside them.
    let server = Server::start(limits(Duration::from_secs(600), 4 * IDLE_SOCKETS)).await;
    let idle = idle_sockets(server.addr, IDLE_SOCKETS).await;
    let trickling = tokio::spawn(trickle(server.addr, "/health"));
    for _ in 0..3 {
        let answer = raw_get(server.addr, "/health").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok"), "{answer}");
    }
    trickling.abort();
    drop(idle);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_says_nothing_or_trickles_its_head_is_hung_up_on() {
    let server = Server::start(limits(Duration::from_secs(1), 64)).await;
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let trickling = tokio::spawn(trickle(server.addr, "/health"));
    // Both end: the test waits for the server to hang up, not for a time.
    closed_by_server(silent).await;
    let sent = trickling.await.unwrap();
    assert!(
        sent > 0,
        "the trickling client sent nothing before the hang-up"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_left_idle_is_hung_up_on() {
    let server = Server::start(limits(Duration::from_secs(1), 64)).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: till\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    closed_by_server(s).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_past_the_request_deadline_gets_408() {
    let server = Server::start(limits(Duration::from_secs(600), 64)).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: till\r\nContent-Length: 100000\r\n\r\n")
        .await
        .unwrap();
    // Keeps sending a byte now and then, until the server answers.
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while answer.is_empty() {
        let _ = s.write_all(b"x").await;
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await
        {
            answer.extend_from_slice(&buf[..n]);
            if n == 0 {
                break;
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_a_client_waits_for_an_idle_one_to_be_shed() {
    let server = Server::start(limits(Duration::from_secs(1), 8)).await;
    let idle = idle_sockets(server.addr, 8).await;
    // All 8 places are taken by clients that say nothing; the ninth is
    // answered once the header deadline sheds one of them.
    let answer = raw_get(server.addr, "/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for s in idle {
        closed_by_server(s).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish() {
    let server = Server::start(limits(Duration::from_secs(600), 64)).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: till\r\nContent-Length: 5\r\n\r\nhe")
        .await
        .unwrap();
    let addr = server.addr;
    let _ = raw_get(addr, "/health").await; // the server is serving
    let stopping = tokio::spawn(server.stop());
    s.write_all(b"llo").await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello"), "{answer}");
    stopping.await.unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

/// A local CA in a temporary folder, and a certificate for 127.0.0.1.
fn local_ca() -> (
    till_http::tls::LocalCa,
    till_http::tls::Issued,
    std::path::PathBuf,
) {
    let dir = std::env::temp_dir().join(format!(
        "till-http-tls-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    let ca = till_http::tls::LocalCa::open_or_create(&dir, "Till test CA", &["127.0.0.1".into()])
        .unwrap();
    let issued = ca.issue("server", &["127.0.0.1".into()]).unwrap();
    (ca, issued, dir)
}

/// `GET /health` over TLS, trusting `ca` only: the whole answer.
async fn tls_get(addr: SocketAddr, ca: &std::path::Path) -> String {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut s = connector.connect(name, tcp).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: till\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer).await;
    answer
}

/// Whether an answer's head says Strict-Transport-Security for a year.
fn says_hsts(answer: &str) -> bool {
    answer.lines().take_while(|l| !l.is_empty()).any(|l| {
        l.to_ascii_lowercase() == format!("strict-transport-security: max-age={}", 365 * 24 * 3600)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_a_silent_client_or_plain_http_is_hung_up_on_and_tls_clients_are_served() {
    let (ca, issued, dir) = local_ca();
    let tls = till_http::tls::acceptor(&issued.cert, &issued.key).unwrap();
    let server = Server::start_with(limits(Duration::from_secs(1), 64), Some(tls)).await;
    // Connects and never starts the handshake: closed at the header deadline.
    let silent = TcpStream::connect(server.addr).await.unwrap();
    // Plain HTTP to the TLS port: not a handshake, closed.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: till\r\n\r\n")
        .await
        .unwrap();
    closed_by_server(plain).await;
    closed_by_server(silent).await;
    let answer = tls_get(server.addr, &ca.cert_file()).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(says_hsts(&answer), "HSTS over TLS: {answer}");
    server.stop().await;
    // Over plain HTTP, HSTS means nothing (and must not be sent).
    let plain = Server::start(limits(Duration::from_secs(5), 64)).await;
    let answer = raw_get(plain.addr, "/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!says_hsts(&answer), "{answer}");
    plain.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A connection to `addr` from the loopback address `from` (127.0.0.0/8
/// is this machine: another peer, as the server counts them).
async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback address");
    socket.connect(addr).await.expect("connect")
}

/// `GET /health` on `s`: the whole answer (empty if hung up on).
async fn get_on(mut s: TcpStream) -> String {
    let head = "GET /health HTTP/1.1\r\nHost: till\r\nConnection: close\r\n\r\n";
    let _ = s.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_holds_its_share_of_connections_and_the_rest_serve_everyone_else() {
    let server = Server::start(Limits {
        per_peer: 3,
        ..limits(Duration::from_secs(600), 8)
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 1], server.addr).await);
    }
    // A fourth from the same peer is closed at once, unanswered.
    let fourth = connect_from([127, 0, 0, 1], server.addr).await;
    assert_eq!(get_on(fourth).await, "", "closed, not served");
    // Another peer is served.
    let other = get_on(connect_from([127, 0, 0, 2], server.addr).await).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // The first peer gets a place again once one of its own closes (the
    // server sees the close when it reads the end of that connection).
    drop(held.pop());
    let again = loop {
        let answer = get_on(connect_from([127, 0, 0, 1], server.addr).await).await;
        if !answer.is_empty() {
            break answer;
        }
        tokio::task::yield_now().await;
    };
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    drop(held);
    server.stop().await;
}
