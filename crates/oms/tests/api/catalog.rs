use crate::helpers::*;

#[tokio::test]
async fn the_demo_store_is_there_on_first_start() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/catalog").await;
    assert_eq!(r.status(), 200);
    let v = body_as(r, "CatalogPage").await;
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["products_total"], 86);
    assert_eq!(v["products"].as_array().unwrap().len(), 86);
    assert_eq!(v["categories"].as_array().unwrap().len(), 9);
    assert_eq!(v["tax_rates"].as_array().unwrap().len(), 2);
    assert!(v.get("next_cursor").is_none());
}

#[tokio::test]
async fn pages_walk_the_whole_catalog() {
    let app = spawn_app().await;
    let mut cursor: Option<String> = None;
    let mut ids = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/catalog?limit=20&cursor={c}"),
            None => "/api/v1/catalog?limit=20".to_owned(),
        };
        let v = body_as(app.get(&path).await, "CatalogPage").await;
        ids.extend(
            v["products"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned()),
        );
        match v.get("next_cursor").and_then(|c| c.as_str()) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 86);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "in id order, each once");
}

#[tokio::test]
async fn an_unchanged_catalog_answers_304() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/catalog").await;
    let etag = r
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        etag,
        format!("\"{}\"", v["catalog_version"].as_str().unwrap())
    );
    let r = app
        .client
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(REGISTER_TOKEN)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = app
        .client
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(REGISTER_TOKEN)
        .header("If-None-Match", "\"c-old\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_catalog_is_compressed_when_asked() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(REGISTER_TOKEN)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-encoding").unwrap(), "gzip");
}
