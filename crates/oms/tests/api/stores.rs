//! A store's day across its registers, for the back office of a chain.

use crate::helpers::*;
use serde_json::Value;

/// Every page of `path` (which ends in a query) from `after`, following
/// `next_cursor`; and how many pages there were.
async fn pages_from(
    app: &TestApp,
    token: &str,
    path: &str,
    mut after: Option<String>,
) -> (Vec<Value>, usize) {
    let (mut orders, mut pages) = (Vec::new(), 0);
    loop {
        let url = match &after {
            Some(a) => format!("{path}&after={a}"),
            None => path.to_owned(),
        };
        let v = body_as(app.get_as(token, &url).await, "OrderList").await;
        orders.extend(v["orders"].as_array().unwrap().iter().cloned());
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => return (orders, pages),
        }
    }
}

async fn all_pages(app: &TestApp, token: &str, path: &str) -> (Vec<Value>, usize) {
    pages_from(app, token, path, None).await
}

fn ids(orders: &[Value]) -> Vec<String> {
    orders
        .iter()
        .map(|o| o["order"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_back_office_reads_a_stores_day_across_its_registers_in_pages() {
    let app = spawn_app().await;
    for n in 1..=4 {
        assert_eq!(app.put_order(&order(n)).await.status(), 200);
    }
    for n in 5..=7 {
        let theirs = order_of("R2", n);
        assert_eq!(
            app.put_order_as(OTHER_REGISTER_TOKEN, &theirs)
                .await
                .status(),
            200
        );
    }
    let path = "/api/v1/stores/S01/orders?date=2026-11-27";
    let (whole, pages) = all_pages(&app, ADMIN_TOKEN, path).await;
    assert_eq!(pages, 1, "a day of 7 orders is one page of 500");
    assert_eq!(whole.len(), 7);
    let registers: Vec<&str> = whole
        .iter()
        .map(|o| &o["order"]["number"].as_str().unwrap()[..2])
        .collect();
    assert_eq!(
        registers,
        ["R1", "R1", "R1", "R1", "R2", "R2", "R2"],
        "oldest first"
    );

    let (paged, pages) = all_pages(&app, ADMIN_TOKEN, &format!("{path}&limit=3")).await;
    assert_eq!(pages, 3);
    assert_eq!(
        ids(&paged),
        ids(&whole),
        "the pages are the day, once each, in order"
    );

    // An order stored between two pages lands in a later page, not lost.
    let first = body_as(
        app.get_as(ADMIN_TOKEN, &format!("{path}&limit=3")).await,
        "OrderList",
    )
    .await;
    assert_eq!(app.put_order(&order(8)).await.status(), 200);
    let cursor = first["next_cursor"].as_str().map(str::to_owned);
    let (rest, _) = pages_from(&app, ADMIN_TOKEN, &format!("{path}&limit=3"), cursor).await;
    assert_eq!(rest.len(), 5, "four left, and the new one");

    // A register's day pages the same way when asked to.
    let (mine, pages) = all_pages(
        &app,
        REGISTER_TOKEN,
        "/api/v1/registers/R1/orders?date=2026-11-27&limit=2",
    )
    .await;
    assert_eq!((mine.len(), pages), (5, 3));
}

#[tokio::test]
async fn a_store_query_says_what_is_wrong_with_it() {
    let app = spawn_app().await;
    let day = "date=2026-11-27";
    let e = assert_error(
        app.get(&format!("/api/v1/stores/S01/orders?{day}")).await,
        403,
        "forbidden",
    )
    .await;
    assert!(
        e["message"].as_str().unwrap().contains("back-office"),
        "{e}"
    );
    assert_error(
        app.get_as(ADMIN_TOKEN, &format!("/api/v1/stores/S99/orders?{day}"))
            .await,
        404,
        "not_found",
    )
    .await;
    for (query, field) in [
        (format!("{day}&limit=0"), "limit"),
        (format!("{day}&limit=1001"), "limit"),
        (format!("{day}&after=yesterday"), "after"),
        ("date=2027-02-29".to_owned(), "date"),
    ] {
        let r = app
            .get_as(ADMIN_TOKEN, &format!("/api/v1/stores/S01/orders?{query}"))
            .await;
        let e = assert_error(r, 422, "invalid_query").await;
        assert_eq!(e["field"], field, "{query}: {e}");
    }
    assert_error(
        app.get_as(
            ADMIN_TOKEN,
            &format!("/api/v1/stores/S01/orders?{day}&limit=many"),
        )
        .await,
        400,
        "bad_request",
    )
    .await;
}
