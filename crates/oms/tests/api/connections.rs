//! The OMS keeps answering beside clients that say nothing or trickle.

use crate::helpers::{config, temp_dir};
use std::time::Duration;
use till_http::testing::{
    closed_by_server, enough_file_descriptors, idle_sockets, raw_get, trickle,
};
use till_oms::{Application, Limits};

const IDLE_SOCKETS: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_beside_two_thousand_idle_sockets_and_a_trickling_request() {
    enough_file_descriptors(IDLE_SOCKETS);
    let app = Application::build(config(temp_dir("till-oms-data")))
        .await
        .unwrap()
        .with_limits(Limits {
            header_read: Duration::from_secs(2),
            ..Limits::default()
        });
    let addr = app.local_addr();
    tokio::spawn(app.run());
    let idle = idle_sockets(addr, IDLE_SOCKETS).await;
    let trickling = tokio::spawn(trickle(addr, "/api/v1/health"));
    let answer = raw_get(addr, "/api/v1/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The silent ones and the trickling one are hung up on, not kept.
    for s in idle {
        closed_by_server(s).await;
    }
    assert!(trickling.await.unwrap() > 0);
}
