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
async fn a_precompressed_asset_is_served_to_a_browser_that_takes_it() {
    let app = spawn_app().await;
    let get = |encoding: Option<&'static str>| {
        let mut req = app.client.get(app.url("/till-0123456789abcdef_bg.wasm"));
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        req.send()
    };
    let r = get(Some("gzip, deflate, br")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding"), "br");
    assert_eq!(header(&r, "content-type"), "application/wasm");
    assert_eq!(header(&r, "vary"), "accept-encoding");
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&r.bytes().await.unwrap()[..], BROTLI_MARK);
    // A client that does not take brotli gets the file itself.
    let r = get(None).await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(&r.bytes().await.unwrap()[..], b"\0asm\x01\0\0\0");
}

#[tokio::test]
async fn the_service_worker_is_always_revalidated() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/sw.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-cache");
}

#[tokio::test]
async fn a_missing_asset_is_404_never_the_page_and_never_immutable() {
    let app = spawn_app().await;
    for path in [
        "/till-fedcba9876543210_bg.wasm",
        "/till-fedcba9876543210.js",
        "/missing.css",
        "/icons/none.png",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(header(&r, "cache-control"), "no-cache", "{path}");
        assert!(
            !header(&r, "content-type").starts_with("text/html"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn every_answer_says_nosniff_and_no_referrer() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/pay",
        "/till-0123456789abcdef.js",
        "/missing.js",
        "/api/v1/health",
        "/api/v1/catalog",
        "/api/v1/nowhere",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "referrer-policy"), "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn an_invalid_bridge_origin_is_refused_at_start() {
    for origin in [
        "192.168.1.20:7878",
        "http://192.168.1.20:7878/",
        "http://bridge x",
    ] {
        let mut c = config(temp_dir("till-oms-origin"));
        c.bridge_origin = Some(origin.into());
        let e = till_oms::Application::build(c).await.err().unwrap();
        assert!(e.to_string().contains("--bridge-origin"), "{origin}: {e}");
    }
}
