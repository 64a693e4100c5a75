//! Clients that misbehave, for the tests of servers behind [`crate::serve`].

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Raises the soft open-file limit to hold `sockets` connections with both
/// ends in this process.
pub fn enough_file_descriptors(sockets: usize) {
    let wanted = (sockets as u64) * 2 + 256;
    let got = rlimit::increase_nofile_limit(wanted).expect("raise the open file limit");
    assert!(
        got >= wanted,
        "the open file limit is {got}; {wanted} needed"
    );
}

/// `count` connections that never send a byte.
pub async fn idle_sockets(addr: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    idle
}

/// A GET on a fresh connection; the whole answer, head and body.
pub async fn raw_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {path} HTTP/1.1\r\nHost: till\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.expect("read the answer");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends a request head one byte every 100 ms until the server hangs up;
/// returns how many bytes it got out. Panics if the server answers.
pub async fn trickle(addr: SocketAddr, path: &str) -> usize {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {path} HTTP/1.1\r\nHost: till\r\n");
    s.write_all(head.as_bytes()).await.expect("send");
    let mut sent = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.write_all(b"X").await.is_err() {
            return sent;
        }
        sent += 1;
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return sent,
            Ok(Ok(_)) => panic!("the server answered a request head that never ended"),
            Err(_) => {}
        }
    }
}

/// Waits until the server has closed `s` (a read gives 0 bytes or an error).
pub async fn closed_by_server(mut s: TcpStream) {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

/// A server's answer to `GET path` while `idle` silent connections and one
/// trickling request are open; then waits until the server has hung up on
/// all of them (its header deadline). For servers run with a short
/// [`crate::Limits::header_read`].
pub async fn answer_beside_idle_and_trickling(
    addr: SocketAddr,
    path: &'static str,
    idle: usize,
) -> String {
    enough_file_descriptors(idle);
    let sockets = idle_sockets(addr, idle).await;
    let trickling = tokio::spawn(trickle(addr, path));
    let answer = raw_get(addr, path).await;
    for s in sockets {
        closed_by_server(s).await;
    }
    let sent = trickling.await.expect("the trickling client");
    assert!(
        sent > 0,
        "the trickling client sent nothing before the hang-up"
    );
    answer
}
