//! The OMS keeps answering beside clients that say nothing or trickle.

use crate::helpers::{config, temp_dir};
use std::time::Duration;
use till_http::testing::answer_beside_idle_and_trickling;
use till_oms::{Application, Limits};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_beside_two_thousand_idle_sockets_and_a_trickling_request() {
    let config = config(temp_dir("till-oms-data"));
    crate::db::create(&config.database).await;
    let app = Application::build(config)
        .await
        .unwrap()
        .with_limits(Limits {
            header_read: Duration::from_secs(2),
            ..Limits::default()
        });
    let addr = app.local_addr();
    tokio::spawn(app.run());
    // The silent ones and the trickling one are hung up on, not kept.
    let answer = answer_beside_idle_and_trickling(addr, "/api/v1/health", 2_000).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
