//! The built app, served with the headers a PWA needs.

use crate::helpers::*;

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn app_routes_fall_back_to_index_html_with_csp_and_no_cache() {
    let app = spawn_app().await;
    for path in ["/", "/pay", "/sales", "/settings"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            header(&r, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert_eq!(header(&r, "cache-control"), "no-cache", "{path}");
        let csp = header(&r, "content-security-policy");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
            "{csp}"
        );
        assert!(
            csp.contains(&format!("connect-src 'self' {BRIDGE_ORIGIN};")),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(r.text().await.unwrap().contains("<title>Till</title>"));
    }
}

#[tokio::test]
async fn the_csp_hash_is_the_inline_loaders() {
    let html = "<script type=\"module\">\nimport init from '/till-0123456789abcdef.js';\nawait init();\n</script>";
    let app = spawn_app().await;
    let r = app.client.get(app.url("/")).send().await.unwrap();
    let csp = header(&r, "content-security-policy");
    for h in till_oms::statics::inline_script_hashes(html) {
        assert!(csp.contains(&h), "{csp} lacks {h}");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_wasm_has_its_type() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/till-0123456789abcdef_bg.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/wasm");
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let r = app
        .client
        .get(app.url("/till-0123456789abcdef.js"))
        .send()
        .await
        .unwrap();
    assert!(header(&r, "content-type").contains("javascript"));
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn the_service_worker_is_always_revalidated() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/sw.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-cache");
}
