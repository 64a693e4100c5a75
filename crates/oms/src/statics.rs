//! Serving the built app (Trunk's `dist/`) with the headers a PWA needs.
//!
//! - `index.html` and the service worker: `Cache-Control: no-cache`, so a
//!   new deploy is seen at the next load;
//! - hashed assets (`till-<16 hex>.js`, `_bg.wasm`, `.css`): cached for a
//!   year, immutable: their name changes when their content does;
//! - `.wasm` as `application/wasm` (streaming compilation needs it);
//! - every HTML answer carries a Content-Security-Policy that allows only
//!   the app's own origin, WebAssembly compilation, the loader script Trunk
//!   inlines in `index.html` (by its SHA-256, computed at start) and, in
//!   `connect-src`, the bridge's origin;
//! - app routes (`/pay`, `/sales`, …) answer with `index.html`; a missing
//!   file (a path whose last segment has an extension: `*.js`, `*.wasm`,
//!   hashed names) answers 404, never `index.html` (a stale service worker
//!   or a CDN would otherwise cache a page as a script, for a year);
//! - every answer, API included, carries `X-Content-Type-Options: nosniff`
//!   and `Referrer-Policy: no-referrer` (set in `lib.rs`).

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::path::Path;
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// One year: the longest `max-age` browsers honour for immutable assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The service worker's file name (written by the app's build).
pub const SERVICE_WORKER: &str = "sw.js";

/// `'sha256-…'` sources of every inline `<script>` of `index.html`.
pub fn inline_script_hashes(index_html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = index_html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        let body = &after[body_start..body_start + close];
        if !tag.contains(" src=") && !body.trim().is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            out.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &after[body_start + close..];
    }
    out
}

/// The policy for the app's pages.
pub fn content_security_policy(dist: &Path, bridge_origin: Option<&str>) -> String {
    let hashes = std::fs::read_to_string(dist.join("index.html"))
        .map(|h| inline_script_hashes(&h))
        .unwrap_or_default();
    let mut script = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    script.extend(hashes);
    let mut connect = vec!["'self'".to_owned()];
    if let Some(origin) = bridge_origin {
        connect.push(origin.to_owned());
    }
    format!(
        "default-src 'self'; script-src {}; connect-src {}; img-src 'self' data:; style-src 'self'; \
         manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        script.join(" "),
        connect.join(" ")
    )
}

/// Checks `--bridge-origin`: exactly `http(s)://host[:port]`, as a CSP
/// source and a browser's `Origin` header spell it. A mistake here would
/// silently block every card payment, so it stops the start instead.
pub fn check_origin(origin: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "--bridge-origin {origin:?}: {why}; expected http(s)://host[:port], e.g. http://192.168.1.20:7878"
        ))
    };
    let Ok(uri) = origin.parse::<Uri>() else {
        return bad("not a URL");
    };
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return bad("no scheme or host");
    };
    if scheme != "http" && scheme != "https" {
        return bad("the scheme must be http or https");
    }
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return bad("no user name, and a host is needed");
    }
    if format!("{scheme}://{authority}") != origin {
        return bad("an origin has no path, query or trailing slash");
    }
    Ok(())
}

/// The answer for a path no file matches: an app route gets `index.html`
/// (the app's router takes it from there); an asset-like path gets 404.
pub async fn app_route(index: ServeFile, req: Request) -> Result<Response, Infallible> {
    if is_asset_like(req.uri().path()) {
        return Ok((StatusCode::NOT_FOUND, "no such file").into_response());
    }
    let res = index.oneshot(req).await?;
    Ok(res.map(axum::body::Body::new))
}

/// A last segment with an extension names a file, not an app route.
fn is_asset_like(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Sets caching and security headers on answers from `dist/`.
pub async fn headers(csp: HeaderValue, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let ok = res.status().is_success();
    let h = res.headers_mut();
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let cache = if is_hashed_asset(&path) && ok {
        IMMUTABLE
    } else {
        // index.html, the service worker, the manifest, icons: always revalidate.
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // The same path answers brotli, gzip or plain: caches must key on it.
    if !h.contains_key(header::VARY) {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if is_html {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if path.ends_with(".webmanifest") {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/manifest+json"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = r#"<script type="module">
import init from '/till-0123456789abcdef.js';
</script><script src="/x.js"></script>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(
            b"\nimport init from '/till-0123456789abcdef.js';\n",
        ));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
    }

    #[test]
    fn origins_are_checked() {
        for ok in [
            "http://192.168.1.20:7878",
            "https://bridge.shop.example",
            "http://[::1]:7878",
        ] {
            assert_eq!(check_origin(ok), Ok(()), "{ok}");
        }
        for bad in [
            "192.168.1.20:7878",
            "http://192.168.1.20:7878/",
            "http://bridge/v1",
            "ftp://bridge",
            "http://user@bridge",
            "http://bridge:7878 'unsafe-inline'",
            "",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_routes_and_files_are_told_apart() {
        assert!(is_asset_like("/till-0123456789abcdef_bg.wasm"));
        assert!(is_asset_like("/missing.js"));
        assert!(is_asset_like("/icons/icon-512.png"));
        assert!(!is_asset_like("/pay"));
        assert!(!is_asset_like("/sales/"));
        assert!(!is_asset_like("/"));
    }

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed_asset("/till-b19074f99ad61879.js"));
        assert!(is_hashed_asset("/till-b19074f99ad61879_bg.wasm"));
        assert!(is_hashed_asset("/till-317626cdf8c0a6b3.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/icons/icon-192.png"));
    }
}
