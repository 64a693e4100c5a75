use crate::helpers::{get, header, spawn_app};

#[tokio::test]
async fn health_answers_json() {
    let app = spawn_app().await;
    let (status, headers, body) = get(&format!("{}/api/v1/health", app.address)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let health: till_core::api::Health = serde_json::from_slice(&body).unwrap();
    assert_eq!(health.status, "ok");
}

#[tokio::test]
async fn app_routes_fall_back_to_index_html() {
    let app = spawn_app().await;
    for path in ["/", "/pay", "/sales", "/settings"] {
        let (status, headers, body) = get(&format!("{}{path}", app.address)).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            header(&headers, "content-type")
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(
            String::from_utf8_lossy(&body).contains("<title>Till</title>"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn wasm_is_served_with_its_mime_type() {
    let app = spawn_app().await;
    let (status, headers, _) = get(&format!("{}/till-0123456789abcdef_bg.wasm", app.address)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/wasm"));
    let _ = std::fs::remove_dir_all(&app.dist);
}

#[tokio::test]
async fn unknown_api_routes_get_a_json_404() {
    let app = spawn_app().await;
    let (status, headers, body) = get(&format!("{}/api/v1/nope", app.address)).await;
    assert_eq!(status, 404);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let e: till_core::api::ApiError = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.error, "not_found");
}
